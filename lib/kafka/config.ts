/**
 * Client configuration: where Kafka is and how every kafkajs client is built.
 *
 * One function, {@linkcode createKafka}, builds every client in the lab so
 * that client ids, logging and timeouts are the same everywhere.
 *
 * @module
 */
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import { LabError, UsageError } from "../platform/errors.ts";
import { intFlag } from "../platform/input.ts";
import { resolve } from "node:path";
import {
  env as runtimeEnv,
  isFileSync,
  projectPath,
  readTextFileSync,
} from "../platform/runtime.ts";

/** The topic every lesson uses, as in the seed. */
export const ORDER_TOPIC = "order-events";
/** Partition count of {@linkcode ORDER_TOPIC}, as in the seed. */
export const ORDER_PARTITIONS = 3;
/**
 * The client port of the lab's own broker: `KAFKA_PORT`, else 9092. Checked
 * like `--port` (1 to 65534: the controller listens on the next port), so a
 * bad value is one line and exit 2 in every command that reads it.
 *
 * @example
 * ```ts
 * kafkaPort(); // 9092, or 19092 with KAFKA_PORT=19092
 * ```
 */
export function kafkaPort(): number {
  const raw = runtimeEnv("KAFKA_PORT");
  return raw === undefined ? 9092 : intFlag("KAFKA_PORT", raw, { min: 1, max: 65534 });
}

/**
 * The state folder of the lab's 3-node cluster (`deno task broker start
 * --nodes 3`): `LAB_CLUSTER_DIR`, else `.lab/cluster`, apart from the single
 * broker's `.lab/broker`.
 *
 * @example
 * ```ts
 * clusterStateDir(); // "/home/me/consumer-group-lab/.lab/cluster"
 * ```
 */
export function clusterStateDir(): string {
  return resolve(runtimeEnv("LAB_CLUSTER_DIR") ?? projectPath(".lab/cluster"));
}

/**
 * The file naming the cluster's nodes while it runs: written when
 * `deno task broker start --nodes 3` has it ready, removed by `stop`.
 *
 * @example
 * ```ts
 * clusterBrokersFile(); // "/home/me/consumer-group-lab/.lab/cluster/brokers"
 * ```
 */
export function clusterBrokersFile(): string {
  return `${clusterStateDir()}/brokers`;
}

/**
 * The nodes of the lab's 3-node cluster while it is meant to run (named in
 * {@linkcode clusterBrokersFile}), else none.
 *
 * @example
 * ```ts
 * runningClusterBrokers(); // ["127.0.0.1:9094", "127.0.0.1:9096", "127.0.0.1:9098"] after `broker start --nodes 3`
 * ```
 */
export function runningClusterBrokers(): string[] {
  const file = clusterBrokersFile();
  if (!isFileSync(file)) return [];
  return readTextFileSync(file).trim().split(",").filter((b) => b !== "");
}

/**
 * True when `brokers` are the lab's 3-node cluster: the lab must then not
 * start its single broker in their place when they do not answer.
 *
 * @example
 * ```ts
 * isLabCluster(["localhost:9092"]); // false
 * ```
 */
export function isLabCluster(brokers: string[]): boolean {
  const cluster = runningClusterBrokers();
  return cluster.length > 0 && brokers.join(",") === cluster.join(",");
}

/**
 * The bootstrap address used when neither `--brokers` nor `KAFKA_BROKERS` is
 * set: the lab's 3-node cluster while it runs (the nodes in
 * {@linkcode clusterBrokersFile}), else the lab's own broker,
 * `localhost:9092`, or the port `KAFKA_PORT` moves it to (so
 * `KAFKA_PORT=19092 deno task demo` starts and uses a broker there).
 *
 * @example
 * ```ts
 * defaultBrokers(); // "localhost:9092"
 * ```
 */
export function defaultBrokers(): string {
  return runningClusterBrokers().join(",") || `localhost:${kafkaPort()}`;
}

