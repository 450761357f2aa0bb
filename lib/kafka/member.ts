/**
 * A consumer group member's extras: the one-line calls that
 * `scripts/consumer.ts` (the seed's `consumer1.py` / `consumer2.py`) and
 * lesson 1's consumer cell make around kafkajs's `consumer.run({ eachMessage })`,
 * and that in-process members ({@linkcode GroupMember.start}) share.
 *
 * What a member reports, as events (see {@linkcode MemberEvent}):
 * - `assigned` after every rebalance: the partitions it now owns (none = idle);
 * - `message` for every order it processes;
 * - `malformed` for a message that is not an order (reported, then skipped);
 * - `rebalancing` when the group starts a rebalance;
 * - `coordinator` when its group requests go to another broker: the group's
 *   coordinator moved (a printed line only when it changed, not the first);
 * - `stopped` when it has left the group.
 *
 * @module
 */
import {
  ConfigResourceTypes,
  type Consumer,
  type ConsumerConfig,
  type Kafka,
  type Producer,
} from "kafkajs";
import { Buffer } from "node:buffer";
import type { Consumer as ProtocolConsumer } from "@platformatic/kafka";
import {
  assignerFor,
  type AssignorName,
  DEFAULT_ASSIGNORS,
  explainInconsistentProtocol,
} from "./assignors.ts";
import { LabError } from "../platform/errors.ts";
import { GroupApis } from "./groupapis.ts";
import { registerCompressionCodecs } from "./codecs.ts";
import {
  createKafka,
  ORDER_TOPIC,
  type ProtocolClientOptions,
  protocolClientOptions,
} from "./config.ts";
import { MAX_ORDER_BYTES, type OrderEvent, type OrderProblem, parseOrder } from "./orders.ts";
import { LiveTable } from "../platform/render.ts";
import { appendTextFileSync, exit } from "../platform/runtime.ts";
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

/** Options of a {@linkcode GroupMember}. */
export interface MemberOptions {
  brokers: string[];
  /** Consumer group id, e.g. `billing-group`. */
  groupId: string;
  /** Display name, e.g. `Consumer 1`; also the client id (`consumer-1`). */
  name: string;
  topic?: string;
  /** The client the member's own producer (dead letters) uses (default: the lab's, by name). */
  kafka?: Kafka;
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
  /** Exit abruptly (code 137: no commit, no LeaveGroup) after processing this many orders. */
  crashAfter?: number;
  /** Ask to leave ({@linkcode GroupMember.stopped}) after processing this many orders. */
  maxMessages?: number;
  /**
   * How the member shows what happens: `lines` prints one line per event (a
   * terminal, the seed's print()); `table` shows its messages in one live
   * table in the notebook cell that calls {@linkcode GroupMember.watch};
   * default: nothing (read {@linkcode GroupMember.events}).
   */
  output?: "lines" | "table";
  /** Append every event to this run record (JSON lines). */
  recordFile?: string;
  /** Called for every event, in order. */
  onEvent?: (event: MemberEvent) => void;
}

/**
 * What {@linkcode GroupMember.read} and {@linkcode GroupMember.got} need of a
 * message: a kafkajs `KafkaMessage` or a `@platformatic/kafka` `Message`.
 */
export interface ConsumedMessage {
  key: Buffer | null | undefined;
  value: Buffer | null | undefined;
  /** A string in kafkajs, a bigint in @platformatic/kafka. */
  offset: string | bigint;
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
    type: "coordinator";
    member: string;
    groupId: string;
    /** The broker the member's group requests (JoinGroup, Heartbeat, commits) now go to. */
    broker: string;
    /** The one they went to before; undefined the first time. */
    previous?: string;
    /** FindCoordinator requests the member sent since it last found the coordinator. */
    lookups: number;
    at: number;
  }
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
    case "coordinator":
      return event.previous === undefined
        ? `${event.member}'s group coordinator: ${event.broker}`
        : `${event.member}'s group coordinator moved: ${event.previous} -> ${event.broker} ` +
          `(found after ${event.lookups} FindCoordinator lookup${event.lookups === 1 ? "" : "s"})`;
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

/** How to close the consumer each member name watched last, so re-running a notebook cell replaces it. */
const watched = new Map<string, () => Promise<unknown>>();

