/**
 * The rebalance protocols side by side (`deno task bench protocols`): one
 * broker, one load (3 partitions, orders produced steadily, simulated work
 * per message), and the same events for each kind of group: two members
 * process, a third joins, later the first leaves; or, for static members, one
 * restarts. For each event: how long the rebalance took, and how long the
 * partitions stopped being processed, those that stayed with their member
 * and those that moved.
 *
 * Members are real processes (the lab's kafkajs member, the
 * `@platformatic/kafka` consumer-protocol member, `java/Consumer.java`), and
 * their lines are stamped as they arrive here: every member prints a message's
 * line once its work is done, and flushes it at once (Deno writes stdout
 * unbuffered, Java's `System.out` flushes at each line), so a gap between two
 * lines of a partition is a gap in its processing.
 *
 * @module
 */
import type { Producer } from "kafkajs";
import { createKafka } from "../lib/kafka/config.ts";
import { ensureTopic } from "../lib/kafka/topic.ts";
import { alterGroupConfig } from "../lib/kafka/groupconfig.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
import { spawnMember } from "../lib/processes/spawn.ts";
import { parseMemberLine, TWINS } from "../lib/processes/polyglot.ts";
import { sleep, until } from "../lib/platform/wait.ts";
import {
  listFiles,
  mkdirp,
  projectPath,
  readTextFile,
  runCommand,
  writeTextFile,
} from "../lib/platform/runtime.ts";
import { brokerPaths, findJava } from "../lib/kafka/broker.ts";
import { barChart, type BenchContext, spread } from "./bench.ts";

/** One member line, stamped when it arrived (ms since the epoch). */
export interface StampedLine {
  at: number;
  line: string;
}

/** What a bench member needs: its name, and a way to stop it. */
interface BenchMember {
  name: string;
  /** SIGTERM: a dynamic member leaves (LeaveGroup), a static one closes and keeps its place. */
  stop(): Promise<number>;
  kill(): Promise<number>;
}

/** How to start the members of one case. */
interface MemberKind {
  start(options: {
    brokers: string[];
    groupId: string;
    topic: string;
    name: string;
    instanceId?: string;
    onLine: (line: string) => void;
  }): Promise<BenchMember>;
}

/** Simulated work per message (ms). */
export const PROCESS_MS = 5;
/** Orders produced per second, spread evenly over the 3 partitions. */
export const RATE = 200;
const PARTITIONS = [0, 1, 2];
/** How long the group runs before an event, and after it settles (ms). */
const STEADY_MS = 4_000;
/**
 * The window before an event whose longest gap is the normal one: shorter
 * than {@linkcode STEADY_MS}, so it leaves out the previous event's catch-up.
 */
const NORMAL_MS = 2_000;

/** The lab's kafkajs member (`scripts/consumer.ts`), or the consumer-protocol one. */
function labKind(protocol: "classic" | "consumer"): MemberKind {
  return {
    start({ brokers, groupId, topic, name, onLine }) {
      const started = spawnMember({
        groupId,
        name,
        brokers,
        topic,
        protocol,
        processMs: PROCESS_MS,
        onLine,
      });
      // Not awaited: spawnMember resolves once assigned, and the bench watches the lines for that.
      started.catch(() => {});
      return Promise.resolve({
        name,
        stop: async () => await (await started).stop(),
        kill: async () => await (await started).kill(),
      });
    },
  };
}

/** `java/Consumer.java` with a group protocol and an assignor. */
function javaKind(groupProtocol: "classic" | "consumer", assignor?: string): MemberKind {
  return {
    start: ({ brokers, groupId, topic, name, instanceId, onLine }) =>
      TWINS.java.spawn({
        groupId,
        name,
        brokers,
        topic,
        groupProtocol,
        assignor,
        instanceId,
        processMs: PROCESS_MS,
        onLine,
      }),
  };
}

/** One case of the comparison. */
export interface ProtocolCase {
  label: string;
  kind: MemberKind;
  /** join-then-leave, or a static member's restart. */
  scenario: "join-leave" | "static-restart";
  /** Group configs set before the members start (`kafka-configs.sh --entity-type groups`). */
  groupConfig?: Record<string, number>;
}

