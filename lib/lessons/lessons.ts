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
  totalLag,
  waitForGroup,
} from "../inspect/groups.ts";
import { clientIdFor, GroupMember, LAB_TIMING, type MemberEvent } from "../kafka/member.ts";
import { type MemberProcess, spawnMember, stopLeftoverMembers } from "../processes/spawn.ts";
import { type ProducedOrder, produceOrders, ProducerRun } from "../kafka/producer.ts";
import { messagesOf } from "../processes/runlog.ts";
import { AssignmentDiagram, flushOutput, Report, show, Table } from "../platform/render.ts";
import { runDemo } from "./demo.ts";
import { sleep, until } from "../platform/wait.ts";
import {
  lastAssignment,
  messagesIn,
  spawnPythonMember,
  type TwinLanguage,
  TWINS,
} from "../processes/polyglot.ts";
import { type OffsetRange, summarizeRun, summaryTable, verdict } from "../inspect/summary.ts";
import { ensureTopic } from "../kafka/topic.ts";
import { offsetsTable } from "../inspect/describe.ts";
import { applyReset, planReset } from "../inspect/reset.ts";
import { env, notebook } from "../platform/runtime.ts";

/**
 * Orders each polyglot experiment produces. Orders are keyed by their index,
 * and a handful of keys can all miss a partition (orders 18-26 never land on
 * partition 2), leaving its owner with nothing to show; any 30 consecutive
 * keys put at least 4 on every partition.
 */
const POLYGLOT_ORDERS = 30;

/** What the lessons call the seed's consumer in each other language. */
const TWIN_NAMES: Record<TwinLanguage, string> = {
  python: "Python consumer",
  java: "Java consumer",
};

/** Options of {@linkcode Lab.pythonAndTypeScript}. */
export interface PolyglotOptions {
  /** Who joins first and so leads, running the assignor for both (default `python`). */
  leader?: "python" | "typescript";
  /** Orders to produce once the group has settled (default 30). */
  orders?: number;
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
  #orderIndex = 0;
  /** Client id to name of the members {@linkcode member} made for consumer cells. */
  #kernelMembers = new Map<string, string>();
  /** Log-end offsets when the producer cell last started ({@linkcode nextOrders}). */
  #since: number[] | undefined;

  /** Use {@linkcode Lab.open}: it starts the broker when needed and ensures the topic. */
  constructor(readonly brokers: string[], readonly topic: string) {}

