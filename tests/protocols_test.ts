/**
 * Static members and cooperative rebalancing with the Java member
 * (`java/Consumer.java`), on the real broker: a static member killed and
 * restarted within the session timeout gets its partitions back and the group
 * sees no rebalance (watch's timeline included); when a third member joins,
 * an eager assignor revokes every partition and cooperative-sticky only the
 * one that moves; a consumer-protocol Java member joins lab members of a
 * consumer-protocol group the same way; bad flags are one line and exit 2;
 * the member leaves when the process that started it dies.
 */
import { GroupWatch, runWatch } from "../lib/inspect/watch.ts";
import { snapshotGroup } from "../lib/inspect/groups.ts";
import {
  lastAssignment,
  parseMemberLine,
  type PolyglotMember,
  type PolyglotMemberOptions,
  TWINS,
} from "../lib/processes/polyglot.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { processAlive } from "../lib/platform/runtime.ts";
import { sleep, until } from "../lib/platform/wait.ts";
import { assertEquals, assertMatch, assertTrue } from "./assert.ts";
import { freshTopic, memberOfAParent, testBrokers, uniqueName, withAdmin } from "./harness.ts";

type JavaOptions = Omit<PolyglotMemberOptions, "groupId" | "brokers" | "topic">;

/** Starts Java members of one group on `topic`, one per entry of `each`, in parallel. */
async function startJava(groupId: string, topic: string, each: JavaOptions[]) {
  const brokers = await testBrokers();
  return Promise.all(each.map((o) => TWINS.java.spawn({ groupId, brokers, topic, ...o })));
}

/** Waits until the members' last assignment lines split the 3 partitions, each owning one or more. */
async function settled(members: { name: string; lines: string[] }[]): Promise<void> {
  const split = () => members.map((m) => lastAssignment(m.lines) ?? []);
  assertTrue(
    await until(() => {
      const all = split().flat().sort();
      return split().every((ps) => ps.length > 0) && all.join() === "0,1,2";
    }, 30_000),
    `settled: ${members.map((m) => m.lines.join(" | ")).join(" || ")}`,
  );
}

/** The partitions `lines` (from index `from`) say were revoked, sorted. */
function revokedIn(lines: string[], from = 0): number[] {
  return lines.slice(from).map(parseMemberLine)
    .flatMap((p) => p?.type === "revoked" ? p.partitions : []).filter((p, i, all) =>
      all.indexOf(p) === i
    ).sort();
}

Deno.test("a static member killed and restarted within the session timeout gets its partitions back, with no rebalance", async () => {
  const topic = await freshTopic("static");
  const groupId = uniqueName("static-group");
  const [gold, silver] = await startJava(groupId, topic, [
    { name: "Gold", instanceId: "gold" },
    { name: "Silver", instanceId: "silver" },
  ]);
  let back: PolyglotMember | undefined;
  await withAdmin(async (admin) => {
    const watch = new GroupWatch(admin, { groupId, topic });
    const stop = new AbortController();
    let watching: Promise<void> | undefined;
    try {
      await settled([gold, silver]);
      const owned = lastAssignment(gold.lines);
      const silverSaid = silver.lines.length;
      const before = await watch.poll(); // the settled group: the timeline starts here
      watching = runWatch(watch, 200, stop.signal, () => {});
      await gold.kill(); // SIGKILL: no LeaveGroup (a static member sends none anyway)
      [back] = await startJava(groupId, topic, [{ name: "Gold", instanceId: "gold" }]);
      assertTrue(
        await until(() => lastAssignment(back!.lines) !== undefined, 30_000),
        back.lines.join(" | "),
      );
      assertEquals(lastAssignment(back.lines), owned, "the same partitions, at once");
      await sleep(1_500); // room for a rebalance, if there were one
      assertEquals(silver.lines.slice(silverSaid), [], "Silver saw nothing: no revocation");
      stop.abort();
      await watching;
      const after = await snapshotGroup(admin, groupId);
      const id = (s: typeof after) => s.members.find((m) => m.instanceId === "gold")?.memberId;
      assertTrue(id(before) !== undefined && id(after) !== undefined && id(before) !== id(after));
      assertEquals(watch.timeline.rebalances, [], "watch: a new member id, no rebalance");
    } finally {
      stop.abort();
      await watching;
      await Promise.all([gold.stop(), silver.stop(), back?.stop()]);
    }
  });
});

