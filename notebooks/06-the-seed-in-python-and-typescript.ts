// %% [markdown]
// # Lesson 6 -- The seed's Python example, side by side with ours
//
// The lab grew out of a Python example that uses `confluent-kafka`. Below, each of its programs is shown as it is, followed by the cell that does the same in TypeScript with `kafkajs` (the same code as `scripts/consumer.ts` and `scripts/producer.ts`), and a table mapping one to the other, line by line. Then both run: the seed's example in TypeScript, and the seed's own Python consumer, for real, in one group with a lab member.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every cell ends by itself: the consumer cell returns once its member has joined the group and keeps consuming in the background, showing its messages in its own table, until the disconnect cell. **Do not use Stop (Kernel > Interrupt)**; if a kernel is stuck, use **Kernel > Restart** (docs/notebooks.md).

// %% [markdown]
// ## Setup
//
// `Consumer({'bootstrap.servers': 'localhost:9092', ...})` in Python; here the brokers go to `new Kafka(...)` once, and every consumer and producer is made from it. `member` holds what the lab adds around the Kafka calls (as in lesson 1).

// %%
import { Kafka, Partitioners } from "kafkajs";
import { Lesson6 } from "../lib/lessons/lesson6.ts";
import { nextOffset as next } from "../lib/kafka/member.ts";
import { orderEvent } from "../lib/kafka/orders.ts";
const lab = await Lesson6.open();
const groupId = "billing-group", topic = lab.topic, autoCommit = true;
const kafka = new Kafka(lab.client("Consumer 1"));
const member = await lab.member(kafka, groupId, "Consumer 1");

// %% [markdown]
// ## The seed's `consumer1.py`
//
// ```python
// from confluent_kafka import Consumer
//
// c1 = Consumer({
//     'bootstrap.servers': 'localhost:9092',
//     'group.id': 'billing-group',
//     'auto.offset.reset': 'earliest'
// })
//
// c1.subscribe(['order-events'])
//
// print("Consumer 1 started")
//
// try:
//     while True:
//         msg = c1.poll(1.0)
//         if msg is None:
//             continue
//         if msg.error():
//             print("Consumer 1 Error:", msg.error())
//         else:
//             print(f"Consumer 1 got message: {msg.value().decode()} from partition {msg.partition()}")
// except KeyboardInterrupt:
//     pass
// finally:
//     c1.close()
// ```
//
// | Python (seed) | TypeScript (the cell below) |
// | --- | --- |
// | `Consumer({... 'group.id': 'billing-group', ...})` | `kafka.consumer({ groupId, ...member.consumerConfig })` (the lab's timing and assignors) |
// | `'auto.offset.reset': 'earliest'` | `fromBeginning: true` |
// | `c1.subscribe(['order-events'])` | `await consumer.subscribe({ topic, fromBeginning: true })` |
// | `print("Consumer 1 started")` | `member.watch(...)`: `Consumer 1 assigned: partitions 0, 1` after every rebalance |
// | `while True: msg = c1.poll(1.0)` | `consumer.run({ eachMessage })`: kafkajs polls, and calls the handler for each message |
// | `if msg.error(): print(...)` | `member.read(...)`: a message that is not an order is reported and dead-lettered |
// | `print(f"Consumer 1 got message: ...")` | `member.got(...)`: the same line in a terminal, a row of the table below the cell here |
// | `enable.auto.commit` (the default: every 5 s, in the background) | `autoCommit` (true here: after each batch); false: the handler's `commitOffsets` (lesson 5) |
// | `finally: c1.close()` | `consumer.disconnect()`, in the disconnect cell below |

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
// ## `consumer2.py`: a second terminal
//
// The seed's `consumer2.py` is `consumer1.py` with `c2` and "Consumer 2". The lab runs the same script under another name, `deno task consumer2`, here as a process started from the cell; the group rebalances and the two members split the 3 partitions.

// %%
const second = await lab.startMembers(groupId, ["Consumer 2"]);

// %% [markdown]
// ## The seed's `producer.py`
//
// ```python
// from confluent_kafka import Producer
// import json
// import time
//
// producer = Producer({'bootstrap.servers': 'localhost:9092'})
//
// for i in range(10):
//     order = {"order_id": f"{1000 + i}", "amount": i * 10}
//     producer.produce("order-events", key=str(i), value=json.dumps(order))
//     print(f"Produced: {order}")
//     time.sleep(0.5)
//
// producer.flush()
// ```
//
// | Python (seed) | TypeScript (the cell below) |
// | --- | --- |
// | `Producer({'bootstrap.servers': 'localhost:9092'})` | `kafka.producer({ createPartitioner: ... })`, then `await producer.connect()` |
// | `for i in range(10):` | `for (let i = start; i < start + count && !run.stopped; i++)` |
// | `order = {"order_id": f"{1000 + i}", "amount": i * 10}` | `orderEvent(i)` (`lib/kafka/orders.ts`) |
// | `producer.produce("order-events", key=str(i), value=json.dumps(order))` | `producer.send({ topic, acks: -1, messages: [{ key: String(i), value }] })` |
// | `print(f"Produced: {order}")` | `console.log(...)`: `Produced: {...} -> partition P @ offset O`, kafkajs says where it landed |
// | `time.sleep(0.5)` | `await run.pause(intervalMs)` (500 ms in `deno task producer`, none here) |
// | `producer.flush()` | `await producer.disconnect()` (each `send` was awaited already) |

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
// ## The seed's check, on the live group
//
// The seed asks to check that *messages are distributed among consumers, not duplicated*: who owned and processed what, of the 10 orders just produced.

// %%
await lab.split(groupId, [member, ...second]);

