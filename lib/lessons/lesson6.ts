/**
 * Lesson 6, the seed in Python and TypeScript: its experiments run the seed's
 * Python consumer (confluent-kafka) and, in the last one, its Java twin
 * (kafka-clients) in one group with a lab member, with Kafka's standard
 * assignors or mismatched ones. Each stops every member it started and shows
 * who led, owned and consumed what.
 *
 * @module
 */
import { spawnMember } from "../processes/spawn.ts";
import {
  lastAssignment,
  messagesIn,
  spawnPythonMember,
  type TwinLanguage,
  TWINS,
} from "../processes/polyglot.ts";
import { applyReset, planReset } from "../inspect/reset.ts";
import { LabError } from "../platform/errors.ts";
import { show, Table } from "../platform/render.ts";
import { until } from "../platform/wait.ts";
import { Lab } from "./lessons.ts";

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

/**
 * Options of {@linkcode Lesson6.pythonAndTypeScript}.
 *
 * @example
 * ```ts
 * const options: PolyglotOptions = { leader: "typescript", orders: 30 };
 * ```
 */
export interface PolyglotOptions {
  /** Who joins first and so leads, running the assignor for both (default `python`). */
  leader?: "python" | "typescript";
  /** Orders to produce once the group has settled (default 30). */
  orders?: number;
}

/**
 * The lab of lesson 6: {@linkcode Lab}, and the seed's consumer in Python
 * and Java in one group with a lab member
 * ({@linkcode Lesson6.pythonAndTypeScript}, {@linkcode Lesson6.threeLanguages}).
 *
 * @example
 * ```ts
 * const lab = await Lesson6.open();
 * await lab.pythonAndTypeScript("python-and-ts-roundrobin", "roundrobin", { leader: "typescript" });
 * await lab.threeLanguages("three-languages-defaults");
 * ```
 */
export class Lesson6 extends Lab {
  /**
   * The seed's Python consumer (confluent-kafka, `python/consumer.py`) and a
   * lab member in one group, both with Kafka's standard `assignor`: how they
   * split the partitions and the orders, and who led (the first to join, which
   * `leader` picks: the leader runs the assignor for everyone). With
   * `assignor: "kafkajs"` the lab member offers only kafkajs's own
   * `RoundRobinAssigner`, which the broker refuses next to a default Python
   * member (its group uses `range`): the member's one-line explanation is shown.
   *
   * @example
   * ```ts
   * const lab = await Lesson6.open();
   * await lab.pythonAndTypeScript("python-and-ts-range", "range");
   * await lab.pythonAndTypeScript("python-and-ts-mismatch", "kafkajs");
   * ```
   */
  async pythonAndTypeScript(
    groupId: string,
    assignor: "range" | "roundrobin" | "kafkajs",
    { leader = "python", orders = POLYGLOT_ORDERS }: PolyglotOptions = {},
  ): Promise<void> {
    if (assignor !== "kafkajs") {
      await this.#polyglotGroup(
        groupId,
        assignor,
        ["python"],
        orders,
        {
          title: `assignor '${assignor}'`,
          typescriptFirst: leader === "typescript",
        },
      );
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
   *
   * @example
   * ```ts
   * const lab = await Lesson6.open();
   * await lab.threeLanguages("three-languages-defaults");
   * ```
   */
  async threeLanguages(
    groupId: string,
    assignor?: "range" | "roundrobin",
    orders = POLYGLOT_ORDERS,
  ): Promise<void> {
    await this.#polyglotGroup(
      groupId,
      assignor,
      ["python", "java"],
      orders,
      {
        title: `Python, Java and TypeScript with ${assignor ? `'${assignor}'` : "their defaults"}`,
        typescriptFirst: false,
      },
    );
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
}
