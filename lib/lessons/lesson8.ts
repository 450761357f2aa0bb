/**
 * Lesson 8, share groups (KIP-932): four Java share members on 3 partitions
 * all process, beside a classic group of four where one is idle; a released
 * record redelivered up to the delivery limit, a rejected one archived; a
 * stuck member's records back after the lock time, a killed member's at
 * once; and the `latest` default of a new share group against `earliest`.
 *
 * @module
 */
import { alterGroupConfig } from "../kafka/groupconfig.ts";
import { GroupMember } from "../kafka/member.ts";
import { produceOrders } from "../kafka/producer.ts";
import { ensureTopic } from "../kafka/topic.ts";
import { ORDER_PARTITIONS } from "../kafka/config.ts";
import { groupApisFor, logEndOffsets, snapshotGroup, waitForGroup } from "../inspect/groups.ts";
import { membersTable } from "../inspect/describe.ts";
import {
  deliveriesIn,
  JAVA_SHARE_CONSUMER,
  type PolyglotMember,
  type ShareRecord,
  TWINS,
} from "../processes/polyglot.ts";
import { LabError } from "../platform/errors.ts";
import { Report, show, Table } from "../platform/render.ts";
import { sleep, until } from "../platform/wait.ts";
import { Lab } from "./lessons.ts";

/** What {@linkcode Lesson8.shareBesideClassic} does with the records of two keys. */
export interface SharePolicy {
  /** Every member releases the order with this key: redelivered up to the limit (5). */
  releaseKey: number;
  /** Every member rejects the order with this key: archived at once. */
  rejectKey: number;
}

/**
 * The lab of lesson 8: {@linkcode Lab} and the share-group experiments.
 *
 * @example
 * ```ts
 * const lab = await Lesson8.open();
 * await lab.showJava("share-loop");
 * await lab.shareBesideClassic("billing-share-group", "billing-classic-group", 24,
 *   { releaseKey: 3, rejectKey: 4 });
 * ```
 */
export class Lesson8 extends Lab {
  #share: PolyglotMember[] = [];

  /** Shows the region `name` of java/ShareConsumer.java: the calls a learner studies. */
  async showJava(name: "share-config" | "share-loop"): Promise<void> {
    await this.showRegion(JAVA_SHARE_CONSUMER, name);
  }

