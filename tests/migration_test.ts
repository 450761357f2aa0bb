/**
 * Bad input across group protocols: on a broker whose
 * `group.consumer.migration.policy` is `disabled` (not a dynamic setting, so
 * a broker of its own, started with it), a classic member joining a
 * consumer-protocol group and a consumer-protocol member joining a classic
 * group each end in one explained line (exit 1), at once: no hang, no bare
 * INCONSISTENT_GROUP_PROTOCOL or GROUP_ID_NOT_FOUND.
 */
import { startBroker, stopBroker } from "../lib/kafka/broker.ts";
import { kafkaPort } from "../lib/kafka/config.ts";
import { spawnMember } from "../lib/processes/spawn.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { runScript, uniqueName } from "./harness.ts";

Deno.test("migration policy disabled: a member of the other protocol is refused in one explained line", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lab-migration-broker-" });
  const options = {
    port: kafkaPort() + 50,
    dataDir,
    settings: { "group.consumer.migration.policy": "disabled" },
  };
  try {
    await startBroker(options);
    const brokers = [`127.0.0.1:${options.port}`];
    for (
      const [first, second, theirs] of [["consumer", "classic", "new consumer protocol"], [
        "classic",
        "consumer",
        "classic protocol",
      ]] as const
    ) {
      const groupId = uniqueName("migration-group");
      const member = await spawnMember({ groupId, name: "First", brokers, protocol: first });
      try {
        const script = second === "classic" ? "consumer.ts" : "consumer_protocol.ts";
        const run = await runScript(script, [
          "--brokers",
          brokers.join(),
          "--group",
          groupId,
          "--name",
          "Second",
        ]);
        assertEquals(run.code, 1, run.stderr);
        const lines = run.stderr.split("\n");
        assertEquals(lines.length, 1, run.stderr);
        assertMatch(
          lines[0],
          new RegExp(`^error: Second cannot join ${groupId}: the group uses the ${theirs}`),
        );
        assertMatch(lines[0], /group\.consumer\.migration\.policy=disabled/);
        assertTrue(run.ms < 15_000, `refused after ${run.ms} ms`);
      } finally {
        await member.stop();
      }
    }
  } finally {
    await stopBroker(options);
    await Deno.remove(dataDir, { recursive: true });
  }
});
