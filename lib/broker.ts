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
import { LabError } from "./cli.ts";
import { kafkaPort, probeBroker, type ProbeResult, type Security } from "./config.ts";
import {
  env,
  exists,
  killProcess,
  mkdirp,
  processAlive,
  projectPath,
  readTextFile,
  remove,
  runCommand,
  spawnProcess,
  writeTextFile,
} from "./runtime.ts";

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
  const stateDir = options.dataDir ?? env("LAB_BROKER_DIR") ??
    `${PROJECT_ROOT}.lab/broker`;
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
export function serverProperties(paths: BrokerPaths, sasl?: SaslListener): string {
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

/**
 * Makes sure Kafka's jars are in `kafka/libs`, fetching them once with
 * `mvn dependency:copy-dependencies` (about 55 MB) and reporting progress.
 *
 * @example
 * ```ts
 * await fetchKafkaJars(brokerPaths(), console.log);
 * ```
 */
export async function fetchKafkaJars(
  paths: BrokerPaths,
  onProgress: (line: string) => void = () => {},
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
  onProgress("Fetching Apache Kafka's jars from Maven Central (first run only, ~55 MB)...");
  const transcript: string[] = [];
  let downloaded = 0;
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
      if (line.includes("Downloaded from")) {
        downloaded++;
        if (downloaded % 10 === 0) onProgress(`  ... ${downloaded} files downloaded`);
      }
    },
  });
  if (await mvn.exited !== 0) {
    const errors = transcript.filter((l) => l.includes("ERROR"));
    throw new LabError(
      `mvn could not fetch Kafka's jars: ${
        errors[0]?.replace(/^\[ERROR\]\s*/, "") ?? "see mvn output"
      }`,
    );
  }
  await writeTextFile(marker, pom);
  onProgress(`Kafka jars ready in ${paths.libsDir} (${downloaded} files downloaded).`);
}

/** Random KRaft cluster id: 16 random bytes, URL-safe base64 without padding. */
function newClusterId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  return btoa(String.fromCharCode(...bytes)).replaceAll("+", "-").replaceAll("/", "_")
    .replace(/=+$/, "");
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

