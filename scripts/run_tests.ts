/**
 * `deno task test`: the whole suite against a real broker. Starts the lab's
 * embedded broker once if nothing answers (and stops it afterwards), runs
 * `deno test`, and ends with the line `N passed, N failed`.
 *
 * Extra arguments go to `deno test` (e.g. `deno task test --filter idle`).
 *
 * @module
 */
import { brokerAddress, brokerPaths, startBroker, stopBroker } from "../lib/kafka/broker.ts";
import { stripVTControlCharacters } from "node:util";
import { requireDeno, runMain } from "../lib/cli.ts";
import { args, env, spawnProcess, writeOutput } from "../lib/platform/runtime.ts";

await runMain(async () => {
  const deno = requireDeno("deno task test");
  const useOwnBroker = env("KAFKA_BROKERS") === undefined;
  let startedHere = false;
  if (useOwnBroker) {
    const result = await startBroker({ onProgress: (line) => console.log(`[broker] ${line}`) });
    startedHere = result.started;
  }
  const testEnv: Record<string, string> = useOwnBroker
    ? { KAFKA_BROKERS: brokerAddress(brokerPaths()) }
    : {};
  let transcript = "";
  const tests = spawnProcess(deno, ["test", "-A", ...args()], {
    env: testEnv,
    onOutput: (text, stream) => {
      writeOutput(text, stream);
      if (stream === "stdout") transcript += text;
    },
  });
  const code = await tests.exited;
  if (startedHere) await stopBroker();
  // deno test's own summary: "ok | 12 passed (3 steps) | 0 failed (5s)"
  const plain = stripVTControlCharacters(transcript);
  const summary = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(plain);
  const passed = Number(summary?.[1] ?? 0);
  const failed = Number(summary?.[2] ?? (code === 0 ? 0 : 1));
  console.log(`${passed} passed, ${failed} failed`);
  return code;
});
