/**
 * Hands-on exercises, checked on the live broker. Each exercise states a goal
 * the learner reaches with the scripts in real terminals; its check looks at
 * what Kafka itself reports (the admin API, the broker's coordinator log) and
 * at the members' own run logs, and says what is right, what is missing,
 * and one hint.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import {
  allPartitionsOwned,
  groupApisFor,
  type GroupSnapshot,
  snapshotGroup,
} from "../inspect/groups.ts";
import { OFFSETS_TOPIC } from "../kafka/cluster.ts";
import type { Coordinator } from "../kafka/groupapis.ts";
import { clientIdFor } from "../kafka/member.ts";
import { messagesOf, readGroupRuns } from "../processes/runlog.ts";
import { Table } from "../platform/render.ts";
import { mkdirp, projectPath, readTextFile, writeTextFile } from "../platform/runtime.ts";

/** The names an exercise checks; tests use their own, learners the defaults. */
export interface ExerciseContext {
  admin: Admin;
  topic: string;
  partitions: number;
  groups: { billing: string; inventory: string; notification: string; share: string };
  /** The broker's log, for what only the coordinator knows (a member that timed out). */
  brokerLog?: string;
  /** The learner's answer (`--answer`), for exercises that ask a question. */
  answer?: string;
  /**
   * Where a check keeps what it saw for its next run, for exercises that
   * compare before and after (default `.lab/checks`).
   */
  notesDir?: string;
}

/** One thing an exercise checks. */
export interface Criterion {
  ok: boolean;
  text: string;
}

/** A check's outcome: each criterion, the state observed, and a hint when it fails. */
export interface CheckResult {
  passed: boolean;
  criteria: Criterion[];
  observed: Table;
  hint?: string;
}

/** An exercise: what to do, and how it is checked. */
export interface Exercise {
  id: string;
  lesson: number;
  title: string;
  goal: string;
  /** Commands that get there. */
  how: string[];
  check(ctx: ExerciseContext): Promise<CheckResult>;
}

function result(criteria: Criterion[], observed: Table, hint: string): CheckResult {
  const passed = criteria.every((c) => c.ok);
  return { passed, criteria, observed, hint: passed ? undefined : hint };
}

function membersTable(snapshot: GroupSnapshot, topic: string): Table {
  return new Table(
    ["GROUP", "STATE", "CLIENT-ID", "PARTITIONS"],
    snapshot.members.length === 0
      ? [[snapshot.groupId, snapshot.state, null, null]]
      : snapshot.members.map((m) => [
        snapshot.groupId,
        snapshot.state,
        m.clientId,
        (m.assignment[topic] ?? []).join(", ") || "none (idle)",
      ]),
  );
}

function lagTable(snapshots: GroupSnapshot[]): Table {
  return new Table(
    ["GROUP", "PARTITION", "CURRENT-OFFSET", "LOG-END-OFFSET", "LAG"],
    snapshots.flatMap((s) =>
      s.partitions.length === 0
        ? [[s.groupId, null, null, null, null]]
        : s.partitions.map((p) => [s.groupId, p.partition, p.currentOffset, p.logEndOffset, p.lag])
    ),
  );
}

const owns = (snapshot: GroupSnapshot, topic: string) =>
  snapshot.members.map((m) => (m.assignment[topic] ?? []).length);

/** What `kill-the-coordinator` notes before the kill: the coordinator, and the commits then. */
interface CoordinatorNote {
  coordinator: Coordinator;
  /** Committed offset by partition of the topic. */
  commits: Record<string, number>;
  at: number;
}

const address = (c: Coordinator) => `${c.host}:${c.port}`;

/** The group's coordinator now, or undefined while it has none (a new one is being elected). */
async function coordinatorNow(admin: Admin, groupId: string): Promise<Coordinator | undefined> {
  try {
    return await (await groupApisFor(admin)).findCoordinator(groupId);
  } catch {
    return undefined;
  }
}

