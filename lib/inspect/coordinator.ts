/**
 * Where a group lives on the server: its **coordinator**, the broker that
 * leads the `__consumer_offsets` partition the group id hashes to. That
 * broker runs the group's rebalances and stores its commits; when it dies,
 * the partition's new leader becomes the coordinator and members find it
 * again with a FindCoordinator request (which kafkajs's admin lacks, so it
 * goes through lib/kafka/groupapis.ts).
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { type Coordinator, GroupApis } from "../kafka/groupapis.ts";
import { OFFSETS_TOPIC } from "../kafka/cluster.ts";

/**
 * Java's `String.hashCode()`: `s[0]*31^(n-1) + ... + s[n-1]` over UTF-16
 * code units, in 32-bit two's complement, as Kafka hashes a group id.
 *
 * @example
 * ```ts
 * javaStringHash("billing-group"); // 1671177389
 * ```
 */
export function javaStringHash(text: string): number {
  let hash = 0;
  for (let i = 0; i < text.length; i++) hash = (Math.imul(hash, 31) + text.charCodeAt(i)) | 0;
  return hash;
}

/**
 * The `__consumer_offsets` partition that holds `groupId`'s commits, as
 * Kafka picks it: `Utils.abs(groupId.hashCode()) % partitions` (its `abs`
 * maps -2^31 to 0). Kafka's default is 50 partitions, the lab's brokers have 10.
 *
 * @example
 * ```ts
 * offsetsPartitionFor("billing-group", 50); // 39
 * ```
 */
export function offsetsPartitionFor(groupId: string, partitions = 50): number {
  const hash = javaStringHash(groupId);
  return (hash === -0x80000000 ? 0 : Math.abs(hash)) % partitions;
}

/**
 * The coordinator as Kafka's tools print it in COORDINATOR (ID):
 * `host:port  (id)`, with their two spaces.
 *
 * @example
 * ```ts
 * coordinatorText({ nodeId: 2, host: "127.0.0.1", port: 9096 }); // "127.0.0.1:9096  (2)"
 * ```
 */
export function coordinatorText(coordinator: Coordinator): string {
  return `${coordinator.host}:${coordinator.port}  (${coordinator.nodeId})`;
}

/**
 * The broker coordinating `groupId`, found with a FindCoordinator request
 * to the cluster at `brokers` (one lookup: while a dead coordinator's
 * partition has no leader yet, Kafka answers COORDINATOR_NOT_AVAILABLE and
 * this throws; lib/kafka/failover.ts `waitForCoordinator` waits instead).
 *
 * @example
 * ```ts
 * await findCoordinator(["127.0.0.1:9094"], "billing-group"); // { nodeId: 2, host: "127.0.0.1", port: 9096 }
 * ```
 */
export async function findCoordinator(brokers: string[], groupId: string): Promise<Coordinator> {
  const apis = new GroupApis(brokers);
  try {
    return await apis.findCoordinator(groupId);
  } finally {
    await apis.close();
  }
}

/** The `__consumer_offsets` partition of a group, and who holds it. */
export interface OffsetsPartition {
  groupId: string;
  partition: number;
  /** How many partitions `__consumer_offsets` has. */
  partitions: number;
  /** Its leader's node id: the group's coordinator. */
  leader: number;
  /** The nodes holding an up-to-date copy of the group's commits. */
  isr: number[];
}

/**
 * The `__consumer_offsets` partition holding `groupId`'s commits, its
 * leader and in-sync replicas (from the topic's metadata, not from the hash
 * alone: the hash needs the topic's real partition count).
 *
 * @example
 * ```ts
 * (await offsetsPartitionOf(admin, "billing-group")).leader; // 2, the coordinator
 * ```
 */
export async function offsetsPartitionOf(admin: Admin, groupId: string): Promise<OffsetsPartition> {
  const { topics } = await admin.fetchTopicMetadata({ topics: [OFFSETS_TOPIC] });
  const partitions = topics[0].partitions;
  const partition = offsetsPartitionFor(groupId, partitions.length);
  const found = partitions.find((p) => p.partitionId === partition)!;
  return {
    groupId,
    partition,
    partitions: partitions.length,
    leader: found.leader,
    isr: [...found.isr].sort((a, b) => a - b),
  };
}

/**
 * One line saying where a group's commits live, for `describe --state`.
 *
 * @example
 * ```ts
 * offsetsPartitionLine({ groupId: "billing-group", partition: 9, partitions: 10, leader: 2, isr: [1, 2, 3] });
 * // "billing-group's offsets: __consumer_offsets-9 (of 10), leader node 2 (its coordinator), in-sync replicas 1,2,3"
 * ```
 */
export function offsetsPartitionLine(offsets: OffsetsPartition): string {
  return `${offsets.groupId}'s offsets: ${OFFSETS_TOPIC}-${offsets.partition} ` +
    `(of ${offsets.partitions}), leader node ${offsets.leader} (its coordinator), ` +
    `in-sync replicas ${offsets.isr.join(",")}`;
}
