import {
  interleave,
  pairVerdict,
  parseConsumerProgress,
  spread,
  steadyRate,
  throughputPlan,
} from "../bench/bench.ts";
import { joinStart, longestGap, measureEvent, settled } from "../bench/protocols.ts";
import { LabError } from "../lib/cli/flags.ts";
import { assertEquals, assertMatch, assertThrows, assertTrue } from "./assert.ts";

Deno.test("spread: the median (middle two averaged) and the range of the trials", () => {
  assertEquals(spread([30, 10, 20]), { median: 20, min: 10, max: 30, trials: 3 });
  assertEquals(spread([4, 1, 3, 2]).median, 2.5);
  assertThrows(() => spread([]), RangeError);
});

Deno.test("steadyRate leaves the warm-up out: only the second half of the run counts", () => {
  // A JVM-like run: the first 500 records take 9 s, the next 500 take 1 s.
  const run = [
    { at: 0, count: 0 },
    { at: 9_000, count: 500 },
    { at: 9_500, count: 750 },
    { at: 10_000, count: 1_000 },
  ];
  assertEquals(steadyRate(run), 500, "500 records in the last second");
  // The mark is the first sample at or past half: 600 is past 500.
  assertEquals(
    steadyRate([{ at: 0, count: 0 }, { at: 5_000, count: 600 }, { at: 6_000, count: 1_000 }]),
    400,
  );
  assertThrows(() => steadyRate([{ at: 0, count: 1_000 }]), LabError);
  assertThrows(() => steadyRate([]), LabError);
  assertThrows(
    () => steadyRate([{ at: 0, count: 0 }, { at: 5, count: 9 }, { at: 5, count: 10 }]),
    LabError,
  );
});

Deno.test("pairVerdict: a ratio of medians on a full run, none on a short one", () => {
  const lab = spread([90, 100, 110]);
  const java = spread([190, 200, 210]);
  assertMatch(
    pairVerdict(lab, java, false),
    /^lab\/Java 0\.50 \(medians of 3 interleaved trials\)$/,
  );
  const quick = pairVerdict(lab, java, true);
  assertMatch(quick, /short run, no ratio/);
  assertTrue(!/\d/.test(quick), `no figure in ${quick}`);
  assertMatch(
    pairVerdict(spread([95, 100, 150]), spread([120, 130, 140]), false),
    /ranges overlap/,
  );
});

Deno.test("interleave runs the sides in turn, trial after trial", async () => {
  const order: string[] = [];
  const side = (name: string, value: number) => () => {
    order.push(name);
    return Promise.resolve(value * order.length);
  };
  const [lab, java] = await interleave(3, [side("lab", 1), side("java", 10)]);
  assertEquals(order, ["lab", "java", "lab", "java", "lab", "java"]);
  assertEquals(lab, [1, 3, 5]);
  assertEquals(java, [20, 40, 60]);
});

Deno.test("throughputPlan: full runs are 3 trials of at least 1,000,000 small records", () => {
  const full = throughputPlan(false);
  assertTrue(full.trials >= 3);
  assertTrue(full.bulk(100) >= 1_000_000);
  assertEquals(throughputPlan(true).trials, 1);
});

Deno.test("parseConsumerProgress reads ConsumerPerformance's detailed stats", () => {
  const text = [
    "2026-12-04 17:32:01:566, 0, 0.0001, 0.0004, 1, 3.9841, 215, 36, 0.0026, 27.7778",
    "some WARN line",
    "2026-12-04 17:32:01:766, 0, 26.3493, 131.7458, 276292, 1381455.0000, 0, 200, 131.7458, 1381455.0000",
  ].join("\n");
  const samples = parseConsumerProgress(text);
  assertEquals(samples.map((s) => s.count), [1, 276292]);
  assertEquals(samples[1].at - samples[0].at, 200);
});

/** Stamped member lines: `[at, line]` pairs. */
const stamped = (...pairs: [number, string][]) => pairs.map(([at, line]) => ({ at, line }));
const got = (member: string, partition: number) =>
  `${member} got message: {"order_id":"1"} from partition ${partition}`;

