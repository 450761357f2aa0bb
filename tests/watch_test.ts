import { brokerPaths } from "../lib/kafka/broker.ts";
import type { GroupSnapshot } from "../lib/inspect/groups.ts";
import { spawnMember } from "../lib/processes/spawn.ts";
import {
  departuresFromBrokerLog,
  GroupWatch,
  nextTimeline,
  rebalanceReason,
  runWatch,
  type Timeline,
} from "../lib/inspect/watch.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";

function snapshot(at: number, state: string, members: [string, number[]][]): GroupSnapshot {
  return {
    groupId: "g",
    state,
    protocol: "RoundRobinAssigner",
    at,
    partitions: [],
    members: members.map(([id, partitions]) => ({
      memberId: id,
      clientId: id.split("-")[0],
      host: "/127.0.0.1",
      assignment: { t: partitions },
    })),
  };
}

Deno.test("the timeline records a rebalance from its first unsettled snapshot to the next Stable one", () => {
  const snapshots = [
    snapshot(0, "Stable", [["a-1", [0, 1, 2]]]),
    snapshot(100, "Stable", [["a-1", [0, 1, 2]]]),
    snapshot(200, "PreparingRebalance", [["a-1", []], ["b-2", []]]),
    snapshot(300, "CompletingRebalance", [["a-1", []], ["b-2", []]]),
    snapshot(400, "Stable", [["a-1", [0, 2]], ["b-2", [1]]]),
    snapshot(500, "Stable", [["b-2", [0, 1, 2]]]), // between two polls: a left
  ];
  let timeline: Timeline = { rebalances: [] };
  for (const s of snapshots) timeline = nextTimeline(timeline, s, "t");
  const [join, leave] = timeline.rebalances;
  assertEquals(timeline.rebalances.length, 2);
  assertEquals([join.startedAt, join.endedAt, join.durationMs, join.joined], [200, 400, 200, [
    "b",
  ]]);
  assertEquals(join.assignment, [{ member: "a", partitions: [0, 2] }, {
    member: "b",
    partitions: [1],
  }]);
  assertEquals([leave.startedAt, leave.durationMs, leave.departed.map((d) => d.memberId)], [
    400,
    0,
    ["a-1"],
  ]);
  assertEquals(rebalanceReason(leave, new Map()), "a left or timed out");
  assertEquals(rebalanceReason(leave, new Map([["a-1", "left"]])), "a left (LeaveGroup)");
});

Deno.test("a static member back with a new member id and its partitions is no rebalance; a dynamic one is", () => {
  const staticAs = (s: GroupSnapshot, instanceId: string) => ({
    ...s,
    members: s.members.map((m) => m.memberId.startsWith("a-") ? { ...m, instanceId } : m),
  });
  const before = snapshot(0, "Stable", [["a-1", [0, 1]], ["b-2", [2]]]);
  const after = snapshot(1000, "Stable", [["a-9", [0, 1]], ["b-2", [2]]]); // a restarted
  const timeline = (snapshots: GroupSnapshot[]) =>
    snapshots.reduce((t, s) => nextTimeline(t, s, "t"), { rebalances: [] } as Timeline);
  assertEquals(timeline([staticAs(before, "gold-a"), staticAs(after, "gold-a")]).rebalances, []);
  const [restart] = timeline([before, after]).rebalances;
  assertEquals([restart.joined, restart.departed.map((d) => d.memberId)], [["a"], ["a-1"]]);
});

