import { parse } from "yaml";
import { brokerPaths, serverProperties } from "../lib/kafka/broker.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";

// We have no Docker engine here, so compose.yaml is checked statically: it must
// describe the same lab broker as the embedded one (lib/kafka/broker.ts).
const compose = parse(await Deno.readTextFile(new URL("../compose.yaml", import.meta.url)));
const kafka = compose.services.kafka;

/** Settings that are about the machine (paths, listeners), not the lab's behaviour. */
const MACHINE_SPECIFIC = new Set([
  "log.dirs",
  "listeners",
  "advertised.listeners",
  "controller.quorum.bootstrap.servers",
]);

Deno.test("compose.yaml runs the official apache/kafka image on port 9092", () => {
  assertMatch(kafka.image, /^apache\/kafka:4\.\d+\.\d+$/);
  assertEquals(kafka.ports, ["127.0.0.1:9092:9092"]);
  assertEquals(kafka.environment.KAFKA_ADVERTISED_LISTENERS, "PLAINTEXT://localhost:9092");
  assertTrue(kafka.healthcheck.test.join(" ").includes("localhost:9092"));
});

Deno.test("compose.yaml has the same lab settings as the embedded broker", () => {
  for (const line of serverProperties(brokerPaths()).trim().split("\n")) {
    const [key, value] = line.split("=", 2);
    if (MACHINE_SPECIFIC.has(key)) continue;
    const envName = `KAFKA_${key.toUpperCase().replaceAll(".", "_")}`;
    assertEquals(String(kafka.environment[envName]), value, envName);
  }
});
