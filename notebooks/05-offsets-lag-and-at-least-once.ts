// %% [markdown]
// # Lesson 5 -- Offsets, lag and at-least-once delivery
//
// Every message in a partition has an **offset** (0, 1, 2, ...). A group records how far it has read by **committing** offsets to Kafka -- **per group**, per partition. The committed offset is the next message the group will read; a restarted or new member goes on from there.
//
// - **LOG-END-OFFSET**: the offset the next produced message will get.
// - **CURRENT-OFFSET**: the group's committed offset.
// - **LAG** = LOG-END-OFFSET - CURRENT-OFFSET: messages the group has not processed yet.
//
// These are the columns of Kafka's own `kafka-consumer-groups.sh --describe`.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every cell ends by itself: the consumer cell returns once its member has joined the group and keeps consuming in the background, showing its messages in its own table, until the disconnect cell; no cell runs forever.
//
// **Do not use Stop (Kernel > Interrupt) on this kernel**: Deno's Jupyter kernel then hangs for good (see docs/notebooks.md, Known issues). If a kernel is stuck, use **Kernel > Restart**.

// %% [markdown]
// ## Setup: the names the code below uses
//
// As in lesson 1: `kafka` is the kafkajs client, `member` what the lab adds around the Kafka calls. One difference: `autoCommit = false`. This time our consumer commits each message's offset itself, after processing it.

// %%
import { Kafka, Partitioners } from "kafkajs";
import { Lesson5 } from "../lib/lessons/lesson5.ts";
import { nextOffset as next } from "../lib/kafka/member.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
const lab = await Lesson5.open();
const groupId = "billing-group", topic = lab.topic, autoCommit = false; // we commit ourselves
const kafka = new Kafka(lab.client("Consumer 1"));
const member = await lab.member(kafka, groupId, "Consumer 1");

// %% [markdown]
// ## Offsets are kept per group
//
// The producer of lesson 1 (the same code as `scripts/producer.ts`) sends 6 orders. Nobody is consuming yet, so both groups now have lag. (A `-` means the group has never committed on that partition.)

// %%
const { start, count, intervalMs, run } = await lab.nextOrders(6);
// #region producer
const producer = kafka.producer({
  createPartitioner: Partitioners.DefaultPartitioner, // murmur2 of the key, as Java's and Python's
  retry: { retries: 0 }, // run.retrying retries, and says so
});
await producer.connect();
for (let i = start; i < start + count && !run.stopped; i++) {
  const value = JSON.stringify(orderEvent(i)); // {"order_id":"1000","amount":0}, ...
  const sent = await run.retrying(() =>
    producer.send({ topic, acks: -1, messages: [{ key: String(i), value }] })
  ); // rides out a broker restart
  if (sent) {
    console.log(`Produced: ${value} -> partition ${sent.partition} @ offset ${sent.baseOffset}`);
  }
  await run.pause(intervalMs);
}
await producer.disconnect();
// #endregion

// %%
await lab.showOffsets(["billing-group", "inventory-group"]);

// %% [markdown]
// ## The commit: `autoCommit: false` and `commitOffsets`
//
// Consumer 1 of `billing-group`, the same code as `scripts/consumer.ts` (`deno task consumer --commit manual` runs it with `autoCommit` false). With `autoCommit: false`, kafkajs commits nothing by itself: the handler's last lines commit each message after processing it. The offset committed is the **next** one to read, `message.offset + 1` (`next(message.offset)`): what a restarted member of the group reads first. The table below the cell fills in as Consumer 1 processes what `billing-group` has not read yet.

// %%
// #region consumer
const consumer = member.watch(kafka.consumer({ groupId, ...member.consumerConfig }));
await consumer.connect();
await consumer.subscribe({ topic, fromBeginning: true });
await consumer.run({
  autoCommit,
  eachMessage: async ({ partition, message }) => {
    const order = await member.read(partition, message); // a bad message: dead-lettered
    if (order) {
      await member.work(); // --process-ms: a slow handler
      member.got(partition, message, order); // "Consumer 1 got message: ... from partition 0"
    }
    if (!autoCommit) {
      await consumer.commitOffsets([{ topic, partition, offset: next(message.offset) }]);
    }
  },
});
// #endregion

