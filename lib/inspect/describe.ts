/**
 * The views of `kafka-consumer-groups.sh`, from {@linkcode GroupSnapshot}s:
 * offsets (`--describe`), members (`--members --verbose`) and state
 * (`--state`), plus the lag status and the partitions → members diagram.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { LabError } from "../platform/errors.ts";
import { type GroupSnapshot, snapshotGroup } from "./groups.ts";
import { LagTracker } from "./lagstatus.ts";
import { AssignmentDiagram, Table } from "../platform/render.ts";
import { partitionCount } from "../kafka/topic.ts";

/**
 * Kafka's `--describe` table: GROUP TOPIC PARTITION CURRENT-OFFSET
 * LOG-END-OFFSET LAG CONSUMER-ID HOST CLIENT-ID, plus STATUS when a
 * {@linkcode LagTracker} is given. Missing values print as "-", as Kafka does.
 *
 * @example
 * ```ts
 * console.log(String(offsetsTable([await snapshotGroup(admin, "billing-group")])));
 * ```
 */
export function offsetsTable(snapshots: GroupSnapshot[], tracker?: LagTracker): Table {
  const columns = [
    "GROUP",
    "TOPIC",
    "PARTITION",
    "CURRENT-OFFSET",
    "LOG-END-OFFSET",
    "LAG",
    "CONSUMER-ID",
    "HOST",
    "CLIENT-ID",
  ];
  return new Table(
    tracker ? [...columns, "STATUS"] : columns,
    snapshots.flatMap((s) =>
      s.partitions.map((p) => {
        const row = [
          s.groupId,
          p.topic,
          p.partition,
          p.currentOffset,
          p.logEndOffset,
          p.lag,
          p.owner?.memberId,
          p.owner?.host,
          p.owner?.clientId,
        ];
        return tracker ? [...row, tracker.status(`${s.groupId}/${p.topic}/${p.partition}`)] : row;
      })
    ),
  );
}

/**
 * Kafka's `kafka-share-groups.sh --describe` table for share groups: GROUP
 * TOPIC PARTITION START-OFFSET LAG (no owner: a share group's members share
 * every partition).
 *
 * @example
 * ```ts
 * console.log(String(shareOffsetsTable([await snapshotGroup(admin, "billing-share")])));
 * ```
 */
export function shareOffsetsTable(snapshots: GroupSnapshot[]): Table {
  return new Table(
    ["GROUP", "TOPIC", "PARTITION", "START-OFFSET", "LAG"],
    snapshots.flatMap((s) =>
      s.partitions.map((p) => [s.groupId, p.topic, p.partition, p.currentOffset, p.lag])
    ),
  );
}

/** A member's partitions as Kafka 4's tools write them: `topic:0,1`, or undefined when none. */
function topicPartitions(assignment: Record<string, number[]> = {}): string | undefined {
  const owned = Object.entries(assignment).filter(([, ps]) => ps.length > 0).sort();
  return owned.length ? owned.map(([t, ps]) => `${t}:${ps.join(",")}`).join(",") : undefined;
}

function partitionTotal(assignment: Record<string, number[]>): number {
  return Object.values(assignment).reduce((n, ps) => n + ps.length, 0);
}

/**
 * Kafka's `--members --verbose` table, by the group's type:
 * - classic: GROUP CONSUMER-ID HOST CLIENT-ID #PARTITIONS ASSIGNMENT;
 * - consumer: ... #PARTITIONS CURRENT-EPOCH CURRENT-ASSIGNMENT TARGET-EPOCH
 *   TARGET-ASSIGNMENT, and UPGRADED when classic and consumer-protocol
 *   members share the group (it is converting);
 * - share (`kafka-share-groups.sh`): ... #PARTITIONS MEMBER-EPOCH ASSIGNMENT.
 *
 * The snapshots are of one type, the first one's.
 *
 * @example
 * ```ts
 * console.log(String(membersTable([snapshot])));
 * ```
 */
