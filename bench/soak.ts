/**
 * The chaos soak: at-least-once delivery, proved on the real broker under
 * failure. Keyed orders are produced while members of one group are killed
 * with SIGKILL and restarted at random intervals, and the broker itself is
 * restarted once (or, on the lab's 3-node cluster, nodes are killed with
 * SIGKILL one at a time, the group's coordinator first, each restarted and
 * waited for until it is back in the ISR); then every order produced is
 * looked for in the members' run logs.
 *
 * Orders are sent with `acks=all`, one send per partition: kafkajs can lose
 * an acknowledged record of a send that spans several partitions when one
 * of their leaders dies (tulios/kafkajs#1303), which is kafkajs's bug, not
 * Kafka's, and not what the soak is about.
 *
 * Bounded: a fixed number of orders, a wall-clock limit, and it stops every
 * process it started. It talks only to the broker it is given (the lab's
 * own, on 127.0.0.1, for the broker restart) or the lab's cluster.
 *
 * @module
 */
import { isEmbeddedBroker, startBroker, stopBroker } from "../lib/kafka/broker.ts";
import type { ClusterOptions } from "../lib/kafka/cluster.ts";
import { createKafka } from "../lib/kafka/config.ts";
import {
  killNode,
  partitionLeader,
  restartNode,
  waitForCoordinator,
} from "../lib/kafka/failover.ts";
import { GroupApis } from "../lib/kafka/groupapis.ts";
import { totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { messagesOf } from "../lib/processes/runlog.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { sleep } from "../lib/platform/wait.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
import { Table } from "../lib/platform/render.ts";
import { ensureTopic } from "../lib/kafka/topic.ts";
import { GroupWatch, runWatch } from "../lib/inspect/watch.ts";

/** Options for {@linkcode runSoak}. */
export interface SoakOptions {
  brokers: string[];
  topic: string;
  groupId: string;
  /** Orders to produce (default 10,000). */
  orders?: number;
  /** Members of the group (default 3). */
  members?: number;
  /** How long producing should take, spread evenly (default 30 s). */
  produceMs?: number;
  /** A SIGKILL every this many ms, give or take half (default 3 s). */
  killEveryMs?: number;
  /** Restart the lab's embedded broker once, mid-run (default true). */
  restartBroker?: boolean;
  /**
   * `brokers` are the lab's 3-node cluster, placed so: instead of the
   * broker restart, kill {@linkcode SoakOptions.nodeKills} nodes with
   * SIGKILL, one at a time, restarting each.
   */
  cluster?: ClusterOptions;
  /** Nodes killed on the cluster, evenly spread; the first is the group's coordinator (default 2). */
  nodeKills?: number;
  /**
   * Mix the group protocols: every second member is a consumer-protocol
   * (KIP-848) member (`scripts/consumer_protocol.ts`), the others classic
   * kafkajs members, and every second chaos step is a clean leave (SIGTERM)
   * instead of a SIGKILL (default false).
   */
  mixed?: boolean;
  /** Give up after this long, whatever the state (default 4 min). */
  maxWallMs?: number;
  /** Progress lines. */
  onLine?: (line: string) => void;
}

/** What a soak found. */
export interface SoakReport {
  produced: number;
  consumedUnique: number;
  lost: number;
  duplicates: number;
  rebalances: number;
  kills: number;
  /** Members stopped cleanly (SIGTERM) and restarted, with `mixed`. */
  leaves: number;
  brokerRestarts: number;
  /** Cluster nodes killed with SIGKILL (and restarted). */
  nodeKills: number;
  /** Times the group's coordinator was seen to move to another node. */
  coordinatorMoves: number;
  wallMs: number;
  /** The group had no lag left at the end. */
  drained: boolean;
}

/**
 * The report as a table: one row per figure.
 *
 * @example
 * ```ts
 * console.log(String(soakTable(report)));
 * ```
 */
export function soakTable(report: SoakReport): Table {
  return new Table(["FIGURE", "VALUE"], [
    ["produced (acknowledged)", report.produced],
    ["consumed (unique orders)", report.consumedUnique],
    ["lost", report.lost],
    ["duplicates (at-least-once)", report.duplicates],
    ["rebalances", report.rebalances],
    ["members killed (SIGKILL)", report.kills],
    ["members left (SIGTERM)", report.leaves],
    ["broker restarts", report.brokerRestarts],
    ["cluster nodes killed (SIGKILL)", report.nodeKills],
    ["coordinator moves", report.coordinatorMoves],
    ["wall time", `${(report.wallMs / 1000).toFixed(1)} s`],
  ], "SOAK REPORT");
}

/**
 * Runs the soak and reports what was produced, consumed, lost and
 * duplicated.
 *
 * @example
 * ```ts
 * const report = await runSoak({ brokers: ["127.0.0.1:9092"], topic: "soak", groupId: "soak-group", orders: 1000 });
 * report.lost; // 0
 * ```
 */
export async function runSoak(options: SoakOptions): Promise<SoakReport> {
  const started = Date.now();
  const deadline = started + (options.maxWallMs ?? 240_000);
  const say = options.onLine ?? (() => {});
  const { brokers, topic, groupId } = options;
  const orders = options.orders ?? 10_000;
  const memberCount = options.members ?? 3;
  const embedded = isEmbeddedBroker(brokers);
  const kafka = createKafka({ brokers, clientId: "lab-soak", retries: 10 });
  const admin = kafka.admin();
  await admin.connect();
  await ensureTopic(admin, topic);

  const members: MemberProcess[] = [];
  const retired: MemberProcess[] = [];
  const stop = new AbortController();
  const watch = new GroupWatch(admin, { groupId, topic });
  const watching = runWatch(watch, 250, stop.signal, () => {});
  let brokerDown = false;
  /** Starts a member, trying again (a member refuses to start while the broker is down). */
  const spawn = async (name: string): Promise<MemberProcess> => {
    const protocol = options.mixed && name.endsWith("(new)") ? "consumer" : "classic";
    while (true) {
      try {
        return await spawnMember({
          groupId,
          name,
          brokers,
          topic,
          protocol, // a consumer-protocol member's session timeout is the broker's
          extraArgs: protocol === "classic" ? ["--session-timeout-ms", "6000"] : [],
        }, 60_000);
      } catch (error) {
        if (Date.now() > deadline) throw error;
        say(`chaos: ${name} could not start yet (${(error as Error).message.slice(0, 80)}...)`);
        await sleep(1000);
      }
    }
  };
  let kills = 0;
  let leaves = 0;
  let brokerRestarts = 0;
  let nodeKills = 0;
  const produced = new Set<string>();
  const coordinator = options.cluster
    ? followCoordinator(brokers, groupId, stop.signal, say)
    : undefined;
  /** The restart of the node killed last, while it runs: one node down at a time. */
  let restarting: Promise<void> | undefined;
  /** Kills a node (the coordinator first, then a partition leader that is not) and restarts it. */
  const killANode = async () => {
    const { nodeId: coordinatorId } = await waitForCoordinator(brokers, groupId);
    const leaders = await Promise.all([0, 1, 2].map((p) => partitionLeader(brokers, topic, p)));
    const victim = nodeKills === 0
      ? coordinatorId
      : leaders.find((l) => l > 0 && l !== coordinatorId) ?? coordinatorId;
    brokerDown = true;
    await killNode(victim, options.cluster);
    nodeKills++;
    say(
      `chaos: killed node ${victim} (SIGKILL)${
        victim === coordinatorId ? ", the coordinator" : ""
      }`,
    );
    restarting = restartNode(victim, options.cluster).then((ms) => {
      brokerRestarts++;
      brokerDown = false;
      say(`chaos: node ${victim} restarted and back in every ISR (${(ms / 1000).toFixed(1)} s)`);
    });
  };
  try {
    for (let i = 1; i <= memberCount; i++) {
      members.push(await spawn(`Consumer ${i}${options.mixed && i % 2 === 0 ? " (new)" : ""}`));
    }
    say(`${memberCount} members of ${groupId} running; producing ${orders} orders to ${topic}...`);

    const chaos = (async () => {
      const every = options.killEveryMs ?? 3000;
      while (!stop.signal.aborted) {
        await sleep(every / 2 + Math.random() * every, stop.signal);
        if (stop.signal.aborted || Date.now() > deadline) return;
        if (brokerDown) continue; // one kind of chaos at a time
        const index = Math.floor(Math.random() * members.length);
        const victim = members[index];
        const cleanLeave = options.mixed && (kills + leaves) % 2 === 1;
        if (cleanLeave) {
          await victim.stop();
          leaves++;
        } else {
          await victim.kill();
          kills++;
        }
        retired.push(victim);
        say(
          `chaos: ${
            cleanLeave ? "stopped" : "killed"
          } ${victim.name} (pid ${victim.pid}); restarting it`,
        );
        members[index] = await spawn(victim.name);
      }
    })().catch((error) => say(`chaos stopped: ${(error as Error).message}`));

    const producer = kafka.producer();
    await producer.connect();
    const batch = Math.max(1, Math.ceil(orders / 200));
    const pause = (options.produceMs ?? 30_000) / Math.ceil(orders / batch);
    const restartAt = options.restartBroker !== false && embedded ? Math.floor(orders * 0.4) : -1;
    const plannedKills = options.cluster ? options.nodeKills ?? 2 : 0;
    const killAt = Array.from(
      { length: plannedKills },
      (_, k) => Math.floor(orders * (k + 1) / (plannedKills + 1)),
    );
    const partitions = (await admin.fetchTopicMetadata({ topics: [topic] })).topics[0].partitions
      .length;
    for (let next = 0; next < orders && Date.now() < deadline;) {
      if (nodeKills < killAt.length && next >= killAt[nodeKills]) {
        await restarting; // one node down at a time
        await killANode();
      }
      if (restartAt >= 0 && next >= restartAt && brokerRestarts === 0) {
        say("chaos: restarting the broker");
        brokerDown = true;
        await stopBroker();
        await startBroker();
        brokerDown = false;
        brokerRestarts++;
        say("chaos: the broker is back");
      }
      const messages = Array.from({ length: Math.min(batch, orders - next) }, (_, i) => ({
        key: String(next + i),
        value: JSON.stringify(orderEvent(next + i)),
        partition: (next + i) % partitions,
      })).filter((m) => !produced.has(m.key)); // a retried batch resends only what was not acked
      try {
        for (let p = 0; p < partitions; p++) {
          const onP = messages.filter((m) => m.partition === p);
          if (onP.length === 0) continue;
          await producer.send({ topic, acks: -1, messages: onP });
          onP.forEach((m) => produced.add(m.key));
        }
        next += Math.min(batch, orders - next);
        await sleep(pause);
      } catch (error) {
        say(`producer: ${(error as Error).message}; retrying the batch`);
        await sleep(500);
      }
    }
    await producer.disconnect();
    await restarting;
    stop.abort();
    await chaos;
    say(`produced ${produced.size}; waiting for the group to drain...`);
    const { ok: drained } = await waitForGroup(
      admin,
      groupId,
      (s) => totalLag(s, topic) === 0,
      Math.max(5_000, deadline - Date.now()),
      { topics: [topic], pollMs: 500 },
    );
    await Promise.all(members.map((m) => m.stop()));
    await watching;
    await watch.poll().catch(() => {});
    const all = [...retired, ...members];
    const messages = (await Promise.all(all.map((m) => m.events()))).flatMap(messagesOf)
      .filter((m) => m.topic === topic);
    const consumed = new Set(messages.map((m) => m.key ?? ""));
    const lost = [...produced].filter((k) => !consumed.has(k)).length;
    return {
      produced: produced.size,
      consumedUnique: [...consumed].filter((k) => produced.has(k)).length,
      lost,
      duplicates: messages.length - consumed.size,
      rebalances: watch.timeline.rebalances.length,
      kills,
      leaves,
      brokerRestarts,
      nodeKills,
      coordinatorMoves: (await coordinator)?.moves ?? 0,
      wallMs: Date.now() - started,
      drained,
    };
  } finally {
    stop.abort();
    await Promise.all(members.map((m) => m.kill()));
    await admin.disconnect().catch(() => {});
  }
}

/**
 * Asks who coordinates `groupId` every second until `signal` aborts, saying
 * each move; resolves to how many it saw.
 */
async function followCoordinator(
  brokers: string[],
  groupId: string,
  signal: AbortSignal,
  say: (line: string) => void,
): Promise<{ moves: number }> {
  let moves = 0;
  let last: number | undefined;
  while (!signal.aborted) {
    // A client of its own each time: none outlives a connection to a node just killed.
    const apis = new GroupApis(brokers);
    const now = await apis.findCoordinator(groupId).then((c) => c.nodeId, () => undefined);
    await apis.close().catch(() => {});
    if (now !== undefined && last !== undefined && now !== last) {
      moves++;
      say(`coordinator moved: node ${last} -> node ${now}`);
    }
    last = now ?? last;
    await sleep(1000, signal);
  }
  return { moves };
}
