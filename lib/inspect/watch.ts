/**
 * Watching a group live, from the outside (admin API only, never as a
 * member): partitions → members, offsets, lag and its status, and a
 * **rebalance timeline** — when each rebalance started and ended, why, how
 * long it took, and who owned what after it.
 *
 * The timeline is computed from successive snapshots by a pure function,
 * {@linkcode nextTimeline}:
 * - a rebalance **starts** at the first snapshot in PreparingRebalance or
 *   CompletingRebalance (or, if it happened entirely between two snapshots,
 *   at the earlier of them) and **ends** at the next Stable or Empty one; one
 *   already under way at the first snapshot is kept, marked as such;
 * - two rebalances less than a poll apart (the Stable between them unseen)
 *   show as one, with the joins and departures of both;
 * - a static member (`group.instance.id`, KIP-345) that restarts comes back
 *   with a new member id but the same instance id and partitions: that is
 *   the same member, and no rebalance (the coordinator ran none);
 * - **why**: members that joined, and members that went away. Whether one
 *   that went away *left* (LeaveGroup, e.g. Ctrl+C) or *timed out* (no
 *   heartbeat within the session timeout, e.g. `kill -9`) is not visible in
 *   the admin API; the coordinator writes it in the broker's log, so when the
 *   lab's own broker log is at hand, {@linkcode departuresFromBrokerLog}
 *   reads it from there, and otherwise it says "left or timed out".
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { snapshotDiagram, trackSnapshot } from "./describe.ts";
import { offsetsTable } from "./describe.ts";
import type { GroupSnapshot, MemberInfo } from "./groups.ts";
import { snapshotGroup } from "./groups.ts";
import { LagTracker } from "./lagstatus.ts";
import { sleep } from "../platform/wait.ts";
import { Table } from "../platform/render.ts";
import { partitionCount } from "../kafka/topic.ts";
import { readFileFrom } from "../platform/runtime.ts";

/** One rebalance, as seen from outside the group. */
export interface Rebalance {
  startedAt: number;
  endedAt: number;
  /** endedAt − startedAt; 0 when it happened between two snapshots. */
  durationMs: number;
  /** Client ids (member id in brackets when two share one) that joined. */
  joined: string[];
  /** Member ids that went away. */
  departed: { memberId: string; clientId: string }[];
  /** State after the rebalance: Stable, or Empty when nobody is left. */
  stateAfter: string;
  /** Who owns which partitions afterwards, by client id. */
  assignment: { member: string; partitions: number[] }[];
  /** It was under way when watching began: who joined or went is unknown. */
  underWayAtStart?: boolean;
}

/** What the timeline function carries from one snapshot to the next. */
export interface Timeline {
  rebalances: Rebalance[];
  /** The last snapshot in a settled state (Stable or Empty). */
  settled?: GroupSnapshot;
  /** When the rebalance in progress started, if one is. */
  openSince?: number;
  /** The previous snapshot, whatever its state. */
  previous?: GroupSnapshot;
}

const SETTLED = new Set(["Stable", "Empty", "Dead"]);

function assignmentOf(snapshot: GroupSnapshot, topic?: string) {
  return snapshot.members
    .map((m) => ({
      member: m.clientId,
      partitions: topic
        ? m.assignment[topic] ?? []
        : Object.values(m.assignment).flat().sort((a, b) => a - b),
    }))
    .sort((a, b) => a.member.localeCompare(b.member));
}

/**
 * Who a member is across snapshots: a static member's instance id (restarted,
 * it comes back with a new member id, and no rebalance), else its member id.
 */
const identity = (m: MemberInfo) => m.instanceId ?? m.memberId;

function sameMembers(a: GroupSnapshot, b: GroupSnapshot): boolean {
  const key = (s: GroupSnapshot) =>
    s.members.map((m) => `${identity(m)}:${JSON.stringify(m.assignment)}`).sort().join("|");
  return key(a) === key(b);
}

/**
 * The timeline after one more snapshot. Pure: same inputs, same output.
 *
 * @example
 * ```ts
 * let timeline: Timeline = { rebalances: [] };
 * for (const snapshot of snapshots) timeline = nextTimeline(timeline, snapshot, "order-events");
 * timeline.rebalances.length;
 * ```
 */
