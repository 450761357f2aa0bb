/**
 * Partition assignors under Kafka's standard protocol names, so that the
 * lab's members can share a group with Java and librdkafka (confluent-kafka)
 * consumers.
 *
 * In a consumer group the members announce the assignors they support (by
 * protocol name, in order of preference) when they join; the broker picks one
 * that **every** member announced, and the group's leader runs it. kafkajs's
 * own assigner announces `RoundRobinAssigner`, a name no other client uses: a
 * Python or Java member cannot join such a group (the broker answers
 * INCONSISTENT_GROUP_PROTOCOL). The assignors here announce `range` and
 * `roundrobin` and compute exactly what Kafka's `RangeAssignor` and
 * `RoundRobinAssignor` compute, so whichever member leads, the split is the
 * same. The lab's members offer both by default, `range` first
 * ({@linkcode DEFAULT_ASSIGNORS}): librdkafka's default is `range,roundrobin`
 * and Java's `[RangeAssignor, CooperativeStickyAssignor]`, so a member of each,
 * with its defaults, shares `range` with them. Their metadata is the standard
 * consumer protocol (version 0: subscribed topics, user data), which every
 * client reads.
 * As leader they skip a topic that does not exist and give nothing to a member
 * whose metadata they cannot read, as Kafka's leaders do.
 *
 * One difference: Kafka's assignors order static members (those with a
 * `group.instance.id`) first, by instance id. kafkajs has no static membership
 * and does not tell an assigner the members' instance ids, so these order by
 * member id only; with a static Java or librdkafka member in the group, which
 * partitions each member gets can differ from the split that member would make.
 *
 * @module
 */
import {
  AssignerProtocol,
  type Cluster,
  type PartitionAssigner,
  PartitionAssigners,
} from "kafkajs";
import { Buffer } from "node:buffer";
import { UsageError } from "../platform/errors.ts";

/** Assignors a member can use: kafkajs's own, or Kafka's standard two. */
export const ASSIGNORS = ["kafkajs", "range", "roundrobin"] as const;
/** One of {@linkcode ASSIGNORS}. */
export type AssignorName = (typeof ASSIGNORS)[number];

/**
 * What a lab member offers unless told otherwise, in order of preference:
 * librdkafka's default list, whose first is also first in Java's default.
 *
 * @example
 * ```ts
 * DEFAULT_ASSIGNORS.join(","); // "range,roundrobin", as `--assignor` takes it
 * ```
 */
export const DEFAULT_ASSIGNORS: readonly AssignorName[] = ["range", "roundrobin"];

/** The protocol name each assignor announces to the broker. */
export const PROTOCOL_NAMES: Record<AssignorName, string> = {
  kafkajs: "RoundRobinAssigner",
  range: "range",
  roundrobin: "roundrobin",
};

/** A member as the leader sees it: its id and the topics it subscribed to. */
export interface Subscription {
  memberId: string;
  topics: string[];
}

/** Partitions per topic per member id: `{ "m1": { "orders": [0, 1] } }`. */
export type Assignment = Record<string, Record<string, number[]>>;

function emptyAssignment(members: Subscription[]): Assignment {
  return Object.fromEntries(members.map((m) => [m.memberId, {}]));
}

const byString = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Kafka's range assignment: topic by topic, the topic's partitions (sorted)
 * are cut into contiguous ranges over the members subscribed to it, sorted by
 * member id; the first `partitions % members` members get one extra.
 *
 * @example
 * ```ts
 * rangeAssign([{ memberId: "a", topics: ["t"] }, { memberId: "b", topics: ["t"] }], { t: 3 });
 * // { a: { t: [0, 1] }, b: { t: [2] } }
 * ```
 */
export function rangeAssign(
  members: Subscription[],
  partitionsPerTopic: Record<string, number>,
): Assignment {
  const assignment = emptyAssignment(members);
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort(byString);
  for (const topic of topics) {
    const count = partitionsPerTopic[topic];
    if (count === undefined) continue; // unknown topic: Kafka skips it too
    const consumers = members.filter((m) => m.topics.includes(topic))
      .map((m) => m.memberId).sort(byString);
    const perConsumer = Math.floor(count / consumers.length);
    const withExtra = count % consumers.length;
    consumers.forEach((memberId, i) => {
      const start = perConsumer * i + Math.min(i, withExtra);
      const length = perConsumer + (i < withExtra ? 1 : 0);
      if (length > 0) {
        assignment[memberId][topic] = Array.from({ length }, (_, k) => start + k);
      }
    });
  }
  return assignment;
}

