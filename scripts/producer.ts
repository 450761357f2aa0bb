/**
 * The seed's producer: 10 order events, key = i, 500 ms apart.
 *
 * @module
 */
import { BROKERS_FLAG, intFlag, parseFlags, runMain, topicFlag } from "../lib/cli.ts";
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
    brokers: BROKERS_FLAG,
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const count = intFlag("--count", values.count, { min: 0, max: 10_000_000 });
  const intervalMs = intFlag("--interval-ms", values["interval-ms"], { min: 0, max: 3_600_000 });
  const start = intFlag("--start", values.start, { min: 0 });
  const topic = topicFlag("--topic", values.topic);
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
    onProduced: (p) => console.log(formatProduced(p)),
  });
  console.log(`Produced ${sent.length} order${sent.length === 1 ? "" : "s"} to ${topic}.`);
});
