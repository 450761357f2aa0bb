/**
 * The lessons: committed clean, cells short and bounded, and executed
 * top to bottom on the Deno kernel against the real broker, with their
 * outputs checked for what each lesson claims.
 */
import {
  type CellOutput,
  ensureJupyter,
  type ExecutedNotebook,
  executeNotebook,
  jupyterLabArgs,
} from "../lib/jupyter.ts";
import { describeMoves, ownerChanges } from "../lib/lessons.ts";
import type { GroupSnapshot } from "../lib/groups.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { runScript, testBrokers } from "./harness.ts";
import { isFileSync, projectPath } from "../lib/runtime.ts";

const NOTEBOOKS = projectPath("notebooks/");
const files = [...Deno.readDirSync(NOTEBOOKS)]
  .map((e) => e.name)
  .filter((n) => n.endsWith(".ipynb"))
  .sort();

interface RawCell {
  cell_type: string;
  source: string | string[];
  outputs?: unknown[];
  execution_count?: number | null;
  metadata?: Record<string, unknown>;
}

function cellsOf(file: string): RawCell[] {
  return JSON.parse(Deno.readTextFileSync(`${NOTEBOOKS}${file}`)).cells;
}

const sourceOf = (cell: RawCell) => Array.isArray(cell.source) ? cell.source.join("") : cell.source;

/**
 * The rule for notebook cells (README, "Notebooks"): a code cell is short
 * enough to read at once (at most 25 lines) and ends by itself: no loop
 * without an end (`while (true)`, `for (;;)`), no `setInterval`. Kafka code a
 * learner edits belongs in cells; orchestration (spawning processes, waiting,
 * diagrams, verdicts) stays in lib/. Each cell's deadline is enforced when the
 * lessons run (`executeNotebook`'s per-cell timeout).
 */
