/**
 * Command-line plumbing shared by every script: flag parsing, the flags every
 * command shares (`--brokers`), one-line errors and exit codes. The top of
 * `lib/`: only `scripts/` and `bench/` import it. The errors it prints live in
 * `lib/platform/errors.ts`, so the layers below throw them without importing
 * the command line (tests/layers_test.ts checks).
 *
 * Flags are parsed with Node's built-in `parseArgs` (`node:util`), the place
 * where `@std/cli` would go; this is the only module that knows which parser
 * is used, so switching touches one file.
 *
 * Exit codes: 0 success, 1 a runtime failure (broker down, missing topic),
 * 2 bad input (unknown flag, bad value).
 *
 * @module
 */
import process from "node:process";
import { parseArgs } from "node:util";
import { LabError, UsageError } from "../platform/errors.ts";
import { denoExecutable, env, exit, invocation } from "../platform/runtime.ts";

// Scripts take all their command-line plumbing from here, errors included.
export { LabError, UsageError } from "../platform/errors.ts";
export { intFlag } from "../platform/input.ts";

/** Description of one flag: its type, default and help line. */
export interface FlagSpec {
  type: "string" | "boolean";
  short?: string;
  default?: string | boolean;
  /** One line for `--help`. */
  help: string;
}

/** The `--brokers` flag every command takes. */
export const BROKERS_FLAG: FlagSpec = {
  type: "string",
  help:
    "bootstrap servers host:port,... (default KAFKA_BROKERS, else localhost:KAFKA_PORT or 9092)",
};

