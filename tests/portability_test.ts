/**
 * Portability: the library and the scripts use only Node's built-ins and web
 * APIs, which Deno and Bun both provide; the runtime-specific bits live in one
 * module, lib/platform/runtime.ts; file paths survive a space in the project's folder.
 * (tests/bun_test.ts runs the scripts on Bun.)
 */
import { readFileSync } from "node:fs";
import { assertEquals } from "./assert.ts";
import { projectPath } from "../lib/platform/runtime.ts";
import { sourceFiles } from "./harness.ts";

const ROOT = projectPath();

/** `Deno.<something>` in code, not in a comment or a string. */
function denoApiUses(path: string): string[] {
  return readFileSync(`${ROOT}${path}`, "utf8").split("\n").flatMap((line, i) => {
    const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "")
      .replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""');
    return /\bDeno\.\w/.test(code) ? [`${path}:${i + 1}: ${line.trim()}`] : [];
  });
}

Deno.test("only lib/platform/runtime.ts uses Deno's own APIs in lib/, bench/ and scripts/", () => {
  const files = sourceFiles("lib", "bench", "scripts");
  assertEquals(
    files.includes("lib/platform/runtime.ts"),
    true,
    "lib/platform/runtime.ts is scanned too",
  );
  assertEquals(
    files.filter((f) => f !== "lib/platform/runtime.ts").flatMap(denoApiUses),
    [],
    "Deno.* outside lib/platform/runtime.ts: move it behind lib/platform/runtime.ts (node: built-ins)",
  );
});

Deno.test("file paths come from projectPath(), so the lab runs from a folder with a space", () => {
  // new URL(...).pathname keeps "%20" for a space: every spawned script is then "not found".
  const uses = sourceFiles("lib", "bench", "scripts", "tests").flatMap((file) =>
    readFileSync(`${ROOT}${file}`, "utf8").split("\n").flatMap((line, i) =>
      /import\.meta\.url\)\.pathname/.test(line) ? [`${file}:${i + 1}`] : []
    )
  );
  assertEquals(
    uses,
    [],
    "use projectPath() from lib/platform/runtime.ts (fileURLToPath, not URL.pathname)",
  );
});

Deno.test("package.json (Bun) pins the same npm packages and versions as deno.json's imports", () => {
  const read = (file: string) => JSON.parse(readFileSync(`${ROOT}${file}`, "utf8"));
  const fromDeno = Object.fromEntries(
    Object.values(read("deno.json").imports as Record<string, string>).flatMap((spec) => {
      const npm = /^npm:(@?[^@]+)@(.+)$/.exec(spec);
      return npm ? [[npm[1], npm[2]]] : [];
    }),
  );
  assertEquals(read("package.json").dependencies, fromDeno);
});
