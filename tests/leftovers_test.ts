/**
 * Members outlive nothing: a member process dies with the process that
 * started it (a notebook kernel restarted or killed), and a lesson clears
 * members of its groups left over from an earlier run before it starts its
 * own. Against the real broker, with real processes.
 */
import { Lab } from "../lib/lessons/lessons.ts";
import { stopLeftoverMembers } from "../lib/processes/spawn.ts";
import { waitForGroup } from "../lib/inspect/groups.ts";
import { killProcess, processAlive, projectPath, spawnProcess } from "../lib/platform/runtime.ts";
import { until } from "../lib/platform/wait.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";

/**
 * A stand-in for a notebook kernel: a Deno process that starts one member
 * with `spawnMember` and then idles. Resolves with the wrapper and the
 * member's pid once the member owns partitions.
 */
async function kernelWithMember(
  groupId: string,
  topic: string,
  name: string,
  brokers?: string[],
) {
  brokers ??= await testBrokers();
  const processes = new URL("../lib/processes/spawn.ts", import.meta.url).href;
  const code = `import { spawnMember } from "${processes}";
const member = await spawnMember(${JSON.stringify({ groupId, topic, name, brokers })});
console.log("member pid " + member.pid);
setInterval(() => {}, 1000);`;
  const lines: string[] = [];
  const kernel = spawnProcess(Deno.execPath(), ["eval", code], {
    cwd: projectPath(),
    onLine: (line) => lines.push(line),
  });
  const started = await until(() => lines.some((l) => l.startsWith("member pid ")), 30_000);
  assertTrue(started, `the wrapper did not start its member: ${lines.join(" | ")}`);
  const memberPid = Number(lines.find((l) => l.startsWith("member pid "))!.slice(11));
  return { kernel, memberPid };
}

Deno.test("a member process leaves its group when the process that started it is killed", async () => {
  const topic = await freshTopic();
  const groupId = uniqueName("orphan-group");
  const { kernel, memberPid } = await kernelWithMember(groupId, topic, "Orphan");
  try {
    kernel.kill("SIGKILL");
    await kernel.exited;
    const killedAt = Date.now();
    const exited = await until(() => !processAlive(memberPid), 5_000);
    assertTrue(exited, "the member still runs 5 s after its parent was killed");
    console.log(`member exited ${Date.now() - killedAt} ms after its parent was killed`);
    const { ok, snapshot } = await withAdmin((admin) =>
      waitForGroup(admin, groupId, (s) => s.members.length === 0, 3_000)
    );
    assertTrue(ok, `the group still has ${snapshot.members.length} member(s): it did not leave`);
  } finally {
    killProcess(memberPid, "SIGKILL");
  }
});

Deno.test("a lesson stops members of its group left over from an earlier kernel", async () => {
  const topic = await freshTopic();
  const groupId = uniqueName("leftover-group");
  const { kernel, memberPid } = await kernelWithMember(groupId, topic, "Consumer 1");
  const shown: string[] = [];
  const log = console.log;
  console.log = (...values: unknown[]) => shown.push(values.join(" "));
  try {
    const lab = await Lab.open(topic);
    await lab.startMembers(groupId, ["Consumer 1", "Consumer 2"]);
    await lab.stopAll();
  } finally {
    console.log = log;
    kernel.kill("SIGKILL");
    await kernel.exited;
    killProcess(memberPid, "SIGKILL");
  }
  assertEquals(processAlive(memberPid), false, "the leftover member was stopped");
  const said = shown.find((s) => s.includes("left over"));
  assertTrue(said, `the lesson did not say it stopped a leftover: ${shown.join(" | ")}`);
  assertMatch(said, new RegExp(`Stopped 1 member process\\(es\\) of ${groupId} .*Consumer 1`));
  assertTrue(shown.some((s) => s.includes(`Group ${groupId}: Stable, 2 member(s).`)), shown.join());
});

Deno.test("a member of a group of the same name on another cluster is not a leftover", async () => {
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  const brokers = await testBrokers();
  // The test runs' single broker and 3-node cluster both have a billing-group: here, the same
  // broker named twice stands in for the other cluster's bootstrap list.
  const elsewhere = [...brokers, ...brokers];
  const { kernel, memberPid } = await kernelWithMember(groupId, topic, "Consumer 1", elsewhere);
  try {
    assertEquals(await stopLeftoverMembers(groupId, brokers, { timeoutMs: 3_000 }), []);
    assertTrue(processAlive(memberPid), "a member on other brokers was stopped");
    assertEquals(await stopLeftoverMembers(groupId, elsewhere, { timeoutMs: 3_000 }), [
      `Consumer 1 (pid ${memberPid})`,
    ]);
    assertTrue(await until(() => !processAlive(memberPid), 5_000), "the leftover still runs");
  } finally {
    kernel.kill("SIGKILL");
    await kernel.exited;
    killProcess(memberPid, "SIGKILL");
  }
});
