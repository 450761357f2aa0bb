/**
 * The lab's 3-node cluster: three Kafka processes on 127.0.0.1, each both
 * broker and controller (KRaft "combined" mode), forming a 3-voter quorum.
 *
 * Combined mode runs 3 JVMs rather than 6 (3 controllers + 3 brokers), which
 * matters on a 2-core laptop, and still shows what the lab is about: a node
 * dies, the partitions it led (and the groups it coordinated) move to
 * another node, and the quorum (2 of 3 voters) keeps the cluster going.
 *
 * Each node is launched exactly as the single broker is (lib/kafka/broker.ts:
 * jars, `server.properties`, formatting, waiting, failure messages), with
 * its own state folder `.lab/cluster/node-N` (never `.lab/broker`), node id
 * N, client port `KAFKA_PORT + 2N` and controller port `KAFKA_PORT + 2N + 1`.
 * Replication factor 3 and `min.insync.replicas=2` everywhere: a write is
 * acknowledged by 2 nodes at least, so one node may die without losing it.
 *
 * @module
 */
import {
  type BrokerOptions,
  type BrokerPaths,
  brokerPaths,
  brokerStatus,
  fetchKafkaJars,
  newClusterId,
  prepareBroker,
  type QuorumNode,
  resetBroker,
  startBroker,
  type StartResult,
  stopBroker,
} from "./broker.ts";
import { resolve } from "node:path";
import { clusterStateDir, createKafka, kafkaPort, ORDER_TOPIC } from "./config.ts";
import { GroupApis } from "./groupapis.ts";
import { ensureTopic } from "./topic.ts";
import { LabError, UsageError } from "../platform/errors.ts";
import {
  exists,
  mkdirp,
  portInUse,
  readTextFile,
  remove,
  writeTextFile,
} from "../platform/runtime.ts";
import { sleep } from "../platform/wait.ts";

/** How many nodes the lab's cluster has. */
export const CLUSTER_NODES = 3;

/** The internal topic holding committed offsets: its partition leaders are the coordinators. */
export const OFFSETS_TOPIC = "__consumer_offsets";

/** Where the cluster listens and keeps its state. */
export interface ClusterOptions {
  /** Base port P: node N listens on P + 2N, its controller on P + 2N + 1 (default `KAFKA_PORT`). */
  port?: number;
  /** State folder (default `.lab/cluster`, or `LAB_CLUSTER_DIR`). */
  dataDir?: string;
  /** Progress lines, each node's prefixed with `[node N]`. */
  onProgress?: (line: string) => void;
}

/** One node of the cluster. */
export interface ClusterNode {
  nodeId: number;
  /** Its client address, `127.0.0.1:port`. */
  address: string;
  paths: BrokerPaths;
}

/** Resolved locations and ports of the cluster. */
export interface ClusterPaths {
  stateDir: string;
  nodes: ClusterNode[];
  /** The cluster id shared by every node. */
  clusterIdFile: string;
  /** The voters as `kafka-storage format --initial-controllers` takes them. */
  quorumFile: string;
  /** Names the nodes while the cluster runs (config.ts `defaultBrokers` reads the default folder's). */
  brokersFile: string;
}

/**
 * Throws a one-line {@linkcode UsageError} unless `nodes` is a cluster size
 * the lab runs: 1 (the single broker) or 3.
 *
 * @example
 * ```ts
 * checkNodeCount(3); // fine
 * checkNodeCount(2); // throws: a KRaft quorum needs a majority...
 * ```
 */
export function checkNodeCount(nodes: number): void {
  if (nodes === 1 || nodes === CLUSTER_NODES) return;
  throw new UsageError(
    `--nodes ${nodes}: a KRaft quorum works while a majority of its voters is up, so 2 nodes ` +
      "stop when either dies (no better than 1) and 0 is no cluster: use --nodes 1 (the single " +
      "broker) or --nodes 3 (survives one node down)",
  );
}

/**
 * Resolves the cluster's ports and paths from options, then the environment
 * (`KAFKA_PORT`, `LAB_CLUSTER_DIR`), then defaults.
 *
 * @example
 * ```ts
 * clusterPaths({ port: 19092 }).nodes.map((n) => n.address);
 * // ["127.0.0.1:19094", "127.0.0.1:19096", "127.0.0.1:19098"]
 * ```
 */
