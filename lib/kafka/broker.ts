/**
 * Broker lifecycle: a real Apache Kafka broker (KRaft, one node acting as
 * broker and controller) run as a local Java process, no Docker needed.
 *
 * Kafka's own jars come from Maven Central through `kafka/pom.xml`. The
 * launcher does what Kafka's `bin/` scripts do: `kafka-storage.sh format`
 * (`kafka.tools.StorageTool`) once, then `kafka-server-start.sh`
 * (`kafka.Kafka server.properties`) in the background, with a pid file and a
 * log file under a git-ignored state folder (`.lab/broker` by default).
 *
 * @module
 */
import { dirname, resolve } from "node:path";
import { LabError } from "../platform/errors.ts";
import {
  clusterStateDir,
  kafkaPort,
  probeBroker,
  type ProbeResult,
  type Security,
} from "./config.ts";
import {
  createFileExclusive,
  env,
  exists,
  killProcess,
  mkdirp,
  pid as ownPid,
  processAlive,
  processCommandLine,
  projectPath,
  readFileFrom,
  readTextFile,
  remove,
  runCommand,
  spawnProcess,
  stdoutIsTerminal,
  writeOutput,
  writeTextFile,
} from "../platform/runtime.ts";
import { sleep } from "../platform/wait.ts";

const PROJECT_ROOT = projectPath();
/** The lab's client listener is PLAINTEXT, whatever KAFKA_SSL / KAFKA_SASL_* set for clients. */
const PLAINTEXT: Security = {};

/** Where the embedded broker listens and keeps its state. */
export interface BrokerOptions {
  /** Client listener port on 127.0.0.1 (default 9092, or `KAFKA_PORT`). */
  port?: number;
  /** KRaft controller port on 127.0.0.1 (default port + 1). */
  controllerPort?: number;
  /** State folder: data, logs, pid file (default `.lab/broker`, or `LAB_BROKER_DIR`). */
  dataDir?: string;
  /** Progress lines (jar download, formatting, waiting). */
  onProgress?: (line: string) => void;
  /**
   * A second, authenticated listener (SASL_PLAINTEXT on 127.0.0.1:`port`)
   * accepting PLAIN, SCRAM-SHA-256 and SCRAM-SHA-512 for `users`
   * (name → password), to try the lab's SASL settings locally.
   */
  sasl?: SaslListener;
  /**
   * More server properties, over the lab's; for settings a running broker
   * cannot change, e.g. `{ "group.consumer.migration.policy": "disabled" }`.
   */
  settings?: Record<string, string | number>;
  /** One node of a multi-node KRaft quorum (lib/kafka/cluster.ts); default: a standalone node 1. */
  quorum?: QuorumNode;
}

/**
 * A node of a KRaft quorum of several voters: formatted with every voter
 * (`--initial-controllers`) instead of as a quorum of one (`--standalone`).
 */
export interface QuorumNode {
  nodeId: number;
  /** The same for every node: a node formatted with another cluster id is refused by the rest. */
  clusterId: string;
  /** Every voter as `id@host:port:directoryId`, the same on every node. */
  initialControllers: string;
}

/** See {@linkcode BrokerOptions.sasl}. */
export interface SaslListener {
  port: number;
  users: Record<string, string>;
}

/** Resolved locations and ports of one embedded broker. */
export interface BrokerPaths {
  port: number;
  controllerPort: number;
  stateDir: string;
  logDirs: string;
  pidFile: string;
  logFile: string;
  propertiesFile: string;
  /** log4j2 configuration of the broker (INFO to its log) and of Kafka's tools (WARN to stderr). */
  log4jFile: string;
  toolsLog4jFile: string;
  clusterIdFile: string;
  /** Held (created exclusively, holding its pid) by the one `startBroker` launching this broker. */
  startLockFile: string;
  libsDir: string;
  pomFile: string;
}

/**
 * Resolves ports and paths from options, then environment
 * (`KAFKA_PORT`, `LAB_BROKER_DIR`), then defaults.
 *
 * @example
 * ```ts
 * brokerPaths({ port: 19092 }).controllerPort; // 19093
 * ```
 */
