/**
 * A consumer group member: the seed's `consumer1.py` / `consumer2.py`, as one
 * generic piece of code. Every script, test and notebook that consumes uses
 * {@linkcode GroupMember}; "Consumer 1" and "Consumer 2" differ only by name.
 *
 * What a member reports, as events (see {@linkcode MemberEvent}):
 * - `assigned` after every rebalance: the partitions it now owns (none = idle);
 * - `message` for every order it processes;
 * - `malformed` for a message that is not an order (reported, then skipped);
 * - `rebalancing` when the group starts a rebalance;
 * - `stopped` when it has left the group.
 *
 * @module
 */
import {
  ConfigResourceTypes,
  type Consumer,
  type EachMessagePayload,
  type Kafka,
  type Producer,
} from "kafkajs";
import { Buffer } from "node:buffer";
import { assignerFor, type AssignorName, DEFAULT_ASSIGNORS } from "./assignors.ts";
import { registerCompressionCodecs } from "./codecs.ts";
import { createKafka, ORDER_TOPIC } from "./config.ts";
import { MAX_ORDER_BYTES, type OrderEvent, type OrderProblem, parseOrder } from "./orders.ts";
import { ensureTopic } from "./topic.ts";

/**
 * Lab timing, chosen from `deno task bench rebalance`. kafkajs defaults to a
 * 3 s heartbeat and a 30 s session timeout; the lab uses 0.5 s / 10 s, and
 * fetches that wait at most 250 ms, because kafkajs sends heartbeats between
 * fetches and the other members only learn of a rebalance from a heartbeat.
 * Measured: a graceful leave settles in ~0.5 s (it took ~1.0 s, max 1.5 s,
 * with 1 s / 500 ms), a SIGKILL in the session timeout + ~0.4 s.
 */
export const LAB_TIMING = {
  sessionTimeoutMs: 10_000,
  heartbeatIntervalMs: 500,
  rebalanceTimeoutMs: 20_000,
  maxWaitTimeMs: 250,
} as const;

/** Options for {@linkcode GroupMember.start}. */
export interface MemberOptions {
  brokers: string[];
  /** Consumer group id, e.g. `billing-group`. */
  groupId: string;
  /** Display name, e.g. `Consumer 1`; also the client id (`consumer-1`). */
  name: string;
  topic?: string;
  sessionTimeoutMs?: number;
  heartbeatIntervalMs?: number;
  rebalanceTimeoutMs?: number;
  /** Where to start when the group has no committed offset (default: earliest, as in the seed). */
  fromBeginning?: boolean;
  /** Simulated work per message, in ms (default 0). */
  processMs?: number;
  /**
   * `auto` (default): kafkajs commits after each batch it hands over.
   * `manual`: the member commits each message's offset right after processing it.
   */
  commit?: "auto" | "manual";
  /** Values larger than this (bytes) are bad messages (default 16 KiB). */
  maxBytes?: number;
  /**
   * Where bad messages are copied, with headers saying why and where they
   * came from (default `<topic>.dlq`; `false`: report only).
   */
  deadLetterTopic?: string | false;
  /**
   * The assignors this member offers, in order of preference (see
   * `assignors.ts`); the group uses one every member offers. Default
   * `["range", "roundrobin"]`, Kafka's standard two, which Java and Python
   * (librdkafka) members offer by default too; `kafkajs` is kafkajs's own
   * `RoundRobinAssigner`, which only kafkajs members offer.
   */
  assignors?: readonly AssignorName[];
  /** Called for every event, in order. */
  onEvent?: (event: MemberEvent) => void;
}

/** An order a member processed. */
export interface MessageEvent {
  type: "message";
  member: string;
  groupId: string;
  topic: string;
  partition: number;
  offset: number;
  key: string | null;
  value: string;
  order: OrderEvent;
  at: number;
}

/** Everything a member reports. */
export type MemberEvent =
  | MessageEvent
  | {
    type: "assigned";
    member: string;
    groupId: string;
    memberId: string;
    partitions: number[];
    isLeader: boolean;
    /** How long the join/sync took, from kafkajs's GROUP_JOIN event. */
    durationMs: number;
    at: number;
  }
  | {
    type: "malformed";
    member: string;
    groupId: string;
    partition: number;
    offset: number;
    problem: OrderProblem;
    /** The dead-letter topic it was copied to, if any. */
    deadLetter?: string;
    /** The value's size in bytes when only part of it fit in the dead-letter topic. */
    truncatedFrom?: number;
    at: number;
  }
  | { type: "rebalancing"; member: string; groupId: string; at: number }
  | {
    type: "crashed";
    member: string;
    groupId: string;
    error: string;
    /** Kafka's error code name when the broker refused a request, e.g. `INCONSISTENT_GROUP_PROTOCOL`. */
    kafkaError?: string;
    /** kafkajs restarts the consumer (reconnects and rejoins) after retriable errors. */
    restarting: boolean;
    at: number;
  }
  | { type: "stopped"; member: string; groupId: string; at: number };

