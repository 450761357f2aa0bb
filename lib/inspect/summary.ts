/**
 * What happened in a run, from the members' own run logs: who owned which
 * partitions, who processed what, and whether every produced message was
 * consumed exactly once, at least once, or not at all.
 *
 * @module
 */
import type { MemberEvent, MessageEvent } from "../kafka/member.ts";
import { Table } from "../platform/render.ts";

/** Offsets `[from, to)` of one partition: the messages a run expects. */
export interface OffsetRange {
  partition: number;
  from: number;
  to: number;
}

/** One member's part in a run. */
export interface MemberSummary {
  name: string;
  /** Partitions owned after the member's last rebalance ([] = idle). */
  partitions: number[];
  /** Messages processed within the expected ranges. */
  messages: number;
}

/** The outcome of a run. */
export interface RunSummary {
  members: MemberSummary[];
  expected: number;
  /** Distinct expected messages processed by at least one member. */
  consumed: number;
  missing: { partition: number; offset: number }[];
  /** Expected messages processed more than once (by whom, in order). */
  duplicates: { partition: number; offset: number; by: string[] }[];
  /** Partitions whose expected messages were processed by more than one member. */
  sharedPartitions: number[];
}

/**
 * Summarises a run from each member's events and the offset ranges that were
 * produced during it.
 *
 * @example
 * ```ts
 * const summary = summarizeRun(
 *   [{ name: "Consumer 1", events: [] }],
 *   [{ partition: 0, from: 0, to: 4 }],
 * );
 * summary.missing.length; // 4
 * ```
 */
export function summarizeRun(
  members: { name: string; events: MemberEvent[] }[],
  ranges: OffsetRange[],
): RunSummary {
  const inRange = (m: MessageEvent) =>
    ranges.some((r) => r.partition === m.partition && m.offset >= r.from && m.offset < r.to);
  const seen = new Map<string, string[]>();
  const readers = new Map<number, Set<string>>();
  const memberSummaries = members.map(({ name, events }) => {
    const assignments = events.filter((e) => e.type === "assigned");
    const messages = events.filter((e): e is MessageEvent => e.type === "message" && inRange(e));
    for (const m of messages) {
      const key = `${m.partition}@${m.offset}`;
      seen.set(key, [...(seen.get(key) ?? []), name]);
      readers.set(m.partition, (readers.get(m.partition) ?? new Set()).add(name));
    }
    return { name, partitions: assignments.at(-1)?.partitions ?? [], messages: messages.length };
  });
  const missing: RunSummary["missing"] = [];
  const duplicates: RunSummary["duplicates"] = [];
  for (const r of ranges) {
    for (let offset = r.from; offset < r.to; offset++) {
      const by = seen.get(`${r.partition}@${offset}`);
      if (!by) missing.push({ partition: r.partition, offset });
      else if (by.length > 1) duplicates.push({ partition: r.partition, offset, by });
    }
  }
  const expected = ranges.reduce((n, r) => n + Math.max(0, r.to - r.from), 0);
  return {
    members: memberSummaries,
    expected,
    consumed: expected - missing.length,
    missing,
    duplicates,
    sharedPartitions: [...readers].filter(([, names]) => names.size > 1).map(([p]) => p).sort(),
  };
}

/**
 * The summary as a table: MEMBER, PARTITIONS, MESSAGES.
 *
 * @example
 * ```ts
 * console.log(String(summaryTable(summary)));
 * ```
 */
export function summaryTable(summary: RunSummary): Table {
  return new Table(
    ["MEMBER", "PARTITIONS", "MESSAGES"],
    summary.members.map((m) => [
      m.name,
      m.partitions.length === 0 ? "none (idle)" : m.partitions.join(", "),
      m.messages,
    ]),
  );
}

/**
 * One line that says whether the run kept the group's promise.
 *
 * @example
 * ```ts
 * verdict(summary); // "Verdict: OK: all 10 messages consumed, none duplicated ..."
 * ```
 */
export function verdict(summary: RunSummary): string {
  const problems: string[] = [];
  if (summary.missing.length > 0) problems.push(`${summary.missing.length} not consumed`);
  if (summary.duplicates.length > 0) problems.push(`${summary.duplicates.length} duplicated`);
  if (summary.sharedPartitions.length > 0) {
    problems.push(
      `partition(s) ${summary.sharedPartitions.join(", ")} read by more than one member`,
    );
  }
  if (problems.length === 0) {
    return `Verdict: OK: all ${summary.expected} messages consumed, none duplicated; ` +
      `each partition was read by exactly one member.`;
  }
  return `Verdict: ${problems.join("; ")} (of ${summary.expected} messages).`;
}