export function cellProblem(source: string): string | undefined {
  const code = source
    .replace(/\/\/.*$/gm, "")
    .replace(/\/\*[\s\S]*?\*\//g, "")
    .replace(/`(?:\\.|[^`\\])*`|"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'/g, '""');
  if (/\bwhile\s*\(\s*(true|1)\s*\)|\bfor\s*\(\s*;\s*;\s*\)/.test(code)) {
    return "loops without an end";
  }
  if (/\bsetInterval\b/.test(code)) return "starts a timer that never ends (setInterval)";
  const lines = source.split("\n").filter((l) => l.trim() !== "").length;
  if (lines > 25) return `has ${lines} lines (at most 25)`;
  return undefined;
}

Deno.test("the cell rule accepts short bounded code and rejects endless or long cells", () => {
  assertEquals(cellProblem("for (let i = 0; i < 10; i++) await send(i);"), undefined);
  assertEquals(cellProblem('console.log("while (true)")'), undefined);
  assertEquals(cellProblem("while (true) await poll();"), "loops without an end");
  assertEquals(cellProblem("for (;;) {}"), "loops without an end");
  assertEquals(
    cellProblem("setInterval(tick, 100);"),
    "starts a timer that never ends (setInterval)",
  );
  assertEquals(cellProblem("x();\n".repeat(26)), "has 26 lines (at most 25)");
});

Deno.test("notebooks are committed clean: no outputs, no execution counts", () => {
  assertTrue(files.length >= 6, `found ${files.length} notebooks`);
  for (const file of files) {
    cellsOf(file).forEach((cell, i) => {
      if (cell.cell_type !== "code") return;
      assertEquals(cell.outputs ?? [], [], `${file} cell ${i + 1} has outputs`);
      assertEquals(
        cell.execution_count ?? null,
        null,
        `${file} cell ${i + 1} has an execution count`,
      );
      assertEquals(
        cell.metadata?.execution,
        undefined,
        `${file} cell ${i + 1} has timing metadata`,
      );
    });
  }
});

Deno.test("notebook cells are short and end by themselves", () => {
  for (const file of files) {
    cellsOf(file).forEach((cell, i) => {
      if (cell.cell_type !== "code") return;
      const problem = cellProblem(sourceOf(cell));
      assertEquals(problem, undefined, `${file} cell ${i + 1} ${problem}`);
    });
  }
});

Deno.test("lesson 1 tells what Stop and Restart do on this kernel", () => {
  const text = cellsOf("01-what-is-a-consumer-group.ipynb").map(sourceOf).join("\n");
  assertMatch(text, /Do not use Stop \(Kernel > Interrupt\) on this kernel/);
  assertMatch(text, /Kernel > Restart\*\*: the member processes it started .* leave their group/);
  assertMatch(text, /no cell runs forever/);
});

Deno.test("deno task notebook and kernel: each its own help, bad actions are usage errors", async () => {
  const notebook = await runScript("jupyter.ts", ["notebook", "--help"]);
  assertEquals(notebook.code, 0, notebook.stderr);
  assertMatch(notebook.stdout, /^Usage: deno task notebook \[JupyterLab options\]\n/);
  assertMatch(notebook.stdout, /--no-browser/);
  const kernel = await runScript("jupyter.ts", ["kernel", "--help"]);
  assertEquals(kernel.code, 0, kernel.stderr);
  assertMatch(kernel.stdout, /^Usage: deno task kernel \[options\]\n/);
  const unknown = await runScript("jupyter.ts", ["lab"]);
  assertEquals([unknown.code, unknown.stderr], [
    2,
    "error: unknown action 'lab': kernel or notebook",
  ]);
  const flag = await runScript("jupyter.ts", ["kernel", "--no-browser"]);
  assertEquals(flag.code, 2, flag.stderr);
});

Deno.test("jupyter lab gets Jupyter's own flags, the project as its root, --allow-root as root", () => {
  const root = projectPath();
  assertEquals(jupyterLabArgs(["--no-browser", "--port", "8899"], { asRoot: false }), [
    "lab",
    `--ServerApp.root_dir=${root}`,
    "--LabApp.default_url=/lab/tree/notebooks",
    "--no-browser",
    "--port",
    "8899",
  ]);
  assertEquals(jupyterLabArgs([], { asRoot: true }).at(-1), "--allow-root");
  assertEquals(
    jupyterLabArgs(["--allow-root"], { asRoot: true }).filter((a) => a === "--allow-root"),
    ["--allow-root"],
  );
});

Deno.test("the venv's Node helpers are CommonJS, not under the project's ES-module package.json", async () => {
  await ensureJupyter();
  const marker = JSON.parse(Deno.readTextFileSync(projectPath(".venv/package.json")));
  assertEquals(marker.type, "commonjs");
  // JupyterLab (requirements-lab.txt) runs this yarn with Node at start-up, when both are there.
  const yarn = [...Deno.readDirSync(projectPath(".venv/lib"))]
    .map((python) => projectPath(`.venv/lib/${python.name}/site-packages/jupyter_builder/yarn.js`))
    .find(isFileSync);
  const out = yarn &&
    await new Deno.Command("node", { args: [yarn, "--version"] }).output().catch(() => undefined);
  if (out) assertEquals(out.code, 0, new TextDecoder().decode(out.stderr).slice(-300));
});

Deno.test("a leave's words name every partition that changed owner, as the diagram shows", () => {
  const snapshot = (owners: Record<string, number[]>): GroupSnapshot => ({
    groupId: "g",
    state: "Stable",
    protocol: "RoundRobinAssigner",
    partitions: [],
    at: 0,
    members: Object.entries(owners).map(([clientId, partitions]) => ({
      memberId: `${clientId}-id`,
      clientId,
      host: "/127.0.0.1",
      assignment: { t: partitions },
    })),
  });
  // Round-robin over the members left re-deals everything: 1 and 2 move too.
  const before = snapshot({ "consumer-1": [0], "consumer-2": [1], "consumer-3": [2] });
  const after = snapshot({ "consumer-2": [0, 2], "consumer-3": [1] });
  const changes = ownerChanges(before, after, "t");
  assertEquals(changes, [
    { partition: 0, from: "consumer-1", to: "consumer-2" },
    { partition: 1, from: "consumer-2", to: "consumer-3" },
    { partition: 2, from: "consumer-3", to: "consumer-2" },
  ]);
  const names = new Map([1, 2, 3].map((n) => [`consumer-${n}`, `Consumer ${n}`]));
  assertEquals(
    describeMoves(changes, "Consumer 1", names),
    "Partitions 0: Consumer 1 → Consumer 2, 1: Consumer 2 → Consumer 3, 2: Consumer 3 → " +
      "Consumer 2 moved. Partitions 1, 2 were not Consumer 1's and moved too: at a rebalance " +
      "the group's assignor deals every partition out again, so a member going can move more " +
      "than its own partitions.",
  );
  const sticky = ownerChanges(before, snapshot({ "consumer-2": [0, 1], "consumer-3": [2] }), "t");
  assertEquals(
    describeMoves(sticky, "Consumer 1", names),
    "Partition 0: Consumer 1 → Consumer 2 moved.",
  );
});

/** All text/plain outputs of the notebook, one string per output. */
function texts(nb: ExecutedNotebook): string[] {
  return nb.cells.flatMap((c) => c.outputs.map((o) => o.text));
}

/** The one output containing `marker` (it must exist). */
function outputWith(nb: ExecutedNotebook, marker: string | RegExp): string {
  const found = texts(nb).filter((t) =>
    typeof marker === "string" ? t.includes(marker) : marker.test(t)
  );
  assertTrue(found.length > 0, `no output of ${nb.path} contains ${marker}`);
  return found[0];
}

/** Rows of the MEMBER / PARTITIONS / MESSAGES table in a report. */
function memberRows(report: string): { member: string; partitions: string; messages: number }[] {
  const lines = report.split("\n");
  const header = lines.findIndex((l) => l.startsWith("MEMBER"));
  const rows: { member: string; partitions: string; messages: number }[] = [];
  for (const line of lines.slice(header + 1)) {
    const match = /^(.+?)\s{2,}(none \(idle\)|[\d, ]+?)\s{2,}(\d+)$/.exec(line);
    if (!match) break;
    rows.push({ member: match[1], partitions: match[2], messages: Number(match[3]) });
  }
  return rows;
}

async function runLesson(file: string): Promise<ExecutedNotebook> {
  const nb = await executeNotebook(`${NOTEBOOKS}${file}`, {
    env: { KAFKA_BROKERS: (await testBrokers()).join(",") },
  });
  const errors = nb.cells.flatMap((c) => c.outputs.filter((o) => o.type === "error"));
  assertEquals(errors.map((e) => e.text), [], `${file} raised`);
  console.log(`${file}: ${(nb.ms / 1000).toFixed(1)} s`);
  return nb;
}

const lessonChecks: Record<string, (nb: ExecutedNotebook) => void> = {
  "01-what-is-a-consumer-group.ipynb": (nb) => {
    const cellWith = (marker: string) => nb.cells.find((c) => c.source.includes(marker))!;
    // The producer cell prints its own lines: 10 orders with partition and offset.
    const produced = cellWith("// #region producer").outputs.map((o) => o.text).join("");
    assertEquals(
      produced.match(
        /^Produced: \{"order_id":"\d+","amount":\d+\} -> partition [0-2] @ offset \d+$/gm,
      )
        ?.length,
      10,
      produced,
    );
    // The in-kernel consumer's messages are one live table in its own cell.
    const consumer = cellWith("// #region consumer").outputs;
    assertEquals(consumer.length, 1, "the consumer cell has one output, its table");
    const table = consumer[0].text;
    const owned = /^Consumer 1 \(billing-group, partitions ([\d, ]+)\): (\d+) messages$/m.exec(
      table,
    );
    assertTrue(owned, `the table names Consumer 1's partitions: ${table.slice(0, 200)}`);
    assertMatch(consumer[0].html ?? "", /<table>/);
    const report = outputWith(nb, "Group billing-group: 2 members");
    const rows = memberRows(report);
    assertEquals(rows.map((r) => r.member), ["Consumer 1", "Consumer 2"]);
    assertTrue(rows.every((r) => r.partitions !== "none (idle)"), "both members own partitions");
    assertEquals(rows.flatMap((r) => r.partitions.split(", ")).sort(), ["0", "1", "2"]);
    assertEquals(rows[0].partitions, owned[1], "the table and the split agree");
    const rowsOf = (partitions: string) =>
      table.split("\n").filter((l) => partitions.split(", ").includes(l.split(/\s+/)[0]));
    assertTrue(
      rowsOf(owned[1]).length >= rows[0].messages,
      `the table shows Consumer 1's orders: ${table}`,
    );
    assertEquals(rows.reduce((n, r) => n + r.messages, 0), 10);
    assertMatch(report, /Verdict: OK: all 10 messages consumed, none duplicated/);
    const svg = nb.cells.flatMap((c) => c.outputs).find((o) => o.html?.includes("<svg"));
    assertTrue(svg, "the diagram is drawn as SVG");
    // Nothing the consumer does leaks into later cells.
    const elsewhere = nb.cells.filter((c) => !c.source.includes("// #region consumer"))
      .flatMap((c) => c.outputs.map((o) => o.text));
    assertEquals(elsewhere.filter((t) => /got message|PARTITION\s+OFFSET\s+KEY/.test(t)), []);
    assertEquals(cellWith("consumer.disconnect()").outputs.map((o) => o.text), [
      "Stopped 1 member process(es).",
    ]);
  },
  "02-independent-groups.ipynb": (nb) => {
    const table = outputWith(nb, "EVERY ORDER?");
    for (const group of ["inventory-group", "billing-group", "notification-group"]) {
      assertMatch(table, new RegExp(`^${group}\\s+.+\\s+10\\s+yes$`, "m"));
    }
    const workers = memberRows(outputWith(nb, "Group billing-group: 3 members"));
    assertEquals(workers.map((r) => r.partitions).sort(), ["0", "1", "2"]);
  },
  "03-scaling-and-the-idle-member.ipynb": (nb) => {
    const runs = [1, 2, 3, 4].map((k) =>
      memberRows(outputWith(nb, `Group billing-group: ${k} member${k === 1 ? "" : "s"}`))
    );
    assertEquals(runs[0][0].partitions, "0, 1, 2");
    assertEquals(runs[2].map((r) => r.partitions).sort(), ["0", "1", "2"]);
    const idle = runs[3].filter((r) => r.partitions === "none (idle)");
    assertEquals(idle.length, 1, "exactly one idle member with 4 members");
    assertEquals(idle[0].messages, 0, "the idle member processed nothing");
    for (const run of runs) assertEquals(run.reduce((n, r) => n + r.messages, 0), 12);
  },
  "04-rebalancing-and-fault-tolerance.ipynb": (nb) => {
    const seconds = (text: string) => Number(/after ([\d.]+) s/.exec(text)![1]);
    const left = outputWith(nb, "Consumer 1 left the group");
    assertMatch(left, /Partitions? 0: Consumer 1 → Consumer [23].* moved\./);
    assertMatch(left, /The group was Stable with every partition owned/);
    // The diagrams name members as the cells do ("Consumer 1"), not by client id.
    const outputs = nb.cells.flatMap((c) => c.outputs);
    const drawn = (o: CellOutput) => `${o.text}${o.html ?? ""}${o.svg ?? ""}`;
    assertTrue(outputs.some((o) => /<svg[\s\S]*Consumer 3/.test(drawn(o))), "SVG names Consumer 3");
    const clientIds = outputs.filter((o) => /consumer-\d/.test(drawn(o)));
    assertEquals(clientIds.map((o) => o.text), [], "lesson 4 shows client ids");
    const crashed = outputWith(nb, "Consumer 2 was killed (SIGKILL)");
    assertMatch(crashed, /reads from 0, 1, 2/);
    assertTrue(seconds(left) < 5, `graceful leave took ${seconds(left)} s`);
    assertTrue(
      seconds(crashed) >= 3 && seconds(crashed) < 6 + 6,
      `crash took ${seconds(crashed)} s`,
    );
    outputWith(nb, "Stopped 3 member process(es).");
  },
  "05-offsets-lag-and-at-least-once.ipynb": (nb) => {
    const all = texts(nb);
    const caughtUp = all.findIndex((t) => t.includes("billing-group caught up"));
    assertTrue(caughtUp >= 0, "billing-group caught up");
    const [before, after] = [all.slice(0, caughtUp), all.slice(caughtUp)]
      .map((part) => part.find((t) => t.startsWith("GROUP"))!);
    const lagOf = (table: string, group: string) =>
      table.split("\n").filter((l) => l.startsWith(group)).map((l) => l.split(/\s+/)[5]);
    assertEquals(lagOf(after, "billing-group"), ["0", "0", "0"], "billing-group has caught up");
    assertEquals(
      lagOf(after, "inventory-group"),
      lagOf(before, "inventory-group"),
      "inventory unchanged",
    );
    const tables = all.filter((t) => t.startsWith("GROUP"));
    const crash = outputWith(nb, "crashed (exit code 137) before committing");
    const redelivered = Number(/Redelivered messages: (\d+)/.exec(crash)![1]);
    assertTrue(redelivered >= 1, `redelivered ${redelivered}`);
    assertMatch(crash, /Missing: 0\./);
    const resets = tables.slice(-2);
    assertMatch(
      resets[0],
      /^billing-group\s+order-events\s+0\s+0\s+(\d+)\s+\1\s/m,
      "earliest: lag = whole log",
    );
    assertMatch(
      resets[1],
      /^billing-group\s+order-events\s+0\s+(\d+)\s+\1\s+0\s/m,
      "latest: lag 0",
    );
  },
  "06-the-seed-in-python-and-typescript.ipynb": (nb) => {
    assertMatch(outputWith(nb, "got message"), /^Consumer [12] got message: \{"order_id":"\d+"/m);
    outputWith(nb, /Verdict: OK: all 10 messages consumed, none duplicated/);
    // Python leads the range group, the lab member the roundrobin group (it joins first there).
    const leaders = { range: "Python consumer", roundrobin: "TypeScript member" };
    for (const assignor of ["range", "roundrobin"] as const) {
      const table = outputWith(nb, `assignor '${assignor}': 30 new orders`);
      const rows = table.split("\n").filter((l) =>
        / member|consumer {2}/.test(l) && /\d\s*$/.test(l)
      );
      const roles = rows.map((r) => r.split(/\s{2,}/)).map((cells) => [cells[0], cells[2]]);
      assertEquals(
        roles.filter(([, role]) => role === `leader (ran ${assignor})`).map(([name]) => name),
        [leaders[assignor]],
        table,
      );
      const partitions = rows.map((r) => r.split(/\s{2,}/)[3]);
      assertEquals(rows.length, 2, table);
      assertTrue(partitions.every((p) => /^\d/.test(p)), `both own partitions: ${table}`);
      assertEquals(partitions.join(", ").split(", ").sort(), ["0", "1", "2"], table);
      const messages = rows.map((r) => Number(r.split(/\s+/).at(-1)));
      assertEquals(messages.reduce((n, m) => n + m, 0), 30, table);
      assertTrue(messages.every((m) => m > 0), `every member consumed orders: ${table}`);
    }
    assertMatch(outputWith(nb, "INCONSISTENT_GROUP_PROTOCOL"), /RoundRobinAssigner/);
    // Each with its client's defaults: the one assignor all three offer is range.
    const three = outputWith(nb, "Python, Java and TypeScript with their defaults: 30 new orders");
    assertMatch(three, /leader \(ran range\)/);
    const memberRow = /^(Java consumer|Python consumer|TypeScript member) /;
    const rows = three.split("\n").filter((l) => memberRow.test(l))
      .map((l) => l.split(/\s{2,}/))
      .sort((a, b) => a[0].localeCompare(b[0]));
    // range over the member ids: java-java-consumer-…, python-python-consumer-…, typescript-member-…
    assertEquals(rows.map((r) => [r[0], r[3]]), [
      ["Java consumer", "0"],
      ["Python consumer", "1"],
      ["TypeScript member", "2"],
    ], three);
    assertEquals(rows.reduce((n, r) => n + Number(r.at(-1)), 0), 30, three);
    assertTrue(rows.every((r) => Number(r.at(-1)) > 0), `every member consumed orders: ${three}`);
  },
};

for (const file of files) {
  Deno.test(`lesson ${file} runs top to bottom and shows what it claims`, async () => {
    const check = lessonChecks[file];
    assertTrue(check, `no output checks for ${file}: add them to lessonChecks`);
    check(await runLesson(file));
  });
}
