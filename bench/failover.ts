/**
 * `deno task bench failover`: how long a group stops consuming when the
 * server side of it dies. On the lab's 3-node cluster, the group's
 * coordinator is killed with SIGKILL; on the single broker, the broker is
 * killed with SIGKILL and restarted at once (all it can do). Either way the
 * figure is the time from the kill until the group has consumed, on every
 * partition, an order produced after the kill: the group consuming again.
 *
 * The orders are produced steadily (one per partition every 50 ms, `acks=all`,
 * a send per partition: see bench/soak.ts on tulios/kafkajs#1303) without
 * waiting for the sends, so a partition stuck on a dead leader does not hold
 * back the others. The members are three kafkajs members in this process.
 *
 * @module
 */
import type { Producer } from "kafkajs";
import { brokerAddress, brokerPaths, brokerStatus, startBroker } from "../lib/kafka/broker.ts";
import { type ClusterOptions, startCluster } from "../lib/kafka/cluster.ts";
import { createKafka, ORDER_PARTITIONS } from "../lib/kafka/config.ts";
import { killNode, restartNode, waitForCoordinator } from "../lib/kafka/failover.ts";
import { GroupMember, waitForMembers } from "../lib/kafka/member.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
import { ensureTopic } from "../lib/kafka/topic.ts";
import { LabError } from "../lib/platform/errors.ts";
import { killProcess, processAlive } from "../lib/platform/runtime.ts";
import { sleep } from "../lib/platform/wait.ts";
import { type BenchRow, fmt, spread } from "./bench.ts";

/** Options for {@linkcode benchFailover}. */
export interface FailoverBenchOptions {
  /** Trials on each side (default 3). */
  trials?: number;
  /** Where the lab's cluster is (default: `KAFKA_PORT`, `.lab/cluster`). */
  cluster?: ClusterOptions;
  say?: (line: string) => void;
}

/** Orders in flight, each with the time its send began: a group of members reads them. */
class SteadyProducer {
  readonly sentAt = new Map<string, number>();
  #stop = new AbortController();
  #running: Promise<void>;
  #next = 0;

  constructor(readonly producer: Producer, readonly topic: string) {
    this.#running = this.#run();
  }

  async #run() {
    let inFlight = 0;
    while (!this.#stop.signal.aborted) {
      if (inFlight < 30) {
        for (let partition = 0; partition < ORDER_PARTITIONS; partition++) {
          const id = this.#next++;
          this.sentAt.set(String(id), Date.now());
          inFlight++;
          this.producer.send({
            topic: this.topic,
            acks: -1,
            messages: [{ key: String(id), value: JSON.stringify(orderEvent(id)), partition }],
          }).catch(() => {}).finally(() => inFlight--);
        }
      }
      await sleep(50, this.#stop.signal);
    }
  }

  async stop() {
    this.#stop.abort();
    await this.#running;
  }
}

/**
 * Runs `fail` (which kills what it kills and resolves to the kill's time)
 * and resolves to the milliseconds from the kill until the members have
 * received, on every partition, an order whose send began after it.
 */
async function timeToConsumeAgain(
  members: GroupMember[],
  orders: SteadyProducer,
  fail: () => Promise<number>,
  timeoutMs = 120_000,
): Promise<number> {
  const killedAt = await fail();
  const consumingAgain = () => {
    const partitions = new Set(
      members.flatMap((m) => m.received)
        .filter((e) => (orders.sentAt.get(e.key ?? "") ?? 0) > killedAt)
        .map((e) => e.partition),
    );
    return partitions.size === ORDER_PARTITIONS;
  };
  while (!consumingAgain()) {
    if (Date.now() - killedAt > timeoutMs) {
      throw new LabError(`the group did not consume again within ${timeoutMs / 1000} s`);
    }
    await sleep(50);
  }
  return Date.now() - killedAt;
}