  /** Starts share members `names` of `groupId` on `topic` in parallel (a JVM each). */
  async #startShare(
    groupId: string,
    names: string[],
    extraArgs: string[] = [],
    topic = this.topic,
  ): Promise<PolyglotMember[]> {
    const started = await Promise.all(
      names.map((name) =>
        TWINS.java.spawnShare({ groupId, name, brokers: this.brokers, topic, extraArgs })
      ),
    );
    this.#share.push(...started);
    return started;
  }

  /** Stops the share members this lab started (and still running). */
  async #stopShare(members = this.#share): Promise<void> {
    this.#share = this.#share.filter((m) => !members.includes(m));
    await Promise.all(members.map((m) => m.stop()));
  }

  /**
   * Waits until share group `groupId` has `members` members, each assigned a
   * partition of the topic, then a moment more: a member fetches its
   * partitions at its next poll (within 1 s), and a group at `latest` starts
   * there, so records produced from then on are the group's.
   */
  async #shareGroupReady(groupId: string, members: number, topic = this.topic): Promise<void> {
    // A JVM each: under load, joining takes well over the 2 s it takes on an idle machine.
    const { ok } = await this.withAdmin((admin) =>
      waitForGroup(
        admin,
        groupId,
        (s) =>
          s.members.length === members &&
          s.members.every((m) => (m.assignment[topic] ?? []).length > 0),
        60_000,
        { pollMs: 300 },
      )
    );
    if (!ok) throw new LabError(`share group ${groupId} did not get ${members} members in 60 s`);
    await sleep(2_000);
  }

  /**
   * Deletes share group `groupId` (as `kafka-share-groups.sh --delete`) and
   * sets it to start at `latest`: a share group keeps its place across runs,
   * and behind it every order other lessons wrote since, which four members
   * at 400 ms a record would work through for minutes before the new ones.
   */
  async #freshShareGroup(groupId: string): Promise<void> {
    await this.withAdmin(async (admin) => {
      try {
        await admin.deleteGroups([groupId]);
      } catch (error) {
        const groups = (error as { groups?: { error?: { type?: string } }[] }).groups ?? [];
        if (groups.every((g) => g.error?.type === "GROUP_ID_NOT_FOUND")) return;
        throw new LabError(
          `cannot start ${groupId} afresh (${(error as Error).message}): stop its members ` +
            "(deno task share-consumer in a terminal?) and run the cell again",
        );
      }
    });
    await alterGroupConfig(this.brokers, groupId, { "share.auto.offset.reset": "latest" });
  }

  /**
   * Four share members of `shareGroup` (Java KafkaShareConsumer; each
   * releases order `releaseKey` and rejects `rejectKey`) and four classic
   * kafkajs members of `classicGroup`, on the same 3 partitions; `orders`
   * new orders, one every 100 ms. Shows who processed how many, the released
   * and the rejected order's deliveries, and the share group as describe
   * sees it; stops every member it started.
   */
  async shareBesideClassic(
    shareGroup: string,
    classicGroup: string,
    orders: number,
    { releaseKey, rejectKey }: SharePolicy,
  ): Promise<void> {
    await this.#stopShare();
    await this.#freshShareGroup(shareGroup);
    const names = [1, 2, 3, 4].map((i) => `Share ${i}`);
    const extraArgs = [
      ...["--release-key", String(releaseKey), "--reject-key", String(rejectKey)],
      // 400 ms a record, one order every 100 ms: it takes all four members to keep up, so
      // every one of them gets records (at 100 ms one member could take them all).
      ...["--process-ms", "400"],
    ];
    const [share, classic] = await Promise.all([
      this.#startShare(shareGroup, names, extraArgs),
      Promise.all([1, 2, 3, 4].map((i) =>
        GroupMember.start({
          brokers: this.brokers,
          topic: this.topic,
          groupId: classicGroup,
          name: `Consumer ${i}`,
          fromBeginning: false,
        })
      )),
    ]);
    try {
      await Promise.all([
        this.#shareGroupReady(shareGroup, share.length),
        until(() => classic.every((m) => m.partitions !== undefined), 30_000),
      ]);
      const { start, count } = await this.nextOrders(orders);
      const produced = await produceOrders({
        brokers: this.brokers,
        topic: this.topic,
        start,
        count,
        intervalMs: 100,
      });
      // A record is known by where it was written: a group that read this
      // topic before resumes from its committed offsets (classic) or its
      // share-partition start (share), and order ids repeat across runs.
      const at = (r: { partition: number; offset: number }) => `${r.partition}:${r.offset}`;
      const written = new Set(produced.map(at));
      const ids = new Set(produced.map((p) => p.order.order_id));
      const [released, rejected] = [releaseKey, rejectKey].map((k) =>
        produced.find((p) => p.key === String(k))?.order.order_id
      );
      const records = () =>
        deliveriesIn(share.flatMap((m) => m.lines)).filter((r) => written.has(at(r)));
      const classicGot = (m: GroupMember) => m.received.filter((r) => written.has(at(r)));
      const settled = () => {
        const done = new Set(records().filter((r) => r.ack !== "release").map((r) => r.orderId));
        const releases = records().filter((r) => r.orderId === released).length;
        return [...ids].every((id) => done.has(id) || (id === released && releases >= 5)) &&
          classic.reduce((n, m) => n + classicGot(m).length, 0) >= ids.size;
      };
      await until(settled, 30_000);
      await sleep(1_000); // time for a (wrong) 6th delivery
      const assignment = await this.withAdmin(async (admin) =>
        (await groupApisFor(admin)).describeShareGroup(shareGroup)
      );
      const assignedTo = (m: PolyglotMember) =>
        assignment?.members.find((a) =>
          a.clientId === `java-${m.name.toLowerCase().replace(" ", "-")}`
        )
          ?.assignment[this.topic]?.join(", ") ?? "?";
      const described = await this.withAdmin((admin) => snapshotGroup(admin, shareGroup));
      await show(
        new Report([
          `${orders} new orders; share group ${shareGroup} and classic group ${classicGroup}, ` +
          `4 members each on ${ORDER_PARTITIONS} partitions.`,
          new Table(
            ["MEMBER", "GROUP", "PARTITIONS", "RECORDS"],
            [
              ...share.map((m) => [
                m.name,
                shareGroup,
                assignedTo(m),
                records().filter((r) => r.member === m.name).length,
              ]),
              ...classic.map((m) => [
                m.name,
                classicGroup,
                m.partitions?.join(", ") || "none (idle)",
                classicGot(m).length,
              ]),
            ],
          ),
          deliveryTable(records().filter((r) => r.orderId === released || r.orderId === rejected)),
          summaryLine(records(), ids.size, released, rejected),
          `deno task describe --group ${shareGroup} --members:`,
          membersTable([described]),
        ]),
      );
    } finally {
      await Promise.all([this.#stopShare(share), ...classic.map((m) => m.stop())]);
    }
  }

  /**
   * Sets `settings` on group `groupId` (IncrementalAlterConfigs on the GROUP
   * resource) and says so.
   */
  async configureGroup(groupId: string, settings: Record<string, string | number>) {
    await alterGroupConfig(this.brokers, groupId, settings);
    const set = Object.entries(settings).map(([k, v]) => `${k}=${v}`).join(", ");
    await show(`Group ${groupId} now has ${set}.`);
  }

  /**
   * "Share 1" takes the `orders` orders of the new one-partition topic `topic` and
   * works on its first for a minute (holding every lock of its poll), in
   * groups `<prefix>-stuck` and `<prefix>-killed` side by side; then the
   * killed one gets SIGKILL, and a "Share 2" joins each group. Shows when
   * the held records came back to Share 2 (delivery 2), counted from Share
   * 1's first record, with the group's lock `lockMs`.
   */
  async stuckAndKilled(topic: string, prefix: string, lockMs: number, orders = 6) {
    await this.withAdmin((admin) => ensureTopic(admin, topic, 1));
    const fates = ["stuck", "killed"] as const;
    await Promise.all(fates.map((fate) =>
      alterGroupConfig(this.brokers, `${prefix}-${fate}`, {
        "share.auto.offset.reset": "earliest",
        "share.record.lock.duration.ms": lockMs,
      })
    ));
    // Written before Share 1 starts: its first poll takes (and locks) all of them.
    const produced = await produceOrders({
      brokers: this.brokers,
      topic,
      count: orders,
      intervalMs: 0,
      partitions: 1,
    });
    const ids = new Set(produced.map((p) => p.order.order_id));
    const runs = await Promise.all(fates.map(async (fate) => {
      const groupId = `${prefix}-${fate}`;
      const [holder] = await this.#startShare(
        groupId,
        ["Share 1"],
        ["--process-ms", "60000"],
        topic,
      );
      const held = () => deliveriesIn(holder.lines).filter((r) => ids.has(r.orderId));
      if (!await until(() => held().length > 0, 30_000)) {
        throw new LabError(`Share 1 of ${groupId} got no record: ${holder.lines.join(" | ")}`);
      }
      const lockedAt = Date.now();
      if (fate === "killed") await holder.kill();
      let backAt = 0, subscribedAt = 0;
      const [heir] = await this.#startShare(groupId, ["Share 2"], [], topic);
      const back = () =>
        deliveriesIn(heir.lines).filter((r) => ids.has(r.orderId) && r.deliveryCount === 2);
      await until(() => {
        // A JVM's start-up (seconds on a loaded machine) is not the broker's doing.
        if (!subscribedAt && heir.lines.some((l) => l.startsWith("Share 2 started"))) {
          subscribedAt = Date.now();
        }
        if (!backAt && back().length > 0) backAt = Date.now();
        return back().length > 0 &&
          deliveriesIn(heir.lines).filter((r) => ids.has(r.orderId)).length >= ids.size;
      }, lockMs + 20_000);
      await holder.kill(); // still "working" for a minute: SIGTERM would wait for it
      await this.#stopShare([holder, heir]);
      return [
        fate === "stuck" ? "stuck (alive, not acknowledging)" : "killed (SIGKILL)",
        `Share 1: order ${held()[0].orderId}`,
        `${back().length} of ${ids.size}`,
        backAt ? `${((backAt - lockedAt) / 1000).toFixed(1)} s` : "not within the wait",
        subscribedAt ? `${((subscribedAt - lockedAt) / 1000).toFixed(1)} s` : "-",
      ];
    }));
    await show(
      new Report([
        `${orders} orders on ${topic} (1 partition); group lock ${lockMs / 1000} s. Times count ` +
        "from Share 1's first record; Share 2 is up once it has subscribed.",
        new Table(
          [
            "SHARE 1",
            "FIRST RECORD",
            "BACK TO SHARE 2 (DELIVERY 2)",
            "BACK AFTER",
            "SHARE 2 UP AFTER",
          ],
          runs,
        ),
      ]),
    );
  }

  /**
   * Two new share groups on `topic`, one with the default (latest) and one
   * set to earliest; each member reads for a moment, and 3 new orders are
   * produced: which orders did each read?
   */
  async latestVsEarliest(topic: string, prefix: string): Promise<void> {
    const latest = `${prefix}-latest`, earliest = `${prefix}-earliest`;
    await alterGroupConfig(this.brokers, earliest, { "share.auto.offset.reset": "earliest" });
    const [[fromLatest], [fromEarliest]] = await Promise.all([
      this.#startShare(latest, ["Latest"], [], topic),
      this.#startShare(earliest, ["Earliest"], [], topic),
    ]);
    await Promise.all([
      this.#shareGroupReady(latest, 1, topic),
      this.#shareGroupReady(earliest, 1, topic),
    ]);
    const [before] = await this.withAdmin((admin) => logEndOffsets(admin, topic));
    const fresh = await produceOrders({
      brokers: this.brokers,
      topic,
      count: 3,
      intervalMs: 0,
      start: 100,
      partitions: 1,
    });
    const freshIds = fresh.map((p) => p.order.order_id);
    const read = (m: PolyglotMember) => deliveriesIn(m.lines).map((r) => r.orderId);
    await until(
      () => [fromLatest, fromEarliest].every((m) => freshIds.every((id) => read(m).includes(id))),
      15_000,
    );
    await this.#stopShare([fromLatest, fromEarliest]);
    await show(
      new Report([
        `${topic} held ${before} records before; then 3 new orders (${freshIds.join(", ")}).`,
        new Table(
          ["GROUP", "share.auto.offset.reset", "RECORDS READ", "FIRST ORDER READ"],
          [
            [latest, "latest (default)", read(fromLatest).length, read(fromLatest)[0] ?? "-"],
            [earliest, "earliest", read(fromEarliest).length, read(fromEarliest)[0] ?? "-"],
          ],
        ),
      ]),
    );
  }

  /** Stops every member process this lab started, the share members too. */
  override async stopAll(): Promise<void> {
    await this.#stopShare();
    await super.stopAll();
  }
}