export function membersTable(snapshots: GroupSnapshot[]): Table {
  const type = snapshots[0]?.type ?? "classic";
  const head = ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS"];
  const rows = snapshots.flatMap((s) => s.members.map((m) => ({ s, m })));
  if (type === "share") {
    return new Table(
      [...head, "MEMBER-EPOCH", "ASSIGNMENT"],
      rows.map(({ s, m }) => [
        s.groupId,
        m.memberId,
        m.host,
        m.clientId,
        partitionTotal(m.assignment),
        m.memberEpoch,
        topicPartitions(m.assignment),
      ]),
    );
  }
  if (type === "consumer") {
    const upgraded = new Set(rows.map(({ m }) => m.upgraded));
    const mixed = upgraded.has(true) && upgraded.has(false);
    const columns = [
      ...head,
      "CURRENT-EPOCH",
      "CURRENT-ASSIGNMENT",
      "TARGET-EPOCH",
      "TARGET-ASSIGNMENT",
    ];
    return new Table(
      mixed ? [...columns, "UPGRADED"] : columns,
      rows.map(({ s, m }) => {
        const row = [
          s.groupId,
          m.memberId,
          m.host,
          m.clientId,
          partitionTotal(m.assignment),
          m.memberEpoch,
          topicPartitions(m.assignment),
          s.assignmentEpoch,
          topicPartitions(m.targetAssignment),
        ];
        return mixed ? [...row, String(m.upgraded)] : row;
      }),
    );
  }
  return new Table(
    ["GROUP", "CONSUMER-ID", "HOST", "CLIENT-ID", "#PARTITIONS", "ASSIGNMENT"],
    snapshots.flatMap((s) =>
      s.members.map((m) => {
        const owned = Object.entries(m.assignment).filter(([, ps]) => ps.length > 0);
        return [
          s.groupId,
          m.memberId,
          m.host,
          m.clientId,
          owned.reduce((n, [, ps]) => n + ps.length, 0),
          owned.map(([topic, ps]) => `${topic}(${ps.join(",")})`).join(", "),
        ];
      })
    ),
  );
}

/**
 * Kafka's `--state --verbose` table, by the group's type (the first
 * snapshot's): classic: GROUP COORDINATOR (ID) ASSIGNMENT-STRATEGY STATE
 * #MEMBERS; consumer: the same with GROUP-EPOCH and TARGET-ASSIGNMENT-EPOCH
 * before #MEMBERS; share (`kafka-share-groups.sh`): GROUP COORDINATOR (ID)
 * STATE GROUP-EPOCH ASSIGNMENT-EPOCH #MEMBERS.
 *
 * @example
 * ```ts
 * console.log(String(stateTable([snapshot], { "billing-group": "127.0.0.1:9092 (1)" })));
 * ```
 */
export function stateTable(
  snapshots: GroupSnapshot[],
  coordinators: Record<string, string>,
): Table {
  const type = snapshots[0]?.type ?? "classic";
  if (type === "share") {
    return new Table(
      ["GROUP", "COORDINATOR (ID)", "STATE", "GROUP-EPOCH", "ASSIGNMENT-EPOCH", "#MEMBERS"],
      snapshots.map((s) => [
        s.groupId,
        coordinators[s.groupId],
        s.state,
        s.groupEpoch,
        s.assignmentEpoch,
        s.members.length,
      ]),
    );
  }
  if (type === "consumer") {
    return new Table(
      [
        "GROUP",
        "COORDINATOR (ID)",
        "ASSIGNMENT-STRATEGY",
        "STATE",
        "GROUP-EPOCH",
        "TARGET-ASSIGNMENT-EPOCH",
        "#MEMBERS",
      ],
      snapshots.map((s) => [
        s.groupId,
        coordinators[s.groupId],
        s.protocol,
        s.state,
        s.groupEpoch,
        s.assignmentEpoch,
        s.members.length,
      ]),
    );
  }
  return new Table(
    ["GROUP", "COORDINATOR (ID)", "ASSIGNMENT-STRATEGY", "STATE", "#MEMBERS"],
    snapshots.map((s) => [
      s.groupId,
      coordinators[s.groupId],
      s.protocol,
      s.state,
      s.members.length,
    ]),
  );
}

