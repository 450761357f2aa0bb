/**
 * Benchmarks: the lab measured against the references a Kafka engineer would
 * use, on the same broker in the same run. Every figure is a ratio against a
 * reference measured alongside it (Kafka's own Java perf tools, one member,
 * the ideal), never an absolute target in a timed test.
 *
 * @module
 */
import { CompressionTypes, type Consumer } from "kafkajs";
import {
  brokerPaths,
  findJava,
  isEmbeddedBroker,
  javaArgs,
  startBroker,
  stopBroker,
} from "../lib/kafka/broker.ts";
import { LabError, requireDeno } from "../lib/cli/flags.ts";
import { createKafka } from "../lib/kafka/config.ts";
import { allPartitionsOwned, timeRebalance, waitForGroup } from "../lib/inspect/groups.ts";
import { GroupMember, waitForMembers } from "../lib/kafka/member.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { ensureTopic } from "../lib/kafka/topic.ts";
import {
  makeTempDir,
  projectPath,
  remove,
  runCommand,
  scriptRunner,
  spawnProcess,
  writeTextFile,
} from "../lib/platform/runtime.ts";

/** One measured figure. */
export interface BenchRow {
  bench: string;
  case: string;
  value: string;
  /** What it is compared with, and the ratio or the target. */
  against?: string;
}

/** Options shared by the benchmarks. */
export interface BenchContext {
  brokers: string[];
  quick: boolean;
  say: (line: string) => void;
}

const stamp = () => `${Date.now().toString(36)}${Math.random().toString(36).slice(2, 5)}`;
const perSec = (n: number, ms: number) => n / (ms / 1000);
/**
 * A figure for the tables: `digits` decimals, thousands separated.
 *
 * @example
 * ```ts
 * fmt(12345.678, 1); // "12,345.7"
 * ```
 */
export const fmt = (n: number, digits = 0): string =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });

/** The median and the range of a set of trials. */
export interface Spread {
  median: number;
  min: number;
  max: number;
  trials: number;
}

/**
 * The median (the mean of the middle two for an even count) and the range
 * of `xs`.
 *
 * @example
 * ```ts
 * spread([3, 1, 2]); // { median: 2, min: 1, max: 3, trials: 3 }
 * ```
 */
export function spread(xs: number[]): Spread {
  if (xs.length === 0) throw new RangeError("spread of no trials");
  const sorted = [...xs].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 === 1
    ? sorted[middle]
    : (sorted[middle - 1] + sorted[middle]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1)!, trials: sorted.length };
}

/** Records done so far at a moment of a run (ms since the epoch). */
export interface Progress {
  at: number;
  count: number;
}

/**
 * Records/s over the second half of a run, so that a warm-up (JIT, the
 * first metadata and connection, the group join) does not count: from the
 * first sample at or past half the final count to the last sample.
 * Throws a {@linkcode LabError} when the run is too short to time that half.
 *
 * @example
 * ```ts
 * steadyRate([{ at: 0, count: 0 }, { at: 9_000, count: 500 }, { at: 10_000, count: 1_000 }]); // 500
 * ```
 */
export function steadyRate(samples: Progress[]): number {
  const last = samples.at(-1);
  const half = last && samples.find((s) => s.count >= last.count / 2);
  if (!last || !half || last.at <= half.at || last.count <= half.count) {
    throw new LabError("run too short to time its second half: give it more records");
  }
  return perSec(last.count - half.count, last.at - half.at);
}

/**
 * The "compared with" text of the lab's side of a like-for-like pair: the
 * ratio of the medians, or none after a short run (`--quick`), whose
 * figures are still warm-up and noise.
 *
 * @example
 * ```ts
 * pairVerdict(spread([90, 100, 110]), spread([190, 200, 210]), false); // "lab/Java 0.50 (medians); ..."
 * ```
 */
