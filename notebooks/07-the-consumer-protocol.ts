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
const consumer = member.watchProtocol(
  new Consumer({
    ...member.protocolClient, // client id, brokers
    groupId,
    groupProtocol: "consumer", // KIP-848: the broker assigns
    groupRemoteAssignor: remoteAssignor, // "uniform" or "range"
  }),
);
const stream = await consumer.consume({
  topics: [topic],
  mode: MessagesStreamModes.COMMITTED, // the group's committed offsets...
  fallbackMode: MessagesStreamFallbackModes.EARLIEST, // ...else the beginning
  autocommit: autoCommit,
});
const processing = member.each(stream, async (message) => {
  const order = await member.read(message.partition, message); // a bad message: dead-lettered
  if (order) {
    await member.work(); // --process-ms: a slow handler
    member.got(message.partition, message, order); // "Consumer 1 got message: ... from partition 0"
  }
  if (!autoCommit) await message.commit();
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
// See bench/results/protocols.md
