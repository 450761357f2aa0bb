/**
 * Polyglot groups: the seed's consumer in Python (`python/consumer.py`,
 * confluent-kafka) and in Java (`java/Consumer.java`, Kafka's own
 * kafka-clients) as processes next to the lab's TypeScript members, and a
 * reader for the lines every member prints (`<name> assigned: partitions 0, 2`,
 * `<name> got message: {...} from partition 1`), whatever its language.
 *
 * Python and Java members offer their client's default assignors unless
 * given `--assignor range|roundrobin`; by default every member, the lab's
 * too, offers Kafka's `range`, so defaults share a group.
 * Both twins take the same flags; only how each is started differs (a
 * {@linkcode MemberLauncher}). The Java twin has a share-group member too
 * (`java/ShareConsumer.java`, KafkaShareConsumer), whose lines add each
 * record's offset, delivery count and acknowledgement.
 *
 * @module
 */
import { brokerPaths, findJava } from "../kafka/broker.ts";
import { LabError } from "../platform/errors.ts";
import { type MemberFlagOptions, memberFlags } from "./spawn.ts";
import { basename } from "node:path";
import {
  type ChildHandle,
  exists,
  isNotFound,
  listFiles,
  mkdirp,
  parentPidEnv,
  pid,
  projectPath,
  publishFolder,
  readTextFileSync,
  remove,
  runCommand,
  spawnProcess,
} from "../platform/runtime.ts";

const ROOT = projectPath();
/** The seed's consumer, with flags: `python/consumer.py`. */
export const PYTHON_CONSUMER = `${ROOT}python/consumer.py`;
/** The project venv's Python, where `deno task kernel` installs confluent-kafka. */
export const VENV_PYTHON = `${ROOT}.venv/bin/python`;
/** The seed's consumer in Java, one source file: `java/Consumer.java`. */
export const JAVA_CONSUMER = `${ROOT}java/Consumer.java`;
/** A share group's member in Java (KafkaShareConsumer): `java/ShareConsumer.java`. */
export const JAVA_SHARE_CONSUMER = `${ROOT}java/ShareConsumer.java`;

/**
 * Options for {@linkcode spawnPythonMember} and {@linkcode spawnJavaMember}:
 * the member's flags ({@linkcode memberFlags}), and a callback per line.
 * `assignor` is the consumer's `partition.assignment.strategy`, e.g. `range`,
 * `range,roundrobin`, or (Java) `cooperative-sticky` (default: the client's
 * own, which offers `range`); with `groupProtocol: "consumer"` (Java) the
 * broker-side `uniform` or `range`. `processMs`, `groupProtocol` and
 * `instanceId` are the Java member's only; `extraArgs` e.g.
 * `["--max-messages", "5"]`.
 */
export interface PolyglotMemberOptions extends MemberFlagOptions {
  onLine?: (line: string) => void;
}

/** A member in another language running as its own process. */
export interface PolyglotMember {
  name: string;
  pid: number;
  /** Every line printed so far (stdout and stderr). */
  lines: string[];
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
  /** SIGTERM: the consumer closes and leaves the group cleanly. */
  stop(): Promise<number>;
  /** SIGKILL: a crash, no goodbye (a share member's locked records wait for their lock time). */
  kill(): Promise<number>;
}

/**
 * How a member in one language is started: the command and the arguments
 * before the member's own flags, its environment, and what to tell the
 * learner when the command is not there.
 */
export interface MemberLauncher {
  command: string;
  args: string[];
  env: Record<string, string>;
  /** The error when `command` cannot be started. */
  missing: string;
}

/**
 * Starts a member with `launcher` and collects its lines. Resolves at once;
 * watch `lines` (or use {@linkcode lastAssignment}) to see it join.
 *
 * @example
 * ```ts
 * const py = spawnPolyglotMember(PYTHON_LAUNCHER, { groupId: "billing-group", name: "Py",
 *   brokers: ["localhost:9092"] });
 * await py.stop();
 * ```
 */
export function spawnPolyglotMember(
  launcher: MemberLauncher,
  options: PolyglotMemberOptions,
): PolyglotMember {
  const lines: string[] = [];
  let child: ChildHandle;
  try {
    const flags = memberFlags(options);
    child = spawnProcess(launcher.command, [...launcher.args, ...flags], {
      // The member ends with this process (a notebook kernel, a test): it watches LAB_PARENT_PID.
      env: { ...parentPidEnv(), ...launcher.env },
      onLine: (line) => {
        lines.push(line);
        options.onLine?.(line);
      },
    });
  } catch (error) {
    if (isNotFound(error)) throw new LabError(launcher.missing);
    throw error;
  }
  return {
    name: options.name,
    pid: child.pid,
    lines,
    exited: child.exited,
    stop: () => {
      child.kill("SIGTERM");
      return child.exited;
    },
    kill: () => {
      child.kill("SIGKILL");
      return child.exited;
    },
  };
}

