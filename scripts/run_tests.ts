/**
 * `deno task test`: the whole suite against a real broker. Starts the lab's
 * embedded broker once if nothing answers (and stops it afterwards), runs
 * `deno test`, and ends with the line `N passed, N failed`.
 *
 * Extra arguments go to `deno test` (e.g. `deno task test --filter idle`).
 *
 * @module
 */
import { brokerAddress, brokerPaths, startBroker, stopBroker } from "../lib/broker.ts";
import { stripVTControlCharacters } from "node:util";
import { runMain } from "../lib/cli.ts";

await runMain(async () => {
  const useOwnBroker = Deno.env.get("KAFKA_BROKERS") === undefined;
  let startedHere = false;
  if (useOwnBroker) {
    const result = await startBroker({ onProgress: (line) => console.log(`[broker] ${line}`) });
    startedHere = result.started;
  }
  const env: Record<string, string> = useOwnBroker
    ? { KAFKA_BROKERS: brokerAddress(brokerPaths()) }
    : {};
  const child = new Deno.Command(Deno.execPath(), {
    args: ["test", "-A", ...Deno.args],
    env,
    stdout: "piped",
    stderr: "inherit",
  }).spawn();
  let transcript = "";
  const out = Deno.stdout.writable.getWriter();
  for await (const chunk of child.stdout) {
    await out.write(chunk);
    transcript += new TextDecoder().decode(chunk);
  }
  out.releaseLock();
  const { code } = await child.status;
  if (startedHere) await stopBroker();
  // deno test's own summary: "ok | 12 passed (3 steps) | 0 failed (5s)"
  const plain = stripVTControlCharacters(transcript);
  const summary = /(\d+) passed(?: \(\d+ steps?\))? \| (\d+) failed/.exec(plain);
  const passed = Number(summary?.[1] ?? 0);
  const failed = Number(summary?.[2] ?? (code === 0 ? 0 : 1));
  console.log(`${passed} passed, ${failed} failed`);
  return code;
});
