/**
 * Polyglot groups: the seed's consumer in Python (confluent-kafka) and in Java
 * (kafka-clients), each with a TypeScript member in one group, with Kafka's
 * standard assignors, each side as the group's leader; mismatched assignors
 * refused with one explained line, not a hang; a bad flag or a broker that is
 * down, one line each; and with every client's defaults, all three languages
 * in one group, and Kafka's own console consumer beside lab members.
 */
import { until } from "../lib/platform/wait.ts";
import { ensureJupyter } from "../lib/platform/jupyter.ts";
import {
  javaMemberLauncher,
  lastAssignment,
  messagesIn,
  type PolyglotMember,
  TWINS,
} from "../lib/processes/polyglot.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { assertEquals, assertMatch, assertRejects, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";
import { type ChildHandle, projectPath, spawnProcess } from "../lib/platform/runtime.ts";
import { brokerPaths, findJava, javaArgs } from "../lib/kafka/broker.ts";
import { allPartitionsOwned, type GroupSnapshot, waitForGroup } from "../lib/inspect/groups.ts";

const CONSUMER = projectPath("scripts/consumer.ts");

// confluent-kafka is in jupyter/requirements.txt; this installs it when a run has not yet.
await ensureJupyter("requirements.txt");

/** The names the seed's consumer gets here in each language (client ids python-py, java-java). */
const LANGUAGES = {
  python: { name: "Py" },
  java: { name: "Java" },
} as const;
type Language = keyof typeof LANGUAGES;

// Every leader sorts members by member id, which starts with the client id:
// "python-py-…" and "java-java-…" both sort before "ts-…" (TypeScript's), so the
// other language's member comes first whichever it is.
const EXPECTED = {
  range: { ts: [2], other: [0, 1] },
  roundrobin: { ts: [1], other: [0, 2] },
} as const;

/** Resolves with the member's exit code, or -1 if it still ran after `ms` (it is then stopped). */
async function exitWithin(member: PolyglotMember, ms: number): Promise<number> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<number>((r) => timer = setTimeout(() => r(-1), ms));
  const code = await Promise.race([member.exited, timeout]).finally(() => clearTimeout(timer));
  if (code === -1) await member.stop();
  return code;
}

