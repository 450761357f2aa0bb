/**
 * Lesson 3, scaling: members join a group one cell at a time, each cell
 * produces the same number of orders and shows how the group split them,
 * until one member more than partitions sits idle.
 *
 * @module
 */
import type { GroupMember } from "../kafka/member.ts";
import { produceOrders } from "../kafka/producer.ts";
import type { MemberProcess } from "../processes/spawn.ts";
import { Lab } from "./lessons.ts";

/**
 * The lab of lesson 3: {@linkcode Lab} and {@linkcode Lesson3.scaleOut}.
 *
 * @example
 * ```ts
 * const lab = await Lesson3.open();
 * const two = await lab.scaleOut("billing-group", [], ["Consumer 1", "Consumer 2"]);
 * await lab.stopAll();
 * ```
 */
export class Lesson3 extends Lab {
  /**
   * Adds `names` to `groupId` as member processes next to `members` (in this
   * kernel or processes), produces `orders` new orders once the group has
   * settled, and shows who owned and processed what. Returns every member.
   */
  async scaleOut(
    groupId: string,
    members: (GroupMember | MemberProcess)[],
    names: string[],
    orders = 12,
  ): Promise<(GroupMember | MemberProcess)[]> {
    const all = [...members, ...await this.startMembers(groupId, names)];
    const { start, count } = await this.nextOrders(orders);
    await produceOrders({ brokers: this.brokers, topic: this.topic, count, start, intervalMs: 0 });
    await this.split(groupId, all);
    return all;
  }
}