Deno.test("departures are read from the coordinator's lines in the broker log", () => {
  const log = [
    "[2026-11-24 10:12:43,176] INFO [GroupCoordinator id=1 topic=__consumer_offsets partition=9] [Group billing-group] Member c-1 has left group through explicit `LeaveGroup` request; client reason: not provided (GroupMetadataManager)",
    "[2026-11-24 10:10:38,148] INFO [GroupCoordinator id=1 topic=__consumer_offsets partition=9] Member c-2 in group billing-group has failed, removing it from the group. (GroupMetadataManager)",
    "[2026-11-24 10:10:38,148] INFO [GroupCoordinator id=1 topic=__consumer_offsets partition=9] Member c-3 in group other-group has failed, removing it from the group. (GroupMetadataManager)",
  ].join("\n");
  assertEquals([...departuresFromBrokerLog(log, "billing-group")], [["c-1", "left"], [
    "c-2",
    "timed out",
  ]]);
});

Deno.test("watch records a join, a graceful leave and a crash, in order, from outside the group", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("watched-group");
  const extraArgs = ["--session-timeout-ms", "6000"];
  await withAdmin(async (admin) => {
    const watch = new GroupWatch(admin, { groupId, topic, brokerLog: brokerPaths().logFile });
    const stop = new AbortController();
    const watching = runWatch(watch, 150, stop.signal, () => {});
    const members = [];
    const until = async (condition: () => boolean, ms: number) => {
      const deadline = Date.now() + ms;
      while (!condition() && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
      return condition();
    };
    try {
      // The first snapshot (the group does not exist yet) is the baseline the joins are seen against.
      assertTrue(await until(() => watch.latest !== undefined, 5_000), "a first snapshot");
      members.push(await spawnMember({ groupId, name: "Consumer 1", brokers, topic, extraArgs }));
      members.push(await spawnMember({ groupId, name: "Consumer 2", brokers, topic, extraArgs }));
      members.push(await spawnMember({ groupId, name: "Consumer 3", brokers, topic, extraArgs }));
      const settled = () => watch.latest?.state === "Stable" && watch.latest.members.length;
      assertTrue(await until(() => settled() === 3, 15_000), "three members seen");
      const rebalancesBefore = watch.timeline.rebalances.length;
      await members[0].stop();
      assertTrue(await until(() => settled() === 2, 10_000), "the leave seen");
      const killedAt = Date.now();
      await members[1].kill();
      assertTrue(await until(() => settled() === 1, 20_000), "the crash seen");
      const crashSeenAfter = Date.now() - killedAt;
      await new Promise((r) => setTimeout(r, 300)); // one more poll reads the broker log

      const reasons = watch.timeline.rebalances.map((r) => rebalanceReason(r, watch.departures));
      // Two joins less than a poll apart show as one rebalance: check who joined, not how often.
      assertEquals(
        watch.timeline.rebalances.slice(0, rebalancesBefore).flatMap((r) => r.joined).sort(),
        ["consumer-1", "consumer-2", "consumer-3"],
        reasons.join(" | "),
      );
      const [leave, crash] = watch.timeline.rebalances.slice(rebalancesBefore).map((r, i) => ({
        rebalance: r,
        reason: reasons[rebalancesBefore + i],
      }));
      assertEquals(watch.timeline.rebalances.length, rebalancesBefore + 2, reasons.join(" | "));
      assertEquals(leave.reason, "consumer-1 left (LeaveGroup)");
      assertEquals(crash.reason, "consumer-2 timed out (no heartbeat within the session timeout)");
      assertTrue(leave.rebalance.endedAt < crash.rebalance.startedAt, "leave before crash");
      for (const { rebalance } of [leave, crash]) {
        assertTrue(rebalance.durationMs < 5_000, `a rebalance took ${rebalance.durationMs} ms`);
      }
      assertTrue(
        crashSeenAfter > 3_000 && crashSeenAfter < 6_000 + 5_000,
        `crash seen after ${crashSeenAfter} ms`,
      );
      assertEquals(crash.rebalance.assignment, [{ member: "consumer-3", partitions: [0, 1, 2] }]);
      assertMatch(await watch.frame(), /REBALANCE TIMELINE/);
    } finally {
      stop.abort();
      await watching;
      await Promise.all(members.map((m) => m.kill()));
    }
  });
});