export function clusterPaths(options: ClusterOptions = {}): ClusterPaths {
  const base = options.port ?? kafkaPort();
  const stateDir = resolve(options.dataDir ?? clusterStateDir());
  const nodes = Array.from({ length: CLUSTER_NODES }, (_, i) => {
    const nodeId = i + 1;
    const paths = brokerPaths({
      port: base + 2 * nodeId,
      controllerPort: base + 2 * nodeId + 1,
      dataDir: `${stateDir}/node-${nodeId}`,
    });
    return { nodeId, address: `127.0.0.1:${paths.port}`, paths };
  });
  return {
    stateDir,
    nodes,
    clusterIdFile: `${stateDir}/cluster-id`,
    quorumFile: `${stateDir}/quorum`,
    brokersFile: `${stateDir}/brokers`,
  };
}

/**
 * The bootstrap addresses of the cluster's nodes.
 *
 * @example
 * ```ts
 * clusterBrokers(clusterPaths()); // ["127.0.0.1:9094", "127.0.0.1:9096", "127.0.0.1:9098"]
 * ```
 */
export function clusterBrokers(paths: ClusterPaths): string[] {
  return paths.nodes.map((n) => n.address);
}

/**
 * The settings of node `node` over the single broker's: its id, the voters,
 * and replication factor 3 with `min.insync.replicas=2` for every topic,
 * the internal ones included. Group timings stay the single broker's.
 *
 * @example
 * ```ts
 * nodeSettings(clusterPaths(), clusterPaths().nodes[0])["node.id"]; // 1
 * ```
 */
export function nodeSettings(
  cluster: ClusterPaths,
  node: ClusterNode,
): Record<string, string | number> {
  return {
    "node.id": node.nodeId,
    "controller.quorum.bootstrap.servers": cluster.nodes
      .map((n) => `127.0.0.1:${n.paths.controllerPort}`).join(","),
    "default.replication.factor": CLUSTER_NODES,
    "min.insync.replicas": 2,
    "offsets.topic.replication.factor": CLUSTER_NODES,
    "transaction.state.log.replication.factor": CLUSTER_NODES,
    "transaction.state.log.min.isr": 2,
    "share.coordinator.state.topic.replication.factor": CLUSTER_NODES,
    "share.coordinator.state.topic.min.isr": 2,
  };
}

/**
 * The cluster id and voters every node is formatted with, made once and kept
 * in the state folder: each voter is `id@127.0.0.1:controllerPort:directoryId`.
 */
async function quorumOf(cluster: ClusterPaths): Promise<Omit<QuorumNode, "nodeId">> {
  await mkdirp(cluster.stateDir);
  let clusterId = (await readTextFile(cluster.clusterIdFile).catch(() => "")).trim();
  let initialControllers = (await readTextFile(cluster.quorumFile).catch(() => "")).trim();
  if (clusterId === "" || initialControllers === "") {
    clusterId = newClusterId();
    initialControllers = cluster.nodes
      .map((n) => `${n.nodeId}@127.0.0.1:${n.paths.controllerPort}:${newClusterId()}`).join(",");
    await writeTextFile(cluster.clusterIdFile, clusterId + "\n");
    await writeTextFile(cluster.quorumFile, initialControllers + "\n");
  }
  return { clusterId, initialControllers };
}

/**
 * How the single broker's functions ({@linkcode stopBroker},
 * {@linkcode brokerStatus}...) reach node `nodeId`: its ports, folder and
 * settings, progress prefixed with `[node N]`.
 *
 * @example
 * ```ts
 * await stopBroker(nodeOptions(clusterPaths(), 2));
 * ```
 */
