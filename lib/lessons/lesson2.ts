/**
 * Lesson 2, independent groups: each group gets every order, while members
 * of one group share them. The cells start one service per group and
 * produce; {@linkcode Lesson2.everyGroup} counts what each group got.
 *
 * @module
 */
import { GroupMember, type MessageEvent, waitForMembers } from "../kafka/member.ts";
import type { MemberProcess } from "../processes/spawn.ts";
import { summarizeRun, summaryTable, verdict } from "../inspect/summary.ts";
import { ORDER_PARTITIONS } from "../kafka/config.ts";
import { Report, show, Table } from "../platform/render.ts";
import { Lab, type MemberRun } from "./lessons.ts";

/** Options of {@linkcode Lesson2.runGroup}. */
export interface RunGroupOptions {
  /** Orders to produce once the group has settled (default 10). */
  orders?: number;
  /** Give up waiting for the orders after this long (default 20 s). */
  timeoutMs?: number;
}

/**
 * The lab of lesson 2: {@linkcode Lab} and the lesson's two experiments.
 *
 * @example
 * ```ts
 * const lab = await Lesson2.open();
 * await lab.runGroup("billing-group", ["Billing Worker 1", "Billing Worker 2"]);
 * ```
 */
export class Lesson2 extends Lab {
  /**
   * Waits until each of `members` (one per group, in this kernel or
   * processes) has every order produced since {@linkcode Lab.nextOrders}, or
   * the deadline, and shows how many each got: every group gets every order.
   */
  async everyGroup(members: (GroupMember | MemberProcess)[], timeoutMs = 20_000): Promise<void> {
    const ranges = await this.newOrders();
    const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
    const got = (run: MemberRun) => summarizeRun([run], ranges).consumed;
    const runs = await this.waitForRuns(
      members,
      (runs) => runs.every((run) => got(run) >= expected),
      timeoutMs,
    );
    await show(
      new Report([
        `${expected} new orders; what each member received:`,
        new Table(
          ["GROUP", "MEMBER", "ORDERS RECEIVED", "EVERY ORDER?"],
          runs.map((run) => [
            run.events[0]?.groupId ?? "(not joined)",
            run.name,
            got(run),
            got(run) === expected ? "yes" : "no",
          ]),
        ),
      ]),
    );
  }

  /**
   * Starts `names` as members of `groupId` in this kernel, waits until the
   * group has settled, produces orders, waits until they are all consumed (or
   * the deadline), stops the members, and reports who owned and processed
   * what, with the diagram and a verdict.
   */
  async runGroup(groupId: string, names: string[], options: RunGroupOptions = {}): Promise<void> {
    await this.clearLeftovers([groupId]);
    const members: GroupMember[] = [];
    try {
      for (const name of names) {
        members.push(
          await GroupMember.start({ brokers: this.brokers, groupId, name, topic: this.topic }),
        );
      }
      await this.withAdmin((admin) => this.settle(admin, groupId, names.length));
      const ranges = await this.produceRanges(options.orders ?? 10);
      const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
      const inRange = (m: MessageEvent) =>
        ranges.some((r) => r.partition === m.partition && m.offset >= r.from && m.offset < r.to);
      await waitForMembers(
        members,
        () => members.flatMap((m) => m.received.filter(inRange)).length >= expected,
        options.timeoutMs ?? 20_000,
      );
      const summary = summarizeRun(
        members.map((m) => ({ name: m.name, events: m.events })),
        ranges,
      );
      await show(
        new Report([
          `Group ${groupId}: ${names.length} member${names.length === 1 ? "" : "s"} on ` +
          `${ORDER_PARTITIONS} partitions, ${expected} new orders.`,
          summaryTable(summary),
          this.diagram(groupId, summary.members),
          verdict(summary),
        ]),
      );
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
  }
}
