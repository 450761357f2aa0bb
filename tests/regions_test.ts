/**
 * The code is the lesson: every `// #region NAME` in a notebook code cell is
 * byte-identical to the region of the same name in the script that owns it,
 * so what a learner reads and edits in a lesson is what `deno task consumer1`
 * and `deno task producer` run.
 */
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { projectPath } from "../lib/platform/runtime.ts";

/** Which script owns each region name. */
const OWNERS: Record<string, string> = {
  consumer: "scripts/consumer.ts",
  "consumer-protocol": "scripts/consumer_protocol.ts",
  producer: "scripts/producer.ts",
};

/** The regions of a source text, by name; a name twice is an error. */
export function regionsOf(source: string): Map<string, string> {
  const regions = new Map<string, string>();
  const pattern = /^[ \t]*\/\/ #region (\S+)[^\n]*\n([\s\S]*?)^[ \t]*\/\/ #endregion/gm;
  for (const [, name, body] of source.matchAll(pattern)) {
    if (regions.has(name)) throw new Error(`region '${name}' appears twice`);
    regions.set(name, body);
  }
  return regions;
}

/** What differs between the notebooks' regions and their scripts' (empty: no drift). */
export function regionDrift(
  notebooks: Record<string, string[]>,
  scripts: Record<string, string>,
): string[] {
  const problems: string[] = [];
  for (const [notebook, cells] of Object.entries(notebooks)) {
    for (const [name, body] of cells.flatMap((cell) => [...regionsOf(cell)])) {
      const owner = OWNERS[name];
      if (!owner) problems.push(`${notebook}: region '${name}' has no script`);
      else if (regionsOf(scripts[owner]).get(name) !== body) {
        problems.push(`${notebook}: region '${name}' differs from ${owner}`);
      }
    }
  }
  return problems;
}

const read = (path: string) => Deno.readTextFileSync(projectPath(path));
const scripts = Object.fromEntries(Object.values(OWNERS).map((path) => [path, read(path)]));
const notebooks = Object.fromEntries(
  [...Deno.readDirSync(projectPath("notebooks"))]
    .filter((entry) => entry.name.endsWith(".ipynb"))
    .map((entry) => {
      const cells: { cell_type: string; source: string | string[] }[] =
        JSON.parse(read(`notebooks/${entry.name}`)).cells;
      return [
        entry.name,
        cells.filter((c) => c.cell_type === "code")
          .map((c) => Array.isArray(c.source) ? c.source.join("") : c.source),
      ];
    }),
);

Deno.test("lesson cells are the scripts' code: every region is byte-identical to its script's", () => {
  assertEquals(regionDrift(notebooks, scripts), []);
  for (
    const lesson of [
      "01-what-is-a-consumer-group",
      "05-offsets-lag-and-at-least-once",
      "06-the-seed-in-python-and-typescript",
    ]
  ) {
    const regions = notebooks[`${lesson}.ipynb`].flatMap((c) => [...regionsOf(c).keys()]);
    assertEquals(regions.sort(), ["consumer", "producer"], lesson);
  }
});

Deno.test("the drift test fails when one side is edited alone", () => {
  const edit = (text: string) => text.replace("fromBeginning: true", "fromBeginning: false");
  const cells = notebooks["01-what-is-a-consumer-group.ipynb"];
  const consumerCell = cells.findIndex((c) => regionsOf(c).has("consumer"));
  const editedCells = cells.map((c, i) => i === consumerCell ? edit(c) : c);
  assertEquals(
    regionDrift({ "01.ipynb": editedCells }, scripts),
    ["01.ipynb: region 'consumer' differs from scripts/consumer.ts"],
  );
  const editedScripts = { ...scripts, [OWNERS.consumer]: edit(scripts[OWNERS.consumer]) };
  assertEquals(
    regionDrift({ "01.ipynb": cells }, editedScripts),
    ["01.ipynb: region 'consumer' differs from scripts/consumer.ts"],
  );
  assertMatch(
    regionDrift({ "x.ipynb": ["// #region commit\nx\n// #endregion\n"] }, scripts)[0],
    /region 'commit' has no script/,
  );
});

Deno.test("from deno task consumer1, the eachMessage body ends within the first 40 lines of code", () => {
  const lines = scripts[OWNERS.consumer].split("\n");
  const handler = lines.findIndex((l) => /^ {2}eachMessage: async \(/.test(l));
  assertTrue(handler >= 0, "scripts/consumer.ts defines the eachMessage handler itself");
  const bodyEnd = lines.findIndex((l, i) => i > handler && l === "  },");
  const code = (line: string) => !/^\s*(\/\/|\/\*\*|\*)/.test(line) && line.trim() !== "";
  const codeLines = lines.slice(0, bodyEnd + 1).filter(code).length;
  assertTrue(codeLines <= 40, `${codeLines} lines of code to the end of eachMessage`);
});
