/**
 * Lesson 5, offsets, lag and at-least-once: offsets kept per group, a
 * consumer that commits each message itself (the notebook's consumer cell
 * with `autoCommit` off) catching up, a member crashing before its commit and
 * the consumer cell's member processing the same messages again, and offset
 * resets. Each shows its result with {@linkcode show}, as every lesson does.
 *
 * @module
 */
import type { GroupMember } from "../kafka/member.ts";
import { type ProducedOrder, produceOrders } from "../kafka/producer.ts";
import { logEndOffsets, snapshotGroup, totalLag, waitForGroup } from "../inspect/groups.ts";
import { offsetsTable } from "../inspect/describe.ts";
import { applyReset, planReset } from "../inspect/reset.ts";
import { summarizeRun } from "../inspect/summary.ts";
import { messagesOf } from "../processes/runlog.ts";
import { Report, show, Table } from "../platform/render.ts";
import { Lab } from "./lessons.ts";

/** Orders the crash experiment produces at most, one every 200 ms, until its member crashes. */
const CRASH_ORDERS = 30;

/**
 * The lab of lesson 5: {@linkcode Lab}, the offsets of groups
 * ({@linkcode Lesson5.showOffsets}), a consumer catching up
 * ({@linkcode Lesson5.caughtUp}), a member crashing before its commit
 * ({@linkcode Lesson5.crashBeforeCommit}) and offset resets
 * ({@linkcode Lesson5.resetOffsets}).
 *
 * @example
 * ```ts
 * const lab = await Lesson5.open();
 * await lab.showOffsets(["billing-group", "inventory-group"]);
 * await lab.resetOffsets("billing-group", "earliest");
 * ```
 */
export class Lesson5 extends Lab {
  /**
   * Committed offset, log-end offset and lag per partition for each group,
   * the columns of `kafka-consumer-groups.sh --describe`.
   *
   * @example
   * ```ts
   * const lab = await Lesson5.open();
   * await lab.showOffsets(["billing-group", "inventory-group"]);
   * ```
   */
  async showOffsets(groupIds: string[]): Promise<void> {
    const snapshots = await this.withAdmin((admin) =>
      Promise.all(groupIds.map((groupId) => snapshotGroup(admin, groupId, [this.topic])))
    );
    await show(offsetsTable(snapshots));
  }

  /**
   * Waits until `member`'s group has no lag on the topic (or the deadline),
   * then says what the member processed, which messages it processed twice
   * (a handler that failed before its commit), and shows the offsets of its
   * group and of `otherGroups`.
   *
   * @example
   * ```ts
   * const lab = await Lesson5.open();
   * const kafka = new Kafka(lab.client("Consumer 1"));
   * const member = await lab.member(kafka, "billing-group", "Consumer 1");
   * // ... the consumer cell runs member's consumer ...
   * await lab.caughtUp(member, ["inventory-group"]);
   * ```
   */
  async caughtUp(member: GroupMember, otherGroups: string[], timeoutMs = 20_000): Promise<void> {
    const ok = await this.#lagZero(member.groupId, timeoutMs);
    const positions = member.received.map((m) => `${m.partition}@${m.offset}`);
    const twice = positions.filter((position, i) => positions.indexOf(position) !== i);
    await show(
      new Report([
        `${member.groupId} ${ok ? "caught up" : "did not catch up in time"}: ${member.name} ` +
        `processed ${member.received.length} message(s); processed twice: ${twice.length}` +
        (twice.length === 0 ? "." : ` (partition@offset ${twice.join(", ")}).`),
      ]),
    );
    await this.showOffsets([member.groupId, ...otherGroups]);
  }

