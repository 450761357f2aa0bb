/**
 * Members' run logs: every event a member reports, one JSON object per line,
 * appended as it happens. Tests, lessons and the demo read them back to see
 * which member processed which message, and to count duplicates.
 *
 * @module
 */
import type { MemberEvent, MessageEvent } from "../kafka/member.ts";
import {
  appendTextFileSync,
  env,
  isNotFound,
  listFiles,
  mkdirp,
  pid,
  projectPath,
  readTextFile,
} from "../platform/runtime.ts";

/**
 * Where members keep their run logs unless told otherwise:
 * `.lab/runs/<group>/` (or `LAB_RUNS_DIR/<group>/`).
 *
 * @example
 * ```ts
 * runsDir("billing-group"); // ".../.lab/runs/billing-group"
 * ```
 */
export function runsDir(groupId: string): string {
  const root = env("LAB_RUNS_DIR") ?? projectPath(".lab/runs");
  return `${root}/${groupId.replace(/[^A-Za-z0-9._-]/g, "_")}`;
}

/**
 * A new run log for one run of one member: `<runs dir>/<client id>-<time>-<pid>.jsonl`.
 *
 * @example
 * ```ts
 * const file = await newRunLog("billing-group", "consumer-1");
 * ```
 */
export async function newRunLog(groupId: string, clientId: string): Promise<string> {
  const dir = runsDir(groupId);
  await mkdirp(dir);
  return `${dir}/${clientId}-${Date.now()}-${pid}.jsonl`;
}

/**
 * Every run log of a group, oldest first: one entry per member run.
 *
 * @example
 * ```ts
 * for (const run of await readGroupRuns("billing-group")) console.log(run.file, run.events.length);
 * ```
 */
export async function readGroupRuns(
  groupId: string,
): Promise<{ file: string; events: MemberEvent[] }[]> {
  const dir = runsDir(groupId);
  const files: string[] = [];
  try {
    for (const name of await listFiles(dir)) {
      if (name.endsWith(".jsonl")) files.push(`${dir}/${name}`);
    }
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const byTime = (f: string) => Number(/-(\d+)-\d+\.jsonl$/.exec(f)?.[1] ?? 0);
  files.sort((a, b) => byTime(a) - byTime(b));
  return await Promise.all(files.map(async (file) => ({ file, events: await readRunLog(file) })));
}

/**
 * Appends one event to a JSON-lines run log (synchronously, so a member
 * killed right after still leaves the line behind).
 *
 * @example
 * ```ts
 * appendToRunLog("/tmp/run.jsonl", { type: "stopped", member: "Consumer 1", groupId: "g", at: Date.now() });
 * ```
 */
export function appendToRunLog(file: string, event: MemberEvent): void {
  appendTextFileSync(file, JSON.stringify(event) + "\n");
}

/**
 * Reads a run log back; a missing file reads as no events, and a torn last
 * line (the member was killed mid-write) is ignored.
 *
 * @example
 * ```ts
 * const events = await readRunLog("/tmp/run.jsonl");
 * ```
 */
export async function readRunLog(file: string): Promise<MemberEvent[]> {
  let text: string;
  try {
    text = await readTextFile(file);
  } catch (error) {
    if (isNotFound(error)) return [];
    throw error;
  }
  const events: MemberEvent[] = [];
  for (const line of text.split("\n")) {
    if (line.trim() === "") continue;
    try {
      events.push(JSON.parse(line));
    } catch {
      // a line cut short by a kill: nothing after it was written either
    }
  }
  return events;
}

/**
 * Only the processed messages of a list of events.
 *
 * @example
 * ```ts
 * messagesOf(await readRunLog("/tmp/run.jsonl")).length;
 * ```
 */
export function messagesOf(events: MemberEvent[]): MessageEvent[] {
  return events.filter((e): e is MessageEvent => e.type === "message");
}
