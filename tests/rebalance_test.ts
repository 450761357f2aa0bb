import { allPartitionsOwned, totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { produceOrders } from "../lib/kafka/producer.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { summarizeRun } from "../lib/inspect/summary.ts";
import { assertEquals, assertTrue } from "./assert.ts";
import { freshTopic, testBrokers, uniqueName, withAdmin } from "./harness.ts";

Deno.test("a member that leaves (SIGTERM) and one that dies (SIGKILL) hand their partitions over; nothing is lost", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic();
  const groupId = uniqueName("billing-group");
  // A short session timeout so the killed member is noticed within seconds.
  const extraArgs = ["--session-timeout-ms", "6000"];
  const members: MemberProcess[] = [];
  try {
    for (const name of ["Consumer 1", "Consumer 2", "Consumer 3"]) {
      members.push(await spawnMember({ groupId, name, brokers, topic, extraArgs }));
    }
    const [leaver, victim, survivor] = members;
    await withAdmin(async (admin) => {
      const settled = await waitForGroup(
        admin,
        groupId,
        (s) =>
          s.members.length === 3 && allPartitionsOwned(s, topic, 3) &&
          s.members.every((m) => (m.assignment[topic] ?? []).length === 1),
        20_000,
      );
      assertTrue(settled.ok, "three members, one partition each");

      const producing = produceOrders({ brokers, topic, count: 60, intervalMs: 50 });
      await new Promise((r) => setTimeout(r, 600));
      const leftAt = Date.now();
      assertEquals(await leaver.stop(), 0, "Consumer 1 exits cleanly on SIGTERM");
      const afterLeave = await waitForGroup(
        admin,
        groupId,
        (s) => s.members.length === 2 && allPartitionsOwned(s, topic, 3),
        10_000,
      );
      assertTrue(afterLeave.ok, "the leaver's partition moved");
      const graceful = Date.now() - leftAt;
      assertTrue(graceful < 5_000, `graceful leave rebalanced in ${graceful} ms`);

      await victim.kill();
      const killedAt = Date.now();
      const afterKill = await waitForGroup(
        admin,
        groupId,
        (s) => s.members.length === 1 && allPartitionsOwned(s, topic, 3),
        20_000,
      );
      assertTrue(afterKill.ok, "the killed member's partitions moved to the survivor");
      const crash = Date.now() - killedAt;
      assertTrue(crash < 6_000 + 4_000, `crash noticed after ${crash} ms (session timeout 6 s)`);

      const sent = await producing;
      const caughtUp = await waitForGroup(admin, groupId, (s) => totalLag(s, topic) === 0, 20_000, {
        topics: [topic],
      });
      assertTrue(caughtUp.ok, "the survivor caught up");
      await survivor.stop();

      const ranges = [0, 1, 2].map((partition) => ({
        partition,
        from: 0,
        to: sent.filter((s) => s.partition === partition).length,
      }));
      const summary = summarizeRun(
        await Promise.all(members.map(async (m) => ({ name: m.name, events: await m.events() }))),
        ranges,
      );
      assertEquals(summary.expected, 60);
      assertEquals(summary.missing, [], "every message consumed at least once");
      assertEquals(summary.members.find((m) => m.name === "Consumer 3")?.partitions, [0, 1, 2]);
    });
  } finally {
    await Promise.all(members.map((m) => m.kill()));
  }
});