Deno.test("a third member joins: eager range revokes every partition, cooperative-sticky only the one that moves", async () => {
  const topic = await freshTopic("cooperative");
  const joins = await Promise.all(
    (["range", "cooperative-sticky"] as const).map(async (assignor) => {
      const groupId = uniqueName(`${assignor}-group`);
      const names = ["J1", "J2"].map((name) => ({ name, assignor }));
      const first = await startJava(groupId, topic, names);
      await settled(first);
      const owned = first.map((m) => lastAssignment(m.lines)!);
      const said = first.map((m) => m.lines.length);
      const [third] = await startJava(groupId, topic, [{ name: "J3", assignor }]);
      const members = [...first, third];
      try {
        await settled(members);
        await sleep(500); // a cooperative rebalance's second round: nothing more is revoked
        return {
          owned,
          revoked: first.map((m, i) => revokedIn(m.lines, said[i])),
          third: lastAssignment(third.lines)!,
        };
      } finally {
        await Promise.all(members.map((m) => m.stop()));
      }
    }),
  );
  const [eager, cooperative] = joins;
  assertEquals(eager.revoked, eager.owned, "eager: each member gave up all it owned");
  assertEquals(cooperative.revoked.flat(), cooperative.third, "cooperative: only what J3 got");
  assertEquals(cooperative.third.length, 1);
  const kept = cooperative.owned.findIndex((ps) => ps.length === 1);
  assertEquals(cooperative.revoked[kept], [], "the member with one partition kept it, unrevoked");
});

Deno.test("a consumer-protocol Java member joins two consumer-protocol lab members: one partition moves", async () => {
  const brokers = await testBrokers();
  const topic = await freshTopic("consumer-protocol");
  const groupId = uniqueName("consumer-protocol-group");
  const lab: MemberProcess[] = [];
  let java: PolyglotMember | undefined;
  try {
    for (const name of ["TS 1", "TS 2"]) {
      lab.push(await spawnMember({ groupId, name, brokers, topic, protocol: "consumer" }));
    }
    await settled(lab);
    const owned = lab.map((m) => lastAssignment(m.lines)!);
    [java] = await startJava(groupId, topic, [{ name: "Java", groupProtocol: "consumer" }]);
    await settled([...lab, java]);
    const now = lab.map((m) => lastAssignment(m.lines)!);
    const two = owned.findIndex((ps) => ps.length === 2);
    assertEquals(now[1 - two], owned[1 - two], "the member with one partition kept it");
    assertEquals(
      [...now[two], ...lastAssignment(java.lines)!].sort(),
      owned[two],
      "the Java member took one of the other's two",
    );
    assertMatch(
      java.lines[0],
      /^Java started \(group .*, consumer protocol, assignor the broker's/,
    );
    const snapshot = await withAdmin((admin) => snapshotGroup(admin, groupId));
    assertEquals(snapshot.type, "consumer");
    assertEquals(snapshot.members.map((m) => m.upgraded), [true, true, true]);
  } finally {
    await Promise.all([...lab.map((m) => m.stop()), java?.stop()]);
  }
});

Deno.test("the Java member's bad flags: one line each, exit code 2", async () => {
  const cases: [string[], RegExp][] = [
    [["--group-protocol", "kip848"], /--group-protocol takes classic or consumer, got 'kip848'/],
    [
      ["--assignor", "uniform"],
      /--assignor takes range, roundrobin, cooperative-sticky, .*'uniform'/,
    ],
    [
      ["--group-protocol", "consumer", "--assignor", "cooperative-sticky"],
      /--assignor with --group-protocol consumer takes uniform or range .*'cooperative-sticky'/,
    ],
    [["--process-ms", "-5"], /--process-ms and --run-seconds take numbers >= 0/],
  ];
  const topic = await freshTopic("bad-flags");
  const runs = await startJava(
    "billing-group",
    topic,
    cases.map(([extraArgs]) => ({ name: "Java", extraArgs })),
  );
  for (const [i, member] of runs.entries()) {
    assertEquals(await member.exited, 2, member.lines.join(" | "));
    assertEquals(member.lines.length, 1, member.lines.join(" | "));
    assertMatch(
      member.lines[0],
      new RegExp(`^error: .*${cases[i][1].source}.* \\(see: .*--help\\)$`),
    );
  }
});

Deno.test("the Java member leaves its group when the process that started it is SIGKILLed", async () => {
  const topic = await freshTopic("orphan");
  const groupId = uniqueName("orphans");
  const { parent, pid, lines } = await memberOfAParent("java.spawn", { groupId, topic });
  assertTrue(await until(() => lastAssignment(lines) !== undefined, 30_000), lines.join(" | "));
  parent.kill("SIGKILL");
  await parent.exited;
  assertTrue(
    await until(() => !processAlive(pid), 10_000),
    `the member ${pid} outlived its parent`,
  );
  // It left (LeaveGroup): the group is empty at once, not after the 10 s session timeout.
  const snapshot = await withAdmin((admin) => snapshotGroup(admin, groupId));
  assertEquals(snapshot.members, [], `${groupId} after the member's exit`);
});
