/**
 * Client configuration: where Kafka is and how every kafkajs client is built.
 *
 * One function, {@linkcode createKafka}, builds every client in the lab so
 * that client ids, logging and timeouts are the same everywhere.
 *
 * @module
 */
import { Kafka, type KafkaConfig, logLevel, type SASLOptions } from "kafkajs";
import { type FlagSpec, LabError, UsageError } from "./cli.ts";
import { env as runtimeEnv, readTextFileSync } from "./runtime.ts";

/** The topic every lesson uses, as in the seed. */
export const ORDER_TOPIC = "order-events";
/** Partition count of {@linkcode ORDER_TOPIC}, as in the seed. */
export const ORDER_PARTITIONS = 3;
/**
 * The bootstrap address used when neither `--brokers` nor `KAFKA_BROKERS` is
 * set: the lab's own broker, `localhost:9092`, or the port `KAFKA_PORT` moves
 * it to (so `KAFKA_PORT=19092 deno task demo` starts and uses a broker there).
 *
 * @example
 * ```ts
 * defaultBrokers(); // "localhost:9092"
 * ```
 */
export function defaultBrokers(): string {
  return `localhost:${runtimeEnv("KAFKA_PORT") ?? 9092}`;
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
  const raw = flag ?? runtimeEnv("KAFKA_BROKERS") ?? defaultBrokers();
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

/** The `--brokers` flag every command takes. */
export const BROKERS_FLAG: FlagSpec = {
  type: "string",
  help:
    "bootstrap servers host:port,... (default KAFKA_BROKERS, else localhost:KAFKA_PORT or 9092)",
};

/** Options for {@linkcode createKafka}. */
export interface ClientOptions {
  brokers: string[];
  /** Shown by the broker and by `describe` as CLIENT-ID. */
  clientId: string;
  /** How long to try to reach a broker before giving up (ms). */
  connectionTimeoutMs?: number;
  /** Retries for failed requests; few, so a dead broker is reported fast. */
  retries?: number;
  /** TLS/SASL; default: {@linkcode securityFromEnv}. */
  security?: Security;
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
  const security = options.security ?? securityFromEnv();
  const config: KafkaConfig = {
    ssl: security.ssl,
    sasl: security.sasl as SASLOptions | undefined,
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: 30000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 300, maxRetryTime: 3000 },
    logLevel: kafkajsLogLevel(),
    logCreator: redactingLogCreator(security.sasl?.password),
  };
  return new Kafka(config);
}

/**
 * kafkajs's log, one line an entry on stderr, with every secret removed: any
 * field named like a password, secret or token, and the SASL password itself
 * wherever it appears.
 */
function redactingLogCreator(password?: string) {
  const hide = (text: string) => password ? text.replaceAll(password, "[redacted]") : text;
  return () =>
  (
    { namespace, label, log }: {
      namespace: string;
      label: string;
      log: { message: string; timestamp?: string; logger?: string } & Record<string, unknown>;
    },
  ) => {
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
  return `cannot reach Kafka at ${brokers.join(",")}: start the lab's broker with ` +
    "`deno task broker start` (or `docker compose up -d`), or point KAFKA_BROKERS / --brokers at a running cluster";
}

/** What a probe of the cluster found. */
export type ProbeResult = "ok" | "unreachable" | { authFailed: string };

/**
 * Asks the cluster for its metadata within `timeoutMs`: "ok", "unreachable",
 * or the reason authentication failed. Never throws; leaves no client behind.
 *
 * @example
 * ```ts
 * await probeBroker(["localhost:9092"]); // "ok"
 * ```
 */
export async function probeBroker(brokers: string[], timeoutMs = 2000): Promise<ProbeResult> {
  const admin = createKafka({
    brokers,
    clientId: "lab-probe",
    connectionTimeoutMs: Math.min(timeoutMs, 3000),
    retries: 0,
  }).admin();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<ProbeResult>((resolve) => {
    timer = setTimeout(() => resolve("unreachable"), timeoutMs);
  });
  const probe = (async (): Promise<ProbeResult> => {
    try {
      await admin.connect();
      await admin.describeCluster();
      return "ok";
    } catch (error) {
      const name = (error as Error)?.name ?? "";
      if (/SASL|Authentication/i.test(name) || /authentication/i.test((error as Error)?.message)) {
        return { authFailed: (error as Error).message };
      }
      return "unreachable";
    }
  })();
  try {
    return await Promise.race([probe, deadline]);
  } finally {
    clearTimeout(timer);
    await probe;
    await admin.disconnect().catch(() => {});
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
export async function brokerAnswers(brokers: string[], timeoutMs = 2000): Promise<boolean> {
  return (await probeBroker(brokers, timeoutMs)) === "ok";
}

/**
 * Throws a {@linkcode LabError} naming the address and the fix unless a broker
 * answers within `timeoutMs` (5 s at most, as the lab promises).
 *
 * @example
 * ```ts
 * await requireBroker(["localhost:9092"]);
 * ```
 */
export async function requireBroker(brokers: string[], timeoutMs = 4000): Promise<void> {
  const result = await probeBroker(brokers, timeoutMs);
  if (result === "unreachable") throw new LabError(unreachableMessage(brokers));
  if (result !== "ok") {
    const { sasl } = securityFromEnv();
    throw new LabError(
      `authentication failed at ${brokers.join(",")} as '${sasl?.username ?? "?"}' ` +
        `(SASL ${sasl?.mechanism ?? "?"}): check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
    );
  }
}