export function pairVerdict(lab: Spread, java: Spread, quick: boolean): string {
  if (quick) return "short run, no ratio: run without --quick to compare";
  const overlap = lab.min <= java.max && java.min <= lab.max;
  return `lab/Java ${fmt(lab.median / java.median, 2)} (medians of ${lab.trials} interleaved ` +
    `trials)${overlap ? "; the ranges overlap: no clear difference" : ""}`;
}

/**
 * Runs each side once per trial, interleaved (a, b, a, b, ...), so that a
 * change in the machine's load falls on both sides alike; resolves to each
 * side's results in trial order.
 *
 * @example
 * ```ts
 * const [lab, java] = await interleave(3, [runLab, runJava]);
 * ```
 */
export async function interleave(
  trials: number,
  sides: (() => Promise<number>)[],
): Promise<number[][]> {
  const results = sides.map(() => [] as number[]);
  for (let trial = 0; trial < trials; trial++) {
    for (const [i, side] of sides.entries()) results[i].push(await side());
  }
  return results;
}

async function freshTopic(ctx: BenchContext, prefix: string, partitions: number): Promise<string> {
  const topic = `bench-${prefix}-${stamp()}`;
  const admin = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).admin();
  await admin.connect();
  try {
    await ensureTopic(admin, topic, partitions);
  } finally {
    await admin.disconnect();
  }
  return topic;
}

async function deleteTopics(ctx: BenchContext, topics: string[]): Promise<void> {
  const admin = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics });
  } finally {
    await admin.disconnect();
  }
}

/** An order event padded to exactly `size` bytes of JSON, so members read it as an order. */
function orderOfSize(size: number): string {
  const bare = JSON.stringify({ order_id: "1000", amount: 0, pad: "" });
  return JSON.stringify({
    order_id: "1000",
    amount: 0,
    pad: "x".repeat(Math.max(0, size - bare.length)),
  });
}

/** How the lab's producer sends: records per `send`, concurrent sends, compression. */
interface LabSending {
  batch: number;
  inFlight: number;
  gzip: boolean;
}

/**
 * Produces `count` records of `value` with the lab's client (acks=all);
 * resolves to records/s over the second half.
 */
async function labProduce(
  ctx: BenchContext,
  topic: string,
  count: number,
  value: string,
  sending: LabSending,
): Promise<number> {
  const producer = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).producer();
  await producer.connect();
  const samples: Progress[] = [{ at: Date.now(), count: 0 }];
  let next = 0;
  let acked = 0;
  const sender = async () => {
    while (next < count) {
      const n = Math.min(sending.batch, count - next);
      next += n;
      await producer.send({
        topic,
        acks: -1,
        compression: sending.gzip ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: Array.from({ length: n }, () => ({ value })),
      });
      acked += n;
      samples.push({ at: Date.now(), count: acked });
    }
  };
  try {
    await Promise.all(Array.from({ length: sending.inFlight }, sender));
  } finally {
    await producer.disconnect();
  }
  return steadyRate(samples);
}

/**
 * Consumes `count` records of `topic` from the start; resolves to records/s
 * over the second half. `member`: through {@linkcode GroupMember} (one event
 * per message, as the lessons use it); otherwise raw `eachBatch` with
 * `fetch` sizes.
 */
async function labConsume(
  ctx: BenchContext,
  topic: string,
  count: number,
  how: "member" | { maxBytesPerPartition: number; maxBytes: number },
): Promise<number> {
  const groupId = `bench-consume-${stamp()}`;
  if (how === "member") {
    const member = await GroupMember.start({
      brokers: ctx.brokers,
      groupId,
      name: "bench",
      topic,
      deadLetterTopic: false,
      maxBytes: 1 << 20,
    });
    try {
      await member.waitFor((m) => m.received.length >= count, 120_000);
      return steadyRate(member.received.map((m, i) => ({ at: m.at, count: i + 1 })));
    } finally {
      await member.stop();
    }
  }
  const consumer: Consumer = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).consumer({
    groupId,
    ...how,
  });
  const samples: Progress[] = [];
  let received = 0;
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = Promise.withResolvers<void>();
    await consumer.run({
      eachBatch: ({ batch }) => {
        received += batch.messages.length;
        samples.push({ at: Date.now(), count: received });
        if (received >= count) done.resolve();
        return Promise.resolve();
      },
    });
    await Promise.race([done.promise, new Promise((r) => setTimeout(r, 120_000))]);
  } finally {
    await consumer.disconnect();
  }
  return steadyRate(samples);
}

