/**
 * The runtime underneath: the one module that knows how to read arguments and
 * the environment, exit, catch signals, start processes, touch files, talk to
 * the terminal and to a notebook. It uses only Node's built-in modules
 * (`node:process`, `node:fs`, `node:child_process`, `node:os`, `node:net`), which Deno and
 * Bun both provide, so every other module of `lib/` and `scripts/` runs
 * unchanged on either (`deno run -A scripts/demo.ts`, `bun scripts/demo.ts`),
 * but for the commands that drive Deno's own tools (see `denoExecutable`).
 * Nothing outside this file says `Deno.` (tests/portability_test.ts checks).
 *
 * @module
 */
import process from "node:process";
import fs from "node:fs";
import os from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";
import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { clearInterval, setInterval } from "node:timers";
import type { Readable } from "node:stream";

/** `deno` or `bun`: which runtime runs this process. */
export const RUNTIME: "deno" | "bun" = "Bun" in globalThis ? "bun" : "deno";

/**
 * kafkajs 2.2.4 asks for a negative timeout when no throttling is in force (a
 * deadline already past). Deno and Bun then wait ~0 ms but, like recent Node,
 * print a TimeoutNegativeWarning to stderr each time. Same wait, no noise.
 */
function passNegativeTimeoutsAsZero(): void {
  const setTimeoutAsGiven = globalThis.setTimeout;
  const setTimeoutFromZero =
    ((handler: (...args: unknown[]) => void, ms?: number, ...rest: unknown[]) =>
      setTimeoutAsGiven(handler, Math.max(0, ms ?? 0), ...rest)) as typeof setTimeout;
  // Keep what hangs on the original, e.g. its util.promisify.custom.
  Object.defineProperties(
    setTimeoutFromZero,
    Object.getOwnPropertyDescriptors(setTimeoutAsGiven),
  );
  globalThis.setTimeout = setTimeoutFromZero;
}
passNegativeTimeoutsAsZero();

/** The runtime and its version, for people: `Deno 2.9.6`, `Bun 1.4.5`. */
export const RUNTIME_VERSION: string = RUNTIME === "deno"
  ? `Deno ${process.versions.deno}`
  : `Bun ${process.versions.bun}`;

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

/**
 * True when `error` says a file, folder or command does not exist.
 *
 * @example
 * ```ts
 * await readTextFile("/no/such/file").catch((error) => isNotFound(error)); // true
 * ```
 */
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

/**
 * The command that runs one of the lab's scripts on this same runtime:
 * `deno run -A` under Deno, `bun` under Bun. Processes the lab starts
 * (members, producers) run on the runtime that started them.
 *
 * @example
 * ```ts
 * [...scriptRunner(), "scripts/consumer.ts"]; // ["/usr/bin/deno", "run", "-A", "scripts/consumer.ts"]
 * ```
 */
export function scriptRunner(): string[] {
  return RUNTIME === "deno" ? [process.execPath, "run", "-A"] : [process.execPath];
}

/**
 * How a person runs this script, for usage and error lines: the `deno task`
 * it was given under Deno, `bun scripts/<file>.ts` under Bun.
 *
 * @example
 * ```ts
 * invocation("deno task producer"); // "bun scripts/producer.ts" under Bun
 * ```
 */
export function invocation(denoTask: string): string {
  if (RUNTIME === "deno") return denoTask;
  const script = process.argv[1] ?? "";
  const relative = script.startsWith(`${process.cwd()}/`)
    ? script.slice(process.cwd().length + 1)
    : script;
  return `bun ${relative}`;
}

/** The path of this runtime's executable (`deno` or `bun`). */
export const execPath: string = process.execPath;

/**
 * This runtime's executable when it is Deno, for the commands that drive
 * Deno's own tools (`deno test`, `deno jupyter`); under Bun, undefined.
 *
 * @example
 * ```ts
 * denoExecutable(); // "/usr/local/bin/deno" under Deno
 * ```
 */
export function denoExecutable(): string | undefined {
  return RUNTIME === "deno" ? execPath : undefined;
}

/** A signal the lab sends to a process. */
export type Signal = "SIGTERM" | "SIGKILL" | "SIGINT";

/** Options for {@linkcode spawnProcess}. */
export interface SpawnOptions {
  /** Added to this process's environment. */
  env?: Record<string, string>;
  cwd?: string;
  /** Each line the process prints, on stdout or stderr. Without it, output is dropped. */
  onLine?: (line: string, stream: "stdout" | "stderr") => void;
  /** The output as it comes, in pieces (not lines), instead of `onLine`. */
  onOutput?: (text: string, stream: "stdout" | "stderr") => void;
  /** Share this process's terminal (stdin, stdout, stderr) instead. */
  inheritStdio?: boolean;
  /**
   * Outlive this process, in a process group of its own (a server such as the
   * broker: Ctrl+C in the terminal that started it does not reach it). Output
   * is dropped.
   */
  detached?: boolean;
}

