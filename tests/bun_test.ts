/**
 * Bun: the lab's scripts, unchanged, on Bun. A member on Bun and one on Deno
 * in one group split every message exactly once; the whole demo (broker check,
 * topic, members, producer, verdict) and lesson 1's script run on Bun. Bun comes from npm
 * (`@oven/bun-linux-x64`, installed by .ci/run into .tools/bun/); without it
 * these tests are skipped, except in CI.
 */
import { until } from "../lib/wait.ts";
import { spawnMember } from "../lib/processes.ts";
import { messagesIn } from "../lib/polyglot.ts";
import { produceOrders } from "../lib/producer.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { orderEvent } from "../lib/orders.ts";
import { freshTopic, produceWithJava, runScript, testBrokers, uniqueName } from "./harness.ts";
import { lessonChecks, runLessonScript } from "./lesson_checks.ts";
import { projectPath } from "../lib/runtime.ts";

const ROOT = projectPath();

function findBun(): string | undefined {
  const candidates = [
    Deno.env.get("BUN"),
    `${ROOT}.tools/bun/node_modules/@oven/bun-linux-x64/bin/bun`,
    ...(Deno.env.get("PATH") ?? "").split(":").map((dir) => `${dir}/bun`),
  ];
  return candidates.find((path) => {
    try {
      return path !== undefined && Deno.statSync(path).isFile;
    } catch {
      return false;
    }
  });
}

const bun = findBun();
const ignore = bun === undefined && !Deno.env.get("CI");

let installed: Promise<void> | undefined;
/** Bun resolves kafkajs through package.json: node_modules, from `bun install`, once. */
function bunInstall(): Promise<void> {
  installed ??= (async () => {
    assertTrue(bun, "Bun is installed (.ci/run installs @oven/bun-linux-x64 into .tools/bun/)");
    const install = await new Deno.Command(bun, {
      args: ["install", "--frozen-lockfile"],
      cwd: ROOT,
      stdout: "null",
      stderr: "piped",
    }).output();
    assertTrue(install.success, new TextDecoder().decode(install.stderr));
  })();
  return installed;
}

Deno.test({
  name: "a member on Deno and one on Bun split a group's messages exactly once",
  ignore,
  async fn() {
    await bunInstall();
    const brokers = await testBrokers();
    const topic = await freshTopic("bun");
    const groupId = uniqueName("billing-group");
    const onBun = await spawnMember({ groupId, name: "Bun 1", brokers, topic, runner: [bun!] });
    const onDeno = await spawnMember({ groupId, name: "Deno 1", brokers, topic });
    try {
      assertMatch(onBun.lines.join("\n"), /Bun 1 starting \(.* on Bun \d/);
      const owned = (lines: string[]) =>
        lines.filter((l) => / assigned: partition/.test(l)).length > 0;
      assertTrue(await until(() => owned(onDeno.lines), 20_000), "Deno member owns partitions");
      const sent = await produceOrders({ brokers, topic, count: 20, intervalMs: 0 });
      const consumed = () => [...messagesIn(onBun.lines), ...messagesIn(onDeno.lines)];
      assertTrue(await until(() => consumed().length >= 20, 20_000), "all consumed");
      await new Promise((r) => setTimeout(r, 500)); // room for a stray duplicate
      assertEquals(
        consumed().map((m) => m.orderId).sort(),
        sent.map((s) => s.order.order_id).sort(),
        "every message exactly once",
      );
      assertTrue(messagesIn(onBun.lines).length > 0, "Bun consumed some");
      assertTrue(messagesIn(onDeno.lines).length > 0, "Deno consumed some");
      const byBun = new Set(messagesIn(onBun.lines).map((m) => m.partition));
      assertEquals(
        messagesIn(onDeno.lines).filter((m) => byBun.has(m.partition)),
        [],
        "no partition read by both",
      );
      assertEquals(
        onBun.lines.filter((l) => /Warning/.test(l)),
        [],
        "Bun prints no runtime warnings",
      );
    } finally {
      assertEquals(await onBun.stop(), 0, "Bun member left cleanly");
      await onDeno.stop();
    }
  },
});

Deno.test({
  name:
    "a member on Bun reads batches compressed with snappy, lz4 and zstd by Kafka's Java producer",
  ignore,
  async fn() {
    await bunInstall();
    const brokers = await testBrokers();
    for (const codec of ["snappy", "lz4", "zstd"]) {
      const topic = await freshTopic(`bun-${codec}`);
      const orders = Array.from({ length: 20 }, (_, i) => orderEvent(i));
      await produceWithJava(topic, codec, orders.map((o) => JSON.stringify(o)));
      const member = await spawnMember({
        groupId: uniqueName("billing-group"),
        name: "Bun 1",
        brokers,
        topic,
        runner: [bun!],
      });
      try {
        assertTrue(
          await until(() => messagesIn(member.lines).length >= orders.length, 20_000),
          `${codec}: ${member.lines.join("\n")}`,
        );
      } finally {
        assertEquals(await member.stop(), 0, `${codec}: the member left cleanly`);
      }
      assertEquals(
        messagesIn(member.lines).map((m) => m.orderId).sort(),
        orders.map((o) => o.order_id).sort(),
        codec,
      );
    }
  },
});

Deno.test({
  name: "the demo runs end to end on Bun, with its member processes on Bun too",
  ignore,
  async fn() {
    await bunInstall();
    const brokers = await testBrokers();
    const topic = await freshTopic("bun-demo");
    const { code, stdout, stderr } = await runScript(
      "demo.ts",
      [
        "--group",
        uniqueName("billing-group"),
        "--topic",
        topic,
        "--count",
        "9",
        "--interval-ms",
        "50",
      ],
      { KAFKA_BROKERS: brokers.join(",") },
      [bun!],
    );
    assertEquals(code, 0, `${stdout}\n${stderr}`);
    for (const member of ["Consumer 1", "Consumer 2"]) {
      assertMatch(stdout, new RegExp(`${member} starting \\(.* on Bun \\d`));
    }
    assertMatch(stdout, /Produced 9 orders to /);
    assertMatch(stdout, /Verdict: OK: all 9 messages consumed, none duplicated/);
    assertEquals(stderr, "", "nothing on stderr (no runtime warnings)");
  },
});

Deno.test({
  name: "on Bun, bad input is one line naming the Bun command; Deno-only commands say so",
  ignore,
  async fn() {
    await bunInstall();
    const { code, stderr } = await runScript("producer.ts", ["--bogus"], {}, [bun!]);
    assertEquals(code, 2);
    assertMatch(
      stderr,
      /^error: Unknown option '--bogus' \(see: bun \S*scripts\/producer\.ts --help\)$/,
    );
    const tests = await runScript("run_tests.ts", [], {}, [bun!]);
    assertEquals(tests.code, 1, "deno task test needs Deno");
    assertEquals(
      tests.stderr,
      "error: deno task test drives Deno's own tools: run it with Deno (deno task test)",
    );
  },
});

Deno.test({
  name: "lesson 1 runs on Bun as a script and prints what the notebook shows",
  ignore,
  async fn() {
    await bunInstall();
    const lesson = "01-what-is-a-consumer-group";
    lessonChecks[lesson](await runLessonScript(lesson, [bun!]));
  },
});
