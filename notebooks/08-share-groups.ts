// %% [markdown]
// # Lesson 8 -- Share groups: the 4th consumer is not idle
//
// In lesson 3 a 4th member of `billing-group` sat **idle**: a classic group gives each partition to one member, and there are only 3. Kafka 4 adds **share groups** (KIP-932, "queues for Kafka", on by default since 4.2): members do not own partitions, the broker hands out **records**, each **locked** to one member until it acknowledges it:
//
// - **ACCEPT**: processed, done;
// - **RELEASE**: give it back; it is delivered again (to any member) with its **delivery count** + 1, at most 5 times (`share.delivery.count.limit`), then archived;
// - **REJECT**: unprocessable; archived, never delivered again.
//
// No TypeScript client speaks share groups yet (kafkajs has none; `@platformatic/kafka` neither): the members here are Kafka's own Java `KafkaShareConsumer`, in `java/ShareConsumer.java`, started by the cells as processes (`deno task share-consumer` in a terminal).

// %% [markdown]
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker. Every cell ends by itself and stops the Java members it started (they also stop if this kernel dies).

// %%
import { Lesson8 } from "../lib/lessons/lesson8.ts";
const lab = await Lesson8.open();
const shareGroup = "billing-share-group", classicGroup = "billing-classic-group";

// %% [markdown]
// ## The Java code of a share member
//
// Its configuration: the seed's, plus explicit acknowledgement (each record gets its own `acknowledge()`):

// %%
await lab.showJava("share-config");

// %% [markdown]
// Its loop: the seed's poll loop, with an acknowledgement per record and a `commitSync()` that sends them:

// %%
await lab.showJava("share-loop");

// %% [markdown]
// ## Four share members beside four classic members
//
// Four share members of `billing-share-group` and four classic kafkajs members of `billing-classic-group` (lesson 3's group of 4) read the same 3 partitions; 24 new orders, one every 100 ms. Every share member **releases** the order with key 3 and **rejects** the one with key 4. The classic group has one member with `none (idle)`; in the share group every member has partitions (the broker gives a partition to several members when there are more members than partitions) and records. The cell starts `billing-share-group` afresh (deleting it, as `kafka-share-groups.sh --delete` does): a share group keeps its place across runs, and the orders other lessons wrote since would come first.

// %%
await lab.shareBesideClassic(shareGroup, classicGroup, 24, { releaseKey: 3, rejectKey: 4 });

// %% [markdown]
// The released order went round: delivery 1, 2, ... 5, each time released, then archived (never a 6th). The rejected one was delivered once. The orders of one partition were processed by several members at once: a share group gives **no ordering** across members. The last table is what `deno task describe --group billing-share-group --members` prints: each member with the partitions it shares.
//
// ## A stuck member, a killed member
//
// A record stays locked to its member for the group's `share.record.lock.duration.ms` (30 s by default; the broker allows 15 s to 60 s). Here `Share 1` takes 6 orders of a one-partition topic and works on the first for a minute, holding all six locks; then it is left **stuck** (alive, not acknowledging), or **killed** (SIGKILL), and `Share 2` joins. When does Share 2 get the six?

// %%
const locks = `locks-${Date.now()}`; // a new topic and new groups each run
await lab.stuckAndKilled(locks, locks, 15_000);

// %% [markdown]
// The stuck member's records came back after the **lock time**: the broker cannot tell slow from dead. The killed member's came back **at once**: its process died, so did its connection, and the broker releases a share session's records when its connection closes (the killed member itself stays in the group until its session times out, 45 s).
//
// ## Where a new share group starts: `latest`
//
// A classic consumer chooses with `auto.offset.reset` (the seed's is `earliest`). A share group's start is the group's setting `share.auto.offset.reset`, default **latest**: a new group reads only what is produced after it first fetches. It is set per group with the admin API (Kafka's `kafka-configs.sh --entity-type groups`), not by the members. Two new groups on the topic of the locks, one with the default and one set to `earliest`:

// %%
await lab.latestVsEarliest(locks, `${locks}-audit`);

// %% [markdown]
// The group at `latest` read only the 3 new orders; the one at `earliest` read the whole topic first. To set it on this lesson's group:

// %%
await lab.configureGroup(shareGroup, { "share.auto.offset.reset": "earliest" });

// %% [markdown]
// ## One edit to try
//
// In the cell of **Four share members**, change `{ releaseKey: 3, rejectKey: 4 }` to `{ releaseKey: 5, rejectKey: 5 }` and run it again: release wins for a key in both lists (see `acknowledgementOf` in `java/ShareConsumer.java`), so order 5 now goes round 5 times. Then try `releaseKey: 99`: no order has that key, and every order is accepted once.

// %% [markdown]
// ## What this means in practice
//
// - A share group scales past the partition count: more members, more records processed at once, with no idle member. The price: no per-partition ordering, and a record can be processed more than once (a slow member's lock runs out).
// - Choose the lock time above your slowest record's processing time, or records are redelivered while still being processed.
//
// ## Try it yourself
//
// ```sh
// deno task share-consumer --group billing-share-group --name "Share 1"   # ... up to "Share 4"
// deno task producer
// deno task describe --group billing-share-group --members
// ```

// %% [markdown]
// ## Exercise: four share members, none idle
//
// Start four share members of `billing-share-group` in four terminals, then let the lab check the live group (every member must have partitions: 4 members on 3 partitions):
//
// ```sh
// deno task share-consumer --group billing-share-group --name "Share 1"   # ... "Share 4"
// deno task check share-not-idle
// ```
