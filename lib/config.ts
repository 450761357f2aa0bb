/**
 * Client configuration: where Kafka is and how every kafkajs client is built.
 *
 * One function, {@linkcode createKafka}, builds every client in the lab so
 * that client ids, logging and timeouts are the same everywhere.
 *
 * @module
 */
import { Kafka, type KafkaConfig, logLevel } from "kafkajs";
import process from "node:process";
import { LabError, UsageError } from "./cli.ts";

// kafkajs 2.2.4 schedules a timer with a negative delay when no throttling is
// in force; Node-compatible runtimes warn about it on every client. The timer
// is harmless (it fires at once), so drop just that warning.
const emitWarning = process.emitWarning.bind(process);
process.emitWarning = ((warning: string | Error, ...rest: unknown[]) => {
  const name = typeof warning === "string" ? rest[0] : warning.name;
  if (name === "TimeoutNegativeWarning") return;
  (emitWarning as (...args: unknown[]) => void)(warning, ...rest);
}) as typeof process.emitWarning;

/** The topic every lesson uses, as in the seed. */
export const ORDER_TOPIC = "order-events";
/** Partition count of {@linkcode ORDER_TOPIC}, as in the seed. */
export const ORDER_PARTITIONS = 3;
/** The bootstrap address used when neither `--brokers` nor `KAFKA_BROKERS` is set. */
export const DEFAULT_BROKERS = "localhost:9092";

/**
 * Resolves the bootstrap servers: the `--brokers` flag, else the
 * `KAFKA_BROKERS` environment variable, else `localhost:9092`.
 * Accepts a comma-separated list of `host:port`.
 *
 * @example
 * ```ts
 * resolveBrokers("127.0.0.1:9092,127.0.0.1:9094"); // ["127.0.0.1:9092", "127.0.0.1:9094"]
 * ```
 */
export function resolveBrokers(flag?: string): string[] {
  const raw = flag ?? Deno.env.get("KAFKA_BROKERS") ?? DEFAULT_BROKERS;
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

/** Options for {@linkcode createKafka}. */
export interface ClientOptions {
  brokers: string[];
  /** Shown by the broker and by `describe` as CLIENT-ID. */
  clientId: string;
  /** How long to try to reach a broker before giving up (ms). */
  connectionTimeoutMs?: number;
  /** Retries for failed requests; few, so a dead broker is reported fast. */
  retries?: number;
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
  const config: KafkaConfig = {
    clientId: options.clientId,
    brokers: options.brokers,
    connectionTimeout: options.connectionTimeoutMs ?? 3000,
    requestTimeout: 30000,
    retry: { retries: options.retries ?? 5, initialRetryTime: 300, maxRetryTime: 3000 },
    logLevel: kafkajsLogLevel(),
  };
  return new Kafka(config);
}

function kafkajsLogLevel(): logLevel {
  switch (Deno.env.get("LAB_KAFKAJS_LOG")?.toLowerCase()) {
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

/**
 * Checks that a broker answers a metadata request within `timeoutMs`.
 * Resolves to true/false, never throws, and leaves no client behind.
 *
 * @example
 * ```ts
 * if (!(await brokerAnswers(["localhost:9092"]))) console.log("no broker");
 * ```
 */
export async function brokerAnswers(brokers: string[], timeoutMs = 2000): Promise<boolean> {
  const admin = createKafka({
    brokers,
    clientId: "lab-probe",
    connectionTimeoutMs: Math.min(timeoutMs, 3000),
    retries: 0,
  }).admin();
  let timer: ReturnType<typeof setTimeout> | undefined;
  const deadline = new Promise<false>((resolve) => {
    timer = setTimeout(() => resolve(false), timeoutMs);
  });
  const probe = (async () => {
    try {
      await admin.connect();
      await admin.describeCluster();
      return true;
    } catch {
      return false;
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
 * Throws a {@linkcode LabError} naming the address and the fix unless a broker
 * answers within `timeoutMs` (5 s at most, as the lab promises).
 *
 * @example
 * ```ts
 * await requireBroker(["localhost:9092"]);
 * ```
 */
export async function requireBroker(brokers: string[], timeoutMs = 4000): Promise<void> {
  if (!(await brokerAnswers(brokers, timeoutMs))) {
    throw new LabError(unreachableMessage(brokers));
  }
}
