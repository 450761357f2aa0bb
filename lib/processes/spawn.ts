/**
 * Group members and producers as separate processes, started with the very
 * scripts a learner runs in a terminal (`scripts/consumer.ts`,
 * `scripts/producer.ts`). The demo, the lessons and the tests use this to
 * show what only separate processes show: a member killed with SIGKILL, a
 * member leaving with Ctrl+C, output interleaved across terminals.
 *
 * Every process started here ends with the process that started it (see
 * {@linkcode onParentExit}): a restarted notebook kernel leaves no member
 * behind holding partitions. And each running member is noted in
 * `<runs dir>/<group>/processes/`, so a later run can find members of its
 * group that are still there ({@linkcode stopLeftoverMembers}).
 *
 * @module
 */
import { newRunLog, readRunLog, runsDir } from "./runlog.ts";
import { clientIdFor, type MemberEvent } from "../kafka/member.ts";
import {
  type ChildHandle,
  isNotFound,
  killProcess,
  listFiles,
  mkdirp,
  parentPidEnv,
  pid,
  processAlive,
  processCommandLine,
  projectPath,
  readTextFile,
  remove,
  scriptRunner,
  type Signal,
  spawnProcess,
  writeTextFile,
} from "../platform/runtime.ts";
import { until } from "../platform/wait.ts";

const SCRIPTS = projectPath("scripts/");
/** The member script of each group protocol. */
const MEMBER_SCRIPTS = { classic: "consumer.ts", consumer: "consumer_protocol.ts" } as const;

/** Options for {@linkcode spawnMember}. */
export interface SpawnMemberOptions
  extends Omit<MemberFlagOptions, "groupProtocol" | "instanceId"> {
  /** JSON-lines run log of every event (default: a new file in `.lab/runs/<group>/`). */
  runLog?: string;
  /** Each line the member prints (stdout and stderr). Default: ignore. */
  onLine?: (line: string) => void;
  /** More environment, e.g. `{ LAB_KAFKAJS_LOG: "error" }`: kafkajs's own errors in its lines. */
  env?: Record<string, string>;
  /**
   * Which member: `classic` (default), `scripts/consumer.ts` (kafkajs); or
   * `consumer`, `scripts/consumer_protocol.ts` (@platformatic/kafka with the
   * new consumer protocol, KIP-848; `assignor` is then `uniform` or `range`).
   */
  protocol?: "classic" | "consumer";
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
  runLog: string;
  /** Every line printed so far. */
  lines: string[];
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
  /** Events logged so far (read from the run log). */
  events(): Promise<MemberEvent[]>;
  /** Ctrl+C's equivalent: SIGTERM, the member leaves the group cleanly. */
  stop(): Promise<number>;
  /** A crash: SIGKILL, no goodbye; the group notices after the session timeout. */
  kill(): Promise<number>;
}

/** What members take on their command line, in any language. */
export interface MemberFlagOptions {
  groupId: string;
  name: string;
  brokers: string[];
  topic?: string;
  /** `--assignor`, when given. */
  assignor?: string;
  /** `--process-ms`: simulated work per message (TypeScript and Java members). */
  processMs?: number;
  /**
   * `--group-protocol classic|consumer` (the Java member; the TypeScript
   * members have a script per protocol, {@linkcode SpawnMemberOptions.protocol}).
   */
  groupProtocol?: "classic" | "consumer";
  /** `--instance-id`: `group.instance.id`, a static member (the Java member). */
  instanceId?: string;
  /** More flags, after these. */
  extraArgs?: string[];
}

/**
 * The flags of a member, whatever its language (`scripts/consumer.ts`,
 * `python/consumer.py`, `java/Consumer.java` share them): `--group`, `--name`,
 * `--brokers`, then `--topic`, `--assignor`, `--process-ms`,
 * `--group-protocol`, `--instance-id` when given, then `extraArgs`.
 *
 * @example
 * ```ts
 * memberFlags({ groupId: "billing-group", name: "Py", brokers: ["localhost:9092"], assignor: "range" });
 * // ["--group", "billing-group", "--name", "Py", "--brokers", "localhost:9092", "--assignor", "range"]
 * ```
 */
export function memberFlags(options: MemberFlagOptions): string[] {
  const optional = {
    "--topic": options.topic,
    "--assignor": options.assignor,
    "--process-ms": options.processMs,
    "--group-protocol": options.groupProtocol,
    "--instance-id": options.instanceId,
  };
  return [
    "--group",
    options.groupId,
    "--name",
    options.name,
    "--brokers",
    options.brokers.join(","),
    ...Object.entries(optional).flatMap(([flag, value]) =>
      value === undefined || value === "" ? [] : [flag, String(value)]
    ),
    ...(options.extraArgs ?? []),
  ];
}

