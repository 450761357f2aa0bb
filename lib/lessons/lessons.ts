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
  isLabCluster,
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
  waitForGroup,
} from "../inspect/groups.ts";
import { clientIdFor, GroupMember, LAB_TIMING, type MemberEvent } from "../kafka/member.ts";
import { type MemberProcess, spawnMember, stopLeftoverMembers } from "../processes/spawn.ts";
import { produceOrders, ProducerRun } from "../kafka/producer.ts";
import { AssignmentDiagram, Report, show } from "../platform/render.ts";
import { sleep } from "../platform/wait.ts";
import { type OffsetRange, summarizeRun, summaryTable, verdict } from "../inspect/summary.ts";
import { ensureTopic } from "../kafka/topic.ts";
import { env, notebook, readTextFile } from "../platform/runtime.ts";

/**
 * The lines of `source` between `// #region name` and its `// #endregion`,
 * dedented: the code a lesson shows a learner, from the file that runs it.
 *
 * @example
 * ```ts
 * sourceRegion("x\n  // #region loop\n  poll();\n  // #endregion\n", "loop"); // "poll();"
 * ```
 */
export function sourceRegion(source: string, name: string): string {
  const lines = source.split("\n");
  const start = lines.findIndex((l) => l.trim() === `// #region ${name}`);
  const end = lines.findIndex((l, i) => i > start && l.trim() === "// #endregion");
  if (start < 0 || end < 0) throw new LabError(`no region ${name} in the source`);
  const body = lines.slice(start + 1, end);
  const indent = Math.min(...body.filter((l) => l.trim()).map((l) => /^ */.exec(l)![0].length));
  return body.map((l) => l.slice(indent)).join("\n");
}

/** A member's name and the events it reported (see {@linkcode summarizeRun}). */
export interface MemberRun {
  name: string;
  events: MemberEvent[];
}

/**
 * The lab as a notebook sees it: a Kafka connection (the running broker, or
 * the lab's own started on demand) and the topic `order-events`.
 *
 * @example
 * ```ts
 * const lab = await Lab.open();
 * const members = await lab.startMembers("billing-group", ["Consumer 1", "Consumer 2"]);
 * await lab.stopAll();
 * ```
 */
export class Lab {
  #processes: MemberProcess[] = [];
  /** How each of {@linkcode startMembers}'s processes was started, to start it again. */
  #spawnedWith = new Map<MemberProcess, Parameters<typeof spawnMember>[0]>();
  #orderIndex = 0;
  /** Client id to name of the members {@linkcode member} made for consumer cells. */
  #kernelMembers = new Map<string, string>();
  /** Log-end offsets when the producer cell last started ({@linkcode nextOrders}). */
  #since: number[] | undefined;

  /** Use {@linkcode Lab.open}: it starts the broker when needed and ensures the topic. */
  constructor(readonly brokers: string[], readonly topic: string) {}

  /**
   * The brokers a lesson runs on: `KAFKA_BROKERS` (or localhost:9092),
   * starting the lab's own broker when nothing answers at the default address.
   */
  static async brokersToUse(): Promise<string[]> {
    const brokers = resolveBrokers();
    if (!(await brokerAnswers(brokers, 3000))) {
      if (env("KAFKA_BROKERS") || isLabCluster(brokers)) {
        throw new LabError(unreachableMessage(brokers));
      }
      await startBroker();
    }
    return brokers;
  }

  /** Connects to {@linkcode Lab.brokersToUse} (a lesson's own choice), and ensures the topic. */
  static async open<L extends Lab>(
    this: { new (brokers: string[], topic: string): L; brokersToUse(): Promise<string[]> },
    topic: string = ORDER_TOPIC,
  ): Promise<L> {
    const brokers = await this.brokersToUse();
    const lab = new this(brokers, topic);
    await lab.withAdmin((admin) => ensureTopic(admin, topic));
    await show(lab);
    return lab;
  }

  /**
   * Shows the region `name` of the file at `path` (see {@linkcode sourceRegion}):
   * code a learner studies, printed from the file that runs it.
   */
  async showRegion(path: string, name: string): Promise<void> {
    await show(sourceRegion(await readTextFile(path), name));
  }

