/**
 * Lesson 9, when the coordinator dies: on the lab's 3-node cluster, members
 * of a group consume orders produced steadily while the node coordinating
 * the group is killed (`kill -9`); the members' own errors and coordinator
 * lookups, the new coordinator, the rebalance in watch's timeline, every
 * order still consumed and the committed offsets intact. Then a node that
 * only leads partitions dies: the producer and the members move to the new
 * leaders.
 *
 * @module
 */
import kafkajsErrors from "kafkajs/src/protocol/error.js";
import { type Admin, Kafka, logLevel } from "kafkajs";
import {
  CLUSTER_NODES,
  clusterBrokers,
  clusterPaths,
  clusterStatus,
  OFFSETS_TOPIC,
  startCluster,
} from "../kafka/cluster.ts";
import { killNode, restartNode, waitForCoordinator } from "../kafka/failover.ts";
import { kafkaConfig, ORDER_PARTITIONS, requireBroker, resolveBrokers } from "../kafka/config.ts";
import type { MemberEvent } from "../kafka/member.ts";
import { type ProducedOrder, produceOrders } from "../kafka/producer.ts";
import { offsetsPartitionOf } from "../inspect/coordinator.ts";
import { type GroupSnapshot, snapshotGroup, waitForGroup } from "../inspect/groups.ts";
import { departuresFromBrokerLog, GroupWatch, runWatch, timelineTable } from "../inspect/watch.ts";
import { messagesOf } from "../processes/runlog.ts";
import type { MemberProcess } from "../processes/spawn.ts";
import { LabError } from "../platform/errors.ts";
import { Report, show, Table } from "../platform/render.ts";
import { env, projectPath, readTextFile } from "../platform/runtime.ts";
import { sleep } from "../platform/wait.ts";
import { Lab } from "./lessons.ts";

/** Orders go out this far apart while a node dies: ~10 a second, one send each. */
const STEADY_INTERVAL_MS = 100;
/** Orders produced before the kill, so the group is busy when its node dies. */
const BEFORE_KILL_MS = 2000;
/** How long the group has to consume again after a kill before the lesson says it did not. */
const RECOVERY_TIMEOUT_MS = 90_000;
/** Twice the usual 18 s from a kill to every partition consumed again: by then, a stall. */
const STALL_MS = 40_000;

/** A node killed while orders flowed: what the lesson compares afterwards. */
export interface NodeLoss {
  groupId: string;
  /** The node killed. */
  node: number;
  /** What it was to the group: its coordinator, or the leader of some of its partitions. */
  role: "coordinator" | "leader";
  killedAt: number;
  /** The group before the kill, with its committed offsets. */
  before: GroupSnapshot;
  /** Every order the producer had acknowledged, with when. */
  acked: (ProducedOrder & { at: number })[];
  members: MemberProcess[];
}

/** Orders produced one by one, {@linkcode STEADY_INTERVAL_MS} apart, until stopped. */
class SteadyOrders {
  readonly acked: (ProducedOrder & { at: number })[] = [];
  /** When the producer lost a broker, kafkajs's reason, and the next order acknowledged. */
  readonly outages: { at: number; reason: string; then?: ProducedOrder & { at: number } }[] = [];
  readonly #stop = new AbortController();
  readonly #done: Promise<unknown>;

  constructor(brokers: string[], topic: string, start: number, count: number) {
    this.#done = produceOrders({
      brokers,
      topic,
      start,
      count,
      intervalMs: STEADY_INTERVAL_MS,
      signal: this.#stop.signal,
      onProduced: (order) => {
        const acked = { ...order, at: Date.now() };
        this.acked.push(acked);
        const outage = this.outages.at(-1);
        if (outage && !outage.then) outage.then = acked;
      },
      onBrokerLost: (reason) => this.outages.push({ at: Date.now(), reason }),
    });
  }

  /** Stops producing and resolves once the order in flight is acknowledged (or given up). */
  async stop(): Promise<void> {
    this.#stop.abort();
    await this.#done;
  }
}

/** kafkajs's name and Kafka's error code for a message kafkajs logs, e.g. NOT_COORDINATOR. */
const kafkaErrorNames = new Map<string, string>(
  (kafkajsErrors.errorCodes as { type: string; code: number; message: string }[])
    .map((e) => [e.message, `${e.type} (error ${e.code})`]),
);

