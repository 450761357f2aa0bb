/**
 * The soak, smaller, on the lab's 3-node cluster: members killed at random
 * and the group's coordinator killed with SIGKILL mid-run (then restarted):
 * nothing acknowledged is lost, and the coordinator moves to another node.
 */
import { runSoak } from "../bench/soak.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { testCluster, uniqueName } from "./harness.ts";

Deno.test("cluster soak: the coordinator killed mid-run, members killed at random: nothing lost", async () => {
  const brokers = await testCluster();
  const report = await runSoak({
    brokers,
    topic: uniqueName("soak-orders"),
    groupId: uniqueName("soak-group"),
    orders: 1_500,
    members: 3,
    produceMs: 12_000,
    killEveryMs: 2_000,
    cluster: {},
    nodeKills: 1,
    maxWallMs: 120_000,
  });
  console.log(JSON.stringify(report));
  assertEquals(report.produced, 1_500);
  assertEquals(report.lost, 0, "acks=all, replication factor 3: nothing lost");
  assertEquals(report.consumedUnique, 1_500);
  assertTrue(report.drained, "the group caught up");
  assertEquals([report.nodeKills, report.brokerRestarts], [1, 1]);
  assertTrue(report.coordinatorMoves >= 1, `coordinator moves: ${report.coordinatorMoves}`);
});
