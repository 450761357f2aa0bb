/**
 * Looking at consumer groups from the outside, through the admin API, the
 * way Kafka's `kafka-consumer-groups.sh --describe` does: who is in the group,
 * which partitions each member owns, committed offsets, log-end offsets, lag.
 *
 * Nothing here joins a group, so it can watch members in other processes.
 *
 * @module
 */
import { type Admin, AssignerProtocol } from "kafkajs";
import { type EpochGroup, GroupApis, type GroupType } from "../kafka/groupapis.ts";

/** One member as the group coordinator sees it. */
export interface MemberInfo {
  memberId: string;
  clientId: string;
  /** As Kafka reports it, e.g. `/127.0.0.1`. */
  host: string;
  /** Partitions the member owns, by topic. */
  assignment: Record<string, number[]>;
  /**
   * A static member's `group.instance.id` (KIP-345): it stays when the member
   * restarts with a new member id.
   */
  instanceId?: string;
  /** Consumer-protocol and share groups: the member's epoch. */
  memberEpoch?: number;
  /** Consumer-protocol groups: the partitions the broker is moving the member to. */
  targetAssignment?: Record<string, number[]>;
  /** Consumer-protocol groups: true for a consumer-protocol member, false for a classic one. */
  upgraded?: boolean;
}

/** One partition of a topic the group reads. */
export interface PartitionState {
  topic: string;
  partition: number;
  /**
   * The group's committed offset (the next offset it will read), or null if
   * none; for a share group, the share-partition start offset.
   */
  currentOffset: number | null;
  logEndOffset: number;
  /** logEndOffset − currentOffset, or null without a committed offset. */
  lag: number | null;
  /** The member that owns the partition now, if any (share groups: none, members share it). */
  owner?: MemberInfo;
}

/** A group at one moment. */
export interface GroupSnapshot {
  groupId: string;
  /** consumer (KIP-848's protocol) or share (KIP-932); classic when absent. */
  type?: GroupType;
  /**
   * Classic: Stable, PreparingRebalance, CompletingRebalance, Empty or Dead;
   * consumer: Stable, Assigning, Reconciling or Empty; share: Stable or Empty.
   */
  state: string;
  /** Assignor name, e.g. RoundRobinAssigner, or the broker's (uniform, range, simple). */
  protocol: string;
  /** Consumer-protocol and share groups: the group epoch. */
  groupEpoch?: number;
  /** Consumer-protocol and share groups: the target assignment's epoch. */
  assignmentEpoch?: number;
  members: MemberInfo[];
  /** Assigned or committed partitions, sorted by topic and partition. */
  partitions: PartitionState[];
  /** When the snapshot was taken (ms since epoch). */
  at: number;
}

function decodeAssignment(buffer: Buffer): Record<string, number[]> {
  if (!buffer || buffer.length === 0) return {};
  try {
    const decoded = AssignerProtocol.MemberAssignment.decode(buffer);
    const assignment: Record<string, number[]> = {};
    for (const [topic, partitions] of Object.entries(decoded?.assignment ?? {})) {
      assignment[topic] = [...partitions].sort((a, b) => a - b);
    }
    return assignment;
  } catch {
    return {}; // not a consumer protocol assignment
  }
}

/**
 * Takes a snapshot of `groupId`: members with their assignments, and for each
 * topic it reads (assigned or committed; or `topics` if given) the committed
 * offset, log-end offset and lag per partition. Partitions that are neither
 * assigned nor committed are left out, as Kafka's own tool does.
 *
 * @example
 * ```ts
 * const snapshot = await snapshotGroup(admin, "billing-group");
 * snapshot.members.map((m) => [m.clientId, m.assignment]);
 * ```
 */