// %% [markdown]
// Once Consumer 1 has committed everything, `billing-group`'s lag is 0; `inventory-group` still has all of its lag: one group's progress never moves another's.

// %%
await lab.caughtUp(member, ["inventory-group"]);

// %% [markdown]
// ## At-least-once: a crash before the commit
//
// If a member **crashes after processing messages but before committing them**, Kafka still has the old committed offset, so the member that takes over reads those messages **again**. The cell starts Consumer 2 as a process running the same code with `autoCommit` false (`scripts/consumer.ts --commit manual --crash-after 2`): it exits abruptly right after processing its second message, before committing it; the lab produces orders until it has crashed. Once Consumer 2's session has expired (6 s), the group rebalances and Consumer 1, above, takes over its partitions from the last committed offsets: look at its table, the redelivered messages are there too.

// %%
await lab.crashBeforeCommit(member, "Consumer 2", 2);

// %% [markdown]
// Every redelivered message was processed by Consumer 2 **and then** by Consumer 1. That is **at-least-once delivery**: no message is lost, but some can be processed twice. Real services make their processing **idempotent** (e.g. skip an `order_id` already invoiced) so a redelivery does no harm.
//
// ## Disconnect
//
// Consumer 1 leaves the group; the lab stops what is left of Consumer 2's process.

// %%
await consumer.disconnect();
await lab.stopAll();

// %% [markdown]
// ## Resetting a group's offsets
//
// A group's offsets can be moved, for example to **replay** everything from the start (rebuild a cache, re-run a fixed bug). Kafka allows it only while the group has no active members. Back to the earliest offsets: the lag becomes the whole log.

// %%
await lab.resetOffsets("billing-group", "earliest");

// %% [markdown]
// And forward to the latest offsets: the group skips everything it has not read yet (lag 0).

// %%
await lab.resetOffsets("billing-group", "latest");

// %% [markdown]
// ## One edit to try
//
// Crash Consumer 1 before its commit. In the consumer cell, add this line just above `await consumer.commitOffsets(...)`:
//
// ```ts
// if (member.received.length === 2) throw new Error("crash before commit");
// ```
//
// and run the lesson again from the top (Kernel > Restart, then Run All; in a terminal, edit `notebooks/05-offsets-lag-and-at-least-once.ts` and `deno run -A` it). At its second message the handler fails after processing the message but before committing it, as a crash there would: nothing was committed for that message, so kafkajs delivers it again. Consumer 1's table shows that message twice, and the caught-up cell says so (`processed twice: 1`, with its partition and offset) while the lag still goes to 0: nothing lost, one processed twice. Remove it to get the lesson back.

// %% [markdown]
// ## Try it yourself
//
// ```sh
// deno task consumer --group billing-group --name "Crashy" --crash-after 3   # terminal 1
// deno task producer                                                          # terminal 2
// deno task consumer1                                                         # terminal 1 again: see the redelivered orders
// ```

// %% [markdown]
// ## Exercise: Replay the last 5 orders for billing only
//
// Do it yourself, in terminals, on the same broker; then let the lab check your work on the live cluster (it prints what it sees, and a hint when something is missing; `--watch` re-checks until it passes):
//
// ```sh
// # stop every billing-group member first (Ctrl+C)
// deno task reset-offsets --group billing-group --topic order-events --shift-by -5            # the plan
// deno task reset-offsets --group billing-group --topic order-events --shift-by -5 --execute
// deno task check replay-last-5
// ```

// %% [markdown]
// ## Exercise: Produce a duplicate on purpose
//
// Do it yourself, in terminals, on the same broker; then let the lab check your work on the live cluster (it prints what it sees, and a hint when something is missing; `--watch` re-checks until it passes):
//
// ```sh
// deno task consumer --group billing-group --name "Crashy" --crash-after 3
// deno task producer
// deno task consumer1
// deno task check duplicate-on-purpose
// ```