/**
 * Resolves the bootstrap servers: the `--brokers` flag, else the
 * `KAFKA_BROKERS` environment variable, else {@linkcode defaultBrokers}.
 * Accepts a comma-separated list of `host:port`.
 *
 * @example
 * ```ts
 * resolveBrokers("127.0.0.1:9092,127.0.0.1:9094"); // ["127.0.0.1:9092", "127.0.0.1:9094"]
 * ```
 */
export function resolveBrokers(flag?: string): string[] {
  // An empty KAFKA_BROKERS counts as unset, as shells and the lessons treat it.
  const raw = flag ?? (runtimeEnv("KAFKA_BROKERS") || defaultBrokers());
  const brokers = raw.split(",").map((b) => b.trim()).filter((b) => b !== "");
  for (const broker of brokers) {
    const match = /^(\[[^\]]+\]|[^:\s]+):(\d{1,5})$/.exec(broker);
    if (!match || Number(match[2]) < 1 || Number(match[2]) > 65535) {
      throw new UsageError(
        `bad broker address '${broker}': expected host:port, e.g. localhost:9092`,
      );
    }
  }
  if (brokers.length === 0) throw new UsageError("no broker address given");
  return brokers;
}

/** SASL mechanisms the lab's clients speak. */
export const SASL_MECHANISMS = ["plain", "scram-sha-256", "scram-sha-512"] as const;

/** TLS and SASL settings of a client, from the environment. */
export interface Security {
  ssl?: { ca?: string[]; rejectUnauthorized: boolean } | true;
  sasl?: { mechanism: (typeof SASL_MECHANISMS)[number]; username: string; password: string };
}

/**
 * Reads TLS and SASL settings from the environment, for clusters that need
 * them (Confluent Cloud, Amazon MSK, Aiven...):
 *
 * - `KAFKA_SSL=true` — TLS; `KAFKA_SSL_CA=/path/ca.pem` for a private CA;
 *   `KAFKA_SSL_INSECURE=true` skips certificate checks (never in production).
 * - `KAFKA_SASL_MECHANISM=plain|scram-sha-256|scram-sha-512`,
 *   `KAFKA_SASL_USERNAME`, `KAFKA_SASL_PASSWORD`.
 *
 * Secrets stay out of flags (they would show in `ps`) and out of every
 * message the lab prints.
 *
 * @example
 * ```ts
 * securityFromEnv(); // {} on the local broker
 * ```
 */
