/**
 * What each lesson must show, checked the same way whether it ran as a
 * notebook (`jupyter nbconvert --execute` on the Deno kernel) or as a script
 * in a terminal (`deno run -A notebooks/NN-name.ts`, `bun ...`): one table of
 * expectations for both, read from the lesson's text output. Drawings (HTML,
 * SVG) exist only in the notebook.
 *
 * @module
 */
import type { ExecutedNotebook } from "../lib/platform/jupyter.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { runScript, type ScriptRun, testBrokers } from "./harness.ts";
import { sourceRegion } from "../lib/lessons/lessons.ts";
import { projectPath, readTextFileSync } from "../lib/platform/runtime.ts";

/** What a lesson showed: its text, and in a notebook its HTML/SVG outputs. */
export interface LessonRun {
  /** The file that ran. */
  path: string;
  /** Every text output in order (a notebook's text/plain forms, a script's stdout). */
  text: string;
  /** HTML and SVG outputs: a notebook's only; undefined for a script. */
  drawings?: string[];
}

/**
 * The {@linkcode LessonRun} of an executed notebook.
 *
 * @example
 * ```ts
 * notebookRun(await executeNotebook("notebooks/01-what-is-a-consumer-group.ipynb"));
 * ```
 */
export function notebookRun(nb: ExecutedNotebook): LessonRun {
  const outputs = nb.cells.flatMap((c) => c.outputs);
  return {
    path: nb.path,
    text: outputs.map((o) => o.text).join("\n"),
    drawings: outputs.map((o) => `${o.html ?? ""}${o.svg ?? ""}`).filter((d) => d !== ""),
  };
}

/**
 * Runs a lesson file top to bottom in a terminal against the test broker,
 * with `runner` (this Deno by default, `[bun]` for Bun), and checks that it
 * ended by itself with exit code 0 and nothing on stderr.
 *
 * @example
 * ```ts
 * lessonChecks["01-what-is-a-consumer-group"](await runLessonScript("01-what-is-a-consumer-group"));
 * ```
 */
export async function runLessonScript(lesson: string, runner?: string[]): Promise<LessonRun> {
  const brokers = (await testBrokers()).join(",");
  const run: ScriptRun = await runScript(
    `../notebooks/${lesson}.ts`,
    [],
    { KAFKA_BROKERS: brokers },
    runner,
  );
  assertEquals(run.code, 0, `${lesson}.ts: ${run.stdout}\n${run.stderr}`);
  assertEquals(run.stderr, "", `${lesson}.ts printed on stderr`);
  console.log(`${lesson}.ts: ${(run.ms / 1000).toFixed(1)} s`);
  return { path: `notebooks/${lesson}.ts`, text: run.stdout };
}

/** The text from the line holding `marker` on (it must be there). */
function from(run: LessonRun, marker: string): string {
  const at = run.text.indexOf(marker);
  assertTrue(at >= 0, `${run.path} does not show ${marker}`);
  return run.text.slice(run.text.lastIndexOf("\n", at) + 1);
}

/**
 * The rows of each table in `text` whose header line starts with `header`,
 * cells split at runs of 2+ spaces; a table ends at the first line that does
 * not have as many cells as its header.
 */
function tables(text: string, header: string): string[][][] {
  const lines = text.split("\n");
  const cells = (line: string) => line.trim().split(/\s{2,}/);
  return lines.flatMap((line, i) => {
    if (!line.startsWith(header)) return [];
    const width = cells(line).length;
    const end = lines.findIndex((l, j) => j > i && cells(l).length !== width);
    return [lines.slice(i + 1, end < 0 ? undefined : end).map(cells)];
  });
}

/** The first table with `header` after `marker`. */
function tableAfter(run: LessonRun, marker: string, header: string): string[][] {
  const [table] = tables(from(run, marker), header);
  assertTrue(table, `${run.path} shows no ${header} table after ${marker}`);
  return table;
}

/** Rows of the MEMBER / PARTITIONS / MESSAGES table of the report starting with `marker`. */
function memberRows(run: LessonRun, marker: string) {
  return tableAfter(run, marker, "MEMBER").map(([member, partitions, messages]) => ({
    member,
    partitions,
    messages: Number(messages),
  }));
}

