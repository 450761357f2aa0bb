/**
 * The lessons: committed clean, cells short and bounded, and executed
 * top to bottom on the Deno kernel against the real broker, with their
 * outputs checked for what each lesson claims.
 */
import {
  ensureJupyter,
  type ExecutedNotebook,
  executeNotebook,
  jupyterLabArgs,
  lessonNames,
  lessonScriptOf,
} from "../lib/platform/jupyter.ts";
import { describeMoves, ownerChanges } from "../lib/lessons/lesson4.ts";
import type { GroupSnapshot } from "../lib/inspect/groups.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { runScript, testBrokers } from "./harness.ts";
import { CLUSTER_LESSONS, lessonChecks, notebookRun } from "./lesson_checks.ts";
import { isFileSync, projectPath } from "../lib/platform/runtime.ts";

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

Deno.test("each lesson is a pair: its .ipynb converted by Jupytext is its .ts, byte for byte", async () => {
  const names = await lessonNames();
  assertEquals(names.length, files.length, "every lesson has an .ipynb");
  for (const name of names) {
    const file = `${NOTEBOOKS}${name}.ts`;
    assertTrue(isFileSync(file), `notebooks/${name}.ts is missing: run deno task lessons`);
    const script = Deno.readTextFileSync(file);
    // A non-ASCII character makes Jupytext add a `-*- coding: utf-8 -*-` line: write "--", "->".
    assertEquals(script.match(/[^\t\n\x20-\x7e]/g) ?? [], [], `${name}.ts is not ASCII`);
    assertTrue(
      await lessonScriptOf(`${NOTEBOOKS}${name}.ipynb`) === script,
      `notebooks/${name}.ipynb and ${name}.ts differ: run deno task lessons`,
    );
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

Deno.test("deno task notebook, kernel and lessons: each its own help, bad actions are usage errors", async () => {
  const notebook = await runScript("jupyter.ts", ["notebook", "--help"]);
  assertEquals(notebook.code, 0, notebook.stderr);
  assertMatch(notebook.stdout, /^Usage: deno task notebook \[JupyterLab options\]\n/);
  assertMatch(notebook.stdout, /--no-browser/);
  const kernel = await runScript("jupyter.ts", ["kernel", "--help"]);
  assertEquals(kernel.code, 0, kernel.stderr);
  assertMatch(kernel.stdout, /^Usage: deno task kernel \[options\]\n/);
  const lessons = await runScript("jupyter.ts", ["lessons", "--help"]);
  assertEquals(lessons.code, 0, lessons.stderr);
  assertMatch(lessons.stdout, /^Usage: deno task lessons \[options\]\n/);
  const unknown = await runScript("jupyter.ts", ["lab"]);
  assertEquals([unknown.code, unknown.stderr], [
    2,
    "error: unknown action 'lab': kernel, lessons or notebook",
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

async function runLesson(file: string): Promise<ExecutedNotebook> {
  const nb = await executeNotebook(`${NOTEBOOKS}${file}`, {
    env: { KAFKA_BROKERS: (await testBrokers()).join(",") },
  });
  const errors = nb.cells.flatMap((c) => c.outputs.filter((o) => o.type === "error"));
  assertEquals(errors.map((e) => e.text), [], `${file} raised`);
  console.log(`${file}: ${(nb.ms / 1000).toFixed(1)} s`);
  return nb;
}

/**
 * What only a notebook can show wrong: which cell an output landed in. The
 * producer cell prints its own `produced` lines; the in-kernel consumer's
 * messages are one live table in the consumer cell, titled with `member`'s
 * name and group, and nothing of it leaks into later cells; the disconnect
 * cell says how many member processes it stopped.
 */
function outputsStayInTheirCells(
  nb: ExecutedNotebook,
  { member, groupId, produced, stopped }: {
    member: string;
    groupId: string;
    produced: number;
    stopped: number;
  },
): void {
  const cellWith = (marker: string) => nb.cells.find((c) => c.source.includes(marker))!;
  const lines = cellWith("// #region producer").outputs.map((o) => o.text).join("");
  assertEquals(lines.match(/^Produced: /gm)?.length, produced, lines);
  const consumer = cellWith("// #region consumer").outputs;
  assertEquals(consumer.length, 1, "the consumer cell has one output, its table");
  assertMatch(
    consumer[0].text,
    new RegExp(`^${member} \\(${groupId}, partitions [\\d, ]+\\): \\d+ messages$`, "m"),
  );
  assertMatch(consumer[0].html ?? "", /<table>/);
  const elsewhere = nb.cells.filter((c) => !c.source.includes("// #region consumer"))
    .flatMap((c) => c.outputs.map((o) => o.text));
  assertEquals(elsewhere.filter((t) => /got message|PARTITION\s+OFFSET\s+KEY/.test(t)), []);
  assertEquals(cellWith("consumer.disconnect()").outputs.map((o) => o.text), [
    `Stopped ${stopped} member process(es).`,
  ]);
}

/** Which member each lesson runs in its consumer cell, and what its cells print. */
const cellChecks: Record<string, Parameters<typeof outputsStayInTheirCells>[1]> = {
  "01-what-is-a-consumer-group.ipynb": {
    member: "Consumer 1",
    groupId: "billing-group",
    produced: 10,
    stopped: 1,
  },
  "02-independent-groups.ipynb": {
    member: "Inventory Service",
    groupId: "inventory-group",
    produced: 10,
    stopped: 2,
  },
  "03-scaling-and-the-idle-member.ipynb": {
    member: "Consumer 1",
    groupId: "billing-group",
    produced: 12,
    stopped: 3,
  },
  "04-rebalancing-and-fault-tolerance.ipynb": {
    member: "Consumer 1",
    groupId: "billing-group",
    produced: 10,
    stopped: 2,
  },
  "05-offsets-lag-and-at-least-once.ipynb": {
    member: "Consumer 1",
    groupId: "billing-group",
    produced: 6,
    stopped: 1,
  },
  "06-the-seed-in-python-and-typescript.ipynb": {
    member: "Consumer 1",
    groupId: "billing-group",
    produced: 10,
    stopped: 1,
  },
};

// The cluster's lessons run in tests/cluster_lesson9_test.ts, on the cluster.
for (const file of files.filter((f) => !CLUSTER_LESSONS.includes(f.replace(/\.ipynb$/, "")))) {
  Deno.test(`lesson ${file} runs top to bottom and shows what it claims`, async () => {
    const check = lessonChecks[file.replace(/\.ipynb$/, "")];
    assertTrue(
      check,
      `no output checks for ${file}: add them to lessonChecks (tests/lesson_checks.ts)`,
    );
    const nb = await runLesson(file);
    if (cellChecks[file]) outputsStayInTheirCells(nb, cellChecks[file]);
    check(notebookRun(nb));
  });
}
