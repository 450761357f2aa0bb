/**
 * `deno task broker start|stop|status|logs|fetch|reset [--nodes 3]`: the lab's
 * embedded Kafka broker, or with `--nodes 3` its 3-node cluster.
 *
 * @module
 */
import { intFlag, parseFlags, runMain, UsageError } from "../lib/cli/flags.ts";
import {
  brokerLogTail,
  type BrokerOptions,
  brokerPaths,
  brokerStatus,
  fetchKafkaJars,
  findJava,
  resetBroker,
  startBroker,
  stopBroker,
} from "../lib/kafka/broker.ts";
import {
  checkNodeCount,
  CLUSTER_NODES,
  type ClusterOptions,
  clusterPaths,
  clusterStatus,
  nodeOptions,
  resetCluster,
  startCluster,
  stopCluster,
} from "../lib/kafka/cluster.ts";
import { probeMessage } from "../lib/kafka/config.ts";
import { args } from "../lib/platform/runtime.ts";

await runMain(async () => {
  const { values, positionals } = parseFlags(args(), "deno task broker", {
    port: {
      type: "string",
      help: "client port on 127.0.0.1 (default 9092 or KAFKA_PORT); --nodes 3: node N on port + 2N",
    },
    "data-dir": {
      type: "string",
      help: "state folder (default .lab/broker or LAB_BROKER_DIR; --nodes 3: .lab/cluster or " +
        "LAB_CLUSTER_DIR)",
    },
    lines: { type: "string", default: "40", help: "logs: how many lines to show" },
    nodes: {
      type: "string",
      default: "1",
      help: "1: the single broker; 3: a 3-node cluster (ports KAFKA_PORT+2..+7, .lab/cluster)",
    },
    node: { type: "string", help: "logs --nodes 3: only this node's log (1 to 3)" },
  }, { positionals: "start|stop|status|logs|fetch|reset" });
  const nodes = intFlag("--nodes", values.nodes, { min: 0 });
  checkNodeCount(nodes);
  const options: BrokerOptions = {
    port: values.port === undefined
      ? undefined
      : intFlag("--port", values.port, { min: 1, max: 65534 }),
    dataDir: values["data-dir"] as string | undefined,
    onProgress: (line) => console.log(line),
  };
  const [action = "status", ...extra] = positionals;
  if (extra.length > 0) throw new UsageError(`unexpected argument '${extra[0]}'`);
  if (nodes === CLUSTER_NODES && action !== "fetch") {
    const node = values.node === undefined
      ? undefined
      : intFlag("--node", values.node, { min: 1, max: CLUSTER_NODES });
    return await clusterAction(action, options, values.lines as string, node);
  }
  switch (action) {
    case "start": {
      const result = await startBroker(options);
      if (!result.started) {
        console.log(
          `Kafka already answers on ${result.address}${result.pid ? ` (pid ${result.pid})` : ""}.`,
        );
      }
      return;
    }
    case "stop": {
      const stopped = await stopBroker(options);
      console.log(stopped ? "Kafka stopped." : "The lab's broker was not running.");
      return;
    }
    case "status": {
      const status = await brokerStatus(options);
      const process = status.pid
        ? `embedded broker running (pid ${status.pid})`
        : status.stalePid
        ? `no embedded broker running (stale pid file: pid ${status.stalePid} is not the lab's broker)`
        : "no embedded broker running";
      const answer = status.found === "ok"
        ? "answering"
        : status.found === "unreachable"
        ? "not answering"
        : probeMessage([status.address], status.found);
      console.log(`${status.address}: ${answer}; ${process}; log: ${status.logFile}`);
      return status.answering ? 0 : 1;
    }
    case "fetch":
      await fetchKafkaJars(brokerPaths(options), options.onProgress);
      await findJava();
      console.log("Kafka jars are in place and Java 17+ is available.");
      return;
    case "reset": {
      const deleted = await resetBroker(options);
      console.log(
        deleted.length > 0
          ? "The lab's broker state is wiped: the next start formats new storage."
          : "Nothing to reset: the lab's broker has no state here.",
      );
      return;
    }
    case "logs": {
      const lines = await brokerLogTail(options, intFlag("--lines", values.lines, { min: 1 }));
      console.log(lines.length > 0 ? lines.join("\n") : "(no broker log yet)");
      return;
    }
    default:
      throw new UsageError(
        `unknown action '${action}': use start, stop, status, logs, fetch or reset`,
      );
  }
});

/** `start|stop|status|logs|reset --nodes 3`: the same actions on every node of the cluster. */
async function clusterAction(
  action: string,
  options: ClusterOptions,
  lines: string,
  node?: number,
): Promise<number | void> {
  switch (action) {
    case "start":
      await startCluster(options);
      return;
    case "stop": {
      const stopped = await stopCluster(options);
      console.log(
        stopped.length > 0
          ? `Kafka stopped (node ${
            stopped.join(", ")
          }); the lab's commands use the single broker again.`
          : "The lab's cluster was not running.",
      );
      return;
    }
    case "status": {
      const status = await clusterStatus(options);
      for (const n of status) {
        console.log(
          `node ${n.nodeId}: ${n.address} (controller ${n.controllerPort}): ` +
            `${n.answering ? "up" : "down"}; ${
              n.pid ? `running (pid ${n.pid})` : "no process"
            }; log: ${n.logFile}`,
        );
      }
      return status.every((n) => n.answering) ? 0 : 1;
    }
    case "logs": {
      const count = intFlag("--lines", lines, { min: 1 });
      const cluster = clusterPaths(options);
      for (const n of cluster.nodes.filter((n) => node === undefined || n.nodeId === node)) {
        const tail = await brokerLogTail(nodeOptions(cluster, n.nodeId), count);
        console.log(`--- node ${n.nodeId} (${n.paths.logFile})`);
        console.log(tail.length > 0 ? tail.join("\n") : "(no log yet)");
      }
      return;
    }
    case "reset": {
      const deleted = await resetCluster(options);
      console.log(
        deleted.length > 0
          ? "The lab's cluster state is wiped: the next start formats new storage."
          : "Nothing to reset: the lab's cluster has no state here.",
      );
      return;
    }
    default:
      throw new UsageError(`unknown action '${action}': use start, stop, status, logs or reset`);
  }
}
