/**
 * lib/platform/runtime.ts: the process and file primitives every script stands on,
 * with the exit codes a shell would report.
 */
import {
  createFileExclusive,
  isNotFound,
  makeTempDir,
  processCommandLine,
  readFileFrom,
  remove,
  runCommand,
  spawnProcess,
  writeTextFile,
} from "../lib/platform/runtime.ts";
import { until } from "../lib/platform/wait.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";

Deno.test("spawnProcess reads stdout and stderr line by line and reports the exit code", async () => {
  const lines: string[] = [];
  const child = spawnProcess("sh", ["-c", "echo one; echo two >&2; printf three; exit 3"], {
    onLine: (line, stream) => lines.push(`${stream}:${line}`),
  });
  assertEquals(await child.exited, 3);
  assertEquals(lines.sort(), ["stderr:two", "stdout:one", "stdout:three"]);
});

Deno.test("a child that catches SIGTERM and exits 0 reports 0; SIGKILL reports 137", async () => {
  const lines: string[] = [];
  const graceful = spawnProcess(
    "sh",
    ["-c", "trap 'echo leaving; exit 0' TERM; echo ready; while :; do sleep 0.05; done"],
    { onLine: (line) => lines.push(line) },
  );
  assertTrue(await until(() => lines.includes("ready"), 5_000), "the trap is set");
  graceful.kill("SIGTERM");
  assertEquals(await graceful.exited, 0, "a clean exit, not 143");
  assertEquals(lines, ["ready", "leaving"]);

  const crashed = spawnProcess("sleep", ["30"]);
  crashed.kill("SIGKILL");
  assertEquals(await crashed.exited, 137);
  crashed.kill("SIGKILL"); // ended already: nothing happens
});

Deno.test("a command that does not exist throws at once, recognisably", async () => {
  let thrown: unknown;
  try {
    spawnProcess("no-such-command-in-the-lab", []);
  } catch (error) {
    thrown = error;
  }
  assertTrue(isNotFound(thrown), String(thrown));
  const rejected = await runCommand("no-such-command-in-the-lab", []).catch((e) => e);
  assertTrue(isNotFound(rejected), String(rejected));
});

Deno.test("readFileFrom returns what a file gained since an offset", async () => {
  const dir = await makeTempDir("lab-runtime-");
  try {
    const file = `${dir}/broker.log`;
    await writeTextFile(file, "line 1\n");
    const first = await readFileFrom(file, () => 0);
    assertEquals(new TextDecoder().decode(first.bytes), "line 1\n");
    await writeTextFile(file, "line 2\n", { append: true });
    const next = await readFileFrom(file, () => first.from + first.bytes.length);
    assertEquals(new TextDecoder().decode(next.bytes), "line 2\n");
    assertEquals(next.from, 7);
    const clamped = await readFileFrom(file, (size) => size - 1000);
    assertEquals(clamped.from, 0, "an offset before the start reads from the start");
  } finally {
    await remove(dir);
  }
});

Deno.test("processCommandLine tells what a pid runs now, and nothing once it has ended", async () => {
  const sleeper = spawnProcess("sleep", ["30"]);
  try {
    // Just after the spawn the child may still be on its way to exec: its command line is empty.
    let seen = "";
    const deadline = Date.now() + 5_000;
    while (!/\bsleep 30$/.test(seen) && Date.now() < deadline) {
      seen = await processCommandLine(sleeper.pid) ?? "";
      if (!/\bsleep 30$/.test(seen)) await new Promise((r) => setTimeout(r, 20));
    }
    assertMatch(seen, /\bsleep 30$/);
  } finally {
    sleeper.kill("SIGKILL");
  }
  await sleeper.exited;
  assertEquals(await processCommandLine(sleeper.pid), undefined);
});

Deno.test("createFileExclusive creates a lock file once; a second try finds it taken", async () => {
  const dir = await makeTempDir("lab-runtime-");
  try {
    const lock = `${dir}/start.lock`;
    const tries = await Promise.all([1, 2, 3].map((n) => createFileExclusive(lock, `${n}\n`)));
    assertEquals(tries.filter((won) => won).length, 1);
    const winner = tries.indexOf(true) + 1;
    assertEquals(await Deno.readTextFile(lock), `${winner}\n`);
  } finally {
    await remove(dir);
  }
});
