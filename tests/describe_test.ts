import { brokerPaths, findJava, javaArgs } from "../lib/kafka/broker.ts";
import {
  Consumer,
  MessagesStreamFallbackModes,
  MessagesStreamModes,
  stringDeserializers,
} from "@platformatic/kafka";
import {
  membersTable,
  offsetsTable,
  shareOffsetsTable,
  stateTable,
} from "../lib/inspect/describe.ts";
import { coordinatorText, findCoordinator } from "../lib/inspect/coordinator.ts";
import { groupApisFor, snapshotGroup, waitForGroup } from "../lib/inspect/groups.ts";
import { GroupWatch } from "../lib/inspect/watch.ts";
import { GroupMember, waitForMembers } from "../lib/kafka/member.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { freshTopic, kafkaTool, testBrokers, uniqueName, withAdmin } from "./harness.ts";

/** Runs Kafka's own kafka-consumer-groups.sh (its Java class) and returns its stdout. */
async function kafkaConsumerGroups(args: string[]): Promise<string> {
  const brokers = await testBrokers();
  const out = await new Deno.Command(await findJava(), {
    args: javaArgs(brokerPaths(), "org.apache.kafka.tools.consumer.group.ConsumerGroupCommand", [
      "--bootstrap-server",
      brokers.join(","),
      ...args,
    ]),
    stdout: "piped",
    stderr: "piped",
  }).output();
  assertTrue(out.success, new TextDecoder().decode(out.stderr));
  return new TextDecoder().decode(out.stdout);
}

/** Rows of a whitespace-aligned table, keyed by column name. */
function parseColumns(text: string, firstColumn: string): Record<string, string>[] {
  const lines = text.split("\n").filter((l) => l.trim() !== "");
  const header = lines.findIndex((l) => l.startsWith(firstColumn));
  const columns = lines[header].trim().split(/\s+/);
  return lines.slice(header + 1).map((line) => {
    const cells = line.trim().split(/\s+/);
    return Object.fromEntries(columns.map((c, i) => [c, cells[i]]));
  });
}