/**
 * What a kafkajs error line a member printed (`LAB_KAFKAJS_LOG=error`) says,
 * in a few words: a broker's answer with Kafka's error name, a refused
 * connection with the node behind the address, kafkajs giving up and
 * restarting the consumer; undefined for a line that is not kafkajs's error,
 * or only repeats another (the restart's delay).
 *
 * @example
 * ```ts
 * kafkajsErrorText('[kafkajs] ERROR Connection: Response Heartbeat(key: 12, version: 3) ' +
 *   '{"broker":"127.0.0.1:9096","error":"This is not the correct coordinator for this group"}',
 *   new Map([["127.0.0.1:9096", 2]]));
 * // "Heartbeat to node 2: NOT_COORDINATOR_FOR_GROUP (error 16)"
 * ```
 */
export function kafkajsErrorText(line: string, nodes: Map<string, number>): string | undefined {
  const parsed = /^\[kafkajs\] ERROR (\w+): (.*?) (\{.*\})$/.exec(line);
  if (!parsed) return undefined;
  const [, namespace, message, json] = parsed;
  let fields: KafkajsLogFields = {};
  try {
    fields = JSON.parse(json);
  } catch {
    // a field kafkajs could not print as JSON: the message alone says enough
  }
  return kafkajsErrorWords(namespace, message, fields, nodes);
}

/** The fields of a kafkajs log entry that say which broker and what it answered. */
interface KafkajsLogFields {
  broker?: string;
  error?: string;
}

