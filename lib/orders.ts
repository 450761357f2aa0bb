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

/** Why a message could not be read as an order. */
export type OrderProblem = "empty value" | "invalid JSON" | "missing order_id";

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
): { order: OrderEvent; problem?: undefined } | { order?: undefined; problem: OrderProblem } {
  if (value === null || value === undefined || value === "") return { problem: "empty value" };
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
  return { order: parsed as OrderEvent };
}
