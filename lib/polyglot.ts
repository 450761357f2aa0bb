/**
 * Polyglot groups: the seed's own Python consumer (`python/consumer.py`,
 * confluent-kafka) as a process next to the lab's TypeScript members, and a
 * reader for the lines every member prints (`<name> assigned: partitions 0, 2`,
 * `<name> got message: {...} from partition 1`), whatever its language.
 *
 * Python members use librdkafka's `range` or `roundrobin` assignor; the
 * TypeScript members they share a group with need the same `--assignor`.
 *
 * @module
 */
import { LabError } from "./cli.ts";
import { type LineProcess, spawnWithLines } from "./processes.ts";

const ROOT = new URL("../", import.meta.url).pathname;
/** The seed's consumer, with flags: `python/consumer.py`. */
export const PYTHON_CONSUMER = `${ROOT}python/consumer.py`;
/** The project venv's Python, where `deno task kernel` installs confluent-kafka. */
export const VENV_PYTHON = `${ROOT}.venv/bin/python`;

/** Options for {@linkcode spawnPythonMember}. */
export interface PythonMemberOptions {
  groupId: string;
  name: string;
  brokers: string[];
  topic?: string;
  /** librdkafka's `partition.assignment.strategy` (default `range`). */
  assignor?: "range" | "roundrobin";
  /** More flags, e.g. `["--max-messages", "5"]`. */
  extraArgs?: string[];
  onLine?: (line: string) => void;
}

/** A Python member running as its own process. */
export interface PythonMember {
  name: string;
  pid: number;
  /** Every line printed so far (stdout and stderr). */
  lines: string[];
  /** Resolves with the exit code when the process ends. */
  exited: Promise<number>;
  /** SIGTERM: the consumer closes and leaves the group cleanly. */
  stop(): Promise<number>;
}

/**
 * Starts `python/consumer.py` in the project venv. Resolves at once; watch
 * `lines` (or use {@linkcode lastAssignment}) to see it join.
 *
 * @example
 * ```ts
 * const py = spawnPythonMember({ groupId: "billing-group", name: "Python 1",
 *   brokers: ["localhost:9092"], assignor: "range" });
 * await py.stop();
 * ```
 */
export function spawnPythonMember(options: PythonMemberOptions): PythonMember {
  const lines: string[] = [];
  let spawned: LineProcess;
  try {
    spawned = spawnWithLines(
      VENV_PYTHON,
      [
        PYTHON_CONSUMER,
        "--group",
        options.groupId,
        "--name",
        options.name,
        "--brokers",
        options.brokers.join(","),
        "--assignor",
        options.assignor ?? "range",
        ...(options.topic ? ["--topic", options.topic] : []),
        ...(options.extraArgs ?? []),
      ],
      { PYTHONUNBUFFERED: "1" },
      (line) => {
        lines.push(line);
        options.onLine?.(line);
      },
    );
  } catch {
    throw new LabError(
      `${VENV_PYTHON} was not found: run \`deno task kernel\` (it installs confluent-kafka into .venv)`,
    );
  }
  const { child, done: exited } = spawned;
  return {
    name: options.name,
    pid: child.pid,
    lines,
    exited,
    stop: () => {
      try {
        child.kill("SIGTERM");
      } catch {
        // already exited
      }
      return exited;
    },
  };
}

/** What one printed line says, if it is a member's assignment or message line. */
export type MemberLine =
  | { type: "assigned"; member: string; partitions: number[] }
  | { type: "message"; member: string; value: string; partition: number };

/**
 * Reads a line any of the lab's members prints (TypeScript or Python).
 *
 * @example
 * ```ts
 * parseMemberLine("Py 1 got message: {\"order_id\":\"1\"} from partition 2");
 * // { type: "message", member: "Py 1", value: "{\"order_id\":\"1\"}", partition: 2 }
 * ```
 */
export function parseMemberLine(line: string): MemberLine | undefined {
  const message = /^(.+?) got message: (.*) from partition (\d+)$/.exec(line);
  if (message) {
    return { type: "message", member: message[1], value: message[2], partition: +message[3] };
  }
  const assigned = /^(.+?) assigned: (?:none \(idle\)|partitions? ([\d, ]+))/.exec(line);
  if (assigned) {
    const partitions = assigned[2]?.split(",").map((p) => Number(p.trim())) ?? [];
    return { type: "assigned", member: assigned[1], partitions };
  }
  return undefined;
}

/**
 * The partitions a member owns according to the last assignment line it
 * printed, or undefined before its first.
 *
 * @example
 * ```ts
 * lastAssignment(["Py 1 assigned: partitions 0, 2"]); // [0, 2]
 * ```
 */
export function lastAssignment(lines: string[]): number[] | undefined {
  for (let i = lines.length - 1; i >= 0; i--) {
    const parsed = parseMemberLine(lines[i]);
    if (parsed?.type === "assigned") return parsed.partitions;
  }
  return undefined;
}

/**
 * Every message a member printed, with its partition and order id (the
 * `order_id` of its JSON value).
 *
 * @example
 * ```ts
 * messagesIn(['Py 1 got message: {"order_id":"1000"} from partition 0']);
 * // [{ partition: 0, orderId: "1000" }]
 * ```
 */
export function messagesIn(lines: string[]): { partition: number; orderId: string }[] {
  return lines.map(parseMemberLine).flatMap((p) =>
    p?.type === "message"
      ? [{ partition: p.partition, orderId: String(JSON.parse(p.value).order_id) }]
      : []
  );
}
