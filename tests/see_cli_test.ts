/**
 * The scripts of "see the group" as a learner runs them: `deno task
 * describe` on a group that does not exist, and `deno task watch` when its
 * output is not a terminal (plain frames, stopping by itself).
 *
 * @module
 */
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { runScript, testBrokers, uniqueName } from "./harness.ts";

/** Runs a script against the test broker. */
async function run(script: string, args: string[]) {
  return runScript(script, ["--brokers", (await testBrokers()).join(","), ...args]);
}

Deno.test("describe: a missing group is one line in Kafka's words and exit 1; no group is exit 2", async () => {
  const groupId = uniqueName("no-such-group");
  const missing = await run("describe.ts", ["--group", groupId]);
  assertEquals(
    [missing.code, missing.stdout, missing.stderr],
    [1, "", `error: Consumer group '${groupId}' does not exist.`],
  );
  const unnamed = await run("describe.ts", []);
  assertEquals(unnamed.code, 2);
  assertEquals(unnamed.stderr.split("\n").length, 1, unnamed.stderr);
  assertMatch(unnamed.stderr, /^error: say which group/);
});

Deno.test("watch, when not on a terminal, prints plain frames only when something changes and stops by itself", async () => {
  const groupId = uniqueName("unwatched-group");
  const { code, stdout, stderr, ms } = await run("watch.ts", [
    "--group",
    groupId,
    "--interval-ms",
    "200",
    "--duration-ms",
    "1500",
  ]);
  assertEquals(code, 0, stderr);
  assertTrue(ms < 10_000, `stopped after ${ms} ms`);
  assertTrue(!stdout.includes("\x1b["), "no terminal escapes in plain frames");
  // Nothing changes in a group nobody uses: one frame, however many polls.
  assertEquals(stdout.split("\n").filter((l) => /^-{72}$/.test(l)).length, 1, stdout);
  assertMatch(stdout, new RegExp(`^Group ${groupId}: Dead, 0 member\\(s\\)`));
  assertMatch(stdout, /REBALANCE TIMELINE\n\(no rebalance seen yet\)/);
});
