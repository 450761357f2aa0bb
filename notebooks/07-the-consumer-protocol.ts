// %% [markdown]
// # Lesson 7 -- The new consumer protocol (KIP-848)
//
// Lessons 1 to 6 used the **classic** group protocol: every member sends *JoinGroup*, one member (the leader) computes the assignment, everyone waits for *SyncGroup*. A rebalance stops the whole group (lesson 4).
//
// Kafka 4 has a second protocol, on by default on the broker: **`group.protocol=consumer`**. The **broker** computes the assignment itself (`group.consumer.assignors`: `uniform` by default, or `range`; a member picks one with `group.remote.assignor`), members only send heartbeats, and partitions move **one at a time**: a member gives up a partition only when the broker asks, the others never stop. Each member has a **member epoch**, the group a **group epoch** and a **target assignment epoch**.
//
// kafkajs has no KIP-848, so this lesson's members use **@platformatic/kafka** (`scripts/consumer_protocol.ts`, `deno task consumer-protocol`).

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka (starting the lab's broker if nothing answers). Every cell ends by itself.

// %%
import { Kafka } from "kafkajs";
import { Consumer, MessagesStreamFallbackModes, MessagesStreamModes } from "@platformatic/kafka";
import { Lesson7 } from "../lib/lessons/lesson7.ts";
const lab = await Lesson7.open();
const groupId = "protocol-group", topic = lab.topic, autoCommit = true;
const remoteAssignor = "uniform"; // or "range": the broker's assignor for this group
const member = await lab.member(new Kafka(lab.client("Consumer 1")), groupId, "Consumer 1");

// %% [markdown]
// ## Consumer 1, in this notebook, on the consumer protocol
//
// The same code as `scripts/consumer_protocol.ts`. Compare with lesson 1's kafkajs cell: no assignor list, no session timeout, no JoinGroup; `groupProtocol: "consumer"` and the name of the broker's assignor.

// %%
// #region consumer-protocol
const consumer = new Consumer({
  ...member.protocolClient, // client id, brokers
  groupId,
  groupProtocol: "consumer", // KIP-848: the broker assigns
  groupRemoteAssignor: remoteAssignor, // "uniform" or "range"
});
member.watchProtocol(consumer); // its assignments and rebalances, as lines
const stream = await consumer.consume({
  topics: [topic],
  mode: MessagesStreamModes.COMMITTED, // the group's committed offsets...
  fallbackMode: MessagesStreamFallbackModes.EARLIEST, // ...else the beginning
  autocommit: false, // its autocommit commits what it fetched, processed or not
});
const processing = member.each(stream, async (message) => {
  const order = await member.read(message.partition, message); // a bad message: dead-lettered
  if (order) {
    await member.work(); // --process-ms: a slow handler
    member.got(message.partition, message, order); // "Consumer 1 got message: ... from partition 0"
  }
  if (autoCommit) member.commitInBackground(message); // at least once: only what was processed
  else await message.commit();
});
// #endregion
await member.waitForAssignment();

// %% [markdown]
// ## Consumer 2, as a process
//
// `deno task consumer-protocol --group protocol-group --name "Consumer 2"`. The broker's assignor (not a member) splits the 3 partitions: 2 + 1. The table shows each member's **epoch**: the group epoch goes up every time the group changes, and a member's epoch catches up when it has taken its new assignment.

// %%
const [second] = await lab.startMembers(groupId, ["Consumer 2"], { protocol: "consumer" });
await lab.showProtocolGroup(groupId);

// %% [markdown]
// ## A third member joins while the others keep processing
//
// Orders go out every 50 ms; after a second, Consumer 3 joins. The broker takes one partition from whoever has two and gives it to Consumer 3. We measure, from the times the members processed each order, the longest pause per partition around the join.

// %%
const third = await lab.joinWhileProcessing(groupId, [member, second], "Consumer 3");

// %% [markdown]
// ## A classic kafkajs member joins the same group
//
// `deno task consumer --group protocol-group --name "Classic 4"`: the seed's kafkajs member, classic protocol. The broker lets it in: the group stays a consumer-protocol group (`deno task describe --list` shows type `consumer`), the **broker** still computes the assignment, and the classic member gets its share through *JoinGroup/SyncGroup* as if a leader had computed it (PROTOCOL column; Kafka's `--members --verbose` calls this `UPGRADED false`). With 4 members on 3 partitions, someone is idle.

// %%
const classic = await lab.joinClassic(groupId, "Classic 4");

// %% [markdown]
// It leaves (SIGTERM): the group rebalances back to the three consumer-protocol members. Had the consumer-protocol members left instead, the broker would have **converted** the group back to a classic one (`group.consumer.migration.policy`, default `bidirectional`); with the policy `disabled`, a member of the other protocol is refused in one line (`tests/migration_test.ts`).

// %%
await classic.stop();
await lab.showProtocolGroup(groupId, "Classic 4 left. ");

// %% [markdown]
// ## Disconnect

// %%
await member.stop();
await lab.stopAll();

// %% [markdown]
// ## One edit to try
//
// In the setup cell, set `remoteAssignor = "range"` and run the cells again with a new `groupId` (say `"protocol-range-group"`; a group keeps the assignor its members asked for). The group's line then says `assignor range`: with one topic, range gives one member the contiguous partitions 0 and 1 and the other partition 2 (members in the order of their member ids, which are random), while `uniform` spreads them evenly and keeps partitions where they are. The lesson's checks still pass: both assignors give each member at most 2 partitions.

// %% [markdown]
// ## Exercise: a consumer-protocol group of three
//
// ```sh
// deno task consumer-protocol --group billing-v2 --name "Consumer 1"
// deno task consumer-protocol --group billing-v2 --name "Consumer 2" --assignor uniform
// deno task consumer-protocol --group billing-v2 --name "Consumer 3"
// deno task check new-protocol --watch
// ```

// %% [markdown]
// ## Measured: rebalance pauses by protocol
//
// `deno task bench protocols` puts each protocol under the same load: 3 partitions, 200 orders/s, 5 ms of work per order; two members, then a third joins, later the first leaves (static members: one restarts instead). A pause is the longest gap between two processed orders of a partition around the rebalance, for the partitions that **stayed** with their member and for those that **moved**; the normal gap is the same measure with nothing rebalancing. Medians of 3 trials on the lab's 2-core machine, shared and heavily loaded during the run (ranges, definitions and the machine: `bench/results/protocols.md`; what each case shows: `docs/protocols.md`).
//
// | case | event | rebalance took | pause, partitions that stayed | pause, partitions that moved | normal gap |
// | --- | --- | --- | --- | --- | --- |
// | classic, eager (kafkajs, the lab's member) | 3rd joins | 0.46 s | 0.18 s | 0.40 s | 0.34 s |
// | classic, eager (kafkajs, the lab's member) | 1st leaves | 0.50 s | 0.47 s | 0.52 s | 0.05 s |
// | classic, eager (Java, range) | 3rd joins | 1.22 s | 0.08 s | 0.48 s | 0.09 s |
// | classic, eager (Java, range) | 1st leaves | 0.88 s | 0.39 s | 0.89 s | 0.07 s |
// | classic, cooperative-sticky (Java) | 3rd joins | 1.78 s | 0.10 s | 1.03 s | 0.10 s |
// | classic, cooperative-sticky (Java) | 1st leaves | 1.01 s | 0.11 s | 1.14 s | 0.07 s |
// | consumer protocol, uniform (Java) | 3rd joins | 0.85 s | 0.08 s | 0.85 s | 0.09 s |
// | consumer protocol, uniform (Java) | 1st leaves | 0.39 s | 0.05 s | 0.62 s | 0.09 s |
// | consumer protocol, uniform (Java), Kafka's default 5 s heartbeat | 3rd joins | 5.22 s | 0.07 s | 2.94 s | 0.06 s |
// | consumer protocol, uniform (Java), Kafka's default 5 s heartbeat | 1st leaves | 0.94 s | 0.05 s | 1.11 s | 0.05 s |
// | consumer protocol, uniform (@platformatic/kafka) | 3rd joins | 0.72 s | 0.05 s | 0.12 s | 0.06 s |
// | consumer protocol, uniform (@platformatic/kafka) | 1st leaves | 0.38 s | 0.05 s | 0.53 s | 0.17 s |
// | classic, static members, one restarts (Java, range) | one restarts | 4.27 s | 0.23 s | 5.48 s | 0.07 s |
//
// ![rebalance pauses](../bench/results/protocols.svg)
//
// Eager rebalancing (the lab's classic kafkajs members, or Java's `range`) stops the partitions that stay too, for as long as the members take to rejoin: clearly at a leave (0.4-0.5 s), barely at a join with the lab's fast timing. Cooperative-sticky and the consumer protocol never stop them (their pause is the normal gap). A partition that moves can wait longer than with eager: cooperative-sticky hands it over in two rounds (1.0-1.1 s), the Java consumer-protocol member at its heartbeats (0.6-0.85 s; @platformatic/kafka 0.12-0.53 s), which is why the broker's heartbeat matters (Kafka's default 5 s: a join takes 5.2 s). A static member's restart is no rebalance at all: only its own partitions wait for it.
