/**
 * Lesson 9 on the lab's 3-node cluster, as a script and as a notebook, in the
 * cluster run of `deno task test` (KAFKA_BROKERS names the cluster's nodes,
 * KAFKA_PORT and LAB_CLUSTER_DIR find their processes): it kills the group's
 * coordinator, then a partition leader, restarts each, and is checked with
 * the expectations of tests/lesson_checks.ts. The exercise
 * kill-the-coordinator is checked before and after a kill. Every node is up
 * again at the end of each test.
 */
import { ORDER_PARTITIONS } from "../lib/kafka/config.ts";
import { clusterStatus } from "../lib/kafka/cluster.ts";
import { killNode, restartNode, waitForCoordinator } from "../lib/kafka/failover.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { findCoordinator } from "../lib/inspect/coordinator.ts";
import { totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { exerciseById } from "../lib/lessons/exercises.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { exerciseSetup, testBrokers, withAdmin } from "./harness.ts";
import { lessonChecks, notebookRun, runLessonScript } from "./lesson_checks.ts";
import { executeNotebook } from "../lib/platform/jupyter.ts";
import { projectPath } from "../lib/platform/runtime.ts";

const LESSON = "09-when-the-coordinator-dies";

/**
 * Restarts every node of the cluster that does not answer: a lesson that
 * failed between a kill and its restart must not leave the next test a
 * cluster without a quorum (two nodes down: every test after it hung).
 */
async function everyNodeUp(): Promise<void> {
  for (const node of await clusterStatus()) {
    if (!node.answering) await restartNode(node.nodeId);
  }
}

Deno.test("lesson 9 runs in a terminal on the cluster: coordinator and leader killed, nothing lost", async () => {
  try {
    lessonChecks[LESSON](await runLessonScript(LESSON));
  } finally {
    await everyNodeUp();
  }
});

Deno.test("lesson 9 runs top to bottom as a notebook on the cluster, each report in its cell", async () => {
  try {
    await notebookOnTheCluster();
  } finally {
    await everyNodeUp();
  }
});

async function notebookOnTheCluster() {
  const nb = await executeNotebook(projectPath(`notebooks/${LESSON}.ipynb`), {
    env: { KAFKA_BROKERS: (await testBrokers()).join(",") },
  });
  const errors = nb.cells.flatMap((c) => c.outputs.filter((o) => o.type === "error"));
  assertEquals(errors.map((e) => e.text), [], `${LESSON}.ipynb raised`);
  console.log(`${LESSON}.ipynb: ${(nb.ms / 1000).toFixed(1)} s`);
  const textOf = (marker: string) =>
    nb.cells.find((c) => c.source.includes(marker))!.outputs.map((o) => o.text).join("\n");
  assertMatch(
    textOf("lab.killCoordinator("),
    /^Killed node \d .*the coordinator of billing-group/m,
  );
  assertMatch(textOf("lab.killLeader("), /^Killed node \d .*\(not the coordinator\)/m);
  assertEquals(textOf("lab.stopAll()"), "Stopped 3 member process(es).");
  lessonChecks[LESSON](notebookRun(nb));
}

Deno.test("exercise kill-the-coordinator: fails until the coordinator is killed, passes once the members consume again with their commits", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  const notesDir = await Deno.makeTempDir({ prefix: "lab-checks-" });
  const check = () =>
    withAdmin((admin) =>
      exerciseById("kill-the-coordinator")!.check({
        admin,
        topic,
        partitions: ORDER_PARTITIONS,
        groups,
        notesDir,
      })
    );
  const extraArgs = ["--session-timeout-ms", "6000"];
  const members: MemberProcess[] = [];
  let killed: number | undefined;
  try {
    for (const name of ["Consumer 1", "Consumer 2", "Consumer 3"]) {
      members.push(await spawnMember({ groupId: groups.billing, name, brokers, topic, extraArgs }));
    }
    await produceOrders({ brokers, topic, count: 30, intervalMs: 0 });
    await withAdmin((admin) =>
      waitForGroup(admin, groups.billing, (s) => totalLag(s, topic) === 0, 20_000, {
        topics: [topic],
      })
    );
    const before = await check();
    assertEquals(before.passed, false);
    assertEquals(before.criteria.map((c) => c.ok), [true, true, false, false, false]);
    const coordinator = await findCoordinator(brokers, groups.billing);
    assertEquals(
      before.hint,
      `Noted. Now kill the coordinator's node: node ${coordinator.nodeId} ` +
        `(${coordinator.host}:${coordinator.port}); deno task broker status --nodes 3 shows its ` +
        "pid: kill -9 <pid>.",
    );
    killed = coordinator.nodeId;
    await killNode(killed);
    const moved = await waitForCoordinator(brokers, groups.billing, { except: killed });
    await produceOrders({ brokers, topic, start: 30, count: 30, intervalMs: 100 });
    let after = await check();
    const deadline = Date.now() + 60_000;
    while (!after.passed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 1000));
      after = await check();
    }
    assertTrue(after.passed, after.criteria.map((c) => `${c.ok} ${c.text}`).join("; "));
    assertMatch(after.criteria[2].text, new RegExp(`new coordinator: node ${moved.nodeId} `));
    assertMatch(after.criteria[3].text, /Consumer \d: \d+ orders since/);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    if (killed !== undefined) await everyNodeUp();
    await Deno.remove(notesDir, { recursive: true });
  }
});
