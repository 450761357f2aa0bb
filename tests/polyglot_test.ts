/**
 * Polyglot groups: the seed's Python consumer (confluent-kafka) and a
 * TypeScript member in one group, with Kafka's standard assignors, each side
 * as the group's leader; and mismatched assignors refused with one explained
 * line, not a hang.
 */
import { until } from "../lib/wait.ts";
import { ensureJupyter } from "../lib/jupyter.ts";
import { lastAssignment, messagesIn, spawnPythonMember } from "../lib/polyglot.ts";
import { type MemberProcess, spawnMember } from "../lib/processes.ts";
import { produceOrders } from "../lib/producer.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName } from "./harness.ts";

const CONSUMER = new URL("../scripts/consumer.ts", import.meta.url).pathname;

// confluent-kafka is in jupyter/requirements.txt; this installs it when a run has not yet.
await ensureJupyter("requirements.txt");

const EXPECTED = {
  // Both leaders sort members by member id, which starts with the client id:
  // "python-py-…" (Python's) before "ts-…" (TypeScript's).
  range: { ts: [2], py: [0, 1] },
  roundrobin: { ts: [1], py: [0, 2] },
} as const;

for (const assignor of ["range", "roundrobin"] as const) {
  for (const leader of ["python", "typescript"] as const) {
    Deno.test(`python + typescript share a group with ${assignor}, ${leader} leading`, async () => {
      const brokers = await testBrokers();
      const topic = await freshTopic("polyglot");
      const groupId = uniqueName("billing-group");
      let ts: MemberProcess | undefined;
      const py = {
        started: false,
        member: undefined as ReturnType<typeof spawnPythonMember> | undefined,
      };
      const startPython = async () => {
        py.member = spawnPythonMember({ groupId, name: "Py", brokers, topic, assignor });
        py.started = true;
        assertTrue(
          await until(() => lastAssignment(py.member!.lines) !== undefined, 20_000),
          `Python joined: ${py.member.lines.join(" | ")}`,
        );
      };
      const startTs = async () => {
        ts = await spawnMember({
          groupId,
          name: "TS",
          brokers,
          topic,
          extraArgs: ["--assignor", assignor],
        });
      };
      try {
        if (leader === "python") {
          await startPython();
          await startTs();
        } else {
          await startTs();
          await startPython();
        }
        const split = () => ({
          ts: lastAssignment(ts!.lines),
          py: lastAssignment(py.member!.lines),
        });
        assertTrue(
          await until(() => {
            const s = split();
            return (s.ts?.length ?? 0) > 0 && (s.py?.length ?? 0) > 0 &&
              s.ts!.length + s.py!.length === 3;
          }, 20_000),
          `both own partitions: ${JSON.stringify(split())}`,
        );
        assertEquals(split(), EXPECTED[assignor], `Kafka's ${assignor} split`);
        const assigned = (await ts!.events()).filter((e) => e.type === "assigned").at(-1);
        assertEquals(
          assigned?.type === "assigned" && assigned.isLeader,
          leader === "typescript",
          "the member that joined first leads",
        );

        const sent = await produceOrders({ brokers, topic, count: 12, intervalMs: 0 });
        const consumed = () => [...messagesIn(ts!.lines), ...messagesIn(py.member!.lines)];
        assertTrue(await until(() => consumed().length >= 12, 20_000), "all consumed");
        await new Promise((r) => setTimeout(r, 500)); // room for a stray duplicate
        assertEquals(
          consumed().map((m) => m.orderId).sort(),
          sent.map((s) => s.order.order_id).sort(),
          "every message exactly once",
        );
        const byTs = new Set(messagesIn(ts!.lines).map((m) => m.partition));
        const byPy = new Set(messagesIn(py.member!.lines).map((m) => m.partition));
        assertEquals([...byTs].filter((p) => byPy.has(p)), [], "no partition read by both");
      } finally {
        await Promise.all([ts?.stop(), py.member?.stop()]);
      }
    });
  }
}

Deno.test("mismatched assignors: the TypeScript member says why in one line and exits 1", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic("polyglot");
  const groupId = uniqueName("billing-group");
  const py = spawnPythonMember({ groupId, name: "Py", brokers, topic, assignor: "range" });
  try {
    assertTrue(await until(() => lastAssignment(py.lines) !== undefined, 20_000), "Python joined");
    const out = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        CONSUMER,
        "--group",
        groupId,
        "--name",
        "TS",
        "--topic",
        topic,
        "--brokers",
        brokers.join(","),
      ], // default assignor: kafkajs's RoundRobinAssigner
      stdin: "null",
      env: { NO_COLOR: "1" },
      signal: AbortSignal.timeout(30_000),
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assertEquals(out.code, 1, stderr);
    assertEquals(stderr.split("\n").length, 1, "one line");
    assertMatch(
      stderr,
      /^error: TS cannot join .*INCONSISTENT_GROUP_PROTOCOL.*'range'.*--assignor range$/,
    );
  } finally {
    await py.stop();
  }
});

Deno.test("mismatched assignors: the Python member says why and exits 1", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic("polyglot");
  const groupId = uniqueName("billing-group");
  const ts = await spawnMember({ groupId, name: "TS", brokers, topic });
  try {
    const py = spawnPythonMember({ groupId, name: "Py", brokers, topic, assignor: "roundrobin" });
    const code = await Promise.race([
      py.exited,
      new Promise<number>((r) => setTimeout(() => r(-1), 30_000)),
    ]);
    if (code === -1) await py.stop();
    assertEquals(code, 1, py.lines.join(" | "));
    assertMatch(py.lines.at(-1) ?? "", /^error: Py cannot consume .*INCONSISTENT_GROUP_PROTOCOL/);
  } finally {
    await ts.stop();
  }
});
