import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, runProducerScript, runScript } from "./harness.ts";

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
