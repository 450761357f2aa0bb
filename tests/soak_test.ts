import { isEmbeddedBroker } from "../lib/kafka/broker.ts";
import { runSoak } from "../bench/soak.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { testBrokers, uniqueName } from "./harness.ts";

Deno.test("soak: members killed at random and a broker restart lose nothing", async () => {
  const brokers = await testBrokers();
  const report = await runSoak({
    brokers,
    topic: uniqueName("soak-orders"),
    groupId: uniqueName("soak-group"),
    orders: 1_500,
    members: 3,
    produceMs: 8_000,
    killEveryMs: 1_500,
    maxWallMs: 90_000,
  });
  console.log(JSON.stringify(report));
  assertEquals(report.produced, 1_500);
  assertEquals(report.lost, 0, "at-least-once: nothing lost");
  assertEquals(report.consumedUnique, 1_500);
  assertTrue(report.drained, "the group caught up");
  assertTrue(report.kills >= 1, `members killed: ${report.kills}`);
  assertTrue(report.rebalances >= 2, `rebalances: ${report.rebalances}`);
  if (isEmbeddedBroker(brokers)) assertEquals(report.brokerRestarts, 1);
});

Deno.test("soak: classic and consumer-protocol members in one group, killed, leaving, rejoining, lose nothing", async () => {
  const brokers = await testBrokers();
  const report = await runSoak({
    brokers,
    topic: uniqueName("mixed-orders"),
    groupId: uniqueName("mixed-group"),
    orders: 600,
    members: 4,
    produceMs: 8_000,
    killEveryMs: 2_000,
    restartBroker: false,
    mixed: true,
    maxWallMs: 55_000,
  });
  console.log(JSON.stringify(report));
  assertEquals(report.produced, 600);
  assertEquals(report.lost, 0, "at-least-once across protocols: nothing lost");
  assertEquals(report.consumedUnique, 600);
  assertTrue(report.drained, "the mixed group caught up");
  assertTrue(report.kills >= 1, `members killed: ${report.kills}`);
  assertTrue(report.leaves >= 1, `members left: ${report.leaves}`);
});
