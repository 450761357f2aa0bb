// %% [markdown]
// # Lesson 6 -- The seed's Python example, side by side with ours
//
// The lab grew out of a Python example that uses `confluent-kafka`. Here is what each of its lines maps to in this lab (TypeScript, `kafkajs`).
//
// ### The producer
//
// | Python (seed) | This lab | Where |
// | --- | --- | --- |
// | `Producer({'bootstrap.servers': 'localhost:9092'})` | `createKafka({ brokers, clientId }).producer(...)` | `lib/config.ts`, `lib/producer.ts` |
// | `order = {"order_id": f"{1000 + i}", "amount": i * 10}` | `orderEvent(i)` | `lib/orders.ts` |
// | `producer.produce("order-events", key=str(i), value=json.dumps(order))` | `producer.send({ topic, acks: -1, messages: [{ key, value }] })` | `lib/producer.ts` |
// | `print(f"Produced: {order}")` | `Produced: {...} -> partition P @ offset O` | `formatProduced` |
// | `time.sleep(0.5)` | `--interval-ms 500` | `scripts/producer.ts` |
// | `producer.flush()` | `await producer.disconnect()` (each send is awaited) | `lib/producer.ts` |
//
// ### A consumer
//
// | Python (seed) | This lab | Where |
// | --- | --- | --- |
// | `Consumer({... 'group.id': 'billing-group', 'auto.offset.reset': 'earliest'})` | `GroupMember.start({ groupId: "billing-group", fromBeginning: true })` | `lib/member.ts` |
// | `c1.subscribe(['order-events'])` | `consumer.subscribe({ topics: ["order-events"] })` | `lib/member.ts` |
// | `while True: msg = c1.poll(1.0)` | `consumer.run({ eachMessage })`: kafkajs polls for us | `lib/member.ts` |
// | `if msg.error(): print(...)` | a message that is not an order is reported (`malformed`) and skipped | `lib/member.ts` |
// | `print(f"Consumer 1 got message: ... from partition {msg.partition()}")` | `Consumer 1 got message: {...} from partition N` | `formatMemberEvent` |
// | `except KeyboardInterrupt: ... finally: c1.close()` | SIGINT / SIGTERM -> `member.stop()`: leave the group cleanly | `scripts/consumer.ts` |
// | `consumer1.py`, `consumer2.py` (two copies) | one script, `deno task consumer1` / `consumer2` (names differ) | `scripts/consumer.ts`, `deno.json` |
// | `kafka-topics.sh --create --partitions 3` | `ensureTopic(admin)` before producing or consuming | `lib/topic.ts` |
// | "Start Kafka & Zookeeper" | `deno task broker start` (Kafka 4 needs no ZooKeeper: KRaft) | `lib/broker.ts` |
//
// Differences worth knowing:
// - `confluent-kafka` (librdkafka) hashes keys with CRC32 by default, kafkajs and Java with murmur2, so the same key can land on a different partition with each client.
// - librdkafka and Java name their assignors `range` / `roundrobin`; kafkajs calls its own `RoundRobinAssigner`. Members of one group must agree on an assignor, so a plain kafkajs member and a confluent-kafka member cannot share a group. The lab's members therefore offer Kafka's `range` and `roundrobin` by default (`--assignor range,roundrobin`, `lib/assignors.ts`), as confluent-kafka does: the seed's `consumer1.py` and a lab member, each with its defaults, share `billing-group`.
// - The seed's consumers commit automatically, every 5 s in the background (`enable.auto.commit`); kafkajs commits after each batch it has processed, which is at-least-once: a crash redelivers what was not yet committed. librdkafka's auto-commit is not quite that: by default it stores a message's offset as soon as `poll()` returns it (`enable.auto.offset.store`), so a background commit can cover a message still being processed, and a crash just then loses it. For at-least-once with confluent-kafka, set `enable.auto.offset.store=false` and call `store_offsets(msg)` after processing. (Java's auto-commit runs inside `poll()`, for what the previous `poll()` returned, so a loop like the seed's is at-least-once.)

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every experiment below starts its consumers, waits for its messages or a deadline, and stops them again: no cell runs forever.

// %%
import { Lab } from "../lib/lessons.ts";
const lab = await Lab.open();

// %% [markdown]
// ## The seed's example, run for real
//
// This is the seed's "Run the Example": two consumer processes in `billing-group` and the producer, with their output interleaved as in the seed's *Expected Output*, then who got what. It is the same code as `deno task demo` (`runDemo` in `lib/demo.ts`).

// %%
await lab.demo("billing-group")

// %% [markdown]
// The output has the seed's lines -- `Consumer 1 got message: {"order_id":"1000",...} from partition 0` -- and ends with the check the seed asks for: *messages are distributed among consumers, not duplicated*.
//
// ## The seed's Python consumer and a lab member, in one group
//
// Real groups are often polyglot. Here the seed's own consumer (`python/consumer.py`: `confluent-kafka`, i.e. librdkafka) and a TypeScript member share a group. They can only do so if they agree on an **assignor**, the algorithm the group leader uses to split the partitions, announced by name when members join. librdkafka and Java call theirs `range` and `roundrobin`; the lab implements both, with Kafka's algorithms, under those names (`lib/assignors.ts`), and its members offer both by default, `range` first, as librdkafka does. Below, both sides are given one assignor (`--assignor range`, then `roundrobin`) to see each at work.
//
// The member that joins first **leads** the group: at every rebalance it runs the assignor for all members and sends the broker the result, which the others simply take, whatever their language. Here the Python consumer joins first, so librdkafka computes the split. With `range`, each member gets a contiguous block of partitions:

// %%
await lab.pythonAndTypeScript("python-and-ts-range", "range")

// %% [markdown]
// With `roundrobin`, the partitions are dealt out one by one. This time the lab member joins first, so it leads: the split is computed by the lab's own `roundrobin` (`lib/assignors.ts`, inside kafkajs), and the Python consumer takes what it is given. It is the split librdkafka would have made: the same algorithm over the same sorted member ids.

// %%
await lab.pythonAndTypeScript("python-and-ts-roundrobin", "roundrobin", { leader: "typescript" })

// %% [markdown]
// ## Mismatched assignors
//
// kafkajs's own assigner (`--assignor kafkajs`; it was the lab's default once) announces itself as `RoundRobinAssigner`, a name no Java or librdkafka client offers. When a member offering only that joins a group of default Python members, which use `range`, the broker cannot pick a protocol every member supports and answers **INCONSISTENT_GROUP_PROTOCOL**. The lab member says so in one line and exits, rather than retrying forever:

// %%
await lab.pythonAndTypeScript("python-and-ts-mismatch", "kafkajs")

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
await lab.threeLanguages("three-languages-defaults")
