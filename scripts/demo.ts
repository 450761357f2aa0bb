/**
 * `deno task demo`: the seed's consumer-group example, end to end, on a real
 * Kafka broker (started for you if none answers at localhost:9092).
 *
 * @module
 */
import {
  BROKERS_FLAG,
  groupFlag,
  intFlag,
  parseFlags,
  runMain,
  topicFlag,
} from "../lib/cli/flags.ts";
import { ORDER_TOPIC, resolveBrokers } from "../lib/kafka/config.ts";
import { runDemo } from "../lib/lessons/demo.ts";
import { args, env } from "../lib/platform/runtime.ts";

await runMain(async () => {
  const { values } = parseFlags(args(), "deno task demo", {
    members: { type: "string", default: "2", help: "how many members of the group (1-6)" },
    count: { type: "string", default: "10", help: "how many orders to produce" },
    "interval-ms": { type: "string", default: "500", help: "pause between orders" },
    group: { type: "string", default: "billing-group", help: "consumer group id" },
    topic: { type: "string", default: ORDER_TOPIC, help: "topic" },
    brokers: BROKERS_FLAG,
  });
  const explicitBrokers = values.brokers !== undefined ||
    env("KAFKA_BROKERS") !== undefined;
  const ok = await runDemo({
    brokers: resolveBrokers(values.brokers as string | undefined),
    startLocalBroker: !explicitBrokers,
    groupId: groupFlag("--group", values.group),
    topic: topicFlag("--topic", values.topic),
    members: intFlag("--members", values.members, { min: 1, max: 6 }),
    count: intFlag("--count", values.count, { min: 1, max: 100_000 }),
    intervalMs: intFlag("--interval-ms", values["interval-ms"], { min: 0, max: 60_000 }),
  });
  return ok ? 0 : 1;
});