/** How many `Produced: {...} -> partition N @ offset M` lines the producer cell printed. */
function producedLines(run: LessonRun): number {
  const produced =
    /^Produced: \{"order_id":"\d+","amount":\d+\} -> partition [0-2] @ offset \d+$/gm;
  return run.text.match(produced)?.length ?? 0;
}

/**
 * The partitions the in-kernel member `name` shows it owns last, in its own
 * output: its live table's title in a notebook, its lines in a terminal.
 */
function ownPartitions(run: LessonRun, name: string, groupId: string): string {
  const owned = run.drawings
    ? new RegExp(`^${name} \\(${groupId}, partitions ([\\d, ]+)\\): \\d+ messages$`, "m")
      .exec(run.text)
    : [...run.text.matchAll(new RegExp(`^${name} assigned: partitions? ([\\d, ]+) \\[`, "gm"))]
      .at(-1);
  assertTrue(owned, `${run.path} does not show ${name}'s partitions`);
  return owned[1];
}

/**
 * The seed's example as lessons 1 and 6 run it: the producer cell's 10 lines,
 * Consumer 1 (in-kernel: a live table in a notebook, lines in a terminal)
 * naming the partitions it owns, and the split of the two members agreeing.
 */
function seedExample(run: LessonRun): void {
  assertEquals(producedLines(run), 10, "10 produced lines");
  const owned = ownPartitions(run, "Consumer 1", "billing-group");
  const rows = memberRows(run, "Group billing-group: 2 members");
  assertEquals(rows[0].partitions, owned, "Consumer 1's own output and the split agree");
  assertEquals(rows.map((r) => r.member), ["Consumer 1", "Consumer 2"]);
  assertTrue(rows.every((r) => r.partitions !== "none (idle)"), "both members own partitions");
  assertEquals(rows.flatMap((r) => r.partitions.split(", ")).sort(), ["0", "1", "2"]);
  assertEquals(rows.reduce((n, r) => n + r.messages, 0), 10);
  assertMatch(
    from(run, "Group billing-group: 2 members"),
    /Verdict: OK: all 10 messages consumed, none duplicated/,
  );
  if (run.drawings) {
    assertTrue(run.drawings.some((d) => d.includes("<svg")), "the diagram is drawn as SVG");
    // Consumer 1's messages stay in its own table: no "got message" line in any cell.
    assertEquals(run.text.match(/got message/g), null, "Consumer 1's lines leaked into a cell");
  }
}

/**
 * Lessons that kill and restart nodes of the lab's 3-node cluster: they run
 * in the cluster run of `deno task test` (tests/cluster_lesson9_test.ts), not
 * in notebooks_test.ts and lesson_scripts_test.ts, whose broker is a single one.
 */
export const CLUSTER_LESSONS = ["09-when-the-coordinator-dies"];

/**
 * What lesson 9 shows of one node killed while orders flowed (`role`: the
 * coordinator, or a partition leader): the node, the partitions consumed
 * again, the members' own lines, and every acknowledged order consumed with
 * the committed offsets intact; then the node back.
 */
