/**
 * `deno task kernel`: set up headless Jupyter (a project venv) and show the
 * project's Deno kernelspec. `deno task lessons`: sync each lesson's pair,
 * `notebooks/NN-name.ts` and `.ipynb`, with Jupytext from that venv. `deno task notebook`: also install JupyterLab,
 * make sure the broker is up, and open the lessons; every other flag is
 * JupyterLab's own and goes to `jupyter lab` as it is.
 *
 * @module
 */
import { startBroker } from "../lib/kafka/broker.ts";
import { parseFlags, requireDeno, runMain, UsageError } from "../lib/cli/flags.ts";
import { brokerAnswers, resolveBrokers } from "../lib/kafka/config.ts";
import {
  ensureJupyter,
  JUPYTER_COMMAND,
  JUPYTER_DIR,
  jupyterEnv,
  jupyterLabArgs,
  syncLessons,
} from "../lib/platform/jupyter.ts";
import { args, env, onSignal, spawnProcess } from "../lib/platform/runtime.ts";

const NOTEBOOK_HELP = `Usage: deno task notebook [JupyterLab options]

Installs JupyterLab into .venv (once), starts the lab's broker if none answers,
and opens JupyterLab on the lessons (notebooks/), with the project as its root.
Every option goes to \`jupyter lab\` as it is, for example:
  --no-browser                 do not open a browser (open the printed URL yourself)
  --port 8889                  serve on another port
(\`.venv/bin/jupyter lab --help\` lists them all.) As root, --allow-root is added.`;

await runMain(async () => {
  const [action, ...rest] = args();
  const progress = (line: string) => console.log(line);
  if (action === "kernel") {
    parseFlags(rest, "deno task kernel", {});
    requireDeno("deno task kernel"); // the lessons run on Deno's Jupyter kernel
    await ensureJupyter("requirements.txt", progress);
    console.log(
      `Kernelspec "deno" (Deno (Consumer Group Lab), interrupt_mode message) is in ` +
        `${JUPYTER_DIR}/kernels/deno; lab commands set JUPYTER_PATH=${JUPYTER_DIR} for you.`,
    );
    return;
  }
  if (action === "lessons") {
    parseFlags(rest, "deno task lessons", {});
    await syncLessons();
    console.log("Lessons synced: each notebooks/NN-name.ts and its .ipynb have the same cells.");
    return;
  }
  if (action !== "notebook") {
    throw new UsageError(`unknown action '${action ?? ""}': kernel, lessons or notebook`);
  }
  if (rest.includes("--help") || rest.includes("-h")) {
    console.log(NOTEBOOK_HELP);
    return;
  }
  requireDeno("deno task notebook");
  await ensureJupyter("requirements-lab.txt", progress);
  const brokers = resolveBrokers();
  if (!(await brokerAnswers(brokers, 3000)) && !env("KAFKA_BROKERS")) {
    await startBroker({ onProgress: progress });
  }
  const jupyter = spawnProcess(JUPYTER_COMMAND, jupyterLabArgs(rest), {
    env: jupyterEnv(),
    inheritStdio: true,
  });
  onSignal("SIGTERM", () => jupyter.kill("SIGTERM")); // Ctrl+C reaches both already
  return await jupyter.exited;
});
