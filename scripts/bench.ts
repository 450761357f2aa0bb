/**
 * `deno task bench [throughput|scaleout|rebalance|coldstart|suite|failover ...] [--quick]`:
 * measures the lab against references in the same run, prints a Markdown
 * table and writes it, with an SVG chart of the scale-out, to bench/results/.
 * `failover` (run only when named: it starts the lab's 3-node cluster and
 * kills nodes) writes bench/results/failover.md of its own.
 *
 * @module
 */
import { loadavg } from "node:os";
import { benchFailover } from "../bench/failover.ts";
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

const BENCHES = ["throughput", "scaleout", "rebalance", "coldstart", "suite", "failover"] as const;
/** Run only when named: they start and kill brokers of their own. */
const ON_REQUEST = ["failover"];

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
    : BENCHES.filter((b) => !(quick && b === "suite") && !ON_REQUEST.includes(b));
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const measured = chosen.filter((b) => !ON_REQUEST.includes(b));
  if (measured.length > 0 && !(await brokerAnswers(brokers, 3000))) {
    await startBroker({ onProgress: console.log });
  }
  const ctx: BenchContext = { brokers, quick, say: (line) => console.log(line) };
  const loadAtStart = loadavg()[0];
  const rows: BenchRow[] = [];
  let chart: string | undefined;
  const failoverRows: BenchRow[] = [];
  for (const bench of chosen) {
    if (bench === "failover") {
      failoverRows.push(...await benchFailover({ trials: quick ? 1 : 3, say: ctx.say }));
    }
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
  const dir = projectPath("bench/results/");
  await mkdirp(dir);
  const write = async (file: string, title: string, table: string) => {
    await writeTextFile(
      `${dir}${file}`,
      `# ${title}\n\n${new Date().toISOString()} on ${machine}${
        quick ? " (--quick)" : ""
      }\n\n${table}\n`,
    );
    console.log(`\n${table}\n\nMachine: ${machine}. Written to bench/results/${file}.`);
  };
  if (rows.length > 0) await write("results.md", "Benchmark results", markdownTable(rows));
  if (chart) await writeTextFile(`${dir}scaleout.svg`, chart);
  if (failoverRows.length > 0) {
    await write("failover.md", "Failover: the group consuming again", markdownTable(failoverRows));
  }
});