/**
 * The line a learner sees for an event, in the seed's words.
 *
 * @example
 * ```ts
 * formatMemberEvent({ type: "assigned", member: "Consumer 4", groupId: "billing-group",
 *   memberId: "m", partitions: [], isLeader: false, durationMs: 12, at: 0 });
 * // "Consumer 4 assigned: none (idle) [rebalance took 12 ms]"
 * ```
 */
export function formatMemberEvent(event: MemberEvent): string {
  switch (event.type) {
    case "message":
      return `${event.member} got message: ${event.value} from partition ${event.partition}`;
    case "assigned": {
      const owned = event.partitions.length === 0
        ? "none (idle)"
        : `partition${event.partitions.length > 1 ? "s" : ""} ${event.partitions.join(", ")}`;
      return `${event.member} assigned: ${owned} [rebalance took ${event.durationMs} ms]`;
    }
    case "malformed":
      return `${event.member} skipped a bad message at partition ${event.partition} offset ` +
        `${event.offset}: ${event.problem}${
          event.deadLetter
            ? ` (copied to ${event.deadLetter}${
              event.truncatedFrom === undefined
                ? ""
                : `, truncated: original ${event.truncatedFrom} bytes`
            })`
            : ""
        }`;
    case "rebalancing":
      return `${event.member}: group ${event.groupId} is rebalancing...`;
    case "crashed":
      return event.restarting
        ? `${event.member} lost the broker (${event.error}); reconnecting and rejoining...`
        : `${event.member} stopped on an error: ${event.error}`;
    case "stopped":
      return `${event.member} left ${event.groupId}`;
  }
}

/**
 * Client id derived from a display name: `Consumer 1` → `consumer-1`.
 *
 * @example
 * ```ts
 * clientIdFor("Consumer 1"); // "consumer-1"
 * ```
 */
export function clientIdFor(name: string): string {
  return name.trim().toLowerCase().replace(/[^a-z0-9._-]+/g, "-").replace(/^-+|-+$/g, "") ||
    "member";
}

/**
 * One member of a consumer group, running in this process.
 *
 * @example
 * ```ts
 * const member = await GroupMember.start({
 *   brokers: ["localhost:9092"], groupId: "billing-group", name: "Consumer 1",
 *   onEvent: (e) => console.log(formatMemberEvent(e)),
 * });
 * await member.waitFor((m) => m.received.length >= 10, 30_000);
 * await member.stop();
 * ```
 */
export class GroupMember {
  /** Orders processed, in order. */
  readonly received: MessageEvent[] = [];
  /** Every event, in order. */
  readonly events: MemberEvent[] = [];
  /** Partitions owned since the last rebalance (undefined before the first). */
  partitions: number[] | undefined;
  /** The member id the broker gave this member (after joining). */
  memberId: string | undefined;
  readonly name: string;
  readonly groupId: string;
  readonly topic: string;
  #consumer: Consumer;
  #kafka: Kafka;
  #deadLetterTopic: string | false;
  #deadLetter: Promise<{ producer: Producer; maxMessageBytes: number }> | undefined;
  #maxBytes: number;
  #processMs: number;
  #manualCommit: boolean;
  #onEvent: (event: MemberEvent) => void;
  #waiters = new Set<() => void>();
  #stopped = false;

  private constructor(options: MemberOptions, kafka: Kafka, consumer: Consumer) {
    this.name = options.name;
    this.groupId = options.groupId;
    this.topic = options.topic ?? ORDER_TOPIC;
    this.#consumer = consumer;
    this.#kafka = kafka;
    this.#deadLetterTopic = options.deadLetterTopic ?? `${this.topic}.dlq`;
    this.#maxBytes = options.maxBytes ?? MAX_ORDER_BYTES;
    this.#processMs = options.processMs ?? 0;
    this.#manualCommit = options.commit === "manual";
    this.#onEvent = options.onEvent ?? (() => {});
  }