/** `python/consumer.py` in the project venv. */
export const PYTHON_LAUNCHER: MemberLauncher = {
  command: VENV_PYTHON,
  args: [PYTHON_CONSUMER],
  env: { PYTHONUNBUFFERED: "1" },
  missing:
    `${VENV_PYTHON} was not found: run \`deno task kernel\` (it installs confluent-kafka into .venv)`,
};

/**
 * Starts `python/consumer.py` in the project venv. Resolves at once; watch
 * `lines` (or use {@linkcode lastAssignment}) to see it join.
 *
 * @example
 * ```ts
 * const py = await spawnPythonMember({ groupId: "billing-group", name: "Python 1",
 *   brokers: ["localhost:9092"], assignor: "range" });
 * await py.stop();
 * ```
 */
export function spawnPythonMember(options: PolyglotMemberOptions): Promise<PolyglotMember> {
  return Promise.resolve(spawnPolyglotMember(PYTHON_LAUNCHER, options));
}

/**
 * JVM flags for the Java member: C1 only and the serial collector start a
 * short-lived client faster on a small machine (measured: owns partitions
 * 1.4 s after launch instead of 1.9 s, when each start compiled `Consumer.java`).
 */
const JAVA_MEMBER_JVM = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"];

let javaLauncher: Promise<MemberLauncher> | undefined;

/**
 * How a Java member (`java/Consumer.java` by default, or `program`, e.g.
 * {@linkcode JAVA_SHARE_CONSUMER}) is started: Java 17+ (found as the broker
 * finds it), a full JDK (its `jdk.compiler` compiles the program, once per
 * version of its source), Kafka's jars in `kafka/libs`. Checked once per
 * process; a failed check is repeated next time (the learner may have fixed it).
 *
 * @example
 * ```ts
 * const { command, args } = await javaMemberLauncher(); // "/usr/bin/java", [..., "Consumer"]
 * ```
 */
export async function javaMemberLauncher(program = JAVA_CONSUMER): Promise<MemberLauncher> {
  javaLauncher ??= findJavaLauncher().catch((error) => {
    javaLauncher = undefined;
    throw error;
  });
  const launcher = await javaLauncher;
  const { classes, mainClass } = await compiledJava(launcher.command, program);
  return {
    ...launcher,
    args: [
      ...JAVA_MEMBER_JVM,
      `-Dlog4j2.configurationFile=${ROOT}java/log4j2.properties`,
      "-cp",
      `${classes}:${brokerPaths().libsDir}/*`,
      mainClass,
    ],
  };
}

/** Compilations of this process, by source text: each program is compiled once. */
const compiled = new Map<string, Promise<{ classes: string; mainClass: string }>>();

/**
 * `program` compiled once into `.lab/java/<Name>-<hash of its source>/`, for
 * every later start: `java File.java` compiles the file in memory at each
 * start (a second of CPU per member; four share members on a busy 2-core
 * machine took over 30 s to join). An edited file is a new folder. A compile
 * error is a {@linkcode LabError} with javac's first lines.
 */
function compiledJava(java: string, program: string) {
  const key = `${program}:${readTextFileSync(program)}`;
  let result = compiled.get(key);
  if (!result) {
    result = compileJava(java, program, key);
    result.catch(() => compiled.delete(key));
    compiled.set(key, result);
  }
  return result;
}

async function compileJava(java: string, program: string, source: string) {
  const mainClass = basename(program, ".java");
  const digest = new Uint8Array(
    await crypto.subtle.digest("SHA-256", new TextEncoder().encode(source)),
  );
  const hash = [...digest.slice(0, 6)].map((b) => b.toString(16).padStart(2, "0")).join("");
  const classes = `${ROOT}.lab/java/${mainClass}-${hash}`;
  if (await exists(`${classes}/${mainClass}.class`)) return { classes, mainClass };
  const building = `${classes}.tmp-${pid}`;
  await mkdirp(building);
  const libs = brokerPaths().libsDir;
  const jars = (await listFiles(libs)).filter((j) => j.endsWith(".jar")).map((j) => `${libs}/${j}`);
  // javac as a module of the same JDK: no javac on PATH needed; the jars listed, as javac
  // run this way does not expand `*` in a class path.
  const { code, stderr } = await runCommand(java, [
    ...["-m", "jdk.compiler/com.sun.tools.javac.Main", "-nowarn", "-d", building],
    ...["-cp", jars.join(":"), program],
  ]);
  if (code !== 0) {
    await remove(building);
    throw new LabError(
      `${program} does not compile: ${stderr.split("\n").slice(0, 3).join(" | ")}`,
    );
  }
  await publishFolder(building, classes);
  return { classes, mainClass };
}

