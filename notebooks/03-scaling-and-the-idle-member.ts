// %% [markdown]
// # Lesson 3 -- Scaling, and the idle member
//
// **More consumers -> more parallelism**, but only up to the number of partitions: a partition is read by one member of the group at a time, so with 3 partitions a 4th member has nothing to read and **stays idle** (it is still a member, ready to take over).
//
// We run `billing-group` with 1, 2, 3 and 4 members on the 3 partitions of `order-events`, 12 new orders each time.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every experiment below starts its consumers, waits for its messages or a deadline, and stops them again: no cell runs forever.

// %%
import { Lab } from "../lib/lessons.ts";
const lab = await Lab.open();

// %% [markdown]
// ## One member: it reads all three partitions

// %%
await lab.runGroup("billing-group", ["Consumer 1"], { orders: 12 })

// %% [markdown]
// ## Two members: 2 + 1 partitions

// %%
await lab.runGroup("billing-group", ["Consumer 1", "Consumer 2"], { orders: 12 })

// %% [markdown]
// ## Three members: one partition each -- full parallelism

// %%
await lab.runGroup("billing-group", ["Consumer 1", "Consumer 2", "Consumer 3"], { orders: 12 })

// %% [markdown]
// ## Four members: one is idle
//
// Look for the member with **none (idle)** and **0** messages: there are only 3 partitions to go round.

// %%
await lab.runGroup("billing-group", ["Consumer 1", "Consumer 2", "Consumer 3", "Consumer 4"], { orders: 12 })

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