  /**
   * Connects, subscribes to the topic and starts consuming. Resolves once
   * the consumer runs; joining the group happens in the background (see
   * {@linkcode waitForAssignment}).
   */
  static async start(options: MemberOptions): Promise<GroupMember> {
    registerCompressionCodecs();
    const kafka = createKafka({ brokers: options.brokers, clientId: clientIdFor(options.name) });
    const consumer = kafka.consumer({
      groupId: options.groupId,
      sessionTimeout: options.sessionTimeoutMs ?? LAB_TIMING.sessionTimeoutMs,
      heartbeatInterval: options.heartbeatIntervalMs ?? LAB_TIMING.heartbeatIntervalMs,
      rebalanceTimeout: options.rebalanceTimeoutMs ?? LAB_TIMING.rebalanceTimeoutMs,
      maxWaitTimeInMs: LAB_TIMING.maxWaitTimeMs,
      partitionAssigners: (options.assignors ?? DEFAULT_ASSIGNORS).map(assignerFor),
    });
    const member = new GroupMember(options, kafka, consumer);
    member.#instrument();
    try {
      await consumer.connect();
      await consumer.subscribe({
        topics: [member.topic],
        fromBeginning: options.fromBeginning ?? true,
      });
      await consumer.run({
        autoCommit: options.commit !== "manual",
        eachMessage: (payload) => member.#handle(payload),
      });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    return member;
  }

  #instrument() {
    const c = this.#consumer;
    c.on(c.events.GROUP_JOIN, ({ payload }) => {
      const partitions = [...(payload.memberAssignment[this.topic] ?? [])].sort((a, b) => a - b);
      this.partitions = partitions;
      this.memberId = payload.memberId;
      this.#emit({
        type: "assigned",
        member: this.name,
        groupId: this.groupId,
        memberId: payload.memberId,
        partitions,
        isLeader: payload.isLeader,
        durationMs: payload.duration,
        at: Date.now(),
      });
    });
    c.on(c.events.REBALANCING, () => {
      this.#emit({ type: "rebalancing", member: this.name, groupId: this.groupId, at: Date.now() });
    });
    c.on(c.events.CRASH, ({ payload }) => {
      this.#emit({
        type: "crashed",
        member: this.name,
        groupId: this.groupId,
        error: payload.error?.message ?? String(payload.error),
        kafkaError: kafkaErrorType(payload.error),
        restarting: Boolean(payload.restart),
        at: Date.now(),
      });
    });
  }

  async #handle({ topic, partition, message }: EachMessagePayload): Promise<void> {
    const value = message.value?.toString("utf8") ?? null;
    const offset = Number(message.offset);
    const parsed = parseOrder(value, this.#maxBytes);
    if (this.#processMs > 0 && !parsed.problem) {
      await new Promise((r) => setTimeout(r, this.#processMs));
    }
    if (parsed.problem) {
      // Copied before its offset is committed: a crash now means a second copy, never none.
      const copied = await this.#sendToDeadLetter(topic, partition, message, parsed.problem);
      this.#emit({
        type: "malformed",
        member: this.name,
        groupId: this.groupId,
        partition,
        offset,
        problem: parsed.problem,
        deadLetter: copied?.topic,
        truncatedFrom: copied?.truncatedFrom,
        at: Date.now(),
      });
    } else {
      const event: MessageEvent = {
        type: "message",
        member: this.name,
        groupId: this.groupId,
        topic,
        partition,
        offset,
        key: message.key?.toString("utf8") ?? null,
        value: value!,
        order: parsed.order,
        at: Date.now(),
      };
      this.received.push(event);
      this.#emit(event);
    }
    if (this.#manualCommit) {
      await this.#consumer.commitOffsets([{ topic, partition, offset: String(offset + 1) }]);
    }
  }

  async #sendToDeadLetter(
    topic: string,
    partition: number,
    message: EachMessagePayload["message"],
    reason: OrderProblem,
  ): Promise<{ topic: string; truncatedFrom?: number } | undefined> {
    const dlq = this.#deadLetterTopic;
    if (dlq === false) return undefined;
    this.#deadLetter ??= (async () => {
      const admin = this.#kafka.admin();
      await admin.connect();
      try {
        await ensureTopic(admin, dlq, 1);
        const { resources } = await admin.describeConfigs({
          includeSynonyms: false,
          resources: [{
            type: ConfigResourceTypes.TOPIC,
            name: dlq,
            configNames: ["max.message.bytes"],
          }],
        });
        const limit = Number(resources[0]?.configEntries[0]?.configValue);
        const producer = this.#kafka.producer();
        await producer.connect();
        return { producer, maxMessageBytes: Number.isSafeInteger(limit) ? limit : 1_048_588 };
      } finally {
        await admin.disconnect();
      }
    })();
    const { producer, maxMessageBytes } = await this.#deadLetter;
    const headers = {
      reason,
      "source-topic": topic,
      "source-partition": String(partition),
      "source-offset": message.offset,
      "consumer-group": this.groupId,
    };
    // The whole message first; if the dead-letter topic refuses it as too
    // large (its headers make it bigger than the original), a copy that fits.
    for (const copy of deadLetterCopies(message.key, message.value, headers, maxMessageBytes)) {
      try {
        await producer.send({ topic: dlq, acks: -1, messages: [copy] });
        return {
          topic: dlq,
          truncatedFrom: copy.headers.truncated ? message.value?.length : undefined,
        };
      } catch (error) {
        if (kafkaErrorType(error) !== "MESSAGE_TOO_LARGE") throw error;
      }
    }
    throw new Error(`${dlq} refused even a copy without key and value as too large`);
  }

  #emit(event: MemberEvent) {
    this.events.push(event);
    this.#onEvent(event);
    for (const wake of this.#waiters) wake();
  }

  /**
   * Calls `listener` after every event of this member; returns a function
   * that unsubscribes.
   */
  onChange(listener: () => void): () => void {
    this.#waiters.add(listener);
    return () => this.#waiters.delete(listener);
  }

  /**
   * Waits until `condition(this)` holds or `timeoutMs` passes; resolves to
   * whether it held. Re-checked after every event, so it never polls.
   */
  waitFor(condition: (member: this) => boolean, timeoutMs: number): Promise<boolean> {
    return waitForMembers([this], () => condition(this), timeoutMs);
  }

  /** Waits until the member has been through its first rebalance. */
  waitForAssignment(timeoutMs = 30_000): Promise<boolean> {
    return this.waitFor((m) => m.partitions !== undefined, timeoutMs);
  }

  /**
   * Leaves the group cleanly (LeaveGroup), so the others rebalance at once,
   * and closes the connections. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.#stopped) return;
    this.#stopped = true;
    await this.#consumer.disconnect();
    if (this.#deadLetter) await (await this.#deadLetter).producer.disconnect();
    this.#emit({ type: "stopped", member: this.name, groupId: this.groupId, at: Date.now() });
  }
}

/** The Kafka error name (`type`) of an error or of the first cause that has one. */
function kafkaErrorType(error: unknown): string | undefined {
  for (let e = error as { type?: unknown; cause?: unknown } | undefined; e; e = e.cause as never) {
    if (typeof e.type === "string") return e.type;
  }
  return undefined;
}

