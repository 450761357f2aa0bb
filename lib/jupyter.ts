/**
 * Jupyter for the lessons: a project-local Python venv (`.venv`) with the
 * packages in `jupyter/requirements*.txt`, the project's own Deno kernelspec
 * (`jupyter/kernels/deno`, found through `JUPYTER_PATH`), headless execution
 * of a notebook for tests and CI, and the lesson pairs (`NN-name.ts` in
 * Jupytext's percent format and `NN-name.ipynb`, `notebooks/jupytext.toml`).
 *
 * @module
 */
import { LabError } from "./cli.ts";
import {
  env,
  execPath,
  exists,
  isNotFound,
  listFiles,
  makeTempDir,
  projectPath,
  readTextFile,
  remove,
  runCommand,
  runningAsRoot,
  writeTextFile,
} from "./runtime.ts";

const ROOT = projectPath();
const VENV = `${ROOT}.venv`;
/** The project venv's `jupyter` command. */
export const JUPYTER_COMMAND = `${VENV}/bin/jupyter`;
/** The folder `JUPYTER_PATH` points at: it holds `kernels/deno/kernel.json`. */
export const JUPYTER_DIR = `${ROOT}jupyter`;

/**
 * Environment for any Jupyter command: the project's kernelspec first on
 * `JUPYTER_PATH`, the venv's tools first on `PATH`, and the running Deno on
 * `PATH` so the kernel is the same Deno.
 *
 * @example
 * ```ts
 * jupyterEnv().JUPYTER_PATH; // ".../jupyter"
 * ```
 */
export function jupyterEnv(): Record<string, string> {
  const denoDir = execPath.replace(/\/[^/]+$/, "");
  return {
    JUPYTER_PATH: JUPYTER_DIR,
    PATH: `${VENV}/bin:${denoDir}:${env("PATH") ?? ""}`,
    NO_COLOR: "1",
  };
}

async function run(cmd: string, args: string[]): Promise<void> {
  const out = await runCommand(cmd, args, { env: jupyterEnv() }).catch((error) => {
    if (!isNotFound(error)) throw error;
    throw new LabError(`${cmd} was not found: install Python 3.9+ (with venv and pip)`);
  });
  if (out.code !== 0) {
    const text = out.stderr.trim().split("\n").at(-1);
    throw new LabError(`${cmd} ${args.slice(0, 3).join(" ")} failed: ${text}`);
  }
}

/**
 * Creates `.venv` if needed and installs `jupyter/<requirements>` into it,
 * once per version of that file.
 *
 * @example
 * ```ts
 * await ensureJupyter("requirements.txt", console.log);
 * ```
 */
export async function ensureJupyter(
  requirements: "requirements.txt" | "requirements-lab.txt" | "requirements-browser.txt" =
    "requirements.txt",
  onProgress: (line: string) => void = () => {},
): Promise<void> {
  const file = `${JUPYTER_DIR}/${requirements}`;
  const wanted = await readTextFile(file);
  const marker = `${VENV}/.installed-${requirements}`;
  if (!(await exists(`${VENV}/bin/python`))) {
    onProgress("Creating a Python venv in .venv ...");
    await run("python3", ["-m", "venv", VENV]);
  }
  // JupyterLab runs Node helpers from the venv (jupyter_builder's yarn.js), which
  // are CommonJS; without this they fall under the project's package.json,
  // "type": "module", and fail with ~20 KB of errors at every start.
  await writeTextFile(`${VENV}/package.json`, '{ "type": "commonjs" }\n');
  if (await exists(marker) && await readTextFile(marker) === wanted) return;
  onProgress(`Installing ${requirements.replace(".txt", "")} from PyPI into .venv ...`);
  await run(`${VENV}/bin/python`, ["-m", "pip", "install", "--quiet", "-r", file]);
  await writeTextFile(marker, wanted);
}

/** The lessons' folder: each lesson is a pair, `NN-name.ts` and `NN-name.ipynb`. */
export const LESSONS_DIR = `${ROOT}notebooks`;
const JUPYTEXT_COMMAND = `${VENV}/bin/jupytext`;

async function jupytext(args: string[]): Promise<void> {
  if (!(await exists(JUPYTEXT_COMMAND))) {
    throw new LabError(".venv has no jupytext: run deno task kernel");
  }
  await run(JUPYTEXT_COMMAND, args);
}

/**
 * The lessons in {@linkcode LESSONS_DIR}, by name without extension
 * (`01-what-is-a-consumer-group`), whichever side of their pair exists.
 *
 * @example
 * ```ts
 * await lessonNames(); // ["01-what-is-a-consumer-group", ...]
 * ```
 */
export async function lessonNames(): Promise<string[]> {
  const files = await listFiles(LESSONS_DIR);
  const names = files.filter((f) => /\.(ts|ipynb)$/.test(f)).map((f) => f.replace(/\.\w+$/, ""));
  return [...new Set(names)].sort();
}

/**
 * Syncs every lesson pair with Jupytext: the newer side of each pair wins,
 * the `.ipynb` keeps its kernelspec and outputs, and a new `NN-name.ts` gets
 * its `.ipynb` (on the project's Deno kernel).
 *
 * @example
 * ```ts
 * await syncLessons(); // after editing notebooks/01-what-is-a-consumer-group.ts
 * ```
 */