Deno.test("describe shows what Kafka's own kafka-consumer-groups.sh shows for the same group", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  await produceOrders({ brokers, topic, count: 12, intervalMs: 0 });
  const members = [
    await GroupMember.start({ brokers, groupId, name: "Consumer 1", topic }),
    await GroupMember.start({ brokers, groupId, name: "Consumer 2", topic }),
  ];
  try {
    assertTrue(
      await waitForMembers(members, () => members.flatMap((m) => m.received).length >= 12, 15_000),
    );
    await withAdmin((admin) =>
      waitForGroup(
        admin,
        groupId,
        (s) => s.state === "Stable" && s.partitions.every((p) => p.lag === 0),
        10_000,
      )
    );
    // Some lag, so LAG is not all zeros: produce while members are still there.
    await produceOrders({ brokers, topic, count: 0, intervalMs: 0 });
    const ours = await withAdmin((admin) => snapshotGroup(admin, groupId));
    const theirs = parseColumns(
      await kafkaConsumerGroups(["--describe", "--group", groupId]),
      "GROUP",
    );
    const ourRows = parseColumns(String(offsetsTable([ours])), "GROUP");
    const key = (r: Record<string, string>) => `${r.TOPIC}/${r.PARTITION}`;
    const pick = (r: Record<string, string>) => ({
      key: key(r),
      current: r["CURRENT-OFFSET"],
      end: r["LOG-END-OFFSET"],
      lag: r.LAG,
      consumer: r["CONSUMER-ID"],
      host: r.HOST,
      client: r["CLIENT-ID"],
    });
    const sort = (rows: ReturnType<typeof pick>[]) =>
      rows.sort((a, b) => a.key.localeCompare(b.key));
    assertEquals(sort(ourRows.map(pick)), sort(theirs.map(pick)));
    assertEquals(ourRows.length, 3);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("describe --members and --state agree with Kafka's tool", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  const members = [
    await GroupMember.start({ brokers, groupId, name: "Consumer 1", topic }),
    await GroupMember.start({ brokers, groupId, name: "Consumer 2", topic }),
  ];
  try {
    const { snapshot } = await withAdmin((admin) =>
      waitForGroup(admin, groupId, (s) => s.state === "Stable" && s.members.length === 2, 15_000)
    );
    const theirs = parseColumns(
      await kafkaConsumerGroups(["--describe", "--group", groupId, "--members"]),
      "GROUP",
    );
    assertEquals(
      theirs.map((r) => [r["CONSUMER-ID"], r["#PARTITIONS"]]).sort(),
      snapshot.members.map((m) => [m.memberId, String((m.assignment[topic] ?? []).length)]).sort(),
    );
    const state = parseColumns(
      await kafkaConsumerGroups(["--describe", "--group", groupId, "--state"]),
      "GROUP",
    )[0];
    assertEquals([state.STATE, state["#MEMBERS"], state["ASSIGNMENT-STRATEGY"]], [
      snapshot.state,
      String(snapshot.members.length),
      snapshot.protocol,
    ]);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

/** `describe --state`'s COORDINATOR (ID) of `groupId`, for {@linkcode stateTable}. */
async function coordinators(groupId: string): Promise<Record<string, string>> {
  return { [groupId]: coordinatorText(await findCoordinator(await testBrokers(), groupId)) };
}

/** Our table and Kafka's, as rows of the columns both have, sorted. */
function sameColumns(ours: string, theirs: string, columns: string[]) {
  const pick = (text: string) =>
    parseColumns(text, "GROUP").map((r) => columns.map((c) => `${c}=${r[c]}`).join(" ")).sort();
  assertEquals(pick(ours), pick(theirs));
}

/** Consumers that speak KIP-848's consumer protocol, through @platformatic/kafka. */
async function consumerProtocolMembers(groupId: string, topic: string, names: string[]) {
  const brokers = await testBrokers();
  const consumers = names.map((clientId) =>
    new Consumer({
      clientId,
      groupId,
      bootstrapBrokers: brokers,
      groupProtocol: "consumer",
      deserializers: stringDeserializers,
    })
  );
  for (const consumer of consumers) {
    const stream = await consumer.consume({
      topics: [topic],
      mode: MessagesStreamModes.COMMITTED,
      fallbackMode: MessagesStreamFallbackModes.EARLIEST,
    });
    stream.on("data", () => {});
  }
  return { close: () => Promise.all(consumers.map((c) => c.close(true))) };
}

Deno.test("describe shows a consumer-protocol group as Kafka's tool does, epochs included", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("kip848-group");
  await produceOrders({ brokers, topic, count: 6, intervalMs: 0 });
  const members = await consumerProtocolMembers(groupId, topic, ["new-1", "new-2"]);
  try {
    await withAdmin(async (admin) => {
      const { ok, snapshot } = await waitForGroup(
        admin,
        groupId,
        (s) =>
          s.state === "Stable" && s.members.length === 2 &&
          s.partitions.length === 3 && s.partitions.every((p) => p.lag === 0),
        20_000,
      );
      assertTrue(ok, `group did not settle: ${JSON.stringify(snapshot)}`);
      assertEquals(snapshot.type, "consumer");
      sameColumns(
        String(offsetsTable([snapshot])),
        await kafkaTool("ConsumerGroupCommand", ["--describe", "--group", groupId]),
        [
          "TOPIC",
          "PARTITION",
          "CURRENT-OFFSET",
          "LOG-END-OFFSET",
          "LAG",
          "CONSUMER-ID",
          "CLIENT-ID",
        ],
      );
      sameColumns(
        String(membersTable([snapshot])),
        await kafkaTool("ConsumerGroupCommand", [
          "--describe",
          "--group",
          groupId,
          "--members",
          "--verbose",
        ]),
        [
          "CONSUMER-ID",
          "CLIENT-ID",
          "#PARTITIONS",
          "CURRENT-EPOCH",
          "CURRENT-ASSIGNMENT",
          "TARGET-EPOCH",
          "TARGET-ASSIGNMENT",
        ],
      );
      sameColumns(
        String(stateTable([snapshot], await coordinators(groupId))),
        await kafkaTool("ConsumerGroupCommand", [
          "--describe",
          "--group",
          groupId,
          "--state",
          "--verbose",
        ]),
        [
          "COORDINATOR",
          "(ID)",
          "ASSIGNMENT-STRATEGY",
          "STATE",
          "GROUP-EPOCH",
          "TARGET-ASSIGNMENT-EPOCH",
          "#MEMBERS",
        ],
      );
      const listed = (await (await groupApisFor(admin)).listGroups()).find((g) =>
        g.groupId === groupId
      );
      assertEquals(listed?.type, "consumer");

      const watch = new GroupWatch(admin, { groupId });
      const watched = await watch.poll();
      assertEquals([watched.state, watched.members.length], ["Stable", 2]);
      const frame = await watch.frame();
      assertTrue(frame.includes("new-1") && frame.includes("new-2"), frame);
      assertTrue(!frame.includes("Dead"), frame);
    });
  } finally {
    await members.close();
  }
});

Deno.test("describe shows a share group as Kafka's kafka-share-groups.sh does", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("share-group");
  const consumer = new Deno.Command(await findJava(), {
    args: javaArgs(brokerPaths(), "org.apache.kafka.tools.consumer.ConsoleShareConsumer", [
      "--bootstrap-server",
      brokers.join(","),
      "--topic",
      topic,
      "--group",
      groupId,
    ]),
    stdout: "null",
    stderr: "null",
  }).spawn();
  try {
    await withAdmin(async (admin) => {
      assertTrue(
        (await waitForGroup(admin, groupId, (s) => s.members.length === 1, 30_000)).ok,
        "the share consumer did not join",
      );
      // A new share group starts at the latest offset, set when its consumer first fetches
      // from a partition: produce until every partition with records has a start offset.
      let settled: Awaited<ReturnType<typeof waitForGroup>> | undefined;
      for (let round = 0; round < 10 && !settled?.ok; round++) {
        await produceOrders({ brokers, topic, count: 3, intervalMs: 0 });
        settled = await waitForGroup(
          admin,
          groupId,
          (s) =>
            s.partitions.length === 3 &&
            s.partitions.every((p) => p.logEndOffset === 0 || p.lag === 0),
          3_000,
        );
      }
      const { ok, snapshot } = settled!;
      assertTrue(ok, `share group did not catch up: ${JSON.stringify(snapshot)}`);
      assertEquals(snapshot.type, "share");
      sameColumns(
        String(shareOffsetsTable([snapshot])),
        await kafkaTool("ShareGroupCommand", ["--describe", "--group", groupId]),
        ["TOPIC", "PARTITION", "START-OFFSET", "LAG"],
      );
      sameColumns(
        String(membersTable([snapshot])),
        await kafkaTool("ShareGroupCommand", [
          "--describe",
          "--group",
          groupId,
          "--members",
          "--verbose",
        ]),
        ["CONSUMER-ID", "CLIENT-ID", "#PARTITIONS", "MEMBER-EPOCH", "ASSIGNMENT"],
      );
      sameColumns(
        String(stateTable([snapshot], await coordinators(groupId))),
        await kafkaTool("ShareGroupCommand", [
          "--describe",
          "--group",
          groupId,
          "--state",
          "--verbose",
        ]),
        ["COORDINATOR", "(ID)", "STATE", "GROUP-EPOCH", "ASSIGNMENT-EPOCH", "#MEMBERS"],
      );
    });
  } finally {
    consumer.kill("SIGTERM");
    await consumer.status;
  }
});
