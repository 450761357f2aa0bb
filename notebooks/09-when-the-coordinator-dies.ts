// %% [markdown]
// # Lesson 9 -- When the coordinator dies
//
// Lessons 1 to 8 ran on one broker: the part of a consumer group that lives on the server, the **group coordinator**, never moved and never failed. Real groups run on a cluster, where any broker can die.
//
// Which broker coordinates a group? Kafka keeps every group's members and **committed offsets** in the internal topic `__consumer_offsets`; a group id hashes to one of its partitions (Java's `"billing-group".hashCode()`, modulo the partition count), and **the leader of that partition is the group's coordinator**. That partition is replicated like any other (3 copies here). When the coordinator's broker dies:
//
// 1. the controller notices it is gone (no heartbeat for `broker.session.timeout.ms`, 9 s) and makes another replica the partition's leader: the **new coordinator**, which loads the group and its commits from its copy;
// 2. the members lose their coordinator, look for it again (**FindCoordinator**; a broker that is not, or not yet, the coordinator answers `NOT_COORDINATOR` or `COORDINATOR_NOT_AVAILABLE`) and **rejoin**: a rebalance;
// 3. they go on from the **committed offsets**, which survived on the other replicas.
//
// This lesson does it on the lab's **3-node cluster** (`deno task broker start --nodes 3`): each node is a broker and a KRaft controller, every partition has 3 replicas and `min.insync.replicas=2`.

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to the lab's 3-node cluster and starts it if it is not running (about 30 s, three Kafka processes; it stays up afterwards: `deno task broker stop --nodes 3` stops it, and the lab's commands then use the single broker again). Every cell ends by itself; the two that kill a node take about half a minute each.

// %%
import { Lesson9 } from "../lib/lessons/lesson9.ts";
const lab = await Lesson9.open();
const groupId = "billing-group";

// %% [markdown]
// ## The members' code knows no coordinator
//
// The members are the lab's kafkajs consumers (`deno task consumer1` ...). Their consumer code, from `scripts/consumer.ts`, names no broker and no coordinator: kafkajs finds the coordinator itself, and finds it again when it moves.

// %%
await lab.showScript("consumer");

// %% [markdown]
// The producer, from `scripts/producer.ts`: one order per `send`, `acks: -1` (all in-sync replicas, at least 2 of 3, have it before the producer hears "done"), and `run.retrying` keeps sending an order while no broker takes it.

// %%
await lab.showScript("producer");

// %% [markdown]
// ## Three members of billing-group
//
// Three member processes, with a 6 s session timeout (lesson 4), and `LAB_KAFKAJS_LOG=error`: kafkajs then prints its own errors among the members' lines, which this lesson reads back.

// %%
const members = await lab.startMembers(groupId, ["Consumer 1", "Consumer 2", "Consumer 3"], {
  sessionTimeoutMs: 6000,
  env: { LAB_KAFKAJS_LOG: "error" },
});

// %% [markdown]
// ## Where the group lives
//
// The coordinator (what `deno task describe --group billing-group --state` prints as COORDINATOR (ID)), the `__consumer_offsets` partition behind it, and which node leads which partition of `order-events`:

// %%
await lab.showCluster(groupId);

// %% [markdown]
// ## Kill the coordinator
//
// Orders go out one every 100 ms; after 2 s the coordinator's node is killed with `kill -9` (no goodbye, as a crash or a pulled plug). The cell waits until every partition is consumed again, then shows what happened, in seconds after the kill: the members' and the producer's own lines, kafkajs's errors counted, the new coordinator, and the rebalance as `deno task watch` saw it.

// %%
const coordinatorLoss = await lab.killCoordinator(groupId, members);

