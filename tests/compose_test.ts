import { parse } from "yaml";
import { brokerPaths, serverProperties } from "../lib/kafka/broker.ts";
import { clusterPaths, nodeSettings } from "../lib/kafka/cluster.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";

// We have no Docker engine here, so compose.yaml is checked statically: it must
// describe the same lab broker as the embedded one (lib/kafka/broker.ts).
// merge: the cluster's nodes share their settings through a YAML merge key (`<<:`), as compose does.
const compose = parse(await Deno.readTextFile(new URL("../compose.yaml", import.meta.url)), {
  merge: true,
});
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

Deno.test("compose.yaml's cluster profile: 3 nodes on the launcher's ports, with its settings", () => {
  // The launcher's nodes for the default KAFKA_PORT, 9092.
  const cluster = clusterPaths({ port: 9092, dataDir: "/tmp/lab-cluster" });
  for (const node of cluster.nodes) {
    const service = compose.services[`kafka-${node.nodeId}`];
    const port = node.paths.port;
    assertEquals(service.profiles, ["cluster"]);
    assertEquals(service.image, kafka.image);
    assertEquals(service.ports, [`127.0.0.1:${port}:${port}`]);
    assertTrue(
      service.environment.KAFKA_ADVERTISED_LISTENERS.includes(`PLAINTEXT_HOST://localhost:${port}`),
    );
    assertEquals(
      service.environment.KAFKA_CONTROLLER_QUORUM_VOTERS,
      "1@kafka-1:9093,2@kafka-2:9093,3@kafka-3:9093",
    );
    const properties = serverProperties(node.paths, undefined, nodeSettings(cluster, node));
    for (const line of properties.trim().split("\n")) {
      const [key, value] = line.split("=", 2);
      // Inside Docker the nodes also need a listener the other containers reach them on.
      if (MACHINE_SPECIFIC.has(key) || key === "listener.security.protocol.map") continue;
      const envName = `KAFKA_${key.toUpperCase().replaceAll(".", "_")}`;
      assertEquals(String(service.environment[envName]), value, `kafka-${node.nodeId} ${envName}`);
    }
  }
  assertEquals(kafka.profiles, undefined, "`docker compose up -d` still starts the single broker");
});