/** The Java command, once Java, the JDK's compiler and Kafka's jars are checked. */
async function findJavaLauncher(): Promise<MemberLauncher> {
  let java: string;
  try {
    java = await findJava();
  } catch (error) {
    const old = /, but (.+) is Java (\d+)/.exec((error as Error).message);
    throw new LabError(
      `the Java members (java/*.java) need a JDK 17+ ${
        old ? `(${old[1]} is Java ${old[2]})` : "and found none"
      }: ` +
        "install one (e.g. `apt install openjdk-17-jdk-headless`) and put its java on PATH or " +
        "set JAVA_HOME",
    );
  }
  const libs = brokerPaths().libsDir;
  const jars = await listFiles(libs).catch(() => []);
  if (!jars.some((j) => /^kafka-clients-.*\.jar$/.test(j))) {
    throw new LabError(
      `the Java members (java/*.java) run on Kafka's jars, which are not in ${libs}: ` +
        "run `deno task broker fetch` (once, ~55 MB from Maven Central)",
    );
  }
  const { stdout: modules } = await runCommand(java, ["--list-modules"]);
  if (!/^jdk\.compiler@/m.test(modules)) {
    throw new LabError(
      `the Java members (java/*.java) are compiled when first started, which needs a full JDK ` +
        `(the jdk.compiler module), and ${java} has none: install one ` +
        "(e.g. `apt install openjdk-17-jdk-headless`) and set JAVA_HOME to it",
    );
  }
  return {
    command: java,
    args: [],
    env: {},
    missing: `${java} could not be started: install Java 17+ or set JAVA_HOME`,
  };
}

/**
 * Starts `java/Consumer.java` (kafka-clients, the classic group protocol)
 * with Kafka's jars. Resolves once the process is started (Java needs about
 * 1.5 s more to join); watch `lines` (or use {@linkcode lastAssignment}).
 *
 * @example
 * ```ts
 * const java = await spawnJavaMember({ groupId: "billing-group", name: "Java 1",
 *   brokers: ["localhost:9092"], assignor: "range" });
 * await java.stop();
 * ```
 */
export async function spawnJavaMember(options: PolyglotMemberOptions): Promise<PolyglotMember> {
  return spawnPolyglotMember(await javaMemberLauncher(), options);
}

/**
 * Starts `java/ShareConsumer.java`, a member of the share group `groupId`
 * (KafkaShareConsumer, explicit acknowledgement). Resolves once the process
 * is started; a share member prints no assignment: watch `lines` (or use
 * {@linkcode deliveriesIn}) for its records. `extraArgs` says what it does
 * with them (`--release-key 3`, `--reject-key 4`, `--ack release`,
 * `--process-ms 200`, `--crash-after 2`).
 *
 * @example
 * ```ts
 * const share = await spawnJavaShareMember({ groupId: "billing-share-group", name: "Share 1",
 *   brokers: ["localhost:9092"], extraArgs: ["--release-key", "3"] });
 * await share.stop();
 * ```
 */
export async function spawnJavaShareMember(
  options: PolyglotMemberOptions,
): Promise<PolyglotMember> {
  return spawnPolyglotMember(await javaMemberLauncher(JAVA_SHARE_CONSUMER), options);
}

/**
 * The seed's consumer in each language besides TypeScript: how to start it,
 * and the client library it runs on; Java also has a share-group member
 * (`spawnShare`).
 *
 * @example
 * ```ts
 * const java = await TWINS.java.spawn({ groupId: "billing-group", name: "Java 1",
 *   brokers: ["localhost:9092"], assignor: "roundrobin" });
 * TWINS.java.client; // "kafka-clients (Java)"
 * const share = await TWINS.java.spawnShare({ groupId: "billing-share-group", name: "Share 1",
 *   brokers: ["localhost:9092"] });
 * ```
 */
export const TWINS = {
  python: { client: "confluent-kafka (librdkafka)", spawn: spawnPythonMember },
  java: {
    client: "kafka-clients (Java)",
    spawn: spawnJavaMember,
    spawnShare: spawnJavaShareMember,
  },
} as const;

/** A language {@linkcode TWINS} has the seed's consumer in. */
export type TwinLanguage = keyof typeof TWINS;