async function readPid(paths: BrokerPaths): Promise<number | undefined> {
  try {
    const pid = Number((await readTextFile(paths.pidFile)).trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

/**
 * The embedded broker running from this state folder, if any, with the port
 * it was started on (from its server.properties: it may not be the one asked
 * for now, e.g. when KAFKA_PORT changed since).
 */
async function runningBroker(
  paths: BrokerPaths,
): Promise<{ pid: number; port: number } | undefined> {
  const pid = await readPid(paths);
  if (pid === undefined || !processAlive(pid)) return undefined;
  const properties = await readTextFile(paths.propertiesFile).catch(() => "");
  const port = /^advertised\.listeners=PLAINTEXT:\/\/[^:]+:(\d+)/m.exec(properties)?.[1];
  return { pid, port: port ? Number(port) : paths.port };
}

/** What {@linkcode brokerStatus} reports. */
export interface BrokerStatus {
  address: string;
  /** pid of the embedded broker process, if one is running. */
  pid?: number;
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
  const running = await runningBroker(paths);
  const address = brokerAddress(running ? { ...paths, port: running.port } : paths);
  const found = await probeBroker([address], 1500, PLAINTEXT);
  return { address, pid: running?.pid, answering: found === "ok", found, logFile: paths.logFile };
}

async function formatStorage(
  paths: BrokerPaths,
  java: string,
  onProgress: (l: string) => void,
  sasl?: SaslListener,
) {
  if (await exists(`${paths.logDirs}/meta.properties`)) return;
  let clusterId: string;
  try {
    clusterId = (await readTextFile(paths.clusterIdFile)).trim();
  } catch {
    clusterId = newClusterId();
    await writeTextFile(paths.clusterIdFile, clusterId + "\n");
  }
  onProgress(`Formatting KRaft storage (cluster id ${clusterId})...`);
  const out = await runCommand(
    java,
    javaArgs(paths, "kafka.tools.StorageTool", [
      "format",
      "-t",
      clusterId,
      "-c",
      paths.propertiesFile,
      "--standalone",
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

/** Last `count` lines of the broker log (for errors and `broker logs`). */
export async function brokerLogTail(options: BrokerOptions = {}, count = 20): Promise<string[]> {
  try {
    const text = await readTextFile(brokerPaths(options).logFile);
    return text.trimEnd().split("\n").slice(-count);
  } catch {
    return [];
  }
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

/**
 * Starts the embedded broker unless a broker already answers at its address,
 * and waits until it answers a metadata request (not a fixed sleep).
 * Fetches the jars and formats storage the first time.
 *
 * @example
 * ```ts
 * const { address } = await startBroker({ onProgress: console.log });
 * ```
 */
export async function startBroker(options: BrokerOptions = {}): Promise<StartResult> {
  const paths = brokerPaths(options);
  const address = brokerAddress(paths);
  const progress = options.onProgress ?? (() => {});
  const running = await runningBroker(paths);
  if (running && running.port !== paths.port) {
    throw new LabError(
      `the lab's broker already runs on 127.0.0.1:${running.port} (pid ${running.pid}, data in ` +
        `${paths.stateDir}), not on ${address}: use that port, stop it first ` +
        "(`deno task broker stop`), or give this one a folder of its own (LAB_BROKER_DIR)",
    );
  }
  if (running) {
    const readyMs = await waitUntilReady(paths, running.pid);
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

  await fetchKafkaJars(paths, progress);
  const java = await findJava();
  await mkdirp(paths.logDirs);
  await writeTextFile(paths.propertiesFile, serverProperties(paths, options.sasl));
  await formatStorage(paths, java, progress, options.sasl);

  progress(`Starting Kafka on ${address} (log: ${paths.logFile})...`);
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
  const readyMs = await waitUntilReady(paths, child.pid);
  progress(`Kafka is ready on ${address} (${(readyMs / 1000).toFixed(1)} s).`);
  return { address, started: true, pid: child.pid, readyMs };
}

async function waitUntilReady(paths: BrokerPaths, pid: number, timeoutMs = 90000) {
  const started = Date.now();
  while (Date.now() - started < timeoutMs) {
    if (!processAlive(pid)) {
      const tail = (await brokerLogTail({ dataDir: paths.stateDir }, 200))
        .filter((l) => /ERROR|Exception|Error:/.test(l));
      throw new LabError(
        `the Kafka broker exited during start-up: ${
          tail.at(0)?.slice(0, 300) ?? "no error in its log"
        } (full log: ${paths.logFile})`,
      );
    }
    if ((await probeBroker([brokerAddress(paths)], 1000, PLAINTEXT)) === "ok") {
      return Date.now() - started;
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new LabError(
    `the Kafka broker did not answer within ${timeoutMs / 1000} s (log: ${paths.logFile})`,
  );
}

/**
 * Stops the embedded broker: SIGTERM (a controlled shutdown), then SIGKILL if
 * it has not exited after `graceMs`. Resolves to false when none was running.
 *
 * @example
 * ```ts
 * await stopBroker();
 * ```
 */
export async function stopBroker(options: BrokerOptions = {}, graceMs = 30000): Promise<boolean> {
  const paths = brokerPaths(options);
  const pid = await readPid(paths);
  if (pid === undefined || !processAlive(pid)) {
    await remove(paths.pidFile);
    return false;
  }
  killProcess(pid, "SIGTERM");
  const deadline = Date.now() + graceMs;
  while (processAlive(pid) && Date.now() < deadline) {
    await new Promise((r) => setTimeout(r, 100));
  }
  if (processAlive(pid)) killProcess(pid, "SIGKILL");
  await remove(paths.pidFile);
  return true;
}
