import { logEndOffsets, totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { runProducer, spawnMember } from "../lib/processes/spawn.ts";
import { startBroker, stopBroker } from "../lib/kafka/broker.ts";
import { createKafka } from "../lib/kafka/config.ts";
import { until } from "../lib/platform/wait.ts";
import { summarizeRun } from "../lib/inspect/summary.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";

/** First member runs with `firstArgs` until it exits; a second one finishes the topic. */
async function handOver(firstArgs: string[], secondArgs: string[]) {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  await produceOrders({ brokers, topic, count: 12, intervalMs: 0 });
  const first = await spawnMember({
    groupId,
    name: "Consumer 1",
    brokers,
    topic,
    extraArgs: firstArgs,
  });
  const firstExit = await first.exited;
  const second = await spawnMember({
    groupId,
    name: "Consumer 2",
    brokers,
    topic,
    extraArgs: secondArgs,
  });
  try {
    const { ok } = await withAdmin((admin) =>
      waitForGroup(admin, groupId, (s) => totalLag(s, topic) === 0, 20_000, { topics: [topic] })
    );
    assertTrue(ok, "the second member caught up");
  } finally {
    await second.stop();
  }
  const ends = await withAdmin((admin) => logEndOffsets(admin, topic));
  const summary = summarizeRun(
    [
      { name: first.name, events: await first.events() },
      { name: second.name, events: await second.events() },
    ],
    ends.map((to, partition) => ({ partition, from: 0, to })),
  );
  return { firstExit, summary };
}

Deno.test("at-least-once: a member killed before committing causes redelivery, never loss", async () => {
  const { firstExit, summary } = await handOver(
    ["--crash-after", "5", "--session-timeout-ms", "6000"],
    [],
  );
  assertEquals(firstExit, 137, "the first member crashed");
  assertEquals(summary.missing, [], "nothing lost");
  assertTrue(summary.duplicates.length >= 1, `redelivered: ${summary.duplicates.length}`);
  assertTrue(summary.duplicates.every((d) => d.by[0] === "Consumer 1" && d.by[1] === "Consumer 2"));
});

Deno.test("a graceful leave with manual commits hands over without a single duplicate", async () => {
  const { firstExit, summary } = await handOver(
    ["--commit", "manual", "--max-messages", "5"],
    ["--commit", "manual"],
  );
  assertEquals(firstExit, 0, "the first member left cleanly");
  assertEquals(summary.missing, []);
  assertEquals(summary.duplicates, []);
  assertEquals(summary.members.map((m) => m.messages).reduce((a, b) => a + b), 12);
});

Deno.test("the producer rides out a broker restart: every acknowledged order is in the topic, the count complete; a broker gone for good is one line", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lab-restart-broker-" });
  const broker = { port: 23_502, dataDir };
  const brokers = [`127.0.0.1:${broker.port}`];
  const topic = uniqueName("orders");
  const acknowledged = (lines: string[]) => lines.filter((l) => l.startsWith("Produced: "));
  try {
    await startBroker(broker);
    const lines: string[] = [];
    const restart = (async () => {
      await until(() => acknowledged(lines).length >= 30, 30_000);
      await stopBroker(broker);
      // Longer than kafkajs's own retries (about 7 s), which used to end the producer.
      await new Promise((r) => setTimeout(r, 8_000));
      await startBroker(broker);
    })();
    const { code } = await runProducer({
      brokers,
      topic,
      count: 120,
      intervalMs: 50,
      onLine: (l) => lines.push(l),
    });
    await restart;
    assertEquals(code, 0, lines.slice(-3).join("\n"));
    assertTrue(lines.includes(`Produced 120 orders to ${topic}.`), lines.slice(-3).join("\n"));
    const lost = lines.filter((l) => l.startsWith("Producer lost the broker ("));
    assertEquals(lost.length, 1, lines.filter((l) => !l.startsWith("Produced")).join("\n"));
    assertTrue(lost[0].endsWith("; retrying for up to 60 s..."), lost[0]);

    // Every acknowledged order is in the topic, at the partition and offset it was given.
    const kafka = createKafka({ brokers, clientId: "lab-test" });
    const inTopic = new Set<string>();
    const reader = kafka.consumer({ groupId: uniqueName("restart-reader") });
    await reader.connect();
    try {
      await reader.subscribe({ topics: [topic], fromBeginning: true });
      await reader.run({
        eachMessage: ({ partition, message }) => {
          inTopic.add(`${partition}@${message.offset} ${message.value}`);
          return Promise.resolve();
        },
      });
      await until(() => inTopic.size >= 120, 20_000);
    } finally {
      await reader.disconnect();
    }
    const sent = acknowledged(lines).map((l) => {
      const [, value, partition, offset] = /^Produced: (.*) -> partition (\d+) @ offset (\d+)$/
        .exec(l)!;
      return `${partition}@${offset} ${value}`;
    });
    assertEquals(sent.length, 120);
    assertEquals(sent.filter((s) => !inTopic.has(s)), [], "acknowledged but not in the topic");

    // A broker that does not come back: one line after --give-up-ms, exit 1.
    const gone: string[] = [];
    const stop = (async () => {
      await until(() => acknowledged(gone).length >= 5, 30_000);
      await stopBroker(broker);
    })();
    const givenUp = await runProducer({
      brokers,
      topic,
      count: 1000,
      intervalMs: 50,
      extraArgs: ["--give-up-ms", "3000"],
      onLine: (l) => gone.push(l),
    });
    await stop;
    assertEquals(givenUp.code, 1);
    const errors = gone.filter((l) => l.startsWith("error: "));
    assertEquals(errors.length, 1, gone.slice(-3).join("\n"));
    assertMatch(
      errors[0],
      /^error: gave up: no broker took the order for 3 s \(.*\); \d+ of 1000 orders acknowledged$/,
    );
  } finally {
    await stopBroker(broker);
    await Deno.remove(dataDir, { recursive: true });
  }
});
