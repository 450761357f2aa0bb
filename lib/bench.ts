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
} from "./broker.ts";
import { requireDeno } from "./cli.ts";
import { createKafka } from "./config.ts";
import { allPartitionsOwned, timeRebalance, waitForGroup } from "./groups.ts";
import { GroupMember, waitForMembers } from "./member.ts";
import { type MemberProcess, spawnMember } from "./processes.ts";
import { ensureTopic } from "./topic.ts";
import { projectPath, runCommand, scriptRunner, spawnProcess } from "./runtime.ts";

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
const fmt = (n: number, digits = 0) =>
  n.toLocaleString("en-US", { maximumFractionDigits: digits, minimumFractionDigits: digits });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)];

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

/** An order event padded to exactly `size` bytes of JSON, so members read it as an order. */
function orderOfSize(size: number): string {
  const bare = JSON.stringify({ order_id: "1000", amount: 0, pad: "" });
  return JSON.stringify({
    order_id: "1000",
    amount: 0,
    pad: "x".repeat(Math.max(0, size - bare.length)),
  });
}

/** Produces `count` records of `size` bytes with the lab's client; resolves to records/s. */
async function labProduce(
  ctx: BenchContext,
  topic: string,
  count: number,
  size: number,
  tuned: { batch: number; inFlight: number; gzip: boolean },
): Promise<number> {
  const producer = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).producer();
  await producer.connect();
  const value = orderOfSize(size);
  const started = Date.now();
  let next = 0;
  const sender = async () => {
    while (next < count) {
      const n = Math.min(tuned.batch, count - next);
      next += n;
      await producer.send({
        topic,
        acks: -1,
        compression: tuned.gzip ? CompressionTypes.GZIP : CompressionTypes.None,
        messages: Array.from({ length: n }, () => ({ value })),
      });
    }
  };
  await Promise.all(Array.from({ length: tuned.inFlight }, sender));
  const ms = Date.now() - started;
  await producer.disconnect();
  return perSec(count, ms);
}

/**
 * Consumes `count` records of `topic` from the start; resolves to records/s
 * from joining the group to the last record (like Kafka's fetch.nMsg.sec,
 * which leaves out the join). `member`: through {@linkcode GroupMember}
 * (one event per message, as the lessons use it); otherwise raw `eachBatch`.
 */
async function labConsume(
  ctx: BenchContext,
  topic: string,
  count: number,
  how: "member" | "eachBatch",
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
      const joined = member.events.find((e) => e.type === "assigned")!.at;
      return perSec(member.received.length, member.received.at(-1)!.at - joined);
    } finally {
      await member.stop();
    }
  }
  const consumer: Consumer = createKafka({ brokers: ctx.brokers, clientId: "lab-bench" }).consumer({
    groupId,
    maxBytesPerPartition: 4 << 20,
    maxBytes: 16 << 20,
  });
  let received = 0;
  let joined = 0;
  let last = 0;
  consumer.on(consumer.events.GROUP_JOIN, () => joined = Date.now());
  await consumer.connect();
  try {
    await consumer.subscribe({ topics: [topic], fromBeginning: true });
    const done = Promise.withResolvers<void>();
    await consumer.run({
      eachBatch: ({ batch }) => {
        received += batch.messages.length;
        last = Date.now();
        if (received >= count) done.resolve();
        return Promise.resolve();
      },
    });
    await Promise.race([done.promise, new Promise((r) => setTimeout(r, 120_000))]);
  } finally {
    await consumer.disconnect();
  }
  return perSec(received, Math.max(1, last - joined));
}

async function runJavaTool(mainClass: string, args: string[]): Promise<string> {
  const out = await runCommand(
    await findJava(),
    javaArgs(brokerPaths(), mainClass, args, ["-Xmx512m"]),
  );
  if (out.code !== 0) throw new Error(`${mainClass} failed: ${out.stderr.slice(-300)}`);
  return out.stdout;
}

/** Kafka's ProducerPerformance: records/s. */
async function javaProduce(ctx: BenchContext, topic: string, count: number, size: number) {
  const text = await runJavaTool("org.apache.kafka.tools.ProducerPerformance", [
    "--topic",
    topic,
    "--num-records",
    String(count),
    "--record-size",
    String(size),
    "--throughput",
    "-1",
    "--producer-props",
    `bootstrap.servers=${ctx.brokers.join(",")}`,
    "acks=all",
  ]);
  const match = /(\d+) records sent, ([\d.]+) records\/sec/.exec(
    text.split("\n").filter(Boolean).at(-1) ?? "",
  );
  if (!match) throw new Error(`unexpected ProducerPerformance output: ${text.slice(-200)}`);
  return Number(match[2]);
}