Deno.test("longestGap: the longest gap of a partition overlapping the window, or its stop", () => {
  const lines = stamped([0, got("A", 1)], [100, got("A", 1)], [900, got("A", 1)], [
    950,
    got("B", 2),
  ]);
  assertEquals(longestGap(lines, 1, 500, 600, 2_000), 800, "the gap 100..900 spans the window");
  assertEquals(longestGap(lines, 1, 0, 50, 2_000), 100, "gaps after the window do not count");
  assertEquals(longestGap(lines, 1, 1_000, 1_100, 2_000), 1_100, "stopped at 900, until 2000");
  assertEquals(longestGap(lines, 0, 1_000, 1_100, 2_000), 1_000, "never processed: all of it");
});

Deno.test("settled: every partition owned once, each member some, the joiner's line fresh", () => {
  const before = stamped([0, "M1 assigned: partitions 0, 1"], [1, "M2 assigned: partition 2"]);
  assertTrue(settled(before, ["M1", "M2"], 0));
  const joined = [
    ...before,
    ...stamped([10, "M3 assigned: none (idle)"], [20, "M1 revoked: partition 1"]),
  ];
  assertTrue(!settled(joined, ["M1", "M2", "M3"], 5, "M3"), "M3 idle, M1 still owns 1");
  joined.push(...stamped([30, "M1 assigned: partition 0"], [40, "M3 assigned: partition 1"]));
  assertTrue(settled(joined, ["M1", "M2", "M3"], 5, "M3"), "M2 unchanged, printed nothing");
  assertTrue(!settled(before, ["M1", "M2"], 5, "M1"), "a restarted M1 has not printed yet");
});

Deno.test("joinStart: the first sign of a join, a TypeScript member's own join time included", () => {
  assertEquals(
    joinStart(
      stamped([900, "M3 assigned: partition 2 [rebalance took 300 ms]"], [
        700,
        "M1 revoked: partition 2",
      ]),
      "M3",
    ),
    600,
  );
  assertEquals(joinStart(stamped([500, "M3 started (group g, assignor range)"]), "M3"), 500);
});

Deno.test("measureEvent: an eager join pauses the partition that stayed, a cooperative one does not", () => {
  // Two members, 67 messages/s per partition; M3 joins at 1000 and gets partition 2 at 1500.
  const steady = (from: number, to: number, owners: Record<number, string>) =>
    Array.from({ length: (to - from) / 15 }, (_, i) => from + i * 15).flatMap((at) =>
      Object.entries(owners).map(([p, m]) => [at, got(m, Number(p))] as [number, string])
    );
  const start = stamped([0, "M1 assigned: partitions 0, 1"], [0, "M2 assigned: partition 2"]);
  const after = stamped(
    [1500, "M1 assigned: partition 0"],
    [1500, "M2 assigned: partition 1"],
    [1500, "M3 assigned: partition 2"],
  );
  const measure = (lines: [number, string][]) =>
    measureEvent([...start, ...stamped(...lines)].sort((a, b) => a.at - b.at), {
      cause: 900,
      start: 1000,
      before: ["M1", "M2"],
      after: ["M1", "M2", "M3"],
    });
  const eager = measure([
    ...steady(15, 1000, { 0: "M1", 1: "M1", 2: "M2" }),
    ...after.map((l) => [l.at, l.line] as [number, string]),
    ...steady(1600, 6000, { 0: "M1", 1: "M2", 2: "M3" }),
  ]);
  assertEquals(eager.moved, [1, 2]);
  assertEquals(eager.durationMs, 500);
  // The last message before the join is at 975, the first after it at 1600.
  assertEquals(eager.stayedPauseMs, 1600 - 975, "partition 0 waited for the whole rebalance");
  const cooperative = measure([
    ...steady(15, 1500, { 0: "M1", 1: "M1" }),
    ...steady(15, 1000, { 2: "M2" }),
    ...after.map((l) => [l.at, l.line] as [number, string]),
    ...steady(1500, 6000, { 0: "M1", 1: "M2" }),
    ...steady(1600, 6000, { 2: "M3" }),
  ]);
  assertEquals(cooperative.stayedPauseMs, 15, "partition 0 never stopped");
  assertEquals(cooperative.movedPauseMs, 1600 - 975);
  assertEquals(cooperative.normalGapMs, 15);
});