export async function snapshotGroup(
  admin: Admin,
  groupId: string,
  topics?: string[],
): Promise<GroupSnapshot> {
  const at = Date.now();
  const described = await describeAnyGroup(admin, groupId);
  const { members } = described;
  if (described.type === "share") {
    const apis = await groupApisFor(admin);
    const partitions: PartitionState[] = [];
    for (const offset of await apis.shareGroupOffsets(groupId)) {
      if (topics && !topics.includes(offset.topic)) continue;
      const ends = await logEndOffsets(admin, offset.topic);
      partitions.push({
        topic: offset.topic,
        partition: offset.partition,
        currentOffset: offset.startOffset,
        logEndOffset: ends[offset.partition],
        lag: offset.lag,
      });
    }
    return { ...described, groupId, partitions, at };
  }
  const owners = new Map<string, MemberInfo>();
  for (const member of members) {
    for (const [topic, partitions] of Object.entries(member.assignment)) {
      for (const p of partitions) owners.set(`${topic}/${p}`, member);
    }
  }
  const committed = await admin.fetchOffsets(topics ? { groupId, topics } : { groupId });
  const committedByKey = new Map<string, number>();
  for (const { topic, partitions } of committed) {
    for (const { partition, offset } of partitions) {
      if (Number(offset) >= 0) committedByKey.set(`${topic}/${partition}`, Number(offset));
    }
  }
  const topicNames = new Set<string>(topics ?? []);
  for (const key of [...owners.keys(), ...committedByKey.keys()]) {
    topicNames.add(key.slice(0, key.lastIndexOf("/")));
  }
  const partitions: PartitionState[] = [];
  for (const topic of [...topicNames].sort()) {
    const ends = await admin.fetchTopicOffsets(topic);
    for (const end of ends.sort((a, b) => a.partition - b.partition)) {
      const key = `${topic}/${end.partition}`;
      const currentOffset = committedByKey.get(key) ?? null;
      const owner = owners.get(key);
      if (currentOffset === null && !owner && !topics) continue;
      const logEndOffset = Number(end.high);
      partitions.push({
        topic,
        partition: end.partition,
        currentOffset,
        logEndOffset,
        lag: currentOffset === null ? null : Math.max(0, logEndOffset - currentOffset),
        owner,
      });
    }
  }
  return { ...described, groupId, partitions, at };
}

/** What describing a group of any type tells: the snapshot less its offsets. */
type DescribedGroup = Omit<GroupSnapshot, "groupId" | "partitions" | "at">;

/**
 * Describes `groupId` whatever its type, as Kafka's admin client does:
 * DescribeGroups for a classic group; a group it reports Dead may be a
 * consumer-protocol group (ConsumerGroupDescribe) or a share group
 * (ShareGroupDescribe); Dead and classic when it is none of them.
 */
async function describeAnyGroup(admin: Admin, groupId: string): Promise<DescribedGroup> {
  const { groups: [group] } = await admin.describeGroups([groupId]);
  if (group.state !== "Dead") {
    const instanceIds = group.members.length === 0
      ? new Map<string, string>()
      : await (await groupApisFor(admin)).classicInstanceIds(groupId);
    return {
      type: "classic",
      state: group.state,
      protocol: group.protocol,
      members: group.members.map((m) => ({
        memberId: m.memberId,
        clientId: m.clientId,
        host: m.clientHost,
        assignment: decodeAssignment(m.memberAssignment),
        ...(instanceIds.has(m.memberId) && { instanceId: instanceIds.get(m.memberId) }),
      })),
    };
  }
  const apis = await groupApisFor(admin);
  const epochGroup = await apis.describeConsumerGroup(groupId) ??
    await apis.describeShareGroup(groupId);
  return epochGroup
    ? fromEpochGroup(epochGroup)
    : { type: "classic", state: "Dead", protocol: "", members: [] };
}

function fromEpochGroup(group: EpochGroup): DescribedGroup {
  return {
    type: group.type,
    state: group.state,
    protocol: group.assignor,
    groupEpoch: group.groupEpoch,
    assignmentEpoch: group.assignmentEpoch,
    members: group.members.map((m) => ({
      memberId: m.memberId,
      clientId: m.clientId,
      host: m.host,
      assignment: m.assignment,
      ...(m.instanceId !== null && { instanceId: m.instanceId }),
      memberEpoch: m.memberEpoch,
      targetAssignment: m.targetAssignment,
      upgraded: m.upgraded,
    })),
  };
}

const groupApisByAdmin = new WeakMap<Admin, Promise<GroupApis>>();

/**
 * The {@linkcode GroupApis} that go with a kafkajs admin client: same
 * brokers, closed when the admin disconnects.
 *
 * @example
 * ```ts
 * const groups = await (await groupApisFor(admin)).listGroups();
 * ```
 */
