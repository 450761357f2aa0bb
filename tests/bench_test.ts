import {
  interleave,
  pairVerdict,
  parseConsumerProgress,
  spread,
  steadyRate,
  throughputPlan,
} from "../bench/bench.ts";
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
