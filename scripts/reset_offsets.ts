/**
 * `deno task reset-offsets --group G --topic T --to-earliest ...`: move a
 * group's committed offsets. Dry run by default (prints the plan);
 * `--execute` applies it, only while the group has no members.
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
  UsageError,
} from "../lib/cli/flags.ts";
import { createKafka, ORDER_TOPIC, requireBroker, resolveBrokers } from "../lib/kafka/config.ts";
import { snapshotGroup } from "../lib/inspect/groups.ts";
import {
  applyReset,
  parseDateTime,
  parseDuration,
  planReset,
  planTable,
  type ResetTarget,
} from "../lib/inspect/reset.ts";
import { args } from "../lib/platform/runtime.ts";

const TARGETS = [
  "to-earliest",
  "to-latest",
  "to-current",
  "to-datetime",
  "by-duration",
  "shift-by",
  "to-offset",
] as const;

await runMain(async () => {
  const { values } = parseFlags(args(), "deno task reset-offsets", {
    group: { type: "string", help: "the group whose offsets move" },
    topic: { type: "string", default: ORDER_TOPIC, help: "the topic" },
    "to-earliest": { type: "boolean", help: "to the first offset still in the log" },
    "to-latest": { type: "boolean", help: "to the end of the log (skip everything unread)" },
    "to-current": { type: "boolean", help: "to the committed offset (no change)" },
    "to-datetime": { type: "string", help: "to the first message at or after an ISO time" },
    "by-duration": { type: "string", help: "to the first message since now minus PnDTnHnMnS" },
    "shift-by": { type: "string", help: "move by N (negative: replay N messages)" },
    "to-offset": { type: "string", help: "to offset N" },
    execute: { type: "boolean", help: "apply the plan (default: dry run)" },
    brokers: BROKERS_FLAG,
  });
  const groupId = groupFlag("--group", values.group);
  const topic = topicFlag("--topic", values.topic);
  const chosen = TARGETS.filter((t) => values[t] !== undefined && values[t] !== false);
  if (chosen.length !== 1) {
    throw new UsageError(`give exactly one of ${TARGETS.map((t) => `--${t}`).join(", ")}`);
  }
  const target = ((): ResetTarget => {
    const raw = values[chosen[0]];
    switch (chosen[0]) {
      case "to-earliest":
        return { to: "earliest" };
      case "to-latest":
        return { to: "latest" };
      case "to-current":
        return { to: "current" };
      case "to-datetime":
        return { to: "datetime", at: parseDateTime(String(raw)) };
      case "by-duration":
        return { to: "duration", ms: parseDuration(String(raw)) };
      case "shift-by":
        return { to: "shift", by: intFlag("--shift-by", raw, { min: -Number.MAX_SAFE_INTEGER }) };
      case "to-offset":
        return { to: "offset", offset: intFlag("--to-offset", raw) };
    }
  })();
  const brokers = resolveBrokers(values.brokers as string | undefined);
  await requireBroker(brokers);
  const admin = createKafka({ brokers, clientId: "lab-reset-offsets" }).admin();
  await admin.connect();
  try {
    const plan = await planReset(admin, groupId, topic, target);
    console.log(String(planTable(groupId, topic, plan)));
    if (!values.execute) {
      const { state } = await snapshotGroup(admin, groupId);
      const active = state !== "Empty" && state !== "Dead";
      console.log(
        active
          ? `\nDry run: nothing changed. ${groupId} is ${state} (it has members): like Kafka, ` +
            "--execute refuses until they stop."
          : "\nDry run: nothing changed. Add --execute to apply this plan.",
      );
      return;
    }
    await applyReset(brokers, groupId, topic, plan);
    console.log(`\nDone: ${groupId}'s offsets on ${topic} are reset.`);
  } finally {
    await admin.disconnect();
  }
});