/**
 * What a group member does besides the Kafka calls, as one-line calls around
 * `consumer.run({ eachMessage })` (see the consumer region of
 * `scripts/consumer.ts`, the same code as lesson 1's consumer cell):
 * {@linkcode watch} reports joins and rebalances, {@linkcode read} turns a
 * message into an order (a bad one is reported and dead-lettered),
 * {@linkcode work} is `--process-ms`, {@linkcode got} reports the order
 * (and `--crash-after`, `--max-messages`). {@linkcode start} runs the same
 * steps in this process, for tests, lessons and benchmarks.
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
  /** The broker this member's group requests go to: the group's coordinator, as it found it. */
  coordinator: string | undefined;
  readonly name: string;
  readonly groupId: string;
  readonly topic: string;
  /** Resolves when the member should leave: Ctrl+C, `--max-messages`, or kafkajs gave up. */
  readonly stopped: Promise<void>;
  #options: MemberOptions;
  #close: (() => Promise<unknown>) | undefined;
  #kafka: Kafka;
  #deadLetterTopic: string | false;
  #deadLetter: Promise<{ producer: Producer; maxMessageBytes: number }> | undefined;
  #table: LiveTable | undefined;
  #failure: Extract<MemberEvent, { type: "crashed" }> | undefined;
  #requestStop: () => void;
  #waiters = new Set<() => void>();
  #left = false;

  constructor(options: MemberOptions) {
    registerCompressionCodecs();
    this.#options = options;
    this.name = options.name;
    this.groupId = options.groupId;
    this.topic = options.topic ?? ORDER_TOPIC;
    this.#kafka = options.kafka ??
      createKafka({ brokers: options.brokers, clientId: clientIdFor(options.name) });
    this.#deadLetterTopic = options.deadLetterTopic ?? `${this.topic}.dlq`;
    const stop = Promise.withResolvers<void>();
    this.stopped = stop.promise;
    this.#requestStop = stop.resolve;
  }

  /** Everything `kafka.consumer()` needs besides the group id: the lab's timing and assignors. */
  get consumerConfig(): Omit<ConsumerConfig, "groupId"> {
    const o = this.#options;
    return {
      sessionTimeout: o.sessionTimeoutMs ?? LAB_TIMING.sessionTimeoutMs,
      heartbeatInterval: o.heartbeatIntervalMs ?? LAB_TIMING.heartbeatIntervalMs,
      rebalanceTimeout: o.rebalanceTimeoutMs ?? LAB_TIMING.rebalanceTimeoutMs,
      maxWaitTimeInMs: LAB_TIMING.maxWaitTimeMs,
      partitionAssigners: (o.assignors ?? DEFAULT_ASSIGNORS).map(assignerFor),
    };
  }

  /**
   * For `new Consumer(...)` of `@platformatic/kafka` (the consumer-protocol
   * member): the brokers, the client id and TLS/SASL, as kafkajs gets them.
   */
  get protocolClient(): ProtocolClientOptions {
    return protocolClientOptions({
      brokers: this.#options.brokers,
      clientId: clientIdFor(this.name),
    });
  }

  /**
   * Commits a processed `@platformatic/kafka` message without waiting: the
   * consumer-protocol member's `--commit auto`. Like kafkajs's `autoCommit`
   * it never commits ahead of processing; `@platformatic/kafka`'s own
   * `autocommit` commits each fetched batch, so a member killed with fetched,
   * unprocessed orders would skip them (the soak lost one that way). Commits
   * to one partition are merged into one request in flight. A failed commit
   * (the partition moved) is not an error: the next owner reads the message
   * again, at least once.
   *
   * @example
   * ```ts
   * member.commitInBackground(message); // after processing it
   * ```
   */
  commitInBackground(message: { commit(): void | Promise<void> }): void {
    Promise.resolve(message.commit()).catch(() => {});
  }

  /**
   * Hands each message of a `@platformatic/kafka` stream to `handler`, one
   * at a time, in order (as kafkajs's `eachMessage`), until the stream ends
   * (the member left); resolves then. A stream error (the broker refused the
   * member) is reported as a `crashed` event, and the member asks to leave.
   */
  async each<M>(stream: AsyncIterable<M>, handler: (message: M) => Promise<void>): Promise<void> {
    try {
      for await (const message of stream) await handler(message);
    } catch (error) {
      if (this.#left) return;
      this.#emit({
        type: "crashed",
        member: this.name,
        groupId: this.groupId,
        error: (error as Error).message ?? String(error),
        kafkaError: kafkaErrorType(error),
        restarting: false,
        at: Date.now(),
      });
    }
  }

  /**
   * Starts a member in this process: the same steps as the consumer region
   * of `scripts/consumer.ts`. Resolves once it has joined the group.
   */
  static async start(options: MemberOptions): Promise<GroupMember> {
    const member = new GroupMember(options);
    const { groupId, topic } = member;
    const autoCommit = options.commit !== "manual";
    const consumer = member.watch(member.#kafka.consumer({ groupId, ...member.consumerConfig }));
    try {
      await consumer.connect();
      await consumer.subscribe({ topic, fromBeginning: options.fromBeginning ?? true });
      await consumer.run({
        autoCommit,
        eachMessage: async ({ partition, message }) => {
          const order = await member.read(partition, message);
          if (order) {
            await member.work();
            member.got(partition, message, order);
          }
          if (!autoCommit) {
            await consumer.commitOffsets([{
              topic,
              partition,
              offset: nextOffset(message.offset),
            }]);
          }
        },
      });
    } catch (error) {
      await consumer.disconnect().catch(() => {});
      throw error;
    }
    return member;
  }

  /**
   * Reports this consumer's joins, rebalances and crashes as events, and
   * returns it. A consumer watched earlier under the same name (a notebook
   * cell run again) leaves its group first. With `output: "table"`, the
   * member's live table appears in the output of the cell that calls this.
   */
  watch(consumer: Consumer): Consumer {
    this.#watching(() => consumer.disconnect());
    consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
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
    consumer.on(consumer.events.REBALANCING, () => {
      this.#emit({ type: "rebalancing", member: this.name, groupId: this.groupId, at: Date.now() });
    });
    consumer.on(consumer.events.CRASH, ({ payload }) => {
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
    // kafkajs keeps its coordinator to itself: the broker that answers the
    // member's group requests is it, found with FindCoordinator ("GroupCoordinator").
    let lookups = 0;
    consumer.on(consumer.events.REQUEST, ({ payload }) => {
      if (payload.apiName === "GroupCoordinator") lookups++;
      if (!COORDINATOR_REQUESTS.has(payload.apiName) || payload.broker === this.coordinator) return;
      const previous = this.coordinator;
      this.coordinator = payload.broker;
      this.#emit({
        type: "coordinator",
        member: this.name,
        groupId: this.groupId,
        broker: payload.broker,
        previous,
        lookups,
        at: Date.now(),
      });
      lookups = 0;
    });
    return consumer;
  }

  /**
   * {@linkcode watch} for a `@platformatic/kafka` consumer with
   * `groupProtocol: "consumer"` (KIP-848): the broker assigns, and hands each
   * member its partitions in heartbeat answers, a few at a time, with no
   * group-wide rebalance. Reports `assigned` whenever this member's
   * partitions change (`durationMs`: since it started joining, then since
   * the heartbeat that brought the change) and `rebalancing` when the broker
   * takes partitions away.
   */
  watchProtocol(consumer: ProtocolConsumer): ProtocolConsumer {
    this.#watching(() => consumer.close(true));
    // A refused join (the group is classic and may not convert) rejects consume(): say why.
    const consume = consumer.consume.bind(consumer) as (...args: unknown[]) => Promise<unknown>;
    (consumer as { consume: unknown }).consume = (...args: unknown[]) =>
      consume(...args).catch(async (error) => {
        const upgradeRefused = /upgrade is disabled/.test(brokerReason(error) ?? "");
        throw (upgradeRefused && await this.#migrationRefusal("consumer")) || error;
      });
    let since = Date.now();
    let heartbeatStart = since;
    const check = () => {
      const owned = consumer.assignments?.filter((a) => a.topic === this.topic);
      const partitions = owned?.flatMap((a) => a.partitions).sort((a, b) => a - b);
      if (!partitions || partitions.join() === this.partitions?.join()) return;
      this.partitions = partitions;
      this.memberId = consumer.memberId ?? undefined;
      const at = Date.now();
      this.#emit({
        type: "assigned",
        member: this.name,
        groupId: this.groupId,
        memberId: this.memberId ?? "",
        partitions,
        isLeader: false, // nobody leads: the broker assigns
        durationMs: at - since,
        at,
      });
    };
    consumer.on("consumer:heartbeat:start", () => {
      check();
      heartbeatStart = Date.now();
    });
    consumer.on("consumer:heartbeat:end", () => {
      check();
      since = heartbeatStart;
    });
    consumer.on("consumer:group:rebalance", () => {
      this.#emit({ type: "rebalancing", member: this.name, groupId: this.groupId, at: Date.now() });
    });
    return consumer;
  }

  /** Starts watching a consumer that `close` ends; the one watched before under this name goes. */
  #watching(close: () => Promise<unknown>): void {
    const earlier = watched.get(this.name);
    if (earlier) earlier().catch(() => {});
    watched.set(this.name, close);
    this.#close = close;
    if (this.#options.output === "table") {
      this.#table = new LiveTable(["PARTITION", "OFFSET", "KEY", "VALUE"], this.#title());
    }
  }

  /**
   * The order in `message`, or undefined for a bad message, which is
   * reported and copied to the dead-letter topic (before its offset is
   * committed: a crash now means a second copy, never none).
   */
  async read(partition: number, message: ConsumedMessage): Promise<OrderEvent | undefined> {
    const value = message.value?.toString("utf8") ?? null;
    const parsed = parseOrder(value, this.#options.maxBytes ?? MAX_ORDER_BYTES);
    if (!parsed.problem) return parsed.order;
    const copied = await this.#sendToDeadLetter(partition, message, parsed.problem);
    this.#emit({
      type: "malformed",
      member: this.name,
      groupId: this.groupId,
      partition,
      offset: Number(message.offset),
      problem: parsed.problem,
      deadLetter: copied?.topic,
      truncatedFrom: copied?.truncatedFrom,
      at: Date.now(),
    });
    return undefined;
  }

  /** The simulated work of `processMs` (`--process-ms`): a slow handler. */
  async work(): Promise<void> {
    const ms = this.#options.processMs ?? 0;
    if (ms > 0) await new Promise((r) => setTimeout(r, ms));
  }

  /**
   * Reports a processed order (a line, a table row, the run record); then
   * `crashAfter` exits abruptly, before any commit, and `maxMessages` asks to leave.
   */
  got(partition: number, message: ConsumedMessage, order: OrderEvent): void {
    const event: MessageEvent = {
      type: "message",
      member: this.name,
      groupId: this.groupId,
      topic: this.topic,
      partition,
      offset: Number(message.offset),
      key: message.key?.toString("utf8") ?? null,
      value: message.value!.toString("utf8"),
      order,
      at: Date.now(),
    };
    this.received.push(event);
    this.#emit(event);
    const processed = this.received.length;
    if (processed === this.#options.crashAfter) {
      console.log(`${this.name} crashes after ${processed} messages, before committing`);
      exit(137);
    }
    if (processed === this.#options.maxMessages) this.#requestStop();
  }

  /** Redraws the member's live table now (see {@linkcode LiveTable.redraw}). */
  redraw(): void {
    this.#table?.redraw();
  }

  /** Asks the member to leave: resolves {@linkcode stopped}. */
  requestStop(): void {
    this.#requestStop();
  }

  /**
   * Leaves the group cleanly (LeaveGroup), so the others rebalance at once,
   * and closes the connections. Safe to call twice.
   */
  async stop(): Promise<void> {
    if (this.#left) return;
    this.#left = true;
    await this.#close?.();
    if (watched.get(this.name) === this.#close) watched.delete(this.name);
    if (this.#deadLetter) await (await this.#deadLetter).producer.disconnect();
    this.#emit({ type: "stopped", member: this.name, groupId: this.groupId, at: Date.now() });
  }

  /**
   * {@linkcode stop}, then, when kafkajs gave up on the member (a
   * non-retriable error), a {@linkcode LabError} saying why in one line.
   */
  async leave(): Promise<void> {
    await this.stop();
    const failure = this.#failure;
    if (!failure) return;
    if (failure.kafkaError !== "INCONSISTENT_GROUP_PROTOCOL") {
      throw new LabError(`${this.name} stopped on an error: ${failure.error}`);
    }
    const refusal = await this.#migrationRefusal("classic");
    if (refusal) throw refusal;
    const admin = this.#kafka.admin();
    await admin.connect();
    const protocol = await admin.describeGroups([this.groupId])
      .then((d) => d.groups[0]?.protocol || undefined, () => undefined)
      .finally(() => admin.disconnect());
    const assignors = this.#options.assignors ?? DEFAULT_ASSIGNORS;
    throw new LabError(
      `${this.name} ${explainInconsistentProtocol(this.groupId, assignors, protocol)}`,
    );
  }

  /**
   * A {@linkcode LabError} explaining that `groupId` uses the other group
   * protocol and the broker's `group.consumer.migration.policy` does not let
   * a member of `protocol` convert it; undefined when that is not the case.
   */
  async #migrationRefusal(protocol: "classic" | "consumer"): Promise<LabError | undefined> {
    const admin = this.#kafka.admin();
    await admin.connect();
    try {
      const apis = new GroupApis(this.#options.brokers);
      const group = await apis.listGroups()
        .then((groups) => groups.find((g) => g.groupId === this.groupId))
        .finally(() => apis.close());
      if (!group || group.type === protocol) return undefined;
      const { brokers } = await admin.describeCluster();
      const { resources } = await admin.describeConfigs({
        includeSynonyms: false,
        resources: [{
          type: ConfigResourceTypes.BROKER,
          name: String(brokers[0].nodeId),
          configNames: [MIGRATION_POLICY],
        }],
      });
      const policy = resources[0]?.configEntries[0]?.configValue ?? "unknown";
      if (policy === "bidirectional") return undefined;
      return new LabError(explainMigrationRefusal(this.name, this.groupId, protocol, policy));
    } catch {
      return undefined; // the broker's reason stands
    } finally {
      await admin.disconnect();
    }
  }

  async #sendToDeadLetter(
    partition: number,
    message: ConsumedMessage,
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
      "source-topic": this.topic,
      "source-partition": String(partition),
      "source-offset": String(message.offset),
      "consumer-group": this.groupId,
    };
    // The whole message first; if the dead-letter topic refuses it as too
    // large (its headers make it bigger than the original), a copy that fits.
    for (
      const copy of deadLetterCopies(
        message.key ?? null,
        message.value ?? null,
        headers,
        maxMessageBytes,
      )
    ) {
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

  #title(): string {
    const owned = this.partitions === undefined
      ? "joining"
      : this.partitions.length === 0
      ? "partitions: none (idle)"
      : `partitions ${this.partitions.join(", ")}`;
    return `${this.name} (${this.groupId}, ${owned}): ${this.received.length} messages`;
  }

  #emit(event: MemberEvent) {
    if (event.type === "crashed" && !event.restarting) {
      this.#failure = event; // kafkajs gave up: leave, and say why (see leave())
      this.#requestStop();
    }
    this.events.push(event);
    const { output, recordFile, onEvent } = this.#options;
    if (recordFile) appendTextFileSync(recordFile, JSON.stringify(event) + "\n");
    const quiet = event.type === "crashed" && !event.restarting ||
      this.#failure && event.type === "stopped" || // the error says it in one line
      event.type === "coordinator" && event.previous === undefined; // news only when it moves
    if (output === "lines" && !quiet) console.log(formatMemberEvent(event));
    if (this.#table) {
      this.#table.title = this.#title();
      if (event.type === "message") {
        this.#table.add([event.partition, event.offset, event.key, event.value]);
      } else this.#table.refresh();
    }
    onEvent?.(event);
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
}

/**
 * The offset to commit after processing a message: the next one to read
 * (Kafka stores where the group goes on, not what it last read).
 *
 * @example
 * ```ts
 * nextOffset("41"); // "42"
 * ```
 */
export function nextOffset(offset: string): string {
  return String(BigInt(offset) + 1n);
}

/** The requests a classic member sends to its group's coordinator (kafkajs's API names). */
const COORDINATOR_REQUESTS = new Set([
  "JoinGroup",
  "SyncGroup",
  "Heartbeat",
  "LeaveGroup",
  "OffsetCommit",
  "OffsetFetch",
]);

/** The broker config that says whether a group may switch protocols (KIP-848). */
const MIGRATION_POLICY = "group.consumer.migration.policy";

/**
 * The line a member prints when the broker will not let it into `groupId`:
 * the group uses the other protocol (a consumer-protocol group, and this
 * member is `classic`; or the reverse), and `group.consumer.migration.policy`
 * (`policy`) forbids converting it. The fixes: the member of the group's
 * protocol, another group id, or the default policy `bidirectional`.
 *
 * @example
 * ```ts
 * explainMigrationRefusal("Consumer 1", "billing-group", "classic", "disabled");
 * ```
 */
export function explainMigrationRefusal(
  name: string,
  groupId: string,
  protocol: "classic" | "consumer",
  policy: string,
): string {
  const [theirs, task] = protocol === "classic"
    ? ["the new consumer protocol (KIP-848)", "deno task consumer-protocol"]
    : ["the classic protocol", "deno task consumer"];
  return `${name} cannot join ${groupId}: the group uses ${theirs}, and this broker's ` +
    `${MIGRATION_POLICY}=${policy} forbids converting it for a ${protocol}-protocol member; ` +
    `join with \`${task}\`, use another --group, or start the broker with ` +
    `${MIGRATION_POLICY}=bidirectional (Kafka's default; not a dynamic setting)`;
}

/** The broker's own words in a `@platformatic/kafka` error (its `serverErrorMessage`), if any. */
function brokerReason(error: unknown): string | undefined {
  const errors = (error as { errors?: { serverErrorMessage?: string }[] })?.errors ?? [];
  return errors.find((e) => e.serverErrorMessage)?.serverErrorMessage;
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