/** Parsed flags: strings and booleans by flag name, plus positionals. */
export interface ParsedFlags {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses `args` strictly against `spec`. Unknown flags and missing values
 * throw a {@linkcode UsageError}; `--help` prints the usage and exits 0.
 *
 * @example
 * ```ts
 * const { values } = parseFlags(["--count", "5"], "producer", {
 *   count: { type: "string", default: "10", help: "how many orders" },
 * });
 * values.count; // "5"
 * ```
 */
export function parseFlags(
  args: string[],
  command: string,
  spec: Record<string, FlagSpec>,
  options: { positionals?: string } = {},
): ParsedFlags {
  command = invocation(command);
  const fullSpec: Record<string, FlagSpec> = {
    ...spec,
    help: { type: "boolean", short: "h", help: "show this help" },
  };
  // `--shift-by -5`, `--by-duration -PT10M`: a negative number or duration is a value, not a
  // flag (as in Kafka's tools), so that the command can say what is wrong with it.
  const negative = /^-(\d+|P\S*)$/;
  const normalized = args.flatMap((arg, i) =>
    negative.test(arg) && i > 0 && fullSpec[args[i - 1].replace(/^--/, "")]?.type === "string"
      ? []
      : /^--/.test(arg) && negative.test(args[i + 1] ?? "") &&
          fullSpec[arg.slice(2)]?.type === "string"
      ? [`${arg}=${args[i + 1]}`]
      : [arg]
  );
  let parsed;
  try {
    parsed = parseArgs({
      args: normalized,
      options: Object.fromEntries(
        Object.entries(fullSpec).map(([name, f]) => [
          name,
          {
            type: f.type,
            ...(f.short ? { short: f.short } : {}),
            ...(f.default !== undefined ? { default: f.default } : {}),
          },
        ]),
      ),
      strict: true,
      allowPositionals: options.positionals !== undefined,
    });
  } catch (error) {
    throw new UsageError(`${cleanParseError(error)} (see: ${command} --help)`);
  }
  if (parsed.values.help) {
    console.log(usage(command, fullSpec, options.positionals));
    exit(0);
  }
  return { values: parsed.values, positionals: parsed.positionals };
}

function cleanParseError(error: unknown): string {
  const message = error instanceof Error ? error.message : String(error);
  // node:util adds advice about "--" that does not apply to our commands.
  return message.split("\n")[0].split(". To specify")[0].split(". Did you forget")[0].trim()
    .replace(/\.$/, "");
}

/**
 * Renders the `--help` text of a command from its flag spec.
 *
 * @example
 * ```ts
 * usage("producer", { count: { type: "string", help: "orders to send" } });
 * ```
 */
export function usage(
  command: string,
  spec: Record<string, FlagSpec>,
  positionals?: string,
): string {
  const lines = [`Usage: ${command}${positionals ? ` ${positionals}` : ""} [options]`, ""];
  for (const [name, f] of Object.entries(spec)) {
    const flag = `--${name}${f.type === "string" ? " <value>" : ""}`;
    const short = f.short ? `-${f.short}, ` : "    ";
    const fallback = f.default !== undefined && f.default !== false
      ? ` (default: ${f.default})`
      : "";
    lines.push(`  ${short}${flag.padEnd(28)} ${f.help}${fallback}`);
  }
  return lines.join("\n");
}

/**
 * Reads a required string flag, or throws a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * stringFlag("--group", "billing-group"); // "billing-group"
 * ```
 */
export function stringFlag(name: string, raw: string | boolean | undefined): string {
  if (typeof raw !== "string" || raw.trim() === "") {
    throw new UsageError(`${name} needs a value`);
  }
  return raw.trim();
}

/**
 * Runs a script's main function and turns failures into one line on stderr
 * and an exit code: {@linkcode LabError}s print their message; anything else
 * prints its message plus a hint to set `LAB_DEBUG=1` for the stack.
 *
 * @example
 * ```ts
 * await runMain(async () => {
 *   // script body
 * });
 * ```
 */
export async function runMain(main: () => Promise<void | number>): Promise<never> {
  try {
    const code = await main();
    exit(typeof code === "number" ? code : 0);
  } catch (error) {
    failWith(error);
  }
}

/**
 * For a script that runs at the top level, as the seed's do: from now on an
 * error nobody catches ends the process as in {@linkcode runMain}, in one line.
 *
 * @example
 * ```ts
 * exitOnUncaughtError();
 * await consumer.connect(); // a refused connection: "error: ..." and exit code 1
 * ```
 */
export function exitOnUncaughtError(): void {
  process.on("uncaughtException", failWith);
  process.on("unhandledRejection", failWith);
}

/** Prints `error` in one line on stderr and exits with its exit code (1 unless a LabError says). */
function failWith(error: unknown): never {
  if (error instanceof LabError) {
    console.error(`error: ${error.message}`);
    exit(error.exitCode);
  }
  if (env("LAB_DEBUG")) console.error(error);
  const message = error instanceof Error ? error.message : String(error);
  console.error(`error: ${message} (set LAB_DEBUG=1 for details)`);
  exit(1);
}

/**
 * The Deno executable, for a command that drives Deno's own tools (`deno
 * test`, `deno jupyter`); on another runtime, a one-line {@linkcode LabError}
 * saying to run `command` with Deno.
 *
 * @example
 * ```ts
 * const deno = requireDeno("deno task test"); // "/usr/local/bin/deno"
 * ```
 */
export function requireDeno(command: string): string {
  const deno = denoExecutable();
  if (deno === undefined) {
    throw new LabError(`${command} drives Deno's own tools: run it with Deno (${command})`);
  }
  return deno;
}

/**
 * Reads a topic name and checks it against Kafka's rules (1–249 of
 * `a-z A-Z 0-9 . _ -`, not `.` or `..`, not an internal `__` name), or throws
 * a {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * topicFlag("--topic", "order-events"); // "order-events"
 * ```
 */
export function topicFlag(name: string, raw: string | boolean | undefined): string {
  const topic = stringFlag(name, raw);
  if (!/^[a-zA-Z0-9._-]{1,249}$/.test(topic) || topic === "." || topic === "..") {
    throw new UsageError(
      `${name} '${topic}' is not a valid topic name: use 1-249 letters, digits, '.', '_' or '-'`,
    );
  }
  if (topic.startsWith("__")) {
    throw new UsageError(
      `${name} '${topic}' is a name Kafka keeps for its internal topics (names starting with ` +
        "'__', such as __consumer_offsets): use another topic",
    );
  }
  return topic;
}

/**
 * Reads a consumer group id (1–255 printable characters), or throws a
 * {@linkcode UsageError}.
 *
 * @example
 * ```ts
 * groupFlag("--group", "billing-group"); // "billing-group"
 * ```
 */
export function groupFlag(name: string, raw: string | boolean | undefined): string {
  const group = stringFlag(name, raw);
  // deno-lint-ignore no-control-regex
  if (group.length > 255 || /[\x00-\x1f\x7f]/.test(group)) {
    throw new UsageError(
      `${name} '${group}' is not a valid group id: use 1-255 printable characters`,
    );
  }
  return group;
}