/** The cases, in the order of the table. */
export const PROTOCOL_CASES: ProtocolCase[] = [
  {
    label: "classic, eager (kafkajs, the lab's member)",
    kind: labKind("classic"),
    scenario: "join-leave",
  },
  {
    label: "classic, eager (Java, range)",
    kind: javaKind("classic", "range"),
    scenario: "join-leave",
  },
  {
    label: "classic, cooperative-sticky (Java)",
    kind: javaKind("classic", "cooperative-sticky"),
    scenario: "join-leave",
  },
  {
    label: "consumer protocol, uniform (Java)",
    kind: javaKind("consumer"),
    scenario: "join-leave",
  },
  {
    // The lab's broker sets 0.5 s (LAB_TIMING): what the consumer protocol costs with Kafka's 5 s.
    label: "consumer protocol, uniform (Java), Kafka's default 5 s heartbeat",
    kind: javaKind("consumer"),
    scenario: "join-leave",
    groupConfig: { "consumer.heartbeat.interval.ms": 5_000 },
  },
  {
    label: "consumer protocol, uniform (@platformatic/kafka)",
    kind: labKind("consumer"),
    scenario: "join-leave",
  },
  {
    label: "classic, static members, one restarts (Java, range)",
    kind: javaKind("classic", "range"),
    scenario: "static-restart",
  },
];

/** What one event (a join, a leave, a restart) did to the group, in one trial. */
export interface EventMeasure {
  /** From the event's start to the last new assignment line (ms). */
  durationMs: number;
  /** The longest processing gap of any partition that kept its member (ms), if any stayed. */
  stayedPauseMs?: number;
  /** The longest processing gap of any partition that moved (ms), if any moved. */
  movedPauseMs?: number;
  /** The longest gap of any partition in the 2 s before the event's cause: the noise floor (ms). */
  normalGapMs: number;
  /** Partitions that moved to another member (static restart: the restarted member's). */
  moved: number[];
}

/** Who owns each partition according to the last assignment line of each member in `names`. */
export function owners(
  lines: StampedLine[],
  names: string[],
  before = Infinity,
): Map<number, string> {
  const latest = new Map<string, number[]>();
  for (const { at, line } of lines) {
    if (at > before) break;
    const parsed = parseMemberLine(line);
    if (parsed?.type === "assigned" && names.includes(parsed.member)) {
      latest.set(parsed.member, parsed.partitions);
    }
  }
  const owned = new Map<number, string>();
  for (const [member, partitions] of latest) for (const p of partitions) owned.set(p, member);
  return owned;
}

/**
 * True when the last assignment lines of `names` split every partition among
 * them, each owning at least one, none owned twice, and `fresh` (a joiner, a
 * restarted member) printed its line at or after `since`: the group has
 * settled. A member whose partitions did not change may print nothing.
 *
 * @example
 * ```ts
 * settled([{ at: 1, line: "A assigned: partitions 0, 1" }, { at: 2, line: "B assigned: partition 2" }],
 *   ["A", "B"], 2, "B"); // true
 * ```
 */
export function settled(
  lines: StampedLine[],
  names: string[],
  since: number,
  fresh?: string,
): boolean {
  const latest = new Map<string, number[]>();
  for (const { at, line } of lines) {
    const parsed = parseMemberLine(line);
    if (parsed?.type === "assigned" && names.includes(parsed.member)) {
      latest.set(parsed.member, parsed.member === fresh && at < since ? [] : parsed.partitions);
    }
  }
  const all = names.flatMap((n) => latest.get(n) ?? []);
  return names.every((n) => (latest.get(n)?.length ?? 0) > 0) &&
    all.length === PARTITIONS.length && PARTITIONS.every((p) => all.includes(p));
}

/**
 * The longest time partition `partition` went without a processed message,
 * among the gaps between two of its messages that overlap `from`..`to`; a
 * partition with no message after `from` until `until` (the end of the
 * observation) paused until then.
 *
 * @example
 * ```ts
 * const lines = [0, 100, 900, 950].map((at) => ({ at, line: `A got message: {} from partition 1` }));
 * longestGap(lines, 1, 500, 600, 2_000); // 800: the gap from 100 to 900 spans the window
 * longestGap(lines, 1, 1_000, 1_100, 2_000); // 1050: nothing after 950
 * ```
 */
