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
 * {@linkcode MemberLauncher}).
 *
 * @module
 */
import { brokerPaths, findJava } from "../kafka/broker.ts";
import { LabError } from "../platform/errors.ts";
import { memberFlags } from "./spawn.ts";
import {
  type ChildHandle,
  isNotFound,
  listFiles,
  projectPath,
  runCommand,
  spawnProcess,
} from "../platform/runtime.ts";

const ROOT = projectPath();
/** The seed's consumer, with flags: `python/consumer.py`. */
export const PYTHON_CONSUMER = `${ROOT}python/consumer.py`;
/** The project venv's Python, where `deno task kernel` installs confluent-kafka. */
export const VENV_PYTHON = `${ROOT}.venv/bin/python`;
/** The seed's consumer in Java, run as a single-file program: `java/Consumer.java`. */
export const JAVA_CONSUMER = `${ROOT}java/Consumer.java`;

/** Options for {@linkcode spawnPythonMember} and {@linkcode spawnJavaMember}. */
export interface PolyglotMemberOptions {
  groupId: string;
  name: string;
  brokers: string[];
  topic?: string;
  /**
   * The consumer's `partition.assignment.strategy`, e.g. `range` or
   * `range,roundrobin` (default: the client's own, which offers `range`).
   */
  assignor?: string;
  /** More flags, e.g. `["--max-messages", "5"]`. */
  extraArgs?: string[];
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
      env: launcher.env,
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
 * 1.4 s after launch instead of 1.9 s, compiling `Consumer.java` included).
 */
const JAVA_MEMBER_JVM = ["-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC"];

let javaLauncher: Promise<MemberLauncher> | undefined;

/**
 * How `java/Consumer.java` is started: Java 17+ (found as the broker finds
 * it), a full JDK (single-file programs are compiled in memory by its
 * `jdk.compiler`), Kafka's jars in `kafka/libs`. Checked once per process;
 * a failed check is repeated next time (the learner may have fixed it).
 *
 * @example
 * ```ts
 * const { command, args } = await javaMemberLauncher(); // "/usr/bin/java", [..., "java/Consumer.java"]
 * ```
 */
export function javaMemberLauncher(): Promise<MemberLauncher> {
  javaLauncher ??= findJavaLauncher().catch((error) => {
    javaLauncher = undefined;
    throw error;
  });
  return javaLauncher;
}

async function findJavaLauncher(): Promise<MemberLauncher> {
  let java: string;
  try {
    java = await findJava();
  } catch (error) {
    const old = /, but (.+) is Java (\d+)/.exec((error as Error).message);
    throw new LabError(
      `java/Consumer.java needs a JDK 17+ ${
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
      `java/Consumer.java runs on Kafka's jars, which are not in ${libs}: ` +
        "run `deno task broker fetch` (once, ~55 MB from Maven Central)",
    );
  }
  const { stdout: modules } = await runCommand(java, ["--list-modules"]);
  if (!/^jdk\.compiler@/m.test(modules)) {
    throw new LabError(
      `java/Consumer.java runs as a single-file program, which needs a full JDK ` +
        `(the jdk.compiler module), and ${java} has none: install one ` +
        "(e.g. `apt install openjdk-17-jdk-headless`) and set JAVA_HOME to it",
    );
  }
  return {
    command: java,
    args: [...JAVA_MEMBER_JVM, "-cp", `${libs}/*`, JAVA_CONSUMER],
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
 * The seed's consumer in each language besides TypeScript: how to start it,
 * and the client library it runs on.
 *
 * @example
 * ```ts
 * const java = await TWINS.java.spawn({ groupId: "billing-group", name: "Java 1",
 *   brokers: ["localhost:9092"], assignor: "roundrobin" });
 * TWINS.java.client; // "kafka-clients (Java)"
 * ```
 */
export const TWINS = {
  python: { client: "confluent-kafka (librdkafka)", spawn: spawnPythonMember },
  java: { client: "kafka-clients (Java)", spawn: spawnJavaMember },
} as const;

/** A language {@linkcode TWINS} has the seed's consumer in. */
export type TwinLanguage = keyof typeof TWINS;

/** What one printed line says, if it is a member's assignment or message line. */
export type MemberLine =
  | { type: "assigned"; member: string; partitions: number[] }
  | { type: "message"; member: string; value: string; partition: number };

/**
 * Reads a line any of the lab's members prints (TypeScript, Python or Java).
 *
 * @example
 * ```ts
 * parseMemberLine("Py 1 got message: {\"order_id\":\"1\"} from partition 2");
 * // { type: "message", member: "Py 1", value: "{\"order_id\":\"1\"}", partition: 2 }
 * ```
 */
export function parseMemberLine(line: string): MemberLine | undefined {
  const message = /^(.+?) got message: (.*) from partition (\d+)$/.exec(line);
  if (message) {
    return { type: "message", member: message[1], value: message[2], partition: +message[3] };
  }
  const assigned = /^(.+?) assigned: (?:none \(idle\)|partitions? ([\d, ]+))/.exec(line);
  if (assigned) {
    const partitions = assigned[2]?.split(",").map((p) => Number(p.trim())) ?? [];
    return { type: "assigned", member: assigned[1], partitions };
  }
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
