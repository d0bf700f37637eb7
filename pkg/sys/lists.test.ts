import { expect, test } from "bun:test";
import { Prng } from "../../test/support/prng.ts";
import { allOf, anyOf, filtered, firstOf, totalLength } from "./lists.ts";

// Each helper against the Array.prototype method it stands in for, over seeded random arrays (empty ones included).
test("filtered, anyOf, allOf and firstOf agree with filter, some, every and find", () => {
  const prng = new Prng(7);
  for (let round = 0; round < 2000; round++) {
    const xs = Array.from({ length: prng.int(12) }, () => prng.int(10));
    const k = prng.int(10);
    const pred = (x: number) => x < k;
    expect(filtered(xs, pred)).toEqual(xs.filter(pred));
    expect(anyOf(xs, pred)).toBe(xs.some(pred));
    expect(allOf(xs, pred)).toBe(xs.every(pred));
    expect(firstOf(xs, (x) => x === k)).toBe(xs.find((x) => x === k));
  }
});

test("anyOf, allOf and firstOf read typed arrays too", () => {
  const b = Uint8Array.of(1, 2, 3);
  expect(anyOf(b, (x) => x === 3)).toBe(true);
  expect(allOf(b, (x) => x > 0)).toBe(true);
  expect(firstOf(b, (x) => x > 1)).toBe(2);
});

test("totalLength sums lengths", () => {
  expect(totalLength([])).toBe(0);
  expect(totalLength([new Uint8Array(3), new Uint8Array(0), new Uint8Array(5)])).toBe(8);
});