export function longestGap(
  lines: StampedLine[],
  partition: number,
  from: number,
  to: number,
  until: number,
): number {
  let last: number | undefined;
  let longest = 0;
  for (const { at, line } of lines) {
    if (at > until) break;
    const parsed = parseMemberLine(line);
    if (parsed?.type !== "message" || parsed.partition !== partition) continue;
    if (last !== undefined && at >= from && last <= to) longest = Math.max(longest, at - last);
    last = at;
  }
  // A partition that stopped within the window and did not start again before `until`.
  const stopped = last === undefined ? until - from : last <= to ? until - last : 0;
  return Math.max(longest, stopped);
}

/**
 * Measures one event from the stamped lines: it was caused at `cause` (a
 * joiner spawned, a SIGTERM sent), started at `start`, and the group settled
 * with `after` (member names) at the last assignment line since; partitions
 * whose owner changed moved, and so did `restarted`'s. A pause is the longest
 * gap between two messages of a partition that overlaps the rebalance, from
 * its start to its end; the normal gap, the longest in the 2 s before the
 * cause.
 *
 * @example
 * ```ts
 * const m = measureEvent(lines, { cause: spawned, start, before: ["M1", "M2"], after: ["M1", "M2", "M3"] });
 * m.stayedPauseMs;
 * ```
 */
export function measureEvent(
  lines: StampedLine[],
  event: { cause: number; start: number; before: string[]; after: string[]; restarted?: string },
): EventMeasure {
  const assignmentsSince = lines.filter(({ at, line }) =>
    at >= event.start && parseMemberLine(line)?.type === "assigned"
  );
  const end = assignmentsSince.at(-1)?.at ?? event.start;
  const was = owners(lines, event.before, event.start);
  const is = owners(lines, event.after);
  const moved = PARTITIONS.filter((p) =>
    was.get(p) !== is.get(p) || (event.restarted !== undefined && was.get(p) === event.restarted)
  );
  const stayed = PARTITIONS.filter((p) => !moved.includes(p));
  const pause = (ps: number[]) =>
    ps.length === 0
      ? undefined
      : Math.max(...ps.map((p) => longestGap(lines, p, event.start, end, end + STEADY_MS)));
  const normalFrom = event.cause - NORMAL_MS;
  return {
    durationMs: end - event.start,
    stayedPauseMs: pause(stayed),
    movedPauseMs: pause(moved),
    normalGapMs: Math.max(
      ...PARTITIONS.map((p) => longestGap(lines, p, normalFrom, event.cause, event.cause)),
    ),
    moved,
  };
}

/**
 * When a join began, from the lines since the joiner was spawned: its first
 * sign, whichever comes first of the joiner's start line (Java prints it just
 * before it joins), a member's notice of a rebalance or a revocation, and an
 * assignment line less the time the member says its join took (the
 * TypeScript members' `[rebalance took N ms]`).
 *
 * @example
 * ```ts
 * joinStart([{ at: 900, line: "M3 assigned: partition 2 [rebalance took 300 ms]" }], "M3"); // 600
 * ```
 */
export function joinStart(lines: StampedLine[], joiner: string): number {
  const signs = lines.flatMap(({ at, line }) => {
    const parsed = parseMemberLine(line);
    if (line.startsWith(`${joiner} started `)) return [at];
    if (parsed?.type === "revoked" || parsed?.type === "rebalancing") return [at];
    if (parsed?.type !== "assigned") return [];
    return [at - Number(/\[rebalance took (\d+) ms\]/.exec(line)?.[1] ?? 0)];
  });
  return Math.min(...signs);
}