  /** Runs `fn` with an admin client of this lab's brokers, connected for the call. */
  protected async withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
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
    await this.clearLeftovers([groupId]);
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
   * across calls). In a notebook they go out 100 ms apart, so they arrive
   * one by one in the consumer cell's table, and so the cell's last line is
   * not printed as the cell ends (Deno's kernel can drop such a line); in a
   * terminal, without a pause. {@linkcode split} reports on the orders
   * produced from here on.
   */
  async nextOrders(
    count = 10,
  ): Promise<{ start: number; count: number; intervalMs: number; run: ProducerRun }> {
    this.#since = await this.withAdmin((admin) => logEndOffsets(admin, this.topic));
    const start = this.#orderIndex;
    this.#orderIndex += count;
    const intervalMs = notebook() ? 100 : 0;
    return { start, count, intervalMs, run: new ProducerRun({ count }) };
  }

  /** The offsets of the orders produced since {@linkcode nextOrders}, by partition. */
  protected async newOrders(): Promise<OffsetRange[]> {
    const since = this.#since;
    if (!since) throw new LabError("run the producer cell first: nothing was produced yet");
    const ends = await this.withAdmin((admin) => logEndOffsets(admin, this.topic));
    return ends.map((to, partition) => ({ partition, from: since[partition] ?? 0, to }));
  }

  /**
   * The events of `members` (in this kernel or processes) once `ready` holds
   * for them, or `timeoutMs` has passed; in-kernel members' tables are redrawn.
   */
  protected async waitForRuns(
    members: (GroupMember | MemberProcess)[],
    ready: (runs: MemberRun[]) => boolean,
    timeoutMs: number,
  ): Promise<MemberRun[]> {
    const runsNow = () =>
      Promise.all(members.map(async (m) => ({
        name: m.name,
        events: m instanceof GroupMember ? m.events : await m.events(),
      })));
    const deadline = Date.now() + timeoutMs;
    let runs = await runsNow();
    while (!ready(runs) && Date.now() < deadline) {
      await sleep(200);
      runs = await runsNow();
    }
    for (const m of members) if (m instanceof GroupMember) m.redraw();
    return runs;
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
    const ranges = await this.newOrders();
    const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
    const runs = await this.waitForRuns(
      members,
      (runs) => summarizeRun(runs, ranges).consumed >= expected,
      timeoutMs,
    );
    const summary = summarizeRun(runs, ranges);
    await show(
      new Report([
        `Group ${groupId}: ${members.length} member${members.length === 1 ? "" : "s"} on ` +
        `${ORDER_PARTITIONS} partitions, ${expected} new orders.`,
        summaryTable(summary),
        this.diagram(groupId, summary.members),
        verdict(summary),
      ]),
    );
  }

  /**
   * Starts members of `groupId` as separate processes, with the same script
   * as `deno task consumer`, and shows the group once it has settled. Their
   * output is kept (see {@linkcode MemberProcess.lines}), not printed.
   */
  async startMembers(
    groupId: string,
    names: string[],
    options: {
      sessionTimeoutMs?: number;
      extraArgs?: string[];
      /** `consumer`: `scripts/consumer_protocol.ts` (KIP-848; the broker times and assigns). */
      protocol?: "classic" | "consumer";
      /** `--assignor`: the member's (classic), or the broker's (consumer: uniform, range). */
      assignor?: string;
      /** More environment for the members, e.g. `{ LAB_KAFKAJS_LOG: "error" }`. */
      env?: Record<string, string>;
    } = {},
  ): Promise<MemberProcess[]> {
    // This lab's other members stay: a group grows one cell at a time (lesson 3).
    await this.clearLeftovers([groupId], this.#processes.filter((m) => !names.includes(m.name)));
    // Members already in the group: the consumer cell's, and this lab's kept above.
    const inKernel = await this.withAdmin(async (admin) =>
      (await snapshotGroup(admin, groupId)).members.length
    );
    const classic = options.protocol !== "consumer";
    const extraArgs = [
      ...classic
        ? ["--session-timeout-ms", String(options.sessionTimeoutMs ?? LAB_TIMING.sessionTimeoutMs)]
        : [],
      ...options.extraArgs ?? [],
    ];
    const started: MemberProcess[] = [];
    for (const name of names) {
      const spawnOptions = {
        groupId,
        name,
        brokers: this.brokers,
        topic: this.topic,
        protocol: options.protocol,
        assignor: options.assignor,
        extraArgs,
        env: options.env,
      };
      const member = await spawnMember(spawnOptions);
      this.#spawnedWith.set(member, spawnOptions);
      started.push(member);
      this.#processes.push(member);
    }
    await this.withAdmin((admin) => this.settle(admin, groupId, inKernel + names.length));
    await this.showGroup(groupId);
    return started;
  }

  /**
   * Kills `member` (a process of {@linkcode startMembers}) and starts it
   * again with the same flags, as a liveness check does with a consumer that
   * stopped working; resolves to the new process once it has joined. The
   * dead process's membership ends with its session timeout.
   */
  protected async restartMember(member: MemberProcess): Promise<MemberProcess> {
    const options = this.#spawnedWith.get(member);
    if (!options) throw new LabError(`${member.name} was not started by this lab`);
    await member.kill();
    const fresh = await spawnMember(options, 60_000);
    this.#spawnedWith.delete(member);
    this.#spawnedWith.set(fresh, options);
    this.#processes = this.#processes.map((m) => m === member ? fresh : m);
    return fresh;
  }

  /** The group as the coordinator sees it now: diagram and members. */
  async showGroup(groupId: string): Promise<void> {
    const snapshot = await this.withAdmin((admin) => snapshotGroup(admin, groupId));
    await show(
      new Report([
        `Group ${groupId}: ${snapshot.state}, ${snapshot.members.length} member(s).`,
        this.snapshotDiagram(snapshot),
      ]),
    );
  }

  /** Stops every member process this lab started (and still running). */
  async stopAll(): Promise<void> {
    const running = this.#processes;
    this.#processes = [];
    await Promise.all(running.map((m) => m.stop()));
    await show(`Stopped ${running.length} member process(es).`);
  }

  /**
   * Every experiment starts here: member processes of its groups still
   * running from an earlier run (a cell run twice, a kernel restarted while a
   * lesson's members ran) are stopped, and the lesson says so; `keep` are
   * this lab's members that stay.
   */
  protected async clearLeftovers(groupIds: string[], keep: MemberProcess[] = []): Promise<void> {
    for (const groupId of groupIds) {
      const stopped = await stopLeftoverMembers(groupId, this.brokers, {
        keep: keep.map((m) => m.pid),
      });
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

  /**
   * Waits until `groupId` is Stable with `members` members and every partition
   * of the topic owned; throws a {@linkcode LabError} after 60 s (a member
   * process joins in about a second, far more on a loaded machine).
   */
  protected async settle(admin: Admin, groupId: string, members: number): Promise<GroupSnapshot> {
    const { ok, snapshot } = await waitForGroup(
      admin,
      groupId,
      (s) =>
        s.members.length === members && s.state === "Stable" &&
        allPartitionsOwned(s, this.topic, ORDER_PARTITIONS),
      60_000,
    );
    if (!ok) {
      throw new LabError(
        `${groupId} did not settle with ${members} member(s) in 60 s: it has ` +
          `${snapshot.members.length}, state ${snapshot.state}`,
      );
    }
    return snapshot;
  }

  /** Produces the next `count` orders; resolves to the offsets they took, by partition. */
  protected async produceRanges(count: number): Promise<OffsetRange[]> {
    return await this.withAdmin(async (admin) => {
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
  protected memberNames(): Map<string, string> {
    return new Map([
      ...this.#kernelMembers,
      ...this.#processes.map((m) => [clientIdFor(m.name), m.name] as const),
    ]);
  }

  /** The coordinator's view as a diagram, members by the names the cells gave them. */
  protected snapshotDiagram(snapshot: GroupSnapshot): AssignmentDiagram {
    const names = this.memberNames();
    return this.diagram(
      snapshot.groupId,
      snapshot.members
        .map((m) => ({
          name: names.get(m.clientId) ?? m.clientId,
          partitions: m.assignment[this.topic] ?? [],
        }))
        .sort((a, b) => a.name.localeCompare(b.name)),
    );
  }

  /** The diagram of `groupId` on the topic: which member owns which partition. */
  protected diagram(groupId: string, members: { name: string; partitions: number[] }[]) {
    return new AssignmentDiagram({
      topic: this.topic,
      partitionCount: ORDER_PARTITIONS,
      groupId,
      members,
    });
  }
}