/** Three members of a new group on a new topic, orders flowing, for `trials` of `fail`. */
async function measure(
  brokers: string[],
  label: string,
  trials: number,
  fail: (groupId: string) => Promise<number>,
  recover: () => Promise<void>,
  say: (line: string) => void,
): Promise<number[]> {
  const stamp = Date.now().toString(36);
  const topic = `failover-${label}-${stamp}`;
  const groupId = `failover-group-${label}-${stamp}`;
  const kafka = createKafka({ brokers, clientId: "lab-bench-failover", retries: 10 });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, topic);
  await admin.disconnect();
  const members = await Promise.all(
    [1, 2, 3].map((i) => GroupMember.start({ brokers, groupId, name: `Consumer ${i}`, topic })),
  );
  const producer = kafka.producer();
  await producer.connect();
  const orders = new SteadyProducer(producer, topic);
  const times: number[] = [];
  try {
    for (let trial = 1; trial <= trials; trial++) {
      // Flowing first: every partition delivering before the kill.
      const before = Date.now();
      if (
        !(await waitForMembers(members, () =>
          new Set(
            members.flatMap((m) => m.received)
              .filter((e) => (orders.sentAt.get(e.key ?? "") ?? 0) > before)
              .map((e) => e.partition),
          ).size === ORDER_PARTITIONS, 60_000))
      ) throw new LabError(`${label}: the group is not consuming before trial ${trial}`);
      const ms = await timeToConsumeAgain(members, orders, () => fail(groupId));
      times.push(ms);
      say(
        `failover ${label}: trial ${trial} of ${trials}: consuming again ${
          fmt(ms / 1000, 1)
        } s after the kill`,
      );
      await recover();
    }
  } finally {
    await orders.stop();
    await producer.disconnect().catch(() => {});
    await Promise.all(members.map((m) => m.stop()));
  }
  return times;
}

/**
 * Measures the group's pause on the lab's cluster (coordinator killed) and
 * on the single broker (killed, restarted at once), `trials` each, and
 * returns a row for each with the median, min and max.
 *
 * @example
 * ```ts
 * const rows = await benchFailover({ trials: 3, say: console.log });
 * ```
 */
export async function benchFailover(options: FailoverBenchOptions = {}): Promise<BenchRow[]> {
  const trials = options.trials ?? 3;
  const say = options.say ?? (() => {});
  const cluster = await startCluster({
    ...options.cluster,
    onProgress: (l) => say(`[cluster] ${l}`),
  });
  // What the server side took, beside the group's pause: measured in the background, never delaying it.
  let killed = 0;
  let back: Promise<void> = Promise.resolve();
  const coordinatorBackMs: number[] = [];
  const clusterTimes = await measure(
    cluster.brokers,
    "cluster",
    trials,
    async (groupId) => {
      const { nodeId } = await waitForCoordinator(cluster.brokers, groupId);
      const at = Date.now();
      await killNode(nodeId, options.cluster);
      say(`failover cluster: killed node ${nodeId}, the coordinator`);
      killed = nodeId;
      back = waitForCoordinator(cluster.brokers, groupId, { except: nodeId })
        .then(() => void coordinatorBackMs.push(Date.now() - at));
      return at;
    },
    async () => {
      await back;
      await restartNode(killed, options.cluster);
    },
    say,
  );
  const single = brokerAddress(brokerPaths());
  await startBroker({ onProgress: (l) => say(`[broker] ${l}`) });
  const brokerBackMs: number[] = [];
  const singleTimes = await measure(
    [single],
    "single",
    trials,
    async () => {
      const { pid } = await brokerStatus();
      if (pid === undefined) throw new LabError("the lab's single broker is not running");
      const at = Date.now();
      killProcess(pid, "SIGKILL");
      while (processAlive(pid)) await sleep(20);
      back = startBroker().then(() => void brokerBackMs.push(Date.now() - at));
      return at;
    },
    async () => await back,
    say,
  );
  const row = (what: string, xs: number[], server: string, serverMs: number[], against: string) => {
    const s = spread(xs);
    return {
      bench: "failover",
      case: `${what} (${xs.length} trials)`,
      value: `median ${fmt(s.median / 1000, 1)} s (min ${fmt(s.min / 1000, 1)}, max ${
        fmt(s.max / 1000, 1)
      }); ${server} after median ${fmt(spread(serverMs).median / 1000, 1)} s`,
      against,
    };
  };
  return [
    row(
      "3-node cluster: coordinator killed (SIGKILL)",
      clusterTimes,
      "new coordinator",
      coordinatorBackMs,
      "broker.session.timeout.ms (9 s) until the controller fences the node, then new leaders and coordinator, the members rejoin",
    ),
    row(
      "single broker: killed (SIGKILL), restarted at once",
      singleTimes,
      "broker answering",
      brokerBackMs,
      "the broker's own restart (JVM start, log recovery), then the members reconnect and rejoin",
    ),
  ];
}