/** {@linkcode kafkajsErrorText} for a log entry kafkajs hands to a log creator. */
function kafkajsErrorWords(
  namespace: string,
  message: string,
  fields: KafkajsLogFields,
  nodes: Map<string, number>,
): string | undefined {
  const node = (address?: string) =>
    address && nodes.has(address) ? `node ${nodes.get(address)}` : address ?? "a broker";
  const response = /^Response (\w+)\(/.exec(message);
  if (response && fields.error) {
    return `${response[1]} to ${node(fields.broker)}: ${
      kafkaErrorNames.get(fields.error) ?? fields.error
    }`;
  }
  const refused = /Connection error: (?:connect |read )?(ECONNREFUSED|ECONNRESET)/.exec(message);
  if (refused) {
    return `${refused[1].endsWith("REFUSED") ? "connection refused by" : "connection reset by"} ` +
      node(fields.broker ?? /\d+\.\d+\.\d+\.\d+:\d+/.exec(message)?.[0]);
  }
  if (namespace === "Consumer" && message.startsWith("Crash: KafkaJSNumberOfRetriesExceeded")) {
    return "gave up after its retries: restarts the consumer (looks up the coordinator, rejoins)";
  }
  if (namespace === "Consumer" && message.startsWith("Restarting the consumer")) return undefined;
  return `${namespace}: ${message.slice(0, 80)}`;
}

/**
 * The lab of lesson 9: {@linkcode Lab} on the lab's 3-node cluster, and a
 * node killed while orders flow: the group's coordinator
 * ({@linkcode Lesson9.killCoordinator}) or a partition leader
 * ({@linkcode Lesson9.killLeader}); then every order counted
 * ({@linkcode Lesson9.countOrders}) and the node restarted
 * ({@linkcode Lesson9.restart}).
 *
 * @example
 * ```ts
 * const lab = await Lesson9.open();
 * const members = await lab.startMembers("billing-group", ["Consumer 1", "Consumer 2"]);
 * const loss = await lab.killCoordinator("billing-group", members);
 * await lab.countOrders(loss);
 * await lab.restart(loss);
 * ```
 */
export class Lesson9 extends Lab {
  /**
   * The lab's 3-node cluster: `KAFKA_BROKERS` when it names the cluster's
   * nodes, else the cluster, started when it is not running (the lesson kills
   * and restarts its nodes, so another cluster will not do).
   */
  static override async brokersToUse(): Promise<string[]> {
    const own = clusterBrokers(clusterPaths());
    if (env("KAFKA_BROKERS")) {
      const given = resolveBrokers();
      if ([...given].sort().join() !== [...own].sort().join()) {
        throw new LabError(
          `lesson 9 kills and restarts nodes of the lab's own ${CLUSTER_NODES}-node cluster ` +
            `(${own.join(",")}), and KAFKA_BROKERS=${given.join(",")} is not it: unset ` +
            "KAFKA_BROKERS (the lesson then starts the cluster), or start it yourself with " +
            "`deno task broker start --nodes 3`",
        );
      }
      await requireBroker(given);
      return given;
    }
    if ((await clusterStatus()).some((node) => !node.answering)) {
      await startCluster({ onProgress: (line) => console.log(line) });
    }
    return own;
  }

  /** One line that says where the lab is connected: the cluster's nodes. */
  override toString(): string {
    return `Connected to the lab's ${CLUSTER_NODES}-node cluster at ${this.brokers.join(",")}; ` +
      `topic ${this.topic} has ${ORDER_PARTITIONS} partitions, 3 replicas each.`;
  }

  /**
   * Shows the Kafka code of `scripts/<script>.ts` (its `// #region <script>`):
   * what the lesson's members and producer run.
   */
  async showScript(script: "consumer" | "producer"): Promise<void> {
    await this.showRegion(projectPath(`scripts/${script}.ts`), script);
  }

  /** Node id by client address, `127.0.0.1:9094` → 1. */
  #nodes(): Map<string, number> {
    return new Map(clusterPaths().nodes.map((n) => [n.address, n.nodeId]));
  }

  /**
   * The cluster as the group sees it: each node, whether it is up, which
   * partitions of the topic it leads, and which node is the group's
   * coordinator (the leader of the group's `__consumer_offsets` partition).
   */
  async showCluster(groupId: string): Promise<void> {
    const coordinator = await waitForCoordinator(this.brokers, groupId);
    const status = await clusterStatus();
    const { offsets, leaders } = await this.withAdmin(async (admin) => ({
      offsets: await offsetsPartitionOf(admin, groupId),
      leaders: await this.#leaders(admin),
    }));
    const rows = status.map((node) => [
      node.nodeId,
      node.address,
      node.answering ? "up" : "down",
      leaders.flatMap((l, p) => l === node.nodeId ? [p] : []).join(", ") || "-",
      node.nodeId === coordinator.nodeId ? `yes (${OFFSETS_TOPIC}-${offsets.partition})` : "-",
    ]);
    await show(
      new Report([
        `${groupId}'s coordinator is node ${coordinator.nodeId} ` +
        `(${coordinator.host}:${coordinator.port}): the leader of ` +
        `${OFFSETS_TOPIC}-${offsets.partition}, the partition of ${offsets.partitions} that ` +
        `"${groupId}" hashes to, which holds the group's members and committed offsets; its ` +
        `in-sync copies are on nodes ${offsets.isr.join(", ")}.`,
        new Table(
          ["NODE", "ADDRESS", "STATE", `LEADS ${this.topic}`, `COORDINATOR OF ${groupId}`],
          rows,
        ),
      ]),
    );
  }

  /**
   * Orders flow (one every {@linkcode STEADY_INTERVAL_MS} ms) through
   * `groupId`'s members; then the node coordinating the group is killed
   * (`kill -9`). Shows, once every partition is consumed again: what the
   * members and the producer went through (their own lines), the new
   * coordinator, and the rebalance in watch's timeline.
   */
  async killCoordinator(groupId: string, members: MemberProcess[]): Promise<NodeLoss> {
    const { nodeId } = await waitForCoordinator(this.brokers, groupId);
    return await this.#killWhileProducing(groupId, members, nodeId, "coordinator");
  }

  /**
   * As {@linkcode killCoordinator}, but the node killed is one that leads
   * partitions of the topic and is not the group's coordinator: the producer
   * and the members move to the partitions' new leaders.
   */
  async killLeader(groupId: string, members: MemberProcess[]): Promise<NodeLoss> {
    const { nodeId: coordinator } = await waitForCoordinator(this.brokers, groupId);
    const leaders = await this.withAdmin((admin) => this.#leaders(admin));
    const node = leaders.find((l) => l !== coordinator);
    if (node === undefined) {
      throw new LabError(
        `node ${coordinator} leads every partition of ${this.topic} and coordinates ${groupId}: ` +
          "no node leads partitions only; run the cell again after Kafka moved leaders back " +
          "(or restart a node)",
      );
    }
    return await this.#killWhileProducing(groupId, members, node, "leader");
  }

  /** The leader's node id of each partition of the topic, by partition (-1: none). */
  async #leaders(admin: Admin): Promise<number[]> {
    const { topics } = await admin.fetchTopicMetadata({ topics: [this.topic] });
    const leaders: number[] = [];
    for (const p of topics[0].partitions) leaders[p.partitionId] = p.leader;
    return leaders;
  }

  async #killWhileProducing(
    groupId: string,
    members: MemberProcess[],
    node: number,
    role: NodeLoss["role"],
  ): Promise<NodeLoss> {
    const nodes = this.#nodes();
    const leadersBefore = await this.withAdmin((admin) => this.#leaders(admin));
    const { start, count } = await this.nextOrders(Math.ceil(5 * 60_000 / STEADY_INTERVAL_MS));
    const orders = new SteadyOrders(this.brokers, this.topic, start, count);
    const watching = new AbortController();
    // The watch's own admin client asks the coordinator too (DescribeGroups): its refusals.
    const refusals = new Map<string, number>();
    const watcher = new Kafka({
      ...kafkaConfig({ brokers: this.brokers, clientId: "lab-watch" }),
      logLevel: logLevel.ERROR,
      logCreator: () => ({ namespace, log }) => {
        const text = /^Response /.test(log.message)
          ? kafkajsErrorWords(namespace, log.message, log as KafkajsLogFields, nodes)
          : undefined;
        if (text && !refusals.has(text)) refusals.set(text, Date.now());
      },
    }).admin();
    await watcher.connect();
    const watch = new GroupWatch(watcher, { groupId, topic: this.topic });
    const polling = runWatch(watch, 300, watching.signal, () => {});
    try {
      await sleep(BEFORE_KILL_MS);
      const before = await this.withAdmin((admin) => snapshotGroup(admin, groupId, [this.topic]));
      const linesBefore = members.map((m) => m.lines.length);
      const killedAt = Date.now();
      const pid = await killNode(node);
      const loss: NodeLoss = {
        groupId,
        node,
        role,
        killedAt,
        before,
        acked: orders.acked,
        members: [...members],
      };
      const coordinator = await waitForCoordinator(this.brokers, groupId, {
        except: role === "coordinator" ? node : undefined,
        timeoutMs: RECOVERY_TIMEOUT_MS,
      });
      const foundAt = Date.now();
      const restarted: string[] = [];
      const again = await this.#consumingAgain(loss, members, restarted);
      await sleep(1000); // a few more orders, consumed by the group as it is now
      await orders.stop();
      watching.abort();
      await polling;
      await watch.poll().catch(() => undefined);
      // A partition whose leader lived may never stop: its first order after the kill can be
      // stamped by the member a hair before this process noted the kill. That is 0 s, not -0.0 s.
      const seconds = (at: number) => `${(Math.max(0, at - killedAt) / 1000).toFixed(1)} s`;
      const departures = await this.#departures(coordinator.nodeId, groupId);
      const silent = [...restarted, ...await this.#silentSince(members, killedAt)];
      const leadersAfter = await this.withAdmin((admin) => this.#leaders(admin));
      const parts = [
        `Killed node ${node} (kill -9, pid ${pid}), ${
          role === "coordinator"
            ? `the coordinator of ${groupId}`
            : `the leader of ${this.topic} partition(s) ${
              leadersBefore.flatMap((l, p) => l === node ? [p] : []).join(", ")
            } (not the coordinator)`
        }, while orders went out every ${STEADY_INTERVAL_MS} ms.`,
        role === "coordinator"
          ? `${groupId}'s new coordinator: node ${coordinator.nodeId} ` +
            `(${coordinator.host}:${coordinator.port}), the new leader of its ${OFFSETS_TOPIC} ` +
            `partition; the lab's own FindCoordinator named it ${seconds(foundAt)} after the kill.`
          : `${groupId}'s coordinator stayed node ${coordinator.nodeId}.`,
        new Table(
          ["PARTITION", "LEADER BEFORE", "LEADER AFTER", "CONSUMED AGAIN AFTER"],
          leadersBefore.map((l, p) => [
            p,
            `node ${l}`,
            `node ${leadersAfter[p]}`,
            again.byPartition[p] === undefined ? "not yet" : seconds(again.byPartition[p]!),
          ]),
        ),
        again.at === undefined
          ? `The group had not consumed every partition again ${
            RECOVERY_TIMEOUT_MS / 1000
          } s after the kill.`
          : `Every partition was consumed again ${seconds(again.at)} after the kill (an order ` +
            "produced after the kill, processed).",
        ...silent.length === 0 ? [] : [
          `${silent.join(", ")} reported nothing after the kill (no order, no rejoin, no crash; ` +
          "at most kafkajs's errors below): a kafkajs 2.2.4 consumer can stall like this after " +
          "a broker dies. Such a member no longer heartbeats, so the group goes on without it; " +
          "the lab killed it and started it again (what a liveness check on kafkajs's HEARTBEAT " +
          "and FETCH events would do).",
        ],
        this.#saidTable(
          orders,
          [
            ...await this.#memberEvents(members, killedAt),
            ...[...refusals].filter(([, at]) => at >= killedAt)
              .map(([what, at]) => ({ at, who: "watch (describe)", what })),
          ],
          leadersAfter,
          seconds,
        ),
        this.#errorsTable(members, linesBefore, nodes),
        watch.timeline.rebalances.length === 0
          ? "REBALANCE TIMELINE (deno task watch)\n(no rebalance seen)"
          : timelineTable(watch.timeline.rebalances, departures),
      ];
      await show(new Report(parts));
      // A stalled member no longer heartbeats: the group went on without it. Start it again,
      // as a liveness check would, so the next experiment has all three (its orders so far
      // still count: the loss keeps the old process too).
      for (const name of silent.filter((n) => !restarted.includes(n))) {
        await this.#restartStalled(loss, members, name);
      }
      return loss;
    } finally {
      watching.abort();
      await orders.stop().catch(() => {});
      await polling.catch(() => {});
      await watcher.disconnect().catch(() => {});
    }
  }

  /**
   * What the members (their run logs, and the watch's refusals) and the
   * producer said after the kill, in order: `seconds` says when, from the kill.
   */
  #saidTable(
    orders: SteadyOrders,
    events: { at: number; who: string; what: string }[],
    leadersAfter: number[],
    seconds: (at: number) => string,
  ): Table {
    const producer = orders.outages.flatMap((o) => [
      { at: o.at, who: "Producer", what: `lost the broker (${o.reason}); retrying` },
      ...o.then
        ? [{
          at: o.then.at,
          who: "Producer",
          what: `order ${o.then.order.order_id} acknowledged: partition ${o.then.partition} ` +
            `has a leader again (node ${leadersAfter[o.then.partition]})`,
        }]
        : [],
    ]);
    return new Table(
      ["AFTER", "WHO", "WHAT"],
      [...producer, ...events].sort((a, b) => a.at - b.at)
        .map((e) => [seconds(e.at), e.who, e.what]),
      "WHAT THE MEMBERS, THE PRODUCER AND THE WATCH SAID (their own lines)",
    );
  }

  /**
   * Waits until every partition has had an order produced after the kill
   * processed by a member; resolves to when each partition first did, and
   * when the last of them did (undefined after {@linkcode RECOVERY_TIMEOUT_MS}).
   */
  async #consumingAgain(
    loss: NodeLoss,
    members: MemberProcess[],
    restarted: string[],
  ): Promise<{ at?: number; byPartition: (number | undefined)[] }> {
    const deadline = loss.killedAt + RECOVERY_TIMEOUT_MS;
    while (true) {
      const byPartition = await this.#firstAfterKill(loss);
      const done = byPartition.length === ORDER_PARTITIONS &&
        byPartition.every((at) => at !== undefined);
      if (done) return { at: Math.max(...byPartition as number[]), byPartition };
      if (Date.now() > deadline) return { byPartition };
      if (restarted.length === 0 && Date.now() > loss.killedAt + STALL_MS) {
        // Twice the usual recovery and still not consuming: members that said nothing since
        // the kill have stalled (kafkajs); start them again, as a liveness check would.
        for (const name of await this.#silentSince(members, loss.killedAt)) {
          await this.#restartStalled(loss, members, name);
          restarted.push(name);
        }
      }
      await sleep(300);
    }
  }

  /**
   * Kills the stalled member `name` and starts it again in `members`; the
   * loss keeps both processes, so the orders the old one processed still count.
   */
  async #restartStalled(loss: NodeLoss, members: MemberProcess[], name: string): Promise<void> {
    const index = members.findIndex((m) => m.name === name);
    members[index] = await this.restartMember(members[index]);
    loss.members.push(members[index]);
  }

  /** Per partition, when a member first processed an order acknowledged after the kill. */
  async #firstAfterKill(loss: NodeLoss): Promise<(number | undefined)[]> {
    const late = new Set(
      loss.acked.filter((o) => o.at > loss.killedAt).map((o) => `${o.partition}@${o.offset}`),
    );
    const firsts: (number | undefined)[] = Array(ORDER_PARTITIONS).fill(undefined);
    for (const member of loss.members) {
      for (const m of messagesOf(await member.events())) {
        if (m.topic !== this.topic || !late.has(`${m.partition}@${m.offset}`)) continue;
        firsts[m.partition] = Math.min(firsts[m.partition] ?? Infinity, m.at);
      }
    }
    return firsts;
  }

  /** The names of `members` whose run logs hold no event at all after `since`: stalled. */
  async #silentSince(members: MemberProcess[], since: number): Promise<string[]> {
    const quiet = await Promise.all(
      members.map(async (m) => (await m.events()).every((e) => e.at < since)),
    );
    return members.filter((_, i) => quiet[i]).map((m) => m.name);
  }

  /**
   * What the members said after `since`, from their run logs: lost the
   * broker, found the coordinator elsewhere, rebalancing, assigned (their
   * messages left out).
   */
  async #memberEvents(
    members: MemberProcess[],
    since: number,
  ): Promise<{ at: number; who: string; what: string }[]> {
    const said = (e: MemberEvent) => {
      switch (e.type) {
        case "crashed":
          return e.restarting
            ? `lost the broker (${e.error}); reconnecting and rejoining`
            : `stopped on an error: ${e.error}`;
        case "coordinator":
          return `group coordinator ${e.previous ?? "?"} -> ${e.broker} (after ${e.lookups} ` +
            `FindCoordinator lookup${e.lookups === 1 ? "" : "s"})`;
        case "rebalancing":
          return "the group is rebalancing";
        case "assigned":
          return `assigned partition(s) ${e.partitions.join(", ") || "none"} ` +
            `[rebalance took ${e.durationMs} ms]`;
        default:
          return undefined;
      }
    };
    const rows = await Promise.all(
      members.map(async (m) =>
        (await m.events()).filter((e) => e.at >= since).flatMap((e) => {
          const what = said(e);
          return what ? [{ at: e.at, who: m.name, what }] : [];
        })
      ),
    );
    return rows.flat();
  }

  /** The kafkajs errors each member printed after the kill, counted, in order of first seen. */
  #errorsTable(members: MemberProcess[], linesBefore: number[], nodes: Map<string, number>) {
    const rows = members.flatMap((m, i) => {
      const counts = new Map<string, number>();
      for (const line of m.lines.slice(linesBefore[i])) {
        const text = kafkajsErrorText(line, nodes);
        if (text) counts.set(text, (counts.get(text) ?? 0) + 1);
      }
      return [...counts].map(([text, times]) => [m.name, text, times]);
    });
    return new Table(
      ["MEMBER", "KAFKAJS ERROR (LAB_KAFKAJS_LOG=error)", "TIMES"],
      rows,
      "THE MEMBERS' ERRORS, FROM KAFKAJS'S OWN LOG",
    );
  }

  /** How members of `groupId` went away, from the log of node `nodeId` (the new coordinator's). */
  async #departures(nodeId: number, groupId: string) {
    const node = clusterPaths().nodes.find((n) => n.nodeId === nodeId);
    const log = node ? await readTextFile(node.paths.logFile).catch(() => "") : "";
    return departuresFromBrokerLog(log.slice(-2_000_000), groupId);
  }

  /**
   * Waits until the orders the producer acknowledged during `loss` are all
   * consumed (or 30 s), then shows produced, consumed, lost and processed
   * twice, and the group's committed offsets before the kill and now.
   */
  async countOrders(loss: NodeLoss): Promise<void> {
    const acked = new Set(loss.acked.map((o) => `${o.partition}@${o.offset}`));
    const consumed = async () => {
      const seen = new Map<string, number>();
      for (const member of loss.members) {
        for (const m of messagesOf(await member.events())) {
          const key = `${m.partition}@${m.offset}`;
          if (m.topic === this.topic && acked.has(key)) seen.set(key, (seen.get(key) ?? 0) + 1);
        }
      }
      return seen;
    };
    const deadline = Date.now() + 30_000;
    let seen = await consumed();
    while (seen.size < acked.size && Date.now() < deadline) {
      await sleep(300);
      seen = await consumed();
    }
    const twice = [...seen.values()].filter((n) => n > 1).length;
    const after = await this.withAdmin((admin) => caughtUp(admin, loss.groupId, this.topic));
    const committed = (s: GroupSnapshot, p: number) =>
      s.partitions.find((x) => x.topic === this.topic && x.partition === p);
    // Not consumed, but at or after the group's commit: still in the topic, waiting for a member.
    const unconsumed = loss.acked.filter((o) => !seen.has(`${o.partition}@${o.offset}`));
    const waiting =
      unconsumed.filter((o) => o.offset >= (committed(after, o.partition)?.currentOffset ?? 0))
        .length;
    const lost = unconsumed.length - waiting;
    const rows = Array.from({ length: ORDER_PARTITIONS }, (_, p) => {
      const was = committed(loss.before, p)?.currentOffset ?? null;
      const now = committed(after, p);
      return [p, was, now?.currentOffset ?? null, now?.logEndOffset ?? null, now?.lag ?? null];
    });
    const intact = rows.every(([, was, now]) =>
      was === null || (now !== null && (now as number) >= (was as number))
    );
    await show(
      new Report([
        new Table(["PRODUCED", "CONSUMED", "LOST", "PROCESSED TWICE", "NOT YET CONSUMED"], [[
          acked.size,
          seen.size,
          lost,
          twice,
          waiting,
        ]]),
        lost > 0
          ? `${lost} acknowledged order(s) were not consumed, and the group's commits are past them.`
          : waiting > 0
          ? `${waiting} acknowledged order(s) were not consumed yet: they are in the topic, after ` +
            "the group's commit (LAG below), waiting for a member that consumes again."
          : `Every order the producer got an acknowledgement for was consumed: nothing lost.` +
            (twice > 0
              ? ` ${twice} were processed twice: at least once, as after any rebalance (lesson 5).`
              : ""),
        new Table(
          ["PARTITION", "COMMITTED BEFORE THE KILL", "COMMITTED NOW", "LOG-END-OFFSET", "LAG"],
          rows,
          `${loss.groupId}'s committed offsets (describe), before and after`,
        ),
        intact
          ? `Committed offsets intact: each partition's commit went on from where it was before ` +
            `node ${loss.node} died (a lost commit would have sent the group back to the start).`
          : `A committed offset went back: the group lost commits.`,
      ]),
    );
  }

  /** Starts node `loss.node` again, waits until it is back in every ISR, and shows the cluster. */
  async restart(loss: NodeLoss): Promise<void> {
    const ms = await restartNode(loss.node);
    await show(
      `Node ${loss.node} is back and in the ISR of every partition again after ` +
        `${(ms / 1000).toFixed(1)} s.`,
    );
    await this.showCluster(loss.groupId);
  }
}

/**
 * `groupId` on `topic` once it has caught up (lag 0 on every partition: its
 * last commits are in), or as it is after 10 s.
 */
async function caughtUp(admin: Admin, groupId: string, topic: string): Promise<GroupSnapshot> {
  const { snapshot } = await waitForGroup(
    admin,
    groupId,
    (s) => s.partitions.length === ORDER_PARTITIONS && s.partitions.every((p) => p.lag === 0),
    10_000,
    { topics: [topic], pollMs: 300 },
  );
  return snapshot;
}
