/**
 * Kafka's standard assignors, computed as Kafka computes them (the examples
 * in the javadoc of RangeAssignor and RoundRobinAssignor among them), and
 * their protocol names and metadata as other clients read them; and, as the
 * group's leader against the real broker, what they do with a topic that does
 * not exist and a member whose metadata they cannot read.
 */
import { AssignerProtocol, type Cluster } from "kafkajs";
import { Buffer } from "node:buffer";
import {
  assignerFor,
  assignorFlag,
  DEFAULT_ASSIGNORS,
  explainInconsistentProtocol,
  rangeAssign,
  roundRobinAssign,
  type Subscription,
} from "../lib/kafka/assignors.ts";
import { UsageError } from "../lib/cli/flags.ts";
import { createKafka } from "../lib/kafka/config.ts";
import { assertEquals, assertMatch, assertThrows } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName } from "./harness.ts";

const members = (ids: string[], topics = ["t"]): Subscription[] =>
  ids.map((memberId) => ({ memberId, topics }));

Deno.test("range: 3 partitions over 2 members, the first gets the extra one", () => {
  assertEquals(rangeAssign(members(["b", "a"]), { t: 3 }), { a: { t: [0, 1] }, b: { t: [2] } });
});

Deno.test("range: 7 partitions over 3 members are 3, 2, 2 in contiguous ranges", () => {
  assertEquals(rangeAssign(members(["c", "a", "b"]), { t: 7 }), {
    a: { t: [0, 1, 2] },
    b: { t: [3, 4] },
    c: { t: [5, 6] },
  });
});

Deno.test("range: two topics are split one by one, so the first member gets both extras", () => {
  // Kafka's javadoc: C0 gets t0p0, t0p1, t1p0, t1p1; C1 gets t0p2, t1p2.
  assertEquals(rangeAssign(members(["C1", "C0"], ["t0", "t1"]), { t0: 3, t1: 3 }), {
    C0: { t0: [0, 1], t1: [0, 1] },
    C1: { t0: [2], t1: [2] },
  });
});

Deno.test("range: more members than partitions leaves the last ones idle", () => {
  assertEquals(rangeAssign(members(["m1", "m2", "m3", "m4"]), { t: 3 }), {
    m1: { t: [0] },
    m2: { t: [1] },
    m3: { t: [2] },
    m4: {},
  });
});

Deno.test("roundrobin: 3 partitions over 2 members alternate", () => {
  assertEquals(roundRobinAssign(members(["b", "a"]), { t: 3 }), {
    a: { t: [0, 2] },
    b: { t: [1] },
  });
});

Deno.test("roundrobin: 7 partitions over 3 members are dealt in turn", () => {
  assertEquals(roundRobinAssign(members(["c", "b", "a"]), { t: 7 }), {
    a: { t: [0, 3, 6] },
    b: { t: [1, 4] },
    c: { t: [2, 5] },
  });
});

Deno.test("roundrobin: two topics are dealt as one sorted list", () => {
  // Kafka's javadoc: C0 gets t0p0, t0p2, t1p1; C1 gets t0p1, t1p0, t1p2.
  assertEquals(roundRobinAssign(members(["C0", "C1"], ["t1", "t0"]), { t0: 3, t1: 3 }), {
    C0: { t0: [0, 2], t1: [1] },
    C1: { t0: [1], t1: [0, 2] },
  });
});

Deno.test("roundrobin: members not subscribed to a topic are skipped", () => {
  // Kafka's javadoc: C0 {t0}, C1 {t0,t1}, C2 {t0,t1,t2}; t0: 1, t1: 2, t2: 3 partitions.
  const subscriptions = [
    { memberId: "C0", topics: ["t0"] },
    { memberId: "C1", topics: ["t0", "t1"] },
    { memberId: "C2", topics: ["t0", "t1", "t2"] },
  ];
  assertEquals(roundRobinAssign(subscriptions, { t0: 1, t1: 2, t2: 3 }), {
    C0: { t0: [0] },
    C1: { t1: [0] },
    C2: { t1: [1], t2: [0, 1, 2] },
  });
});

