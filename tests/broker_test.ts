/**
 * The embedded broker's state folder: a pid file that only ever names the
 * lab's own broker, one start at a time, cluster ids Kafka's tools accept,
 * start-up errors that name this run's cause and the fix, `broker reset`, and
 * the jar download's progress. Integration tests run real brokers from temp
 * folders on ports 21500-21549, so the lab's own broker may run meanwhile.
 */
import {
  brokerPaths,
  brokerStatus,
  countDownload,
  downloadProgressText,
  downloadQuarter,
  explainStartupFailure,
  newClusterId,
  resetBroker,
  startBroker,
  stopBroker,
} from "../lib/kafka/broker.ts";
import { assertEquals, assertMatch, assertRejects, assertTrue } from "./assert.ts";
import { runScript } from "./harness.ts";
import { processAlive } from "../lib/platform/runtime.ts";

/** A temp state folder, always stopped (if a broker runs from it) and removed afterwards. */
async function withStateDir(port: number, fn: (dataDir: string) => Promise<void>) {
  const dataDir = await Deno.makeTempDir({ prefix: "lab-broker-" });
  try {
    await fn(dataDir);
  } finally {
    await stopBroker({ dataDir, port });
    await Deno.remove(dataDir, { recursive: true });
  }
}

/** A process whose command line looks like `dataDir`'s broker (kafka.Kafka and its properties). */
function fakeBroker(dataDir: string): Deno.ChildProcess {
  return new Deno.Command("sh", {
    args: ["-c", "sleep 60; :", "sh", "kafka.Kafka", `${dataDir}/server.properties`],
  }).spawn();
}

async function timed<T>(fn: () => Promise<T>): Promise<{ value: T; ms: number }> {
  const started = Date.now();
  return { value: await fn(), ms: Date.now() - started };
}

Deno.test("cluster ids are made as Kafka's Uuid.randomUuid(): never '-' first, always 16 bytes", () => {
  for (let i = 0; i < 100_000; i++) {
    const id = newClusterId();
    assertTrue(!id.startsWith("-"), `${id} would be read as an option by kafka-storage`);
    const bytes = atob(id.replaceAll("-", "+").replaceAll("_", "/") + "==");
    assertEquals(bytes.length, 16, id);
    assertEquals(bytes.charCodeAt(6) >> 4, 4, `${id}: a version-4 UUID`);
  }
});

Deno.test("jar download progress: files and MB from mvn's lines, a line per quarter", () => {
  const lines = [
    "[INFO] Downloading from central: https://repo.example/org/apache/kafka/kafka_2.13/4.3.1/kafka_2.13-4.3.1.jar",
    "[INFO] Downloaded from central: https://repo.example/org/apache/kafka/kafka_2.13/4.3.1/kafka_2.13-4.3.1.jar (6.9 MB at 12 MB/s)",
    "[INFO] Downloaded from central: https://repo.example/org/apache/maven/maven-parent/21/maven-parent-21.pom (26 kB at 3.3 MB/s)",
    "[INFO] Downloaded from central: https://repo.example/x/y/1/y-1.pom.sha1 (40 B at 1 kB/s)",
    "[INFO] BUILD SUCCESS",
  ];
  const progress = lines.reduce(countDownload, { files: 0, bytes: 0 });
  assertEquals(progress, { files: 3, bytes: 6_926_040 });
  assertEquals(downloadProgressText(progress), "3 files, 6.9 of ~65 MB");
  assertEquals(downloadProgressText({ files: 1, bytes: 40 }, true), "1 file, 0.0 MB");
  assertEquals([0, 16.3e6, 16.25e6, 40e6, 64e6, 90e6].map(downloadQuarter), [0, 1, 1, 2, 3, 4]);
});