async function runJavaTool(mainClass: string, args: string[]): Promise<string> {
  const out = await runCommand(
    await findJava(),
    javaArgs(brokerPaths(), mainClass, args, ["-Xmx512m"]),
  );
  if (out.code !== 0) throw new LabError(`${mainClass} failed: ${out.stderr.slice(-300)}`);
  return out.stdout;
}

/**
 * Kafka's ProducerPerformance sending `count` records read from
 * `payloadFile` with `props`; resolves to records/s over the second half
 * (its `--warmup-records` leaves the first half out of its steady-state line).
 */
async function javaProduce(
  ctx: BenchContext,
  topic: string,
  count: number,
  payloadFile: string,
  props: string[],
): Promise<number> {
  const text = await runJavaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--bootstrap-server",
    ctx.brokers.join(","),
    "--topic",
    topic,
    "--num-records",
    String(count),
    "--warmup-records",
    String(Math.floor(count / 2)),
    "--payload-file",
    payloadFile,
    "--throughput",
    "-1",
    "--command-property",
    "acks=all",
    ...props,
  ]);
  const match = /\d+ steady state records sent, ([\d.]+) records\/sec/.exec(text);
  if (!match) throw new LabError(`unexpected ProducerPerformance output: ${text.slice(-200)}`);
  return Number(match[1]);
}

/**
 * Kafka's ConsumerPerformance reading `count` records of `topic` with
 * `props`; resolves to records/s over the second half, from its detailed
 * stats (a cumulative count every 20 ms).
 */
async function javaConsume(ctx: BenchContext, topic: string, count: number, props: string[]) {
  const text = await runJavaTool("org.apache.kafka.tools.ConsumerPerformance", [
    "--bootstrap-server",
    ctx.brokers.join(","),
    "--topic",
    topic,
    "--num-records",
    String(count),
    "--show-detailed-stats",
    "--reporting-interval",
    "20",
    "--hide-header",
    ...props.flatMap((p) => ["--command-property", p]),
  ]);
  return steadyRate(parseConsumerProgress(text));
}

/**
 * The progress lines of ConsumerPerformance's `--show-detailed-stats`
 * (`2026-12-04 17:32:01:766, 0, 26.3493, 131.7458, 276292, ...`): time
 * and records consumed so far.
 *
 * @example
 * ```ts
 * parseConsumerProgress("2026-12-04 17:32:01:766, 0, 26.3, 131.7, 276292, 1381455.0"); // [{ at: ..., count: 276292 }]
 * ```
 */
export function parseConsumerProgress(text: string): Progress[] {
  const samples: Progress[] = [];
  for (const line of text.split("\n")) {
    const m = /^(\d+)-(\d+)-(\d+) (\d+):(\d+):(\d+):(\d+), \d+, [\d.]+, [\d.]+, (\d+),/.exec(line);
    if (!m) continue;
    const [y, mo, d, h, mi, s, ms, count] = m.slice(1).map(Number);
    samples.push({ at: Date.UTC(y, mo - 1, d, h, mi, s, ms), count });
  }
  return samples;
}

/** Record count, trials and record sizes of the throughput bench. */
export interface ThroughputPlan {
  trials: number;
  sizes: number[];
  /** Records per run for one record per send (about 10 s at ~5,000/s). */
  perSend: number;
  /** Records per run for batched producers and the consumers, by record size. */
  bulk: (size: number) => number;
}