// %% [markdown]
// ## Disconnect
//
// `consumer.disconnect()` is the seed's `c1.close()`: Consumer 1 leaves the group. Then the lab stops Consumer 2's process, as Ctrl+C does.

// %%
await consumer.disconnect();
await lab.stopAll();

// %% [markdown]
// ## One edit to try
//
// Send the orders without a key, as `producer.produce("order-events", value=...)` would: in the producer cell, change `key: String(i)` to `key: null`, and run the cells again from the consumer cell (Consumer 1's old consumer leaves the group first). The `Produced:` lines then show the partitions chosen without a key (kafkajs spreads keyless messages over the partitions; order `1003` no longer always lands on the same one), and **The seed's check** still says OK: the group splits whatever arrives. What is lost is the per-key order: only messages with the same key are kept in order, on one partition.
//
// ## Differences worth knowing
//
// - `confluent-kafka` (librdkafka) hashes keys with CRC32 by default, kafkajs and Java with murmur2, so the same key can land on a different partition with each client.
// - librdkafka and Java name their assignors `range` / `roundrobin`; kafkajs calls its own `RoundRobinAssigner`. Members of one group must agree on an assignor, so a plain kafkajs member and a confluent-kafka member cannot share a group. The lab's members therefore offer Kafka's `range` and `roundrobin` by default (`--assignor range,roundrobin`, `lib/kafka/assignors.ts`), as confluent-kafka does: the seed's `consumer1.py` and a lab member, each with its defaults, share `billing-group`.
// - The seed's consumers commit automatically, every 5 s in the background (`enable.auto.commit`); kafkajs commits after each batch it has processed, which is at-least-once: a crash redelivers what was not yet committed. librdkafka's auto-commit is not quite that: by default it stores a message's offset as soon as `poll()` returns it (`enable.auto.offset.store`), so a background commit can cover a message still being processed, and a crash just then loses it. For at-least-once with confluent-kafka, set `enable.auto.offset.store=false` and call `store_offsets(msg)` after processing. (Java's auto-commit runs inside `poll()`, for what the previous `poll()` returned, so a loop like the seed's is at-least-once.)

// %% [markdown]
// ## The seed's Python consumer and a lab member, in one group
//
// Real groups are often polyglot. Here the seed's own consumer (`python/consumer.py`: `confluent-kafka`, i.e. librdkafka) and a TypeScript member share a group. They can only do so if they agree on an **assignor**, the algorithm the group leader uses to split the partitions, announced by name when members join. librdkafka and Java call theirs `range` and `roundrobin`; the lab implements both, with Kafka's algorithms, under those names (`lib/kafka/assignors.ts`), and its members offer both by default, `range` first, as librdkafka does. Below, both sides are given one assignor (`--assignor range`, then `roundrobin`) to see each at work.
//
// The member that joins first **leads** the group: at every rebalance it runs the assignor for all members and sends the broker the result, which the others simply take, whatever their language. Here the Python consumer joins first, so librdkafka computes the split. With `range`, each member gets a contiguous block of partitions:

// %%
await lab.pythonAndTypeScript("python-and-ts-range", "range");

// %% [markdown]
// With `roundrobin`, the partitions are dealt out one by one. This time the lab member joins first, so it leads: the split is computed by the lab's own `roundrobin` (`lib/kafka/assignors.ts`, inside kafkajs), and the Python consumer takes what it is given. It is the split librdkafka would have made: the same algorithm over the same sorted member ids.

// %%
await lab.pythonAndTypeScript("python-and-ts-roundrobin", "roundrobin", { leader: "typescript" });

// %% [markdown]
// ## Mismatched assignors
//
// kafkajs's own assigner (`--assignor kafkajs`; it was the lab's default once) announces itself as `RoundRobinAssigner`, a name no Java or librdkafka client offers. When a member offering only that joins a group of default Python members, which use `range`, the broker cannot pick a protocol every member supports and answers **INCONSISTENT_GROUP_PROTOCOL**. The lab member says so in one line and exits, rather than retrying forever:

// %%
await lab.pythonAndTypeScript("python-and-ts-mismatch", "kafkajs");

// %% [markdown]
// ## Java joins too: three languages, one group
//
// Kafka's own client is Java, and `range` and `roundrobin` are its names: they are its `RangeAssignor` and `RoundRobinAssignor`. [`java/Consumer.java`](../java/Consumer.java) is the seed's consumer once more, in Java (`kafka-clients`), with the same flags and lines as the Python one. It runs with no build step, as a single-file program (Java compiles it in memory when it starts, so it joins about 1.5 s after launch, where the lab's members take a quarter of a second):
//
// ```sh
// java -cp 'kafka/libs/*' java/Consumer.java --group billing-group --name "Java 1"
// ```
//
// It sets `group.protocol=classic`, the protocol kafkajs and librdkafka (by default) speak, in which the leader runs the assignor. With Kafka 4's new consumer protocol (KIP-848) the broker assigns the partitions itself (its `uniform` assignor by default) and ignores the members' assignors; classic members can still join such a group, but then none of them runs `range` or `roundrobin`.
//
// Below, the Python consumer, the Java consumer and a lab member share one group, each started with its client's defaults, as the seed starts its consumers: no assignor is named anywhere. Java offers `range`, then `cooperative-sticky`; librdkafka and the lab offer `range`, then `roundrobin`; the one all three offer is `range`, so the broker picks it. The leader sorts the members by member id, which starts with the client id (`java-java-consumer-...`, `python-python-consumer-...`, `typescript-member-...`), and cuts the partitions into ranges in that order: with 3 partitions and 3 members, each language owns exactly one, and every order is consumed once, whatever language reads it.

// %%
await lab.threeLanguages("three-languages-defaults");
