import { createKafka } from "../lib/kafka/config.ts";
import { formatMemberEvent, GroupMember, type MemberEvent } from "../lib/kafka/member.ts";
import { until } from "../lib/platform/wait.ts";
import type { Buffer } from "node:buffer";
import { produceOrders, producePoison } from "../lib/kafka/producer.ts";
import { totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import {
  freshTopic,
  produceWithJava,
  runProducerScript,
  testBrokers,
  uniqueName,
  withAdmin,
} from "./harness.ts";
import { orderEvent, poisonMessages } from "../lib/kafka/orders.ts";

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
  const copies = (await readMessages(`${topic}.dlq`, poison.length)).map((m) => m.headers);
  assertEquals(
    copies.map((h) =>
      `${h["source-partition"]}@${h["source-offset"]}:${h.reason}:${h["source-topic"]}`
    ).sort(),
    poison.map((p) => `${p.partition}@${p.offset}:${p.problem}:${topic}`).sort(),
  );
});

/** The first `count` messages of `topic` (within 15 s), with their headers as text. */
async function readMessages(
  topic: string,
  count: number,
): Promise<{ value: Buffer | null; headers: Record<string, string> }[]> {
  const kafka = createKafka({ brokers: await testBrokers(), clientId: "lab-test" });
  const reader = kafka.consumer({ groupId: uniqueName("dlq-reader") });
  const messages: { value: Buffer | null; headers: Record<string, string> }[] = [];
  await reader.connect();
  try {
    await reader.subscribe({ topics: [topic], fromBeginning: true });
    await reader.run({
      eachMessage: ({ message }) => {
        const headers = Object.entries(message.headers ?? {}).map(([k, v]) => [k, String(v)]);
        messages.push({ value: message.value, headers: Object.fromEntries(headers) });
        return Promise.resolve();
      },
    });
    await until(() => messages.length >= count, 15_000);
  } finally {
    await reader.disconnect();
  }
  return messages;
}

Deno.test("a bad message too large for the dead-letter topic is copied truncated, and the member moves on", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic("dlq-small");
  await withAdmin((admin) =>
    admin.createTopics({
      topics: [{
        topic: `${topic}.dlq`,
        numPartitions: 1,
        replicationFactor: 1,
        configEntries: [{ name: "max.message.bytes", value: "4096" }],
      }],
      waitForLeaders: true,
    })
  );
  const [, , tooLarge] = await producePoison(brokers, topic);
  const good = await produceOrders({ brokers, topic, count: 6, intervalMs: 0 });
  const groupId = uniqueName("billing-group");
  const member = await GroupMember.start({ brokers, groupId, name: "Consumer 1", topic });
  try {
    assertTrue(
      await member.waitFor((m) => m.received.length >= good.length, 15_000),
      "good orders",
    );
    const { ok } = await withAdmin((admin) =>
      waitForGroup(admin, groupId, (s) => totalLag(s, topic) === 0, 10_000, { topics: [topic] })
    );
    assertTrue(ok, "committed past every bad message");
  } finally {
    await member.stop();
  }
  const original = poisonMessages()[2].value;
  const lines = member.events.filter((e) => e.type === "malformed").map(formatMemberEvent);
  assertTrue(
    lines.includes(
      `Consumer 1 skipped a bad message at partition ${tooLarge.partition} offset ${tooLarge.offset}: ` +
        `too large (copied to ${topic}.dlq, truncated: original ${original.length} bytes)`,
    ),
    lines.join("\n"),
  );
  const copy = (await readMessages(`${topic}.dlq`, 4)).find((m) =>
    m.headers.reason === "too large"
  );
  assertEquals(copy?.headers.truncated, `original ${original.length} bytes`);
  const kept = copy!.value!.toString();
  assertTrue(kept.length > 0 && kept.length < 4096, `kept ${kept.length} bytes`);
  assertTrue(original.startsWith(kept), "the copy is the start of the original");
});

Deno.test("producer --poison writes one bad message of each kind, as the README says", async () => {
  const topic = await freshTopic("poison-cli");
  const { code, stdout } = await runProducerScript(topic, ["--poison", "--count", "1"]);
  assertEquals(code, 0, stdout);
  const bad = stdout.split("\n").filter((l) => l.startsWith("Produced bad message ("));
  assertEquals(bad.length, poisonMessages().length, stdout);
  assertTrue(stdout.includes(`Produced 1 order to ${topic}.`), stdout);
});

Deno.test("a member reads batches compressed with snappy, lz4 and zstd by Kafka's Java producer", async () => {
  const brokers = await testBrokers();
  for (const codec of ["snappy", "lz4", "zstd"]) {
    const topic = await freshTopic(`codec-${codec}`);
    const orders = Array.from({ length: 30 }, (_, i) => JSON.stringify(orderEvent(i)));
    await produceWithJava(topic, codec, orders);
    const member = await GroupMember.start({
      brokers,
      groupId: uniqueName("billing-group"),
      name: "Consumer 1",
      topic,
    });
    try {
      assertTrue(
        await member.waitFor((m) => m.received.length >= orders.length, 15_000),
        `${codec}: ${member.received.length} of ${orders.length} consumed; ${
          JSON.stringify(member.events.filter((e) => e.type === "crashed"))
        }`,
      );
    } finally {
      await member.stop();
    }
    assertEquals(member.received.map((r) => r.value).sort(), orders.sort(), codec);
  }
});
