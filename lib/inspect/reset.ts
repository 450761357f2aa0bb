/**
 * Resetting a group's committed offsets, as `kafka-consumer-groups.sh
 * --reset-offsets` does: compute a plan (partition, current, new), show it,
 * and apply it only when asked and only while the group has no members.
 *
 * @module
 */
import type { Admin } from "kafkajs";
import { LabError, UsageError } from "../platform/errors.ts";
import { createKafka } from "../kafka/config.ts";
import { LAB_TIMING } from "../kafka/member.ts";
import { Table } from "../platform/render.ts";
import { requireTopic } from "../kafka/topic.ts";

/** Where to move the offsets. */
export type ResetTarget =
  | { to: "earliest" }
  | { to: "latest" }
  | { to: "current" }
  | { to: "datetime"; at: number }
  | { to: "duration"; ms: number }
  | { to: "shift"; by: number }
  | { to: "offset"; offset: number };

/** One partition of a reset plan. */
export interface ResetStep {
  partition: number;
  /** The committed offset now, or null if none. */
  current: number | null;
  /** The committed offset after the reset. */
  target: number;
}

/**
 * Parses an ISO-8601 duration such as `PT10M` or `P1DT2H30M15S` into ms.
 * It counts back from `now`, so it must not be negative nor reach back
 * before 1970 (Kafka's timestamps start there; a negative one means
 * "earliest" or "latest" to the broker).
 *
 * @example
 * ```ts
 * parseDuration("PT1M30S"); // 90000
 * ```
 */
export function parseDuration(text: string, now: number = Date.now()): number {
  const trimmed = text.trim();
  if (trimmed.startsWith("-")) {
    throw new UsageError(
      `--by-duration must not be negative: it counts back from now (e.g. PT10M), got '${text}'`,
    );
  }
  const match = /^P(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?$/.exec(trimmed);
  if (!match || trimmed === "P" || trimmed.endsWith("T")) {
    throw new UsageError(`--by-duration must look like PnDTnHnMnS (e.g. PT10M), got '${text}'`);
  }
  const [d, h, m, s] = match.slice(1).map((v) => Number(v ?? 0));
  const ms = ((d * 24 + h) * 60 + m) * 60_000 + s * 1000;
  if (!(ms <= now)) {
    throw new UsageError(
      `--by-duration '${text}' reaches back before 1970, where Kafka's timestamps start: ` +
        "use --to-earliest",
    );
  }
  return ms;
}

/**
 * Parses an ISO-8601 date-time such as `2026-11-24T10:00:00Z` (seconds,
 * milliseconds and the offset are optional; without an offset it is local
 * time, as in Kafka's tool) into ms since 1970. Anything else — a bare
 * number, a date without a time — is a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * parseDateTime("2026-11-24T10:00:00Z"); // 1795514400000
 * ```
 */
export function parseDateTime(text: string): number {
  const iso = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d{1,3})?)?(Z|[+-]\d{2}:\d{2})?$/;
  const at = iso.test(text.trim()) ? Date.parse(text.trim()) : NaN;
  if (Number.isNaN(at)) {
    throw new UsageError(
      `--to-datetime needs an ISO-8601 date-time such as 2026-11-24T10:00:00Z, got '${text}'`,
    );
  }
  if (at < 0) {
    throw new UsageError(
      `--to-datetime '${text}' is before 1970, where Kafka's timestamps start: use --to-earliest`,
    );
  }
  return at;
}

/**
 * Computes the new committed offset of every partition of `topic`, clamped
 * to what the log holds (like Kafka's tool), without changing anything.
 *
 * @example
 * ```ts
 * const plan = await planReset(admin, "billing-group", "order-events", { to: "shift", by: -5 });
 * ```
 */
export async function planReset(
  admin: Admin,
  groupId: string,
  topic: string,
  target: ResetTarget,
): Promise<ResetStep[]> {
  await requireTopic(admin, topic);
  const bounds = await admin.fetchTopicOffsets(topic);
  const [committed] = await admin.fetchOffsets({ groupId, topics: [topic] });
  const currentOf = new Map(
    committed.partitions.map((p) => [p.partition, Number(p.offset) >= 0 ? Number(p.offset) : null]),
  );
  let byTime: Map<number, number> | undefined;
  if (target.to === "datetime" || target.to === "duration") {
    const at = target.to === "datetime" ? target.at : Date.now() - target.ms;
    const found = await admin.fetchTopicOffsetsByTimestamp(topic, at);
    byTime = new Map(found.map((o) => [o.partition, Number(o.offset)]));
  }
  return bounds.sort((a, b) => a.partition - b.partition).map((b) => {
    const low = Number(b.low);
    const high = Number(b.high);
    const current = currentOf.get(b.partition) ?? null;
    const wanted = (() => {
      switch (target.to) {
        case "earliest":
          return low;
        case "latest":
          return high;
        case "current":
          return current ?? high;
        case "shift":
          return (current ?? high) + target.by;
        case "offset":
          return target.offset;
        default:
          return byTime!.get(b.partition) ?? high;
      }
    })();
    const clamped = wanted < 0 || wanted > high ? (wanted < 0 ? low : high) : Math.max(low, wanted);
    return { partition: b.partition, current, target: clamped };
  });
}

