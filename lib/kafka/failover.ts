/**
 * Failures on the lab's 3-node cluster, made on purpose and watched: kill a
 * node with SIGKILL (no controlled shutdown: its partitions and groups move
 * only once the controller notices it gone), restart it, wait until it has
 * caught up (back in every ISR), and ask which node coordinates a group or
 * leads a partition, before and after.
 *
 * @module
 */
import { brokerStatus, stopBroker } from "./broker.ts";
import {
  CLUSTER_NODES,
  clusterBrokers,
  type ClusterOptions,
  clusterPaths,
  nodeOptions,
  OFFSETS_TOPIC,
  startNode,
  waitForIsr,
} from "./cluster.ts";
import { createKafka, ORDER_TOPIC } from "./config.ts";
import { type Coordinator, GroupApis } from "./groupapis.ts";
import { LabError } from "../platform/errors.ts";
import { killProcess, processAlive } from "../platform/runtime.ts";
import { sleep } from "../platform/wait.ts";

/**
 * Kills node `nodeId` of the lab's cluster with SIGKILL (`kill -9`), as a
 * crash or a pulled plug would, and waits until its process is gone;
 * resolves to the pid it killed. Throws a {@linkcode LabError} if the node
 * does not run.
 *
 * @example
 * ```ts
 * await killNode(2);
 * ```
 */
export async function killNode(nodeId: number, options: ClusterOptions = {}): Promise<number> {
  const cluster = clusterPaths(options);
  const { pid } = await brokerStatus(nodeOptions(cluster, nodeId));
  if (pid === undefined) {
    throw new LabError(
      `node ${nodeId} of the lab's cluster is not running: \`deno task broker status --nodes 3\``,
    );
  }
  killProcess(pid, "SIGKILL");
  while (processAlive(pid)) await sleep(50);
  // The pid file now names no process: stopBroker removes it, signalling nothing.
  await stopBroker(nodeOptions(cluster, nodeId));
  return pid;
}

/**
 * Starts node `nodeId` again (after {@linkcode killNode}) and waits until it
 * is back in the ISR of every partition of `order-events` and
 * `__consumer_offsets`, so the next node killed loses nothing; resolves to
 * the milliseconds that took.
 *
 * @example
 * ```ts
 * await restartNode(2, { onProgress: console.log }); // 21000
 * ```
 */
export async function restartNode(nodeId: number, options: ClusterOptions = {}): Promise<number> {
  const cluster = clusterPaths(options);
  const begun = Date.now();
  await startNode(cluster, nodeId, options.onProgress);
  options.onProgress?.(`Waiting until node ${nodeId} is back in every ISR...`);
  await waitForIsr(clusterBrokers(cluster), [ORDER_TOPIC, OFFSETS_TOPIC], CLUSTER_NODES);
  return Date.now() - begun;
}

/** What {@linkcode waitForCoordinator} waits for. */
export interface CoordinatorWait {
  /** A node that is not the coordinator any more (the one just killed). */
  except?: number;
  timeoutMs?: number;
}

/**
 * The group's coordinator, waiting while there is none, or while it is still
 * `except`: after its node is killed, Kafka names the dead node until the
 * controller notices (`broker.session.timeout.ms`, 9 s), then answers
 * COORDINATOR_NOT_AVAILABLE until the group's `__consumer_offsets` partition
 * has a new leader, the new coordinator.
 *
 * @example
 * ```ts
 * const brokers = clusterBrokers(clusterPaths());
 * const { nodeId } = await waitForCoordinator(brokers, "billing-group");
 * await killNode(nodeId);
 * await waitForCoordinator(brokers, "billing-group", { except: nodeId }); // another node
 * ```
 */
export async function waitForCoordinator(
  brokers: string[],
  groupId: string,
  { except, timeoutMs = 60_000 }: CoordinatorWait = {},
): Promise<Coordinator> {
  const deadline = Date.now() + timeoutMs;
  let last = "none answered";
  while (Date.now() < deadline) {
    const apis = new GroupApis(brokers);
    try {
      const found = await apis.findCoordinator(groupId);
      if (found.nodeId !== except) return found;
      last = `still node ${except}`;
    } catch (error) {
      last = (error as Error).message;
    } finally {
      await apis.close();
    }
    await sleep(250);
  }
  throw new LabError(
    `no ${except === undefined ? "" : "new "}coordinator for group ${groupId} after ${
      timeoutMs / 1000
    } s (${last})`,
  );
}

/**
 * The node leading `partition` of `topic` now, or -1 while it has none.
 *
 * @example
 * ```ts
 * await partitionLeader(clusterBrokers(clusterPaths()), "order-events", 0); // 3
 * ```
 */
export async function partitionLeader(
  brokers: string[],
  topic: string,
  partition: number,
): Promise<number> {
  const admin = createKafka({ brokers, clientId: "lab-failover", retries: 1 }).admin();
  try {
    await admin.connect();
    const { topics } = await admin.fetchTopicMetadata({ topics: [topic] });
    return topics[0].partitions.find((p) => p.partitionId === partition)?.leader ?? -1;
  } finally {
    await admin.disconnect();
  }
}
