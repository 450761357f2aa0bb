/**
 * The order producer, as in the seed: N order events keyed by their index,
 * a pause between them, each reported with the partition and offset Kafka
 * gave it.
 *
 * @module
 */
import { Partitioners, type RecordMetadata } from "kafkajs";
import { LabError } from "../platform/errors.ts";
import { createKafka, ORDER_TOPIC } from "./config.ts";
import { type OrderEvent, orderEvent, type OrderProblem, poisonMessages } from "./orders.ts";
import { ensureTopic } from "./topic.ts";
import { sleep } from "../platform/wait.ts";

/** One order as acknowledged by the broker. */
export interface ProducedOrder {
  key: string;
  order: OrderEvent;
  /** The exact value written (JSON). */
  value: string;
  partition: number;
  offset: number;
}

/** Options for {@linkcode produceOrders}. */
export interface ProduceOptions {
  brokers: string[];
  topic?: string;
  /** How many orders (default 10, as in the seed). */
  count?: number;
  /** Index of the first order: order id 1000 + start (default 0). */
  start?: number;
  /** Pause between orders in ms (default 500, as in the seed). */
  intervalMs?: number;
  /** Called after each order is acknowledged. */
  onProduced?: (produced: ProducedOrder) => void;
  /** Stops producing early (orders sent so far are kept). */
  signal?: AbortSignal;
  clientId?: string;
  /**
   * How long to keep retrying an order while the broker is away (default
   * 60 s); then {@linkcode produceOrders} fails with a {@linkcode LabError}.
   */
  giveUpAfterMs?: number;
  /** Called once each time the broker goes away, with the reason. */
  onBrokerLost?: (reason: string) => void;
}

/** Back-off between attempts while the broker is away: 0.3 s doubling to 3 s, as members do. */
const RETRY_BACKOFF = { initialMs: 300, maxMs: 3000 } as const;

/**
 * Produces the seed's order events to `topic` (ensured first, 3 partitions)
 * and resolves to what was acknowledged. Keys use Kafka's default (murmur2)
 * partitioner, so a key lands on the same partition as with Java clients.
 *
 * @example
 * ```ts
 * const sent = await produceOrders({ brokers: ["localhost:9092"], count: 3, intervalMs: 0 });
 * sent.map((o) => o.partition);
 * ```
 */
export async function produceOrders(options: ProduceOptions): Promise<ProducedOrder[]> {
  const topic = options.topic ?? ORDER_TOPIC;
  const count = options.count ?? 10;
  const start = options.start ?? 0;
  const intervalMs = options.intervalMs ?? 500;
  const kafka = createKafka({ brokers: options.brokers, clientId: options.clientId ?? "producer" });
  const admin = kafka.admin();
  // sendRetrying retries (and says so at once) instead of kafkajs's silent retries.
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 0 },
  });
  const produced: ProducedOrder[] = [];
  try {
    await admin.connect();
    await ensureTopic(admin, topic);
    await producer.connect();
    for (let i = start; i < start + count && !options.signal?.aborted; i++) {
      if (i > start && intervalMs > 0) await sleep(intervalMs, options.signal);
      if (options.signal?.aborted) break;
      const order = orderEvent(i);
      const key = String(i);
      const value = JSON.stringify(order);
      const meta = await sendRetrying(
        () => producer.send({ topic, acks: -1, messages: [{ key, value }] }),
        {
          giveUpAfterMs: options.giveUpAfterMs ?? 60_000,
          onBrokerLost: options.onBrokerLost,
          signal: options.signal,
          progress: () => `${produced.length} of ${count} orders acknowledged`,
        },
      );
      if (meta === undefined) break; // stopped while waiting for the broker
      const record = {
        key,
        order,
        value,
        partition: meta.partition,
        offset: Number(meta.baseOffset),
      };
      produced.push(record);
      options.onProduced?.(record);
    }
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
  return produced;
}

/**
 * Sends with `send` until the broker acknowledges, retrying while the broker
 * is away (a lost connection, no leader yet after a restart) with bounded
 * back-off; reports each outage once. Resolves to the first record's
 * metadata, or undefined when `signal` aborts meanwhile. Other errors, and an
 * outage longer than `giveUpAfterMs`, throw.
 */
async function sendRetrying(
  send: () => Promise<RecordMetadata[]>,
  options: {
    giveUpAfterMs: number;
    onBrokerLost?: (reason: string) => void;
    signal?: AbortSignal;
    progress: () => string;
  },
): Promise<RecordMetadata | undefined> {
  let lostAt: number | undefined;
  for (let backoffMs: number = RETRY_BACKOFF.initialMs;; backoffMs *= 2) {
    try {
      return (await send())[0];
    } catch (error) {
      if (!brokerAway(error)) throw error;
      const reason = (error as Error).message;
      if (lostAt === undefined) {
        lostAt = Date.now();
        options.onBrokerLost?.(reason);
      } else if (Date.now() - lostAt >= options.giveUpAfterMs) {
        throw new LabError(
          `gave up: no broker took the order for ${Math.round(options.giveUpAfterMs / 1000)} s ` +
            `(${reason}); ${options.progress()}`,
        );
      }
      await sleep(Math.min(backoffMs, RETRY_BACKOFF.maxMs), options.signal);
      if (options.signal?.aborted) return undefined;
    }
  }
}

/**
 * True when `error` (or a cause) says the broker is away for now rather than
 * that the order is wrong: a refused or lost connection, a timeout, or a
 * retriable Kafka error such as a partition without a leader yet.
 */
function brokerAway(error: unknown): boolean {
  for (let e = error as Record<string, unknown> | undefined; e; e = e.cause as never) {
    if (/Connection|Timeout|BrokerNotFound/.test(String(e.name)) || e.retriable === true) {
      return true;
    }
  }
  return false;
}

/** A bad message as acknowledged by the broker. */
export interface ProducedPoison {
  key: string;
  problem: OrderProblem;
  partition: number;
  offset: number;
}

/**
 * Writes one message of each bad kind (see `poisonMessages`) to `topic`, to
 * show that members report them, dead-letter them and go on.
 *
 * @example
 * ```ts
 * const poison = await producePoison(["localhost:9092"], "order-events");
 * ```
 */
export async function producePoison(brokers: string[], topic: string): Promise<ProducedPoison[]> {
  const kafka = createKafka({ brokers, clientId: "producer" });
  const admin = kafka.admin();
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  try {
    await admin.connect();
    await ensureTopic(admin, topic);
    await producer.connect();
    const sent: ProducedPoison[] = [];
    for (const poison of poisonMessages()) {
      const [meta] = await producer.send({
        topic,
        acks: -1,
        messages: [{ key: poison.key, value: poison.value }],
      });
      sent.push({
        key: poison.key,
        problem: poison.problem,
        partition: meta.partition,
        offset: Number(meta.baseOffset),
      });
    }
    return sent;
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
}

/**
 * The producer's line for one order, as learners see it.
 *
 * @example
 * ```ts
 * formatProduced({ key: "0", order: { order_id: "1000", amount: 0 }, value: '{"order_id":"1000","amount":0}', partition: 2, offset: 0 });
 * // 'Produced: {"order_id":"1000","amount":0} -> partition 2 @ offset 0'
 * ```
 */
export function formatProduced(produced: ProducedOrder): string {
  return `Produced: ${produced.value} -> partition ${produced.partition} @ offset ${produced.offset}`;
}
