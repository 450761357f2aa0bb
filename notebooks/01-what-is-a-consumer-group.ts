// %% [markdown]
// # Lesson 1 -- What is a consumer group?
//
// A **consumer group** is a set of consumers that **work together** to read a topic. Kafka splits the topic's **partitions** among the members of the group: each partition is read by **exactly one** member at a time, so every message is handled once by the group, not once per consumer.
//
// Our example is the seed's food-delivery app: a topic `order-events` with **3 partitions**, and a billing service that runs as a group, `billing-group`.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every cell ends by itself: the consumer cell returns once its member has joined the group and keeps consuming in the background, showing its messages in its own table, until the disconnect cell near the end; no cell runs forever, so there is no need to stop one.
//
// **Do not use Stop (Kernel > Interrupt) on this kernel**: Deno's Jupyter kernel then hangs for good (the cell stays busy, no later cell runs; see docs/notebooks.md, Known issues). If a kernel is stuck, use **Kernel > Restart**: the member processes it started notice within a second or two and leave their group, and every experiment first stops members of its groups left over from an earlier run, and says so.

// %% [markdown]
// ## Setup: the names the code below uses
//
// `kafka` is the kafkajs client (the lab's brokers, quiet logging), `groupId` and `topic` are the seed's, and `member` holds what the lab adds around the Kafka calls: it turns a message into an order, dead-letters a bad one, and shows what the member gets.

// %%
import { Kafka, Partitioners } from "kafkajs";
import { Lab } from "../lib/lessons/lessons.ts";
import { nextOffset as next } from "../lib/kafka/member.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
const lab = await Lab.open();
const groupId = "billing-group", topic = lab.topic, autoCommit = true;
const kafka = new Kafka(lab.client("Consumer 1"));
const member = await lab.member(kafka, groupId, "Consumer 1");

// %% [markdown]
// ## Consumer 1: a member of `billing-group`, in this notebook
//
// This is the seed's `consumer1.py` in kafkajs, and the same code as `scripts/consumer.ts` (`deno task consumer1`), between `// #region consumer` and `// #endregion`. `kafka.consumer({ groupId })` makes a member of the group, `subscribe` names the topic, and `run({ eachMessage })` calls the handler for every message of the partitions the group gives this member. `await consumer.run(...)` returns once the member has joined the group; it then goes on consuming in the background, and its messages appear in the table below the cell, with the partitions it owns.

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
// ## Consumer 2: a second member, as its own process
//
// The seed runs `consumer1.py` and `consumer2.py` in two terminals. This cell starts `scripts/consumer.ts` (what `deno task consumer2` runs) as a process, and shows the group once it has rebalanced: the 3 partitions are now split between the two members.

// %%
const second = await lab.startMembers(groupId, ["Consumer 2"]);

// %% [markdown]
// ## Produce some orders
//
// The seed's `producer.py` in kafkajs, the same code as `scripts/producer.ts`: order events `{"order_id": "1000", "amount": 0}`, `{"order_id": "1001", "amount": 10}`, ... with the order's index as **key**. Kafka's default partitioner hashes the key (murmur2), so the same key always lands on the same partition: look at the partitions below. Consumer 1's table above fills in as its orders arrive.

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
// ## The split
//
// Who got what, of the orders just produced. Look at three things:
// - **PARTITIONS**: the 3 partitions are split between the two members (one gets two, the other one);
// - **MESSAGES**: together they processed every new order, and no order twice;
// - the **diagram**: every partition has exactly one arrow, to exactly one member.

// %%
await lab.split(groupId, [member, ...second]);

// %% [markdown]
// ## Disconnect
//
// `consumer.disconnect()` leaves the group (Kafka's LeaveGroup), as Ctrl+C does to `deno task consumer1`; the other members would get its partitions at once. Then the lab stops Consumer 2's process the same way.

// %%
await consumer.disconnect();
await lab.stopAll();

// %% [markdown]
// ## One edit to try
//
// Make Consumer 1 skip a partition: add `if (partition === 0) return;` as the first line of the handler, in the consumer cell, and run the cells again from there (Consumer 1's old consumer leaves the group first). Consumer 1 still owns its partitions, but processes nothing from partition 0, and the verdict of **The split** says so: some orders `not consumed`, wherever partition 0 went. Nothing fails in Kafka: with `autoCommit` the member commits those offsets anyway, so the group will never read them again. That is what the handler is for: what it does not process, nobody does. Remove the line to get the OK back.

// %% [markdown]
// ## Why it works this way
//
// The group's **coordinator** (a broker) keeps the list of members. When a member joins or leaves, the group **rebalances**: one member, the *leader*, computes an assignment with the group's assignor (the lab's members use Kafka's `range` by default) and every member gets its share. A partition is never given to two members of the same group at once, which is why there are no duplicates within the group.
//
// ## Try it yourself, in terminals
//
// ```sh
// deno task consumer1     # terminal 1
// deno task consumer2     # terminal 2
// deno task producer      # terminal 3
// ```
//
// Each consumer prints `Consumer 1 assigned: partitions 0, 1` after every rebalance and `Consumer 1 got message: {...} from partition 0` for every order (that line is `member.got` in the handler). Or run it all at once with `deno task demo`.

// %% [markdown]
// ## Exercise: Run three members of `billing-group`
//
// Do it yourself, in terminals, on the same broker; then let the lab check your work on the live cluster (it prints what it sees, and a hint when something is missing; `--watch` re-checks until it passes):
//
// ```sh
// deno task consumer1
// deno task consumer2
// deno task consumer3
// deno task check three-members
// ```
