import { createKafka } from "../lib/kafka/config.ts";
import { GroupMember, type MemberEvent } from "../lib/kafka/member.ts";
import { produceOrders, producePoison } from "../lib/kafka/producer.ts";
import { totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { freshTopic, runProducerScript, testBrokers, uniqueName, withAdmin } from "./harness.ts";
import { poisonMessages } from "../lib/kafka/orders.ts";

Deno.test("every kind of bad message is reported once, dead-lettered with its origin, and consuming goes on", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  const poison = await producePoison(brokers, topic);
  const good = await produceOrders({ brokers, topic, count: 6, intervalMs: 0 });
  const events: MemberEvent[] = [];
  const member = await GroupMember.start({
    brokers,
    groupId,
    name: "Consumer 1",
    topic,
    onEvent: (e) => events.push(e),
  });
  try {
    assertTrue(
      await member.waitFor((m) => m.received.length >= 6, 15_000),
      "the good orders after the bad ones",
    );
    const { ok } = await withAdmin((admin) =>
      waitForGroup(admin, groupId, (s) => totalLag(s, topic) === 0, 10_000, { topics: [topic] })
    );
    assertTrue(ok, "committed past the bad messages");
  } finally {
    await member.stop();
  }
  const reported = events.flatMap((e) =>
    e.type === "malformed" ? [`${e.partition}@${e.offset}:${e.problem}:${e.deadLetter}`] : []
  );
  assertEquals(
    reported.sort(),
    poison.map((p) => `${p.partition}@${p.offset}:${p.problem}:${topic}.dlq`).sort(),
    "each reported exactly once",
  );
  assertEquals(
    member.received.map((r) => r.order.order_id).sort(),
    good.map((g) => g.order.order_id).sort(),
  );

  // The dead-letter topic holds a copy of each, with the reason and where it came from.
  const kafka = createKafka({ brokers, clientId: "lab-test" });
  const reader = kafka.consumer({ groupId: uniqueName("dlq-reader") });
  const copies: Record<string, string>[] = [];
  await reader.connect();
  try {
    await reader.subscribe({ topics: [`${topic}.dlq`], fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        const h = message.headers ?? {};
        copies.push(Object.fromEntries(Object.entries(h).map(([k, v]) => [k, String(v)])));
        return Promise.resolve();
      },
    });
    const deadline = Date.now() + 15_000;
    while (copies.length < poison.length && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await reader.disconnect();
  }
  assertEquals(
    copies.map((h) =>
      `${h["source-partition"]}@${h["source-offset"]}:${h.reason}:${h["source-topic"]}`
    ).sort(),
    poison.map((p) => `${p.partition}@${p.offset}:${p.problem}:${topic}`).sort(),
  );
});

Deno.test("producer --poison writes one bad message of each kind, as the README says", async () => {
  const topic = await freshTopic("poison-cli");
  const { code, stdout } = await runProducerScript(topic, ["--poison", "--count", "1"]);
  assertEquals(code, 0, stdout);
  const bad = stdout.split("\n").filter((l) => l.startsWith("Produced bad message ("));
  assertEquals(bad.length, poisonMessages().length, stdout);
  assertTrue(stdout.includes(`Produced 1 order to ${topic}.`), stdout);
});
