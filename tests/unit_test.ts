import { intFlag, parseFlags, stringFlag, UsageError } from "../lib/cli/flags.ts";
import { resolveBrokers } from "../lib/kafka/config.ts";
import { clientIdFor, deadLetterCopies, formatMemberEvent } from "../lib/kafka/member.ts";
import { Buffer } from "node:buffer";
import { orderEvent, parseOrder } from "../lib/kafka/orders.ts";
import { AssignmentDiagram, Table } from "../lib/platform/render.ts";
import { summarizeRun, verdict } from "../lib/inspect/summary.ts";
import type { MemberEvent } from "../lib/kafka/member.ts";
import { type LagSample, lagStatus } from "../lib/inspect/lagstatus.ts";
import { kafkajsErrorText } from "../lib/lessons/lesson9.ts";
import { assertEquals, assertMatch, assertThrows, assertTrue } from "./assert.ts";

Deno.test("parseFlags rejects unknown flags with a usage error", () => {
  const spec = { count: { type: "string" as const, help: "n" } };
  assertEquals(parseFlags(["--count", "3"], "producer", spec).values.count, "3");
  const error = assertThrowsUsage(() => parseFlags(["--cont", "3"], "producer", spec));
  assertMatch(error.message, /Unknown option '--cont'/);
  assertEquals(error.exitCode, 2);
});

Deno.test("intFlag and stringFlag validate values", () => {
  assertEquals(intFlag("--count", "10"), 10);
  assertMatch(
    assertThrowsUsage(() => intFlag("--count", "ten")).message,
    /--count must be a whole number/,
  );
  assertThrowsUsage(() => intFlag("--count", "-1"));
  assertThrowsUsage(() => intFlag("--members", "7", { min: 1, max: 6 }));
  assertEquals(stringFlag("--group", " billing-group "), "billing-group");
  assertThrowsUsage(() => stringFlag("--group", ""));
});

Deno.test("resolveBrokers: flag, then KAFKA_BROKERS, then the lab broker's port", () => {
  assertEquals(resolveBrokers("a:1,b:2"), ["a:1", "b:2"]);
  const saved = ["KAFKA_BROKERS", "KAFKA_PORT"].map((name) => [name, Deno.env.get(name)] as const);
  try {
    Deno.env.delete("KAFKA_BROKERS");
    Deno.env.delete("KAFKA_PORT");
    assertEquals(resolveBrokers(), ["localhost:9092"]);
    Deno.env.set("KAFKA_PORT", "19092");
    assertEquals(resolveBrokers(), ["localhost:19092"], "KAFKA_PORT moves clients with the broker");
    Deno.env.set("KAFKA_BROKERS", "kafka.example:9093");
    assertEquals(resolveBrokers(), ["kafka.example:9093"]);
  } finally {
    for (const [name, value] of saved) {
      if (value === undefined) Deno.env.delete(name);
      else Deno.env.set(name, value);
    }
  }
  assertThrowsUsage(() => resolveBrokers("localhost"));
});

Deno.test("orders are the seed's and bad ones are named", () => {
  assertEquals(orderEvent(3), { order_id: "1003", amount: 30 });
  assertEquals(parseOrder('{"order_id":"1000","amount":0}').order?.order_id, "1000");
  assertEquals(parseOrder("").problem, "empty value");
  assertEquals(parseOrder("{oops").problem, "invalid JSON");
  assertEquals(parseOrder('{"amount":5}').problem, "missing order_id");
  for (const amount of ['"50"', "null", "[]", "{}"]) {
    assertEquals(parseOrder(`{"order_id":"1","amount":${amount}}`).problem, "amount not a number");
  }
  assertEquals(parseOrder('{"order_id":"1"}').problem, "amount not a number");
});

Deno.test("a dead-letter copy that does not fit is cut to the topic's limit and says so", () => {
  const value = Buffer.from("x".repeat(5000));
  const [whole, cut, bare] = deadLetterCopies(
    Buffer.from("k"),
    value,
    { reason: "too large" },
    1000,
  );
  assertEquals(whole, { key: Buffer.from("k"), value, headers: { reason: "too large" } });
  assertEquals(cut.headers, { reason: "too large", truncated: "original 5000 bytes" });
  assertTrue(cut.value!.length > 0 && cut.value!.length < 1000 - 256, `${cut.value!.length}`);
  assertEquals(bare, { key: null, value: null, headers: cut.headers });
});