export function brokerPaths(options: BrokerOptions = {}): BrokerPaths {
  const port = options.port ?? kafkaPort();
  const stateDir = resolve(
    options.dataDir ?? env("LAB_BROKER_DIR") ?? `${PROJECT_ROOT}.lab/broker`,
  );
  return {
    port,
    controllerPort: options.controllerPort ?? port + 1,
    stateDir,
    logDirs: `${stateDir}/data`,
    pidFile: `${stateDir}/broker.pid`,
    logFile: `${stateDir}/broker.log`,
    propertiesFile: `${stateDir}/server.properties`,
    log4jFile: `${PROJECT_ROOT}kafka/log4j2.properties`,
    toolsLog4jFile: `${PROJECT_ROOT}kafka/tools-log4j2.properties`,
    clusterIdFile: `${stateDir}/cluster-id`,
    startLockFile: `${stateDir}/start.lock`,
    libsDir: `${PROJECT_ROOT}kafka/libs`,
    pomFile: `${PROJECT_ROOT}kafka/pom.xml`,
  };
}

/** The bootstrap address of the embedded broker. */
export function brokerAddress(paths: BrokerPaths): string {
  return `127.0.0.1:${paths.port}`;
}

/**
 * True when `brokers` is the lab's embedded broker (localhost or 127.0.0.1
 * on its port), which the lab may stop and start.
 *
 * @example
 * ```ts
 * isEmbeddedBroker(["localhost:9092"]); // true with the default port
 * ```
 */
export function isEmbeddedBroker(brokers: string[], paths: BrokerPaths = brokerPaths()): boolean {
  return brokers.length === 1 &&
    [`127.0.0.1:${paths.port}`, `localhost:${paths.port}`].includes(brokers[0]);
}

/**
 * The broker's settings, tuned for a one-node lab: replication factor 1 for
 * the internal topics, no initial rebalance delay (members are assigned at
 * once), listeners on loopback only, no topic auto-creation (a missing topic
 * is an error the lab reports, not a surprise 1-partition topic).
 *
 * @example
 * ```ts
 * serverProperties(brokerPaths()).includes("group.initial.rebalance.delay.ms=0"); // true
 * ```
 */
export function serverProperties(
  paths: BrokerPaths,
  sasl?: SaslListener,
  overrides: Record<string, string | number> = {},
): string {
  const settings: Record<string, string | number> = {
    "process.roles": "broker,controller",
    "node.id": 1,
    "controller.quorum.bootstrap.servers": `127.0.0.1:${paths.controllerPort}`,
    "listeners":
      `PLAINTEXT://127.0.0.1:${paths.port},CONTROLLER://127.0.0.1:${paths.controllerPort}`,
    "advertised.listeners": `PLAINTEXT://127.0.0.1:${paths.port}`,
    "controller.listener.names": "CONTROLLER",
    "inter.broker.listener.name": "PLAINTEXT",
    "listener.security.protocol.map": "CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
    "log.dirs": paths.logDirs,
    "num.partitions": 3,
    "auto.create.topics.enable": "false",
    "offsets.topic.replication.factor": 1,
    "offsets.topic.num.partitions": 10,
    "transaction.state.log.replication.factor": 1,
    "transaction.state.log.min.isr": 1,
    "share.coordinator.state.topic.replication.factor": 1,
    "share.coordinator.state.topic.min.isr": 1,
    "group.initial.rebalance.delay.ms": 0,
    // Consumer-protocol (KIP-848) members get their timing from the broker: the lab's (LAB_TIMING).
    "group.consumer.min.session.timeout.ms": 6000,
    "group.consumer.session.timeout.ms": 10_000,
    "group.consumer.min.heartbeat.interval.ms": 500,
    "group.consumer.heartbeat.interval.ms": 500,
    "log.retention.hours": 24,
  };
  if (sasl) {
    const plainUsers = Object.entries(sasl.users).map(([u, p]) => `user_${u}="${p}"`).join(" ");
    Object.assign(settings, {
      "listeners": `${settings.listeners},SASL_PLAINTEXT://127.0.0.1:${sasl.port}`,
      "advertised.listeners": `${
        settings["advertised.listeners"]
      },SASL_PLAINTEXT://127.0.0.1:${sasl.port}`,
      "listener.security.protocol.map": `${
        settings["listener.security.protocol.map"]
      },SASL_PLAINTEXT:SASL_PLAINTEXT`,
      "sasl.enabled.mechanisms": "PLAIN,SCRAM-SHA-256,SCRAM-SHA-512",
      "listener.name.sasl_plaintext.plain.sasl.jaas.config":
        `org.apache.kafka.common.security.plain.PlainLoginModule required ${plainUsers};`,
      "listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config":
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
      "listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config":
        "org.apache.kafka.common.security.scram.ScramLoginModule required;",
    });
  }
  Object.assign(settings, overrides);
  return Object.entries(settings).map(([k, v]) => `${k}=${v}`).join("\n") + "\n";
}

async function commandOutput(cmd: string, args: string[]): Promise<string | undefined> {
  try {
    const out = await runCommand(cmd, args);
    return out.stderr + out.stdout;
  } catch {
    return undefined; // not installed
  }
}

