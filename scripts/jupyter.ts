/**
 * `deno task kernel`: set up headless Jupyter (a project venv) and show the
 * project's Deno kernelspec. `deno task notebook`: also install JupyterLab,
 * make sure the broker is up, and open the lessons.
 *
 * @module
 */
import { startBroker } from "../lib/broker.ts";
import { parseFlags, requireDeno, runMain, UsageError } from "../lib/cli.ts";
import { brokerAnswers, resolveBrokers } from "../lib/config.ts";
import { ensureJupyter, JUPYTER_COMMAND, JUPYTER_DIR, jupyterEnv } from "../lib/jupyter.ts";
import { args, env, projectPath, spawnProcess } from "../lib/runtime.ts";

await runMain(async () => {
  const { positionals } = parseFlags(args(), "deno task kernel|notebook", {}, {
    positionals: "kernel|notebook",
  });
  const [action = "kernel"] = positionals;
  requireDeno(`deno task ${action}`); // the lessons run on Deno's Jupyter kernel
  const progress = (line: string) => console.log(line);
  if (action === "kernel") {
    await ensureJupyter("requirements.txt", progress);
    console.log(
      `Kernelspec "deno" (Deno (Consumer Group Lab), interrupt_mode message) is in ` +
        `${JUPYTER_DIR}/kernels/deno; lab commands set JUPYTER_PATH=${JUPYTER_DIR} for you.`,
    );
    return;
  }
  if (action !== "notebook") throw new UsageError(`unknown action '${action}'`);
  await ensureJupyter("requirements-lab.txt", progress);
  const brokers = resolveBrokers();
  if (!(await brokerAnswers(brokers, 3000)) && !env("KAFKA_BROKERS")) {
    await startBroker({ onProgress: progress });
  }
  const notebooks = projectPath("notebooks");
  const jupyter = spawnProcess(JUPYTER_COMMAND, ["lab", notebooks, ...positionals.slice(1)], {
    env: jupyterEnv(),
    inheritStdio: true,
  });
  return await jupyter.exited;
});
