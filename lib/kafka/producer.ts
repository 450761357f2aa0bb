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
import { flushOutput } from "../platform/render.ts";
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
  /** The topic's partition count, checked or created with (default 3, as order-events). */
  partitions?: number;
}

/** Back-off between attempts while the broker is away: 0.3 s doubling to 3 s, as members do. */
const RETRY_BACKOFF = { initialMs: 300, maxMs: 3000 } as const;

/** Options of a {@linkcode ProducerRun}. */
export interface ProducerRunOptions {
  /** How many orders the run produces (its last gets no pause after it). */
  count: number;
  /** Stops the run early (orders sent so far are kept). */
  signal?: AbortSignal;
  /**
   * How long to keep retrying an order while the broker is away (default
   * 60 s); then {@linkcode ProducerRun.retrying} fails with a {@linkcode LabError}.
   */
  giveUpAfterMs?: number;
  /** Called once each time the broker goes away, with the reason. */
  onBrokerLost?: (reason: string) => void;
}

/**
 * What a producing loop does besides `producer.send`, as one-line calls (see
 * the producer region of `scripts/producer.ts`, the same code as lesson 1's
 * producer cell): {@linkcode retrying} rides out a broker restart,
 * {@linkcode pause} waits between orders, {@linkcode stopped} says Ctrl+C
 * came. {@linkcode produceOrders} runs the same loop in this process.
 *
 * @example
 * ```ts
 * const run = new ProducerRun({ count: 1 });
 * const sent = await run.retrying(() => producer.send({ topic, messages: [{ value: "x" }] }));
 * ```
 */
export class ProducerRun {
  /** Orders the broker acknowledged so far. */
  acknowledged = 0;

  constructor(readonly options: ProducerRunOptions) {}

  /** True once the run's signal aborted. */
  get stopped(): boolean {
    return this.options.signal?.aborted ?? false;
  }

  /**
   * Sends with `send` until the broker acknowledges, retrying while the
   * broker is away (a lost connection, no leader yet after a restart) with
   * bounded back-off; reports each outage once. Resolves to the first
   * record's metadata, or undefined when the run stops meanwhile. Other
   * errors, and an outage longer than `giveUpAfterMs`, throw.
   */
  async retrying(send: () => Promise<RecordMetadata[]>): Promise<RecordMetadata | undefined> {
    const { signal, onBrokerLost, giveUpAfterMs = 60_000 } = this.options;
    let lostAt: number | undefined;
    for (let backoffMs: number = RETRY_BACKOFF.initialMs;; backoffMs *= 2) {
      try {
        const [sent] = await send();
        this.acknowledged++;
        return sent;
      } catch (error) {
        if (!brokerAway(error)) throw error;
        const reason = (error as Error).message;
        if (lostAt === undefined) {
          lostAt = Date.now();
          onBrokerLost?.(reason);
        } else if (Date.now() - lostAt >= giveUpAfterMs) {
          throw new LabError(
            `gave up: no broker took the order for ${Math.round(giveUpAfterMs / 1000)} s ` +
              `(${reason}); ${this.acknowledged} of ${this.options.count} orders acknowledged`,
          );
        }
        await sleep(Math.min(backoffMs, RETRY_BACKOFF.maxMs), signal);
        if (this.stopped) return undefined;
      }
    }
  }

  /**
   * Waits `ms` between two orders: not after the last one, and no longer once
   * stopped. After the last, in a notebook, waits for its line to reach the
   * cell ({@linkcode flushOutput}): Deno's kernel dropped it once as the cell ended.
   */
  async pause(ms: number): Promise<void> {
    if (ms > 0 && this.acknowledged < this.options.count) await sleep(ms, this.options.signal);
    else await flushOutput();
  }
}

/**
 * Produces the seed's order events to `topic` (ensured first, 3 partitions)
 * and resolves to what was acknowledged: the loop of `scripts/producer.ts`,
 * in this process. Keys use Kafka's default (murmur2) partitioner, so a key
 * lands on the same partition as with Java clients.
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
  // The same settings as scripts/producer.ts: Kafka's own (murmur2) partitioner, no silent retries.
  const producer = kafka.producer({
    createPartitioner: Partitioners.DefaultPartitioner,
    retry: { retries: 0 },
  });
  const run = new ProducerRun({ count, ...options });
  const produced: ProducedOrder[] = [];
  try {
    await admin.connect();
    await ensureTopic(admin, topic, options.partitions);
    await producer.connect();
    for (let i = start; i < start + count && !run.stopped; i++) {
      const order = orderEvent(i);
      const [key, value] = [String(i), JSON.stringify(order)];
      const sent = await run.retrying(() =>
        producer.send({ topic, acks: -1, messages: [{ key, value }] })
      );
      if (!sent) break;
      const record = {
        key,
        order,
        value,
        partition: sent.partition,
        offset: Number(sent.baseOffset),
      };
      produced.push(record);
      options.onProduced?.(record);
      await run.pause(intervalMs);
    }
  } finally {
    await producer.disconnect().catch(() => {});
    await admin.disconnect().catch(() => {});
  }
  return produced;
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
