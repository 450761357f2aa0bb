/**
 * The assertions the tests use. Node's built-in `node:assert/strict` stands
 * where `@std/assert` would go; this is the only file that knows which, so
 * switching touches one file.
 *
 * @module
 */
import assert from "node:assert/strict";

export const assertEquals: <T>(
  actual: unknown,
  expected: T,
  message?: string,
) => asserts actual is T = assert.deepStrictEqual;
export const assertNotEquals = assert.notDeepStrictEqual;
export const assertRejects = assert.rejects;
export const assertThrows = assert.throws;
export const assertMatch = assert.match;

/** Asserts that `condition` is truthy. */
export function assertTrue(condition: unknown, message?: string): asserts condition {
  assert.ok(condition, message);
}