export function securityFromEnv(
  env: (name: string) => string | undefined = runtimeEnv,
): Security {
  const security: Security = {};
  const ssl = env("KAFKA_SSL")?.toLowerCase();
  if (ssl === "true" || ssl === "1") {
    const ca = env("KAFKA_SSL_CA");
    const insecure = ["true", "1"].includes(env("KAFKA_SSL_INSECURE")?.toLowerCase() ?? "");
    security.ssl = ca || insecure
      ? { ca: ca ? [readTextFileSync(ca)] : undefined, rejectUnauthorized: !insecure }
      : true;
  }
  const mechanism = env("KAFKA_SASL_MECHANISM")?.toLowerCase();
  if (mechanism) {
    if (!(SASL_MECHANISMS as readonly string[]).includes(mechanism)) {
      throw new UsageError(
        `KAFKA_SASL_MECHANISM must be one of ${SASL_MECHANISMS.join(", ")}, got '${mechanism}'`,
      );
    }
    const username = env("KAFKA_SASL_USERNAME");
    const password = env("KAFKA_SASL_PASSWORD");
    if (!username || !password) {
      throw new UsageError(
        `KAFKA_SASL_MECHANISM=${mechanism} needs KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
      );
    }
    security.sasl = {
      mechanism: mechanism as (typeof SASL_MECHANISMS)[number],
      username,
      password,
    };
  }
  return security;
}

/** Options for {@linkcode createKafka}. */
export interface ClientOptions {
  brokers: string[];
  /** Shown by the broker and by `describe` as CLIENT-ID. */
  clientId: string;
  /** How long to try to reach a broker before giving up (ms). */
  connectionTimeoutMs?: number;
  /** How long to wait for the answer to each request (ms). */
  requestTimeoutMs?: number;
  /** Retries for failed requests; few, so a dead broker is reported fast. */
  retries?: number;
  /** TLS/SASL; default: {@linkcode securityFromEnv}. */
  security?: Security;
  /** Sees every kafkajs log message, debug ones included (the log shown stays as set). */
  onLogMessage?: (message: string) => void;
}

/**
 * Builds a kafkajs client with the lab's settings: quiet logging (set
 * `LAB_KAFKAJS_LOG=info|debug` to see kafkajs's own log), short connection
 * timeouts, and a bounded retry budget so a dead broker is reported within
 * seconds rather than after a long retry storm.
 *
 * @example
 * ```ts
 * const kafka = createKafka({ brokers: ["localhost:9092"], clientId: "lab-admin" });
 * const admin = kafka.admin();
 * ```
 */
export function createKafka(options: ClientOptions): Kafka {
  return new Kafka(kafkaConfig(options));
}

/**
 * The settings {@linkcode createKafka} gives kafkajs, for code that writes
 * `new Kafka(...)` itself, as the scripts and lesson cells do.
 *
 * @example
 * ```ts
 * const kafka = new Kafka(kafkaConfig({ brokers: ["localhost:9092"], clientId: "consumer-1" }));
 * ```
 */
export function kafkaConfig(options: ClientOptions): KafkaConfig {
  const security = options.security ?? securityFromEnv();
  return {
    ssl: security.ssl,
    sasl: security.sasl as SASLOptions | undefined,
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: options.requestTimeoutMs ?? 30000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 300, maxRetryTime: 3000 },
    logLevel: options.onLogMessage ? logLevel.DEBUG : kafkajsLogLevel(),
    logCreator: redactingLogCreator(security.sasl?.password, options.onLogMessage),
  };
}

/**
 * kafkajs's log, one line an entry on stderr, with every secret removed: any
 * field named like a password, secret or token, and the SASL password itself
 * wherever it appears. `onLogMessage` sees every message; only those at the
 * level `LAB_KAFKAJS_LOG` asks for are printed.
 */
function redactingLogCreator(password?: string, onLogMessage?: (message: string) => void) {
  const hide = (text: string) => password ? text.replaceAll(password, "[redacted]") : text;
  const shown = kafkajsLogLevel();
  return () =>
  (
    { namespace, level, label, log }: {
      namespace: string;
      level: logLevel;
      label: string;
      log: { message: string; timestamp?: string; logger?: string } & Record<string, unknown>;
    },
  ) => {
    onLogMessage?.(log.message);
    if (level > shown) return;
    const { message, timestamp: _t, logger: _l, ...extra } = log;
    const fields = JSON.stringify(
      extra,
      (key, value) => /password|secret|token/i.test(key) ? "[redacted]" : value,
    );
    console.error(hide(`[kafkajs] ${label} ${namespace}: ${message} ${fields}`));
  };
}

function kafkajsLogLevel(): logLevel {
  switch (runtimeEnv("LAB_KAFKAJS_LOG")?.toLowerCase()) {
    case "debug":
      return logLevel.DEBUG;
    case "info":
      return logLevel.INFO;
    case "warn":
      return logLevel.WARN;
    case "error":
      return logLevel.ERROR;
    default:
      return logLevel.NOTHING;
  }
}

/**
 * The one-line advice shown whenever Kafka cannot be reached.
 *
 * @example
 * ```ts
 * unreachableMessage(["localhost:9092"]);
 * ```
 */
export function unreachableMessage(brokers: string[]): string {
  if (isLabCluster(brokers)) {
    return `cannot reach the lab's 3-node cluster at ${brokers.join(",")} (the lab's commands ` +
      `use it since \`deno task broker start --nodes 3\`, see ${clusterBrokersFile()}): start ` +
      "it again with `deno task broker start --nodes 3`, or `deno task broker stop --nodes 3` " +
      "to use the single broker again";
  }
  return `cannot reach Kafka at ${brokers.join(",")}: start the lab's broker with ` +
    "`deno task broker start` (or `docker compose up -d`), or point KAFKA_BROKERS / --brokers at a running cluster";
}

/**
 * What a probe of the cluster found: Kafka answered ("ok"), nothing answered
 * ("unreachable"), something answered that does not speak Kafka ("not-kafka"),
 * the client's security settings do not fit the listener ("sasl-not-enabled":
 * SASL settings against a listener without SASL; "sasl-required": none
 * against one that needs them; "tls-failed": TLS against one without), or
 * the credentials were refused.
 */
export type ProbeResult =
  | "ok"
  | "unreachable"
  | "not-kafka"
  | "sasl-not-enabled"
  | "sasl-required"
  | "tls-failed"
  | { authFailed: string };

/** kafkajs errors wrap their cause: the chain, outermost first. */
function errorChain(error: unknown): Error[] {
  const chain: Error[] = [];
  for (let e = error; e instanceof Error && chain.length < 5;) {
    chain.push(e);
    const inner = e as { cause?: unknown; originalError?: unknown };
    e = inner.cause ?? inner.originalError;
  }
  return chain;
}

/**
 * Asks the cluster for its metadata and says within `timeoutMs` what it
 * found (see {@linkcode ProbeResult}). Never throws; leaves no client behind.
 * `security` defaults to {@linkcode securityFromEnv}.
 *
 * @example
 * ```ts
 * await probeBroker(["localhost:9092"]); // "ok"
 * ```
 */
export async function probeBroker(
  brokers: string[],
  timeoutMs = 2000,
  security: Security = securityFromEnv(),
): Promise<ProbeResult> {
  // kafkajs connects, then asks ApiVersions first: a request sent and never
  // answered as Kafka answers means something else holds the port.
  let stage: "connecting" | "asked" | "kafka-answered" = "connecting";
  const admin = createKafka({
    brokers,
    clientId: "lab-probe",
    connectionTimeoutMs: Math.min(timeoutMs, 3000),
    requestTimeoutMs: timeoutMs,
    // kafkajs tries another seed broker on each retry: a cluster with a node down still answers.
    retries: brokers.length - 1,
    security,
    onLogMessage: (message) => {
      if (stage === "connecting" && message.startsWith("Request ApiVersions")) stage = "asked";
      if (message.startsWith("Response ApiVersions")) stage = "kafka-answered";
    },
  }).admin();
  const classify = (error: unknown): ProbeResult => {
    const chain = errorChain(error);
    const type = (chain.find((e) => "type" in e) as { type?: string } | undefined)?.type;
    if (type === "ILLEGAL_SASL_STATE") return "sasl-not-enabled";
    const refused = chain.find((e) => e.name === "KafkaJSSASLAuthenticationError") ??
      chain.find((e) => /authentication/i.test(e.message));
    if (refused) return { authFailed: refused.message };
    if (stage === "kafka-answered") {
      // Kafka answered, then the SASL exchange failed (e.g. a mechanism it does not enable).
      return security.sasl ? { authFailed: chain[0]?.message ?? "" } : "sasl-required";
    }
    if (security.ssl && chain.some((e) => /TLS|SSL|certificate/i.test(e.message))) {
      return "tls-failed";
    }
    return stage === "asked" ? "not-kafka" : "unreachable";
  };
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve(classify(new Error("no answer in time"))), timeoutMs + 250);
  });
  const probe = (async (): Promise<ProbeResult> => {
    try {
      await admin.connect();
      await admin.describeCluster();
      return "ok";
    } catch (error) {
      return classify(error);
    }
  })();
  try {
    return await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
    // Not awaited: a peer that never answers must not hold the caller past its deadline.
    admin.disconnect().catch(() => {});
  }
}