/**
 * The plan as Kafka's tool shows it: GROUP TOPIC PARTITION CURRENT-OFFSET NEW-OFFSET.
 *
 * @example
 * ```ts
 * console.log(String(planTable("billing-group", "order-events", plan)));
 * ```
 */
export function planTable(groupId: string, topic: string, plan: ResetStep[]): Table {
  return new Table(
    ["GROUP", "TOPIC", "PARTITION", "CURRENT-OFFSET", "NEW-OFFSET"],
    plan.map((s) => [groupId, topic, s.partition, s.current, s.target]),
  );
}

/**
 * Writes a plan's offsets as the group's committed offsets, and reads them
 * back to be sure. Refuses, as Kafka does, while the group has members.
 *
 * It does what kafkajs's `admin.setOffsets` does: join the group as a paused
 * consumer, seek each partition (a seek commits), and leave after the first
 * fetch. `setOffsets` waits out a 5 s fetch there; this waits 100 ms, so a
 * reset takes about half a second. Unlike `setOffsets`, it fails loudly when
 * the consumer crashes, when a member joins meanwhile (this consumer would
 * not own every partition), when it takes longer than `timeoutMs`, or when
 * the offsets read back are not the plan's. (A timeout can cut kafkajs off
 * mid-join, and kafkajs then keeps that member alive; the CLI ends its
 * process on the error, which ends the member too.)
 *
 * @example
 * ```ts
 * await applyReset(["localhost:9092"], "billing-group", "order-events", plan);
 * ```
 */
export async function applyReset(
  brokers: string[],
  groupId: string,
  topic: string,
  plan: ResetStep[],
  timeoutMs = 30_000,
): Promise<void> {
  const kafka = createKafka({ brokers, clientId: "lab-reset-offsets" });
  const refused = (state: string) =>
    new LabError(
      `Assignments can only be reset if the group '${groupId}' is inactive, but the current ` +
        `state is ${state}. Stop its members first.`,
    );
  // The lab's member timing: should this consumer be cut off mid-join, the
  // group holds its place for 10 s, not kafkajs's default 30 s.
  const consumer = kafka.consumer({
    groupId,
    maxWaitTimeInMs: 100,
    sessionTimeout: LAB_TIMING.sessionTimeoutMs,
    rebalanceTimeout: LAB_TIMING.sessionTimeoutMs,
    heartbeatInterval: LAB_TIMING.heartbeatIntervalMs,
  });
  try {
    await consumer.connect();
    const { state } = await consumer.describeGroup();
    if (state !== "Empty" && state !== "Dead") throw refused(state);
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(
        () => settle(new LabError(`resetting ${groupId}'s offsets took over ${timeoutMs} ms`)),
        timeoutMs,
      );
      const settle = (error?: Error) => {
        clearTimeout(timer);
        if (error) reject(error);
        else resolve();
      };
      consumer.on(
        consumer.events.CRASH,
        ({ payload }) =>
          settle(new LabError(`resetting ${groupId}'s offsets failed: ${payload.error.message}`)),
      );
      consumer.on(consumer.events.GROUP_JOIN, ({ payload }) => {
        const owned = payload.memberAssignment[topic] ?? [];
        if (plan.some((step) => !owned.includes(step.partition))) settle(refused("Stable"));
      });
      consumer.on(consumer.events.FETCH, () => settle());
      consumer.run({ eachBatchAutoResolve: false, eachBatch: () => Promise.resolve() })
        .catch(settle);
      // run() has set up the group synchronously: the seeks wait for the first fetch.
      consumer.pause([{ topic }]);
      for (const step of plan) {
        consumer.seek({ topic, partition: step.partition, offset: String(step.target) });
      }
    });
  } finally {
    await consumer.disconnect();
  }
  const admin = kafka.admin();
  await admin.connect();
  try {
    const [offsets] = await admin.fetchOffsets({ groupId, topics: [topic] });
    const committed = new Map(offsets.partitions.map((p) => [p.partition, Number(p.offset)]));
    const missed = plan.filter((step) => committed.get(step.partition) !== step.target);
    if (missed.length > 0) {
      throw new LabError(
        `the reset of ${groupId} did not take on partition(s) ` +
          `${missed.map((step) => step.partition).join(", ")}: run it again`,
      );
    }
  } finally {
    await admin.disconnect();
  }
}