/** Sends `RATE` orders a second, in batches every 50 ms, until stopped. */
function produceSteadily(producer: Producer, topic: string): () => Promise<void> {
  const stop = new AbortController();
  const perBatch = RATE / 20;
  const running = (async () => {
    let index = 0;
    const begun = Date.now();
    while (!stop.signal.aborted) {
      const messages = Array.from({ length: perBatch }, () => {
        const i = index++;
        return {
          partition: PARTITIONS[i % PARTITIONS.length],
          key: String(i),
          value: JSON.stringify(orderEvent(i)),
        };
      });
      await producer.send({ topic, messages });
      // On schedule, not 50 ms after each send: a slow send does not lower the rate.
      await sleep(Math.max(0, begun + (index / RATE) * 1000 - Date.now()), stop.signal);
    }
  })();
  return async () => {
    stop.abort();
    await running;
  };
}

/** What one trial of one case measured: each event's figures. */
export type TrialResult = Record<string, EventMeasure>;

const SETTLE_TIMEOUT_MS = 45_000;
/** Where each trial's stamped lines are kept, to look into a figure. */
const RAW_DIR = projectPath(".lab/bench/protocols/");
const slug = (label: string) => label.toLowerCase().replace(/[^a-z0-9]+/g, "-").replace(/-$/, "");

/** One trial of `c`: a fresh topic and group, two members, the events, all stopped. */
async function runTrial(ctx: BenchContext, c: ProtocolCase, trial: number): Promise<TrialResult> {
  const stamp = `${Date.now().toString(36)}${trial}`;
  const topic = `bench-protocols-${stamp}`;
  const groupId = `bench-protocols-${stamp}`;
  const kafka = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" });
  const admin = kafka.admin();
  const producer = kafka.producer();
  await admin.connect();
  await ensureTopic(admin, topic, PARTITIONS.length);
  if (c.groupConfig) await alterGroupConfig(ctx.brokers, groupId, c.groupConfig);
  await producer.connect();
  const lines: StampedLine[] = [];
  const members = new Map<string, BenchMember>();
  const start = async (name: string, instanceId?: string) => {
    members.set(
      name,
      await c.kind.start({
        brokers: ctx.brokers,
        groupId,
        topic,
        name,
        instanceId,
        onLine: (line) => lines.push({ at: Date.now(), line }),
      }),
    );
  };
  const settle = async (names: string[], what: string, since = 0, fresh?: string) => {
    if (!(await until(() => settled(lines, names, since, fresh), SETTLE_TIMEOUT_MS))) {
      const said = lines.filter((l) => parseMemberLine(l.line)?.type !== "message").slice(-12);
      throw new Error(
        `${c.label}: ${what}: the group did not settle in ${SETTLE_TIMEOUT_MS / 1000} s: ` +
          said.map((l) => l.line).join(" | "),
      );
    }
  };
  let stopProducing: (() => Promise<void>) | undefined;
  const result: TrialResult = {};
  try {
    const statics = c.scenario === "static-restart";
    await start("M1", statics ? "m1" : undefined);
    await start("M2", statics ? "m2" : undefined);
    await settle(["M1", "M2"], "two members");
    stopProducing = produceSteadily(producer, topic);
    await sleep(STEADY_MS);
    if (statics) {
      const at = Date.now();
      await members.get("M1")!.stop(); // a static member's close keeps its place: no LeaveGroup
      await start("M1", "m1");
      await settle(["M1", "M2"], "the static member's restart", at, "M1");
      await sleep(STEADY_MS);
      result.restart = measureEvent(lines, {
        cause: at,
        start: at,
        before: ["M1", "M2"],
        after: ["M1", "M2"],
        restarted: "M1",
      });
    } else {
      const spawned = Date.now();
      await start("M3");
      await settle(["M1", "M2", "M3"], "a third member's join", spawned, "M3");
      await sleep(STEADY_MS);
      result.join = measureEvent(lines, {
        cause: spawned,
        start: joinStart(lines.filter((l) => l.at >= spawned), "M3"),
        before: ["M1", "M2"],
        after: ["M1", "M2", "M3"],
      });
      const left = Date.now();
      const leaving = members.get("M1")!.stop();
      await settle(["M2", "M3"], "the first member's leave");
      await leaving;
      members.delete("M1");
      await sleep(STEADY_MS);
      result.leave = measureEvent(lines, {
        cause: left,
        start: left,
        before: ["M1", "M2", "M3"],
        after: ["M2", "M3"],
      });
    }
    return result;
  } finally {
    await mkdirp(RAW_DIR);
    await writeTextFile(
      `${RAW_DIR}${slug(c.label)}-${trial}.jsonl`,
      lines.map((l) => JSON.stringify(l)).join("\n") + "\n",
    );
    await stopProducing?.();
    await Promise.all([...members.values()].map((m) => m.stop()));
    await producer.disconnect();
    await admin.deleteTopics({ topics: [topic] }).catch(() => {});
    await admin.disconnect();
  }
}