export function nodeOptions(
  cluster: ClusterPaths,
  nodeId: number,
  onProgress?: (line: string) => void,
): BrokerOptions {
  const node = cluster.nodes.find((n) => n.nodeId === nodeId);
  if (!node) {
    throw new UsageError(`no node ${nodeId}: the cluster's nodes are 1 to ${CLUSTER_NODES}`);
  }
  return {
    port: node.paths.port,
    controllerPort: node.paths.controllerPort,
    dataDir: node.paths.stateDir,
    settings: nodeSettings(cluster, node),
    onProgress: onProgress && ((line) => onProgress(`[node ${nodeId}] ${line}`)),
  };
}

/** {@linkcode nodeOptions} and the quorum, for starting node `nodeId` (formatting it the first time). */
async function nodeStartOptions(
  cluster: ClusterPaths,
  nodeId: number,
  onProgress?: (line: string) => void,
): Promise<BrokerOptions> {
  return {
    ...nodeOptions(cluster, nodeId, onProgress),
    quorum: { nodeId, ...await quorumOf(cluster) },
  };
}

/**
 * Starts node `nodeId` unless it runs (formatting its storage with the
 * cluster's id and voters the first time) and waits until it answers, which
 * takes a majority of the voters up.
 *
 * @example
 * ```ts
 * await startNode(clusterPaths(), 2, console.log);
 * ```
 */
export async function startNode(
  cluster: ClusterPaths,
  nodeId: number,
  onProgress?: (line: string) => void,
): Promise<StartResult> {
  return await startBroker(await nodeStartOptions(cluster, nodeId, onProgress));
}

/** The ports of `nodes` that another program holds, named for a message. */
async function busyPorts(nodes: ClusterNode[]): Promise<string[]> {
  const busy: string[] = [];
  for (const node of nodes) {
    const { port, controllerPort } = node.paths;
    if (await portInUse(port)) busy.push(`${port} (node ${node.nodeId}'s client port)`);
    if (await portInUse(controllerPort)) {
      busy.push(`${controllerPort} (node ${node.nodeId}'s controller port)`);
    }
  }
  return busy;
}

/** The one line saying that node `node` did not start, why, and where its log is. */
function nodeFailure(node: ClusterNode, error: unknown): LabError {
  const why = (error as Error).message;
  return new LabError(
    `node ${node.nodeId} did not start: ${why}` +
      (why.includes(node.paths.logFile) ? "" : ` (log: ${node.paths.logFile})`),
  );
}

/** Runs `step` for every node at once; throws the first node's failure, once all have ended. */
async function everyNode(
  nodes: ClusterNode[],
  step: (node: ClusterNode) => Promise<unknown>,
): Promise<void> {
  const outcomes = await Promise.allSettled(
    nodes.map((node) => step(node).catch((error) => Promise.reject(nodeFailure(node, error)))),
  );
  const failed = outcomes.find((o) => o.status === "rejected");
  if (failed) throw failed.reason;
}

/** What {@linkcode startCluster} did. */
export interface ClusterStartResult {
  brokers: string[];
  /** Node ids launched by this start (the others already ran). */
  started: number[];
  /** Milliseconds until every node was in the ISR of the lab's topic and of the offsets topic. */
  readyMs: number;
}

/**
 * Starts the nodes not yet running (all at once: a node answers only once a
 * majority of voters is up), makes sure `order-events` (replication factor 3)
 * and `__consumer_offsets` exist, waits until every node is in the ISR of
 * both, then writes the brokers file so that the lab's commands use the
 * cluster. Ports held by other programs are named before anything starts,
 * and every node's storage is formatted or checked before any node runs; a
 * node that fails to start is named with its log, and the nodes this start
 * launched are stopped again.
 *
 * @example
 * ```ts
 * const { brokers } = await startCluster({ onProgress: console.log });
 * ```
 */
