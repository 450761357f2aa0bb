import net from "node:net";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, runProducerScript, runScript, testBrokers, withAdmin } from "./harness.ts";

const run = runScript;

/**
 * The bound of "answers at once, never hangs": the probe gives up after 4 s
 * and Deno starts in well under a second, but on a loaded 2-core machine
 * start-up alone took seconds; a hang (kafkajs retrying) takes 30 s and more.
 */
const NO_HANG_MS = 15_000;

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

Deno.test("a broker that is down: one line naming the address and the fix, without hanging", async () => {
  for (const script of ["producer.ts", "consumer.ts"]) {
    const { code, stderr, ms } = await run(script, [], { KAFKA_BROKERS: "127.0.0.1:1" });
    assertEquals(code, 1, script);
    assertEquals(stderr.split("\n").length, 1, `${script}: ${stderr}`);
    assertMatch(stderr, /^error: cannot reach Kafka at 127\.0\.0\.1:1: start the lab's broker/);
    assertTrue(ms < NO_HANG_MS, `${script} answered in ${ms} ms`);
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

/** Environment that sends a script to the lab's own broker at `port` (not the test broker). */
function atPort(port: string, stateDir = "/nonexistent/lab-broker"): Record<string, string> {
  return { KAFKA_BROKERS: "", KAFKA_PORT: port, LAB_BROKER_DIR: stateDir };
}

Deno.test("a bad KAFKA_PORT is one line and exit 2 in every command that reads it", async () => {
  for (const port of ["abc", "70000", "65535", "0"]) {
    for (
      const [script, ...args] of [
        ["broker.ts", "status"],
        ["broker.ts", "start"],
        ["producer.ts"],
        ["consumer.ts"],
        ["describe.ts", "--list"],
      ]
    ) {
      const { code, stderr } = await run(script, args, atPort(port));
      assertEquals(
        [code, stderr],
        [2, `error: KAFKA_PORT must be a whole number from 1 to 65534, got '${port}'`],
        `KAFKA_PORT=${port} ${script} ${args.join(" ")}`,
      );
    }
  }
});

/**
 * A TCP server on 127.0.0.1 that is not Kafka: it accepts and never answers,
 * or answers HTTP and hangs up.
 */
async function notKafka(kind: "silent" | "http") {
  const sockets = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    sockets.add(socket);
    socket.on("error", () => {});
    socket.on("close", () => sockets.delete(socket));
    if (kind === "http") {
      socket.once(
        "data",
        () => socket.end("HTTP/1.1 400 Bad Request\r\ncontent-length: 0\r\n\r\n"),
      );
    }
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: String((server.address() as net.AddressInfo).port),
    async [Symbol.asyncDispose]() {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

Deno.test("a port held by something that is not Kafka: every command says so in one line, without hanging", async () => {
  for (const kind of ["silent", "http"] as const) {
    await using server = await notKafka(kind);
    const stateDir = await Deno.makeTempDir({ prefix: "lab-not-kafka-" });
    const address = `127.0.0.1:${server.port}`;
    const notKafkaLine = (at: string) =>
      `something answers on ${at} but it is not Kafka (it does not answer Kafka's requests)`;
    const status = await run("broker.ts", ["status"], atPort(server.port, stateDir));
    assertEquals(status.code, 1, status.stderr);
    assertMatch(status.stdout, new RegExp(`^${address}: ${escape(notKafkaLine(address))}`));
    assertTrue(status.ms < NO_HANG_MS, `${kind}: status took ${status.ms} ms`);
    const start = await run("broker.ts", ["start"], atPort(server.port, stateDir));
    assertEquals([start.code, start.stdout], [1, ""], `${kind}: ${start.stdout}`);
    assertEquals(
      start.stderr,
      `error: something answers on ${address} but it is not Kafka (not a plaintext Kafka ` +
        "listener), so the lab's broker cannot listen there: use another port, e.g. " +
        "KAFKA_PORT=19092 deno task broker start (or --port 19092)",
    );
    assertTrue(start.ms < NO_HANG_MS, `${kind}: start took ${start.ms} ms`);
    for (const [script, ...args] of [["producer.ts"], ["consumer.ts"], ["describe.ts", "--list"]]) {
      const { code, stderr, ms } = await run(script, args, atPort(server.port, stateDir));
      assertEquals(code, 1, `${kind}: ${script}`);
      assertEquals(stderr.split("\n").length, 1, `${kind}: ${script}: ${stderr}`);
      assertMatch(
        stderr,
        new RegExp(`^error: ${escape(notKafkaLine(`localhost:${server.port}`))}`),
      );
      assertTrue(ms < NO_HANG_MS, `${kind}: ${script} took ${ms} ms`);
    }
    assertEquals(await Array.fromAsync(Deno.readDir(stateDir)), [], "start launched nothing");
    await Deno.remove(stateDir, { recursive: true });
  }
});

Deno.test("security settings that do not match the broker's plaintext listener are named as such", async () => {
  const brokers = (await testBrokers()).join(",");
  const sasl = await run("describe.ts", ["--list", "--brokers", brokers], {
    KAFKA_SASL_MECHANISM: "scram-sha-256",
    KAFKA_SASL_USERNAME: "lab",
    KAFKA_SASL_PASSWORD: "lab-Secret-42",
  });
  assertEquals(
    [sasl.code, sasl.stderr],
    [
      1,
      `error: the security settings do not match the listener at ${brokers}: ` +
      "KAFKA_SASL_MECHANISM is set but this listener does not use SASL (Kafka: 'Request is not " +
      "valid given the current SASL state'): unset KAFKA_SASL_*, or point KAFKA_BROKERS at the " +
      "SASL listener",
    ],
  );
  const tls = await run("describe.ts", ["--list", "--brokers", brokers], { KAFKA_SSL: "true" });
  assertEquals(
    [tls.code, tls.stderr],
    [
      1,
      `error: the security settings do not match the listener at ${brokers}: KAFKA_SSL is set ` +
      "but the TLS handshake failed: unset KAFKA_SSL for a plaintext listener, or point " +
      "KAFKA_BROKERS at the TLS listener",
    ],
  );
});

function escape(text: string): string {
  return text.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

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