/** The committed offset of each partition of `topic` in a snapshot, by partition. */
function commitsOf(snapshot: GroupSnapshot, topic: string): Record<string, number> {
  return Object.fromEntries(
    snapshot.partitions
      .filter((p) => p.topic === topic && p.currentOffset !== null)
      .map((p) => [String(p.partition), p.currentOffset!]),
  );
}

async function readLog(path?: string): Promise<string> {
  if (!path) return "";
  try {
    return await readTextFile(path);
  } catch {
    return "";
  }
}

/** The exercises, in lesson order. */
export const EXERCISES: Exercise[] = [
  {
    id: "three-members",
    lesson: 1,
    title: "Run three members of billing-group",
    goal: "billing-group has exactly 3 members and each owns one partition of order-events.",
    how: ["deno task consumer1", "deno task consumer2", "deno task consumer3"],
    async check(ctx) {
      const s = await snapshotGroup(ctx.admin, ctx.groups.billing);
      const counts = owns(s, ctx.topic);
      return result(
        [
          { ok: s.members.length === 3, text: `3 members (found ${s.members.length})` },
          { ok: s.state === "Stable", text: `the group is Stable (it is ${s.state})` },
          {
            ok: counts.length === 3 && counts.every((c) => c === 1),
            text: "each member owns exactly one partition",
          },
        ],
        membersTable(s, ctx.topic),
        s.members.length < 3
          ? `Start ${3 - s.members.length} more: deno task consumer${
            s.members.length + 1
          } in another terminal.`
          : s.members.length > 3
          ? `Stop ${s.members.length - 3} of them with Ctrl+C.`
          : "Wait a second for the rebalance to finish, then check again.",
      );
    },
  },
  {
    id: "every-group-every-order",
    lesson: 2,
    title: "Make inventory, billing and notification each read every order",
    goal: "inventory-group, billing-group and notification-group have all committed every " +
      "partition of order-events, with zero lag.",
    how: [
      "deno task inventory",
      "deno task billing",
      "deno task notification",
      "deno task producer",
    ],
    async check(ctx) {
      const groups = [ctx.groups.inventory, ctx.groups.billing, ctx.groups.notification];
      const snapshots = await Promise.all(
        groups.map((g) => snapshotGroup(ctx.admin, g, [ctx.topic])),
      );
      const behind = snapshots.filter((s) =>
        s.partitions.length !== ctx.partitions ||
        s.partitions.some((p) => p.currentOffset === null || p.lag !== 0)
      );
      return result(
        snapshots.map((s) => ({
          ok: !behind.includes(s),
          text: `${s.groupId} has read every order (lag 0 on all ${ctx.partitions} partitions)`,
        })),
        lagTable(snapshots),
        behind.length > 0
          ? `${behind[0].groupId} is behind: start it (deno task ${
            behind[0].groupId.replace(/-group$/, "").replace(/-.*$/, "")
          }) and let it catch up.`
          : "",
      );
    },
  },
  {
    id: "find-the-idle",
    lesson: 3,
    title: "Add a fourth member and find the idle one",
    goal: "billing-group has 4 members, one owns no partition, and you name it with --answer.",
    how: [
      "deno task consumer1 ... deno task consumer4 (four terminals)",
      "deno task describe --group billing-group --members",
      'deno task check find-the-idle --answer "Consumer 4"   (the idle one\'s name or client id)',
    ],
    async check(ctx) {
      const s = await snapshotGroup(ctx.admin, ctx.groups.billing);
      const idle = s.members.filter((m) => (m.assignment[ctx.topic] ?? []).length === 0);
      const answer = ctx.answer === undefined ? undefined : clientIdFor(ctx.answer);
      return result(
        [
          { ok: s.members.length === 4, text: `4 members (found ${s.members.length})` },
          {
            ok: idle.length === 1,
            text: `exactly one member owns no partition (found ${idle.length})`,
          },
          {
            ok: idle.length === 1 && answer === idle[0].clientId,
            text: ctx.answer === undefined
              ? "you named the idle member (--answer)"
              : `'${ctx.answer}' is the idle member`,
          },
        ],
        membersTable(s, ctx.topic),
        s.members.length !== 4
          ? "Run four members: deno task consumer1 to consumer4."
          : ctx.answer === undefined
          ? 'Name the idle member: --answer "Consumer N" (describe --members shows #PARTITIONS).'
          : "Look again: deno task describe --group billing-group --members; the idle one has 0 partitions.",
      );
    },
  },
  {
    id: "kill-and-move",
    lesson: 4,
    title: "Kill a member and show its partitions moved",
    goal: "A member of billing-group was killed (kill -9), the group noticed (session timeout), " +
      "and the remaining members own every partition.",
    how: [
      "deno task consumer1, consumer2, consumer3 (three terminals)",
      'kill -9 $(pgrep -f "name Consumer 2")',
      "wait ~10 s (the session timeout), then: deno task check kill-and-move",
    ],
    async check(ctx) {
      const s = await snapshotGroup(ctx.admin, ctx.groups.billing);
      const log = await readLog(ctx.brokerLog);
      const group = ctx.groups.billing.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
      // The coordinator's own words when it evicts a silent member and rebalances.
      const evictions = [...log.matchAll(
        new RegExp(
          `rebalance group ${group} in state \\S+ with old generation (\\d+) ` +
            `\\(reason: removing member (\\S+) on heartbeat expiration`,
          "g",
        ),
      )].map((m) => ({ generation: Number(m[1]), memberId: m[2] }));
      const last = evictions.at(-1);
      const gone = last !== undefined && !s.members.some((m) => m.memberId === last.memberId);
      const owned = new Set(s.members.flatMap((m) => m.assignment[ctx.topic] ?? []));
      return result(
        [
          {
            ok: last !== undefined,
            text: last
              ? `the coordinator evicted ${last.memberId} (no heartbeat) and rebalanced: ` +
                `generation ${last.generation} -> ${last.generation + 1}`
              : "a killed member was evicted (nothing in the broker's log yet)",
          },
          { ok: gone, text: "the killed member is no longer in the group" },
          {
            ok: s.members.length > 0 && owned.size === ctx.partitions && s.state === "Stable",
            text:
              `the remaining members own all ${ctx.partitions} partitions (${owned.size} owned, ${s.state})`,
          },
        ],
        membersTable(s, ctx.topic),
        last === undefined
          ? "Kill a member with kill -9 (Ctrl+C leaves cleanly, which is not a crash), then wait ~10 s."
          : "Keep at least one member running so it can take the partitions over.",
      );
    },
  },
  {
    id: "replay-last-5",
    lesson: 5,
    title: "Replay the last 5 orders for billing only",
    goal: "billing-group's committed offsets are 5 behind the end of every partition of " +
      "order-events; inventory-group and notification-group are untouched and caught up.",
    how: [
      "stop every billing member (Ctrl+C), then:",
      "deno task reset-offsets --group billing-group --topic order-events --shift-by -5 --execute",
    ],
    async check(ctx) {
      const [billing, ...others] = await Promise.all(
        [ctx.groups.billing, ctx.groups.inventory, ctx.groups.notification]
          .map((g) => snapshotGroup(ctx.admin, g, [ctx.topic])),
      );
      const fiveBack = billing.partitions.length === ctx.partitions &&
        billing.partitions.every((p) =>
          p.currentOffset !== null && p.currentOffset === Math.max(0, p.logEndOffset - 5)
        );
      return result(
        [
          { ok: fiveBack, text: `${billing.groupId} is 5 behind on every partition` },
          ...others.map((s) => ({
            ok: s.partitions.length === ctx.partitions && s.partitions.every((p) => p.lag === 0),
            text: `${s.groupId} is unchanged (caught up)`,
          })),
        ],
        lagTable([billing, ...others]),
        !fiveBack
          ? "Stop billing's members, then: deno task reset-offsets --group billing-group --shift-by -5 --execute"
          : "Let the other groups catch up (deno task inventory / notification), and reset only billing-group.",
      );
    },
  },
  {
    id: "duplicate-on-purpose",
    lesson: 5,
    title: "Produce a duplicate on purpose",
    goal: "A member of billing-group crashed after processing but before committing, and " +
      "another run processed the same message again (seen in the members' run logs).",
    how: [
      'deno task consumer --group billing-group --name "Crashy" --crash-after 3',
      "deno task producer",
      "deno task consumer1   (it gets the uncommitted messages again)",
    ],
    async check(ctx) {
      const runs = await readGroupRuns(ctx.groups.billing);
      const seen = new Map<string, string[]>();
      runs.forEach((run, i) => {
        for (const m of messagesOf(run.events).filter((m) => m.topic === ctx.topic)) {
          const key = `${m.partition}@${m.offset}`;
          seen.set(key, [...(seen.get(key) ?? []), `${m.member} (run ${i + 1})`]);
        }
      });
      const twice = [...seen].filter(([, by]) => by.length > 1);
      return result(
        [
          {
            ok: runs.length >= 2,
            text: `at least two member runs recorded (found ${runs.length})`,
          },
          { ok: twice.length > 0, text: `a message was processed twice (found ${twice.length})` },
        ],
        new Table(
          ["PARTITION@OFFSET", "PROCESSED BY"],
          twice.slice(0, 10).map(([key, by]) => [key, by.join(", then ")]),
        ),
        "Start a member with --crash-after 3, produce orders, then start another member of billing-group.",
      );
    },
  },
  {
    id: "new-protocol",
    lesson: 7,
    title: "Run billing-group on the new consumer protocol",
    goal: "billing-group is a consumer-protocol (KIP-848) group of 3 members, all on the new " +
      "protocol, each owning one partition of order-events (assigned by the broker).",
    how: [
      'deno task consumer-protocol --name "Consumer 1"',
      'deno task consumer-protocol --name "Consumer 2"',
      'deno task consumer-protocol --name "Consumer 3"',
    ],
    async check(ctx) {
      const s = await snapshotGroup(ctx.admin, ctx.groups.billing);
      const counts = owns(s, ctx.topic);
      const classic = s.members.filter((m) => m.upgraded !== true);
      return result(
        [
          {
            ok: s.type === "consumer",
            text: `a consumer-protocol group (it is ${s.type ?? "classic"})`,
          },
          { ok: s.members.length === 3, text: `3 members (found ${s.members.length})` },
          {
            ok: classic.length === 0,
            text: `no classic member (found ${classic.length})`,
          },
          {
            ok: counts.length === 3 && counts.every((c) => c === 1),
            text: "each member owns exactly one partition",
          },
        ],
        membersTable(s, ctx.topic),
        classic.length > 0
          ? `Stop the kafkajs members (${
            classic.map((m) => m.clientId).join(", ")
          }) with Ctrl+C: ` +
            "start members with deno task consumer-protocol instead."
          : s.members.length < 3
          ? `Start ${3 - s.members.length} more: deno task consumer-protocol --name ` +
            `"Consumer ${s.members.length + 1}" in another terminal.`
          : s.members.length > 3
          ? `Stop ${s.members.length - 3} of them with Ctrl+C.`
          : "Wait a second for the broker to finish moving partitions, then check again.",
      );
    },
  },
  {
    id: "share-not-idle",
    lesson: 8,
    title: "Run four share members of billing-share-group, none idle",
    goal: "billing-share-group is a share group with at least 4 members on the 3 partitions of " +
      "order-events, and every member has partitions to read (a classic group's 4th is idle).",
    how: [
      'deno task share-consumer --group billing-share-group --name "Share 1"',
      '... "Share 4", one terminal each',
    ],
    async check(ctx) {
      const s = await snapshotGroup(ctx.admin, ctx.groups.share);
      const counts = s.members.map((m) => (m.assignment[ctx.topic] ?? []).length);
      const isShare = s.type === "share";
      return result(
        [
          { ok: isShare, text: `${ctx.groups.share} is a share group (it is ${s.type})` },
          {
            ok: s.members.length > ctx.partitions,
            text: `more members than partitions: ${
              ctx.partitions + 1
            }+ (found ${s.members.length})`,
          },
          {
            ok: counts.length > 0 && counts.every((c) => c > 0),
            text: "every member has partitions to read",
          },
        ],
        membersTable(s, ctx.topic),
        !isShare && s.members.length > 0
          ? `${ctx.groups.share} is a ${s.type} group: its members are kafkajs consumers; stop ` +
            "them and start share members with deno task share-consumer."
          : s.members.length <= ctx.partitions
          ? `Start ${ctx.partitions + 1 - s.members.length} more: deno task share-consumer ` +
            `--group ${ctx.groups.share} --name "Share ${s.members.length + 1}".`
          : "Wait for the next heartbeat (5 s): a new share member gets its partitions then.",
      );
    },
  },
  {
    id: "kill-the-coordinator",
    lesson: 9,
    title: "Kill the coordinator of billing-group",
    goal:
      "On the 3-node cluster, billing-group's coordinator was killed (kill -9): the group has " +
      "a new coordinator, its members found it and consume again, and no committed offset went " +
      "back (compared with what the check noted before the kill).",
    how: [
      "deno task broker start --nodes 3",
      "deno task consumer1, consumer2, consumer3 (three terminals)",
      "deno task check kill-the-coordinator   (notes the coordinator and the commits)",
      "kill -9 <pid of the coordinator's node>   (deno task broker status --nodes 3)",
      "deno task producer",
    ],
    async check(ctx) {
      const group = ctx.groups.billing;
      const noteFile = `${ctx.notesDir ?? projectPath(".lab/checks")}/kill-the-coordinator-${
        group.replace(/[^A-Za-z0-9._-]/g, "_")
      }.json`;
      const { topics } = await ctx.admin.fetchTopicMetadata({ topics: [OFFSETS_TOPIC] });
      const copies = topics[0]?.partitions[0]?.replicas.length ?? 0;
      const now = await coordinatorNow(ctx.admin, group);
      const s = await snapshotGroup(ctx.admin, group, [ctx.topic]);
      let note: CoordinatorNote | undefined = await readTextFile(noteFile)
        .then((text) => JSON.parse(text), () => undefined);
      if (now && s.members.length > 0 && (!note || note.coordinator.nodeId === now.nodeId)) {
        // Not moved (yet): note the coordinator, and the commits as they are now.
        note = { coordinator: now, commits: commitsOf(s, ctx.topic), at: Date.now() };
        await mkdirp(noteFile.slice(0, noteFile.lastIndexOf("/")));
        await writeTextFile(noteFile, JSON.stringify(note));
      }
      const moved = note !== undefined && now !== undefined &&
        now.nodeId !== note.coordinator.nodeId;
      // The members' own word: their group requests left the noted coordinator for another.
      const runs = await readGroupRuns(group);
      const found = runs.flatMap((run) => {
        const i = run.events.findIndex((e) =>
          e.type === "coordinator" && note !== undefined &&
          e.previous === address(note.coordinator)
        );
        if (i < 0) return [];
        const after = run.events.slice(i);
        const assigned = after.some((e) => e.type === "assigned");
        return [{ member: run.events[i].member, assigned, orders: messagesOf(after).length }];
      });
      const consuming = found.filter((f) => f.assigned && f.orders > 0);
      const commits = commitsOf(s, ctx.topic);
      const wentBack = Object.entries(note?.commits ?? {})
        .filter(([p, was]) => commits[p] === undefined || commits[p] < was)
        .map(([p, was]) => `partition ${p}: ${was} -> ${commits[p] ?? "none"}`);
      const settled = allPartitionsOwned(s, ctx.topic, ctx.partitions);
      return result(
        [
          {
            ok: copies >= 3,
            text: `the group's offsets are replicated (${OFFSETS_TOPIC} has ${copies} cop${
              copies === 1 ? "y" : "ies"
            } of each partition; the cluster's 3)`,
          },
          {
            ok: note !== undefined,
            text: note
              ? `the coordinator before the kill was noted: node ${note.coordinator.nodeId} ` +
                `(${address(note.coordinator)}) at ${new Date(note.at).toISOString().slice(11, 19)}`
              : "the coordinator before the kill was noted (run this check before killing it)",
          },
          {
            ok: moved,
            text: moved && now && note
              ? `${group} has a new coordinator: node ${now.nodeId} (${address(now)}), not ` +
                `node ${note.coordinator.nodeId}`
              : `${group} has a new coordinator (${
                now
                  ? `it is node ${now.nodeId}${note ? ", the one noted" : ""}`
                  : "none answers yet"
              })`,
          },
          {
            ok: moved && consuming.length > 0 && settled,
            text: `its members found it and consume again (${
              consuming.map((f) => `${f.member}: ${f.orders} orders since`).join(", ") || "none yet"
            }; the group is ${s.state}${settled ? ", every partition owned" : ""})`,
          },
          {
            ok: moved && wentBack.length === 0,
            text: `no committed offset went back since the note${
              wentBack.length ? ` (${wentBack.join(", ")})` : ""
            }`,
          },
        ],
        new Table(
          ["PARTITION", "COMMITTED AT THE NOTE", "COMMITTED NOW", "OWNER NOW"],
          Array.from({ length: ctx.partitions }, (_, p) => [
            p,
            note?.commits[String(p)] ?? null,
            commits[String(p)] ?? null,
            s.members.find((m) => (m.assignment[ctx.topic] ?? []).includes(p))?.clientId ?? null,
          ]),
        ),
        copies < 3
          ? "Run it on the cluster: deno task broker start --nodes 3, then the members."
          : s.members.length === 0
          ? "Start three members on the cluster: deno task consumer1, consumer2, consumer3."
          : !now
          ? "No coordinator answers yet: the cluster elects a new one about 10 s after a kill; " +
            "check again (--watch)."
          : !moved
          ? `Noted. Now kill the coordinator's node: node ${now.nodeId} (${address(now)}); ` +
            "deno task broker status --nodes 3 shows its pid: kill -9 <pid>."
          : wentBack.length > 0
          ? "A committed offset went back: was the group reset (reset-offsets) after the kill?"
          : "Produce some orders (deno task producer): the members consume again once they have " +
            "rejoined the new coordinator (about 20 s after the kill).",
      );
    },
  },
];

/**
 * Finds an exercise by id.
 *
 * @example
 * ```ts
 * exerciseById("three-members")?.title; // "Run three members of billing-group"
 * ```
 */
export function exerciseById(id: string): Exercise | undefined {
  return EXERCISES.find((e) => e.id === id);
}

/**
 * The checker's report: one PASS/FAIL line, each criterion, the observed
 * state, and the hint when it fails.
 *
 * @example
 * ```ts
 * console.log(formatResult(exercise, await exercise.check(ctx)));
 * ```
 */
export function formatResult(exercise: Exercise, outcome: CheckResult): string {
  return [
    `${outcome.passed ? "PASS" : "FAIL"} ${exercise.id}: ${exercise.title}`,
    ...outcome.criteria.map((c) => `  [${c.ok ? "x" : " "}] ${c.text}`),
    "",
    String(outcome.observed),
    ...(outcome.hint ? ["", `Hint: ${outcome.hint}`] : []),
  ].join("\n");
}
