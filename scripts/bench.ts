/**
 * `deno task bench [throughput|scaleout|rebalance|coldstart|suite ...] [--quick]`:
 * measures the lab against references in the same run, prints a Markdown
 * table and writes it, with an SVG chart of the scale-out, to bench/results/.
 *
 * @module
 */
import { loadavg } from "node:os";
import { startBroker } from "../lib/kafka/broker.ts";
import { BROKERS_FLAG, parseFlags, runMain, UsageError } from "../lib/cli/flags.ts";
import { brokerAnswers, resolveBrokers } from "../lib/kafka/config.ts";
import {
  benchColdStart,
  type BenchContext,
  benchRebalance,
  type BenchRow,
  benchScaleOut,
  benchSuite,
  benchThroughput,
  markdownTable,
  scaleOutChart,
} from "../bench/bench.ts";
import {
  args,
  machineSummary,
  mkdirp,
  projectPath,
  writeTextFile,
} from "../lib/platform/runtime.ts";

const BENCHES = ["throughput", "scaleout", "rebalance", "coldstart", "suite"] as const;

await runMain(async () => {
  const { values, positionals } = parseFlags(args(), "deno task bench", {
    quick: {
      type: "boolean",
      help: "short runs (one trial, no lab/Java ratios), 3 partitions only, no test-suite run",
    },
    brokers: BROKERS_FLAG,
  }, { positionals: `[${BENCHES.join("|")} ...]` });
  const unknown = positionals.filter((p) => !(BENCHES as readonly string[]).includes(p));
  if (unknown.length > 0) {
    throw new UsageError(`unknown bench '${unknown[0]}': use ${BENCHES.join(", ")}`);
  }
  const quick = Boolean(values.quick);
  const chosen = positionals.length > 0
    ? positionals
    : BENCHES.filter((b) => !(quick && b === "suite"));
  const brokers = resolveBrokers(values.brokers as string | undefined);
  if (!(await brokerAnswers(brokers, 3000))) await startBroker({ onProgress: console.log });
  const ctx: BenchContext = { brokers, quick, say: (line) => console.log(line) };
  const loadAtStart = loadavg()[0];
  const rows: BenchRow[] = [];
  let chart: string | undefined;
  for (const bench of chosen) {
    if (bench === "throughput") rows.push(...await benchThroughput(ctx));
    if (bench === "scaleout") {
      const { rows: scale, series } = await benchScaleOut(ctx);
      rows.push(...scale);
      chart = scaleOutChart(series);
    }
    if (bench === "rebalance") rows.push(...await benchRebalance(ctx));
    if (bench === "coldstart") rows.push(...await benchColdStart(ctx));
    if (bench === "suite") rows.push(...await benchSuite(ctx));
  }
  // Other work on the machine slows both sides of a pair alike (trials interleave), but not evenly.
  const machine = `${machineSummary()}, 1-minute load average ${loadAtStart.toFixed(1)} at the ` +
    `start and ${loadavg()[0].toFixed(1)} at the end`;
  const table = markdownTable(rows);
  const dir = projectPath("bench/results/");
  await mkdirp(dir);
  await writeTextFile(
    `${dir}results.md`,
    `# Benchmark results\n\n${new Date().toISOString()} on ${machine}${
      quick ? " (--quick)" : ""
    }\n\n${table}\n`,
  );
  if (chart) await writeTextFile(`${dir}scaleout.svg`, chart);
  console.log(`\n${table}\n\nMachine: ${machine}. Written to bench/results/.`);
});
