/**
 * The seed's producer: 10 order events, key = i, 500 ms apart.
 *
 * @module
 */
import { BROKERS_FLAG, intFlag, parseFlags, runMain, topicFlag, UsageError } from "../lib/cli.ts";
import { MAX_ORDER_INDEX } from "../lib/kafka/orders.ts";
import { ORDER_TOPIC, requireBroker, resolveBrokers } from "../lib/kafka/config.ts";
import { formatProduced, produceOrders, producePoison } from "../lib/kafka/producer.ts";
import { args, onParentExit, onSignal } from "../lib/platform/runtime.ts";

await runMain(async () => {
  const { values } = parseFlags(args(), "deno task producer", {
    count: { type: "string", default: "10", help: "how many orders to produce" },
    "interval-ms": { type: "string", default: "500", help: "pause between orders" },
    start: {
      type: "string",
      default: "0",
      help: "index of the first order (order id 1000 + start)",
    },
    topic: { type: "string", default: ORDER_TOPIC, help: "topic to produce to" },
    poison: {
      type: "boolean",
      help: "first write one bad message of each kind (members dead-letter them)",
    },
    "give-up-ms": {
      type: "string",
      default: "60000",
      help: "how long to keep retrying while the broker is away",
    },
    brokers: BROKERS_FLAG,
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const count = intFlag("--count", values.count, { min: 0, max: 10_000_000 });
  const intervalMs = intFlag("--interval-ms", values["interval-ms"], { min: 0, max: 3_600_000 });
  const start = intFlag("--start", values.start, { min: 0, max: MAX_ORDER_INDEX });
  if (count > 0 && start + count - 1 > MAX_ORDER_INDEX) {
    throw new UsageError(
      `--start ${start} with --count ${count} goes past order index ${MAX_ORDER_INDEX}, ` +
        "beyond which an order's amount (index × 10) is no longer an exact number",
    );
  }
  const topic = topicFlag("--topic", values.topic);
  const giveUpAfterMs = intFlag("--give-up-ms", values["give-up-ms"], { min: 0, max: 3_600_000 });
  await requireBroker(brokers);

  if (values.poison) {
    for (const p of await producePoison(brokers, topic)) {
      console.log(
        `Produced bad message (${p.problem}) -> partition ${p.partition} @ offset ${p.offset}`,
      );
    }
  }
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    onSignal(signal, () => stop.abort());
  }
  onParentExit(() => stop.abort());
  const sent = await produceOrders({
    brokers,
    topic,
    count,
    start,
    intervalMs,
    signal: stop.signal,
    giveUpAfterMs,
    onBrokerLost: (reason) =>
      console.log(
        `Producer lost the broker (${reason}); retrying for up to ${giveUpAfterMs / 1000} s...`,
      ),
    onProduced: (p) => console.log(formatProduced(p)),
  });
  console.log(`Produced ${sent.length} order${sent.length === 1 ? "" : "s"} to ${topic}.`);
});
