/**
 * Lesson 7, the new consumer protocol (KIP-848): the broker's assignment with
 * its epochs, a member joining while the others keep processing (measured
 * from their messages' times), and a classic kafkajs member in the same group.
 *
 * @module
 */
import { type GroupSnapshot, snapshotGroup } from "../inspect/groups.ts";
import type { GroupMember, MessageEvent } from "../kafka/member.ts";
import { produceOrders } from "../kafka/producer.ts";
import { Report, show, Table } from "../platform/render.ts";
import { sleep } from "../platform/wait.ts";
import { messagesOf } from "../processes/runlog.ts";
import type { MemberProcess } from "../processes/spawn.ts";
import { Lab } from "./lessons.ts";

/** Orders go out this far apart while a member joins. */
const STEADY_INTERVAL_MS = 50;
/** How long before and after a handover its effect on processing is measured. */
const JOIN_WINDOW_MS = 2000;

/**
 * The lab of lesson 7: {@linkcode Lab}, plus the group as the broker assigns
 * it ({@linkcode Lesson7.showProtocolGroup}), a join measured while orders
 * flow ({@linkcode Lesson7.joinWhileProcessing}), and a classic member in the
 * group ({@linkcode Lesson7.joinClassic}).
 *
 * @example
 * ```ts
 * const lab = await Lesson7.open();
 * const [second] = await lab.startMembers("billing-group", ["Consumer 2"], { protocol: "consumer" });
 * await lab.showProtocolGroup("billing-group");
 * ```
 */
export class Lesson7 extends Lab {
  /**
   * The group as the broker keeps it: its type, the broker's assignor, the
   * group and assignment epochs, and per member its epoch, partitions and
   * whether it speaks the new protocol (UPGRADED), then the diagram.
   */
  async showProtocolGroup(groupId: string, heading = ""): Promise<GroupSnapshot> {
    const snapshot = await this.withAdmin((admin) => snapshotGroup(admin, groupId));
    const names = this.memberNames();
    const rows = snapshot.members
      .map((m) => [
        names.get(m.clientId) ?? m.clientId,
        m.upgraded === false ? "classic (JoinGroup/SyncGroup)" : "consumer (heartbeats)",
        m.memberEpoch ?? "-",
        (m.assignment[this.topic] ?? []).join(", ") || "none",
      ])
      .sort((a, b) => String(a[0]).localeCompare(String(b[0])));
    await show(
      new Report([
        `${heading}Group ${groupId}: type ${snapshot.type ?? "classic"}, ${snapshot.state}, ` +
        `assignor ${snapshot.protocol || "-"} (run by the broker), group epoch ` +
        `${snapshot.groupEpoch ?? "-"}, assignment epoch ${snapshot.assignmentEpoch ?? "-"}.`,
        new Table(["MEMBER", "PROTOCOL", "MEMBER-EPOCH", "PARTITIONS"], rows),
        this.snapshotDiagram(snapshot),
      ]),
    );
    return snapshot;
  }

  /**
   * Produces orders steadily ({@linkcode STEADY_INTERVAL_MS} apart) while a
   * new consumer-protocol member `name` joins `groupId`, then shows, per
   * partition, who owned it before and after and the longest gap between two
   * of its orders being processed around the join: partitions that did not
   * move kept being processed.
   */
  async joinWhileProcessing(
    groupId: string,
    members: (GroupMember | MemberProcess)[],
    name: string,
  ): Promise<MemberProcess> {
    const before = await this.withAdmin((admin) => snapshotGroup(admin, groupId));
    const { start, count } = await this.nextOrders(80);
    const producedAt = new Map<string, number>();
    const producing = produceOrders({
      brokers: this.brokers,
      topic: this.topic,
      start,
      count,
      intervalMs: STEADY_INTERVAL_MS,
      onProduced: (order) => producedAt.set(order.key, Date.now()),
    });
    await sleep(1000);
    const [joiner] = await this.startMembers(groupId, [name], { protocol: "consumer" });
    await producing;
    const everyone = [...members, joiner];
    const runs = await this.waitForRuns(
      everyone,
      (runs) => runs.flatMap((r) => messagesOf(r.events)).length >= count,
      15_000,
    );
    const after = await this.withAdmin((admin) => snapshotGroup(admin, groupId));
    const messages = runs.flatMap((r) => messagesOf(r.events));
    const handedOver = (await joiner.events())
      .find((e) => e.type === "assigned" && e.partitions.length > 0)?.at ?? Date.now();
    const names = this.memberNames();
    const owner = (s: GroupSnapshot, p: number) => {
      const m = s.members.find((m) => (m.assignment[this.topic] ?? []).includes(p));
      return m ? names.get(m.clientId) ?? m.clientId : "nobody";
    };
    const rows = [0, 1, 2].map((p) => {
      const onP = messages.filter((m) => m.partition === p);
      const wait = longestWait(onP, producedAt, handedOver - JOIN_WINDOW_MS, 2 * JOIN_WINDOW_MS);
      return [p, owner(before, p), owner(after, p), wait === undefined ? "-" : `${wait} ms`];
    });
    await show(
      new Report([
        `${name} joined while ${count} orders went out ${STEADY_INTERVAL_MS} ms apart. ` +
        `For the orders produced ${JOIN_WINDOW_MS / 1000} s either side of the moment ${name} ` +
        "got its partition, the longest wait per partition from being produced to being processed:",
        new Table(["PARTITION", "OWNER BEFORE", "OWNER AFTER", "LONGEST WAIT"], rows),
        "A partition that kept its owner kept being processed as its orders came in. A " +
        "partition that moved waited while its old owner gave it up and the new one took it " +
        "over. (In lesson 4's classic kafkajs group, every member stops for every rebalance.)",
      ]),
    );
    return joiner;
  }

  /**
   * Starts a classic kafkajs member (`scripts/consumer.ts`) in the
   * consumer-protocol group `groupId` and shows the group: the broker still
   * assigns, and hands the classic member its share through SyncGroup.
   */
  async joinClassic(groupId: string, name: string): Promise<MemberProcess> {
    const [classic] = await this.startMembers(groupId, [name]);
    await this.showProtocolGroup(groupId, `${name} (kafkajs, classic protocol) joined. `);
    return classic;
  }
}

/**
 * The longest time an order waited between being produced (`producedAt`, by
 * key) and first being processed, among the orders produced from `from` to
 * `windowMs` after it; undefined when none was produced then.
 *
 * @example
 * ```ts
 * longestWait([{ key: "1", at: 180 } as MessageEvent], new Map([["1", 100]]), 50, 1000); // 80
 * ```
 */
export function longestWait(
  messages: Pick<MessageEvent, "key" | "at">[],
  producedAt: Map<string, number>,
  from: number,
  windowMs: number,
): number | undefined {
  const firstProcessed = new Map<string, number>();
  for (const m of messages) {
    const key = m.key ?? "";
    firstProcessed.set(key, Math.min(firstProcessed.get(key) ?? Infinity, m.at));
  }
  const waits = [...firstProcessed].flatMap(([key, at]) => {
    const produced = producedAt.get(key);
    return produced !== undefined && produced >= from && produced <= from + windowMs
      ? [at - produced]
      : [];
  });
  return waits.length === 0 ? undefined : Math.max(...waits);
}
