/**
 * The embedded broker's state folder remembers which port its running broker
 * listens on: status reports that address, and a start on another port is one
 * clear refusal instead of a 90 s wait for a broker that will never answer.
 */
import { brokerStatus, startBroker } from "../lib/broker.ts";
import { assertEquals, assertRejects } from "./assert.ts";

Deno.test("a broker already running from this folder on another port: status shows it, start refuses", async () => {
  const dataDir = await Deno.makeTempDir({ prefix: "lab-broker-" });
  try {
    // A "running broker": a live pid (this test's own) and its server.properties.
    await Deno.writeTextFile(`${dataDir}/broker.pid`, `${Deno.pid}\n`);
    await Deno.writeTextFile(
      `${dataDir}/server.properties`,
      "advertised.listeners=PLAINTEXT://127.0.0.1:1\n",
    );
    const status = await brokerStatus({ dataDir, port: 2 });
    assertEquals([status.address, status.pid], ["127.0.0.1:1", Deno.pid]);
    await assertRejects(
      () => startBroker({ dataDir, port: 2 }),
      /^LabError: the lab's broker already runs on 127\.0\.0\.1:1 \(pid \d+, data in .*\), not on 127\.0\.0\.1:2: use that port, stop it first/,
    );
  } finally {
    await Deno.remove(dataDir, { recursive: true });
  }
});