/** A dead-letter copy: key, value and headers as the producer sends them. */
export interface DeadLetterCopy {
  key: Buffer | null;
  value: Buffer | null;
  headers: Record<string, string>;
}

/**
 * The dead-letter copies of a message to try in turn, each smaller than the
 * last: the whole message; its value cut to what fits in `maxMessageBytes`
 * beside the key and headers; then neither key nor value. A cut copy says so
 * in a `truncated` header (`original N bytes`), so the partition always moves
 * on and nobody mistakes the copy for the original.
 *
 * @example
 * ```ts
 * const [whole, cut] = deadLetterCopies(null, Buffer.alloc(5000), { reason: "too large" }, 1000);
 * cut.headers.truncated; // "original 5000 bytes"
 * ```
 */
export function deadLetterCopies(
  key: Buffer | null,
  value: Buffer | null,
  headers: Record<string, string>,
  maxMessageBytes: number,
): DeadLetterCopy[] {
  const truncated = { ...headers, truncated: `original ${value?.length ?? 0} bytes` };
  // A record batch's own header, the record's lengths and the header names: well under 256 bytes.
  const overhead = 256 + Object.entries(truncated).reduce(
    (sum, [name, text]) => sum + Buffer.byteLength(name) + Buffer.byteLength(text),
    0,
  );
  const room = Math.max(0, maxMessageBytes - overhead - (key?.length ?? 0));
  return [
    { key, value, headers },
    { key, value: value?.subarray(0, room) ?? null, headers: truncated },
    { key: null, value: null, headers: truncated },
  ];
}

/**
 * Waits until `condition()` holds or `timeoutMs` passes, re-checking after
 * every event of any of `members`; resolves to whether it held. Use it for
 * conditions over a whole group ("all messages received between them").
 *
 * @example
 * ```ts
 * await waitForMembers(members, () => members.flatMap((m) => m.received).length >= 10, 15_000);
 * ```
 */
export function waitForMembers(
  members: GroupMember[],
  condition: () => boolean,
  timeoutMs: number,
): Promise<boolean> {
  if (condition()) return Promise.resolve(true);
  return new Promise((resolve) => {
    const unsubscribe = members.map((m) => m.onChange(check));
    const timer = setTimeout(() => finish(condition()), timeoutMs);
    function finish(result: boolean) {
      clearTimeout(timer);
      unsubscribe.forEach((off) => off());
      resolve(result);
    }
    function check() {
      if (condition()) finish(true);
    }
  });
}