/**
 * The plan of the throughput bench: `--quick` is one short trial (its
 * figures get no ratio); a full run is 3 interleaved trials long enough
 * that the measured second half is steady state.
 *
 * @example
 * ```ts
 * throughputPlan(false).trials; // 3
 * ```
 */
export function throughputPlan(quick: boolean): ThroughputPlan {
  return quick
    ? {
      trials: 1,
      sizes: [100, 1024],
      perSend: 4_000,
      bulk: (size) => size < 1000 ? 200_000 : 60_000,
    }
    : {
      trials: 3,
      sizes: [100, 1024],
      perSend: 40_000,
      bulk: (size) => size < 1000 ? 1_000_000 : 300_000,
    };
}

const PARTITIONS = 3;
const TUNED: LabSending = { batch: 500, inFlight: 4, gzip: false };
/** Kafka's record batch: a 61 B header, and about 10 B per keyless record besides its value. */
const BATCH_HEADER = 61;
const RECORD_OVERHEAD = 10;
const FETCH = { maxBytesPerPartition: 4 << 20, maxBytes: 16 << 20 };

/**
 * Throughput of the lab's producer and consumer against Kafka's own Java
 * perf tools on the same broker, same topic layout and same record bytes,
 * for 100 B and 1 KB records: each like-for-like pair in interleaved
 * trials, each run measured over its second half (steady state).
 *
 * @example
 * ```ts
 * const rows = await benchThroughput({ brokers: ["127.0.0.1:9092"], quick: true, say: console.log });
 * ```
 */