/** A process started with {@linkcode spawnProcess}. */
export interface ChildHandle {
  pid: number;
  /** Sends `signal` (default SIGTERM); does nothing once the process has ended. */
  kill(signal?: Signal): void;
  /**
   * Resolves with the exit code once the process has ended and its output was
   * read; a process ended by a signal gives 128 + the signal's number
   * (SIGKILL: 137), as a shell reports it.
   */
  exited: Promise<number>;
}

/** Calls `onText` with each piece of `stream`, decoded as UTF-8. */
function readText(stream: Readable, onText: (text: string) => void): void {
  stream.setEncoding("utf8");
  stream.on("data", onText);
}

/** Calls `onLine` for each complete line of `stream`, and the unfinished rest at its end. */
function readLines(stream: Readable, onLine: (line: string) => void): void {
  let buffer = "";
  readText(stream, (chunk) => {
    buffer += chunk;
    const lines = buffer.split("\n");
    buffer = lines.pop() ?? "";
    lines.forEach(onLine);
  });
  stream.on("end", () => {
    if (buffer !== "") onLine(buffer);
  });
}

/**
 * Starts a process. Throws at once (an error with `code: "ENOENT"`, see
 * {@linkcode isNotFound}) when the command does not exist.
 *
 * @example
 * ```ts
 * const child = spawnProcess("python3", ["--version"], { onLine: console.log });
 * await child.exited; // 0
 * ```
 */
export function spawnProcess(
  command: string,
  args: string[],
  options: SpawnOptions = {},
): ChildHandle {
  const child = spawn(command, args, {
    cwd: options.cwd,
    env: { ...process.env, ...options.env },
    stdio: options.inheritStdio
      ? "inherit"
      : ["ignore", ...Array(2).fill(options.onLine || options.onOutput ? "pipe" : "ignore")],
    detached: options.detached,
  });
  const failed = new Promise<never>((_, reject) => child.once("error", reject));
  if (child.pid === undefined) {
    failed.catch(() => {}); // reported here instead, synchronously
    throw Object.assign(new Error(`${command}: command not found`), { code: "ENOENT" });
  }
  const { onLine, onOutput } = options;
  if (onLine) {
    readLines(child.stdout!, (line) => onLine(line, "stdout"));
    readLines(child.stderr!, (line) => onLine(line, "stderr"));
  } else if (onOutput) {
    readText(child.stdout!, (text) => onOutput(text, "stdout"));
    readText(child.stderr!, (text) => onOutput(text, "stderr"));
  }
  if (options.detached) failed.catch(() => {}); // nobody awaits a server's exit
  const closed = new Promise<number>((resolve) =>
    child.once(
      "close",
      (code, signal) => resolve(code ?? 128 + (signal ? os.constants.signals[signal] : 0)),
    )
  );
  let ended = false;
  child.once("exit", () => ended = true);
  if (options.detached) child.unref();
  const pid = child.pid;
  return {
    pid,
    // By pid, not child.kill(): Deno 2.9's node:child_process then reports the
    // signal as the cause of exit even when the child caught it and exited 0.
    kill: (signal = "SIGTERM") => {
      if (!ended) killProcess(pid, signal);
    },
    exited: Promise.race([closed, failed]),
  };
}

