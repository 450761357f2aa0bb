/**
 * Order events, the seed's example data: `{"order_id":"1000","amount":0}`,
 * key = the order's index.
 *
 * @module
 */

/** One order event as it travels in the topic (JSON value). */
export interface OrderEvent {
  order_id: string;
  amount: number;
}

/**
 * The seed's i-th order: id `1000 + i`, amount `i * 10`, keyed by `i`.
 *
 * @example
 * ```ts
 * orderEvent(2); // { order_id: "1002", amount: 20 }
 * ```
 */
export function orderEvent(index: number): OrderEvent {
  return { order_id: String(1000 + index), amount: index * 10 };
}

/**
 * The highest order index whose order is exact: its amount (index × 10)
 * is still a safe integer (`Number.MAX_SAFE_INTEGER`).
 */
export const MAX_ORDER_INDEX = Math.floor(Number.MAX_SAFE_INTEGER / 10);

/** Why a message could not be read as an order. */
export type OrderProblem =
  | "empty value"
  | "invalid JSON"
  | "missing order_id"
  | "amount not a number"
  | "too large";

/** Largest order value a member accepts, in bytes (`--max-bytes`). */
export const MAX_ORDER_BYTES = 16 * 1024;

/**
 * Parses a message value as an {@linkcode OrderEvent}; returns the problem
 * instead of throwing so a member can report the message and go on.
 *
 * @example
 * ```ts
 * parseOrder('{"order_id":"1000","amount":0}'); // { order: { order_id: "1000", amount: 0 } }
 * parseOrder("{oops"); // { problem: "invalid JSON" }
 * ```
 */
export function parseOrder(
  value: string | null | undefined,
  maxBytes: number = MAX_ORDER_BYTES,
): { order: OrderEvent; problem?: undefined } | { order?: undefined; problem: OrderProblem } {
  if (value === null || value === undefined || value === "") return { problem: "empty value" };
  if (new TextEncoder().encode(value).length > maxBytes) return { problem: "too large" };
  let parsed: unknown;
  try {
    parsed = JSON.parse(value);
  } catch {
    return { problem: "invalid JSON" };
  }
  if (
    typeof parsed !== "object" || parsed === null ||
    typeof (parsed as { order_id?: unknown }).order_id !== "string"
  ) {
    return { problem: "missing order_id" };
  }
  if (!Number.isFinite((parsed as { amount?: unknown }).amount)) {
    return { problem: "amount not a number" };
  }
  return { order: parsed as OrderEvent };
}

/**
 * One message of each kind a member must survive, for lessons and tests:
 * invalid JSON, an empty value, a value over {@linkcode MAX_ORDER_BYTES},
 * valid JSON without `order_id`, and an order whose `amount` is not a number.
 *
 * @example
 * ```ts
 * poisonMessages().map((p) => p.problem);
 * // ["invalid JSON", "empty value", "too large", "missing order_id", "amount not a number"]
 * ```
 */
export function poisonMessages(): { key: string; value: string; problem: OrderProblem }[] {
  return [
    { key: "poison-1", value: '{"order_id": "9001", "amount": ', problem: "invalid JSON" },
    { key: "poison-2", value: "", problem: "empty value" },
    {
      key: "poison-3",
      value: JSON.stringify({ order_id: "9003", note: "x".repeat(MAX_ORDER_BYTES) }),
      problem: "too large",
    },
    { key: "poison-4", value: '{"amount": 40}', problem: "missing order_id" },
    {
      key: "poison-5",
      value: '{"order_id": "9005", "amount": "50"}',
      problem: "amount not a number",
    },
  ];
}
