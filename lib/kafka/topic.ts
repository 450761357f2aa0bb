/**
 * The topic the lessons use: created once with the right partition count, and
 * checked every time (a topic with another partition count changes what the
 * lessons show, so it is reported, never silently used).
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { LabError } from "../platform/errors.ts";
import { ORDER_PARTITIONS, ORDER_TOPIC } from "./config.ts";

/** What {@linkcode ensureTopic} did. */
export interface TopicResult {
  topic: string;
  partitions: number;
  created: boolean;
}

/**
 * Creates `topic` with `partitions` partitions unless it exists; throws a
 * {@linkcode LabError} if it exists with a different partition count. On a
 * cluster it gets min(3, brokers) replicas, and with 3 `min.insync.replicas=2`:
 * an `acks=all` write is then on 2 brokers at least, so one broker may die
 * without losing it.
 * Idempotent: safe to call before every produce or consume. Waits for
 * partition leaders, so clients can use the topic at once.
 *
 * @example
 * ```ts
 * await ensureTopic(admin); // order-events, 3 partitions
 * ```
 */
export async function ensureTopic(
  admin: Admin,
  topic: string = ORDER_TOPIC,
  partitions: number = ORDER_PARTITIONS,
): Promise<TopicResult> {
  const existing = await partitionCount(admin, topic);
  if (existing === undefined) {
    const replicationFactor = Math.min(3, (await admin.describeCluster()).brokers.length);
    try {
      await admin.createTopics({
        topics: [{
          topic,
          numPartitions: partitions,
          replicationFactor,
          configEntries: replicationFactor === 3
            ? [{ name: "min.insync.replicas", value: "2" }]
            : [],
        }],
        waitForLeaders: true,
      });
      return { topic, partitions, created: true };
    } catch (error) {
      // Another process may have created it in the meantime: check again below.
      if (await partitionCount(admin, topic) === undefined) throw error;
    }
  }
  const actual = (await partitionCount(admin, topic))!;
  if (actual !== partitions) {
    throw new LabError(
      `topic ${topic} exists with ${actual} partitions, but this needs ${partitions}: ` +
        `use another --topic, or delete it first`,
    );
  }
  return { topic, partitions: actual, created: false };
}

/**
 * The partition count of `topic`, or undefined if it does not exist.
 *
 * @example
 * ```ts
 * await partitionCount(admin, "order-events"); // 3
 * ```
 */
export async function partitionCount(admin: Admin, topic: string): Promise<number | undefined> {
  const topics = await admin.listTopics();
  if (!topics.includes(topic)) return undefined;
  const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
  return metadata.topics[0].partitions.length;
}

/**
 * Throws a {@linkcode LabError} unless `topic` exists; returns its partition count.
 *
 * @example
 * ```ts
 * await requireTopic(admin, "order-events"); // 3
 * ```
 */
export async function requireTopic(admin: Admin, topic: string): Promise<number> {
  const count = await partitionCount(admin, topic);
  if (count === undefined) {
    throw new LabError(
      `topic ${topic} does not exist: create it by producing to it (\`deno task producer --topic ${topic}\`)`,
    );
  }
  return count;
}
