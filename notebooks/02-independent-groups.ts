// %% [markdown]
// # Lesson 2 -- Independent groups each get every event
//
// The seed's app has three services that all need **every** order:
//
// | Consumer | Group ID | Purpose |
// | --- | --- | --- |
// | Inventory Service | `inventory-group` | Update available stock |
// | Billing Service | `billing-group` | Generate invoices |
// | Notification Service | `notification-group` | Send SMS/email confirmations |
//
// Because they are in **different groups**, Kafka does not split the orders between them: each group reads the whole topic, at its own pace, with its own offsets.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every cell ends by itself: the consumer cell returns once its member has joined its group and keeps consuming in the background, showing its messages in its own table, until the disconnect cell; no cell runs forever.

// %% [markdown]
// ## Setup: the inventory service runs in this notebook
//
// The same names as in lesson 1, but the member here is the **Inventory Service**, in `inventory-group`.

// %%
import { Kafka, Partitioners } from "kafkajs";
import { Lesson2 } from "../lib/lessons/lesson2.ts";
import { nextOffset as next } from "../lib/kafka/member.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
const lab = await Lesson2.open();
const groupId = "inventory-group", topic = lab.topic, autoCommit = true;
const kafka = new Kafka(lab.client("Inventory Service"));
const member = await lab.member(kafka, groupId, "Inventory Service");

// %% [markdown]
// ## The Inventory Service: a member of `inventory-group`
//
// The same code as lesson 1's consumer cell and `scripts/consumer.ts`: only `groupId` differs. Alone in its group, it owns all 3 partitions; its messages appear in the table below the cell.

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
// ## Billing and notification, as their own processes
//
// `deno task billing` and `deno task notification` run the same script with another `--group`. Each is alone in its group, so each owns all 3 partitions too.

// %%
const billing = await lab.startMembers("billing-group", ["Billing Service"]);
const notification = await lab.startMembers("notification-group", ["Notification Service"]);

// %% [markdown]
// ## Produce some orders
//
// The producer of lesson 1 (`scripts/producer.ts`): it knows nothing about groups, it only writes to the topic.

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
// ## Every group got every order
//
// How many of the orders just produced each service received: all of them, each. **Different groups read the same messages independently.**

// %%
await lab.everyGroup([member, ...billing, ...notification]);

// %% [markdown]
// ## Disconnect
//
// The Inventory Service leaves its group, and the lab stops the two service processes.

// %%
await consumer.disconnect();
await lab.stopAll();

// %% [markdown]
// ## One edit to try
//
// Put the Inventory Service in the billing service's group: in the setup cell, change `groupId = "inventory-group"` to `groupId = "billing-group"`, and run the cells again from there. Now the Inventory Service and the Billing Service are two members of **one** group: the consumer cell's table shows fewer partitions, and in **Every group got every order** (after its 20 s deadline) both have fewer than 10 orders and `no` under EVERY ORDER?, while the Notification Service, alone in its group, still gets all 10. The group id, not the code, decides whether consumers share the orders or each get them all. Change it back to get three `yes`.

// %% [markdown]
// ## Compare: three workers in one group
//
// Now the seed's *Use Case 2*: three billing workers in the **same** group. They share the work instead: each handles one partition, and each order is processed by only one of them.

// %%
await lab.runGroup("billing-group", ["Billing Worker 1", "Billing Worker 2", "Billing Worker 3"])

// %% [markdown]
// ## Try it yourself
//
// ```sh
// deno task inventory      # terminal 1: inventory-group
// deno task billing        # terminal 2: billing-group
// deno task notification   # terminal 3: notification-group
// deno task producer       # terminal 4
// ```
//
// Every service prints every order.

// %% [markdown]
// ## Exercise: Make inventory, billing and notification each read every order
//
// Do it yourself, in terminals, on the same broker; then let the lab check your work on the live cluster (it prints what it sees, and a hint when something is missing; `--watch` re-checks until it passes):
//
// ```sh
// deno task inventory
// deno task billing
// deno task notification
// deno task producer
// deno task check every-group-every-order
// ```