/**
 * The one line that says what a failed probe found and what to do.
 *
 * @example
 * ```ts
 * probeMessage(["localhost:9092"], "not-kafka");
 * // "something answers on localhost:9092 but it is not Kafka: ..."
 * ```
 */
export function probeMessage(brokers: string[], result: Exclude<ProbeResult, "ok">): string {
  const at = brokers.join(",");
  const mismatch = `the security settings do not match the listener at ${at}`;
  if (typeof result === "object") {
    const { sasl } = securityFromEnv();
    return `authentication failed at ${at} as '${sasl?.username ?? "?"}' ` +
      `(SASL ${sasl?.mechanism ?? "?"}): check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`;
  }
  switch (result) {
    case "unreachable":
      return unreachableMessage(brokers);
    case "not-kafka":
      return `something answers on ${at} but it is not Kafka (it does not answer Kafka's ` +
        "requests): point KAFKA_BROKERS / --brokers at a Kafka broker, or run the lab's " +
        "broker on another port (KAFKA_PORT)";
    case "sasl-not-enabled":
      return `${mismatch}: KAFKA_SASL_MECHANISM is set but this listener does not use SASL ` +
        "(Kafka: 'Request is not valid given the current SASL state'): unset KAFKA_SASL_*, " +
        "or point KAFKA_BROKERS at the SASL listener";
    case "sasl-required":
      return `${mismatch}: Kafka answered, then closed the connection when asked for ` +
        "metadata, as a SASL listener does with a client that does not authenticate: set " +
        "KAFKA_SASL_MECHANISM, KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD";
    case "tls-failed":
      return `${mismatch}: KAFKA_SSL is set but the TLS handshake failed: unset KAFKA_SSL ` +
        "for a plaintext listener, or point KAFKA_BROKERS at the TLS listener";
  }
}

