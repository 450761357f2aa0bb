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
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every experiment below starts its consumers, waits for its messages or a deadline, and stops them again: no cell runs forever.

// %%
import { Lab } from "../lib/lessons.ts";
const lab = await Lab.open();

// %% [markdown]
// ## Offsets are kept per group
//
// We produce 6 orders. Nobody is consuming, so both groups now have lag. (A `-` means the group has never committed on that partition.)

// %%
await lab.produce(6);
await lab.offsets(["billing-group", "inventory-group"])

// %% [markdown]
// Now only `billing-group` catches up. Its lag goes to 0; `inventory-group` still has all of its lag: one group's progress never moves another's.

// %%
await lab.catchUp("billing-group");
await lab.offsets(["billing-group", "inventory-group"])

// %% [markdown]
// ## At-least-once: a crash before the commit
//
// kafkajs commits after it has processed each batch of messages. If a member **crashes after processing messages but before committing them**, Kafka still has the old committed offset -- so the member that takes over reads those messages **again**.
//
// That is **at-least-once delivery**: no message is lost, but some can be processed twice. The cell starts Consumer 1 as a process that crashes (exits abruptly) after 4 messages, produces 6 orders, then lets Consumer 2 take over.

// %%
await lab.crashBeforeCommit("billing-group", 6, 4)

// %% [markdown]
// Every redelivered message was processed by Consumer 1 **and then** by Consumer 2. Real services make their processing **idempotent** (e.g. skip an `order_id` already invoiced) so a redelivery does no harm.
//
// ## Resetting a group's offsets
//
// A group's offsets can be moved, for example to **replay** everything from the start (rebuild a cache, re-run a fixed bug). Kafka allows it only while the group has no active members. Back to the earliest offsets: the lag becomes the whole log.

// %%
await lab.resetOffsets("billing-group", "earliest")

// %% [markdown]
// And forward to the latest offsets: the group skips everything it has not read yet (lag 0).

// %%
await lab.resetOffsets("billing-group", "latest")

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
