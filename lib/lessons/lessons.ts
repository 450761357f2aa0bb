/**
 * The lessons' experiments, one call per notebook cell. Each experiment is
 * bounded (it ends when its messages are in or its deadline passes, and
 * stops every member it started), collects output instead of printing it (so
 * nothing leaks into later cells), and shows its report with
 * {@linkcode show}: HTML/SVG in Jupyter, text in a terminal.
 *
 * The experiments are built from the same pieces as the scripts:
 * {@linkcode GroupMember}, {@linkcode spawnMember}, {@linkcode produceOrders},
 * {@linkcode snapshotGroup}.
 *
 * @module
 */
import type { Admin, Kafka, KafkaConfig } from "kafkajs";
import { startBroker } from "../kafka/broker.ts";
import { LabError } from "../platform/errors.ts";
import {
  brokerAnswers,
  createKafka,
  kafkaConfig,
  ORDER_PARTITIONS,
  ORDER_TOPIC,
  resolveBrokers,
  unreachableMessage,
} from "../kafka/config.ts";
import {
  allPartitionsOwned,
  type GroupSnapshot,
  logEndOffsets,
  snapshotGroup,
  timeRebalance,
  waitForGroup,
} from "../inspect/groups.ts";
import {
  clientIdFor,
  GroupMember,
  LAB_TIMING,
  type MessageEvent,
  waitForMembers,
} from "../kafka/member.ts";
import { type MemberProcess, spawnMember, stopLeftoverMembers } from "../processes/spawn.ts";
import { produceOrders, ProducerRun } from "../kafka/producer.ts";
import { AssignmentDiagram, Report, show, Table } from "../platform/render.ts";
import { sleep } from "../platform/wait.ts";
import { type OffsetRange, summarizeRun, summaryTable, verdict } from "../inspect/summary.ts";
import { ensureTopic } from "../kafka/topic.ts";
import { env, notebook } from "../platform/runtime.ts";

/** Options of {@linkcode Lab.runGroup}. */
export interface RunGroupOptions {
  /** Orders to produce once the group has settled (default 10). */
  orders?: number;
  /** Give up waiting for the orders after this long (default 20 s). */
  timeoutMs?: number;
}

/**
 * The lab as a notebook sees it: a Kafka connection (the running broker, or
 * the lab's own started on demand) and the topic `order-events`.
 *
 * @example
 * ```ts
 * const lab = await Lab.open();
 * await lab.runGroup("billing-group", ["Consumer 1", "Consumer 2"]);
 * ```
 */
export class Lab {
  #processes: MemberProcess[] = [];
  #orderIndex = 0;
  /** Client id to name of the members {@linkcode member} made for consumer cells. */
  #kernelMembers = new Map<string, string>();
  /** Log-end offsets when the producer cell last started ({@linkcode nextOrders}). */
  #since: number[] | undefined;

  private constructor(readonly brokers: string[], readonly topic: string) {}

  /**
   * Connects to `KAFKA_BROKERS` (or localhost:9092), starting the lab's own
   * broker when nothing answers at the default address, and ensures the topic.
   */
  static async open(topic: string = ORDER_TOPIC): Promise<Lab> {
    const brokers = resolveBrokers();
    if (!(await brokerAnswers(brokers, 3000))) {
      if (env("KAFKA_BROKERS")) throw new LabError(unreachableMessage(brokers));
      await startBroker();
    }
    const lab = new Lab(brokers, topic);
    await lab.#withAdmin((admin) => ensureTopic(admin, topic));
    await show(lab);
    return lab;
  }

