/**
 * `deno task soak`: at-least-once under failure, on the real broker. Produces
 * 10,000 keyed orders while members of one group are killed (SIGKILL) and
 * restarted at random intervals, restarts the broker once, then reports
 * produced, consumed, lost (must be 0), duplicates, rebalances, wall time.
 * Starts the lab's broker if none answers. With `--nodes 3`, on the lab's
 * 3-node cluster (started if it is not running): nodes are killed with
 * SIGKILL instead, the group's coordinator first, one at a time, each
 * restarted; the report adds the nodes killed and the coordinator's moves.
 * Exit code 0 when nothing was lost.
 *
 * @module
 */
import { startBroker } from "../lib/kafka/broker.ts";
import { checkNodeCount, startCluster } from "../lib/kafka/cluster.ts";
import { BROKERS_FLAG, intFlag, parseFlags, runMain } from "../lib/cli/flags.ts";
import { brokerAnswers, resolveBrokers } from "../lib/kafka/config.ts";
import { runSoak, soakTable } from "../bench/soak.ts";
import { args } from "../lib/platform/runtime.ts";

await runMain(async () => {
  const { values } = parseFlags(args(), "deno task soak", {
    orders: { type: "string", default: "10000", help: "orders to produce" },
    members: { type: "string", default: "3", help: "members of the group" },
    "produce-ms": { type: "string", default: "30000", help: "spread producing over this long" },
    "kill-every-ms": { type: "string", default: "3000", help: "mean time between SIGKILLs" },
    "no-broker-restart": { type: "boolean", help: "do not restart the broker mid-run" },
    nodes: { type: "string", default: "1", help: "3: on the lab's 3-node cluster, killing nodes" },
    "node-kills": {
      type: "string",
      default: "2",
      help: "--nodes 3: nodes killed, one at a time (the coordinator first)",
    },
    mixed: {
      type: "boolean",
      help: "every second member on the new consumer protocol (KIP-848), the rest classic",
    },
    brokers: BROKERS_FLAG,
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const orders = intFlag("--orders", values.orders, { min: 1, max: 1_000_000 });
  const members = intFlag("--members", values.members, { min: 1, max: 12 });
  const produceMs = intFlag("--produce-ms", values["produce-ms"], { min: 0, max: 600_000 });
  const killEveryMs = intFlag("--kill-every-ms", values["kill-every-ms"], {
    min: 200,
    max: 600_000,
  });
  const nodes = intFlag("--nodes", values.nodes, { min: 0 });
  checkNodeCount(nodes);
  const nodeKills = intFlag("--node-kills", values["node-kills"], { min: 1, max: 20 });
  if (nodes > 1) {
    const cluster = await startCluster({ onProgress: (l) => console.log(`[cluster] ${l}`) });
    brokers.splice(0, brokers.length, ...cluster.brokers);
  } else if (!(await brokerAnswers(brokers, 3000))) {
    await startBroker({ onProgress: (l) => console.log(`[broker] ${l}`) });
  }
  const stamp = Date.now().toString(36);
  const report = await runSoak({
    brokers,
    topic: `soak-orders-${stamp}`,
    groupId: `soak-group-${stamp}`,
    orders,
    members,
    produceMs,
    killEveryMs,
    restartBroker: !values["no-broker-restart"],
    ...(nodes > 1 ? { cluster: {}, nodeKills } : {}),
    mixed: values.mixed === true,
    onLine: (line) => console.log(line),
  });
  console.log(`\n${soakTable(report)}`);
  const ok = report.lost === 0 && report.drained;
  console.log(
    ok
      ? "\nOK: nothing lost."
      : `\nFAILED: ${report.lost} lost${report.drained ? "" : ", group not drained"}.`,
  );
  return ok ? 0 : 1;
});
