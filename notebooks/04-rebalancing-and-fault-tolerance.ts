// %% [markdown]
// # Lesson 4 -- Rebalancing and fault tolerance
//
// When a member **leaves** or **dies**, the group **rebalances**: its partitions are handed to the members that are left. This is Kafka's fault tolerance for consumers.
//
// How fast depends on *how* the member goes:
// - **Leaving cleanly** (Ctrl+C, SIGTERM): the member sends a *LeaveGroup* request, the coordinator rebalances at once.
// - **Dying** (crash, `kill -9`, a lost machine): nobody tells the coordinator. It notices only when the member's heartbeats stop for longer than the **session timeout**. The lab's members use 10 s (kafkajs's default is 30 s); here we start the member processes with 6 s to keep the lesson short.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every cell ends by itself: the consumer cell returns once its member has joined the group and keeps consuming in the background, showing its messages in its own table, until the disconnect cell; no cell runs forever.

// %%
import { Kafka, Partitioners } from "kafkajs";
import { Lesson4 } from "../lib/lessons/lesson4.ts";
import { nextOffset as next } from "../lib/kafka/member.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
const lab = await Lesson4.open();
const groupId = "billing-group", topic = lab.topic, autoCommit = true;
const kafka = new Kafka(lab.client("Consumer 1"));
const member = await lab.member(kafka, groupId, "Consumer 1");

// %% [markdown]
// ## Consumer 1, in this notebook
//
// Lesson 1's consumer cell (the same code as `scripts/consumer.ts`). It is the member that stays: watch the partitions in its table's title grow as the others go.

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
// ## Two more members, as processes: one partition each
//
// Consumer 2 and Consumer 3 run `scripts/consumer.ts`, as `deno task consumer2` and `consumer3` do, with a 6 s session timeout.

// %%
const [second, third] = await lab.startMembers(groupId, ["Consumer 2", "Consumer 3"], { sessionTimeoutMs: 6000 });

// %% [markdown]
// ## Produce some orders
//
// Lesson 1's producer: the three members share the orders, one partition each.

// %%
const { start, count, intervalMs, run } = await lab.nextOrders(10);
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

// %% [markdown]
// ## Consumer 2 leaves cleanly
//
// We send it SIGTERM (what Ctrl+C does). It leaves the group, and its partition moves to one of the others within about a second. The line above the diagram lists every partition that changed owner: at a rebalance the group's assignor deals all partitions out again, so partitions that were not Consumer 2's can move too.

// %%
await lab.leave(second);

// %% [markdown]
// ## Consumer 3 crashes
//
// Now SIGKILL: the process dies without a word. The group keeps waiting for its heartbeats until the session timeout (6 s here) has passed, then rebalances, and Consumer 1 owns all three partitions.

// %%
await lab.crash(third);

// %% [markdown]
// Compare the two times: a clean leave is fast, a crash costs about a session timeout. That is the trade-off behind `session.timeout.ms`: lower notices dead members sooner, but risks evicting members that are only slow (a long GC pause, a slow network).
//
// During the rebalance the group's partitions are briefly not consumed: messages wait in the topic (they are not lost), and the new owner goes on from the group's **committed offset** (lesson 5).
//
// ## Disconnect

// %%
await consumer.disconnect();
await lab.stopAll();

// %% [markdown]
// ## One edit to try
//
// Make Consumer 1's handler slow: in the consumer cell, replace `await member.work();` with `await new Promise((r) => setTimeout(r, 3000)); // 3 s per order`, and run the cells again from the setup cell. Consumer 1 is now still busy with its orders when Consumer 2 leaves, and kafkajs only notices a rebalance between two messages: the coordinator waits for every member to rejoin, so the clean leave now takes seconds instead of about half a second, and Consumer 1's table fills in slowly. A slow handler slows every rebalance of its group. (A handler slower than the session timeout would even get its member evicted as dead.) Put `await member.work();` back to get the fast leave again.

// %% [markdown]
// ## Try it yourself
//
// Start `deno task consumer1`, `consumer2` and `consumer3` in three terminals and a `deno task producer --count 100` in a fourth. Press Ctrl+C in one consumer terminal; in another, find the process id (`pgrep -f "Consumer 2"`) and `kill -9` it. Each remaining consumer prints its new assignment and how long the rebalance took.

// %% [markdown]
// ## Static members and cooperative rebalancing
//
// Two Kafka features make rebalances cheaper; kafkajs has neither, Kafka's Java client has both, so the lab's Java member (`java/Consumer.java`, Kafka's own `kafka-clients`) shows them:
//
// - **Static membership** (KIP-345, `group.instance.id`): a restart (a deploy, a crash) normally costs a rebalance when the member goes and another when it comes back. A static member's place is kept for the session timeout (it sends no LeaveGroup when it closes); back within it, it gets **the same partitions with no rebalance**, and the other members notice nothing:
//
//   ```sh
//   java -cp 'kafka/libs/*' java/Consumer.java --group static-group --name "Gold" --instance-id gold
//   java -cp 'kafka/libs/*' java/Consumer.java --group static-group --name "Silver" --instance-id silver
//   deno task watch --group static-group   # kill -9 Gold, start it again within 10 s: no new rebalance
//   ```
//
// - **Cooperative rebalancing** (KIP-429, `--assignor cooperative-sticky`): the assignors of this lesson (*eager*: `range`, `roundrobin`) take **every** partition from **every** member at each rebalance and deal them out again, so the whole group stops. Cooperative-sticky takes away only the partitions that move, then hands them over in a second round; the others are processed on. The Java member prints `Gold revoked: partition 1` for each partition it gives up: start two members with `--assignor cooperative-sticky`, a third joins, and only one line says `revoked`, where with `--assignor range` both first members revoke all they owned. Every member of a group must offer the assignor, so this is a group of Java members.
//
// `tests/protocols_test.ts` checks both on the live broker. How long partitions actually stop, eager vs cooperative vs the new consumer protocol vs a static restart, is measured side by side by `deno task bench protocols`: lesson 7 ends with the table.

// %% [markdown]
// ## Exercise: Kill a member and show its partitions moved
//
// Do it yourself, in terminals, on the same broker; then let the lab check your work on the live cluster (it prints what it sees, and a hint when something is missing; `--watch` re-checks until it passes):
//
// ```sh
// deno task consumer1; deno task consumer2; deno task consumer3   # three terminals
// kill -9 $(pgrep -f "name Consumer 2")
// deno task check kill-and-move --watch
// ```