/**
 * The diagram of `topic`'s partitions and the members of the snapshot's group
 * (members named by client id, ordered by it).
 *
 * @example
 * ```ts
 * console.log(String(snapshotDiagram(snapshot, "order-events", 3)));
 * ```
 */
export function snapshotDiagram(
  snapshot: GroupSnapshot,
  topic: string,
  partitions: number,
): AssignmentDiagram {
  return new AssignmentDiagram({
    topic,
    partitionCount: partitions,
    groupId: snapshot.groupId,
    members: snapshot.members
      .map((m) => ({ name: m.clientId, partitions: m.assignment[topic] ?? [] }))
      .sort((a, b) => a.name.localeCompare(b.name)),
  });
}

/**
 * The diagrams of every topic a snapshot's group reads.
 *
 * @example
 * ```ts
 * for (const d of await groupDiagrams(admin, snapshot)) console.log(String(d));
 * ```
 */
export async function groupDiagrams(
  admin: Admin,
  snapshot: GroupSnapshot,
): Promise<AssignmentDiagram[]> {
  const topics = [
    ...new Set([
      ...snapshot.partitions.map((p) => p.topic),
      ...snapshot.members.flatMap((m) => Object.keys(m.assignment)),
    ]),
  ].sort();
  const diagrams: AssignmentDiagram[] = [];
  for (const topic of topics) {
    const count = await partitionCount(admin, topic);
    if (count !== undefined) diagrams.push(snapshotDiagram(snapshot, topic, count));
  }
  return diagrams;
}

/**
 * Snapshots `groupIds` `samples` times, `intervalMs` apart, feeding a
 * {@linkcode LagTracker}; returns the last snapshot of each group. Throws a
 * {@linkcode LabError} for a group that does not exist, in Kafka's words.
 *
 * @example
 * ```ts
 * const { snapshots, tracker } = await sampleGroups(admin, ["billing-group"], 3, 500);
 * ```
 */
export async function sampleGroups(
  admin: Admin,
  groupIds: string[],
  samples = 1,
  intervalMs = 500,
): Promise<{ snapshots: GroupSnapshot[]; tracker: LagTracker }> {
  const tracker = new LagTracker(Math.max(samples, 2));
  let snapshots: GroupSnapshot[] = [];
  for (let i = 0; i < samples; i++) {
    if (i > 0) await new Promise((r) => setTimeout(r, intervalMs));
    snapshots = [];
    for (const groupId of groupIds) {
      const snapshot = await snapshotGroup(admin, groupId);
      if (snapshot.state === "Dead" && snapshot.partitions.length === 0) {
        throw new LabError(`Consumer group '${groupId}' does not exist.`);
      }
      trackSnapshot(tracker, snapshot);
      snapshots.push(snapshot);
    }
  }
  return { snapshots, tracker };
}

/**
 * Adds every partition of a snapshot to a tracker, keyed `group/topic/partition`.
 *
 * @example
 * ```ts
 * trackSnapshot(tracker, await snapshotGroup(admin, "billing-group"));
 * ```
 */
export function trackSnapshot(tracker: LagTracker, snapshot: GroupSnapshot): void {
  for (const p of snapshot.partitions) {
    tracker.add(`${snapshot.groupId}/${p.topic}/${p.partition}`, {
      at: snapshot.at,
      committed: p.currentOffset,
      logEnd: p.logEndOffset,
      owned: p.owner !== undefined,
    });
  }
}
