import { Partitioners } from "kafkajs";
import { createKafka } from "../lib/kafka/config.ts";
import { GroupMember, type MemberEvent, waitForMembers } from "../lib/kafka/member.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { snapshotGroup, waitForGroup } from "../lib/inspect/groups.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";

/** Starts members of one group and waits until the group has settled with all of them. */
async function startGroup(topic: string, groupId: string, names: string[]) {
  const brokers = await testBrokers();
  const members: GroupMember[] = [];
  for (const name of names) {
    members.push(await GroupMember.start({ brokers, groupId, name, topic }));
  }
  const settled = await withAdmin((admin) =>
    waitForGroup(
      admin,
      groupId,
      (s) => s.state === "Stable" && s.members.length === names.length,
      20_000,
    )
  );
  assertTrue(settled.ok, `${groupId} settled with ${names.length} members`);
  // The last rebalance's assignment reaches every member shortly after the group is Stable.
  await Promise.all(
    members.map((m) =>
      m.waitFor(() => m.events.filter((e) => e.type === "assigned").length > 0, 10_000)
    ),
  );
  return members;
}

function ownedPartitions(members: GroupMember[]) {
  return members.map((m) => m.partitions ?? []);
}

Deno.test("two members of one group split the partitions and consume every message once", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  const members = await startGroup(topic, groupId, ["Consumer 1", "Consumer 2"]);
  try {
    assertTrue(
      await waitForMembers(members, () =>
        ownedPartitions(members).flat().length === 3 &&
        members.every((m) => (m.partitions ?? []).length > 0), 10_000),
      "both own partitions",
    );
    const sent = await produceOrders({ brokers, topic, count: 30, intervalMs: 0 });
    const all = () => members.flatMap((m) => m.received);
    assertTrue(await waitForMembers(members, () => all().length >= 30, 15_000), "all consumed");
    await new Promise((r) => setTimeout(r, 300)); // room for a stray duplicate to show up
    const ids = all().map((m) => m.order.order_id).sort();
    assertEquals(ids, sent.map((s) => s.order.order_id).sort(), "each message exactly once");
    const [a, b] = members.map((m) => new Set(m.received.map((r) => r.partition)));
    assertEquals([...a].filter((p) => b.has(p)), [], "no partition read by both");
    assertEquals([...a, ...b].sort(), [0, 1, 2]);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("different groups each receive every message", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groups = ["inventory-group", "billing-group", "notification-group"].map(uniqueName);
  const members = await Promise.all(
    groups.map((groupId) => GroupMember.start({ brokers, groupId, name: groupId, topic })),
  );
  try {
    const sent = await produceOrders({ brokers, topic, count: 12, intervalMs: 0 });
    for (const m of members) {
      assertTrue(await m.waitFor(() => m.received.length >= 12, 20_000), `${m.groupId} got all`);
      assertEquals(
        m.received.map((r) => r.order.order_id).sort(),
        sent.map((s) => s.order.order_id).sort(),
      );
    }
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("with 3 partitions a 4th member stays idle and receives nothing", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  const names = ["Consumer 1", "Consumer 2", "Consumer 3", "Consumer 4"];
  const members = await startGroup(topic, groupId, names);
  try {
    assertTrue(
      await waitForMembers(
        members,
        () => ownedPartitions(members).flat().length === 3 && members.every((m) => m.partitions),
        10_000,
      ),
    );
    const counts = ownedPartitions(members).map((p) => p.length).sort();
    assertEquals(counts, [0, 1, 1, 1], "three own one partition each, one owns none");
    const idle = members.find((m) => m.partitions!.length === 0)!;
    const lastAssigned = idle.events.filter((e) => e.type === "assigned").at(-1);
    assertEquals(lastAssigned?.type === "assigned" && lastAssigned.partitions, []);
    await produceOrders({ brokers, topic, count: 15, intervalMs: 0 });
    const busy = members.filter((m) => m !== idle);
    assertTrue(
      await waitForMembers(busy, () => busy.flatMap((m) => m.received).length >= 15, 15_000),
    );
    assertEquals(idle.received.length, 0, "the idle member processed nothing");
    const snapshot = await withAdmin((admin) => snapshotGroup(admin, groupId));
    assertEquals(
      snapshot.members.filter((m) => (m.assignment[topic] ?? []).length === 0).length,
      1,
    );
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("committed offsets are kept per group", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const [billing, inventory] = ["billing-group", "inventory-group"].map(uniqueName);
  await produceOrders({ brokers, topic, count: 9, intervalMs: 0 });
  const member = await GroupMember.start({ brokers, groupId: billing, name: "Billing", topic });
  try {
    assertTrue(await member.waitFor((m) => m.received.length >= 9, 15_000));
    const caughtUp = await withAdmin((admin) =>
      waitForGroup(admin, billing, (s) =>
        s.partitions.every((p) => p.lag === 0) &&
        s.partitions.length === 3, 10_000)
    );
    assertTrue(caughtUp.ok, "billing committed up to the end");
  } finally {
    await member.stop();
  }
  await withAdmin(async (admin) => {
    const committed = await admin.fetchOffsets({ groupId: inventory, topics: [topic] });
    assertEquals(committed[0].partitions.map((p) => p.offset), ["-1", "-1", "-1"]);
  });
  // inventory starts from the beginning: billing's progress did not move it.
  const late = await GroupMember.start({ brokers, groupId: inventory, name: "Inventory", topic });
  try {
    assertTrue(await late.waitFor((m) => m.received.length >= 9, 15_000));
    assertEquals(late.received.length, 9);
  } finally {
    await late.stop();
  }
});

Deno.test("a malformed message is reported with partition and offset, and the member goes on", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const kafka = createKafka({ brokers, clientId: "lab-test" });
  const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  await producer.send({
    topic,
    messages: [
      { key: "x", value: "{not json", partition: 0 },
      { key: "y", value: '{"order_id":"2000","amount":1}', partition: 0 },
    ],
  });
  await producer.disconnect();
  const events: MemberEvent[] = [];
  const member = await GroupMember.start({
    brokers,
    groupId: uniqueName("g"),
    name: "Consumer 1",
    topic,
    onEvent: (e) => events.push(e),
  });
  try {
    assertTrue(await member.waitFor((m) => m.received.length >= 1, 15_000));
    const bad = events.find((e) => e.type === "malformed");
    assertEquals(bad && { p: bad.partition, o: bad.offset, problem: bad.problem }, {
      p: 0,
      o: 0,
      problem: "invalid JSON",
    });
    assertEquals(member.received[0].order.order_id, "2000");
  } finally {
    await member.stop();
  }
});