Deno.test("members and the producer print the seed's lines", () => {
  const base = { member: "Consumer 1", groupId: "billing-group", at: 0 };
  assertEquals(
    formatMemberEvent({
      ...base,
      type: "message",
      topic: "order-events",
      partition: 0,
      offset: 4,
      key: "0",
      value: '{"order_id":"1000","amount":0}',
      order: { order_id: "1000", amount: 0 },
    }),
    'Consumer 1 got message: {"order_id":"1000","amount":0} from partition 0',
  );
  const assigned = {
    ...base,
    type: "assigned" as const,
    memberId: "m",
    isLeader: false,
    durationMs: 5,
  };
  assertEquals(
    formatMemberEvent({ ...assigned, member: "Consumer 4", partitions: [] }),
    "Consumer 4 assigned: none (idle) [rebalance took 5 ms]",
  );
  assertEquals(
    formatMemberEvent({ ...assigned, partitions: [0, 2] }),
    "Consumer 1 assigned: partitions 0, 2 [rebalance took 5 ms]",
  );
  assertEquals(clientIdFor("Consumer 1"), "consumer-1");
});

Deno.test("a member says where its group coordinator moved, and how many lookups it took", () => {
  const base = {
    member: "Consumer 1",
    groupId: "billing-group",
    at: 0,
    type: "coordinator" as const,
  };
  assertEquals(
    formatMemberEvent({ ...base, broker: "127.0.0.1:9094", lookups: 1 }),
    "Consumer 1's group coordinator: 127.0.0.1:9094",
  );
  assertEquals(
    formatMemberEvent({
      ...base,
      broker: "127.0.0.1:9094",
      previous: "127.0.0.1:9096",
      lookups: 3,
    }),
    "Consumer 1's group coordinator moved: 127.0.0.1:9096 -> 127.0.0.1:9094 " +
      "(found after 3 FindCoordinator lookups)",
  );
});

Deno.test("lesson 9 reads kafkajs's error lines in Kafka's names, nodes by number", () => {
  const nodes = new Map([["127.0.0.1:9096", 2]]);
  const line = (namespace: string, message: string, fields: object) =>
    `[kafkajs] ERROR ${namespace}: ${message} ${JSON.stringify(fields)}`;
  assertEquals(
    kafkajsErrorText(
      line("Connection", "Response Heartbeat(key: 12, version: 3)", {
        broker: "127.0.0.1:9096",
        error: "This is not the correct coordinator for this group",
      }),
      nodes,
    ),
    "Heartbeat to node 2: NOT_COORDINATOR_FOR_GROUP (error 16)",
  );
  assertEquals(
    kafkajsErrorText(
      line("Connection", "Connection error: connect ECONNREFUSED 127.0.0.1:9096", {
        broker: "127.0.0.1:9096",
      }),
      nodes,
    ),
    "connection refused by node 2",
  );
  assertEquals(
    kafkajsErrorText(
      line("Connection", "Connection error: read ECONNRESET", {
        broker: "127.0.0.1:9098",
      }),
      nodes,
    ),
    "connection reset by 127.0.0.1:9098",
  );
  assertMatch(
    kafkajsErrorText(
      line("Consumer", "Crash: KafkaJSNumberOfRetriesExceeded: Connection error", {}),
      nodes,
    )!,
    /^gave up after its retries: restarts the consumer/,
  );
  assertEquals(
    kafkajsErrorText(line("Consumer", "Restarting the consumer in 300ms", {}), nodes),
    undefined,
  );
  assertEquals(kafkajsErrorText("Consumer 1 got message: {} from partition 0", nodes), undefined);
});

function message(member: string, partition: number, offset: number): MemberEvent {
  return {
    type: "message",
    member,
    groupId: "g",
    topic: "t",
    partition,
    offset,
    key: null,
    value: "{}",
    order: { order_id: "x", amount: 0 },
    at: 0,
  };
}

Deno.test("summarizeRun finds missing, duplicated and shared messages", () => {
  const assigned = (member: string, partitions: number[]): MemberEvent => ({
    type: "assigned",
    member,
    groupId: "g",
    memberId: member,
    partitions,
    isLeader: false,
    durationMs: 1,
    at: 0,
  });
  const ranges = [{ partition: 0, from: 0, to: 2 }, { partition: 1, from: 5, to: 7 }];
  const clean = summarizeRun([
    { name: "A", events: [assigned("A", [0]), message("A", 0, 0), message("A", 0, 1)] },
    {
      name: "B",
      events: [assigned("B", [1]), message("B", 1, 5), message("B", 1, 6), message("B", 1, 4)],
    },
  ], ranges);
  assertEquals(clean.expected, 4);
  assertEquals(clean.members.map((m) => [m.name, m.partitions, m.messages]), [["A", [0], 2], ["B", [
    1,
  ], 2]]);
  assertMatch(verdict(clean), /^Verdict: OK: all 4 messages consumed, none duplicated/);

  const messy = summarizeRun([
    { name: "A", events: [message("A", 0, 0), message("A", 1, 5)] },
    { name: "B", events: [message("B", 1, 5)] },
  ], ranges);
  assertEquals(messy.missing, [{ partition: 0, offset: 1 }, { partition: 1, offset: 6 }]);
  assertEquals(messy.duplicates, [{ partition: 1, offset: 5, by: ["A", "B"] }]);
  assertEquals(messy.sharedPartitions, [1]);
  assertMatch(
    verdict(messy),
    /2 not consumed; 1 duplicated; partition\(s\) 1 read by more than one member/,
  );
});