export async function benchThroughput(ctx: BenchContext): Promise<BenchRow[]> {
  const plan = throughputPlan(ctx.quick);
  const rows: BenchRow[] = [];
  const dir = await makeTempDir("lab-bench-");
  try {
    for (const size of plan.sizes) {
      const value = orderOfSize(size);
      const payloadFile = `${dir}/payload-${size}.txt`;
      await writeTextFile(payloadFile, value);
      const bulk = plan.bulk(size);
      const topics: string[] = [];
      const topic = async (prefix: string) => {
        topics.push(await freshTopic(ctx, prefix, PARTITIONS));
        return topics.at(-1)!;
      };
      const show = (s: Spread) =>
        `${fmt(s.median)} rec/s (${
          s.trials === 1 ? "one trial" : `${fmt(s.min)}-${fmt(s.max)} over ${s.trials}`
        }), ${fmt(s.median * size / 1e6, 1)} MB/s`;
      const row = (bench: string, what: string, s: Spread, against: string): BenchRow => ({
        bench,
        case: `${size} B, ${what}`,
        value: show(s),
        against,
      });
      const pair = (bench: string, lab: [string, number[]], java: [string, number[]]) => {
        const [labSpread, javaSpread] = [spread(lab[1]), spread(java[1])];
        rows.push(
          row(bench, lab[0], labSpread, pairVerdict(labSpread, javaSpread, ctx.quick)),
          row(bench, java[0], javaSpread, "the Java side of the row above"),
        );
      };
      try {
        ctx.say(`throughput: ${size} B, lab one record per send vs Java defaults...`);
        const [perSend, javaDefaults] = await interleave(plan.trials, [
          async () =>
            labProduce(ctx, await topic("lab"), plan.perSend, value, {
              batch: 1,
              inFlight: 1,
              gzip: false,
            }),
          async () => javaProduce(ctx, await topic("java"), bulk, payloadFile, []),
        ]);
        rows.push(
          row(
            "produce",
            `lab: one record per awaited send (kafkajs, as deno task producer sends), ${
              fmt(plan.perSend)
            } records`,
            spread(perSend),
            "no ratio: not like for like, every record waits for its own ack; Java's producer never waits per record",
          ),
          row(
            "produce",
            `Java: ProducerPerformance with producer defaults (batch.size=16384, linger.ms=5), ${
              fmt(bulk)
            } records`,
            spread(javaDefaults),
            "reference: what a Java application gets without tuning",
          ),
        );
        const perPartition = Math.ceil(TUNED.batch / PARTITIONS);
        const batchBytes = BATCH_HEADER + perPartition * (size + RECORD_OVERHEAD);
        const javaBatching = [
          `batch.size=${batchBytes}`,
          "linger.ms=0",
          `max.in.flight.requests.per.connection=${TUNED.inFlight}`,
        ];
        const labTuned = `${TUNED.batch} records per send (${perPartition} per partition), ` +
          `${TUNED.inFlight} sends in flight, no linger`;
        const javaTuned = `batch.size=${batchBytes} (room for ${perPartition} records), ` +
          `linger.ms=0, max.in.flight=${TUNED.inFlight}`;
        let readTopic = "";
        for (const gzip of [false, true]) {
          const codec = gzip ? ", gzip" : "";
          ctx.say(`throughput: ${size} B, same batching${codec}, lab vs Java...`);
          const [lab, java] = await interleave(plan.trials, [
            async () => {
              const written = await topic("lab");
              if (!gzip) readTopic = written; // the consumers read the lab's uncompressed log
              return labProduce(ctx, written, bulk, value, { ...TUNED, gzip });
            },
            async () =>
              javaProduce(ctx, await topic("java"), bulk, payloadFile, [
                ...javaBatching,
                ...(gzip ? ["compression.type=gzip"] : []),
              ]),
          ]);
          pair(
            "produce",
            [`lab: ${labTuned}${codec}, ${fmt(bulk)} records`, lab],
            [`Java: ProducerPerformance, ${javaTuned}${codec}, ${fmt(bulk)} records`, java],
          );
        }
        ctx.say(`throughput: ${size} B, consumers reading the same ${fmt(bulk)} records...`);
        const memberCount = Math.min(bulk, 200_000);
        const [member, batch, java] = await interleave(plan.trials, [
          () => labConsume(ctx, readTopic, memberCount, "member"),
          () => labConsume(ctx, readTopic, bulk, FETCH),
          () =>
            javaConsume(ctx, readTopic, bulk, [
              `max.partition.fetch.bytes=${FETCH.maxBytesPerPartition}`,
              `fetch.max.bytes=${FETCH.maxBytes}`,
            ]),
        ]);
        rows.push(
          row(
            "consume",
            `lab: GroupMember, one event per message (as the lessons read), ${
              fmt(memberCount)
            } records`,
            spread(member),
            "no ratio: not like for like, Java's consumer hands over whole polls",
          ),
        );
        pair(
          "consume",
          [
            `lab: eachBatch, fetches of 4 MB per partition, 16 MB in all, ${fmt(bulk)} records`,
            batch,
          ],
          [
            `Java: ConsumerPerformance, max.partition.fetch.bytes=4 MB, fetch.max.bytes=16 MB, ${
              fmt(bulk)
            } records`,
            java,
          ],
        );
      } finally {
        await deleteTopics(ctx, topics);
      }
    }
  } finally {
    await remove(dir);
  }
  return rows;
}

/** Group throughput with `k` members doing `processMs` of work per message. */
async function groupThroughput(
  ctx: BenchContext,
  partitions: number,
  k: number,
  messages: number,
  processMs: number,
): Promise<number> {
  const topic = await freshTopic(ctx, `scale${partitions}`, partitions);
  const groupId = `bench-scale-${stamp()}`;
  const members: GroupMember[] = [];
  const admin = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).admin();
  const producer = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).producer();
  await admin.connect();
  await producer.connect();
  try {
    for (let i = 1; i <= k; i++) {
      members.push(
        await GroupMember.start({ brokers: ctx.brokers, groupId, name: `m${i}`, topic, processMs }),
      );
    }
    await waitForGroup(
      admin,
      groupId,
      (s) => s.members.length === k && allPartitionsOwned(s, topic, partitions),
      30_000,
    );
    await waitForMembers(members, () => members.every((m) => m.partitions !== undefined), 10_000);
    const started = Date.now();
    await producer.send({
      topic,
      messages: Array.from({ length: messages }, (_, i) => ({
        partition: i % partitions,
        value: JSON.stringify({ order_id: String(i), amount: i }),
      })),
    });
    const total = () => members.reduce((n, m) => n + m.received.length, 0);
    await waitForMembers(members, () => total() >= messages, 120_000);
    return perSec(total(), Date.now() - started);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await producer.disconnect();
    await admin.disconnect();
  }
}