/**
 * Kafka's round-robin assignment: every partition of every subscribed topic,
 * sorted by topic then partition, dealt in turn to the members sorted by
 * member id; a member not subscribed to a partition's topic is skipped.
 *
 * @example
 * ```ts
 * roundRobinAssign([{ memberId: "a", topics: ["t"] }, { memberId: "b", topics: ["t"] }], { t: 3 });
 * // { a: { t: [0, 2] }, b: { t: [1] } }
 * ```
 */
export function roundRobinAssign(
  members: Subscription[],
  partitionsPerTopic: Record<string, number>,
): Assignment {
  const assignment = emptyAssignment(members);
  const sorted = [...members].sort((a, b) => byString(a.memberId, b.memberId));
  const topics = [...new Set(members.flatMap((m) => m.topics))].sort(byString)
    .filter((t) => partitionsPerTopic[t] !== undefined);
  let next = 0;
  for (const topic of topics) {
    for (let partition = 0; partition < partitionsPerTopic[topic]; partition++) {
      while (!sorted[next % sorted.length].topics.includes(topic)) next++;
      const owned = assignment[sorted[next % sorted.length].memberId];
      (owned[topic] ??= []).push(partition);
      next++;
    }
  }
  return assignment;
}

/**
 * The topics a member subscribed to, from its join metadata; none when the
 * metadata cannot be read, so such a member gets no partitions (librdkafka's
 * leader ignores it too) instead of failing every rebalance of the group.
 */
function subscribedTopics(memberMetadata: Buffer): string[] {
  try {
    return AssignerProtocol.MemberMetadata.decode(memberMetadata)?.topics ?? [];
  } catch {
    return [];
  }
}

/** kafkajs errors for a topic the leader cannot see: it does not exist, or is not readable. */
const UNSEEN_TOPIC_ERRORS = [
  "UNKNOWN_TOPIC_OR_PARTITION",
  "INVALID_TOPIC_EXCEPTION",
  "TOPIC_AUTHORIZATION_FAILED",
];
const isUnseenTopic = (error: unknown) =>
  UNSEEN_TOPIC_ERRORS.includes((error as { type?: string }).type ?? "");

/**
 * Partition counts of `topics`, as the leader's metadata has them. A topic
 * that does not exist (or that the leader may not read) is left out, so the
 * assignors skip it as Kafka's do; kafkajs fails the whole metadata request
 * for it, so then the topics are added one at a time.
 */
async function partitionCounts(
  cluster: Cluster,
  topics: string[],
): Promise<Record<string, number>> {
  try {
    await cluster.addMultipleTargetTopics(topics);
  } catch (error) {
    if (!isUnseenTopic(error)) throw error;
    for (const topic of topics) {
      await cluster.addTargetTopic(topic).catch((e) => {
        if (!isUnseenTopic(e)) throw e;
      });
    }
  }
  const counts: Record<string, number> = {};
  for (const topic of topics) {
    const partitions = cluster.findTopicPartitionMetadata(topic);
    if (partitions.length > 0) counts[topic] = partitions.length;
  }
  return counts;
}

function standardAssigner(
  name: "range" | "roundrobin",
  assign: typeof rangeAssign,
): PartitionAssigner {
  return ({ cluster }) => ({
    name,
    version: 0,
    async assign({ members }) {
      const subscriptions = members.map((m) => ({
        memberId: m.memberId,
        topics: subscribedTopics(m.memberMetadata),
      }));
      // The leader assigns every member's topics, not only its own (as Kafka does).
      const topics = [...new Set(subscriptions.flatMap((s) => s.topics))];
      const assignment = assign(subscriptions, await partitionCounts(cluster, topics));
      return Object.entries(assignment).map(([memberId, owned]) => ({
        memberId,
        memberAssignment: AssignerProtocol.MemberAssignment.encode({
          version: 0,
          assignment: owned,
          userData: Buffer.alloc(0),
        }),
      }));
    },
    protocol({ topics }) {
      return {
        name,
        metadata: AssignerProtocol.MemberMetadata.encode({
          version: 0,
          topics,
          userData: Buffer.alloc(0),
        }),
      };
    },
  });
}