  async #withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = createKafka({ brokers: this.brokers, clientId: "lab-notebook" }).admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect();
    }
  }

  /** One line that says where the lab is connected. */
  toString(): string {
    return `Connected to Kafka at ${this.brokers.join(",")}; topic ${this.topic} has ` +
      `${ORDER_PARTITIONS} partitions.`;
  }

  [Symbol.for("Jupyter.display")](): Record<string, string> {
    return { "text/plain": this.toString() };
  }

  /**
   * For `new Kafka(...)` in a lesson cell: this lab's brokers (and TLS/SASL
   * from the environment) under `name`'s client id, with the lab's quiet log.
   */
  client(name: string): KafkaConfig {
    return kafkaConfig({ brokers: this.brokers, clientId: clientIdFor(name) });
  }

  /**
   * The extras of a member whose consumer runs in this kernel (the consumer
   * cell): its messages go to one live table in the cell that calls
   * `member.watch`, or to lines when the lesson runs as a script. Stops
   * member processes of `groupId` left over first.
   */
  async member(kafka: Kafka, groupId: string, name: string): Promise<GroupMember> {
    await this.#clearLeftovers([groupId]);
    const member = new GroupMember({
      brokers: this.brokers,
      kafka,
      groupId,
      name,
      topic: this.topic,
      output: notebook() ? "table" : "lines", // run as a script (deno run, bun): the seed's lines
    });
    this.#kernelMembers.set(clientIdFor(name), name);
    return member;
  }

  /**
   * What the producer cell loops over: the next `count` orders (ids go on
   * across calls), no pause between them. {@linkcode split} reports on the
   * orders produced from here on.
   */
  async nextOrders(
    count = 10,
  ): Promise<{ start: number; count: number; intervalMs: number; run: ProducerRun }> {
    this.#since = await this.#withAdmin((admin) => logEndOffsets(admin, this.topic));
    const start = this.#orderIndex;
    this.#orderIndex += count;
    return { start, count, intervalMs: 0, run: new ProducerRun({ count }) };
  }

  /**
   * Waits until `members` (in this kernel or processes) have consumed the
   * orders produced since {@linkcode nextOrders}, or the deadline, then shows
   * who owned and processed what, the diagram and a verdict.
   */
  async split(
    groupId: string,
    members: (GroupMember | MemberProcess)[],
    timeoutMs = 20_000,
  ): Promise<void> {
    const since = this.#since;
    if (!since) throw new LabError("run the producer cell first: nothing was produced yet");
    const ends = await this.#withAdmin((admin) => logEndOffsets(admin, this.topic));
    const ranges = ends.map((to, partition) => ({ partition, from: since[partition] ?? 0, to }));
    const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
    const runs = async () =>
      await Promise.all(members.map(async (m) => ({
        name: m.name,
        events: m instanceof GroupMember ? m.events : await m.events(),
      })));
    const deadline = Date.now() + timeoutMs;
    let summary = summarizeRun(await runs(), ranges);
    while (summary.consumed < expected && Date.now() < deadline) {
      await sleep(200);
      summary = summarizeRun(await runs(), ranges);
    }
    for (const m of members) if (m instanceof GroupMember) m.redraw();
    await show(
      new Report([
        `Group ${groupId}: ${members.length} member${members.length === 1 ? "" : "s"} on ` +
        `${ORDER_PARTITIONS} partitions, ${expected} new orders.`,
        summaryTable(summary),
        this.#diagram(groupId, summary.members),
        verdict(summary),
      ]),
    );
  }

  /**
   * Starts `names` as members of `groupId` in this kernel, waits until the
   * group has settled, produces orders, waits until they are all consumed (or
   * the deadline), stops the members, and reports who owned and processed
   * what, with the diagram and a verdict.
   */
  async runGroup(groupId: string, names: string[], options: RunGroupOptions = {}): Promise<void> {
    await this.#clearLeftovers([groupId]);
    const members: GroupMember[] = [];
    try {
      for (const name of names) {
        members.push(
          await GroupMember.start({ brokers: this.brokers, groupId, name, topic: this.topic }),
        );
      }
      await this.#withAdmin((admin) => this.#settle(admin, groupId, names.length));
      const ranges = await this.#produceRanges(options.orders ?? 10);
      const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
      const inRange = (m: MessageEvent) =>
        ranges.some((r) => r.partition === m.partition && m.offset >= r.from && m.offset < r.to);
      await waitForMembers(
        members,
        () => members.flatMap((m) => m.received.filter(inRange)).length >= expected,
        options.timeoutMs ?? 20_000,
      );
      const summary = summarizeRun(
        members.map((m) => ({ name: m.name, events: m.events })),
        ranges,
      );
      await show(
        new Report([
          `Group ${groupId}: ${names.length} member${names.length === 1 ? "" : "s"} on ` +
          `${ORDER_PARTITIONS} partitions, ${expected} new orders.`,
          summaryTable(summary),
          this.#diagram(groupId, summary.members),
          verdict(summary),
        ]),
      );
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
  }

  /**
   * One member in each of `groupIds`, all at once: every group should get
   * every new order.
   */
  async runGroups(groupIds: string[], orders = 10, timeoutMs = 20_000): Promise<void> {
    await this.#clearLeftovers(groupIds);
    const members: GroupMember[] = [];
    try {
      for (const groupId of groupIds) {
        members.push(
          await GroupMember.start({
            brokers: this.brokers,
            groupId,
            name: `${groupId.replace(/-group$/, "")} service`,
            topic: this.topic,
          }),
        );
      }
      await this.#withAdmin(async (admin) => {
        for (const groupId of groupIds) await this.#settle(admin, groupId, 1);
      });
      const ranges = await this.#produceRanges(orders);
      const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
      const got = (m: GroupMember) =>
        summarizeRun([{ name: m.name, events: m.events }], ranges).consumed;
      await waitForMembers(members, () => members.every((m) => got(m) >= expected), timeoutMs);
      await show(
        new Report([
          `${orders} new orders; one member in each of ${groupIds.length} groups.`,
          new Table(
            ["GROUP", "MEMBER", "ORDERS RECEIVED", "EVERY ORDER?"],
            members.map((m) => [m.groupId, m.name, got(m), got(m) === expected ? "yes" : "no"]),
          ),
        ]),
      );
    } finally {
      await Promise.all(members.map((m) => m.stop()));
    }
  }

  /**
   * Starts members of `groupId` as separate processes, with the same script
   * as `deno task consumer`, and shows the group once it has settled. Their
   * output is kept (see {@linkcode MemberProcess.lines}), not printed.
   */
  async startMembers(
    groupId: string,
    names: string[],
    options: { sessionTimeoutMs?: number; extraArgs?: string[] } = {},
  ): Promise<MemberProcess[]> {
    await this.#clearLeftovers([groupId]);
    // Members already in the group now run in this kernel (the consumer cell's).
    const inKernel = await this.#withAdmin(async (admin) =>
      (await snapshotGroup(admin, groupId)).members.length
    );
    const extraArgs = [
      "--session-timeout-ms",
      String(options.sessionTimeoutMs ?? LAB_TIMING.sessionTimeoutMs),
      ...options.extraArgs ?? [],
    ];
    const started: MemberProcess[] = [];
    for (const name of names) {
      const member = await spawnMember({
        groupId,
        name,
        brokers: this.brokers,
        topic: this.topic,
        extraArgs,
      });
      started.push(member);
      this.#processes.push(member);
    }
    await this.#withAdmin((admin) => this.#settle(admin, groupId, inKernel + names.length));
    await this.showGroup(groupId);
    return started;
  }

  /** The group as the coordinator sees it now: diagram and members. */
  async showGroup(groupId: string): Promise<void> {
    const snapshot = await this.#withAdmin((admin) => snapshotGroup(admin, groupId));
    await show(
      new Report([
        `Group ${groupId}: ${snapshot.state}, ${snapshot.members.length} member(s).`,
        this.#snapshotDiagram(snapshot),
      ]),
    );
  }

  /** Stops a member process as Ctrl+C does (it leaves the group), and times the rebalance. */
  leave(member: MemberProcess): Promise<void> {
    return this.#timeRebalance(
      member,
      "left the group (SIGTERM, like Ctrl+C)",
      () => member.stop(),
    );
  }

  /** Kills a member process (SIGKILL, no goodbye), and times the rebalance. */
  crash(member: MemberProcess): Promise<void> {
    return this.#timeRebalance(member, "was killed (SIGKILL)", () => member.kill());
  }

  async #timeRebalance(
    member: MemberProcess,
    what: string,
    action: () => Promise<number>,
  ): Promise<void> {
    const groupId = await this.#groupOf(member);
    return await this.#withAdmin(async (admin) => {
      const remaining = (await snapshotGroup(admin, groupId)).members.length - 1;
      const { ok, ms, before, after } = await timeRebalance(
        admin,
        groupId,
        this.topic,
        ORDER_PARTITIONS,
        remaining,
        action,
      );
      const names = this.#memberNames();
      const line = ok
        ? `${member.name} ${what}. ${
          describeMoves(ownerChanges(before, after, this.topic), member.name, names)
        } The group was Stable with every partition owned after ${(ms / 1000).toFixed(1)} s.`
        : `${member.name} ${what}: the group had not settled after ${(ms / 1000).toFixed(1)} s.`;
      await show(new Report([line, this.#snapshotDiagram(after)]));
    });
  }

  async #groupOf(member: MemberProcess): Promise<string> {
    const assigned = (await member.events()).find((e) => e.type === "assigned");
    if (!assigned) throw new LabError(`${member.name} has not joined a group`);
    return assigned.groupId;
  }

  /** Stops every member process this lab started (and still running). */
  async stopAll(): Promise<void> {
    const running = this.#processes;
    this.#processes = [];
    await Promise.all(running.map((m) => m.stop()));
    await show(`Stopped ${running.length} member process(es).`);
  }

  // The plumbing below, for the lessons' own modules (lib/lessons/lessonN.ts).

  /** Runs `fn` with an admin client of the lab's brokers, connected for the call. */
  withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    return this.#withAdmin(fn);
  }

  /** Waits until `groupId` is Stable with `members` members and every partition owned. */
  settle(groupId: string, members: number): Promise<GroupSnapshot> {
    return this.#withAdmin((admin) => this.#settle(admin, groupId, members));
  }

  /** Produces the next `count` orders at once; returns the offsets they took, per partition. */
  produceRanges(count: number): Promise<OffsetRange[]> {
    return this.#produceRanges(count);
  }

  /** The group's assignment as a diagram (SVG in Jupyter, text in a terminal). */
  diagram(groupId: string, members: { name: string; partitions: number[] }[]): AssignmentDiagram {
    return this.#diagram(groupId, members);
  }

  /**
   * Every experiment starts here: member processes of its groups still
   * running from an earlier run (a cell run twice, a kernel restarted while a
   * lesson's members ran) are stopped, and the lesson says so.
   */
  async #clearLeftovers(groupIds: string[]): Promise<void> {
    for (const groupId of groupIds) {
      const stopped = await stopLeftoverMembers(groupId);
      this.#processes = this.#processes.filter((m) =>
        !stopped.includes(`${m.name} (pid ${m.pid})`)
      );
      if (stopped.length === 0) continue;
      await show(
        `Stopped ${stopped.length} member process(es) of ${groupId} left over from an ` +
          `earlier run (a cell run twice, or an earlier kernel): ${stopped.join(", ")}.`,
      );
    }
  }

  async #settle(admin: Admin, groupId: string, members: number): Promise<GroupSnapshot> {
    const { ok, snapshot } = await waitForGroup(
      admin,
      groupId,
      (s) =>
        s.members.length === members && s.state === "Stable" &&
        allPartitionsOwned(s, this.topic, ORDER_PARTITIONS),
      30_000,
    );
    if (!ok) throw new LabError(`${groupId} did not settle with ${members} member(s)`);
    return snapshot;
  }

  async #produceRanges(count: number): Promise<OffsetRange[]> {
    return await this.#withAdmin(async (admin) => {
      const before = await logEndOffsets(admin, this.topic);
      await produceOrders({
        brokers: this.brokers,
        topic: this.topic,
        count,
        start: this.#orderIndex,
        intervalMs: 0,
      });
      this.#orderIndex += count;
      const after = await logEndOffsets(admin, this.topic);
      return after.map((to, partition) => ({ partition, from: before[partition] ?? 0, to }));
    });
  }

  /** Client id to name of the members this lab started: `consumer-1` → `Consumer 1`. */
  #memberNames(): Map<string, string> {
    return new Map([
      ...this.#kernelMembers,
      ...this.#processes.map((m) => [clientIdFor(m.name), m.name] as const),
    ]);
  }

  /** The coordinator's view as a diagram, members by the names the cells gave them. */
  #snapshotDiagram(snapshot: GroupSnapshot): AssignmentDiagram {
    const names = this.#memberNames();
    return this.#diagram(
      snapshot.groupId,
      snapshot.members
        .map((m) => ({
          name: names.get(m.clientId) ?? m.clientId,
          partitions: m.assignment[this.topic] ?? [],
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
  }

  #diagram(groupId: string, members: { name: string; partitions: number[] }[]) {
    return new AssignmentDiagram({
      topic: this.topic,
      partitionCount: ORDER_PARTITIONS,
      groupId,
      members,
    });
  }
}