/** One row of the protocols table: a case's event over its trials. */
export interface ProtocolRow {
  label: string;
  event: string;
  trials: EventMeasure[];
}

/**
 * Runs every case `trials` times (3, or 1 with `--quick`), interleaved case by
 * case so that the machine's load falls on every case alike; resolves with one
 * row per case and event.
 *
 * @example
 * ```ts
 * const rows = await benchProtocols({ brokers: ["127.0.0.1:9092"], quick: true, say: console.log });
 * console.log(protocolsTable(rows));
 * ```
 */
export async function benchProtocols(
  ctx: BenchContext,
  cases: ProtocolCase[] = PROTOCOL_CASES,
): Promise<ProtocolRow[]> {
  const trials = ctx.quick ? 1 : 3;
  const results = cases.map(() => [] as TrialResult[]);
  for (let trial = 1; trial <= trials; trial++) {
    for (const [i, c] of cases.entries()) {
      ctx.say(`protocols: ${c.label}, trial ${trial} of ${trials}...`);
      const result = await runTrial(ctx, c, trial);
      for (const [event, m] of Object.entries(result)) {
        ctx.say(
          `  ${event}: ${m.durationMs} ms; pause stayed ${m.stayedPauseMs ?? "-"} ms, moved ` +
            `${m.movedPauseMs ?? "-"} ms (partitions ${m.moved.join(",") || "none"}); ` +
            `normal gap ${m.normalGapMs} ms`,
        );
      }
      results[i].push(result);
    }
  }
  return cases.flatMap((c, i) =>
    Object.keys(results[i][0]).map((event) => ({
      label: c.label,
      event,
      trials: results[i].map((r) => r[event]),
    }))
  );
}

const seconds = (ms: number) => (ms / 1000).toFixed(2);

/** "1.23 s (1.10-1.40)": the median and the range, or "-" when no trial had the figure. */
function medianText(xs: (number | undefined)[]): string {
  const known = xs.filter((x): x is number => x !== undefined);
  if (known.length === 0) return "-";
  const s = spread(known);
  return known.length === 1
    ? `${seconds(s.median)} s`
    : `${seconds(s.median)} s (${seconds(s.min)}-${seconds(s.max)})`;
}

/** The median of a figure over the trials, or undefined when no trial had it. */
export function medianOf(
  row: ProtocolRow,
  figure: "durationMs" | "stayedPauseMs" | "movedPauseMs",
): number | undefined {
  const known = row.trials.map((t) => t[figure]).filter((x): x is number => x !== undefined);
  return known.length === 0 ? undefined : spread(known).median;
}

/** What each event means, for the table. */
const EVENTS: Record<string, string> = {
  join: "a 3rd member joins",
  leave: "the 1st member leaves (SIGTERM)",
  restart: "a static member restarts (SIGTERM, start again)",
};

/**
 * The rows as a Markdown table: the medians (and ranges) of the rebalance
 * duration and of the pauses, and how many partitions moved.
 *
 * @example
 * ```ts
 * console.log(protocolsTable(rows));
 * ```
 */
export function protocolsTable(rows: ProtocolRow[]): string {
  const lines = [
    "| case | event | rebalance took | longest pause, partitions that stayed | longest pause, partitions that moved | moved | normal longest gap |",
    "| --- | --- | --- | --- | --- | --- | --- |",
  ];
  for (const row of rows) {
    const moved = [...new Set(row.trials.map((t) => t.moved.length))].join(" or ");
    lines.push(
      `| ${row.label} | ${EVENTS[row.event] ?? row.event} | ${
        medianText(row.trials.map((t) => t.durationMs))
      } | ${medianText(row.trials.map((t) => t.stayedPauseMs))} | ${
        medianText(row.trials.map((t) => t.movedPauseMs))
      } | ${moved} of 3 | ${medianText(row.trials.map((t) => t.normalGapMs))} |`,
    );
  }
  return lines.join("\n");
}

