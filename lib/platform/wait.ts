/**
 * Waiting, bounded: a sleep that an AbortSignal can cut short, and a poll
 * that gives up after a deadline. Nothing in the lab waits without a limit.
 *
 * @module
 */

/**
 * Resolves after `ms`, or early when `signal` aborts.
 *
 * @example
 * ```ts
 * await sleep(500);
 * ```
 */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener("abort", done);
      resolve();
    }
    signal?.addEventListener("abort", done, { once: true });
  });
}

/**
 * Polls `condition` every 100 ms until it holds or `timeoutMs` passes;
 * resolves to whether it held.
 *
 * @example
 * ```ts
 * const joined = await until(() => lines.length > 0, 10_000);
 * ```
 */
export async function until(condition: () => boolean, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) return false;
    await sleep(100);
  }
  return true;
}
