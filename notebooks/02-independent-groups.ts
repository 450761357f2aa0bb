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
// Run the cells from top to bottom (Shift+Enter). The first cell connects to Kafka at `KAFKA_BROKERS` (default `localhost:9092`) and, if nothing answers there, starts the lab's own broker (the first time that downloads Kafka's jars, once). Every experiment below starts its consumers, waits for its messages or a deadline, and stops them again: no cell runs forever.

// %%
import { Lab } from "../lib/lessons.ts";
const lab = await Lab.open();

// %% [markdown]
// ## One member in each of three groups
//
// The cell starts one member in each group, produces 10 new orders and waits until every group has them all.

// %%
await lab.runGroups(["inventory-group", "billing-group", "notification-group"])

// %% [markdown]
// Every group received all 10 orders: **different groups read the same messages independently**.
//
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
