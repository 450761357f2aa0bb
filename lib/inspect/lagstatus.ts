/**
 * Lag status in the spirit of LinkedIn's Burrow: not just "how much lag" but
 * "is this consumer keeping up?", judged per partition over a sliding window
 * of observations.
 *
 * The statuses, checked in this order:
 * - `REWIND`: the committed offset went back (someone reset or replayed it).
 * - `STOP`: lag > 0 and nobody owns the partition: commits have stopped.
 * - `STALL`: lag > 0, a member owns the partition, but the committed offset
 *   has not moved across the window: the member is stuck.
 * - `WARNING`: the committed offset moves, but lag grew at every step of
 *   the window: the group is falling behind.
 * - `OK`: anything else, and always when lag was 0 at some point in the window.
 *
 * Burrow tells STOP from STALL by commit timestamps, which the admin API does
 * not return; ownership is the admin-visible reason commits stop.
 *
 * @module
 */

/** One observation of one partition. */
export interface LagSample {
  at: number;
  /** Committed offset, or null if the group has none. */
  committed: number | null;
  logEnd: number;
  /** A member owns the partition at this moment. */
  owned: boolean;
}

/** Burrow-style status of one partition; "-" when there is too little to judge. */
export type LagStatus = "OK" | "WARNING" | "STALL" | "STOP" | "REWIND" | "-";

const lagOf = (s: LagSample) => s.committed === null ? null : Math.max(0, s.logEnd - s.committed);

/**
 * Classifies a window of samples (oldest first). Needs at least two samples
 * with a committed offset to say more than OK.
 *
 * @example
 * ```ts
 * lagStatus([
 *   { at: 0, committed: 5, logEnd: 9, owned: true },
 *   { at: 1000, committed: 5, logEnd: 12, owned: true },
 * ]); // "STALL"
 * ```
 */
export function lagStatus(window: LagSample[]): LagStatus {
  const samples = window.filter((s) => s.committed !== null);
  if (samples.length === 0) return "-";
  const lags = samples.map((s) => lagOf(s)!);
  const last = samples.at(-1)!;
  if (samples.some((s, i) => i > 0 && s.committed! < samples[i - 1].committed!)) return "REWIND";
  if (lags.some((lag) => lag === 0)) return "OK";
  if (samples.length < 2) return "-";
  if (!last.owned) return "STOP";
  if (samples.every((s) => s.committed === samples[0].committed)) return "STALL";
  if (lags.every((lag, i) => i === 0 || lag > lags[i - 1])) return "WARNING";
  return "OK";
}

/**
 * Keeps the last `size` samples per partition and classifies them.
 *
 * @example
 * ```ts
 * const tracker = new LagTracker(5);
 * tracker.add("order-events/0", { at: Date.now(), committed: 3, logEnd: 3, owned: true });
 * tracker.status("order-events/0"); // "OK"
 * ```
 */
export class LagTracker {
  #windows = new Map<string, LagSample[]>();
  constructor(readonly size = 10) {}

  /** Records a sample for `key` (e.g. `topic/partition`). */
  add(key: string, sample: LagSample): void {
    const window = [...(this.#windows.get(key) ?? []), sample].slice(-this.size);
    this.#windows.set(key, window);
  }

  /** The status of `key` over its window. */
  status(key: string): LagStatus {
    return lagStatus(this.#windows.get(key) ?? []);
  }
}
