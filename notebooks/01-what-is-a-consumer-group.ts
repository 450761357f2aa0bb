// %% [markdown]
// # Lesson 1 -- What is a consumer group?
//
// A **consumer group** is a set of consumers that **work together** to read a topic. Kafka splits the topic's **partitions** among the members of the group: each partition is read by **exactly one** member at a time, so every message is handled once by the group, not once per consumer.
//
// Our example is the seed's food-delivery app: a topic `order-events` with **3 partitions**, and a billing service that runs as a group, `billing-group`.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every experiment below starts its consumers, waits for its messages or a deadline, and stops them again: no cell runs forever, so there is no need to stop one.
//
// **Do not use Stop (Kernel > Interrupt) on this kernel**: Deno's Jupyter kernel then hangs for good (the cell stays busy, no later cell runs; see docs/notebooks.md, Known issues). If a kernel is stuck, use **Kernel > Restart**: the member processes it started notice within a second or two and leave their group, and every experiment first stops members of its groups left over from an earlier run, and says so.

// %%
import { Lab } from "../lib/lessons/lessons.ts";
const lab = await Lab.open();

// %% [markdown]
// ## Produce some orders
//
// The producer sends the seed's order events, `{"order_id": "1000", "amount": 0}`, `{"order_id": "1001", "amount": 10}`, ... with the order's index as **key**. Kafka's default partitioner hashes the key (murmur2), so the same key always lands on the same partition. Look at the PARTITION column: the orders are spread over partitions 0, 1 and 2.

// %%
await lab.produce(10)

// %% [markdown]
// ## Two members of `billing-group`
//
// Now two consumers join the same group, like the seed's `consumer1.py` and `consumer2.py`. The cell starts both in this kernel, waits until the group has assigned the partitions, produces 10 new orders, waits until they are all consumed, and stops the members.
//
// Look at three things in the result:
// - **PARTITIONS**: the 3 partitions are split between the two members (one gets two, the other one);
// - **MESSAGES**: together they processed every new order, and no order twice;
// - the **diagram**: every partition has exactly one arrow, to exactly one member.

// %%
await lab.runGroup("billing-group", ["Consumer 1", "Consumer 2"])

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
// Each consumer prints `Consumer 1 assigned: partitions 0, 1` after every rebalance and `Consumer 1 got message: {...} from partition 0` for every order. Or run it all at once with `deno task demo`.

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
