/**
 * The lab's main demo, the seed's example end to end: a real broker, the
 * `order-events` topic, two members of `billing-group` as separate processes,
 * the producer, their interleaved output, then a summary and a verdict.
 *
 * @module
 */
import { startBroker } from "../kafka/broker.ts";
import { LabError } from "../platform/errors.ts";
import {
  brokerAnswers,
  createKafka,
  isLabCluster,
  ORDER_PARTITIONS,
  unreachableMessage,
} from "../kafka/config.ts";
import { allPartitionsOwned, logEndOffsets, totalLag, waitForGroup } from "../inspect/groups.ts";
import { type MemberProcess, runProducer, spawnMember } from "../processes/spawn.ts";
import { AssignmentDiagram } from "../platform/render.ts";
import { type OffsetRange, summarizeRun, summaryTable, verdict } from "../inspect/summary.ts";
import { ensureTopic } from "../kafka/topic.ts";

/** Options for {@linkcode runDemo}. */
export interface DemoOptions {
  brokers: string[];
  /** Start the embedded broker if nothing answers (only for the default local address). */
  startLocalBroker: boolean;
  groupId: string;
  topic: string;
  members: number;
  count: number;
  intervalMs: number;
  /** Where every line goes (default console.log). */
  print?: (line: string) => void;
}

/**
 * Runs the demo; resolves to true when every produced message was consumed
 * exactly once and each partition was read by one member.
 *
 * @example
 * ```ts
 * await runDemo({ brokers: ["localhost:9092"], startLocalBroker: true, groupId: "billing-group",
 *   topic: "order-events", members: 2, count: 10, intervalMs: 500 });
 * ```
 */
export async function runDemo(options: DemoOptions): Promise<boolean> {
  const print = options.print ?? ((line: string) => console.log(line));
  const { brokers, groupId, topic } = options;
  if (!(await brokerAnswers(brokers, 3000))) {
    if (!options.startLocalBroker || isLabCluster(brokers)) {
      throw new LabError(unreachableMessage(brokers));
    }
    print("No Kafka answers yet: starting the lab's own broker.");
    await startBroker({ onProgress: (line) => print(`[broker] ${line}`) });
  }
  const admin = createKafka({ brokers, clientId: "lab-demo" }).admin();
  const members: MemberProcess[] = [];
  await admin.connect();
  try {
    const { created } = await ensureTopic(admin, topic);
    print(`Topic ${topic}: ${ORDER_PARTITIONS} partitions${created ? " (created)" : ""}.`);
    print(`Starting ${options.members} members of ${groupId}, each its own process...`);
    for (let i = 1; i <= options.members; i++) {
      members.push(
        await spawnMember({
          groupId,
          name: `Consumer ${i}`,
          brokers,
          topic,
          onLine: print,
        }),
      );
    }
    const settled = await waitForGroup(
      admin,
      groupId,
      (s) => s.members.length === options.members && allPartitionsOwned(s, topic, ORDER_PARTITIONS),
      30_000,
      { topics: [topic] },
    );
    if (!settled.ok) {
      throw new LabError(`${groupId} did not settle with ${options.members} members`);
    }
    const before = await logEndOffsets(admin, topic);
    print(`\nProducing ${options.count} orders to ${topic}...`);
    const producer = await runProducer({
      brokers,
      topic,
      count: options.count,
      intervalMs: options.intervalMs,
      onLine: print,
    });
    if (producer.code !== 0) throw new LabError("the producer failed (see its output above)");
    const after = await logEndOffsets(admin, topic);
    const caughtUp = await waitForGroup(admin, groupId, (s) => totalLag(s, topic) === 0, 20_000, {
      topics: [topic],
    });
    const ranges: OffsetRange[] = after.map((to, partition) => ({
      partition,
      from: before[partition] ?? 0,
      to,
    }));
    await Promise.all(members.map((m) => m.stop()));
    const summary = summarizeRun(
      await Promise.all(members.map(async (m) => ({ name: m.name, events: await m.events() }))),
      ranges,
    );
    print("");
    print(String(summaryTable(summary)));
    print("");
    print(String(
      new AssignmentDiagram({
        topic,
        partitionCount: ORDER_PARTITIONS,
        groupId,
        members: summary.members.map((m) => ({ name: m.name, partitions: m.partitions })),
      }),
    ));
    print("");
    if (!caughtUp.ok) print(`(the group still had lag after 20 s)`);
    print(verdict(summary));
    print(
      isLabCluster(brokers)
        ? "The cluster keeps running for the next steps; `deno task broker stop --nodes 3` stops it."
        : "The broker keeps running for the next steps; `deno task broker stop` stops it.",
    );
    return summary.missing.length === 0 && summary.duplicates.length === 0 &&
      summary.sharedPartitions.length === 0;
  } finally {
    await Promise.all(members.map((m) => m.kill()));
    await admin.disconnect();
  }
}
