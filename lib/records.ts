/**
 * Member run records: every event a member reports, one JSON object per line,
 * appended as it happens. Tests, lessons and the demo read them back to see
 * which member processed which message, and to count duplicates.
 *
 * @module
 */
import type { MemberEvent, MessageEvent } from "./member.ts";

/**
 * Appends one event to a JSON-lines record file (synchronously, so a member
 * killed right after still leaves the line behind).
 *
 * @example
 * ```ts
 * appendRecord("/tmp/run.jsonl", { type: "stopped", member: "Consumer 1", groupId: "g", at: Date.now() });
 * ```
 */
export function appendRecord(file: string, event: MemberEvent): void {
  Deno.writeTextFileSync(file, JSON.stringify(event) + "\n", { append: true });
}

/**
 * Reads a record file back; a missing file reads as no events, and a torn last
 * line (the member was killed mid-write) is ignored.
 *
 * @example
 * ```ts
 * const events = await readRecords("/tmp/run.jsonl");
 * ```
 */
export async function readRecords(file: string): Promise<MemberEvent[]> {
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
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
 * messagesOf(await readRecords("/tmp/run.jsonl")).length;
 * ```
 */
export function messagesOf(events: MemberEvent[]): MessageEvent[] {
  return events.filter((e): e is MessageEvent => e.type === "message");
}