/**
 * The pauses as an SVG bar chart: per case and event, the median longest
 * pause of the partitions that stayed and of those that moved.
 *
 * @example
 * ```ts
 * await writeTextFile("bench/results/protocols.svg", protocolsChart(rows));
 * ```
 */
export function protocolsChart(rows: ProtocolRow[]): string {
  return barChart(
    "Processing pause when a member joins, leaves or restarts (median longest gap)",
    [
      "partitions that stayed with their member",
      "partitions that moved (static: the restarted member's)",
    ],
    rows.map((row) => ({
      label: `${row.label}: ${row.event}`,
      values: [medianOf(row, "stayedPauseMs"), medianOf(row, "movedPauseMs")].map((ms) =>
        ms === undefined ? undefined : ms / 1000
      ),
    })),
    (s) => `${s.toFixed(2)} s`,
  );
}

/** How the figures are defined: the text above the table in bench/results/protocols.md. */
export const PROTOCOLS_DEFINITIONS =
  `Each trial: a fresh 3-partition topic and group on the same broker, ${RATE} orders/s produced
evenly over the partitions, ${PROCESS_MS} ms of simulated work per message (\`--process-ms ${PROCESS_MS}\`), two members M1
and M2 settled, ${STEADY_MS / 1000} s of steady processing, then **a 3rd member joins**, ${
    STEADY_MS / 1000
  } s after the group settles
**M1 leaves** (SIGTERM: LeaveGroup); for static members (\`group.instance.id\`), **M1 restarts**
instead (SIGTERM, which for a static member sends no LeaveGroup, then the same command again).
Members are real processes; each line is stamped when it reaches the bench, and a member prints a
message's line when its work is done.

- **rebalance took**: from the event's start to the last new assignment line any member prints.
  A join starts at its first sign: the joiner's start line (Java prints it just before joining), an
  existing member's revocation or rebalance notice, or the moment a TypeScript member's assignment
  line says its join began (\`[rebalance took N ms]\`). A leave or a restart starts when SIGTERM is
  sent (a restart includes the JVM's start, about 2 s).
- **longest pause**: for each partition, the longest gap between two of its processed messages that
  overlaps the rebalance (from its start to its end; a partition with no message since, until
  ${STEADY_MS / 1000} s after the end); the largest over the partitions that **stayed** with their
  member, and over those that **moved** to another (for a static restart: the restarted member's).
- **normal longest gap**: the same measure in the 2 s before the event, nothing rebalancing: the
  noise floor (a member works through its partitions in turn, and the machine is shared).

Medians over the trials, the range in brackets. The raw stamped lines of each trial are in
\`.lab/bench/protocols/\`.`;

/**
 * The versions behind the figures: Kafka's (broker and Java client, from the
 * jars), Java's, and the TypeScript clients' (from deno.json).
 *
 * @example
 * ```ts
 * await protocolVersions(); // "Kafka 4.3.1 (broker and kafka-clients), Java 17.0.15, kafkajs 2.2.4, ..."
 * ```
 */
export async function protocolVersions(): Promise<string> {
  const jars = await listFiles(brokerPaths().libsDir);
  const kafka = jars.map((j) => /^kafka-clients-(.+)\.jar$/.exec(j)?.[1]).find(Boolean);
  const { stderr } = await runCommand(await findJava(), ["-version"]);
  const java = /version "([^"]+)"/.exec(stderr)?.[1];
  const { imports } = JSON.parse(await readTextFile(projectPath("deno.json")));
  const npm = (name: string) => String(imports[name]).replace(/^npm:.*@/, "");
  return `Kafka ${kafka} (broker and kafka-clients), Java ${java}, kafkajs ${
    npm("kafkajs")
  }, @platformatic/kafka ${npm("@platformatic/kafka")}; the broker's consumer-protocol ` +
    "heartbeat `group.consumer.heartbeat.interval.ms` 500 ms (Kafka's default: 5 s), classic " +
    "members' heartbeat 0.5 s (kafkajs) and 1 s (Java)";
}