export async function startCluster(options: ClusterOptions = {}): Promise<ClusterStartResult> {
  const cluster = clusterPaths(options);
  const progress = options.onProgress ?? (() => {});
  const begun = Date.now();
  const running = new Set(
    (await clusterStatus(options)).filter((n) => n.pid !== undefined).map((n) => n.nodeId),
  );
  const idle = cluster.nodes.filter((n) => !running.has(n.nodeId));
  const busy = await busyPorts(idle);
  if (busy.length > 0) {
    throw new LabError(
      `port${busy.length > 1 ? "s" : ""} ${busy.join(", ")} in use by another program: stop it ` +
        `(\`ss -ltnp | grep :${parseInt(busy[0])}\` names it), or move the cluster with ` +
        "KAFKA_PORT (its nodes use KAFKA_PORT + 2 to KAFKA_PORT + 7)",
    );
  }
  progress(
    `Starting a ${CLUSTER_NODES}-node Kafka cluster (broker + controller per node): ${
      cluster.nodes.map((n) => `node ${n.nodeId} on ${n.address}`).join(", ")
    }...`,
  );
  // Kafka's jars once (not an mvn per node), then every node's storage formatted or checked
  // before any node starts: a damaged one stops the start in seconds, with nothing to stop.
  await fetchKafkaJars(cluster.nodes[0].paths, progress);
  await quorumOf(cluster); // made once, before the nodes read it all at once
  await everyNode(
    idle,
    async (n) => prepareBroker(await nodeStartOptions(cluster, n.nodeId, progress)),
  );
  const started: number[] = [];
  try {
    await everyNode(cluster.nodes, async (node) => {
      if ((await startNode(cluster, node.nodeId, progress)).started) started.push(node.nodeId);
    });
  } catch (error) {
    for (const nodeId of started) await stopBroker(nodeOptions(cluster, nodeId));
    throw error;
  }
  const brokers = clusterBrokers(cluster);
  progress(`Every node answers; creating ${ORDER_TOPIC} and ${OFFSETS_TOPIC} (3 replicas)...`);
  await ensureClusterTopics(brokers);
  progress(`Waiting until every node is in the ISR of ${ORDER_TOPIC} and ${OFFSETS_TOPIC}...`);
  await waitForIsr(brokers, [ORDER_TOPIC, OFFSETS_TOPIC], CLUSTER_NODES);
  await writeTextFile(cluster.brokersFile, brokers.join(",") + "\n");
  const readyMs = Date.now() - begun;
  progress(
    `Cluster ready on ${brokers.join(",")} (${(readyMs / 1000).toFixed(1)} s): the lab's ` +
      "commands use it until `deno task broker stop --nodes 3`.",
  );
  return { brokers, started, readyMs };
}

/** Creates order-events, and `__consumer_offsets` through a first coordinator lookup. */
async function ensureClusterTopics(brokers: string[], timeoutMs = 60_000): Promise<void> {
  const admin = createKafka({ brokers, clientId: "lab-cluster" }).admin();
  try {
    await admin.connect();
    await ensureTopic(admin);
  } finally {
    await admin.disconnect();
  }
  const apis = new GroupApis(brokers);
  const deadline = Date.now() + timeoutMs;
  try {
    while (true) {
      try {
        await apis.findCoordinator("lab-cluster");
        return;
      } catch (error) {
        // COORDINATOR_NOT_AVAILABLE while the offsets topic is being created.
        if (Date.now() > deadline) throw error;
        await sleep(500);
      }
    }
  } finally {
    await apis.close();
  }
}

/** One partition whose ISR is short of the replicas asked for. */
export interface ShortPartition {
  topic: string;
  partition: number;
  isr: number[];
}

/**
 * The partitions of `topics` whose in-sync replicas are fewer than
 * `replicas` (a topic that does not exist yet counts as one short partition).
 *
 * @example
 * ```ts
 * await shortIsr(["127.0.0.1:9094"], ["order-events"], 3); // [] when all 3 are in sync
 * ```
 */
export async function shortIsr(
  brokers: string[],
  topics: string[],
  replicas: number,
): Promise<ShortPartition[]> {
  const admin = createKafka({ brokers, clientId: "lab-cluster", retries: 1 }).admin();
  try {
    await admin.connect();
    const existing = await admin.listTopics();
    const missing = topics.filter((t) => !existing.includes(t));
    const metadata = await admin.fetchTopicMetadata({
      topics: topics.filter((t) => existing.includes(t)),
    });
    return [
      ...missing.map((topic) => ({ topic, partition: 0, isr: [] })),
      ...metadata.topics.flatMap((t) =>
        t.partitions.filter((p) => p.isr.length < replicas)
          .map((p) => ({ topic: t.name, partition: p.partitionId, isr: p.isr }))
      ),
    ];
  } finally {
    await admin.disconnect();
  }
}

