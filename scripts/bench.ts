/**
 * `deno task bench [throughput|scaleout|rebalance|coldstart|suite|protocols ...] [--quick]`:
 * measures the lab against references in the same run, prints a Markdown
 * table and writes it, with an SVG chart of the scale-out, to bench/results/
 * (results.md); the rebalance protocols side by side go to protocols.md and
 * protocols.svg.
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
  benchProtocols,
  type ProtocolRow,
  PROTOCOLS_DEFINITIONS,
  protocolsChart,
  protocolsTable,
  protocolVersions,
} from "../bench/protocols.ts";
import {
  args,
  machineSummary,
  mkdirp,
  projectPath,
  writeTextFile,
} from "../lib/platform/runtime.ts";

const BENCHES = ["throughput", "scaleout", "rebalance", "coldstart", "suite", "protocols"] as const;

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
  let protocols: ProtocolRow[] | undefined;
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
    if (bench === "protocols") protocols = await benchProtocols(ctx);
  }
  // Other work on the machine slows both sides of a pair alike (trials interleave), but not evenly.
  const machine = `${machineSummary()}, 1-minute load average ${loadAtStart.toFixed(1)} at the ` +
    `start and ${loadavg()[0].toFixed(1)} at the end`;
  const dir = projectPath("bench/results/");
  await mkdirp(dir);
  const when = `${new Date().toISOString()} on ${machine}${quick ? " (--quick: one trial)" : ""}`;
  if (protocols) {
    const table = protocolsTable(protocols);
    await writeTextFile(
      `${dir}protocols.md`,
      `# Rebalance protocols side by side\n\n${when}; ${await protocolVersions()}.\n\n` +
        `${PROTOCOLS_DEFINITIONS}\n\n${table}\n\n![rebalance pauses](protocols.svg)\n`,
    );
    await writeTextFile(`${dir}protocols.svg`, protocolsChart(protocols));
    console.log(`\n${table}\n`);
  }
  if (rows.length > 0) {
    const table = markdownTable(rows);
    await writeTextFile(`${dir}results.md`, `# Benchmark results\n\n${when}\n\n${table}\n`);
    if (chart) await writeTextFile(`${dir}scaleout.svg`, chart);
    console.log(`\n${table}\n`);
  }
  console.log(`Machine: ${machine}. Written to bench/results/.`);
});