Deno.test("range: only the members subscribed to a topic share it", () => {
  const subscriptions = [
    { memberId: "a", topics: ["t0"] },
    { memberId: "b", topics: ["t0", "t1"] },
  ];
  assertEquals(rangeAssign(subscriptions, { t0: 3, t1: 2 }), {
    a: { t0: [0, 1] },
    b: { t0: [2], t1: [0, 1] },
  });
});

Deno.test("assigners announce Kafka's protocol names with version-0 consumer metadata", () => {
  const cluster = {} as never;
  for (const name of ["range", "roundrobin"] as const) {
    const assigner = assignerFor(name)({ cluster, groupId: "g", logger: {} as never });
    const { name: protocol, metadata } = assigner.protocol({ topics: ["order-events"] });
    assertEquals(protocol, name);
    // Bytes: int16 version 0, array of 1 string "order-events", empty user data.
    assertEquals(metadata.subarray(0, 8).toString("hex"), "000000000001000c");
    assertEquals(AssignerProtocol.MemberMetadata.decode(metadata)?.topics, ["order-events"]);
  }
  const kafkajs = assignerFor("kafkajs")({ cluster, groupId: "g", logger: {} as never });
  assertEquals(kafkajs.name, "RoundRobinAssigner");
});

Deno.test("--assignor takes a comma list in order of preference, and the mismatch explanation names the fix", () => {
  assertEquals(assignorFlag("--assignor", "roundrobin"), ["roundrobin"]);
  assertEquals(assignorFlag("--assignor", DEFAULT_ASSIGNORS.join(",")), ["range", "roundrobin"]);
  assertEquals(assignorFlag("--assignor", "kafkajs, range"), ["kafkajs", "range"]);
  assertThrows(() => assignorFlag("--assignor", "sticky"), UsageError);
  assertThrows(() => assignorFlag("--assignor", "range,"), UsageError);
  assertThrows(() => assignorFlag("--assignor", "range,range"), UsageError);
  assertMatch(
    explainInconsistentProtocol("billing-group", ["kafkajs"], "range"),
    /INCONSISTENT_GROUP_PROTOCOL.*'range'.*'RoundRobinAssigner' \(--assignor kafkajs\).*; start this member without --assignor \(its default, range,roundrobin, offers range\)$/,
  );
  assertMatch(
    explainInconsistentProtocol("billing-group", ["range", "roundrobin"], "RoundRobinAssigner"),
    /offers only 'range', 'roundrobin' \(--assignor range,roundrobin\).*--assignor kafkajs$/,
  );
});

Deno.test("as leader, the assigners skip a topic that does not exist and a member they cannot read, as Kafka's leaders do", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic("assign");
  // The real kafkajs cluster a member's assigners get, connected to the real broker.
  let cluster: Cluster | undefined;
  const consumer = createKafka({ brokers, clientId: "lab-test" }).consumer({
    groupId: uniqueName("assign"),
    partitionAssigners: [(context) => {
      cluster = context.cluster;
      return assignerFor("range")(context);
    }],
  });
  await consumer.connect();
  try {
    const joined = (topics: string[]) =>
      AssignerProtocol.MemberMetadata.encode({ version: 0, topics, userData: Buffer.alloc(0) });
    const members = [
      { memberId: "a", memberMetadata: joined([topic]) },
      { memberId: "b", memberMetadata: joined([topic, uniqueName("no-such-topic")]) },
      { memberId: "c", memberMetadata: Buffer.from([0, 0]) }, // unreadable
    ];
    const expected = { range: { a: [0, 1], b: [2] }, roundrobin: { a: [0, 2], b: [1] } };
    for (const name of ["range", "roundrobin"] as const) {
      const assigner = assignerFor(name)({ cluster: cluster!, groupId: "g", logger: {} as never });
      const assigned = await assigner.assign({ members, topics: [topic] });
      const owned = Object.fromEntries(assigned.map(({ memberId, memberAssignment }) => [
        memberId,
        AssignerProtocol.MemberAssignment.decode(memberAssignment)!.assignment[topic] ?? [],
      ]));
      assertEquals(owned, { ...expected[name], c: [] }, name);
    }
  } finally {
    await consumer.disconnect();
  }
});