/**
 * Scale-out: group throughput with 1, 2, 3, 4, 6 members when each message
 * takes `processMs` of work, on 3 (and 6) partitions; efficiency against the
 * ideal min(k, partitions) × one member.
 *
 * @example
 * ```ts
 * const { rows } = await benchScaleOut({ brokers: ["127.0.0.1:9092"], quick: true, say: console.log });
 * ```
 */
export async function benchScaleOut(
  ctx: BenchContext,
): Promise<
  { rows: BenchRow[]; series: { partitions: number; points: [number, number, number][] }[] }
> {
  const processMs = 5;
  const messages = ctx.quick ? 300 : 900;
  const rows: BenchRow[] = [];
  const series: { partitions: number; points: [number, number, number][] }[] = [];
  for (const partitions of ctx.quick ? [3] : [3, 6]) {
    const points: [number, number, number][] = [];
    let single = 0;
    for (const k of [1, 2, 3, 4, 6]) {
      ctx.say(`scale-out: ${k} member(s) on ${partitions} partitions...`);
      const rate = await groupThroughput(ctx, partitions, k, messages, processMs);
      if (k === 1) single = rate;
      const ideal = Math.min(k, partitions) * single;
      // The busiest member owns ceil(P / k) partitions and processes them one at a time.
      const best = single * partitions / Math.ceil(partitions / Math.min(k, partitions));
      points.push([k, rate, ideal]);
      rows.push({
        bench: "scale-out",
        case: `${k} member(s), ${partitions} partitions, ${processMs} ms/message`,
        value: `${fmt(rate)} msg/s`,
        against: `ideal min(k, P) x one member ${fmt(ideal)}: ${fmt(100 * rate / ideal)} %; ` +
          `best possible with ${partitions} partitions over ${k} ${fmt(best)}: ${
            fmt(100 * rate / best)
          } %`,
      });
    }
    series.push({ partitions, points });
  }
  return { rows, series };
}

/**
 * Rebalance latency over several trials: a member's graceful leave
 * (SIGTERM), a member's SIGKILL, and a member's join, each until every
 * partition is owned again. Members are real `scripts/consumer.ts` processes
 * with the lab's default timing.
 *
 * @example
 * ```ts
 * const rows = await benchRebalance({ brokers: ["127.0.0.1:9092"], quick: true, say: console.log });
 * ```
 */
