/**
 * Group members and producers as separate processes, started with the very
 * scripts a learner runs in a terminal (`scripts/consumer.ts`,
 * `scripts/producer.ts`). The demo, the lessons and the tests use this to
 * show what only separate processes show: a member killed with SIGKILL, a
 * member leaving with Ctrl+C, output interleaved across terminals.
 *
 * @module
 */
import { newRunRecord, readRecords } from "./records.ts";
import { clientIdFor, type MemberEvent } from "./member.ts";
import {
  type ChildHandle,
  projectPath,
  scriptRunner,
  type Signal,
  spawnProcess,
} from "./runtime.ts";

const SCRIPTS = projectPath("scripts/");

/** Options for {@linkcode spawnMember}. */
export interface SpawnMemberOptions {
  groupId: string;
  name: string;
  brokers: string[];
  topic?: string;
  /** JSON-lines record of every event (default: a new file in `.lab/runs/<group>/`). */
  recordFile?: string;
  /** More flags for `scripts/consumer.ts`, e.g. `["--session-timeout-ms", "6000"]`. */
  extraArgs?: string[];
  /** Each line the member prints (stdout and stderr). Default: ignore. */
  onLine?: (line: string) => void;
  /**
   * The command that runs the script, before its path: default this runtime
   * (`deno run -A`, or `bun` under Bun); `["bun"]` runs the member on Bun.
   */
  runner?: string[];
}

/** A member running as its own `scripts/consumer.ts` process. */
export interface MemberProcess {
  name: string;
  pid: number;
  recordFile: string;
  /** Every line printed so far. */
  lines: string[];
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
  /** Events recorded so far (read from the record file). */
  events(): Promise<MemberEvent[]>;
  /** Ctrl+C's equivalent: SIGTERM, the member leaves the group cleanly. */
  stop(): Promise<number>;
  /** A crash: SIGKILL, no goodbye; the group notices after the session timeout. */
  kill(): Promise<number>;
}

/** What every member takes on its command line, in any language. */
export interface MemberFlagOptions {
  groupId: string;
  name: string;
  brokers: string[];
  topic?: string;
  /** `--assignor`, when given. */
  assignor?: string;
  /** More flags, after these. */
  extraArgs?: string[];
}

/**
 * The flags every member takes, whatever its language (`scripts/consumer.ts`,
 * `python/consumer.py`, `java/Consumer.java` share them): `--group`, `--name`,
 * `--brokers`, then `--topic` and `--assignor` when given, then `extraArgs`.
 *
 * @example
 * ```ts
 * memberFlags({ groupId: "billing-group", name: "Py", brokers: ["localhost:9092"], assignor: "range" });
 * // ["--group", "billing-group", "--name", "Py", "--brokers", "localhost:9092", "--assignor", "range"]
 * ```
 */
export function memberFlags(options: MemberFlagOptions): string[] {
  return [
    "--group",
    options.groupId,
    "--name",
    options.name,
    "--brokers",
    options.brokers.join(","),
    ...(options.topic ? ["--topic", options.topic] : []),
    ...(options.assignor ? ["--assignor", options.assignor] : []),
    ...(options.extraArgs ?? []),
  ];
}

function spawnScript(
  script: string,
  args: string[],
  onLine: (line: string) => void,
  runner: string[] = scriptRunner(),
): ChildHandle {
  return spawnProcess(
    runner[0],
    [...runner.slice(1), `${SCRIPTS}${script}`, ...args],
    { env: { NO_COLOR: "1" }, onLine },
  );
}

/**
 * Starts `scripts/consumer.ts` as a process and resolves once it has been
 * assigned partitions (or found itself idle) for the first time.
 *
 * @example
 * ```ts
 * const member = await spawnMember({ groupId: "billing-group", name: "Consumer 1",
 *   brokers: ["localhost:9092"], onLine: console.log });
 * await member.stop();
 * ```
 */
export async function spawnMember(
  options: SpawnMemberOptions,
  readyTimeoutMs = 30_000,
): Promise<MemberProcess> {
  const recordFile = options.recordFile ??
    await newRunRecord(options.groupId, clientIdFor(options.name));
  const lines: string[] = [];
  const assigned = Promise.withResolvers<void>();
  const child = spawnScript("consumer.ts", [
    ...memberFlags(options),
    "--record",
    recordFile,
  ], (line) => {
    lines.push(line);
    options.onLine?.(line);
    if (line.startsWith(`${options.name} assigned:`)) assigned.resolve();
  }, options.runner);
  const signalAndWait = (signal: Signal) => {
    child.kill(signal);
    return child.exited;
  };
  const member: MemberProcess = {
    name: options.name,
    pid: child.pid,
    recordFile,
    lines,
    exited: child.exited,
    events: () => readRecords(recordFile),
    stop: () => signalAndWait("SIGTERM"),
    kill: () => signalAndWait("SIGKILL"),
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const outcome = await Promise.race([
    assigned.promise.then(() => "ready" as const),
    child.exited.then(() => "exited" as const),
    new Promise<"timeout">((r) => timer = setTimeout(() => r("timeout"), readyTimeoutMs)),
  ]);
  clearTimeout(timer);
  if (outcome !== "ready") {
    await member.kill();
    const why = lines.filter((l) => l.startsWith("error:")).at(-1) ?? lines.at(-1) ?? "no output";
    throw new Error(
      `${options.name} ${outcome === "exited" ? "exited" : "was not assigned in time"}: ${why}`,
    );
  }
  return member;
}

/** Options for {@linkcode runProducer}. */
export interface RunProducerOptions {
  brokers: string[];
  topic?: string;
  count?: number;
  intervalMs?: number;
  start?: number;
  /** More flags, e.g. `["--give-up-ms", "3000"]`. */
  extraArgs?: string[];
  onLine?: (line: string) => void;
}

/**
 * Runs `scripts/producer.ts` as a process to completion; resolves with its
 * exit code and output lines.
 *
 * @example
 * ```ts
 * const { code } = await runProducer({ brokers: ["localhost:9092"], count: 10, intervalMs: 100 });
 * ```
 */
export async function runProducer(
  options: RunProducerOptions,
): Promise<{ code: number; lines: string[] }> {
  const lines: string[] = [];
  const producer = spawnScript("producer.ts", [
    "--brokers",
    options.brokers.join(","),
    ...(options.topic ? ["--topic", options.topic] : []),
    ...(options.count !== undefined ? ["--count", String(options.count)] : []),
    ...(options.intervalMs !== undefined ? ["--interval-ms", String(options.intervalMs)] : []),
    ...(options.start !== undefined ? ["--start", String(options.start)] : []),
    ...(options.extraArgs ?? []),
  ], (line) => {
    lines.push(line);
    options.onLine?.(line);
  });
  return { code: await producer.exited, lines };
}
