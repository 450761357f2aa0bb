/**
 * SASL against a real broker: a second embedded broker with a SASL_PLAINTEXT
 * listener and a SCRAM/PLAIN user, the lab's producer and member run through
 * it with KAFKA_SASL_* settings, a wrong password refused with a clear line,
 * a client without SASL settings told that the listener needs them, and the
 * password never printed.
 */
import { startBroker, stopBroker } from "../lib/kafka/broker.ts";
import { securityFromEnv } from "../lib/kafka/config.ts";
import { assertEquals, assertMatch, assertThrows, assertTrue } from "./assert.ts";
import { uniqueName } from "./harness.ts";
import { projectPath } from "../lib/platform/runtime.ts";

const SCRIPTS = projectPath("scripts/");
const PASSWORD = "lab-Secret-42";

async function run(
  script: string,
  args: string[],
  env: Record<string, string>,
  timeoutMs = 30_000,
) {
  const child = new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", `${SCRIPTS}${script}`, ...args],
    env: { NO_COLOR: "1", LAB_KAFKAJS_LOG: "debug", ...env },
    stdout: "piped",
    stderr: "piped",
  }).spawn();
  const timer = setTimeout(() => child.kill("SIGTERM"), timeoutMs);
  const out = await child.output();
  clearTimeout(timer);
  const text = (b: Uint8Array) => new TextDecoder().decode(b);
  return { code: out.code, stdout: text(out.stdout), stderr: text(out.stderr) };
}

Deno.test("SASL settings come from the environment and bad ones are usage errors", () => {
  const env = (vars: Record<string, string>) => (name: string) => vars[name];
  assertEquals(securityFromEnv(env({})), {});
  assertEquals(
    securityFromEnv(
      env({
        KAFKA_SSL: "true",
        KAFKA_SASL_MECHANISM: "SCRAM-SHA-512",
        KAFKA_SASL_USERNAME: "u",
        KAFKA_SASL_PASSWORD: "p",
      }),
    ),
    { ssl: true, sasl: { mechanism: "scram-sha-512", username: "u", password: "p" } },
  );
  assertThrows(() => securityFromEnv(env({ KAFKA_SASL_MECHANISM: "kerberos" })), /must be one of/);
  assertThrows(
    () => securityFromEnv(env({ KAFKA_SASL_MECHANISM: "plain" })),
    /needs KAFKA_SASL_USERNAME/,
  );
});

Deno.test("producer and member work through a SASL listener; a wrong password or none is refused; secrets never printed", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lab-sasl-broker-" });
  const port = 21_540; // beside broker_test's, clear of KAFKA_PORT + 202..207 (the cluster run)
  const saslPort = 21_542;
  const options = { port, dataDir, sasl: { port: saslPort, users: { lab: PASSWORD } } };
  try {
    await startBroker(options);
    const topic = uniqueName("secure-orders");
    const outputs: string[] = [];
    for (const mechanism of ["scram-sha-256", "scram-sha-512", "plain"]) {
      const env = {
        KAFKA_BROKERS: `127.0.0.1:${saslPort}`,
        KAFKA_SASL_MECHANISM: mechanism,
        KAFKA_SASL_USERNAME: "lab",
        KAFKA_SASL_PASSWORD: PASSWORD,
      };
      const produced = await run("producer.ts", [
        "--topic",
        topic,
        "--count",
        "3",
        "--interval-ms",
        "0",
      ], env);
      assertEquals(produced.code, 0, `${mechanism}: ${produced.stderr.slice(-500)}`);
      assertMatch(produced.stdout, /Produced 3 orders/);
      const record = await Deno.makeTempFile({ suffix: ".jsonl" });
      const groupId = uniqueName("secure-group");
      const consumed = await run(
        "consumer.ts",
        [
          "--topic",
          topic,
          "--group",
          groupId,
          "--name",
          "Consumer 1",
          "--record",
          record,
          "--max-messages",
          "3",
        ],
        env,
        20_000,
      );
      assertEquals(consumed.code, 0, `${mechanism}: ${consumed.stderr.slice(-300)}`);
      assertMatch(consumed.stdout, /Consumer 1 got message: \{"order_id":"100\d"/, mechanism);
      // --list asks with ListGroups through @platformatic/kafka: the same SASL settings.
      const listed = await run("describe.ts", ["--list"], env);
      assertEquals(listed.code, 0, `${mechanism}: ${listed.stderr.slice(-300)}`);
      assertMatch(listed.stdout, new RegExp(`^${groupId}\\s+classic`, "m"), listed.stdout);
      outputs.push(
        produced.stdout,
        produced.stderr,
        consumed.stdout,
        consumed.stderr,
        await Deno.readTextFile(record),
      );
    }
    const wrong = await run("producer.ts", ["--topic", topic], {
      KAFKA_BROKERS: `127.0.0.1:${saslPort}`,
      KAFKA_SASL_MECHANISM: "scram-sha-256",
      KAFKA_SASL_USERNAME: "lab",
      KAFKA_SASL_PASSWORD: "not-the-password",
    });
    assertEquals(wrong.code, 1);
    const errorLines = wrong.stderr.split("\n").filter((l) => l.startsWith("error:"));
    assertEquals(errorLines, [
      `error: authentication failed at 127.0.0.1:${saslPort} as 'lab' (SASL scram-sha-256): check KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD`,
    ]);
    outputs.push(wrong.stdout, wrong.stderr);
    const unauthenticated = await run("producer.ts", ["--topic", topic], {
      KAFKA_BROKERS: `127.0.0.1:${saslPort}`,
    });
    assertEquals(unauthenticated.code, 1);
    assertEquals(unauthenticated.stderr.split("\n").filter((l) => l.startsWith("error:")), [
      `error: the security settings do not match the listener at 127.0.0.1:${saslPort}: ` +
      "Kafka answered, then closed the connection when asked for metadata, as a SASL listener " +
      "does with a client that does not authenticate: set KAFKA_SASL_MECHANISM, " +
      "KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD",
    ]);
    for (const text of outputs) {
      assertTrue(
        !text.includes(PASSWORD) && !text.includes("not-the-password"),
        "a password was printed",
      );
    }
    assertTrue(outputs.join("").includes("[kafkajs] DEBUG"), "debug logs were on");
  } finally {
    await stopBroker(options);
    await Deno.remove(dataDir, { recursive: true });
  }
});