export function groupApisFor(admin: Admin): Promise<GroupApis> {
  let apis = groupApisByAdmin.get(admin);
  if (!apis) {
    apis = (async () => {
      const { brokers } = await admin.describeCluster();
      const opened = new GroupApis(brokers.map((b) => `${b.host}:${b.port}`));
      const closing = admin.on(admin.events.DISCONNECT, () => {
        closing();
        groupApisByAdmin.delete(admin);
        void opened.close();
      });
      return opened;
    })();
    groupApisByAdmin.set(admin, apis);
  }
  return apis;
}

/**
 * Polls {@linkcode snapshotGroup} until `condition` holds or `timeoutMs`
 * passes; resolves to the last snapshot and whether the condition held.
 *
 * @example
 * ```ts
 * const { ok } = await waitForGroup(admin, "billing-group",
 *   (s) => s.state === "Stable" && s.members.length === 2, 15_000);
 * ```
 */
export async function waitForGroup(
  admin: Admin,
  groupId: string,
  condition: (snapshot: GroupSnapshot) => boolean,
  timeoutMs: number,
  options: { topics?: string[]; pollMs?: number } = {},
): Promise<{ ok: boolean; snapshot: GroupSnapshot }> {
  const deadline = Date.now() + timeoutMs;
  while (true) {
    const snapshot = await snapshotGroup(admin, groupId, options.topics);
    if (condition(snapshot)) return { ok: true, snapshot };
    if (Date.now() >= deadline) return { ok: false, snapshot };
    await new Promise((r) => setTimeout(r, options.pollMs ?? 200));
  }
}

/**
 * True when the group is Stable and every partition of `topic` has an owner:
 * the moment a rebalance is over and consuming can go on.
 *
 * @example
 * ```ts
 * await waitForGroup(admin, "billing-group", (s) => allPartitionsOwned(s, "order-events", 3), 15_000);
 * ```
 */
export function allPartitionsOwned(
  snapshot: GroupSnapshot,
  topic: string,
  partitionCount: number,
): boolean {
  if (snapshot.state !== "Stable") return false;
  const owned = new Set(snapshot.members.flatMap((m) => m.assignment[topic] ?? []));
  return owned.size === partitionCount;
}

/**
 * Total lag of the group on `topic` (partitions without a committed offset
 * count their whole log), or 0 when nothing is behind.
 *
 * @example
 * ```ts
 * totalLag(await snapshotGroup(admin, "billing-group", ["order-events"]), "order-events");
 * ```
 */
export function totalLag(snapshot: GroupSnapshot, topic: string): number {
  return snapshot.partitions
    .filter((p) => p.topic === topic)
    .reduce((sum, p) => sum + (p.lag ?? p.logEndOffset), 0);
}

/**
 * The log-end offset of each partition of `topic`, indexed by partition:
 * the offset the next produced message will get.
 *
 * @example
 * ```ts
 * const before = await logEndOffsets(admin, "order-events"); // [4, 3, 3]
 * ```
 */
export async function logEndOffsets(admin: Admin, topic: string): Promise<number[]> {
  const offsets = await admin.fetchTopicOffsets(topic);
  const ends: number[] = [];
  for (const o of offsets) ends[o.partition] = Number(o.high);
  return ends;
}

/** What {@linkcode timeRebalance} measured. */
export interface RebalanceTiming {
  /** The group settled as expected before the deadline. */
  ok: boolean;
  /** From the start of `action` until the group was Stable with every partition owned. */
  ms: number;
  before: GroupSnapshot;
  after: GroupSnapshot;
}

/**
 * Runs `action` (a member leaves, dies or joins) and measures how long until
 * the group is Stable again with `expectedMembers` members and every
 * partition of `topic` owned: the time the group was not consuming.
 *
 * @example
 * ```ts
 * const { ms } = await timeRebalance(admin, "billing-group", "order-events", 3, 2, () => member.stop());
 * ```
 */
export async function timeRebalance(
  admin: Admin,
  groupId: string,
  topic: string,
  partitionCount: number,
  expectedMembers: number,
  action: () => Promise<unknown>,
  timeoutMs = 60_000,
): Promise<RebalanceTiming> {
  const before = await snapshotGroup(admin, groupId);
  const started = Date.now();
  await action();
  const { ok, snapshot: after } = await waitForGroup(
    admin,
    groupId,
    (s) =>
      s.members.length === expectedMembers &&
      (expectedMembers === 0 || allPartitionsOwned(s, topic, partitionCount)),
    timeoutMs,
    { pollMs: 50 },
  );
  return { ok, ms: Date.now() - started, before, after };
}