export async function benchRebalance(ctx: BenchContext): Promise<BenchRow[]> {
  const trials = ctx.quick ? 2 : 5;
  const topic = await freshTopic(ctx, "rebalance", 3);
  const groupId = `bench-rebalance-${stamp()}`;
  const admin = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).admin();
  await admin.connect();
  const members: MemberProcess[] = [];
  const times = { leave: [] as number[], kill: [] as number[], join: [] as number[] };
  let serial = 0;
  const join = async () => {
    const t = await timeRebalance(admin, groupId, topic, 3, members.length + 1, async () => {
      members.push(
        await spawnMember({ groupId, name: `Member ${++serial}`, brokers: ctx.brokers, topic }),
      );
    });
    return t.ms;
  };
  try {
    for (let i = 0; i < 3; i++) await join();
    for (let trial = 1; trial <= trials; trial++) {
      ctx.say(`rebalance: trial ${trial} of ${trials}...`);
      const leaving = members.shift()!;
      times.leave.push(
        (await timeRebalance(admin, groupId, topic, 3, members.length, () => leaving.stop())).ms,
      );
      times.join.push(await join());
      const victim = members.shift()!;
      times.kill.push(
        (await timeRebalance(admin, groupId, topic, 3, members.length, () => victim.kill())).ms,
      );
      times.join.push(await join());
    }
  } finally {
    await Promise.all(members.map((m) => m.kill()));
    await admin.disconnect();
  }
  const row = (what: string, xs: number[], bound: string): BenchRow => ({
    bench: "rebalance",
    case: `${what} (${xs.length} trials)`,
    value: `median ${fmt(spread(xs).median / 1000, 2)} s, max ${fmt(Math.max(...xs) / 1000, 2)} s`,
    against: bound,
  });
  return [
    row(
      "graceful leave",
      times.leave,
      "target <= 1.5 s: LeaveGroup, then the others rejoin at their next heartbeat (0.5 s), sent between fetches (<= 0.25 s)",
    ),
    row(
      "SIGKILL",
      times.kill,
      "target <= session timeout (10 s) + 1 s: nobody tells the coordinator",
    ),
    row(
      "join (process start to owned)",
      times.join,
      "includes starting Deno and connecting; initial rebalance delay is 0",
    ),
  ];
}

/**
 * Cold start: the embedded broker from start to ready (when it is the lab's
 * own), and `deno task demo` from launch to its first consumed message.
 *
 * @example
 * ```ts
 * const rows = await benchColdStart({ brokers: ["127.0.0.1:9092"], quick: true, say: console.log });
 * ```
 */
export async function benchColdStart(ctx: BenchContext): Promise<BenchRow[]> {
  const rows: BenchRow[] = [];
  if (isEmbeddedBroker(ctx.brokers)) {
    ctx.say("cold start: restarting the broker...");
    await stopBroker();
    const { readyMs } = await startBroker();
    rows.push({
      bench: "cold start",
      case: "broker start to ready (jars cached)",
      value: `${fmt((readyMs ?? 0) / 1000, 1)} s`,
    });
  }
  ctx.say("cold start: deno task demo to its first consumed message...");
  const started = Date.now();
  const [runner, ...runnerArgs] = scriptRunner();
  let firstMessageMs = 0;
  const demo = spawnProcess(runner, [
    ...runnerArgs,
    projectPath("scripts/demo.ts"),
    "--count",
    "3",
    "--interval-ms",
    "100",
    "--group",
    `bench-demo-${stamp()}`,
  ], {
    env: { KAFKA_BROKERS: ctx.brokers.join(","), NO_COLOR: "1" },
    onLine: (line) => {
      if (firstMessageMs === 0 && / got message: /.test(line)) {
        firstMessageMs = Date.now() - started;
      }
    },
  });
  await demo.exited;
  rows.push({
    bench: "cold start",
    case: "demo launch to first consumed message (broker up, caches warm)",
    value: `${fmt(firstMessageMs / 1000, 1)} s`,
    against: "target <= 8 s",
  });
  return rows;
}

/**
 * The cost of `deno task test`: its wall time, and the test files that take
 * longest.
 *
 * @example
 * ```ts
 * const rows = await benchSuite({ brokers: ["127.0.0.1:9092"], quick: false, say: console.log });
 * ```
 */