export function nextTimeline(
  timeline: Timeline,
  snapshot: GroupSnapshot,
  topic?: string,
): Timeline {
  if (!SETTLED.has(snapshot.state)) {
    return {
      ...timeline,
      openSince: timeline.openSince ?? snapshot.at,
      previous: snapshot,
    };
  }
  const before = timeline.settled;
  if (!before && timeline.openSince !== undefined) {
    const rebalance: Rebalance = {
      startedAt: timeline.openSince,
      endedAt: snapshot.at,
      durationMs: snapshot.at - timeline.openSince,
      joined: [],
      departed: [],
      stateAfter: snapshot.state,
      assignment: assignmentOf(snapshot, topic),
      underWayAtStart: true,
    };
    return {
      rebalances: [...timeline.rebalances, rebalance],
      settled: snapshot,
      previous: snapshot,
    };
  }
  if (!before || (timeline.openSince === undefined && sameMembers(before, snapshot))) {
    return { rebalances: timeline.rebalances, settled: snapshot, previous: snapshot };
  }
  const startedAt = timeline.openSince ?? timeline.previous?.at ?? snapshot.at;
  const oldIds = new Set(before.members.map(identity));
  const newIds = new Set(snapshot.members.map(identity));
  const rebalance: Rebalance = {
    startedAt,
    endedAt: snapshot.at,
    durationMs: timeline.openSince === undefined ? 0 : snapshot.at - startedAt,
    joined: snapshot.members.filter((m) => !oldIds.has(identity(m))).map((m) => m.clientId),
    departed: before.members
      .filter((m) => !newIds.has(identity(m)))
      .map((m) => ({ memberId: m.memberId, clientId: m.clientId })),
    stateAfter: snapshot.state,
    assignment: assignmentOf(snapshot, topic),
  };
  return { rebalances: [...timeline.rebalances, rebalance], settled: snapshot, previous: snapshot };
}

/** How a member went away, when the broker's log says. */
export type Departure = "left" | "timed out";

/**
 * Reads from a Kafka broker log how members of `groupId` went away: an
 * explicit LeaveGroup ("left") or a session that expired ("timed out").
 *
 * @example
 * ```ts
 * departuresFromBrokerLog(await readTextFile(".lab/broker/broker.log"), "billing-group");
 * ```
 */
export function departuresFromBrokerLog(log: string, groupId: string): Map<string, Departure> {
  const departures = new Map<string, Departure>();
  const group = groupId.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
  const left = new RegExp(
    `\\[Group ${group}\\] Member (\\S+) has left group through explicit`,
    "g",
  );
  const failed = new RegExp(`Member (\\S+) in group ${group} has failed, removing it`, "g");
  for (const m of log.matchAll(left)) departures.set(m[1], "left");
  for (const m of log.matchAll(failed)) departures.set(m[1], "timed out");
  return departures;
}

/**
 * Why a rebalance happened, in words.
 *
 * @example
 * ```ts
 * rebalanceReason(rebalance, new Map()); // "consumer-4 joined"
 * ```
 */
export function rebalanceReason(rebalance: Rebalance, departures: Map<string, Departure>): string {
  const reasons = [
    ...rebalance.joined.map((c) => `${c} joined`),
    ...rebalance.departed.map((d) => {
      const how = departures.get(d.memberId);
      return `${d.clientId} ${
        how === "left"
          ? "left (LeaveGroup)"
          : how === "timed out"
          ? "timed out (no heartbeat within the session timeout)"
          : "left or timed out"
      }`;
    }),
  ];
  if (rebalance.underWayAtStart) return "already under way when watching began";
  return reasons.join("; ") || "assignment changed";
}

const clock = (ms: number) => new Date(ms).toISOString().slice(11, 23);

/**
 * The timeline as a table: STARTED ENDED TOOK WHY ASSIGNMENT-AFTER.
 *
 * @example
 * ```ts
 * console.log(String(timelineTable(timeline.rebalances, new Map())));
 * ```
 */
export function timelineTable(rebalances: Rebalance[], departures: Map<string, Departure>): Table {
  return new Table(
    ["STARTED", "ENDED", "TOOK", "WHY", "ASSIGNMENT-AFTER"],
    rebalances.map((r) => [
      clock(r.startedAt),
      clock(r.endedAt),
      r.durationMs === 0 ? "< 1 poll" : `${(r.durationMs / 1000).toFixed(2)} s`,
      rebalanceReason(r, departures),
      r.stateAfter === "Empty" ? "(no members)" : r.assignment
        .map((a) => `${a.member}: ${a.partitions.length ? a.partitions.join(",") : "idle"}`)
        .join("  "),
    ]),
    "REBALANCE TIMELINE",
  );
}