/**
 * Finds a Java 17+ runtime (`$JAVA_HOME/bin/java`, else `java` on PATH), or
 * throws a one-line {@linkcode LabError} saying what to install.
 *
 * @example
 * ```ts
 * const java = await findJava(); // "/usr/bin/java"
 * ```
 */
export async function findJava(): Promise<string> {
  const home = env("JAVA_HOME");
  const java = home ? `${home}/bin/java` : "java";
  const version = await commandOutput(java, ["-version"]);
  if (version === undefined) {
    throw new LabError(
      "Java 17+ is needed to run the lab's Kafka broker and was not found: install a JDK " +
        "(e.g. `apt install openjdk-17-jre-headless`), or use Docker: `docker compose up -d`",
    );
  }
  const major = Number(/version "(?:1\.)?(\d+)/.exec(version)?.[1] ?? 0);
  if (major < 17) {
    throw new LabError(
      `Kafka 4 needs Java 17+, but ${java} is Java ${major}: install a newer JDK and set ` +
        "JAVA_HOME, or use Docker: `docker compose up -d`",
    );
  }
  return java;
}

/** Files and bytes downloaded so far, counted from mvn's `Downloaded from` lines. */
export interface DownloadProgress {
  files: number;
  bytes: number;
}

/** What a first fetch downloads into an empty Maven repository: Maven's plugins, Kafka's jars. */
const EXPECTED_DOWNLOAD_BYTES = 65e6;

/** Maven's transfer sizes are decimal: 1 kB = 1000 B. */
const MAVEN_SIZE_UNITS: Record<string, number> = { B: 1, kB: 1e3, MB: 1e6, GB: 1e9 };

/**
 * Counts one line of `mvn -B` output: a `Downloaded from <repository>: <url>
 * (<size> at <speed>)` line adds a file and its size; any other line returns
 * `progress` itself.
 *
 * @example
 * ```ts
 * countDownload({ files: 0, bytes: 0 }, "[INFO] Downloaded from central: https://host/a.jar (6.9 MB at 12 MB/s)");
 * // { files: 1, bytes: 6900000 }
 * ```
 */
export function countDownload(progress: DownloadProgress, line: string): DownloadProgress {
  const match = /Downloaded from [^:]+: \S+ \((\d+(?:\.\d+)?) (B|kB|MB|GB) at /.exec(line);
  if (!match) return progress;
  return {
    files: progress.files + 1,
    bytes: progress.bytes + Math.round(Number(match[1]) * MAVEN_SIZE_UNITS[match[2]]),
  };
}

/**
 * The download so far, for a progress line; `done` leaves out the expected total.
 *
 * @example
 * ```ts
 * downloadProgressText({ files: 312, bytes: 41_230_000 }); // "312 files, 41.2 of ~65 MB"
 * downloadProgressText({ files: 545, bytes: 64_760_000 }, true); // "545 files, 64.8 MB"
 * ```
 */
export function downloadProgressText(progress: DownloadProgress, done = false): string {
  const files = `${progress.files} file${progress.files === 1 ? "" : "s"}`;
  const megabytes = (progress.bytes / 1e6).toFixed(1);
  return `${files}, ${megabytes}${done ? "" : ` of ~${EXPECTED_DOWNLOAD_BYTES / 1e6}`} MB`;
}

/**
 * Which quarter of the expected download `bytes` has reached (0 to 4): where
 * output cannot redraw in place, a line is printed at each new quarter.
 *
 * @example
 * ```ts
 * downloadQuarter(33e6); // 2
 * ```
 */
export function downloadQuarter(bytes: number): number {
  return Math.min(4, Math.floor(bytes / (EXPECTED_DOWNLOAD_BYTES / 4)));
}

/**
 * Makes sure Kafka's jars are in `kafka/libs`, fetching them once with
 * `mvn dependency:copy-dependencies` (about 55 MB of jars). With `onProgress`,
 * reports the download: one line redrawn in place on a terminal, else a line
 * at each quarter.
 *
 * @example
 * ```ts
 * await fetchKafkaJars(brokerPaths(), console.log);
 * ```
 */
export async function fetchKafkaJars(
  paths: BrokerPaths,
  onProgress?: (line: string) => void,
): Promise<void> {
  const marker = `${paths.libsDir}/.complete`;
  const pom = await readTextFile(paths.pomFile);
  if (await exists(marker) && (await readTextFile(marker)) === pom) return;
  if ((await commandOutput("mvn", ["-v"])) === undefined) {
    throw new LabError(
      "Maven (`mvn`) is needed once to fetch Kafka's jars and was not found: install it " +
        "(e.g. `apt install maven`), or use Docker: `docker compose up -d`",
    );
  }
  onProgress?.("Fetching Apache Kafka's jars with mvn (first run only, ~55 MB of jars)...");
  const inPlace = onProgress !== undefined && stdoutIsTerminal();
  // A closed terminal must not fail the fetch.
  const redraw = (text: string) => writeOutput(`\r${text}\x1b[K`).catch(() => {});
  const transcript: string[] = [];
  let progress: DownloadProgress = { files: 0, bytes: 0 };
  const mvn = spawnProcess("mvn", [
    "-B",
    "-f",
    paths.pomFile,
    "dependency:copy-dependencies",
    `-DoutputDirectory=${paths.libsDir}`,
    "-DincludeScope=runtime",
  ], {
    onLine: (line) => {
      transcript.push(line);
      const next = countDownload(progress, line);
      if (next === progress || onProgress === undefined) return;
      if (inPlace) redraw(`  ... ${downloadProgressText(next)}`);
      else if (downloadQuarter(next.bytes) > downloadQuarter(progress.bytes)) {
        onProgress(`  ... ${downloadProgressText(next)}`);
      }
      progress = next;
    },
  });
  const code = await mvn.exited;
  if (inPlace) await redraw("");
  if (code !== 0) {
    const errors = transcript.filter((l) => l.includes("ERROR"));
    throw new LabError(
      `mvn could not fetch Kafka's jars: ${
        errors[0]?.replace(/^\[ERROR\]\s*/, "") ?? "see mvn output"
      }`,
    );
  }
  await writeTextFile(marker, pom);
  onProgress?.(
    `Kafka jars ready in ${paths.libsDir} (downloaded ${downloadProgressText(progress, true)}).`,
  );
}

/**
 * A new KRaft cluster id, made the way Kafka's `Uuid.randomUuid()` makes one:
 * the 16 bytes of a random version-4 UUID in URL-safe base64 without padding,
 * drawn again while it starts with `-`, which Kafka's storage tool would read
 * as an option. (Kafka also skips its reserved ids, all zeros and 1; a
 * version-4 UUID is never one of them.)
 *
 * @example
 * ```ts
 * newClusterId(); // "MkU3OEVBNTcwNTJENDM2Qk"
 * ```
 */
export function newClusterId(): string {
  while (true) {
    const hex = crypto.randomUUID().replaceAll("-", "");
    const bytes = hex.match(/../g)!.map((pair) => parseInt(pair, 16));
    const id = btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
      .replace(/=+$/, "");
    if (!id.startsWith("-")) return id;
  }
}

/** 22 URL-safe base64 characters (16 bytes), not starting with `-`. */
function isUsableClusterId(id: string): boolean {
  return /^[A-Za-z0-9_][A-Za-z0-9_-]{21}$/.test(id);
}

function classpath(paths: BrokerPaths): string {
  return `${paths.libsDir}/*`;
}

/**
 * Java command line to run one of Kafka's classes with Kafka's jars, like
 * `kafka-run-class.sh`. Tools log warnings to stderr only, so their stdout is
 * just their output; the broker (`kafka.Kafka`) logs at INFO.
 *
 * @example
 * ```ts
 * const args = javaArgs(brokerPaths(), "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand",
 *   ["--bootstrap-server", "127.0.0.1:9092", "--list"]);
 * ```
 */
export function javaArgs(
  paths: BrokerPaths,
  mainClass: string,
  args: string[],
  jvm: string[] = [],
): string[] {
  const logConfig = mainClass === "kafka.Kafka" ? paths.log4jFile : paths.toolsLog4jFile;
  return [
    ...jvm,
    `-Dlog4j2.configurationFile=${logConfig}`,
    "-Djava.awt.headless=true",
    "-cp",
    classpath(paths),
    mainClass,
    ...args,
  ];
}

async function readPidFile(path: string): Promise<number | undefined> {
  try {
    const pid = Number((await readTextFile(path)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The pid in the broker's pid file, and whether it is this state folder's
 * broker: a live process running `kafka.Kafka` with this folder's
 * server.properties. A pid the system has since given to another process is
 * `stale`, never the broker.
 */
async function pidFileState(
  paths: BrokerPaths,
): Promise<{ pid?: number; stalePid?: number }> {
  const pid = await readPidFile(paths.pidFile);
  if (pid === undefined) return {};
  const commandLine = await processCommandLine(pid);
  const isBroker = commandLine !== undefined && commandLine.includes("kafka.Kafka") &&
    commandLine.includes(paths.propertiesFile);
  return isBroker ? { pid } : { stalePid: pid };
}

/**
 * The embedded broker running from this state folder, if any, with the port
 * it was started on (from its server.properties: it may not be the one asked
 * for now, e.g. when KAFKA_PORT changed since).
 */
async function runningBroker(
  paths: BrokerPaths,
): Promise<{ pid: number; port: number } | undefined> {
  const { pid } = await pidFileState(paths);
  if (pid === undefined) return undefined;
  const properties = await readTextFile(paths.propertiesFile).catch(() => "");
  const port = /^advertised\.listeners=PLAINTEXT:\/\/[^:]+:(\d+)/m.exec(properties)?.[1];
  return { pid, port: port ? Number(port) : paths.port };
}

/** What {@linkcode brokerStatus} reports. */
export interface BrokerStatus {
  address: string;
  /** pid of the embedded broker process, if one is running. */
  pid?: number;
  /** The pid file names a process that is not the lab's broker (its pid was reused). */
  stalePid?: number;
  /** A broker answered a metadata request at the address. */
  answering: boolean;
  /** What the probe of the address found. */
  found: ProbeResult;
  logFile: string;
}

/**
 * Reports whether the embedded broker process runs and whether anything
 * answers at its address (which may be a Docker broker instead).
 *
 * @example
 * ```ts
 * const { answering } = await brokerStatus();
 * ```
 */
export async function brokerStatus(options: BrokerOptions = {}): Promise<BrokerStatus> {
  const paths = brokerPaths(options);
  const { stalePid } = await pidFileState(paths);
  const running = await runningBroker(paths);
  const address = brokerAddress(running ? { ...paths, port: running.port } : paths);
  const found = await probeBroker([address], 1500, PLAINTEXT);
  return {
    address,
    pid: running?.pid,
    stalePid,
    answering: found === "ok",
    found,
    logFile: paths.logFile,
  };
}

/** The command a learner types for `action` on this broker (its port matters to start only). */
function brokerCommand(paths: BrokerPaths, action: "start" | "stop" | "reset"): string {
  // A node of the lab's cluster (lib/kafka/cluster.ts) is started, stopped and reset with the rest.
  if (dirname(paths.stateDir) === clusterStateDir()) return `deno task broker ${action} --nodes 3`;
  const usual = brokerPaths();
  const flags = [
    ...(action === "start" && paths.port !== usual.port ? [`--port ${paths.port}`] : []),
    ...(paths.stateDir !== usual.stateDir ? [`--data-dir ${paths.stateDir}`] : []),
  ];
  return ["deno task broker", action, ...flags].join(" ");
}

/** One line: the broker's storage cannot be used, why, and how to start afresh. */
function damagedStorage(paths: BrokerPaths, why: string): LabError {
  return new LabError(
    `the broker's storage in ${paths.logDirs} cannot be used (${why}): ` +
      `\`${brokerCommand(paths, "reset")}\` wipes the lab's broker state (topics, offsets, ` +
      `cluster id), then \`${brokerCommand(paths, "start")}\` starts a new one`,
  );
}

async function readProperties(path: string): Promise<Record<string, string> | undefined> {
  const text = await readTextFile(path).catch(() => undefined);
  if (text === undefined) return undefined;
  return Object.fromEntries(
    text.split("\n").flatMap((line) => {
      const match = /^\s*([^#!\s][^=]*?)\s*=\s*(.*?)\s*$/.exec(line);
      return match ? [[match[1], match[2]]] : [];
    }),
  );
}

/**
 * The cluster id to format storage with: the stored one, or a new one (kept
 * in the state folder) when there is none or it is one Kafka's storage tool
 * cannot take (ids from before the lab made them as Kafka does could start
 * with `-`).
 */
async function clusterIdToFormat(
  paths: BrokerPaths,
  onProgress: (line: string) => void,
): Promise<string> {
  const stored = (await readTextFile(paths.clusterIdFile).catch(() => "")).trim();
  if (isUsableClusterId(stored)) return stored;
  const clusterId = newClusterId();
  await writeTextFile(paths.clusterIdFile, clusterId + "\n");
  if (stored !== "") {
    onProgress(
      `The stored cluster id '${stored}' is not one Kafka's storage tool accepts; storage is ` +
        `not formatted yet, so a new one replaces it in ${paths.clusterIdFile}.`,
    );
  }
  return clusterId;
}

/**
 * Makes sure the storage is formatted and usable before launching the broker:
 * formats it the first time; refuses in one line, naming the fix, storage
 * that Kafka would reject (a broken or missing meta.properties beside
 * existing metadata: the broker would fail after a minute of retries).
 */
async function prepareStorage(
  paths: BrokerPaths,
  java: string,
  onProgress: (l: string) => void,
  sasl?: SaslListener,
  quorum?: QuorumNode,
) {
  const metaFile = `${paths.logDirs}/meta.properties`;
  const meta = await readProperties(metaFile);
  const nodeId = String(quorum?.nodeId ?? 1);
  if (meta) {
    if (meta["node.id"] !== nodeId || !meta["cluster.id"]) {
      throw damagedStorage(paths, `${metaFile} has no node.id=${nodeId} and cluster.id`);
    }
    const stored = (await readTextFile(paths.clusterIdFile).catch(() => "")).trim();
    if (stored !== "" && stored !== meta["cluster.id"]) {
      throw damagedStorage(
        paths,
        `it belongs to cluster ${meta["cluster.id"]}, ${paths.clusterIdFile} says ${stored}`,
      );
    }
    return;
  }
  if (await exists(`${paths.logDirs}/__cluster_metadata-0`)) {
    throw damagedStorage(paths, `${metaFile} is missing`);
  }
  if (quorum) await writeTextFile(paths.clusterIdFile, quorum.clusterId + "\n");
  const clusterId = quorum?.clusterId ?? await clusterIdToFormat(paths, onProgress);
  onProgress(
    `Formatting KRaft storage${quorum ? ` of node ${nodeId}` : ""} (cluster id ${clusterId})...`,
  );
  const out = await runCommand(
    java,
    javaArgs(paths, "kafka.tools.StorageTool", [
      "format",
      `--cluster-id=${clusterId}`,
      "-c",
      paths.propertiesFile,
      ...(quorum ? ["--initial-controllers", quorum.initialControllers] : ["--standalone"]),
      // SCRAM credentials live in the cluster metadata: KRaft adds them at format time.
      ...Object.entries(sasl?.users ?? {}).flatMap(([user, password]) =>
        ["SCRAM-SHA-256", "SCRAM-SHA-512"].flatMap((m) => [
          "--add-scram",
          `${m}=[name=${user},password=${password}]`,
        ])
      ),
    ]),
  );
  if (out.code !== 0) {
    const text = `${out.stderr}\n${out.stdout}`;
    throw new LabError(`formatting Kafka storage failed: ${text.trim().split("\n").at(-1)}`);
  }
}

/**
 * Why a broker start failed, from what the broker's log gained during this
 * start (`logText`, never an earlier run's), as one line that says what to
 * do: a port in use, damaged storage, else the first error.
 *
 * @example
 * ```ts
 * explainStartupFailure("... failed to bind to 127.0.0.1:9093: Address already in use.", brokerPaths());
 * // "port 9093 (the broker's controller port) is in use by another program: ..."
 * ```
 */
export function explainStartupFailure(logText: string, paths: BrokerPaths): string {
  const busy = /failed to bind to [^\s:]+:(\d+): Address already in use/.exec(logText)?.[1];
  if (busy) {
    const role = Number(busy) === paths.controllerPort ? "controller" : "client";
    return `port ${busy} (the broker's ${role} port) is in use by another program: stop it ` +
      `(\`ss -ltnp | grep :${busy}\` names it), or run the lab's broker on two other free ports, ` +
      "e.g. `KAFKA_PORT=19092 deno task broker start` (it uses KAFKA_PORT and KAFKA_PORT + 1)";
  }
  const storage =
    /node ID not found in \S+|Invalid cluster\.id in: [^\n]+|unable to register with the controller quorum/
      .exec(logText)?.[0];
  if (storage) return damagedStorage(paths, `Kafka says: ${storage}`).message;
  const firstError = logText.split("\n").find((l) => /ERROR|Exception|Error:/.test(l));
  return `the Kafka broker exited during start-up: ${
    firstError?.slice(0, 300) ?? "no error in its log"
  } (full log: ${paths.logFile})`;
}

/** Last `count` lines of the broker log (for errors and `broker logs`). */
export async function brokerLogTail(options: BrokerOptions = {}, count = 20): Promise<string[]> {
  try {
    const text = await readTextFile(brokerPaths(options).logFile);
    return text.trimEnd().split("\n").slice(-count);
  } catch {
    return [];
  }
}

async function logSize(paths: BrokerPaths): Promise<number> {
  return await exists(paths.logFile) ? (await readFileFrom(paths.logFile, (size) => size)).from : 0;
}

/** Result of {@linkcode startBroker}. */
export interface StartResult {
  address: string;
  /** False when a broker already answered at the address. */
  started: boolean;
  pid?: number;
  /** Milliseconds from launch until the broker answered. */
  readyMs?: number;
}

/** How long a start waits for another start of the same broker (it may be fetching jars). */
const START_LOCK_WAIT_MS = 5 * 60_000;

/**
 * Runs `launch` holding this state folder's start lock, so only one start
 * launches a broker from it at a time; a second waits for the first. A lock
 * whose holder has exited is stale and taken over.
 */
async function withStartLock<T>(
  paths: BrokerPaths,
  onProgress: (line: string) => void,
  launch: () => Promise<T>,
): Promise<T> {
  await mkdirp(paths.stateDir);
  const deadline = Date.now() + START_LOCK_WAIT_MS;
  let toldWaiting = false;
  while (!(await createFileExclusive(paths.startLockFile, `${ownPid}\n`))) {
    const holder = await readPidFile(paths.startLockFile);
    if (holder !== undefined && !processAlive(holder)) {
      await remove(paths.startLockFile);
      continue;
    }
    if (Date.now() > deadline) {
      throw new LabError(
        `another start of the lab's broker (pid ${holder}) has held ${paths.startLockFile} for ` +
          `${
            START_LOCK_WAIT_MS / 60_000
          } min: stop it, or delete that file if it is not starting one`,
      );
    }
    if (!toldWaiting) {
      onProgress(`Another start (pid ${holder}) is launching the lab's broker; waiting for it...`);
      toldWaiting = true;
    }
    await sleep(250);
  }
  try {
    return await launch();
  } finally {
    await remove(paths.startLockFile);
  }
}

/**
 * The broker already running from this folder or answering at its address,
 * ready; undefined when none is.
 */
async function existingBroker(paths: BrokerPaths): Promise<StartResult | undefined> {
  const address = brokerAddress(paths);
  const running = await runningBroker(paths);
  if (running && running.port !== paths.port) {
    throw new LabError(
      `the lab's broker already runs on 127.0.0.1:${running.port} (pid ${running.pid}, data in ` +
        `${paths.stateDir}), not on ${address}: use that port, stop it first ` +
        "(`deno task broker stop`), or give this one a folder of its own (LAB_BROKER_DIR)",
    );
  }
  if (running) {
    const readyMs = await waitUntilReady(paths, running.pid, await logSize(paths));
    return { address, started: false, pid: running.pid, readyMs };
  }
  const found = await probeBroker([address], 1500, PLAINTEXT);
  if (found === "ok") return { address, started: false };
  if (found !== "unreachable") {
    const other = paths.port === 19092 ? 29092 : 19092;
    throw new LabError(
      `something answers on ${address} but it is not Kafka (not a plaintext Kafka listener), ` +
        `so the lab's broker cannot listen there: use another port, e.g. KAFKA_PORT=${other} ` +
        `deno task broker start (or --port ${other})`,
    );
  }
  return undefined;
}

/**
 * Starts the embedded broker unless a broker already answers at its address,
 * and waits until it answers a metadata request (not a fixed sleep).
 * Fetches the jars and formats storage the first time. Starts of the same
 * broker at once launch it once: the others wait for it.
 *
 * @example
 * ```ts
 * const { address } = await startBroker({ onProgress: console.log });
 * ```
 */
export async function startBroker(options: BrokerOptions = {}): Promise<StartResult> {
  const paths = brokerPaths(options);
  const progress = options.onProgress ?? (() => {});
  return await existingBroker(paths) ??
    await withStartLock(
      paths,
      progress,
      async () => await existingBroker(paths) ?? await launchBroker(paths, options),
    );
}

/**
 * Gets a broker ready to launch without launching it: Kafka's jars (fetched
 * the first time), its server.properties, its storage formatted the first
 * time or checked (damaged storage is refused in one line). Resolves to the
 * Java to run it with. {@linkcode startBroker} does this itself; a cluster
 * does it for every node first, so that one node's damaged storage stops
 * the start before any node runs.
 *
 * @example
 * ```ts
 * const java = await prepareBroker({ onProgress: console.log });
 * ```
 */
export async function prepareBroker(options: BrokerOptions = {}): Promise<string> {
  const paths = brokerPaths(options);
  await fetchKafkaJars(paths, options.onProgress);
  const java = await findJava();
  await mkdirp(paths.logDirs);
  await writeTextFile(
    paths.propertiesFile,
    serverProperties(paths, options.sasl, options.settings),
  );
  await prepareStorage(paths, java, options.onProgress ?? (() => {}), options.sasl, options.quorum);
  return java;
}

async function launchBroker(paths: BrokerPaths, options: BrokerOptions): Promise<StartResult> {
  const address = brokerAddress(paths);
  const progress = options.onProgress ?? (() => {});
  const java = await prepareBroker(options);

  progress(`Starting Kafka on ${address} (log: ${paths.logFile})...`);
  const logStart = await logSize(paths);
  await writeTextFile(paths.logFile, `--- broker start ${new Date().toISOString()}\n`, {
    append: true,
  });
  const jvm = [
    `-Xmx${env("LAB_BROKER_HEAP") ?? "512m"}`,
    "-Xms256m",
    "-XX:+UseG1GC",
    "-XX:MaxGCPauseMillis=20",
  ];
  // sh redirects the broker's output into its log file, then becomes java (exec),
  // so the pid we record is the broker's own. detached: Ctrl+C in the terminal
  // that started it does not reach the broker.
  const child = spawnProcess("sh", [
    "-c",
    'log="$1"; shift; exec "$@" >>"$log" 2>&1 </dev/null',
    "sh",
    paths.logFile,
    java,
    ...javaArgs(paths, "kafka.Kafka", [paths.propertiesFile], jvm),
  ], { detached: true });
  await writeTextFile(paths.pidFile, `${child.pid}\n`);
  const readyMs = await waitUntilReady(paths, child.pid, logStart).catch(async (error) => {
    if (!processAlive(child.pid)) await remove(paths.pidFile); // it exited: nothing to stop
    throw error;
  });
  progress(`Kafka is ready on ${address} (${(readyMs / 1000).toFixed(1)} s).`);
  return { address, started: true, pid: child.pid, readyMs };
}

/**
 * Waits until the broker `pid` answers; if it exits first, throws why, read
 * from what its log gained after byte `logStart`.
 */
async function waitUntilReady(
  paths: BrokerPaths,
  pid: number,
  logStart: number,
  timeoutMs = 90000,
) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (!processAlive(pid)) {
      const { bytes } = await readFileFrom(paths.logFile, () => logStart)
        .catch(() => ({ bytes: new Uint8Array() }));
      throw new LabError(explainStartupFailure(new TextDecoder().decode(bytes), paths));
    }
    if ((await probeBroker([brokerAddress(paths)], 1000, PLAINTEXT)) === "ok") {
      return Date.now() - started;
    }
    await sleep(250);
  }
  throw new LabError(
    `the Kafka broker did not answer within ${timeoutMs / 1000} s (log: ${paths.logFile})`,
  );
}

/**
 * Stops the embedded broker: SIGTERM (a controlled shutdown), then SIGKILL if
 * it has not exited after `graceMs`. Resolves to false when none was running.
 * Only signals the process the pid file names when it is this folder's
 * broker; a stale pid file is removed (and said so through `onProgress`).
 *
 * @example
 * ```ts
 * await stopBroker();
 * ```
 */
export async function stopBroker(options: BrokerOptions = {}, graceMs = 30000): Promise<boolean> {
  const paths = brokerPaths(options);
  const { pid, stalePid } = await pidFileState(paths);
  if (stalePid !== undefined) {
    options.onProgress?.(
      `Removed a stale pid file: pid ${stalePid} is not the lab's broker (nothing was signalled).`,
    );
  }
  if (pid === undefined) {
    await remove(paths.pidFile);
    return false;
  }
  killProcess(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) await sleep(100);
  if (processAlive(pid)) killProcess(pid, "SIGKILL");
  await remove(paths.pidFile);
  return true;
}

/**
 * Wipes the lab's broker state in its state folder (data, log, cluster id,
 * settings, pid file), naming each path through `onProgress` before deleting
 * it; the next start formats new storage. Refuses, in one line, while the
 * broker runs or is being started; stops nothing. Resolves to what it deleted.
 *
 * @example
 * ```ts
 * await resetBroker({ onProgress: console.log });
 * ```
 */
export async function resetBroker(options: BrokerOptions = {}): Promise<string[]> {
  const paths = brokerPaths(options);
  const running = await runningBroker(paths);
  if (running) {
    throw new LabError(
      `the lab's broker runs (pid ${running.pid}): stop it first (\`${
        brokerCommand(paths, "stop")
      }\`), then reset`,
    );
  }
  const starter = await readPidFile(paths.startLockFile);
  if (starter !== undefined && processAlive(starter)) {
    throw new LabError(
      `the lab's broker is being started (pid ${starter}): wait, stop it, then reset`,
    );
  }
  const candidates = [
    paths.logDirs,
    paths.logFile,
    paths.clusterIdFile,
    paths.propertiesFile,
    paths.pidFile,
    paths.startLockFile,
  ];
  const present: string[] = [];
  for (const path of candidates) if (await exists(path)) present.push(path);
  present.forEach((path) => options.onProgress?.(`Deleting ${path}`));
  for (const path of present) await remove(path);
  return present;
}
