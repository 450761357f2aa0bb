import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, runProducerScript, runScript, testBrokers, withAdmin } from "./harness.ts";

const run = runScript;

Deno.test("an unknown flag is one line on stderr and exit 2", async () => {
  for (const script of ["producer.ts", "consumer.ts", "demo.ts", "broker.ts"]) {
    const { code, stderr } = await run(script, ["--bogus"]);
    assertEquals(code, 2, script);
    assertEquals(stderr.split("\n").length, 1, `${script}: ${stderr}`);
    assertMatch(stderr, /^error: Unknown option '--bogus'/);
  }
});

Deno.test("a bad value is one line on stderr and exit 2", async () => {
  const { code, stderr } = await run("producer.ts", ["--count", "ten"]);
  assertEquals(code, 2);
  assertEquals(stderr, "error: --count must be a whole number from 0 to 10000000, got 'ten'");
});

Deno.test("a broker that is down: one line naming the address and the fix, within 5 s", async () => {
  for (const script of ["producer.ts", "consumer.ts"]) {
    const { code, stderr, ms } = await run(script, [], { KAFKA_BROKERS: "127.0.0.1:1" });
    assertEquals(code, 1, script);
    assertEquals(stderr.split("\n").length, 1, `${script}: ${stderr}`);
    assertMatch(stderr, /^error: cannot reach Kafka at 127\.0\.0\.1:1: start the lab's broker/);
    assertTrue(ms < 5_000 + 1_500, `${script} answered in ${ms} ms`); // + Deno's own start-up
  }
});

Deno.test("--help lists the flags and exits 0", async () => {
  const { code, stdout } = await run("producer.ts", ["--help"]);
  assertEquals(code, 0);
  assertMatch(stdout, /--count <value>\s+how many orders to produce \(default: 10\)/);
});

Deno.test("a command that talks to Kafka prints nothing on stderr (no runtime warnings)", async () => {
  const topic = await freshTopic("quiet");
  const { code, stderr } = await runProducerScript(topic, ["--count", "2"]);
  assertEquals(code, 0);
  assertEquals(stderr, "");
});

Deno.test("consumer: a heartbeat not shorter than the session timeout is a usage error", async () => {
  const { code, stderr } = await run("consumer.ts", [
    "--heartbeat-ms",
    "10000",
    "--session-timeout-ms",
    "10000",
  ]);
  assertEquals(code, 2);
  assertMatch(
    stderr,
    /^error: --heartbeat-ms \(10000\) must be less than --session-timeout-ms \(10000\)/,
  );
  assertEquals(stderr.split("\n").length, 1, stderr);
});

Deno.test("consumer: an unwritable --record is refused before joining the group", async () => {
  const topic = await freshTopic("record");
  const { code, stdout, stderr } = await run("consumer.ts", [
    "--topic",
    topic,
    "--brokers",
    (await testBrokers()).join(","),
    "--record",
    "/nonexistent-folder/run.jsonl",
  ]);
  assertEquals(code, 2, stdout);
  assertEquals(stdout, "", "it never started joining");
  assertMatch(stderr, /^error: --record '\/nonexistent-folder\/run\.jsonl' cannot be written: /);
});

Deno.test("producer: a --start whose amounts are no longer exact numbers is refused", async () => {
  for (
    const args of [["--start", "9007199254740991"], ["--start", "900719925474099", "--count", "2"]]
  ) {
    const { code, stderr } = await run("producer.ts", args);
    assertEquals(code, 2, stderr);
    assertMatch(stderr, /^error: --start [^\n]*900719925474099/);
  }
});

Deno.test("every command refuses Kafka's internal topics before creating anything", async () => {
  const topics = ["__transaction_state", "__share_group_state", "__lab"];
  const brokers = (await testBrokers()).join(",");
  for (const script of ["producer.ts", "consumer.ts", "demo.ts", "reset_offsets.ts"]) {
    for (const topic of topics) {
      const { code, stderr } = await run(script, [
        "--topic",
        topic,
        "--brokers",
        brokers,
        ...(script === "reset_offsets.ts" ? ["--group", "g", "--to-earliest"] : []),
      ]);
      assertEquals(code, 2, `${script} ${topic}: ${stderr}`);
      assertEquals(
        stderr,
        `error: --topic '${topic}' is a name Kafka keeps for its internal topics ` +
          "(names starting with '__', such as __consumer_offsets): use another topic",
      );
    }
  }
  const created = await withAdmin((admin) => admin.listTopics());
  assertEquals(created.filter((t) => t === "__lab"), [], "nothing created");
});