/** A partition whose owner changed in a rebalance (client ids; undefined: nobody). */
export interface OwnerChange {
  partition: number;
  from?: string;
  to?: string;
}

/**
 * The partitions of `topic` whose owner differs between two snapshots of a
 * group, with their owners' client ids before and after, by partition.
 *
 * @example
 * ```ts
 * ownerChanges(before, after, "order-events"); // [{ partition: 0, from: "consumer-1", to: "consumer-3" }]
 * ```
 */
export function ownerChanges(
  before: GroupSnapshot,
  after: GroupSnapshot,
  topic: string,
): OwnerChange[] {
  const owners = (snapshot: GroupSnapshot) =>
    new Map(
      snapshot.members.flatMap((m) => (m.assignment[topic] ?? []).map((p) => [p, m.clientId])),
    );
  const [was, is] = [owners(before), owners(after)];
  return [...new Set([...was.keys(), ...is.keys()])].sort((a, b) => a - b)
    .filter((p) => was.get(p) !== is.get(p))
    .map((partition) => ({ partition, from: was.get(partition), to: is.get(partition) }));
}

/**
 * Says which partitions moved when `leaver` went, as the diagram shows them:
 * the leaver's, and any other that changed owner too (an eager rebalance, as
 * with kafkajs's round-robin or Kafka's range, deals every partition out
 * again). `names` turns client ids into the names the lesson uses.
 *
 * @example
 * ```ts
 * describeMoves([{ partition: 0, from: "consumer-1", to: "consumer-2" }], "Consumer 1",
 *   new Map([["consumer-1", "Consumer 1"], ["consumer-2", "Consumer 2"]]));
 * // "Partition 0 moved: Consumer 1 → Consumer 2."
 * ```
 */
export function describeMoves(
  changes: OwnerChange[],
  leaver: string,
  names: Map<string, string>,
): string {
  const name = (clientId?: string) => clientId ? names.get(clientId) ?? clientId : "nobody";
  if (changes.length === 0) return "No partition changed owner.";
  const moves = changes.map((c) => `${c.partition}: ${name(c.from)} → ${name(c.to)}`);
  const others = changes.filter((c) => name(c.from) !== leaver).map((c) => c.partition);
  const plural = changes.length === 1 ? "Partition" : "Partitions";
  return `${plural} ${moves.join(", ")} moved.` +
    (others.length === 0
      ? ""
      : ` ${others.length === 1 ? "Partition" : "Partitions"} ${others.join(", ")} ${
        others.length === 1 ? "was" : "were"
      } not ${leaver}'s and moved too: at a rebalance the group's assignor deals every partition ` +
        `out again, so a member going can move more than its own partitions.`);
}