/**
 * True when a broker answers a metadata request within `timeoutMs`.
 *
 * @example
 * ```ts
 * if (!(await brokerAnswers(["localhost:9092"]))) console.log("no broker");
 * ```
 */
export async function brokerAnswers(
  brokers: string[],
  timeoutMs = 2000,
  security?: Security,
): Promise<boolean> {
  return (await probeBroker(brokers, timeoutMs, security)) === "ok";
}

/**
 * Throws a {@linkcode LabError} saying what was found and what to do unless a
 * broker answers within `timeoutMs` (5 s at most, as the lab promises).
 *
 * @example
 * ```ts
 * await requireBroker(["localhost:9092"]);
 * ```
 */
export async function requireBroker(brokers: string[], timeoutMs = 4000): Promise<void> {
  const result = await probeBroker(brokers, timeoutMs);
  if (result !== "ok") throw new LabError(probeMessage(brokers, result));
}

/** What a `@platformatic/kafka` client needs to connect: see {@linkcode protocolClientOptions}. */
export interface ProtocolClientOptions {
  clientId: string;
  bootstrapBrokers: string[];
  connectTimeout: number;
  tls?: { ca?: string[]; rejectUnauthorized: boolean };
  sasl?: {
    mechanism: "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512";
    username: string;
    password: string;
  };
}

/**
 * {@linkcode kafkaConfig}'s connection settings for a `@platformatic/kafka`
 * client (the consumer-protocol member, `GroupApis`): brokers, client id and
 * the same TLS/SASL from the environment.
 *
 * @example
 * ```ts
 * protocolClientOptions({ brokers: ["localhost:9092"], clientId: "consumer-1" }).bootstrapBrokers;
 * // ["localhost:9092"]
 * ```
 */
export function protocolClientOptions(options: ClientOptions): ProtocolClientOptions {
  const { ssl, sasl } = options.security ?? securityFromEnv();
  return {
    clientId: options.clientId,
    bootstrapBrokers: options.brokers,
    connectTimeout: options.connectionTimeoutMs ?? 3000,
    ...(ssl ? { tls: ssl === true ? { rejectUnauthorized: true } : ssl } : {}),
    ...(sasl
      ? {
        sasl: {
          mechanism: sasl.mechanism.toUpperCase() as "PLAIN" | "SCRAM-SHA-256" | "SCRAM-SHA-512",
          username: sasl.username,
          password: sasl.password,
        },
      }
      : {}),
  };
}
