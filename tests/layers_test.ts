/**
 * The layout is the architecture: every module of lib/ sits in one layer's
 * folder, and imports point down only. From the bottom up:
 *
 * - lib/platform/: runtime, errors, waiting, Jupyter, rendering (no Kafka);
 * - lib/kafka/: the broker the lab runs and the kafkajs clients;
 * - lib/inspect/ and lib/processes/: seeing groups, running lab processes
 *   (side by side: neither imports the other);
 * - lib/lessons/: lessons, exercises, the demo;
 * - lib/cli/: flags, exit codes and the scripts' settings, for scripts/ and bench/ only.
 *
 * Nothing in lib/ imports scripts/, bench/ or tests/.
 */
import { readFileSync } from "node:fs";
import { dirname, join, normalize } from "node:path";
import { assertEquals } from "./assert.ts";
import { projectPath } from "../lib/platform/runtime.ts";
import { sourceFiles } from "./harness.ts";

/** Layers of lib/, bottom first: a module imports its own layer or lower ones. */
const LAYERS: Record<string, number> = {
  "lib/platform": 0,
  "lib/kafka": 1,
  "lib/inspect": 2,
  "lib/processes": 2,
  "lib/lessons": 3,
  "lib/cli": 4,
};

/** The layer a lib/ path belongs to (`lib/kafka`, `lib/cli/`), if any. */
function layerOf(path: string): string | undefined {
  return Object.keys(LAYERS).find((layer) => path === layer || path.startsWith(`${layer}/`));
}

/** The project paths a module imports with a relative specifier. */
function relativeImports(file: string): string[] {
  const code = readFileSync(projectPath(file), "utf8");
  return [...code.matchAll(/(?:from|import)\s*\(?\s*["'](\.{1,2}\/[^"']+)["']/g)]
    .map((match) => normalize(join(dirname(file), match[1])));
}

/** Why `file` may not import `target`, or undefined when it may. */
function upwardArrow(file: string, target: string): string | undefined {
  if (!target.startsWith("lib/")) return `${file} imports ${target}, outside lib/`;
  const from = layerOf(file), to = layerOf(target);
  if (from === undefined || to === undefined || from === to) return undefined;
  if (LAYERS[to] > LAYERS[from]) {
    return `${file} (${from}) imports ${target} (${to}), a layer above`;
  }
  if (LAYERS[to] === LAYERS[from]) return `${file} (${from}) imports ${target} (${to}), a sibling`;
  return undefined;
}

/** Every upward (or sideways) import among `files`. */
function upwardArrows(files: string[], imports: (file: string) => string[]): string[] {
  return files.flatMap((file) =>
    imports(file).flatMap((target) => upwardArrow(file, target) ?? [])
  );
}

Deno.test("every module of lib/ lives in a layer's folder", () => {
  assertEquals(
    sourceFiles("lib").filter((file) => layerOf(file) === undefined),
    [],
    "put it in lib/platform, lib/kafka, lib/inspect, lib/processes or lib/lessons",
  );
});

Deno.test("imports in lib/ point down: no module imports a layer above or beside its own", () => {
  assertEquals(upwardArrows(sourceFiles("lib"), relativeImports), []);
});

Deno.test("the layer check sees an arrow that points up, sideways or out of lib/", () => {
  const imports: Record<string, string[]> = {
    "lib/kafka/config.ts": ["lib/cli/flags.ts", "lib/platform/runtime.ts"],
    "lib/platform/wait.ts": ["lib/kafka/config.ts"],
    "lib/processes/spawn.ts": ["lib/inspect/groups.ts", "lib/processes/runlog.ts"],
    "lib/lessons/demo.ts": ["scripts/consumer.ts", "lib/inspect/groups.ts"],
  };
  assertEquals(upwardArrows(Object.keys(imports), (file) => imports[file]), [
    "lib/kafka/config.ts (lib/kafka) imports lib/cli/flags.ts (lib/cli), a layer above",
    "lib/platform/wait.ts (lib/platform) imports lib/kafka/config.ts (lib/kafka), a layer above",
    "lib/processes/spawn.ts (lib/processes) imports lib/inspect/groups.ts (lib/inspect), a sibling",
    "lib/lessons/demo.ts imports scripts/consumer.ts, outside lib/",
  ]);
});