function nodeLoss(text: string, role: "coordinator" | "leader"): void {
  const killed = role === "coordinator"
    ? /^Killed node (\d) \(kill -9, pid \d+\), the coordinator of billing-group,/m.exec(text)
    : /^Killed node (\d) \(kill -9, pid \d+\), the leader of order-events partition\(s\) [\d, ]+ \(not the coordinator\)/m
      .exec(text);
  assertTrue(killed, `lesson 9 killed the ${role}`);
  const node = Number(killed[1]);
  const report = text.slice(killed.index);
  // A member that stalled (kafkajs 2.2.4, after a broker dies) is named, restarted, and the
  // checks below still hold: the group consumed again, nothing lost, commits intact.
  const stalled = /^(.*) reported nothing after the kill .*$/m.exec(report);
  if (stalled) assertMatch(stalled[0], /the lab killed it and started it again/);
  const stalledNames = stalled?.[1].split(", ") ?? [];
  if (role === "coordinator") {
    const moved = /^billing-group's new coordinator: node (\d) /m.exec(report);
    assertTrue(moved && Number(moved[1]) !== node, `a new coordinator, not node ${node}`);
    // Each member says itself that its coordinator moved (kafkajs looked it up again).
    const live = ["Consumer 1", "Consumer 2", "Consumer 3"].filter((m) =>
      !stalledNames.includes(m)
    );
    for (const member of live) {
      assertMatch(
        report,
        new RegExp(`${member}\\s+group coordinator \\S+ -> \\S+ \\(after \\d+ FindCoordinator`),
      );
    }
  } else {
    assertMatch(report, /^billing-group's coordinator stayed node \d\.$/m);
  }
  const again = tables(report, "PARTITION  LEADER BEFORE")[0];
  assertEquals(again.length, 3, again.join("\n"));
  for (const [partition, before, after, consumed] of again) {
    assertTrue(/^[\d.]+ s$/.test(consumed), `partition ${partition} consumed again: ${consumed}`);
    if (before === `node ${node}`) assertTrue(after !== before, `partition ${partition} moved`);
  }
  // kafkajs's own errors are shown, not required: which ones a member logs (a refused
  // connection to the dead node, REBALANCE_IN_PROGRESS from the new coordinator) depends on
  // timing; each member's own "group coordinator ... ->" line above is what shows it moved.
  assertMatch(report, /^MEMBER +KAFKAJS ERROR/m);
  assertMatch(report, /^REBALANCE TIMELINE/m);
  const lesson9 = { path: "notebooks/09-when-the-coordinator-dies", text: report };
  const [[produced, consumed, lost]] = tableAfter(lesson9, "PRODUCED", "PRODUCED");
  assertTrue(Number(produced) >= 20, `orders produced while node ${node} died: ${produced}`);
  assertEquals([consumed, lost], [produced, "0"], "every acknowledged order consumed");
  const commits = tableAfter(lesson9, "committed offsets (describe)", "PARTITION");
  for (const [partition, was, now, , lag] of commits) {
    assertTrue(
      was === "-" || Number(now) >= Number(was),
      `partition ${partition}: ${was} -> ${now}`,
    );
    assertEquals(lag, "0", `partition ${partition} caught up`);
  }
  assertMatch(report, /^Committed offsets intact/m);
  assertMatch(report, new RegExp(`^Node ${node} is back and in the ISR of every partition`, "m"));
}

/** Checks on what each lesson shows, by lesson name (`NN-name`, no extension). */
export const lessonChecks: Record<string, (run: LessonRun) => void> = {
  "01-what-is-a-consumer-group": seedExample,
  "02-independent-groups": (run) => {
    assertEquals(producedLines(run), 10, "10 produced lines");
    // Alone in inventory-group, the in-kernel Inventory Service owns every partition.
    assertEquals(ownPartitions(run, "Inventory Service", "inventory-group"), "0, 1, 2");
    const groups = tableAfter(run, "EVERY ORDER?", "GROUP");
    for (const group of ["inventory-group", "billing-group", "notification-group"]) {
      const row = groups.find(([name]) => name === group);
      assertEquals(row?.slice(2), ["10", "yes"], `${group} got every order`);
    }
    const workers = memberRows(run, "Group billing-group: 3 members");
    assertEquals(workers.map((r) => r.partitions).sort(), ["0", "1", "2"]);
  },
  "03-scaling-and-the-idle-member": (run) => {
    const runs = [1, 2, 3, 4].map((k) =>
      memberRows(run, `Group billing-group: ${k} member${k === 1 ? "" : "s"} on`)
    );
    assertEquals(runs[0][0].partitions, "0, 1, 2");
    assertEquals(runs[2].map((r) => r.partitions).sort(), ["0", "1", "2"]);
    const idle = runs[3].filter((r) => r.partitions === "none (idle)");
    assertEquals(idle.length, 1, "exactly one idle member with 4 members");
    assertEquals(idle[0].messages, 0, "the idle member processed nothing");
    for (const members of runs) assertEquals(members.reduce((n, r) => n + r.messages, 0), 12);
    assertEquals(producedLines(run), 12, "12 produced lines");
    // Consumer 1's own output shows the partition it kept with four members.
    const consumer1 = runs[3].find((r) => r.member === "Consumer 1");
    assertEquals(ownPartitions(run, "Consumer 1", "billing-group"), consumer1?.partitions);
    from(run, "Stopped 3 member process(es).");
  },
  "04-rebalancing-and-fault-tolerance": (run) => {
    const lineWith = (marker: string) => from(run, marker).split("\n")[0];
    const seconds = (line: string) => Number(/after ([\d.]+) s/.exec(line)![1]);
    assertEquals(producedLines(run), 10, "10 produced lines");
    const left = lineWith("Consumer 2 left the group");
    assertMatch(left, /\b1: Consumer 2 → Consumer [13]\b.* moved\./);
    assertMatch(left, /The group was Stable with every partition owned/);
    // The diagrams name members as the cells do ("Consumer 1"), not by client id.
    if (run.drawings) {
      assertTrue(
        run.drawings.some((d) => /<svg[\s\S]*Consumer 3/.test(d)),
        "SVG names Consumer 3",
      );
    }
    const clientIds = [run.text, ...run.drawings ?? []].filter((t) => /consumer-\d/.test(t));
    assertEquals(clientIds, [], "lesson 4 shows client ids");
    const crashed = lineWith("Consumer 3 was killed (SIGKILL)");
    assertMatch(from(run, "Consumer 3 was killed (SIGKILL)"), /reads from 0, 1, 2/);
    // The member in the notebook, the one left, says so itself.
    assertEquals(ownPartitions(run, "Consumer 1", "billing-group"), "0, 1, 2");
    assertTrue(seconds(left) < 5, `graceful leave took ${seconds(left)} s`);
    assertTrue(
      seconds(crashed) >= 3 && seconds(crashed) < 6 + 6,
      `crash took ${seconds(crashed)} s`,
    );
    from(run, "Stopped 2 member process(es).");
  },
  "05-offsets-lag-and-at-least-once": (run) => {
    // The producer cell's lines, then Consumer 1 (autoCommit false, commitOffsets per
    // message) catching billing-group up: its own output, and nothing processed twice.
    const produced =
      /^Produced: \{"order_id":"\d+","amount":\d+\} -> partition [0-2] @ offset \d+$/gm;
    assertEquals(run.text.match(produced)?.length, 6, "6 produced lines");
    assertMatch(
      run.text,
      run.drawings
        ? /^Consumer 1 \(billing-group, partitions [\d, ]+\): \d+ messages$/m
        : /^Consumer 1 got message: \{"order_id":"\d+"/m,
    );
    if (run.drawings) assertEquals(run.text.match(/got message/g), null, "lines leaked");
    const caughtUp = run.text.indexOf("billing-group caught up");
    assertTrue(caughtUp >= 0, "billing-group caught up");
    assertMatch(from(run, "billing-group caught up"), /^[^\n]*processed twice: 0\./);
    const [before] = tables(run.text.slice(0, caughtUp), "GROUP");
    const [after] = tables(run.text.slice(caughtUp), "GROUP");
    const lagOf = (table: string[][], group: string) =>
      table.filter(([name]) => name === group).map((row) => row[5]);
    assertEquals(lagOf(before, "billing-group").length, 3, "billing-group before catching up");
    assertEquals(lagOf(after, "billing-group"), ["0", "0", "0"], "billing-group has caught up");
    assertEquals(
      lagOf(after, "inventory-group"),
      lagOf(before, "inventory-group"),
      "inventory unchanged",
    );
    // Consumer 2 commits each message too and crashes after its 2nd, before committing it:
    // exactly that message is redelivered, to Consumer 1.
    const crash = from(run, "crashed (exit code 137) after processing the last");
    assertMatch(crash, /^Consumer 2 processed 2 order\(s\)/);
    assertMatch(crash, /Redelivered messages: 1\n/);
    assertMatch(crash, /^\d\s+\d+\s+Consumer 2, then Consumer 1$/m);
    assertMatch(crash, /Missing: 0\./);
    // GROUP TOPIC PARTITION CURRENT-OFFSET LOG-END-OFFSET LAG, partition 0 of each reset.
    const [earliest, latest] = tables(crash, "GROUP").slice(-2).map((t) => t[0].slice(2, 6));
    const [, , earliestEnd] = earliest;
    assertEquals(earliest, ["0", "0", earliestEnd, earliestEnd], "earliest: lag = whole log");
    const [, , latestEnd] = latest;
    assertEquals(latest, ["0", latestEnd, latestEnd, "0"], "latest: lag 0");
  },
  "06-the-seed-in-python-and-typescript": (run) => {
    seedExample(run);
    // Python leads the range group, the lab member the roundrobin group (it joins first there).
    const leaders = { range: "Python consumer", roundrobin: "TypeScript member" };
    for (const assignor of ["range", "roundrobin"] as const) {
      const rows = tableAfter(run, `assignor '${assignor}': 30 new orders`, "MEMBER");
      const shown = rows.map((r) => r.join("  ")).join("\n");
      assertEquals(
        rows.filter((r) => r[2] === `leader (ran ${assignor})`).map(([name]) => name),
        [leaders[assignor]],
        shown,
      );
      const partitions = rows.map((r) => r[3]);
      assertEquals(rows.length, 2, shown);
      assertTrue(partitions.every((p) => /^\d/.test(p)), `both own partitions: ${shown}`);
      assertEquals(partitions.join(", ").split(", ").sort(), ["0", "1", "2"], shown);
      const messages = rows.map((r) => Number(r.at(-1)));
      assertEquals(messages.reduce((n, m) => n + m, 0), 30, shown);
      assertTrue(messages.every((m) => m > 0), `every member consumed orders: ${shown}`);
    }
    assertMatch(from(run, "INCONSISTENT_GROUP_PROTOCOL"), /RoundRobinAssigner/);
    // Each with its client's defaults: the one assignor all three offer is range.
    const marker = "Python, Java and TypeScript with their defaults: 30 new orders";
    const rows = tableAfter(run, marker, "MEMBER").sort((a, b) => a[0].localeCompare(b[0]));
    const shown = rows.map((r) => r.join("  ")).join("\n");
    assertTrue(rows.some((r) => r[2] === "leader (ran range)"), shown);
    // range over the member ids: java-java-consumer-..., python-python-consumer-..., typescript-member-...
    assertEquals(rows.map((r) => [r[0], r[3]]), [
      ["Java consumer", "0"],
      ["Python consumer", "1"],
      ["TypeScript member", "2"],
    ], shown);
    assertEquals(rows.reduce((n, r) => n + Number(r.at(-1)), 0), 30, shown);
    assertTrue(rows.every((r) => Number(r.at(-1)) > 0), `every member consumed orders: ${shown}`);
  },
  "07-the-consumer-protocol": (run) => {
    // Two consumer-protocol members: the broker's uniform assignor gives 2 + 1.
    const first = from(run, "Group protocol-group: type consumer");
    assertMatch(first, /^[^\n]*assignor uniform \(run by the broker\), group epoch \d+/);
    const members = tables(first, "MEMBER")[0];
    assertEquals(members.map((r) => r[0]), ["Consumer 1", "Consumer 2"]);
    assertEquals(members.map((r) => r.at(-1)!.split(", ").length).sort(), [1, 2]);
    // Consumer 3 joins while orders flow: one partition moves to it, the others keep their
    // owner and kept being processed (their orders waited well under a classic rebalance).
    const [joined] = tables(from(run, "Consumer 3 joined while 80 orders"), "PARTITION");
    const moved = joined.filter((r) => r[1] !== r[2]);
    assertEquals(moved.map((r) => r[2]), ["Consumer 3"], joined.join("\n"));
    for (const row of joined.filter((r) => r[1] === r[2])) {
      assertTrue(Number(row[3].split(" ")[0]) < 300, `unmoved partition waited: ${row}`);
    }
    // A classic kafkajs member joins: the group stays a consumer group, the broker assigns it.
    const classic = from(run, "Classic 4 (kafkajs, classic protocol) joined.");
    assertMatch(classic, /^[^\n]*type consumer, Stable, assignor uniform/);
    const withClassic = tables(classic, "MEMBER")[0];
    assertMatch(withClassic.find((r) => r[0] === "Classic 4")?.[1] ?? "", /^classic/);
    assertEquals(withClassic.length, 4, withClassic.join("\n"));
    const left = tables(from(run, "Classic 4 left."), "MEMBER")[0];
    assertEquals(left.map((r) => r[0]), ["Consumer 1", "Consumer 2", "Consumer 3"]);
    assertEquals(left.flatMap((r) => r.at(-1)!.split(", ")).sort(), ["0", "1", "2"]);
    from(run, "Stopped 3 member process(es).");
  },
  "08-share-groups": (run) => {
    // The Java a learner studies, printed from java/ShareConsumer.java itself.
    const java = readTextFileSync(projectPath("java/ShareConsumer.java"));
    for (const region of ["share-config", "share-loop"]) {
      assertTrue(run.text.includes(sourceRegion(java, region)), `${region} shown as in the file`);
    }
    const rows = tableAfter(run, "24 new orders; share group", "MEMBER");
    const shown = rows.map((r) => r.join("  ")).join("\n");
    const share = rows.filter((r) => r[1] === "billing-share-group");
    const classic = rows.filter((r) => r[1] === "billing-classic-group");
    assertEquals([share.length, classic.length], [4, 4], shown);
    assertTrue(
      share.every((r) => /^\d/.test(r[2]) && Number(r[3]) > 0),
      `no idle share member: ${shown}`,
    );
    assertEquals(classic.filter((r) => r[2] === "none (idle)").map((r) => r[3]), ["0"], shown);
    assertEquals(classic.reduce((n, r) => n + Number(r[3]), 0), 24, shown);
    const deliveries = tableAfter(run, "24 new orders; share group", "ORDER");
    assertEquals(deliveries.map((r) => [r[0], r[1], r[3]]), [
      ...[1, 2, 3, 4, 5].map((d) => ["1003", String(d), "release"]),
      ["1004", "1", "reject"],
    ]);
    assertMatch(run.text, /^Accepted 22 of 24 orders, each once;/m);
    const locks = tableAfter(run, "6 orders on locks-", "SHARE 1");
    const seconds = (fate: string, column: number) => {
      const row = locks.find((r) => r[0].startsWith(fate));
      assertEquals(row?.[2], "6 of 6", `${fate}: every record back`);
      return Number(/^([\d.]+) s$/.exec(row![column])![1]);
    };
    const stuck = seconds("stuck", 3);
    assertTrue(stuck > 12 && stuck < 25, `stuck: ${stuck} s, lock 15 s`);
    // Killed: back as soon as Share 2 is up (its JVM's start-up is not the lock).
    const killed = seconds("killed", 3) - seconds("killed", 4);
    assertTrue(killed < 7.5, `killed: back ${killed} s after Share 2 was up`);
    const starts = tableAfter(run, "3 new orders (1100, 1101, 1102)", "GROUP");
    assertEquals(starts.map((r) => r.slice(1)), [
      ["latest (default)", "3", "1100"],
      [
        "earliest",
        starts[1][2],
        "1000",
      ],
    ]);
    assertTrue(Number(starts[1][2]) > 3, "earliest read the records before it too");
    from(run, "Group billing-share-group now has share.auto.offset.reset=earliest.");
  },
  "09-when-the-coordinator-dies": (run) => {
    // The members' and the producer's code, printed from the scripts themselves.
    for (const script of ["consumer", "producer"]) {
      const source = readTextFileSync(projectPath(`scripts/${script}.ts`));
      assertTrue(run.text.includes(sourceRegion(source, script)), `${script} shown as in the file`);
    }
    assertMatch(
      run.text,
      /^billing-group's coordinator is node \d \(127\.0\.0\.1:\d+\): the leader of __consumer_offsets-\d+/m,
    );
    nodeLoss(run.text, "coordinator");
    nodeLoss(from(run, "(not the coordinator)"), "leader");
    from(run, "Stopped 3 member process(es).");
  },
};