function spawnScript(
  script: string,
  args: string[],
  onLine: (line: string) => void,
  runner: string[] = scriptRunner(),
  env: Record<string, string> = {},
): ChildHandle {
  return spawnProcess(
    runner[0],
    [...runner.slice(1), `${SCRIPTS}${script}`, ...args],
    { env: { NO_COLOR: "1", ...env, ...parentPidEnv() }, onLine },
  );
}

/** Where running members of a group are noted, one `<pid>.json` each. */
const processesDir = (groupId: string) => `${runsDir(groupId)}/processes`;

/** What {@linkcode spawnMember} notes about a running member. */
interface RunningMember {
  pid: number;
  name: string;
  /** The pid of the process that started it (a notebook kernel, a test). */
  startedBy: number;
}

/** Notes a running member until it exits. */
async function noteRunning(groupId: string, member: RunningMember, exited: Promise<number>) {
  const dir = processesDir(groupId);
  await mkdirp(dir);
  const note = `${dir}/${member.pid}.json`;
  await writeTextFile(note, JSON.stringify(member));
  exited.catch(() => {}).then(() => remove(note));
}

/**
 * Stops the member processes of `groupId` on `brokers` that
 * {@linkcode spawnMember} started and that still run, whoever started them —
 * left over from an earlier run: a cell run twice, or a kernel that still runs
 * (a stuck one, or another notebook's). They get SIGTERM, as with Ctrl+C, and
 * leave the group; one still running after `timeoutMs` gets SIGKILL. A pid is
 * only signalled when its command line is still that member's, with the same
 * `--brokers` (a group of the same name on another cluster, e.g. the 3-node
 * cluster beside the single broker, is another group), and never when it is
 * in `keep` (members the caller still uses). Resolves with
 * `"<name> (pid <pid>)"` for each member stopped.
 *
 * @example
 * ```ts
 * await stopLeftoverMembers("billing-group", ["localhost:9092"]); // ["Consumer 1 (pid 4242)"]
 * ```
 */
export async function stopLeftoverMembers(
  groupId: string,
  brokers: string[],
  options: { timeoutMs?: number; keep?: number[] } = {},
): Promise<string[]> {
  const { timeoutMs = 10_000, keep = [] } = options;
  const dir = processesDir(groupId);
  const files = await listFiles(dir).catch((error) => {
    if (isNotFound(error)) return [];
    throw error;
  });
  const leftovers: RunningMember[] = [];
  for (const file of files) {
    const member = await readTextFile(`${dir}/${file}`)
      .then((text) => JSON.parse(text) as RunningMember, () => undefined);
    if (member && keep.includes(member.pid)) continue;
    const command = member && await processCommandLine(member.pid);
    const script = Object.values(MEMBER_SCRIPTS).find((s) => command?.includes(`${SCRIPTS}${s} `));
    if (!script || !command!.includes(`--name ${member!.name}`)) {
      await remove(`${dir}/${file}`); // its process is gone, or the pid is another's
    } else if (` ${command} `.includes(` --brokers ${brokers.join(",")} `)) {
      killProcess(member!.pid, "SIGTERM");
      leftovers.push(member!);
    } // else: a member of a group of the same name on another cluster, not a leftover here
  }
  const running = () => leftovers.filter((m) => processAlive(m.pid));
  if (!(await until(() => running().length === 0, timeoutMs))) {
    for (const member of running()) killProcess(member.pid, "SIGKILL");
  }
  await Promise.all(leftovers.map((m) => remove(`${dir}/${m.pid}.json`)));
  return leftovers.map((m) => `${m.name} (pid ${m.pid})`);
}

/**
 * Starts `scripts/consumer.ts` (or, with `protocol: "consumer"`,
 * `scripts/consumer_protocol.ts`) as a process and resolves once it has been
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
  const runLog = options.runLog ??
    await newRunLog(options.groupId, clientIdFor(options.name));
  const lines: string[] = [];
  const assigned = Promise.withResolvers<void>();
  const child = spawnScript(
    MEMBER_SCRIPTS[options.protocol ?? "classic"],
    [
      ...memberFlags(options),
      "--record",
      runLog,
    ],
    (line) => {
      lines.push(line);
      options.onLine?.(line);
      if (line.startsWith(`${options.name} assigned:`)) assigned.resolve();
    },
    options.runner,
    options.env,
  );
  await noteRunning(
    options.groupId,
    { pid: child.pid, name: options.name, startedBy: pid },
    child.exited,
  );
  const signalAndWait = (signal: Signal) => {
    child.kill(signal);
    return child.exited;
  };
  const member: MemberProcess = {
    name: options.name,
    pid: child.pid,
    runLog,
    lines,
    exited: child.exited,
    events: () => readRunLog(runLog),
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