Deno.test("start-up failures are explained from this run's log: busy port, damaged storage", () => {
  const paths = brokerPaths({ port: 21500, dataDir: "/tmp/lab-x" });
  const busy = explainStartupFailure(
    "[2026-12-04 17:17:01,098] ERROR Unable to start acceptor for CONTROLLER (DataPlaneAcceptor)\n" +
      "org.apache.kafka.common.KafkaException: Socket server failed to bind to 127.0.0.1:21501: Address already in use.\n",
    paths,
  );
  assertMatch(busy, /^port 21501 \(the broker's controller port\) is in use by another program/);
  const nodeId = explainStartupFailure(
    "[2026-12-04 17:17:05,748] ERROR Exiting Kafka due to fatal exception (Kafka$)\n" +
      "java.lang.RuntimeException: Error: node ID not found in /tmp/lab-x/data\n",
    paths,
  );
  assertMatch(
    nodeId,
    /^the broker's storage in \/tmp\/lab-x\/data cannot be used \(Kafka says: node ID not found in \/tmp\/lab-x\/data\): `deno task broker reset --data-dir \/tmp\/lab-x` wipes/,
  );
  assertMatch(
    explainStartupFailure("[x] ERROR something else\n", paths),
    /^the Kafka broker exited during start-up: \[x\] ERROR something else \(full log: /,
  );
});

Deno.test("a pid file naming another process: status says stale, stop leaves it alone", async () => {
  await withStateDir(21502, async (dataDir) => {
    const other = new Deno.Command("sleep", { args: ["60"] }).spawn();
    try {
      await Deno.writeTextFile(`${dataDir}/broker.pid`, `${other.pid}\n`);
      const status = await brokerStatus({ dataDir, port: 21502 });
      assertEquals([status.pid, status.stalePid], [undefined, other.pid]);
      const said: string[] = [];
      assertEquals(
        await stopBroker({ dataDir, port: 21502, onProgress: (l) => said.push(l) }),
        false,
      );
      assertMatch(said.join("\n"), new RegExp(`stale pid file: pid ${other.pid} is not the lab's`));
      await new Promise((r) => setTimeout(r, 200));
      assertTrue(processAlive(other.pid), "the unrelated process still runs");
    } finally {
      other.kill("SIGKILL");
      await other.status;
    }
  });
});

Deno.test("a broker already running from this folder on another port: status shows it, start refuses", async () => {
  await withStateDir(2, async (dataDir) => {
    const broker = fakeBroker(dataDir);
    try {
      await Deno.writeTextFile(`${dataDir}/broker.pid`, `${broker.pid}\n`);
      await Deno.writeTextFile(
        `${dataDir}/server.properties`,
        "advertised.listeners=PLAINTEXT://127.0.0.1:1\n",
      );
      const status = await brokerStatus({ dataDir, port: 2 });
      assertEquals([status.address, status.pid], ["127.0.0.1:1", broker.pid]);
      await assertRejects(
        () => startBroker({ dataDir, port: 2 }),
        /^LabError: the lab's broker already runs on 127\.0\.0\.1:1 \(pid \d+, data in .*\), not on 127\.0\.0\.1:2: use that port, stop it first/,
      );
    } finally {
      broker.kill("SIGKILL");
      await broker.status;
      await Deno.remove(`${dataDir}/broker.pid`);
    }
  });
});

Deno.test("a stored cluster id starting with '-' is replaced; damaged storage is refused at once, reset fixes it", async (t) => {
  const port = 21510;
  await withStateDir(port, async (dataDir) => {
    const said: string[] = [];
    const options = { dataDir, port, onProgress: (l: string) => said.push(l) };
    const clusterIdFile = `${dataDir}/cluster-id`;

    await t.step(
      "a stored '-' id, storage not formatted: a new id, and the broker starts",
      async () => {
        await Deno.writeTextFile(clusterIdFile, "-E6qS7-792_WFzAuSC-PBg\n");
        const { started } = await startBroker(options);
        assertEquals(started, true);
        assertMatch(said.join("\n"), /The stored cluster id '-E6qS7-792_WFzAuSC-PBg' is not one/);
        const id = (await Deno.readTextFile(clusterIdFile)).trim();
        assertTrue(!id.startsWith("-"), id);
        assertMatch(
          await Deno.readTextFile(`${dataDir}/data/meta.properties`),
          new RegExp(`cluster.id=${id}`),
        );
        assertEquals(await stopBroker(options), true);
      },
    );

    await t.step("a deleted meta.properties is refused before launch, naming reset", async () => {
      await Deno.remove(`${dataDir}/data/meta.properties`);
      const { value: error, ms } = await timed(() => startBroker(options).catch((e) => e));
      assertMatch(
        String(error),
        /^LabError: the broker's storage in .*\/data cannot be used \(.*meta\.properties is missing\): `deno task broker reset --data-dir /,
      );
      assertTrue(ms < 10_000, `refused after ${ms} ms, not a minute of retries`);
    });

    await t.step(
      "reset says what it deletes, deletes it, refuses while the broker runs",
      async () => {
        said.length = 0;
        const deleted = await resetBroker(options);
        assertEquals(deleted.map((p) => p.slice(dataDir.length)).sort(), [
          "/broker.log",
          "/cluster-id",
          "/data",
          "/server.properties",
        ]);
        assertEquals(said, deleted.map((p) => `Deleting ${p}`));
        assertEquals(await startBroker(options).then((r) => r.started), true);
        await assertRejects(
          () => resetBroker(options),
          /^LabError: the lab's broker runs \(pid \d+\): stop it first/,
        );
        await stopBroker(options);
      },
    );

    await t.step(
      "garbage in meta.properties, or another cluster's storage, is refused",
      async () => {
        const metaFile = `${dataDir}/data/meta.properties`;
        const meta = await Deno.readTextFile(metaFile);
        await Deno.writeTextFile(metaFile, "garbage\n");
        await assertRejects(
          () => startBroker(options),
          /has no node\.id=1 and cluster\.id\): `deno task broker reset/,
        );
        await Deno.writeTextFile(metaFile, meta);
        await Deno.writeTextFile(clusterIdFile, `${newClusterId()}\n`);
        await assertRejects(
          () => startBroker(options),
          /cannot be used \(it belongs to cluster \S+, .*cluster-id says/,
        );
      },
    );
  });
});

Deno.test("a busy controller port is named, from this run's log only, within seconds", async () => {
  const port = 21520;
  await withStateDir(port, async (dataDir) => {
    for (const controllerPort of [21521, 21522]) {
      const listener = Deno.listen({ hostname: "127.0.0.1", port: controllerPort });
      try {
        const { value: error, ms } = await timed(() =>
          startBroker({ dataDir, port, controllerPort }).catch((e) => e)
        );
        assertMatch(
          String(error),
          new RegExp(
            `^LabError: port ${controllerPort} \\(the broker's controller port\\) is in use`,
          ),
        );
        assertTrue(ms < 30_000, `took ${ms} ms`);
        assertEquals(
          (await brokerStatus({ dataDir, port })).stalePid,
          undefined,
          "no pid file left",
        );
      } finally {
        listener.close();
      }
    }
  });
});

Deno.test("two starts at once launch one broker; both succeed", async () => {
  const port = 21530;
  await withStateDir(port, async (dataDir) => {
    const start = () =>
      runScript("broker.ts", ["start", "--port", String(port), "--data-dir", dataDir]);
    const runs = await Promise.all([start(), start()]);
    assertEquals(runs.map((r) => [r.code, r.stderr]), [[0, ""], [0, ""]]);
    assertEquals(
      runs.filter((r) => r.stdout.includes("Kafka is ready")).length,
      1,
      runs.map((r) => r.stdout).join("\n---\n"),
    );
    const ps = await new Deno.Command("ps", { args: ["-eo", "args"] }).output();
    const jvms = new TextDecoder().decode(ps.stdout).split("\n")
      .filter((l) => l.includes("kafka.Kafka") && l.includes(`${dataDir}/server.properties`));
    assertEquals(jvms.length, 1, jvms.join("\n"));
  });
});