/** How a share group's member acknowledged a record. */
export type Acknowledgement = "accept" | "release" | "reject";

/** What a share member's message line adds: the record's offset, delivery count, acknowledgement. */
export interface ShareDelivery {
  offset: number;
  /** 1 on the first delivery, 2 on the first redelivery... */
  deliveryCount: number;
  ack: Acknowledgement;
}

/**
 * What one printed line says, if it is a member's assignment, revocation,
 * rebalance notice or message line.
 */
export type MemberLine =
  | { type: "assigned" | "revoked"; member: string; partitions: number[] }
  | { type: "rebalancing"; member: string }
  | { type: "message"; member: string; value: string; partition: number; share?: ShareDelivery };

/**
 * Reads a line any of the lab's members prints (TypeScript, Python or Java,
 * a share member's too): `assigned` is the member's whole assignment after a
 * rebalance, `revoked` (Java) the partitions taken away from it, `rebalancing`
 * (TypeScript) its notice that a rebalance began.
 *
 * @example
 * ```ts
 * parseMemberLine("Py 1 got message: {\"order_id\":\"1\"} from partition 2");
 * // { type: "message", member: "Py 1", value: "{\"order_id\":\"1\"}", partition: 2 }
 * parseMemberLine("S 1 got message: {} from partition 2 (offset 7, delivery 2): release").share;
 * // { offset: 7, deliveryCount: 2, ack: "release" }
 * parseMemberLine("Java 1 revoked: partition 1"); // { type: "revoked", member: "Java 1", partitions: [1] }
 * ```
 */
export function parseMemberLine(line: string): MemberLine | undefined {
  const message =
    /^(.+?) got message: (.*) from partition (\d+)(?: \(offset (\d+), delivery (\d+)\): (accept|release|reject))?$/
      .exec(line);
  if (message) {
    const [, member, value, partition, offset, deliveryCount, ack] = message;
    return {
      type: "message",
      member,
      value,
      partition: +partition,
      ...(ack && {
        share: { offset: +offset, deliveryCount: +deliveryCount, ack: ack as Acknowledgement },
      }),
    };
  }
  const changed = /^(.+?) (assigned|revoked): (?:none \(idle\)|partitions? ([\d, ]+))/.exec(line);
  if (changed) {
    const partitions = changed[3]?.split(",").map((p) => Number(p.trim())) ?? [];
    return { type: changed[2] as "assigned" | "revoked", member: changed[1], partitions };
  }
  const rebalancing = /^(.+?): group .+ is rebalancing\.\.\.$/.exec(line);
  if (rebalancing) return { type: "rebalancing", member: rebalancing[1] };
  return undefined;
}

/**
 * The partitions a member owns according to the last assignment line it
 * printed, or undefined before its first.
 *
 * @example
 * ```ts
 * lastAssignment(["Py 1 assigned: partitions 0, 2"]); // [0, 2]
 * ```
 */
export function lastAssignment(lines: string[]): number[] | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const parsed = parseMemberLine(lines[i]);
    if (parsed?.type === "assigned") return parsed.partitions;
  }
  return undefined;
}

/**
 * Every message a member printed, with its partition and order id (the
 * `order_id` of its JSON value).
 *
 * @example
 * ```ts
 * messagesIn(['Py 1 got message: {"order_id":"1000"} from partition 0']);
 * // [{ partition: 0, orderId: "1000" }]
 * ```
 */
export function messagesIn(lines: string[]): { partition: number; orderId: string }[] {
  return lines.map(parseMemberLine).flatMap((p) =>
    p?.type === "message"
      ? [{ partition: p.partition, orderId: String(JSON.parse(p.value).order_id) }]
      : []
  );
}

/** One record as a share member printed it. */
export interface ShareRecord extends ShareDelivery {
  member: string;
  partition: number;
  orderId: string;
}

/**
 * Every record share members printed (any number of members' lines, in any
 * order), with its partition, offset, delivery count and acknowledgement.
 *
 * @example
 * ```ts
 * deliveriesIn(['S 1 got message: {"order_id":"1003"} from partition 0 (offset 1, delivery 2): accept']);
 * // [{ member: "S 1", partition: 0, orderId: "1003", offset: 1, deliveryCount: 2, ack: "accept" }]
 * ```
 */
export function deliveriesIn(lines: string[]): ShareRecord[] {
  return lines.map(parseMemberLine).flatMap((p) =>
    p?.type === "message" && p.share
      ? [{
        member: p.member,
        partition: p.partition,
        orderId: String(JSON.parse(p.value).order_id),
        ...p.share,
      }]
      : []
  );
}
