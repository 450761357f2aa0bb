/**
 * Bad input across group protocols, each on a broker of its own (the
 * settings are not dynamic, or would disturb other tests). On a broker whose
 * `group.consumer.migration.policy` is `disabled` (not a dynamic setting, so
 * a broker of its own, started with it), a classic member joining a
 * consumer-protocol group and a consumer-protocol member joining a classic
 * group each end in one explained line (exit 1), at once: no hang, no bare
 * INCONSISTENT_GROUP_PROTOCOL or GROUP_ID_NOT_FOUND. On a broker whose share
 * groups are turned off (feature `share.version` 0), a share member is
 * refused in one line that says how to turn them on.
 */
import { brokerPaths, findJava, javaArgs, startBroker, stopBroker } from "../lib/kafka/broker.ts";
import { kafkaPort } from "../lib/kafka/config.ts";
import { TWINS } from "../lib/processes/polyglot.ts";
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

Deno.test("share groups turned off (share.version=0): a share member is refused in one explained line", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lab-noshare-broker-" });
  const options = { port: kafkaPort() + 52, dataDir };
  try {
    await startBroker(options);
    const brokers = [`127.0.0.1:${options.port}`];
    // Kafka's own kafka-features.sh, as a learner would turn them off.
    const off = await new Deno.Command(await findJava(), {
      args: javaArgs(brokerPaths(options), "org.apache.kafka.tools.FeatureCommand", [
        ...["--bootstrap-server", brokers[0], "disable", "--feature", "share.version"],
      ]),
      stdout: "piped",
      stderr: "piped",
    }).output();
    assertTrue(off.success, new TextDecoder().decode(off.stderr));
    const started = Date.now();
    const member = await TWINS.java.spawnShare({
      groupId: uniqueName("noshare-group"),
      name: "Share 1",
      brokers,
    });
    const code = await Promise.race([
      member.exited,
      new Promise<number>((resolve) => setTimeout(() => resolve(-1), 30_000)),
    ]);
    if (code === -1) await member.kill();
    assertEquals(code, 1, member.lines.join("\n"));
    const errors = member.lines.filter((l) => l.startsWith("error:"));
    assertEquals(errors.length, 1, member.lines.join("\n"));
    assertMatch(
      errors[0],
      /^error: Share 1 cannot consume from share group noshare-group-\S+: share groups are turned off on this broker \(its feature share\.version is 0\); turn them on with kafka-features\.sh/,
    );
    assertTrue(Date.now() - started < 30_000, "refused at once");
  } finally {
    await stopBroker(options);
    await Deno.remove(dataDir, { recursive: true });
  }
});