/** Kafka's ConsumerPerformance: records/s while fetching (its fetch.nMsg.sec). */
async function javaConsume(ctx: BenchContext, topic: string, count: number) {
  const text = await runJavaTool("org.apache.kafka.tools.ConsumerPerformance", [
    "--bootstrap-server",
    ctx.brokers.join(","),
    "--topic",
    topic,
    "--messages",
    String(count),
  ]);
  const lines = text.trim().split("\n");
  const header = lines.findIndex((l) => l.startsWith("start.time"));
  const columns = lines[header].split(",").map((c) => c.trim());
  const values = lines[header + 1].split(",").map((c) => c.trim());
  return Number(values[columns.indexOf("fetch.nMsg.sec")]);
}

/**
 * Throughput of the lab's producer and consumer against Kafka's own Java
 * perf tools on the same broker, for 100 B and 1 KB records, before and
 * after tuning.
 *
 * @example
 * ```ts
 * const rows = await benchThroughput({ brokers: ["127.0.0.1:9092"], quick: true, say: console.log });
 * ```
 */
export async function benchThroughput(ctx: BenchContext): Promise<BenchRow[]> {
  const count = ctx.quick ? 20_000 : 100_000;
  const rows: BenchRow[] = [];
  for (const size of [100, 1024]) {
    const mb = (rate: number) => `${fmt(rate * size / 1e6, 1)} MB/s`;
    const javaTopic = await freshTopic(ctx, "java", 3);
    ctx.say(`throughput: ${count} x ${size} B, Kafka's Java tools...`);
    const javaP = await javaProduce(ctx, javaTopic, count, size);
    const javaC = await javaConsume(ctx, javaTopic, count);
    const plain = await freshTopic(ctx, "lab", 3);
    ctx.say(`throughput: ${count} x ${size} B, the lab's client...`);
    const before = await labProduce(ctx, plain, count, size, {
      batch: 1,
      inFlight: 1,
      gzip: false,
    });
    // Consumers read a log written in batches, as Java's ConsumerPerformance reads ProducerPerformance's.
    const batched = await freshTopic(ctx, "batched", 3);
    const tuned = await labProduce(ctx, batched, count, size, {
      batch: 500,
      inFlight: 4,
      gzip: false,
    });
    const gzipTopic = await freshTopic(ctx, "gzip", 3);
    const gzip = await labProduce(ctx, gzipTopic, count, size, {
      batch: 500,
      inFlight: 4,
      gzip: true,
    });
    const member = await labConsume(ctx, batched, count, "member");
    const batch = await labConsume(ctx, batched, count, "eachBatch");
    const ratio = (lab: number, java: number) =>
      `Java ${fmt(java)} rec/s: lab/Java ${fmt(lab / java, 2)}`;
    rows.push(
      {
        bench: "produce",
        case: `${size} B, one record per send (before)`,
        value: `${fmt(before)} rec/s, ${mb(before)}`,
        against: ratio(before, javaP),
      },
      {
        bench: "produce",
        case: `${size} B, 500 per send x 4 in flight (tuned)`,
        value: `${fmt(tuned)} rec/s, ${mb(tuned)}`,
        against: ratio(tuned, javaP),
      },
      {
        bench: "produce",
        case: `${size} B, tuned + gzip`,
        value: `${fmt(gzip)} rec/s, ${mb(gzip)}`,
        against: ratio(gzip, javaP),
      },
      {
        bench: "consume",
        case: `${size} B, GroupMember eachMessage (before)`,
        value: `${fmt(member)} rec/s, ${mb(member)}`,
        against: ratio(member, javaC),
      },
      {
        bench: "consume",
        case: `${size} B, eachBatch, 4 MB fetches (tuned)`,
        value: `${fmt(batch)} rec/s, ${mb(batch)}`,
        against: ratio(batch, javaC),
      },
    );
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
    value: `median ${fmt(median(xs) / 1000, 2)} s, max ${fmt(Math.max(...xs) / 1000, 2)} s`,
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
