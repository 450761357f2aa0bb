/**
 * `deno task check <exercise>`: checks a hands-on exercise against the live
 * broker. `--list` lists them; `--watch` re-checks until it passes.
 * Exit code 0 when it passes, 1 when it does not.
 *
 * @module
 */
import { brokerPaths } from "../lib/kafka/broker.ts";
import { BROKERS_FLAG, parseFlags, runMain, UsageError } from "../lib/cli/flags.ts";
import {
  createKafka,
  ORDER_PARTITIONS,
  ORDER_TOPIC,
  requireBroker,
  resolveBrokers,
} from "../lib/kafka/config.ts";
import { exerciseById, EXERCISES, formatResult } from "../lib/lessons/exercises.ts";
import { sleep } from "../lib/platform/wait.ts";
import { Table } from "../lib/platform/render.ts";
import { args, onSignal } from "../lib/platform/runtime.ts";

await runMain(async () => {
  const { values, positionals } = parseFlags(args(), "deno task check", {
    list: { type: "boolean", help: "list the exercises" },
    answer: { type: "string", help: "your answer, for exercises that ask a question" },
    watch: { type: "boolean", help: "check again every 2 s until it passes" },
    brokers: BROKERS_FLAG,
  }, { positionals: "<exercise>" });
  if (values.list || positionals.length === 0) {
    console.log(String(
      new Table(
        ["EXERCISE", "LESSON", "GOAL"],
        EXERCISES.map((e) => [e.id, e.lesson, e.goal]),
      ),
    ));
    console.log("\nRun one: deno task check <exercise>   (add --watch to wait until it passes)");
    return;
  }
  const exercise = exerciseById(positionals[0]);
  if (!exercise) {
    throw new UsageError(
      `no exercise '${positionals[0]}': try ${EXERCISES.map((e) => e.id).join(", ")}`,
    );
  }
  const brokers = resolveBrokers(values.brokers as string | undefined);
  await requireBroker(brokers);
  const admin = createKafka({ brokers, clientId: "lab-check" }).admin();
  await admin.connect();
  const stop = new AbortController();
  onSignal("SIGINT", () => stop.abort());
  try {
    console.log(`${exercise.title}\nGoal: ${exercise.goal}\nHow: ${exercise.how.join("; ")}\n`);
    while (true) {
      const outcome = await exercise.check({
        admin,
        topic: ORDER_TOPIC,
        partitions: ORDER_PARTITIONS,
        groups: {
          billing: "billing-group",
          inventory: "inventory-group",
          notification: "notification-group",
          share: "billing-share-group",
        },
        brokerLog: brokerPaths().logFile,
        answer: values.answer as string | undefined,
      });
      if (outcome.passed || !values.watch || stop.signal.aborted) {
        console.log(formatResult(exercise, outcome));
        return outcome.passed ? 0 : 1;
      }
      console.log(`${new Date().toISOString().slice(11, 19)} not yet: ${outcome.hint}`);
      await sleep(2000, stop.signal);
    }
  } finally {
    await admin.disconnect();
  }
});
