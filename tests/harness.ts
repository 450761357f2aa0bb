/**
 * Test harness: one real Kafka broker for the whole run, and unique names so
 * tests never see each other's topics or groups.
 *
 * The broker is `KAFKA_BROKERS` when set, else the lab's embedded broker,
 * started on first use if nothing answers (`deno task test` starts it once
 * before the tests and stops it after).
 *
 * @module
 */
import { readdirSync } from "node:fs";
import type { Admin } from "kafkajs";
import {
  brokerAddress,
  brokerPaths,
  findJava,
  javaArgs,
  startBroker,
} from "../lib/kafka/broker.ts";
import { startCluster } from "../lib/kafka/cluster.ts";
import { createKafka } from "../lib/kafka/config.ts";
import { ensureTopic } from "../lib/kafka/topic.ts";
import type { ExerciseContext } from "../lib/lessons/exercises.ts";
import {
  type ChildHandle,
  projectPath,
  scriptRunner,
  spawnProcess,
} from "../lib/platform/runtime.ts";
import { until } from "../lib/platform/wait.ts";
import type { SoakReport } from "../bench/soak.ts";
import { assertEquals, assertTrue } from "./assert.ts";

let brokers: Promise<string[]> | undefined;

/** Bootstrap servers of the test broker, starting the embedded one if needed. */
export function testBrokers(): Promise<string[]> {
  brokers ??= (async () => {
    const fromEnv = Deno.env.get("KAFKA_BROKERS");
    if (fromEnv) return fromEnv.split(",");
    await startBroker();
    return [brokerAddress(brokerPaths())];
  })();
  return brokers;
}

let cluster: Promise<string[]> | undefined;

/**
 * Bootstrap servers of the test cluster (lib/kafka/cluster.ts, placed by
 * `KAFKA_PORT` and `LAB_CLUSTER_DIR`), started on first use unless it runs
 * (`deno task test` starts it once before the cluster tests).
 */
export function testCluster(): Promise<string[]> {
  cluster ??= startCluster().then((started) => started.brokers);
  return cluster;
}