/** Kafka's `range` assignor (Java `RangeAssignor`, librdkafka `range`), for kafkajs. */
export const RangeAssigner: PartitionAssigner = standardAssigner("range", rangeAssign);
/** Kafka's `roundrobin` assignor (Java `RoundRobinAssignor`, librdkafka `roundrobin`), for kafkajs. */
export const RoundRobinStandardAssigner: PartitionAssigner = standardAssigner(
  "roundrobin",
  roundRobinAssign,
);

/**
 * The kafkajs partition assigner for an assignor name: `kafkajs` is kafkajs's
 * own `RoundRobinAssigner`; `range` and `roundrobin` are Kafka's.
 *
 * @example
 * ```ts
 * kafka.consumer({ groupId: "billing-group", partitionAssigners: DEFAULT_ASSIGNORS.map(assignerFor) });
 * ```
 */
export function assignerFor(name: AssignorName): PartitionAssigner {
  switch (name) {
    case "kafkajs":
      return PartitionAssigners.roundRobin;
    case "range":
      return RangeAssigner;
    case "roundrobin":
      return RoundRobinStandardAssigner;
  }
}

/**
 * Reads an `--assignor` value, one name or a comma list in order of
 * preference, or throws a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * assignorFlag("--assignor", "range,roundrobin"); // ["range", "roundrobin"]
 * ```
 */
export function assignorFlag(name: string, raw: string | boolean | undefined): AssignorName[] {
  const value = String(raw ?? "").trim();
  const names = value.split(",").map((n) => n.trim());
  const unknown = names.find((n) => !(ASSIGNORS as readonly string[]).includes(n));
  if (unknown !== undefined) {
    throw new UsageError(
      `${name} takes one or more of ${ASSIGNORS.join(", ")}, comma-separated, got '${value}'`,
    );
  }
  const twice = names.find((n, i) => names.indexOf(n) !== i);
  if (twice !== undefined) throw new UsageError(`${name} lists '${twice}' twice: '${value}'`);
  return names as AssignorName[];
}

/**
 * The assignors a Kafka 4 broker runs for consumer-protocol (KIP-848) groups
 * (`group.consumer.assignors`), its default first; a member picks one with
 * `group.remote.assignor`.
 */
export const REMOTE_ASSIGNORS = ["uniform", "range"] as const;

/** One of {@linkcode REMOTE_ASSIGNORS}. */
export type RemoteAssignor = (typeof REMOTE_ASSIGNORS)[number];

/**
 * Reads a consumer-protocol member's `--assignor` (the broker's assignor),
 * or throws a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * remoteAssignorFlag("--assignor", "range"); // "range"
 * ```
 */
export function remoteAssignorFlag(
  name: string,
  raw: string | boolean | undefined,
): RemoteAssignor {
  const value = String(raw ?? "").trim();
  if (!(REMOTE_ASSIGNORS as readonly string[]).includes(value)) {
    throw new UsageError(
      `${name} takes ${REMOTE_ASSIGNORS.join(" or ")} (the broker assigns in this protocol), ` +
        `got '${value}'`,
    );
  }
  return value as RemoteAssignor;
}

/**
 * The line a member prints when the broker refuses it with
 * INCONSISTENT_GROUP_PROTOCOL: which assignor the group uses (when known),
 * which this member offered, and the fix.
 *
 * @example
 * ```ts
 * explainInconsistentProtocol("billing-group", ["kafkajs"], "range");
 * ```
 */
export function explainInconsistentProtocol(
  groupId: string,
  mine: readonly AssignorName[],
  groupProtocol?: string,
): string {
  const theirs = groupProtocol ? `'${groupProtocol}'` : "another assignor";
  const offered = mine.map((n) => `'${PROTOCOL_NAMES[n]}'`).join(", ");
  const match = ASSIGNORS.find((n) => PROTOCOL_NAMES[n] === groupProtocol);
  const fix = match === undefined
    ? "give every member an assignor they all offer (Java and Python clients offer range by " +
      "default, as the lab's members do without --assignor)"
    : DEFAULT_ASSIGNORS.includes(match)
    ? `start this member without --assignor (its default, ${DEFAULT_ASSIGNORS.join(",")}, ` +
      `offers ${match})`
    : `start this member with --assignor ${match}`;
  return `cannot join ${groupId}: the broker answered INCONSISTENT_GROUP_PROTOCOL — ` +
    `its members assign partitions with ${theirs}, this member offers only ${offered} ` +
    `(--assignor ${mine.join(",")}), and all members must share one; ${fix}`;
}
