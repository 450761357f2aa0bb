/**
 * The runtime underneath: the one module that knows how to read arguments and
 * the environment, exit, catch signals and touch files. It uses only Node's
 * built-in modules (`node:process`, `node:fs`), which Deno and Bun both
 * provide, so the modules that import from here run unchanged on either
 * (`deno run -A scripts/consumer.ts`, `bun scripts/consumer.ts`).
 *
 * Ported so far: the member and producer path (`cli.ts`, `config.ts`,
 * `records.ts`, `scripts/consumer.ts`, `scripts/producer.ts`).
 *
 * @module
 */
import process from "node:process";
import fs from "node:fs";

/** `deno` or `bun`: which runtime runs this process. */
export const RUNTIME: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

/**
 * The script's command-line arguments (after the script path).
 *
 * @example
 * ```ts
 * args(); // ["--group", "billing-group"]
 * ```
 */
export function args(): string[] {
  return process.argv.slice(2);
}

/**
 * An environment variable, or undefined.
 *
 * @example
 * ```ts
 * env("KAFKA_BROKERS");
 * ```
 */
export function env(name: string): string | undefined {
  return process.env[name];
}

/**
 * Ends the process with `code`.
 *
 * @example
 * ```ts
 * exit(2);
 * ```
 */
export function exit(code: number): never {
  process.exit(code);
}

/** This process's id. */
export const pid: number = process.pid;

/**
 * Calls `listener` when the process gets `signal` (SIGINT: Ctrl+C; SIGTERM).
 *
 * @example
 * ```ts
 * onSignal("SIGTERM", () => console.log("leaving"));
 * ```
 */
export function onSignal(signal: "SIGINT" | "SIGTERM", listener: () => void): void {
  process.on(signal, listener);
}

/** True when `error` says a file or folder does not exist. */
export function isNotFound(error: unknown): boolean {
  return (error as { code?: string })?.code === "ENOENT";
}

/**
 * Reads a text file (synchronously).
 *
 * @example
 * ```ts
 * readTextFileSync("/etc/hostname");
 * ```
 */
export function readTextFileSync(path: string): string {
  return fs.readFileSync(path, "utf8");
}

/**
 * Reads a text file.
 *
 * @example
 * ```ts
 * await readTextFile("/etc/hostname");
 * ```
 */
export function readTextFile(path: string): Promise<string> {
  return fs.promises.readFile(path, "utf8");
}

/**
 * Appends text to a file, creating it if needed (synchronously, so a process
 * killed right after still leaves the text behind).
 *
 * @example
 * ```ts
 * appendTextFileSync("/tmp/run.jsonl", "{}\n");
 * ```
 */
export function appendTextFileSync(path: string, text: string): void {
  fs.appendFileSync(path, text);
}

/**
 * Creates a folder and its parents.
 *
 * @example
 * ```ts
 * await mkdirp("/tmp/a/b");
 * ```
 */
export async function mkdirp(path: string): Promise<void> {
  await fs.promises.mkdir(path, { recursive: true });
}

/**
 * The names of the files (not folders) in a folder.
 *
 * @example
 * ```ts
 * await listFiles("/tmp");
 * ```
 */
export async function listFiles(path: string): Promise<string[]> {
  const entries = await fs.promises.readdir(path, { withFileTypes: true });
  return entries.filter((e) => e.isFile()).map((e) => e.name);
}