/**
 * Waits until every partition of `topics` has `replicas` in-sync replicas,
 * e.g. after a restarted node caught up; throws a {@linkcode LabError}
 * naming the partitions still short after `timeoutMs`.
 *
 * @example
 * ```ts
 * await waitForIsr(clusterBrokers(clusterPaths()), ["order-events", "__consumer_offsets"], 3);
 * ```
 */
export async function waitForIsr(
  brokers: string[],
  topics: string[],
  replicas: number,
  timeoutMs = 90_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let short: ShortPartition[] = [];
  while (Date.now() < deadline) {
    short = await shortIsr(brokers, topics, replicas).catch(() => [
      { topic: topics[0], partition: 0, isr: [] },
    ]);
    if (short.length === 0) return;
    await sleep(500);
  }
  throw new LabError(
    `not every partition has ${replicas} in-sync replicas after ${timeoutMs / 1000} s: ${
      short.slice(0, 4).map((p) => `${p.topic}-${p.partition} (ISR ${p.isr.join(",") || "-"})`)
        .join(", ")
    }${short.length > 4 ? ` and ${short.length - 4} more` : ""}`,
  );
}

/**
 * Stops every node (a controlled shutdown each, all at once) and removes the
 * brokers file, so the lab's commands use the single broker again. Resolves
 * to the node ids that were running.
 *
 * @example
 * ```ts
 * await stopCluster();
 * ```
 */
export async function stopCluster(options: ClusterOptions = {}): Promise<number[]> {
  const cluster = clusterPaths(options);
  await remove(cluster.brokersFile);
  const stopped = await Promise.all(
    cluster.nodes.map(async (n) =>
      await stopBroker(nodeOptions(cluster, n.nodeId, options.onProgress)) ? [n.nodeId] : []
    ),
  );
  return stopped.flat();
}

/** What {@linkcode clusterStatus} reports of a node. */
export interface NodeStatus {
  nodeId: number;
  address: string;
  controllerPort: number;
  /** pid of the node's process, if it runs. */
  pid?: number;
  /** It answers a metadata request. */
  answering: boolean;
  logFile: string;
}

/**
 * Each node's process and whether it answers.
 *
 * @example
 * ```ts
 * (await clusterStatus()).filter((n) => n.answering).length; // 3 when all are up
 * ```
 */
export async function clusterStatus(options: ClusterOptions = {}): Promise<NodeStatus[]> {
  const cluster = clusterPaths(options);
  return await Promise.all(cluster.nodes.map(async (node) => {
    const status = await brokerStatus(nodeOptions(cluster, node.nodeId));
    return {
      nodeId: node.nodeId,
      address: node.address,
      controllerPort: node.paths.controllerPort,
      pid: status.pid,
      answering: status.answering,
      logFile: node.paths.logFile,
    };
  }));
}

/**
 * Wipes the cluster's state (each node's data, logs and settings, the
 * cluster id and voters), naming each path through `onProgress`; refuses
 * while a node runs. Resolves to what it deleted.
 *
 * @example
 * ```ts
 * await resetCluster({ onProgress: console.log });
 * ```
 */
export async function resetCluster(options: ClusterOptions = {}): Promise<string[]> {
  const cluster = clusterPaths(options);
  const running = (await clusterStatus(options)).filter((n) => n.pid !== undefined);
  if (running.length > 0) {
    throw new LabError(
      `node ${running.map((n) => n.nodeId).join(", ")} of the lab's cluster runs: stop it first ` +
        "(`deno task broker stop --nodes 3`), then reset",
    );
  }
  const deleted: string[] = [];
  for (const node of cluster.nodes) {
    deleted.push(
      ...await resetBroker({ dataDir: node.paths.stateDir, onProgress: options.onProgress }),
    );
  }
  for (const path of [cluster.clusterIdFile, cluster.quorumFile, cluster.brokersFile]) {
    if (!(await exists(path))) continue;
    options.onProgress?.(`Deleting ${path}`);
    await remove(path);
    deleted.push(path);
  }
  return deleted;
}
