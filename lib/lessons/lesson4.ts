/**
 * Lesson 4, rebalancing: a member that leaves cleanly and one that crashes,
 * each with the time the group took to give its partitions to the others.
 *
 * @module
 */
import { type GroupSnapshot, snapshotGroup, timeRebalance } from "../inspect/groups.ts";
import { ORDER_PARTITIONS } from "../kafka/config.ts";
import { LabError } from "../platform/errors.ts";
import { Report, show } from "../platform/render.ts";
import type { MemberProcess } from "../processes/spawn.ts";
import { Lab } from "./lessons.ts";

/**
 * The lab of lesson 4: {@linkcode Lab}, and timed rebalances when a member
 * process leaves ({@linkcode Lesson4.leave}) or dies ({@linkcode Lesson4.crash}).
 *
 * @example
 * ```ts
 * const lab = await Lesson4.open();
 * const [first, second] = await lab.startMembers("billing-group", ["Consumer 1", "Consumer 2"]);
 * await lab.leave(first);
 * await lab.crash(second);
 * ```
 */
export class Lesson4 extends Lab {
  /** Stops a member process as Ctrl+C does (it leaves the group), and times the rebalance. */
  leave(member: MemberProcess): Promise<void> {
    return this.#timeRebalance(
      member,
      "left the group (SIGTERM, like Ctrl+C)",
      () => member.stop(),
    );
  }

  /** Kills a member process (SIGKILL, no goodbye), and times the rebalance. */
  crash(member: MemberProcess): Promise<void> {
    return this.#timeRebalance(member, "was killed (SIGKILL)", () => member.kill());
  }

  async #timeRebalance(
    member: MemberProcess,
    what: string,
    action: () => Promise<number>,
  ): Promise<void> {
    const groupId = await this.#groupOf(member);
    return await this.withAdmin(async (admin) => {
      const remaining = (await snapshotGroup(admin, groupId)).members.length - 1;
      const { ok, ms, before, after } = await timeRebalance(
        admin,
        groupId,
        this.topic,
        ORDER_PARTITIONS,
        remaining,
        action,
      );
      const names = this.memberNames();
      const line = ok
        ? `${member.name} ${what}. ${
          describeMoves(ownerChanges(before, after, this.topic), member.name, names)
        } The group was Stable with every partition owned after ${(ms / 1000).toFixed(1)} s.`
        : `${member.name} ${what}: the group had not settled after ${(ms / 1000).toFixed(1)} s.`;
      await show(new Report([line, this.snapshotDiagram(after)]));
    });
  }

  async #groupOf(member: MemberProcess): Promise<string> {
    const assigned = (await member.events()).find((e) => e.type === "assigned");
    if (!assigned) throw new LabError(`${member.name} has not joined a group`);
    return assigned.groupId;
  }
}

/** A partition whose owner changed in a rebalance (client ids; undefined: nobody). */
export interface OwnerChange {
  partition: number;
  from?: string;
  to?: string;
}

/**
 * The partitions of `topic` whose owner differs between two snapshots of a
 * group, with their owners' client ids before and after, by partition.
 *
 * @example
 * ```ts
 * ownerChanges(before, after, "order-events"); // [{ partition: 0, from: "consumer-1", to: "consumer-3" }]
 * ```
 */
export function ownerChanges(
  before: GroupSnapshot,
  after: GroupSnapshot,
  topic: string,
): OwnerChange[] {
  const owners = (snapshot: GroupSnapshot) =>
    new Map(
      snapshot.members.flatMap((m) => (m.assignment[topic] ?? []).map((p) => [p, m.clientId])),
    );
  const [was, is] = [owners(before), owners(after)];
  return [...new Set([...was.keys(), ...is.keys()])].sort((a, b) => a - b)
    .filter((p) => was.get(p) !== is.get(p))
    .map((partition) => ({ partition, from: was.get(partition), to: is.get(partition) }));
}

/**
 * Says which partitions moved when `leaver` went, as the diagram shows them:
 * the leaver's, and any other that changed owner too (an eager rebalance, as
 * with kafkajs's round-robin or Kafka's range, deals every partition out
 * again). `names` turns client ids into the names the lesson uses.
 *
 * @example
 * ```ts
 * describeMoves([{ partition: 0, from: "consumer-1", to: "consumer-2" }], "Consumer 1",
 *   new Map([["consumer-1", "Consumer 1"], ["consumer-2", "Consumer 2"]]));
 * // "Partition 0 moved: Consumer 1 → Consumer 2."
 * ```
 */
export function describeMoves(
  changes: OwnerChange[],
  leaver: string,
  names: Map<string, string>,
): string {
  const name = (clientId?: string) => clientId ? names.get(clientId) ?? clientId : "nobody";
  if (changes.length === 0) return "No partition changed owner.";
  const moves = changes.map((c) => `${c.partition}: ${name(c.from)} → ${name(c.to)}`);
  const others = changes.filter((c) => name(c.from) !== leaver).map((c) => c.partition);
  const plural = changes.length === 1 ? "Partition" : "Partitions";
  return `${plural} ${moves.join(", ")} moved.` +
    (others.length === 0
      ? ""
      : ` ${others.length === 1 ? "Partition" : "Partitions"} ${others.join(", ")} ${
        others.length === 1 ? "was" : "were"
      } not ${leaver}'s and moved too: at a rebalance the group's assignor deals every partition ` +
        `out again, so a member going can move more than its own partitions.`);
}
