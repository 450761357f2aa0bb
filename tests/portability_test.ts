/**
 * Portability: the library and the scripts use only Node's built-ins and web
 * APIs, which Deno and Bun both provide; the runtime-specific bits live in one
 * module, lib/runtime.ts; file paths survive a space in the project's folder.
 * (tests/bun_test.ts runs the scripts on Bun.)
 */
import { readdirSync, readFileSync } from "node:fs";
import { assertEquals } from "./assert.ts";
import { projectPath } from "../lib/runtime.ts";

const ROOT = projectPath();

/** `Deno.<something>` in code, not in a comment or a string. */
function denoApiUses(path: string): string[] {
  return readFileSync(`${ROOT}${path}`, "utf8").split("\n").flatMap((line, i) => {
    const code = line.replace(/\/\/.*$/, "").replace(/^\s*\*.*$/, "")
      .replace(/(["'`])(?:\\.|(?!\1).)*\1/g, '""');
    return /\bDeno\.\w/.test(code) ? [`${path}:${i + 1}: ${line.trim()}`] : [];
  });
}

Deno.test("only lib/runtime.ts uses Deno's own APIs in lib/ and scripts/", () => {
  const files = ["lib", "scripts"].flatMap((dir) =>
    readdirSync(`${ROOT}${dir}`).filter((f) => f.endsWith(".ts")).map((f) => `${dir}/${f}`)
  );
  assertEquals(files.includes("lib/runtime.ts"), true, "lib/runtime.ts is scanned too");
  assertEquals(
    files.filter((f) => f !== "lib/runtime.ts").flatMap(denoApiUses),
    [],
    "Deno.* outside lib/runtime.ts: move it behind lib/runtime.ts (node: built-ins)",
  );
});

Deno.test("file paths come from projectPath(), so the lab runs from a folder with a space", () => {
  // new URL(...).pathname keeps "%20" for a space: every spawned script is then "not found".
  const uses = ["lib", "scripts", "tests"].flatMap((dir) =>
    readdirSync(`${ROOT}${dir}`).filter((f) => f.endsWith(".ts")).flatMap((f) =>
      readFileSync(`${ROOT}${dir}/${f}`, "utf8").split("\n").flatMap((line, i) =>
        /import\.meta\.url\)\.pathname/.test(line) ? [`${dir}/${f}:${i + 1}`] : []
      )
    )
  );
  assertEquals(uses, [], "use projectPath() from lib/runtime.ts (fileURLToPath, not URL.pathname)");
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
