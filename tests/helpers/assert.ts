/** Small assertion helpers over node:assert/strict. */
import assert from "node:assert/strict";

/** Deep strict equality. */
export function assertEquals<T>(actual: unknown, expected: T, msg?: string): void {
  assert.deepStrictEqual(actual, expected, msg);
}

/** Truthiness. */
export function assertOk(v: unknown, msg?: string): asserts v {
  assert.ok(v, msg);
}

/** A substring match. */
export function assertIncludes(haystack: string, needle: string, msg?: string): void {
  assert.ok(
    haystack.includes(needle),
    msg ?? `expected ${JSON.stringify(haystack)} to include ${JSON.stringify(needle)}`,
  );
}

export { assert };