/** The deliveries of the released and the rejected order: which member, which count, what ack. */
function deliveryTable(records: ShareRecord[]): Table {
  return new Table(
    ["ORDER", "DELIVERY", "MEMBER", "ACKNOWLEDGEMENT"],
    records
      .sort((a, b) => a.orderId.localeCompare(b.orderId) || a.deliveryCount - b.deliveryCount)
      .map((r) => [r.orderId, r.deliveryCount, r.member, r.ack]),
  );
}

/** One line: accepted once each, the released order archived after its limit, the rejected at once. */
function summaryLine(
  records: ShareRecord[],
  orders: number,
  released: string | undefined,
  rejected: string | undefined,
): string {
  const accepted = records.filter((r) => r.ack === "accept");
  const once = new Set(accepted.map((r) => r.orderId)).size === accepted.length;
  const releases = records.filter((r) => r.orderId === released).length;
  const rejects = records.filter((r) => r.orderId === rejected).length;
  return `Accepted ${accepted.length} of ${orders} orders${
    once ? ", each once" : ", some twice"
  }; ` +
    `order ${released} released ${releases} times, then archived; ` +
    `order ${rejected} rejected on delivery ${
      rejects === 1 ? "1" : `1 (and ${rejects - 1} more)`
    }, archived.`;
}