// %% [markdown]
// Read the members' lines from the top. For about 9 s nobody, not even the other nodes, knows the node is dead: the members' requests to it are refused (`connection refused by node N`), kafkajs retries, then gives up and **restarts the consumer**: it looks the coordinator up again (FindCoordinator, sometimes several times: the first answers can still name the dead node, or say `COORDINATOR_NOT_AVAILABLE` until the new leader has loaded the group) and joins the **new coordinator**.
//
// The lines of `watch (describe)`, when there are any, are what the lesson's own watch (an admin client asking for the group, as `deno task watch` does) was refused: `NOT_COORDINATOR` from a node that is not, or not yet, the group's coordinator, `COORDINATOR_LOAD_IN_PROGRESS` while the new one reads the group, `LEADER_NOT_AVAILABLE` while a partition has no leader.
//
// The new coordinator loaded the group from its copy of `__consumer_offsets`, with the three members it had. kafkajs rejoins with **new** member ids, so the rebalance waits for the three old ones to time out (the 6 s session timeout): the timeline's "timed out" members. A Java consumer keeps its member id and rejoins at once.
//
// ## Was anything lost?
//
// The producer's acknowledged orders against what the members processed (by partition and offset), and the committed offsets before the kill and now:

// %%
await lab.countOrders(coordinatorLoss);

// %% [markdown]
// The orders that waited while the group had no coordinator were consumed afterwards: nothing was lost, because the producer only counts an order as sent once 2 replicas have it, and the group went on from its **committed offsets**, which the new coordinator read from its replica. Some orders may be processed twice: those processed after the last commit before the kill (at least once, lesson 5).
//
// ## The node comes back
//
// The killed node restarts and catches up (back in every ISR). It is a follower now: the coordinator stays where it moved until Kafka moves leadership back to each partition's preferred replica (`auto.leader.rebalance.enable`, checked every 5 minutes).

// %%
await lab.restart(coordinatorLoss);

// %% [markdown]
// ## A partition leader dies (not the coordinator)
//
// Now a node that leads a partition of `order-events` but does not coordinate the group. The group keeps its coordinator, so no member needs a new one: the **producer** and the member reading that partition find the partition's **new leader** (from fresh metadata) and go on. Watch whether kafkajs's member rides it out or restarts (and rejoins) when its retries run out before the new leader is elected.

// %%
const leaderLoss = await lab.killLeader(groupId, members);

// %%
await lab.countOrders(leaderLoss);
await lab.restart(leaderLoss);

// %% [markdown]
// ## Stop the members

// %%
await lab.stopAll();

// %% [markdown]
// ## One edit to try
//
// In the cell that starts the members, change `sessionTimeoutMs: 6000` to `sessionTimeoutMs: 15000` and run the cells again from there. The coordinator's death now costs about 10 s more (measured: 28.4 s instead of 17.8 s): the new coordinator waits that much longer for the old members kafkajs left behind before it completes the rebalance ("CONSUMED AGAIN AFTER" grows, the timeline's rebalance is longer). Nothing is lost either way. A short session timeout ends a coordinator failover sooner, and evicts a slow member sooner too (lesson 4).

// %% [markdown]
// ## Try it yourself
//
// ```sh
// deno task broker start --nodes 3                 # the lab's commands now use the cluster
// LAB_KAFKAJS_LOG=error deno task consumer1        # and consumer2, consumer3: kafkajs's errors too
// deno task producer --count 300 --interval-ms 100
// deno task describe --group billing-group --state # COORDINATOR (ID): the node to kill
// deno task broker status --nodes 3                # each node's pid
// kill -9 <pid of the coordinator's node>
// deno task watch --group billing-group            # the rebalance, live
// ```

// %% [markdown]
// ## Exercise: kill the coordinator
//
// Run three members on the cluster and check once (the check notes the coordinator and the committed offsets), kill the coordinator's node, produce some orders, and check again: it passes when the group has a new coordinator, its members consume again, and no committed offset went back.
//
// ```sh
// deno task consumer1; deno task consumer2; deno task consumer3   # three terminals, on the cluster
// deno task check kill-the-coordinator        # notes the coordinator, tells you which node to kill
// kill -9 <pid>                               # deno task broker status --nodes 3 lists the pids
// deno task producer
// deno task check kill-the-coordinator --watch
// deno task broker start --nodes 3            # starts the killed node again
// ```
