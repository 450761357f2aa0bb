// %% [markdown]
// # Lesson 3 -- Scaling, and the idle member
//
// **More consumers -> more parallelism**, but only up to the number of partitions: a partition is read by one member of the group at a time, so with 3 partitions a 4th member has nothing to read and **stays idle** (it is still a member, ready to take over).
//
// We grow `billing-group` from 1 to 4 members on the 3 partitions of `order-events`, and produce 12 new orders at each size.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every cell ends by itself: the consumer cell returns once its member has joined the group and keeps consuming in the background, showing its messages in its own table, until the disconnect cell; no cell runs forever.

// %%
import { Kafka, Partitioners } from "kafkajs";
import { Lesson3 } from "../lib/lessons/lesson3.ts";
import { nextOffset as next } from "../lib/kafka/member.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
const lab = await Lesson3.open();
const groupId = "billing-group", topic = lab.topic, autoCommit = true;
const kafka = new Kafka(lab.client("Consumer 1"));
const member = await lab.member(kafka, groupId, "Consumer 1");

// %% [markdown]
// ## Consumer 1, in this notebook
//
// Lesson 1's consumer cell (the same code as `scripts/consumer.ts`). Watch its table: the partitions in its title shrink as members join.

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
// ## One member: it reads all three partitions
//
// The producer of lesson 1, this time with 12 orders; then who processed them.

// %%
const { start, count, intervalMs, run } = await lab.nextOrders(12);
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
await lab.split(groupId, [member]);

// %% [markdown]
// ## Two members: 2 + 1 partitions
//
// Each of the next cells starts one more member as its own process (`deno task consumer2`, ...), waits until the group has rebalanced, produces 12 new orders and shows the split.

// %%
const two = await lab.scaleOut(groupId, [member], ["Consumer 2"]);

// %% [markdown]
// ## Three members: one partition each -- full parallelism

// %%
const three = await lab.scaleOut(groupId, two, ["Consumer 3"]);

// %% [markdown]
// ## Four members: one is idle
//
// Look for the member with **none (idle)** and **0** messages: there are only 3 partitions to go round.

// %%
const four = await lab.scaleOut(groupId, three, ["Consumer 4"]);

// %% [markdown]
// ## Disconnect
//
// Consumer 1 leaves the group, and the lab stops the three member processes.

// %%
await consumer.disconnect();
await lab.stopAll();

// %% [markdown]
// ## One edit to try
//
// Add a fifth member: in the cell of **Four members**, change `["Consumer 4"]` to `["Consumer 4", "Consumer 5"]`, and run the cells again from the setup cell. The group has 5 members on 3 partitions now: **two** are `none (idle)` with 0 messages, and the 12 orders are still split among the same three partitions' owners. A member more adds no parallelism once every partition has its own.

// %% [markdown]
// ## What this means in practice
//
// - The partition count is the **upper bound** of a group's parallelism. Choose it for the most consumers you will ever want to run side by side.
// - An idle member is not useless: if another member dies, the idle one takes over its partition at the next rebalance (lesson 4).
//
// ## Try it yourself
//
// Start `deno task consumer1` ... `deno task consumer4` in four terminals: the fourth prints `Consumer 4 assigned: none (idle)`. Stop one of the first three with Ctrl+C and watch the fourth get its partition.

// %% [markdown]
// ## Exercise: Add a fourth member and find the idle one
//
// Do it yourself, in terminals, on the same broker; then let the lab check your work on the live cluster (it prints what it sees, and a hint when something is missing; `--watch` re-checks until it passes):
//
// ```sh
// deno task consumer1   # ... up to consumer4, one terminal each
// deno task describe --group billing-group --members
// deno task check find-the-idle --answer "Consumer N"
// ```
