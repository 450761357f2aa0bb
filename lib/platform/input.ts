/**
 * Checks on values a person typed, in a flag or an environment variable
 * (`--count`, `KAFKA_PORT`): a bad one is a one-line {@linkcode UsageError}
 * naming where it came from.
 *
 * @module
 */
import { UsageError } from "./errors.ts";

/**
 * Reads a flag or environment variable as a whole number within `[min, max]`,
 * or throws a {@linkcode UsageError} naming it.
 *
 * @example
 * ```ts
 * intFlag("--count", "10", { min: 0 }); // 10
 * ```
 */
export function intFlag(
  name: string,
  raw: string | boolean | undefined,
  { min = 0, max = Number.MAX_SAFE_INTEGER }: { min?: number; max?: number } = {},
): number {
  const text = String(raw ?? "").trim();
  const value = /^-?\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isSafeInteger(value) || value < min || value > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `≥ ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`${name} must be a whole number ${range}, got '${text}'`);
  }
  return value;
}
