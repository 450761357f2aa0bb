import { snapshotGroup, totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { GroupMember } from "../lib/kafka/member.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { applyReset, parseDateTime, parseDuration, planReset } from "../lib/inspect/reset.ts";
import { assertEquals, assertMatch, assertRejects, assertThrows } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";
import { projectPath } from "../lib/platform/runtime.ts";

/** A group that has read `count` orders of a fresh topic and committed, now with no members. */
async function committedGroup(count: number) {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  await produceOrders({ brokers, topic, count, intervalMs: 0 });
  const member = await GroupMember.start({ brokers, groupId, name: "Consumer 1", topic });
  await withAdmin((admin) =>
    waitForGroup(
      admin,
      groupId,
      (s) => s.state === "Stable" && totalLag(s, topic) === 0,
      15_000,
      { topics: [topic] },
    )
  );
  await member.stop();
  return { brokers, topic, groupId };
}

const committed = async (groupId: string, topic: string) =>
  (await withAdmin((admin) => snapshotGroup(admin, groupId, [topic]))).partitions.map((p) =>
    p.currentOffset
  );

Deno.test("reset-offsets: a dry run changes nothing; --execute applies exactly the plan", async () => {
  const { topic, groupId } = await committedGroup(15);
  const before = await committed(groupId, topic);
  const plan = await withAdmin((admin) =>
    planReset(admin, groupId, topic, { to: "shift", by: -2 })
  );
  assertEquals(plan.map((s) => s.current), before);
  assertEquals(plan.map((s) => s.target), before.map((c) => Math.max(0, c! - 2)));
  assertEquals(await committed(groupId, topic), before, "planning changed nothing");
  await applyReset(await testBrokers(), groupId, topic, plan);
  assertEquals(await committed(groupId, topic), plan.map((s) => s.target));

  const earliest = await withAdmin((admin) => planReset(admin, groupId, topic, { to: "earliest" }));
  assertEquals(earliest.map((s) => s.target), [0, 0, 0]);
  const beyond = await withAdmin((admin) =>
    planReset(admin, groupId, topic, { to: "offset", offset: 1_000 })
  );
  const ends = (await withAdmin((admin) => snapshotGroup(admin, groupId, [topic]))).partitions.map((
    p,
  ) => p.logEndOffset);
  assertEquals(beyond.map((s) => s.target), ends, "clamped to the log end, as Kafka does");
  const recent = await withAdmin((admin) =>
    planReset(admin, groupId, topic, { to: "duration", ms: 3_600_000 })
  );
  assertEquals(recent.map((s) => s.target), [0, 0, 0], "everything is less than an hour old");
});

Deno.test("reset-offsets refuses while the group has members", async () => {
  const { brokers, topic, groupId } = await committedGroup(3);
  const member = await GroupMember.start({ brokers, groupId, name: "Consumer 1", topic });
  try {
    await member.waitForAssignment();
    const plan = await withAdmin((admin) => planReset(admin, groupId, topic, { to: "earliest" }));
    await assertRejects(
      () => applyReset(brokers, groupId, topic, plan),
      /Assignments can only be reset if the group '.*' is inactive, but the current state is/,
    );
  } finally {
    await member.stop();
  }
});

Deno.test("reset-offsets reads ISO durations and rejects bad flags with exit 2", async () => {
  assertEquals(parseDuration("PT10M"), 600_000);
  assertEquals(parseDuration("P1DT2H3M4S"), ((24 + 2) * 60 + 3) * 60_000 + 4_000);
  assertThrows(() => parseDuration("10m"));
  assertThrows(() => parseDuration("PT"));
  assertThrows(() => parseDuration("-PT10M"), /must not be negative/);
  assertThrows(() => parseDuration("P99999999999D"), /before 1970/);
  assertEquals(parseDateTime("2026-11-24T10:00:00Z"), 1_795_514_400_000);
  assertEquals(parseDateTime("2026-11-24T11:00:00.000+01:00"), 1_795_514_400_000);
  for (const notADateTime of ["1", "2026-11-24", "yesterday", "2026-11-24T10:00:00 PM"]) {
    assertThrows(() => parseDateTime(notADateTime), /needs an ISO-8601 date-time/);
  }
  assertThrows(() => parseDateTime("1960-01-01T00:00:00Z"), /before 1970/);
  const script = projectPath("scripts/reset_offsets.ts");
  for (
    const args of [
      ["--group", "g", "--to-earliest", "--to-latest"],
      ["--group", "g", "--shift-by", "x"],
      ["--group", "g", "--by-duration", "-PT10M"],
      ["--group", "g", "--by-duration", "P99999999999D"],
      ["--group", "g", "--to-datetime", "1"],
    ]
  ) {
    const out = await new Deno.Command(Deno.execPath(), {
      args: ["run", "-A", script, ...args],
      stderr: "piped",
      stdout: "null",
    }).output();
    const stderr = new TextDecoder().decode(out.stderr).trim();
    assertEquals(out.code, 2, stderr);
    assertMatch(stderr, /^error: [^\n]+$/);
  }
});