/** What {@linkcode runCommand} collected. */
export interface CommandOutput {
  code: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs a command to its end and collects its exit code and output. Rejects
 * (see {@linkcode isNotFound}) when the command does not exist.
 *
 * @example
 * ```ts
 * const { code, stdout } = await runCommand("java", ["-version"]);
 * ```
 */
export async function runCommand(
  command: string,
  args: string[],
  options: Pick<SpawnOptions, "env" | "cwd"> = {},
): Promise<CommandOutput> {
  const out = { stdout: [] as string[], stderr: [] as string[] };
  const child = spawnProcess(command, args, {
    ...options,
    onLine: (line, stream) => out[stream].push(line),
  });
  const code = await child.exited;
  return { code, stdout: out.stdout.join("\n"), stderr: out.stderr.join("\n") };
}

/**
 * True while a process with this pid exists (signal 0 probes it).
 *
 * @example
 * ```ts
 * processAlive(pid); // false once it has exited
 * ```
 */
export function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

/**
 * The command line of a running process (its arguments joined by spaces), or
 * undefined when no such process runs: from `/proc/<pid>/cmdline` on Linux,
 * `ps -o command= -p <pid>` elsewhere. Tells whether a pid from a pid file
 * is still the process that wrote it, or a newcomer that got the same pid.
 *
 * @example
 * ```ts
 * (await processCommandLine(pid))?.includes("kafka.Kafka"); // true for the lab's broker
 * ```
 */
export async function processCommandLine(pid: number): Promise<string | undefined> {
  if (os.platform() === "linux") {
    try {
      const raw = await fs.promises.readFile(`/proc/${pid}/cmdline`, "utf8");
      // A process that has ended but not yet been reaped (a zombie) has none.
      return raw.split("\0").filter((arg) => arg !== "").join(" ") || undefined;
    } catch {
      return undefined;
    }
  }
  const out = await runCommand("ps", ["-o", "command=", "-p", String(pid)]).catch(() => undefined);
  return out?.code === 0 && out.stdout.trim() !== "" ? out.stdout.trim() : undefined;
}

/**
 * Sends a signal to any process by pid; false when there is no such process.
 *
 * @example
 * ```ts
 * killProcess(pid, "SIGTERM");
 * ```
 */
export function killProcess(pid: number, signal: Signal): boolean {
  try {
    process.kill(pid, signal);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when something already listens on `port` of 127.0.0.1 (a listener
 * opened there is refused), so a server meant for it would fail to start.
 *
 * @example
 * ```ts
 * await portInUse(9092); // true while a broker runs there
 * ```
 */
export function portInUse(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.once("error", () => resolve(true));
    server.listen(port, "127.0.0.1", () => server.close(() => resolve(false)));
  });
}

/**
 * True when this process runs as root (user id 0), where some tools (Jupyter)
 * want an explicit `--allow-root`.
 *
 * @example
 * ```ts
 * runningAsRoot(); // false for a learner's own account
 * ```
 */
export function runningAsRoot(): boolean {
  return process.getuid?.() === 0;
}

/** The variable through which a lab process tells a child who started it. */
const PARENT_PID_VARIABLE = "LAB_PARENT_PID";

/**
 * Environment for a child process that should end with this one: it names
 * this process, so the child's {@linkcode onParentExit} can watch it.
 *
 * @example
 * ```ts
 * spawnProcess(execPath, ["run", "-A", "scripts/consumer.ts"], { env: parentPidEnv() });
 * ```
 */
export function parentPidEnv(): Record<string, string> {
  return { [PARENT_PID_VARIABLE]: String(process.pid) };
}

/**
 * Calls `listener` once when the process that started this one (named by
 * {@linkcode parentPidEnv}) has gone: this process was handed to another
 * parent, or that pid no longer runs. Checks every `intervalMs`; does nothing
 * when no parent was named (a script started from a terminal). The check
 * keeps no process alive by itself.
 *
 * @example
 * ```ts
 * onParentExit(() => console.log("my notebook kernel is gone: leaving the group"));
 * ```
 */
export function onParentExit(listener: () => void, intervalMs = 1000): void {
  const parentPid = Number(process.env[PARENT_PID_VARIABLE]);
  if (!Number.isSafeInteger(parentPid) || parentPid <= 1) return;
  const watch = setInterval(() => {
    if (process.ppid === parentPid && processAlive(parentPid)) return;
    clearInterval(watch);
    listener();
  }, intervalMs);
  watch.unref();
}

/**
 * Writes a text file, replacing it (or appending, with `append`).
 *
 * @example
 * ```ts
 * await writeTextFile("/tmp/a.txt", "hello\n");
 * ```
 */
export async function writeTextFile(
  path: string,
  text: string,
  options: { append?: boolean } = {},
): Promise<void> {
  await (options.append ? fs.promises.appendFile(path, text) : fs.promises.writeFile(path, text));
}

/**
 * Creates a file holding `text` only if nothing exists at `path` yet, in one
 * step no other process can come between (a lock file); false when it exists.
 *
 * @example
 * ```ts
 * await createFileExclusive(".lab/broker/start.lock", `${pid}\n`); // false if held
 * ```
 */
export async function createFileExclusive(path: string, text: string): Promise<boolean> {
  try {
    await fs.promises.writeFile(path, text, { flag: "wx" });
    return true;
  } catch (error) {
    if ((error as { code?: string })?.code === "EEXIST") return false;
    throw error;
  }
}

/**
 * True when a file or folder exists at `path`.
 *
 * @example
 * ```ts
 * await exists("/etc/hostname"); // true
 * ```
 */
export async function exists(path: string): Promise<boolean> {
  try {
    await fs.promises.stat(path);
    return true;
  } catch {
    return false;
  }
}

/**
 * True when a regular file exists at `path` (synchronously, for module set-up).
 *
 * @example
 * ```ts
 * isFileSync("/usr/bin/env"); // true
 * ```
 */
export function isFileSync(path: string): boolean {
  try {
    return fs.statSync(path).isFile();
  } catch {
    return false;
  }
}

/**
 * A path inside the project's folder (`relative` to its root; a trailing `/`
 * is kept), whatever module asks and wherever the project is: a file path,
 * never `URL.pathname`, which keeps a space in the folder's name as `%20`.
 *
 * @example
 * ```ts
 * projectPath("scripts/consumer.ts"); // "/home/me/consumer-group-lab/scripts/consumer.ts"
 * ```
 */
export function projectPath(relative = ""): string {
  return fileURLToPath(new URL(`../../${relative}`, import.meta.url));
}

/**
 * Removes a file or a folder with everything in it; nothing there is fine.
 *
 * @example
 * ```ts
 * await remove("/tmp/lab-nb-123");
 * ```
 */
export async function remove(path: string): Promise<void> {
  await fs.promises.rm(path, { recursive: true, force: true });
}

/**
 * Renames `from` to `to` unless `to` exists already (another process got
 * there first: `from` is removed); the way to publish a folder built aside
 * without anyone seeing it half written.
 *
 * @example
 * ```ts
 * await publishFolder(".lab/java/Consumer-ab12.tmp-4711", ".lab/java/Consumer-ab12");
 * ```
 */
export async function publishFolder(from: string, to: string): Promise<void> {
  try {
    await fs.promises.rename(from, to);
  } catch (error) {
    const code = (error as { code?: string }).code;
    if (code !== "ENOTEMPTY" && code !== "EEXIST") throw error;
    await remove(from);
  }
}

/**
 * Creates a new empty folder under the system's temp folder.
 *
 * @example
 * ```ts
 * const dir = await makeTempDir("lab-nb-"); // "/tmp/lab-nb-Ab12Cd"
 * ```
 */
export function makeTempDir(prefix: string): Promise<string> {
  return fs.promises.mkdtemp(join(os.tmpdir(), prefix));
}

/**
 * The bytes of a file from an offset to its end, and that offset: for
 * following a growing log without reading it all again. `offset` gets the
 * file's size and returns where to start (clamped to the file).
 *
 * @example
 * ```ts
 * const { bytes, from } = await readFileFrom(".lab/broker/broker.log", (size) => size - 1024);
 * ```
 */
export async function readFileFrom(
  path: string,
  offset: (size: number) => number,
): Promise<{ bytes: Uint8Array; from: number }> {
  const file = await fs.promises.open(path, "r");
  try {
    const { size } = await file.stat();
    const from = Math.min(Math.max(0, offset(size)), size);
    const bytes = new Uint8Array(size - from);
    let read = 0;
    while (read < bytes.length) {
      const { bytesRead } = await file.read(bytes, read, bytes.length - read, from + read);
      if (bytesRead === 0) break;
      read += bytesRead;
    }
    return { bytes: bytes.subarray(0, read), from };
  } finally {
    await file.close();
  }
}

/**
 * True when standard output is a terminal (so output may redraw in place).
 *
 * @example
 * ```ts
 * if (stdoutIsTerminal()) await writeOutput("\x1b[H\x1b[2J");
 * ```
 */
export function stdoutIsTerminal(): boolean {
  return process.stdout.isTTY === true;
}

/**
 * Writes text to standard output (or error) as it is, without a newline.
 *
 * @example
 * ```ts
 * await writeOutput("\x1b[H");
 * ```
 */
export function writeOutput(text: string, stream: "stdout" | "stderr" = "stdout"): Promise<void> {
  return new Promise((resolve, reject) =>
    process[stream].write(text, (error) => error ? reject(error) : resolve())
  );
}

/**
 * The machine and runtime, for benchmark reports: `linux/x64, 2 cores, 24 GiB, Deno 2.9.6`.
 *
 * @example
 * ```ts
 * machineSummary();
 * ```
 */
export function machineSummary(): string {
  return `${os.platform()}/${os.arch()}, ${os.cpus().length} cores, ` +
    `${(os.totalmem() / 2 ** 30).toFixed(0)} GiB, ${RUNTIME_VERSION}`;
}

/** What a Jupyter kernel offers for showing rich output (Deno's `Deno.jupyter`). */
export interface NotebookApi {
  /** `display_id` names an output; `update: true` replaces that output's content in place. */
  display(
    value: unknown,
    options?: { raw?: boolean; display_id?: string; update?: boolean },
  ): Promise<void>;
}

/**
 * The notebook kernel's display API when this code runs in one (`deno
 * jupyter`), else undefined: in a script, output is plain text.
 *
 * @example
 * ```ts
 * await notebook()?.display({ "text/plain": "hi" }, { raw: true });
 * ```
 */
export function notebook(): NotebookApi | undefined {
  try {
    return (globalThis as { Deno?: { jupyter?: NotebookApi } }).Deno?.jupyter;
  } catch {
    return undefined; // "only available in `deno jupyter`": we are in a script
  }
}