  /**
   * Connects to `KAFKA_BROKERS` (or localhost:9092), starting the lab's own
   * broker when nothing answers at the default address, and ensures the topic.
   */
  static async open<L extends Lab>(
    this: new (brokers: string[], topic: string) => L,
    topic: string = ORDER_TOPIC,
  ): Promise<L> {
    const brokers = resolveBrokers();
    if (!(await brokerAnswers(brokers, 3000))) {
      if (env("KAFKA_BROKERS")) throw new LabError(unreachableMessage(brokers));
      await startBroker();
    }
    const lab = new this(brokers, topic);
    await lab.withAdmin((admin) => ensureTopic(admin, topic));
    await show(lab);
    return lab;
  }

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
   * Produces `count` of the seed's orders (ids continue across calls) and
   * shows where each landed.
   */
  async produce(count = 10, intervalMs = 0): Promise<void> {
    const sent = await produceOrders({
      brokers: this.brokers,
      topic: this.topic,
      count,
      start: this.#orderIndex,
      intervalMs,
    });
    this.#orderIndex += count;
    await show(producedTable(sent));
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
   * across calls), no pause between them. {@linkcode split} reports on the
   * orders produced from here on.
   */
  async nextOrders(
    count = 10,
  ): Promise<{ start: number; count: number; intervalMs: number; run: ProducerRun }> {
    this.#since = await this.withAdmin((admin) => logEndOffsets(admin, this.topic));
    const start = this.#orderIndex;
    this.#orderIndex += count;
    return { start, count, intervalMs: 0, run: new ProducerRun({ count }) };
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
    options: { sessionTimeoutMs?: number } = {},
  ): Promise<MemberProcess[]> {
    // This lab's other members stay: a group grows one cell at a time (lesson 3).
    await this.clearLeftovers([groupId], this.#processes.filter((m) => !names.includes(m.name)));
    // Members already in the group: the consumer cell's, and this lab's kept above.
    const inKernel = await this.withAdmin(async (admin) =>
      (await snapshotGroup(admin, groupId)).members.length
    );
    const extraArgs = [
      "--session-timeout-ms",
      String(options.sessionTimeoutMs ?? LAB_TIMING.sessionTimeoutMs),
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
    await this.withAdmin((admin) => this.settle(admin, groupId, inKernel + names.length));
    await this.showGroup(groupId);
    return started;
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

  /**
   * Committed offset, log-end offset and lag per partition for each group,
   * the columns of `kafka-consumer-groups.sh --describe`.
   */
  async offsets(groupIds: string[]): Promise<void> {
    const snapshots = await this.withAdmin((admin) =>
      Promise.all(groupIds.map((g) => snapshotGroup(admin, g, [this.topic])))
    );
    await show(offsetsTable(snapshots));
  }

  /**
   * Runs one member of `groupId` until the group has no lag on the topic
   * (or the deadline), then stops it: the group has "caught up".
   */
  async catchUp(groupId: string, timeoutMs = 20_000): Promise<void> {
    await this.clearLeftovers([groupId]);
    const member = await GroupMember.start({
      brokers: this.brokers,
      groupId,
      name: "Catch-up member",
      topic: this.topic,
    });
    try {
      const { ok } = await this.withAdmin((admin) =>
        waitForGroup(admin, groupId, (s) => totalLag(s, this.topic) === 0, timeoutMs, {
          topics: [this.topic],
        })
      );
      await show(
        new Report([
          `${groupId} ${ok ? "caught up" : "did not catch up in time"}: ` +
          `processed ${member.received.length} message(s) and committed.`,
        ]),
      );
    } finally {
      await member.stop();
    }
  }

  /**
   * At-least-once, shown: a member process processes `crashAfter` messages of
   * `orders` new ones and crashes before committing; a second member then
   * takes over from the last committed offsets and processes some of the same
   * messages again. Reports each redelivered message.
   */
  async crashBeforeCommit(groupId: string, orders = 6, crashAfter = 4): Promise<void> {
    await this.clearLeftovers([groupId]);
    const first = await spawnMember({
      groupId,
      name: "Consumer 1",
      brokers: this.brokers,
      topic: this.topic,
      extraArgs: ["--crash-after", String(crashAfter), "--session-timeout-ms", "6000"],
    });
    this.#processes.push(first);
    await this.withAdmin((admin) => this.settle(admin, groupId, 1));
    const ranges = await this.produceRanges(orders);
    const exitCode = await first.exited;
    const crashed = messagesOf(await first.events());
    // The crashed member's session must expire before the group can move on.
    const second = await GroupMember.start({
      brokers: this.brokers,
      groupId,
      name: "Consumer 2",
      topic: this.topic,
    });
    try {
      const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
      const firstSummary = summarizeRun([{ name: first.name, events: crashed }], ranges);
      await second.waitFor(
        () =>
          summarizeRun([{ name: "x", events: [...crashed, ...second.received] }], ranges)
            .consumed >=
            expected,
        LAB_TIMING.sessionTimeoutMs + 15_000,
      );
      // Every order seen is not enough: a redelivered one may sit on a partition
      // the second member reads last. Lag 0 means it has processed, and
      // committed, everything after the crash.
      await this.withAdmin((admin) =>
        waitForGroup(admin, groupId, (s) => totalLag(s, this.topic) === 0, 15_000, {
          topics: [this.topic],
        })
      );
      const summary = summarizeRun([
        { name: first.name, events: crashed },
        { name: second.name, events: second.events },
      ], ranges);
      await show(
        new Report([
          `${first.name} processed ${firstSummary.consumed} of ${expected} orders, then crashed ` +
          `(exit code ${exitCode}) before committing. ${second.name} took over from the last ` +
          `committed offsets.`,
          new Table(
            ["PARTITION", "OFFSET", "PROCESSED BY"],
            summary.duplicates.map((d) => [d.partition, d.offset, d.by.join(", then ")]),
            `Redelivered messages: ${summary.duplicates.length}`,
          ),
          `Missing: ${summary.missing.length}. Every order was processed at least once; ` +
          `${summary.duplicates.length} twice.`,
        ]),
      );
    } finally {
      await second.stop();
    }
  }

  /**
   * Moves `groupId`'s committed offsets on the topic to the earliest or the
   * latest offset. Kafka only allows this while the group has no members.
   */
  async resetOffsets(groupId: string, to: "earliest" | "latest"): Promise<void> {
    await this.clearLeftovers([groupId]);
    const plan = await this.withAdmin((admin) => planReset(admin, groupId, this.topic, { to }));
    await applyReset(this.brokers, groupId, this.topic, plan);
    await this.offsets([groupId]);
  }

  /**
   * The seed's example run for real, as `deno task demo` does: two member
   * processes of `groupId` and the producer, their output interleaved, then
   * the summary and the verdict.
   */
  async demo(groupId = "billing-group", orders = 10): Promise<void> {
    await runDemo({
      brokers: this.brokers,
      startLocalBroker: false,
      groupId,
      topic: this.topic,
      members: 2,
      count: orders,
      intervalMs: 100,
    });
    await flushOutput();
  }

  /**
   * The seed's Python consumer (confluent-kafka, `python/consumer.py`) and a
   * lab member in one group, both with Kafka's standard `assignor`: how they
   * split the partitions and the orders, and who led (the first to join, which
   * `leader` picks: the leader runs the assignor for everyone). With
   * `assignor: "kafkajs"` the lab member offers only kafkajs's own
   * `RoundRobinAssigner`, which the broker refuses next to a default Python
   * member (its group uses `range`): the member's one-line explanation is shown.
   */
  async pythonAndTypeScript(
    groupId: string,
    assignor: "range" | "roundrobin" | "kafkajs",
    { leader = "python", orders = POLYGLOT_ORDERS }: PolyglotOptions = {},
  ): Promise<void> {
    if (assignor !== "kafkajs") {
      await this.#polyglotGroup(groupId, assignor, ["python"], orders, {
        title: `assignor '${assignor}'`,
        typescriptFirst: leader === "typescript",
      });
      return;
    }
    await this.#startAtEnd(groupId);
    const python = await spawnPythonMember({
      groupId,
      name: TWIN_NAMES.python,
      brokers: this.brokers,
      topic: this.topic,
    });
    try {
      await until(() => lastAssignment(python.lines) !== undefined, 30_000);
      const refused = await this.#refusedMember(groupId);
      await show(
        `Python joined with its defaults (the group uses 'range'); ` +
          `the lab member with --assignor kafkajs offered 'RoundRobinAssigner':`,
        refused,
      );
    } finally {
      await python.stop();
    }
  }

  /**
   * Three languages, one group: the seed's consumer in Python (confluent-kafka)
   * and in Java (Kafka's own kafka-clients, `java/Consumer.java`) and a lab
   * member, all with `assignor`, or by default each with its client's default
   * assignors (they share `range`): with 3 partitions each owns one, and every
   * order is consumed once.
   */
  async threeLanguages(
    groupId: string,
    assignor?: "range" | "roundrobin",
    orders = POLYGLOT_ORDERS,
  ): Promise<void> {
    await this.#polyglotGroup(groupId, assignor, ["python", "java"], orders, {
      title: `Python, Java and TypeScript with ${assignor ? `'${assignor}'` : "their defaults"}`,
      typescriptFirst: false,
    });
  }

  /**
   * Starts the seed's consumer in each of `languages` and a lab member, all
   * with `assignor` (when given; else each with its client's default
   * assignors): the lab member first when `typescriptFirst` (it leads),
   * else once the first of the others has joined (that one leads). Waits until
   * the group has settled, produces `orders`, waits for them (20 s at most),
   * stops everyone, and shows who led, owned and consumed what.
   */
  async #polyglotGroup(
    groupId: string,
    assignor: "range" | "roundrobin" | undefined,
    languages: TwinLanguage[],
    orders: number,
    { title, typescriptFirst }: { title: string; typescriptFirst: boolean },
  ): Promise<void> {
    await this.#startAtEnd(groupId);
    const members: { name: string; client: string; lines: string[] }[] = [];
    const stops: (() => Promise<number>)[] = [];
    const startTypescript = async () => {
      const typescript = await spawnMember({
        groupId,
        name: "TypeScript member",
        brokers: this.brokers,
        topic: this.topic,
        extraArgs: assignor ? ["--assignor", assignor] : [],
      });
      stops.push(typescript.stop);
      members.push({
        name: "TypeScript member",
        client: "kafkajs + lab assignor",
        lines: typescript.lines,
      });
    };
    try {
      // The first member to join leads the group; the lab member's start resolves once it
      // has joined, the others' at once, so the first of them is waited for here.
      if (typescriptFirst) await startTypescript();
      for (const language of languages) {
        const member = await TWINS[language].spawn({
          groupId,
          name: TWIN_NAMES[language],
          brokers: this.brokers,
          topic: this.topic,
          assignor,
        });
        stops.push(member.stop);
        members.push({
          name: TWIN_NAMES[language],
          client: TWINS[language].client,
          lines: member.lines,
        });
        if (
          members.length === 1 &&
          !(await until(() => lastAssignment(member.lines) !== undefined, 30_000))
        ) {
          throw new LabError(
            `the ${members[0].name} did not join within 30 s: ${
              member.lines.at(-1) ?? "no output"
            }`,
          );
        }
      }
      if (!typescriptFirst) await startTypescript();
      const { protocol } = await this.withAdmin((admin) =>
        this.settle(admin, groupId, members.length)
      );
      const leader = members[0].name;
      const ranges = await this.produceRanges(orders);
      const expected = ranges.reduce((n, r) => n + r.to - r.from, 0);
      const consumed = () => members.reduce((n, m) => n + messagesIn(m.lines).length, 0);
      const complete = await until(() => consumed() >= expected, 20_000);
      const owned = members.map((m) => ({ ...m, partitions: lastAssignment(m.lines) ?? [] }));
      await show(
        new Table(
          ["MEMBER", "CLIENT", "ROLE", "PARTITIONS", "MESSAGES"],
          owned.map((m) => [
            m.name,
            m.client,
            m.name === leader ? `leader (ran ${protocol})` : "member",
            m.partitions.join(", "),
            messagesIn(m.lines).length,
          ]),
          `Group ${groupId}, ${title}: ${expected} new orders`,
        ),
        this.diagram(groupId, owned),
        ...(complete ? [] : [`(only ${consumed()} of ${expected} orders arrived within 20 s)`]),
      );
    } finally {
      await Promise.all(stops.map((stop) => stop()));
    }
  }

  /** Starts the group at the end of the topic: only this experiment's orders count. */
  async #startAtEnd(groupId: string): Promise<void> {
    const plan = await this.withAdmin((admin) =>
      planReset(admin, groupId, this.topic, { to: "latest" })
    );
    await applyReset(this.brokers, groupId, this.topic, plan);
  }

  /** Starts a member with `--assignor kafkajs`, which the broker refuses; returns its error line. */
  async #refusedMember(groupId: string): Promise<string> {
    try {
      const member = await spawnMember({
        groupId,
        name: "TypeScript member",
        brokers: this.brokers,
        topic: this.topic,
        extraArgs: ["--assignor", "kafkajs"],
      }, 15_000);
      await member.stop();
      return "(the broker accepted it)";
    } catch (error) {
      return (error as Error).message.replace(/^TypeScript member exited: /, "");
    }
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
      const stopped = await stopLeftoverMembers(groupId, undefined, keep.map((m) => m.pid));
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

  protected async settle(admin: Admin, groupId: string, members: number): Promise<GroupSnapshot> {
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

  protected diagram(groupId: string, members: { name: string; partitions: number[] }[]) {
    return new AssignmentDiagram({
      topic: this.topic,
      partitionCount: ORDER_PARTITIONS,
      groupId,
      members,
    });
  }
}

/**
 * Where each produced order landed: KEY, ORDER, PARTITION, OFFSET.
 *
 * @example
 * ```ts
 * producedTable(await produceOrders({ brokers: ["localhost:9092"], count: 3, intervalMs: 0 }));
 * ```
 */
export function producedTable(sent: ProducedOrder[]): Table {
  return new Table(
    ["KEY", "ORDER", "PARTITION", "OFFSET"],
    sent.map((s) => [s.key, s.value, s.partition, s.offset]),
    `Produced ${sent.length} orders`,
  );
}