/** A name no other test (or earlier run) uses: `prefix-<time>-<random>`. */
export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 7)}`;
}

/** Runs `fn` with a connected admin client, and always disconnects it. */
export async function withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
  const admin = createKafka({ brokers: await testBrokers(), clientId: "lab-test" }).admin();
  await admin.connect();
  try {
    return await fn(admin);
  } finally {
    await admin.disconnect();
  }
}

/**
 * The TypeScript files under the project's `dirs`, at any depth, as paths
 * from the project's root (`lib/kafka/member.ts`), sorted.
 *
 * @example
 * ```ts
 * sourceFiles("lib", "scripts"); // ["lib/cli/flags.ts", "lib/cli/settings.ts", ...]
 * ```
 */
export function sourceFiles(...dirs: string[]): string[] {
  return dirs.flatMap((dir) =>
    readdirSync(projectPath(dir), { recursive: true, encoding: "utf8" })
      .filter((file) => file.endsWith(".ts"))
      .map((file) => `${dir}/${file}`)
  ).sort();
}

/** Creates a fresh 3-partition topic with a unique name and returns the name. */
export function freshTopic(prefix = "orders"): Promise<string> {
  const topic = uniqueName(prefix);
  return withAdmin(async (admin) => {
    await ensureTopic(admin, topic);
    return topic;
  });
}

/**
 * What an exercise check runs against in a test: the test brokers, a fresh
 * topic, and unique names for the lab's four groups, so that no other test's
 * members or commits count.
 */
export async function exerciseSetup(): Promise<
  { brokers: string[]; topic: string; groups: ExerciseContext["groups"] }
> {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groups = {
    billing: uniqueName("billing-group"),
    inventory: uniqueName("inventory-group"),
    notification: uniqueName("notification-group"),
    share: uniqueName("billing-share-group"),
  };
  return { brokers, topic, groups };
}

/** What {@linkcode runScript} saw. */
export interface ScriptRun {
  code: number;
  stdout: string;
  stderr: string;
  ms: number;
}

/**
 * Runs one of the lab's scripts (`scripts/<script>`) as a learner would, and
 * collects its exit code, output and run time. `runner` is the command before
 * the script's path: this Deno by default, `[bun]` for Bun.
 */
export async function runScript(
  script: string,
  args: string[],
  env: Record<string, string> = {},
  runner: string[] = scriptRunner(),
): Promise<ScriptRun> {
  const started = Date.now();
  const out = await new Deno.Command(runner[0], {
    args: [
      ...runner.slice(1),
      projectPath(`scripts/${script}`),
      ...args,
    ],
    env: { NO_COLOR: "1", ...env },
    stdout: "piped",
    stderr: "piped",
  }).output();
  const decode = (b: Uint8Array) => new TextDecoder().decode(b).trim();
  return {
    code: out.code,
    stdout: decode(out.stdout),
    stderr: decode(out.stderr),
    ms: Date.now() - started,
  };
}

/**
 * Runs `scripts/producer.ts` against the test broker on `topic`, orders sent
 * without pause, plus `flags`.
 */
export async function runProducerScript(topic: string, flags: string[]): Promise<ScriptRun> {
  const brokers = await testBrokers();
  return runScript("producer.ts", [
    "--interval-ms",
    "0",
    "--topic",
    topic,
    "--brokers",
    brokers.join(","),
    ...flags,
  ]);
}

/**
 * Runs one of Kafka's group tools (`ConsumerGroupCommand` is
 * kafka-consumer-groups.sh, `ShareGroupCommand` kafka-share-groups.sh)
 * against `brokers` (default: the test broker) and returns its stdout.
 */
export async function kafkaTool(
  tool: string,
  args: string[],
  brokers?: string[],
): Promise<string> {
  const out = await new Deno.Command(await findJava(), {
    args: javaArgs(brokerPaths(), `org.apache.kafka.tools.consumer.group.${tool}`, [
      "--bootstrap-server",
      (brokers ?? await testBrokers()).join(","),
      ...args,
    ]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/**
 * Writes `values` (keyed by their index) to `topic` with Kafka's own Java
 * console producer, compressed with `codec` (none, gzip, snappy, lz4, zstd),
 * in batches of several records, as a Java service would.
 */
export async function produceWithJava(
  topic: string,
  codec: string,
  values: string[],
): Promise<void> {
  const brokers = await testBrokers();
  const child = new Deno.Command(await findJava(), {
    args: javaArgs(brokerPaths(), "org.apache.kafka.tools.ConsoleProducer", [
      "--bootstrap-server",
      brokers.join(","),
      "--topic",
      topic,
      "--compression-codec",
      codec,
      "--producer-property",
      "linger.ms=200",
      "--reader-property",
      "parse.key=true",
      "--reader-property",
      "key.separator=\t",
    ]),
    stdin: "piped",
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const writer = child.stdin.getWriter();
  await writer.write(new TextEncoder().encode(values.map((v, i) => `${i}\t${v}\n`).join("")));
  await writer.close();
  const out = await child.output();
  if (!out.success) throw new Error(new TextDecoder().decode(out.stderr));
}

/**
 * A Deno process that starts a member in another language (`TWINS.<spawn>`,
 * its lines on the process's stdout), as a notebook kernel does, named
 * "Orphan"; resolves with it and the member's pid once the member has printed
 * its `started` line. Kill `parent` to see the member notice (LAB_PARENT_PID).
 */
export async function memberOfAParent(
  spawn: "java.spawn" | "java.spawnShare" | "python.spawn",
  options: { groupId: string; topic: string; extraArgs?: string[] },
): Promise<{ parent: ChildHandle; pid: number; lines: string[] }> {
  const json = JSON.stringify({ ...options, brokers: await testBrokers(), name: "Orphan" });
  const lines: string[] = [];
  const parent = spawnProcess(Deno.execPath(), [
    "eval",
    `import { TWINS } from "${projectPath("lib/processes/polyglot.ts")}";
     const twin = await TWINS.${spawn}({ ...${json}, onLine: console.log });
     console.log("twin pid", twin.pid);
     await new Promise(() => {});`,
  ], { onLine: (line) => lines.push(line) });
  if (!(await until(() => lines.some((l) => l.startsWith("Orphan started")), 30_000))) {
    parent.kill("SIGKILL");
    throw new Error(`the member did not start: ${lines.join(" | ")}`);
  }
  const pid = Number(/^twin pid (\d+)$/m.exec(lines.join("\n"))![1]);
  return { parent, pid, lines };
}

/**
 * The soak's promise, checked: all `orders` produced, each consumed at least
 * once (none lost), and the group caught up. Prints the report first.
 */
export function assertNothingLost(report: SoakReport, orders: number): void {
  console.log(JSON.stringify(report));
  assertEquals(report.produced, orders);
  assertEquals(report.lost, 0, "at-least-once: nothing lost");
  assertEquals(report.consumedUnique, orders);
  assertTrue(report.drained, "the group caught up");
}
