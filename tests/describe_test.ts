import { brokerPaths, findJava, javaArgs } from "../lib/kafka/broker.ts";
import { offsetsTable } from "../lib/inspect/describe.ts";
import { snapshotGroup, waitForGroup } from "../lib/inspect/groups.ts";
import { GroupMember, waitForMembers } from "../lib/kafka/member.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";

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