for (const language of ["python", "java"] as const) {
  for (const assignor of ["range", "roundrobin"] as const) {
    for (const leader of [language, "typescript"] as const) {
      Deno.test(
        `${language} + typescript share a group with ${assignor}, ${leader} leading`,
        async () => {
          const brokers = await testBrokers();
          const topic = await freshTopic("polyglot");
          const groupId = uniqueName("billing-group");
          let ts: MemberProcess | undefined;
          let other: PolyglotMember | undefined;
          const startOther = async () => {
            other = await TWINS[language].spawn({
              groupId,
              name: LANGUAGES[language].name,
              brokers,
              topic,
              assignor,
            });
            assertTrue(
              await until(() => lastAssignment(other!.lines) !== undefined, 30_000),
              `${language} joined: ${other.lines.join(" | ")}`,
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
            if (leader === language) {
              await startOther();
              await startTs();
            } else {
              await startTs();
              await startOther();
            }
            const split = () => ({
              ts: lastAssignment(ts!.lines),
              other: lastAssignment(other!.lines),
            });
            assertTrue(
              await until(() => {
                const s = split();
                return (s.ts?.length ?? 0) > 0 && (s.other?.length ?? 0) > 0 &&
                  s.ts!.length + s.other!.length === 3;
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
            const consumed = () => [...messagesIn(ts!.lines), ...messagesIn(other!.lines)];
            assertTrue(await until(() => consumed().length >= 12, 20_000), "all consumed");
            await new Promise((r) => setTimeout(r, 500)); // room for a stray duplicate
            assertEquals(
              consumed().map((m) => m.orderId).sort(),
              sent.map((s) => s.order.order_id).sort(),
              "every message exactly once",
            );
            const byTs = new Set(messagesIn(ts!.lines).map((m) => m.partition));
            const byOther = new Set(messagesIn(other!.lines).map((m) => m.partition));
            assertEquals([...byTs].filter((p) => byOther.has(p)), [], "no partition read by both");
          } finally {
            await Promise.all([ts?.stop(), other?.stop()]);
          }
        },
      );
    }
  }

  Deno.test(
    `mismatched assignors: a TypeScript member with --assignor kafkajs joining a ${language} group says why in one line and exits 1`,
    async () => {
      const brokers = await testBrokers();
      const topic = await freshTopic("polyglot");
      const groupId = uniqueName("billing-group");
      // Its client's default assignors: the group uses range.
      const other = await TWINS[language].spawn({
        groupId,
        name: LANGUAGES[language].name,
        brokers,
        topic,
      });
      try {
        assertTrue(
          await until(() => lastAssignment(other.lines) !== undefined, 30_000),
          `${language} joined: ${other.lines.join(" | ")}`,
        );
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
            "--assignor",
            "kafkajs",
          ],
          stdin: "null",
          env: { NO_COLOR: "1" },
          signal: AbortSignal.timeout(30_000),
        }).output();
        const stderr = new TextDecoder().decode(out.stderr).trim();
        assertEquals(out.code, 1, stderr);
        assertEquals(stderr.split("\n").length, 1, "one line");
        assertMatch(
          stderr,
          /^error: TS cannot join .*INCONSISTENT_GROUP_PROTOCOL.*'range'.*'RoundRobinAssigner' \(--assignor kafkajs\).*; start this member without --assignor/,
        );
      } finally {
        await other.stop();
      }
    },
  );

  Deno.test(`mismatched assignors: a default ${language} member joining lab members with --assignor kafkajs says why and exits 1`, async () => {
    const brokers = await testBrokers();
    const topic = await freshTopic("polyglot");
    const groupId = uniqueName("billing-group");
    const ts = await spawnMember({
      groupId,
      name: "TS",
      brokers,
      topic,
      extraArgs: ["--assignor", "kafkajs"],
    });
    try {
      const name = LANGUAGES[language].name;
      const other = await TWINS[language].spawn({ groupId, name, brokers, topic });
      const code = await exitWithin(other, 30_000);
      assertEquals(code, 1, other.lines.join(" | "));
      // Besides its start line, one line: the explanation (no log lines, no stack trace).
      const said = other.lines.filter((l) => !l.startsWith(`${name} started `));
      assertEquals(said.length, 1, other.lines.join(" | "));
      assertMatch(
        said[0],
        new RegExp(`^error: ${name} cannot consume .*INCONSISTENT_GROUP_PROTOCOL`),
      );
      assertMatch(said[0], /a lab member with --assignor kafkajs offers only kafkajs's own\)$/);
    } finally {
      await ts.stop();
    }
  });
}

Deno.test("the python and java members: a bad flag, a broker that is down: one line each, no hang", async () => {
  /** Runs the twin until it exits (30 s at most) and returns its exit code and what it said. */
  const run = async (language: Language, brokers: string[], extraArgs: string[] = []) => {
    const name = LANGUAGES[language].name;
    const member = await TWINS[language].spawn({
      groupId: "billing-group",
      name,
      brokers,
      extraArgs,
    });
    const code = await exitWithin(member, 30_000);
    return { code, said: member.lines.join("\n") };
  };
  // Both languages at once: the broker that is down takes each its 10 s metadata wait.
  await Promise.all((["python", "java"] as const).map(async (language) => {
    const badFlag = await run(language, await testBrokers(), ["--bogus"]);
    assertEquals(badFlag.code, 2, badFlag.said);
    assertMatch(
      badFlag.said,
      /^error: (unknown flag|unrecognized arguments:) --bogus \(see: .*--help\)$/,
    );
    const down = await run(language, ["127.0.0.1:1"]);
    assertEquals(down.code, 1, down.said);
    assertMatch(
      down.said,
      new RegExp(
        `^error: ${LANGUAGES[language].name} cannot consume from billing-group: ` +
          "cannot reach Kafka at 127\\.0\\.0\\.1:1 \\(no answer in 10 s\\)$",
      ),
    );
  }));
});

/** Waits until `groupId` is Stable with `members` members owning all 3 partitions of `topic`. */
function settled(groupId: string, topic: string, members: number): Promise<GroupSnapshot> {
  return withAdmin(async (admin) => {
    const { ok, snapshot } = await waitForGroup(
      admin,
      groupId,
      (s) => s.members.length === members && allPartitionsOwned(s, topic, 3),
      30_000,
    );
    assertTrue(ok, `${groupId} settled with ${members} members: ${JSON.stringify(snapshot)}`);
    return snapshot;
  });
}

/** Each partition of `topic` and the client id of its owner. */
const owners = (snapshot: GroupSnapshot, topic: string) =>
  Object.fromEntries(
    snapshot.members.flatMap((m) => (m.assignment[topic] ?? []).map((p) => [p, m.clientId])),
  );

Deno.test("python, java and typescript members, each with its client's defaults, share one group: range", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic("polyglot");
  const groupId = uniqueName("billing-group");
  // No assignor anywhere: the lab's default, librdkafka's and kafka-clients' own.
  const options = { groupId, brokers, topic };
  let ts: MemberProcess | undefined;
  const others: Partial<Record<Language, PolyglotMember>> = {};
  try {
    // All three start at once (spawning resolves as soon as the process runs, the TS
    // member's once it is assigned); whoever joins first leads, the split is the same.
    others.python = await TWINS.python.spawn({ ...options, name: LANGUAGES.python.name });
    others.java = await TWINS.java.spawn({ ...options, name: LANGUAGES.java.name });
    ts = await spawnMember({ ...options, name: "TS" });
    const split = () => ({
      java: lastAssignment(others.java!.lines),
      python: lastAssignment(others.python!.lines),
      ts: lastAssignment(ts!.lines),
    });
    assertTrue(
      await until(() => {
        const owned = Object.values(split());
        return owned.every((p) => p?.length === 1) &&
          new Set(owned.flatMap((p) => p!)).size === 3;
      }, 30_000),
      `each owns one partition: ${JSON.stringify(split())} ${
        [...others.python!.lines, ...others.java!.lines, ...ts!.lines].join(" | ")
      }`,
    );
    const group = await settled(groupId, topic, 3);
    // The one assignor all three offer by default (Java: range, cooperative-sticky).
    assertEquals(group.protocol, "range", "the broker picked range");
    // Members sorted by id: "java-java-…", "python-py-…", "ts-…"; range cuts 0 | 1 | 2.
    assertEquals(split(), { java: [0], python: [1], ts: [2] }, "Kafka's range split");
    assertEquals(
      owners(group, topic),
      { 0: "java-java", 1: "python-py", 2: "ts" },
      "the coordinator agrees",
    );

    const sent = await produceOrders({ brokers, topic, count: 15, intervalMs: 0 });
    const byMember = () => ({
      java: messagesIn(others.java!.lines),
      python: messagesIn(others.python!.lines),
      ts: messagesIn(ts!.lines),
    });
    const consumed = () => Object.values(byMember()).flat();
    assertTrue(await until(() => consumed().length >= 15, 20_000), "all consumed");
    await new Promise((r) => setTimeout(r, 500)); // room for a stray duplicate
    assertEquals(
      consumed().map((m) => m.orderId).sort(),
      sent.map((s) => s.order.order_id).sort(),
      "every message exactly once",
    );
    for (const [member, messages] of Object.entries(byMember())) {
      const owned = split()[member as keyof ReturnType<typeof split>]!;
      assertTrue(
        messages.every((m) => m.partition === owned[0]),
        `${member} read only partition ${owned[0]}`,
      );
    }
    assertEquals((await settled(groupId, topic, 3)).state, "Stable", "still stable");
  } finally {
    await Promise.all([ts?.stop(), others.python?.stop(), others.java?.stop()]);
  }
});

Deno.test("Kafka's own console consumer, with its defaults, joins a group of default lab members", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic("polyglot");
  const groupId = uniqueName("billing-group");
  const options = { groupId, brokers, topic };
  const members: MemberProcess[] = [];
  const printed: string[] = [];
  let consoleConsumer: ChildHandle | undefined;
  try {
    members.push(await spawnMember({ ...options, name: "TS 1" }));
    members.push(await spawnMember({ ...options, name: "TS 2" }));
    // kafka-console-consumer.sh: only --from-beginning, as the seed's auto.offset.reset.
    consoleConsumer = spawnProcess(
      await findJava(),
      javaArgs(brokerPaths(), "org.apache.kafka.tools.consumer.ConsoleConsumer", [
        "--bootstrap-server",
        brokers.join(","),
        "--topic",
        topic,
        "--group",
        groupId,
        "--from-beginning",
      ]),
      { onLine: (line) => printed.push(line) },
    );
    const group = await settled(groupId, topic, 3);
    assertEquals(group.protocol, "range", "the broker picked range");
    assertEquals(Object.keys(owners(group, topic)).length, 3, "each partition has one owner");

    const sent = await produceOrders({ brokers, topic, count: 15, intervalMs: 0 });
    const orderIds = () => [
      ...members.flatMap((m) => messagesIn(m.lines).map((o) => o.orderId)),
      ...printed.filter((l) => l.startsWith("{")).map((l) => String(JSON.parse(l).order_id)),
    ];
    assertTrue(await until(() => orderIds().length >= 15, 20_000), "all consumed");
    await new Promise((r) => setTimeout(r, 500)); // room for a stray duplicate
    assertEquals(
      orderIds().sort(),
      sent.map((s) => s.order.order_id).sort(),
      `every message exactly once: ${printed.join(" | ")}`,
    );
    assertTrue(!printed.some((l) => /Exception|ERROR/.test(l)), printed.join(" | "));
  } finally {
    consoleConsumer?.kill("SIGTERM");
    await Promise.all([consoleConsumer?.exited, ...members.map((m) => m.stop())]);
  }
});

Deno.test("a Java member is compiled once per version of its source; one that does not compile is one line", async () => {
  const first = await javaMemberLauncher();
  const again = await javaMemberLauncher();
  assertEquals(again.args, first.args, "the same compiled classes");
  assertEquals(first.args.at(-1), "Consumer");
  const dir = await Deno.makeTempDir({ prefix: "lab-java-" });
  try {
    const broken = `${dir}/Broken.java`;
    await Deno.writeTextFile(broken, "public class Broken { void f() { int x = ; } }\n");
    await assertRejects(() => javaMemberLauncher(broken), (error: Error) => {
      assertMatch(
        error.message,
        new RegExp(`^${broken} does not compile: .*Broken\\.java:1: error`),
      );
      assertEquals(error.message.split("\n").length, 1);
      return true;
    });
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});
