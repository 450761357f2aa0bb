// %% [markdown]
// # Lesson 4 -- Rebalancing and fault tolerance
//
// When a member **leaves** or **dies**, the group **rebalances**: its partitions are handed to the members that are left. This is Kafka's fault tolerance for consumers.
//
// How fast depends on *how* the member goes:
// - **Leaving cleanly** (Ctrl+C, SIGTERM): the member sends a *LeaveGroup* request, the coordinator rebalances at once.
// - **Dying** (crash, `kill -9`, a lost machine): nobody tells the coordinator. It notices only when the member's heartbeats stop for longer than the **session timeout**. The lab's members use 10 s (kafkajs's default is 30 s); here we start them with 6 s to keep the lesson short.
//
// This time the members are **separate processes**, started with the same script as `deno task consumer1`, exactly as you would run them in terminals.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every experiment below starts its consumers, waits for its messages or a deadline, and stops them again: no cell runs forever.

// %%
import { Lab } from "../lib/lessons.ts";
const lab = await Lab.open();

// %% [markdown]
// ## Three members, one partition each

// %%
const members = await lab.startMembers("billing-group", ["Consumer 1", "Consumer 2", "Consumer 3"], { sessionTimeoutMs: 6000 });

// %% [markdown]
// ## Consumer 1 leaves cleanly
//
// We send it SIGTERM (what Ctrl+C does). It leaves the group, and its partition moves to one of the others within about a second. The line above the diagram lists every partition that changed owner: at a rebalance the group's assignor deals all partitions out again, so partitions that were not Consumer 1's can move too.

// %%
await lab.leave(members[0])

// %% [markdown]
// ## Consumer 2 crashes
//
// Now SIGKILL: the process dies without a word. The group keeps waiting for its heartbeats until the session timeout (6 s here) has passed, then rebalances and Consumer 3 owns all three partitions.

// %%
await lab.crash(members[1])

// %% [markdown]
// Compare the two times: a clean leave is fast, a crash costs about a session timeout. That is the trade-off behind `session.timeout.ms`: lower notices dead members sooner, but risks evicting members that are only slow (a long GC pause, a slow network).
//
// During the rebalance the group's partitions are briefly not consumed: messages wait in the topic (they are not lost), and the new owner goes on from the group's **committed offset** (lesson 5).

// %%
await lab.stopAll()

// %% [markdown]
// ## Try it yourself
//
// Start `deno task consumer1`, `consumer2` and `consumer3` in three terminals and a `deno task producer --count 100` in a fourth. Press Ctrl+C in one consumer terminal; in another, find the process id (`pgrep -f "Consumer 2"`) and `kill -9` it. Each remaining consumer prints its new assignment and how long the rebalance took.

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