  /**
   * At-least-once, shown: `name` joins `member`'s group as a process that
   * commits each message itself, as the consumer cell does, and crashes after
   * processing its `crashAfter`th message, before committing it; orders are
   * produced until it has crashed; once its session has expired, `member` (the
   * consumer cell's) takes over its partitions from the last committed offsets
   * and processes those messages again. Reports each redelivered message.
   *
   * @example
   * ```ts
   * // lab and member: as in the example of caughtUp, its consumer running
   * await lab.crashBeforeCommit(member, "Consumer 2", 2);
   * ```
   */
  async crashBeforeCommit(member: GroupMember, name: string, crashAfter: number): Promise<void> {
    const { groupId } = member;
    const [crashing] = await this.startMembers(groupId, [name], {
      sessionTimeoutMs: 6000,
      extraArgs: ["--commit", "manual", "--crash-after", String(crashAfter)],
    });
    const before = await this.withAdmin((admin) => logEndOffsets(admin, this.topic));
    const { start } = await this.nextOrders(CRASH_ORDERS);
    const crashed = new AbortController();
    crashing.exited.then(() => crashed.abort());
    const sent = await produceOrders({
      brokers: this.brokers,
      topic: this.topic,
      count: CRASH_ORDERS,
      start,
      intervalMs: 200,
      signal: crashed.signal,
    });
    await show(producedTable(sent));
    const exitCode = await crashing.exited;
    const processed = messagesOf(await crashing.events());
    const ranges = (await this.withAdmin((admin) => logEndOffsets(admin, this.topic)))
      .map((to, partition) => ({ partition, from: before[partition] ?? 0, to }));
    // The crashed member's session (6 s) expires, then the group rebalances and
    // the consumer cell's member reads on from the last committed offsets.
    await this.#lagZero(groupId, 6000 + 20_000);
    const summary = summarizeRun([
      { name, events: processed },
      { name: member.name, events: member.events },
    ], ranges);
    await show(
      new Report([
        `${name} processed ${processed.length} order(s), committing each, and crashed (exit code ` +
        `${exitCode}) after processing the last, before committing it. ${member.name} took over ` +
        `from the last committed offsets.`,
        new Table(
          ["PARTITION", "OFFSET", "PROCESSED BY"],
          summary.duplicates.map((d) => [d.partition, d.offset, d.by.join(", then ")]),
          `Redelivered messages: ${summary.duplicates.length}`,
        ),
        `Missing: ${summary.missing.length}. Every order was processed at least once; ` +
        `${summary.duplicates.length} twice.`,
      ]),
    );
  }

  /**
   * Moves `groupId`'s committed offsets on the topic to the earliest or the
   * latest offset, and shows them. Kafka only allows this while the group has
   * no members.
   *
   * @example
   * ```ts
   * const lab = await Lesson5.open();
   * await lab.resetOffsets("billing-group", "earliest");
   * ```
   */
  async resetOffsets(groupId: string, to: "earliest" | "latest"): Promise<void> {
    const plan = await this.withAdmin((admin) => planReset(admin, groupId, this.topic, { to }));
    await applyReset(this.brokers, groupId, this.topic, plan);
    await this.showOffsets([groupId]);
  }

  /** Waits until `groupId` has committed everything on the topic; resolves to whether it did. */
  async #lagZero(groupId: string, timeoutMs: number): Promise<boolean> {
    const { ok } = await this.withAdmin((admin) =>
      waitForGroup(admin, groupId, (s) => totalLag(s, this.topic) === 0, timeoutMs, {
        topics: [this.topic],
      })
    );
    return ok;
  }
}

/**
 * Where each produced order landed: KEY, ORDER, PARTITION, OFFSET.
 *
 * @example
 * ```ts
 * producedTable(await produceOrders({ brokers: ["localhost:9092"], count: 3, intervalMs: 0 }));
 * ```
 */
export function producedTable(sent: ProducedOrder[]): Table {
  return new Table(
    ["KEY", "ORDER", "PARTITION", "OFFSET"],
    sent.map((s) => [s.key, s.value, s.partition, s.offset]),
    `Produced ${sent.length} orders`,
  );
}
