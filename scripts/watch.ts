/**
 * `deno task watch --group G`: a live view of a group, redrawn in place on a
 * terminal (plain frames, printed when something changes, otherwise), with
 * the rebalance timeline. It only observes through the admin API.
 *
 * @module
 */
import { brokerPaths } from "../lib/kafka/broker.ts";
import { BROKERS_FLAG, groupFlag, intFlag, parseFlags, runMain } from "../lib/cli/flags.ts";
import { createKafka, requireBroker, resolveBrokers } from "../lib/kafka/config.ts";
import { GroupWatch, runWatch } from "../lib/inspect/watch.ts";
import { args, onSignal, stdoutIsTerminal } from "../lib/platform/runtime.ts";

await runMain(async () => {
  const { values } = parseFlags(args(), "deno task watch", {
    group: { type: "string", default: "billing-group", help: "the group to watch" },
    topic: { type: "string", help: "the topic to draw (default: the group's)" },
    "interval-ms": { type: "string", default: "500", help: "time between snapshots" },
    "duration-ms": { type: "string", help: "stop by itself after this long" },
    "broker-log": {
      type: "string",
      help: "broker log to tell 'left' from 'timed out' (default: the lab's own broker's)",
    },
    brokers: BROKERS_FLAG,
  });
  const brokers = resolveBrokers(values.brokers as string | undefined);
  const groupId = groupFlag("--group", values.group);
  const intervalMs = intFlag("--interval-ms", values["interval-ms"], { min: 50, max: 60_000 });
  const durationMs = values["duration-ms"] === undefined
    ? undefined
    : intFlag("--duration-ms", values["duration-ms"], { min: 1 });
  await requireBroker(brokers);
  const admin = createKafka({ brokers, clientId: "lab-watch" }).admin();
  await admin.connect();
  const watch = new GroupWatch(admin, {
    groupId,
    topic: values.topic as string | undefined,
    brokerLog: (values["broker-log"] as string | undefined) ?? brokerPaths().logFile,
  });
  const stop = new AbortController();
  for (const signal of ["SIGINT", "SIGTERM"] as const) {
    onSignal(signal, () => stop.abort());
  }
  const timer = durationMs === undefined ? undefined : setTimeout(() => stop.abort(), durationMs);
  const tty = stdoutIsTerminal();
  let previous = "";
  try {
    await runWatch(
      watch,
      intervalMs,
      stop.signal,
      async () => {
        const frame = await watch.frame();
        if (tty) {
          console.log(`\x1b[H\x1b[2J${frame}\n\n(every ${intervalMs} ms; Ctrl+C to stop)`);
          return;
        }
        const withoutClock = frame.replace(/ at \d\d:\d\d:\d\d\.\d+ UTC/, "");
        if (withoutClock !== previous) console.log(`${frame}\n${"-".repeat(72)}`);
        previous = withoutClock;
      },
      (error) =>
        console.error(`watch: ${error instanceof Error ? error.message : error} (retrying)`),
    );
  } finally {
    clearTimeout(timer);
    await admin.disconnect();
  }
});
