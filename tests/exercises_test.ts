/**
 * Every exercise's checker, driven on the real broker into a failing state and
 * into the passing state, with the verdict and the hint asserted for both.
 */
import { brokerPaths } from "../lib/kafka/broker.ts";
import { ORDER_PARTITIONS } from "../lib/kafka/config.ts";
import { exerciseById, type ExerciseContext } from "../lib/lessons/exercises.ts";
import { totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { GroupMember } from "../lib/kafka/member.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { applyReset, planReset } from "../lib/inspect/reset.ts";
import { TWINS } from "../lib/processes/polyglot.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { exerciseSetup, uniqueName, withAdmin } from "./harness.ts";

function check(id: string, ctx: Omit<ExerciseContext, "admin" | "partitions">) {
  return withAdmin((admin) =>
    exerciseById(id)!.check({
      ...ctx,
      admin,
      partitions: ORDER_PARTITIONS,
      brokerLog: brokerPaths().logFile,
    })
  );
}

async function startMembers(brokers: string[], groupId: string, topic: string, count: number) {
  const members: GroupMember[] = [];
  for (let i = 1; i <= count; i++) {
    members.push(await GroupMember.start({ brokers, groupId, name: `Consumer ${i}`, topic }));
  }
  await withAdmin((admin) =>
    waitForGroup(admin, groupId, (s) => s.state === "Stable" && s.members.length === count, 20_000)
  );
  return members;
}

/** Runs one member of `groupId` until it has caught up on `topic`, then stops it. */
async function catchUp(brokers: string[], groupId: string, topic: string) {
  const member = await GroupMember.start({ brokers, groupId, name: "Catch-up", topic });
  try {
    const { ok } = await withAdmin((admin) =>
      waitForGroup(admin, groupId, (s) => totalLag(s, topic) === 0, 15_000, { topics: [topic] })
    );
    assertTrue(ok, `${groupId} caught up`);
  } finally {
    await member.stop();
  }
}

Deno.test("exercise three-members: fails with two members, passes with three", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  const members = await startMembers(brokers, groups.billing, topic, 2);
  try {
    const failing = await check("three-members", { topic, groups });
    assertEquals(failing.passed, false);
    assertMatch(failing.hint!, /Start 1 more: deno task consumer3/);
    members.push(
      await GroupMember.start({ brokers, groupId: groups.billing, name: "Consumer 3", topic }),
    );
    await withAdmin((admin) =>
      waitForGroup(
        admin,
        groups.billing,
        (s) => s.state === "Stable" && s.members.length === 3,
        20_000,
      )
    );
    const passing = await check("three-members", { topic, groups });
    assertTrue(passing.passed, JSON.stringify(passing.criteria));
    assertEquals(passing.hint, undefined);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("exercise find-the-idle: a wrong answer fails, the idle member's name passes", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  const members = await startMembers(brokers, groups.billing, topic, 4);
  try {
    await new Promise((r) => setTimeout(r, 300)); // assignments reach every member
    const idle = members.find((m) => m.partitions?.length === 0)!;
    const busy = members.find((m) => m !== idle)!;
    const wrong = await check("find-the-idle", { topic, groups, answer: busy.name });
    assertEquals(wrong.passed, false);
    assertMatch(wrong.hint!, /Look again/);
    const right = await check("find-the-idle", { topic, groups, answer: idle.name });
    assertTrue(right.passed, JSON.stringify(right.criteria));
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("exercise every-group-every-order: fails while one group is behind, passes when all caught up", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  await produceOrders({ brokers, topic, count: 9, intervalMs: 0 });
  await catchUp(brokers, groups.inventory, topic);
  await catchUp(brokers, groups.billing, topic);
  const failing = await check("every-group-every-order", { topic, groups });
  assertEquals(failing.passed, false);
  assertEquals(failing.criteria.map((c) => c.ok), [true, true, false]);
  assertMatch(failing.hint!, new RegExp(`${groups.notification} is behind`));
  await catchUp(brokers, groups.notification, topic);
  const passing = await check("every-group-every-order", { topic, groups });
  assertTrue(passing.passed, JSON.stringify(passing.criteria));
});

Deno.test("exercise kill-and-move: fails before a kill, passes once the killed member's partitions moved", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  const extraArgs = ["--session-timeout-ms", "6000"];
  const members: MemberProcess[] = [];
  try {
    for (const name of ["Consumer 1", "Consumer 2", "Consumer 3"]) {
      members.push(await spawnMember({ groupId: groups.billing, name, brokers, topic, extraArgs }));
    }
    const failing = await check("kill-and-move", { topic, groups });
    assertEquals(failing.passed, false);
    assertMatch(failing.hint!, /kill -9/);
    await members[1].kill();
    await withAdmin((admin) =>
      waitForGroup(
        admin,
        groups.billing,
        (s) => s.state === "Stable" && s.members.length === 2,
        20_000,
      )
    );
    const passing = await check("kill-and-move", { topic, groups });
    assertTrue(passing.passed, JSON.stringify(passing.criteria));
    assertMatch(
      passing.criteria[0].text,
      /evicted consumer-2-\S+ \(no heartbeat\) and rebalanced: generation/,
    );
  } finally {
    await Promise.all(members.map((m) => m.kill()));
  }
});

Deno.test("exercise replay-last-5: passes when only billing is 5 behind", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  await produceOrders({ brokers, topic, count: 30, intervalMs: 0 });
  for (const g of Object.values(groups)) await catchUp(brokers, g, topic);
  const before = await check("replay-last-5", { topic, groups });
  assertEquals(before.passed, false);
  assertMatch(before.hint!, /--shift-by -5 --execute/);
  const shift = async (groupId: string) =>
    applyReset(
      brokers,
      groupId,
      topic,
      await withAdmin((admin) => planReset(admin, groupId, topic, { to: "shift", by: -5 })),
    );
  await shift(groups.billing);
  const passing = await check("replay-last-5", { topic, groups });
  assertTrue(passing.passed, JSON.stringify(passing.criteria));
  await shift(groups.inventory);
  const tooMuch = await check("replay-last-5", { topic, groups });
  assertEquals(tooMuch.passed, false, "inventory was rewound too");
  assertMatch(tooMuch.hint!, /reset only billing-group/);
});

Deno.test("exercise duplicate-on-purpose: fails with clean runs, passes after a crash before commit", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  const first = await spawnMember({ groupId: groups.billing, name: "Consumer 1", brokers, topic });
  await produceOrders({ brokers, topic, count: 3, intervalMs: 0 });
  await withAdmin((admin) =>
    waitForGroup(admin, groups.billing, (s) => totalLag(s, topic) === 0, 15_000, {
      topics: [topic],
    })
  );
  await first.stop();
  const clean = await check("duplicate-on-purpose", { topic, groups });
  assertEquals(clean.passed, false);
  assertMatch(clean.hint!, /--crash-after 3/);

  const crashy = await spawnMember({
    groupId: groups.billing,
    name: "Crashy",
    brokers,
    topic,
    extraArgs: ["--crash-after", "2", "--session-timeout-ms", "6000"],
  });
  await produceOrders({ brokers, topic, count: 6, intervalMs: 0 });
  assertEquals(await crashy.exited, 137, "crashed");
  const second = await spawnMember({ groupId: groups.billing, name: "Consumer 2", brokers, topic });
  try {
    await withAdmin((admin) =>
      waitForGroup(admin, groups.billing, (s) => totalLag(s, topic) === 0, 25_000, {
        topics: [topic],
      })
    );
  } finally {
    await second.stop();
  }
  const passing = await check("duplicate-on-purpose", { topic, groups });
  assertTrue(passing.passed, JSON.stringify(passing.criteria));
  assertMatch(String(passing.observed), /Crashy \(run 2\), then Consumer 2 \(run 3\)/);
});

Deno.test("exercise new-protocol: a classic member fails it, three consumer-protocol members pass", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  const start = (name: string, protocol: "classic" | "consumer") =>
    spawnMember({ groupId: groups.billing, name, brokers, topic, protocol });
  const members = [await start("Consumer 1", "consumer"), await start("Classic", "classic")];
  try {
    const failing = await check("new-protocol", { topic, groups });
    assertEquals(failing.passed, false);
    assertMatch(failing.hint!, /Stop the kafkajs members \(classic\)/);
    await members.pop()!.stop();
    members.push(await start("Consumer 2", "consumer"), await start("Consumer 3", "consumer"));
    await withAdmin((admin) =>
      waitForGroup(
        admin,
        groups.billing,
        (s) =>
          s.state === "Stable" && s.members.length === 3 &&
          s.members.every((m) => (m.assignment[topic] ?? []).length === 1),
        20_000,
      )
    );
    const passing = await check("new-protocol", { topic, groups });
    assertTrue(passing.passed, JSON.stringify(passing.criteria));
    assertEquals(passing.hint, undefined);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("exercise share-not-idle: passes with four share members, fails with three or a classic group", async () => {
  const ctx = await exerciseSetup();
  const { brokers, topic, groups } = ctx;
  // A classic group of that name: its members are not share members.
  const classic = await startMembers(brokers, groups.share, topic, 1);
  const notShare = await check("share-not-idle", ctx);
  await Promise.all(classic.map((m) => m.stop()));
  assertEquals(notShare.passed, false);
  assertMatch(notShare.hint!, /is a classic group: its members are kafkajs consumers/);

  const sharing = { ...ctx, groups: { ...groups, share: uniqueName("billing-share-group") } };
  const members = await Promise.all(
    [1, 2, 3, 4].map((i) =>
      TWINS.java.spawnShare({ groupId: sharing.groups.share, name: `Share ${i}`, brokers, topic })
    ),
  );
  try {
    let outcome = await check("share-not-idle", sharing);
    const deadline = Date.now() + 30_000;
    while (!outcome.passed && Date.now() < deadline) {
      await new Promise((r) => setTimeout(r, 500));
      outcome = await check("share-not-idle", sharing);
    }
    assertTrue(outcome.passed, outcome.criteria.map((c) => c.text).join("; "));
    await members[3].stop();
    const three = await check("share-not-idle", sharing);
    assertEquals(three.passed, false);
    assertMatch(three.hint!, /^Start 1 more: deno task share-consumer .* --name "Share 4"\.$/);
  } finally {
    await Promise.all(members.map((m) => m.stop()));
  }
});

Deno.test("exercise kill-the-coordinator: on a single broker it fails and says to start the cluster", async () => {
  const { brokers, topic, groups } = await exerciseSetup();
  const members = await startMembers(brokers, groups.billing, topic, 1);
  const notesDir = await Deno.makeTempDir({ prefix: "lab-checks-" });
  try {
    const outcome = await check("kill-the-coordinator", { topic, groups, notesDir });
    assertEquals(outcome.passed, false);
    assertMatch(outcome.criteria[0].text, /__consumer_offsets has 1 copy of each partition/);
    assertEquals(outcome.criteria[0].ok, false);
    assertEquals(
      outcome.hint,
      "Run it on the cluster: deno task broker start --nodes 3, then the members.",
    );
  } finally {
    await Promise.all(members.map((m) => m.stop()));
    await Deno.remove(notesDir, { recursive: true });
  }
});