export async function benchSuite(ctx: BenchContext): Promise<BenchRow[]> {
  ctx.say("test suite: running deno task test (about 3 minutes)...");
  const started = Date.now();
  const out = await runCommand(requireDeno("deno task bench suite"), ["task", "test"], {
    cwd: projectPath(),
    env: { NO_COLOR: "1", KAFKA_BROKERS: ctx.brokers.join(",") },
  });
  const wall = Date.now() - started;
  const text = out.stdout;
  const perFile = new Map<string, number>();
  let file = "";
  for (const line of text.split("\n")) {
    const running = /running \d+ tests? from \.\/tests\/(\S+)/.exec(line);
    if (running) file = running[1];
    const took = / \.\.\. ok \((\d+(?:\.\d+)?)(ms|s|m)/.exec(line);
    if (took && file) {
      const ms = Number(took[1]) * (took[2] === "s" ? 1000 : took[2] === "m" ? 60_000 : 1);
      perFile.set(file, (perFile.get(file) ?? 0) + ms);
    }
  }
  const top = [...perFile].sort((a, b) => b[1] - a[1]).slice(0, 3)
    .map(([f, ms]) => `${f} ${fmt(ms / 1000)} s`).join(", ");
  return [{
    bench: "test suite",
    case: `deno task test (${/(\d+ passed, \d+ failed)/.exec(text)?.[1] ?? "?"})`,
    value: `${fmt(wall / 1000)} s`,
    against: `target <= 300 s; slowest: ${top}`,
  }];
}

/**
 * The results as a Markdown table.
 *
 * @example
 * ```ts
 * console.log(markdownTable(rows));
 * ```
 */
export function markdownTable(rows: BenchRow[]): string {
  const lines = ["| bench | case | result | compared with |", "| --- | --- | --- | --- |"];
  for (const r of rows) lines.push(`| ${r.bench} | ${r.case} | ${r.value} | ${r.against ?? ""} |`);
  return lines.join("\n");
}

/**
 * The scale-out results as an SVG line chart: throughput and the ideal
 * against the number of members, one line pair per partition count.
 *
 * @example
 * ```ts
 * await writeTextFile("scaleout.svg", scaleOutChart(series));
 * ```
 */
export function scaleOutChart(
  series: { partitions: number; points: [number, number, number][] }[],
): string {
  const width = 560, height = 320, left = 60, bottom = 40, top = 30, right = 140;
  const maxRate = Math.max(1, ...series.flatMap((s) => s.points.flatMap(([, r, i]) => [r, i])));
  const x = (k: number) => left + (k - 1) / 5 * (width - left - right);
  const y = (v: number) => height - bottom - v / maxRate * (height - top - bottom);
  const colors = ["#4e79a7", "#f28e2b"];
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="sans-serif" font-size="12">`,
    `<text x="${left}" y="18" font-weight="bold">Group throughput vs members (5 ms work per message)</text>`,
    `<line x1="${left}" y1="${height - bottom}" x2="${width - right}" y2="${
      height - bottom
    }" stroke="#333"/>`,
    `<line x1="${left}" y1="${top}" x2="${left}" y2="${height - bottom}" stroke="#333"/>`,
    ...[1, 2, 3, 4, 6].map((k) =>
      `<text x="${x(k)}" y="${height - bottom + 16}" text-anchor="middle">${k}</text>`
    ),
    `<text x="${(left + width - right) / 2}" y="${height - 6}" text-anchor="middle">members</text>`,
    `<text x="${left - 8}" y="${y(maxRate)}" text-anchor="end">${fmt(maxRate)}</text>`,
    `<text x="${left - 8}" y="${y(0)}" text-anchor="end">0</text>`,
  ];
  series.forEach((s, i) => {
    const color = colors[i % colors.length];
    const path = (index: 1 | 2) =>
      s.points.map(([k, ...v]) => `${x(k)},${y(v[index - 1])}`).join(" ");
    parts.push(
      `<polyline points="${path(1)}" fill="none" stroke="${color}" stroke-width="2.5"/>`,
      `<polyline points="${
        path(2)
      }" fill="none" stroke="${color}" stroke-width="1.5" stroke-dasharray="5,4"/>`,
      `<text x="${width - right + 8}" y="${
        top + 20 + i * 36
      }" fill="${color}">${s.partitions} partitions</text>`,
      `<text x="${width - right + 8}" y="${
        top + 34 + i * 36
      }" fill="${color}" font-size="10">dashed: ideal</text>`,
    );
  });
  parts.push("</svg>");
  return parts.join("\n");
}