/** Options for {@linkcode GroupWatch}. */
export interface WatchOptions {
  groupId: string;
  /** The topic for the diagram (default: the first the group reads). */
  topic?: string;
  /** A Kafka broker log to read departures from (the lab's own broker's). */
  brokerLog?: string;
  /** Samples kept per partition for the lag status (default 10). */
  window?: number;
}

/**
 * Watches one group through an admin client: call {@linkcode poll} as often
 * as you like, read {@linkcode timeline}, render {@linkcode frame}.
 *
 * @example
 * ```ts
 * const watch = new GroupWatch(admin, { groupId: "billing-group" });
 * await watch.poll();
 * console.log(await watch.frame());
 * ```
 */
export class GroupWatch {
  timeline: Timeline = { rebalances: [] };
  readonly tracker: LagTracker;
  #departures = new Map<string, Departure>();
  /** How far the broker log has been read. */
  #logOffset: number | undefined;
  #partitionCounts = new Map<string, number>();

  constructor(readonly admin: Admin, readonly options: WatchOptions) {
    this.tracker = new LagTracker(options.window ?? 10);
  }

  /** The last snapshot taken. */
  get latest(): GroupSnapshot | undefined {
    return this.timeline.previous;
  }

  /** Takes a snapshot and updates the timeline and the lag windows. */
  async poll(): Promise<GroupSnapshot> {
    const snapshot = await snapshotGroup(this.admin, this.options.groupId);
    this.timeline = nextTimeline(this.timeline, snapshot, this.#topic(snapshot));
    trackSnapshot(this.tracker, snapshot);
    if (this.options.brokerLog) await this.#readDepartures();
    return snapshot;
  }

  /** How each member that went away did so, as far as is known. */
  get departures(): Map<string, Departure> {
    return this.#departures;
  }

  /**
   * Reads what the broker log gained since the last poll (the last 512 KiB
   * the first time), up to its last complete line.
   */
  async #readDepartures() {
    try {
      const { bytes, from } = await readFileFrom(
        this.options.brokerLog!,
        (size) =>
          this.#logOffset === undefined || this.#logOffset > size
            ? size - 512 * 1024
            : this.#logOffset,
      );
      const complete = bytes.subarray(0, bytes.lastIndexOf(10) + 1);
      this.#logOffset = from + complete.length;
      const text = new TextDecoder().decode(complete);
      for (const [id, how] of departuresFromBrokerLog(text, this.options.groupId)) {
        this.#departures.set(id, how);
      }
    } catch {
      // no log at hand: departures stay "left or timed out"
    }
  }

  #topic(snapshot: GroupSnapshot): string | undefined {
    return this.options.topic ?? snapshot.partitions[0]?.topic ??
      Object.keys(snapshot.members[0]?.assignment ?? {})[0];
  }

  /** The current view as text: header, diagram, offsets with status, timeline. */
  async frame(): Promise<string> {
    const snapshot = this.latest;
    if (!snapshot) return "(no snapshot yet)";
    const topic = this.#topic(snapshot);
    const parts = [
      `Group ${snapshot.groupId}: ${snapshot.state}, ${snapshot.members.length} member(s), ` +
      `protocol ${snapshot.protocol || "-"} at ${clock(snapshot.at)} UTC`,
    ];
    if (topic) {
      if (!this.#partitionCounts.has(topic)) {
        this.#partitionCounts.set(topic, (await partitionCount(this.admin, topic)) ?? 0);
      }
      parts.push(String(snapshotDiagram(snapshot, topic, this.#partitionCounts.get(topic)!)));
    }
    parts.push(String(offsetsTable([snapshot], this.tracker)));
    parts.push(
      this.timeline.rebalances.length === 0
        ? "REBALANCE TIMELINE\n(no rebalance seen yet)"
        : String(timelineTable(this.timeline.rebalances.slice(-10), this.#departures)),
    );
    return parts.join("\n\n");
  }
}

/**
 * Polls `watch` every `intervalMs` until `signal` aborts, calling `onPoll`
 * after each snapshot. Polling errors (a broker restart) are passed to
 * `onError` and polling goes on.
 *
 * @example
 * ```ts
 * const stop = new AbortController();
 * const done = runWatch(watch, 500, stop.signal, async () => console.log(await watch.frame()));
 * ```
 */
export async function runWatch(
  watch: GroupWatch,
  intervalMs: number,
  signal: AbortSignal,
  onPoll: () => Promise<void> | void,
  onError: (error: unknown) => void = () => {},
): Promise<void> {
  while (!signal.aborted) {
    try {
      await watch.poll();
      await onPoll();
    } catch (error) {
      onError(error);
    }
    await sleep(intervalMs, signal);
  }
}