Deno.test("the assignment diagram draws the seed's picture", () => {
  const diagram = new AssignmentDiagram({
    topic: "order-events",
    partitionCount: 3,
    groupId: "billing-group",
    members: [1, 2, 3].map((i) => ({ name: `Consumer ${i}`, partitions: [i - 1] })),
  });
  assertEquals(
    String(diagram),
    [
      "Topic: order-events (3 partitions)",
      "+-----------+-----------+-----------+",
      "| Partition | Partition | Partition |",
      "|     0     |     1     |     2     |",
      "+-----------+-----------+-----------+",
      "",
      "Consumer Group: billing-group",
      "+--------------+--------------+--------------+",
      "| Consumer 1   | Consumer 2   | Consumer 3   |",
      "| reads from 0 | reads from 1 | reads from 2 |",
      "+--------------+--------------+--------------+",
    ].join("\n"),
  );
  const display = (diagram as unknown as Record<symbol, () => Record<string, string>>)[
    Symbol.for("Jupyter.display")
  ]();
  assertTrue(display["image/svg+xml"].startsWith("<svg"));
  assertEquals(display["text/plain"], String(diagram));
});

Deno.test("tables print aligned text with '-' for missing values, and HTML for notebooks", () => {
  const table = new Table(["GROUP", "LAG"], [["billing-group", 0], ["inventory-group", null]]);
  assertEquals(String(table), "GROUP            LAG\nbilling-group    0\ninventory-group  -");
  assertMatch(table.toHTML(), /<td [^>]*>inventory-group<\/td>/);
});

function assertThrowsUsage(fn: () => unknown): UsageError {
  let caught: unknown;
  assertThrows(() => {
    try {
      fn();
    } catch (error) {
      caught = error;
      throw error;
    }
  });
  assertTrue(caught instanceof UsageError, `expected a UsageError, got ${caught}`);
  return caught;
}

Deno.test("lag status follows Burrow's rules over a window", () => {
  const w = (...points: [number | null, number, boolean?][]): LagSample[] =>
    points.map(([committed, logEnd, owned = true], i) => ({
      at: i * 1000,
      committed,
      logEnd,
      owned,
    }));
  assertEquals(lagStatus(w([5, 5], [7, 9], [9, 12])), "OK", "lag 0 at some point");
  assertEquals(
    lagStatus(w([5, 8], [6, 10], [7, 12])),
    "WARNING",
    "moving, but lag grows every step",
  );
  assertEquals(lagStatus(w([5, 8], [7, 9], [8, 9])), "OK", "catching up");
  assertEquals(
    lagStatus(w([5, 8], [5, 9], [5, 9])),
    "STALL",
    "owned, committed offset stuck, lag > 0",
  );
  assertEquals(
    lagStatus(w([5, 8, false], [5, 9, false])),
    "STOP",
    "nobody owns it and there is lag",
  );
  assertEquals(lagStatus(w([9, 9], [3, 9])), "REWIND", "the committed offset went back");
  assertEquals(lagStatus(w([null, 9])), "-", "never committed");
  assertEquals(lagStatus(w([5, 9])), "-", "one sample with lag: too little to judge");
});

Deno.test("ASCII and SVG diagrams are drawn from the same model", () => {
  const model = {
    topic: "order-events",
    partitionCount: 3,
    groupId: "billing-group",
    members: [
      { name: "Consumer 1", partitions: [0, 2] },
      { name: "Consumer 2", partitions: [1] },
      { name: "Consumer 3", partitions: [] },
    ],
  };
  const diagram = new AssignmentDiagram(model);
  const ascii = String(diagram);
  const svg = diagram.toSVG();
  for (const m of model.members) {
    const reads = m.partitions.length ? `reads from ${m.partitions.join(", ")}` : "idle";
    assertTrue(ascii.includes(m.name) && ascii.includes(reads), `ASCII shows ${m.name}: ${reads}`);
    assertTrue(
      svg.includes(`>${m.name}<`) && svg.includes(`>${reads}<`),
      `SVG shows ${m.name}: ${reads}`,
    );
  }
  const arrows = [...svg.matchAll(/class="owns" data-partition="(\d)" data-member="([^"]+)"/g)]
    .map((a) => `${a[1]}->${a[2]}`).sort();
  assertEquals(
    arrows,
    ["0->Consumer 1", "1->Consumer 2", "2->Consumer 1"],
    "one arrow per owned partition",
  );
  assertEquals((svg.match(/stroke-dasharray/g) ?? []).length, 1, "the idle member is drawn dashed");
});
