/**
 * The lab's 3-node cluster: what `deno task broker --nodes 3` promises
 * (ports apart from the single broker's, one line for a bad --nodes or a
 * busy port, every node up and in the ISR, the lab's commands following the
 * cluster), and the coordinator `describe --state` names, compared with
 * Kafka's own kafka-consumer-groups.sh, before and after it is killed.
 *
 * `deno task test` runs this file against a cluster of its own (KAFKA_PORT
 * + 2 to + 7, LAB_CLUSTER_DIR); alone, it starts one where those say.
 */
import { brokerPaths, serverProperties } from "../lib/kafka/broker.ts";
import {
  CLUSTER_NODES,
  clusterBrokers,
  clusterPaths,
  clusterStatus,
  nodeSettings,
  OFFSETS_TOPIC,
  startCluster,
} from "../lib/kafka/cluster.ts";
import { createKafka, defaultBrokers, ORDER_TOPIC } from "../lib/kafka/config.ts";
import { killNode, restartNode, waitForCoordinator } from "../lib/kafka/failover.ts";
import { GroupMember } from "../lib/kafka/member.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { ensureTopic } from "../lib/kafka/topic.ts";
import { javaStringHash, offsetsPartitionFor } from "../lib/inspect/coordinator.ts";
import { waitForGroup } from "../lib/inspect/groups.ts";
import { makeTempDir, remove } from "../lib/platform/runtime.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { kafkaTool, runScript, testCluster, uniqueName } from "./harness.ts";

Deno.test("--nodes 2 and --nodes 0 get one line about the quorum's majority, exit 2", async () => {
  for (const nodes of ["2", "0"]) {
    const run = await runScript("broker.ts", ["start", "--nodes", nodes]);
    assertEquals(run.code, 2);
    assertEquals(run.stderr.split("\n").length, 1, run.stderr);
    assertMatch(run.stderr, new RegExp(`--nodes ${nodes}: a KRaft quorum works while a majority`));
    assertMatch(run.stderr, /use --nodes 1 \(the single broker\) or --nodes 3/);
  }
});

Deno.test("a group's __consumer_offsets partition is Kafka's: abs(hashCode) % partitions", () => {
  // [group id, Java's String.hashCode(), partition of 50, of 10], printed by Java itself.
  const java: [string, number, number, number][] = [
    ["billing-group", 1671177389, 39, 9],
    ["inventory-group", 1824632526, 26, 6],
    ["Ωmega-grüppe", -161416762, 12, 2],
    ["polygenelubricants", -2147483648, 0, 0], // Kafka's Utils.abs maps Integer.MIN_VALUE to 0
  ];
  assertEquals(
    java.map(([g]) => [g, javaStringHash(g), offsetsPartitionFor(g), offsetsPartitionFor(g, 10)]),
    java,
  );
});

Deno.test("the cluster's ports and folders never meet the single broker's or the test runs'", () => {
  const p = 30000;
  const cluster = clusterPaths({ port: p, dataDir: "/tmp/lab-cluster-x" });
  const ports = cluster.nodes.flatMap((n) => [n.paths.port, n.paths.controllerPort]);
  assertEquals(ports, [p + 2, p + 3, p + 4, p + 5, p + 6, p + 7]);
  for (const taken of [p, p + 1, p + 50, p + 51, p + 100, p + 101]) {
    assertTrue(!ports.includes(taken), `${taken} is the single broker's or a test run's`);
  }
  assertEquals(
    cluster.nodes.map((n) => n.paths.stateDir),
    [1, 2, 3].map((n) => `/tmp/lab-cluster-x/node-${n}`),
  );
  assertTrue(cluster.nodes.every((n) => !n.paths.stateDir.startsWith(brokerPaths().stateDir)));
});

Deno.test("each node: replication factor 3, min ISR 2, the single broker's group timings", () => {
  const cluster = clusterPaths({ port: 30000, dataDir: "/tmp/lab-cluster-x" });
  const settings = nodeSettings(cluster, cluster.nodes[1]);
  assertEquals(settings["node.id"], 2);
  assertEquals(
    settings["controller.quorum.bootstrap.servers"],
    [30003, 30005, 30007].map((p) => `127.0.0.1:${p}`).join(","),
  );
  for (const key of ["offsets", "transaction.state.log", "share.coordinator.state.topic"]) {
    const rf = key === "offsets" ? "offsets.topic" : key;
    assertEquals(settings[`${rf}.replication.factor`], CLUSTER_NODES, rf);
  }
  assertEquals(settings["min.insync.replicas"], 2);
  const single = serverProperties(brokerPaths());
  const node = serverProperties(cluster.nodes[1].paths, undefined, settings);
  for (const line of single.split("\n").filter((l) => l.startsWith("group."))) {
    assertTrue(node.includes(`${line}\n`), `the node lacks ${line}`);
  }
});

