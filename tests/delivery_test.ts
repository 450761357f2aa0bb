import { logEndOffsets, totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { spawnMember } from "../lib/processes/spawn.ts";
import { summarizeRun } from "../lib/inspect/summary.ts";
import { assertEquals, assertTrue } from "./assert.ts";
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