export async function syncLessons(): Promise<void> {
  const files = await listFiles(LESSONS_DIR);
  const sources = (await lessonNames()).map((name) =>
    `${LESSONS_DIR}/${files.includes(`${name}.ts`) ? `${name}.ts` : `${name}.ipynb`}`
  );
  await jupytext(["-q", "--sync", "--set-kernel", "deno", ...sources]);
}

/**
 * The percent-format script Jupytext makes of a lesson's `.ipynb`: what its
 * paired `.ts` must be, byte for byte. (It writes to a file: on stdout,
 * Jupytext 1.19.6 ignores `jupytext.toml`.)
 *
 * @example
 * ```ts
 * await lessonScriptOf("notebooks/01-what-is-a-consumer-group.ipynb");
 * ```
 */
export async function lessonScriptOf(notebook: string): Promise<string> {
  const dir = await makeTempDir("lab-pair-");
  try {
    await jupytext(["-q", "--to", "ts:percent", "-o", `${dir}/lesson.ts`, notebook]);
    return await readTextFile(`${dir}/lesson.ts`);
  } finally {
    await remove(dir);
  }
}

/**
 * The arguments of `jupyter lab` for the lessons: the file browser rooted at
 * the project (so `lib/` opens from it too) and opened on `notebooks/`, then
 * `passThrough` (Jupyter's own flags, e.g. `--no-browser`, `--port 8889`), and
 * `--allow-root` when running as root, which Jupyter refuses otherwise.
 *
 * @example
 * ```ts
 * jupyterLabArgs(["--no-browser"]);
 * // ["lab", "--ServerApp.root_dir=/lab/", "--LabApp.default_url=/lab/tree/notebooks", "--no-browser"]
 * ```
 */
export function jupyterLabArgs(
  passThrough: string[],
  { asRoot = runningAsRoot() }: { asRoot?: boolean } = {},
): string[] {
  return [
    "lab",
    `--ServerApp.root_dir=${ROOT}`,
    "--LabApp.default_url=/lab/tree/notebooks",
    ...passThrough,
    ...(asRoot && !passThrough.includes("--allow-root") ? ["--allow-root"] : []),
  ];
}

/** One output of an executed cell, flattened to text. */
export interface CellOutput {
  type: "stream" | "execute_result" | "display_data" | "error";
  /** Stream text, or the `text/plain` form of a result. */
  text: string;
  /** The `text/html` form, if any. */
  html?: string;
  /** The `image/svg+xml` form, if any. */
  svg?: string;
}

/** An executed notebook: its code cells with their source and outputs. */
export interface ExecutedNotebook {
  path: string;
  ms: number;
  cells: { source: string; outputs: CellOutput[] }[];
}

const joined = (value: string | string[] | undefined) =>
  Array.isArray(value) ? value.join("") : value ?? "";

/**
 * Executes a notebook top to bottom with the project's Deno kernel, headless
 * (`jupyter nbconvert --execute`), and returns its outputs. A cell error
 * rejects with the error's name and message.
 *
 * @example
 * ```ts
 * const nb = await executeNotebook("notebooks/01-what-is-a-consumer-group.ipynb");
 * nb.cells[0].outputs;
 * ```
 */
export async function executeNotebook(
  path: string,
  options: { timeoutS?: number; env?: Record<string, string> } = {},
): Promise<ExecutedNotebook> {
  await ensureJupyter();
  const outDir = await makeTempDir("lab-nb-");
  const started = Date.now();
  try {
    const out = await runCommand(JUPYTER_COMMAND, [
      "nbconvert",
      "--to",
      "notebook",
      "--execute",
      "--ExecutePreprocessor.kernel_name=deno",
      `--ExecutePreprocessor.timeout=${options.timeoutS ?? 120}`,
      "--output-dir",
      outDir,
      path,
    ], { env: { ...jupyterEnv(), ...options.env } });
    if (out.code !== 0) {
      const log = out.stderr;
      const error = log.split("\n").filter((l) => /Error|error:/.test(l)).slice(-3).join(" | ");
      throw new Error(`${path} failed: ${error || log.slice(-500)}`);
    }
    const name = path.split("/").at(-1)!;
    const nb = JSON.parse(await readTextFile(`${outDir}/${name}`));
    const cells = nb.cells
      .filter((c: { cell_type: string }) => c.cell_type === "code")
      .map((c: { source: string | string[]; outputs: Record<string, unknown>[] }) => ({
        source: joined(c.source),
        outputs: c.outputs.map((o): CellOutput => {
          const data = (o.data ?? {}) as Record<string, string | string[]>;
          return {
            type: o.output_type as CellOutput["type"],
            text: o.output_type === "stream"
              ? joined(o.text as string | string[])
              : o.output_type === "error"
              ? `${o.ename}: ${o.evalue}`
              : joined(data["text/plain"]),
            html: data["text/html"] ? joined(data["text/html"]) : undefined,
            svg: data["image/svg+xml"] ? joined(data["image/svg+xml"]) : undefined,
          };
        }),
      }));
    return { path, ms: Date.now() - started, cells };
  } finally {
    await remove(outDir);
  }
}