Deno.test("a port in use is named before any node starts", async () => {
  const dataDir = await makeTempDir("lab-cluster-");
  const port = 21600;
  const listener = Deno.listen({ hostname: "127.0.0.1", port: port + 5 });
  try {
    const run = await runScript("broker.ts", ["start", "--nodes", "3", "--port", String(port)], {
      LAB_CLUSTER_DIR: dataDir,
    });
    assertEquals(run.code, 1);
    assertMatch(
      run.stderr,
      /^error: port 21605 \(node 2's controller port\) in use by another program: .*ss -ltnp \| grep :21605/,
    );
    assertEquals(run.stderr.split("\n").length, 1, run.stderr);
  } finally {
    listener.close();
    await remove(dataDir);
  }
});

Deno.test("a cluster that no longer answers is named in one line, with both ways out", async () => {
  const dataDir = await makeTempDir("lab-cluster-");
  try {
    // As after a reboot: the file says the cluster runs, nothing listens.
    await Deno.writeTextFile(`${dataDir}/brokers`, "127.0.0.1:21702,127.0.0.1:21704\n");
    const run = await runScript("describe.ts", ["--list"], {
      LAB_CLUSTER_DIR: dataDir,
      KAFKA_BROKERS: "", // unset: the default address is the cluster's
    });
    assertEquals(run.code, 1);
    assertEquals(run.stderr.split("\n").length, 1, run.stderr);
    assertMatch(
      run.stderr,
      /^error: cannot reach the lab's 3-node cluster at 127\.0\.0\.1:21702,127\.0\.0\.1:21704 .*start it again with `deno task broker start --nodes 3`, or `deno task broker stop --nodes 3`/,
    );
  } finally {
    await remove(dataDir);
  }
});

Deno.test("the running cluster: 3 nodes up, every node in every ISR, the lab's default brokers", async () => {
  const brokers = await testCluster();
  assertEquals(brokers, clusterBrokers(clusterPaths()));
  const status = await clusterStatus();
  assertEquals(status.map((n) => [n.nodeId, n.answering, n.pid !== undefined]), [
    [1, true, true],
    [2, true, true],
    [3, true, true],
  ]);
  // Without KAFKA_BROKERS, the lab's commands go to the cluster while it runs.
  assertEquals(defaultBrokers(), brokers.join(","));
  const run = await runScript("broker.ts", ["status", "--nodes", "3"]);
  assertEquals(run.code, 0, run.stderr);
  assertEquals(
    run.stdout.split("\n").filter((l) => /^node \d: .*: up; running \(pid/.test(l)).length,
    3,
  );
  const admin = createKafka({ brokers, clientId: "lab-test" }).admin();
  await admin.connect();
  try {
    const { topics } = await admin.fetchTopicMetadata({ topics: [ORDER_TOPIC, OFFSETS_TOPIC] });
    for (const topic of topics) {
      for (const p of topic.partitions) {
        assertEquals([p.replicas.length, p.isr.length], [3, 3], `${topic.name}-${p.partitionId}`);
      }
    }
    const topic = uniqueName("orders");
    await ensureTopic(admin, topic);
    const [config] = (await admin.describeConfigs({
      resources: [{ type: 2, name: topic, configNames: ["min.insync.replicas"] }],
      includeSynonyms: false,
    })).resources;
    assertEquals(config.configEntries[0].configValue, "2");
    const metadata = await admin.fetchTopicMetadata({ topics: [topic] });
    assertTrue(metadata.topics[0].partitions.every((p) => p.replicas.length === 3));
  } finally {
    await admin.disconnect();
  }
});

/** describe --state's COORDINATOR (ID) and offsets line, and kafka-consumer-groups.sh's. */
async function coordinators(brokers: string[], groupId: string) {
  const ours = await runScript("describe.ts", [
    "--group",
    groupId,
    "--state",
    "--brokers",
    brokers.join(","),
  ]);
  assertEquals(ours.code, 0, ours.stderr);
  const theirs = await kafkaTool(
    "ConsumerGroupCommand",
    ["--describe", "--group", groupId, "--state"],
    brokers,
  );
  const column = (text: string) => /^\S+\s+(\S+:\d+ +\(\d+\))/m.exec(text.split("\n")[1])?.[1];
  return { ours: column(ours.stdout), theirs: column(theirs.trim()), stdout: ours.stdout };
}

Deno.test("describe --state names the coordinator as Kafka's tool does, and again after it is killed", async () => {
  const brokers = await testCluster();
  const topic = uniqueName("orders");
  const groupId = uniqueName("billing-group");
  const admin = createKafka({ brokers, clientId: "lab-test" }).admin();
  await admin.connect();
  await ensureTopic(admin, topic);
  await produceOrders({ brokers, topic, count: 6, intervalMs: 0 });
  const member = await GroupMember.start({ brokers, groupId, name: "Consumer 1", topic });
  try {
    await waitForGroup(admin, groupId, (s) => s.state === "Stable", 20_000);
    const before = await coordinators(brokers, groupId);
    assertTrue(before.ours !== undefined, before.stdout);
    assertEquals(before.ours, before.theirs);
    const { nodeId } = await waitForCoordinator(brokers, groupId);
    assertEquals(
      before.ours,
      `127.0.0.1:${clusterPaths().nodes[nodeId - 1].paths.port}  (${nodeId})`,
    );
    assertMatch(
      before.stdout,
      new RegExp(
        `^${groupId}'s offsets: __consumer_offsets-${
          offsetsPartitionFor(groupId, 10)
        } \\(of 10\\), leader node ${nodeId} \\(its coordinator\\), in-sync replicas 1,2,3$`,
        "m",
      ),
    );
    await killNode(nodeId);
    try {
      const moved = await waitForCoordinator(brokers, groupId, { except: nodeId });
      const after = await coordinators(brokers, groupId);
      assertEquals(after.ours, after.theirs);
      assertEquals(after.ours, `${moved.host}:${moved.port}  (${moved.nodeId})`);
    } finally {
      await restartNode(nodeId);
    }
  } finally {
    await member.stop();
    await admin.disconnect();
  }
});

Deno.test("starting the running cluster again launches nothing", async () => {
  await testCluster();
  const again = await startCluster();
  assertEquals(again.started, []);
  assertEquals(again.brokers, clusterBrokers(clusterPaths()));
});
