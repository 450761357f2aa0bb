/**
 * The chaos soak: at-least-once delivery, proved on the real broker under
 * failure. Keyed orders are produced while members of one group are killed
 * with SIGKILL and restarted at random intervals, and the broker itself is
 * restarted once; then every order produced is looked for in the members'
 * run logs.
 *
 * Bounded: a fixed number of orders, a wall-clock limit, and it stops every
 * process it started. It talks only to the broker it is given (the lab's
 * own, on 127.0.0.1, for the broker restart).
 *
 * @module
 */
import { isEmbeddedBroker, startBroker, stopBroker } from "../lib/kafka/broker.ts";
import { createKafka } from "../lib/kafka/config.ts";
import { totalLag, waitForGroup } from "../lib/inspect/groups.ts";
import { messagesOf } from "../lib/processes/runlog.ts";
import { type MemberProcess, spawnMember } from "../lib/processes/spawn.ts";
import { sleep } from "../lib/platform/wait.ts";
import { Partitioners } from "kafkajs";
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
  const produced = new Set<string>();
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

    const producer = kafka.producer({ createPartitioner: Partitioners.DefaultPartitioner });
    await producer.connect();
    const batch = Math.max(1, Math.ceil(orders / 200));
    const pause = (options.produceMs ?? 30_000) / Math.ceil(orders / batch);
    const restartAt = options.restartBroker !== false && embedded ? Math.floor(orders * 0.4) : -1;
    for (let next = 0; next < orders && Date.now() < deadline;) {
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
      }));
      try {
        await producer.send({ topic, acks: -1, messages });
        messages.forEach((m) => produced.add(m.key));
        next += messages.length;
        await sleep(pause);
      } catch (error) {
        say(`producer: ${(error as Error).message}; retrying the batch`);
        await sleep(500);
      }
    }
    await producer.disconnect();
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
      wallMs: Date.now() - started,
      drained,
    };
  } finally {
    stop.abort();
    await Promise.all(members.map((m) => m.kill()));
    await admin.disconnect().catch(() => {});
  }
}
