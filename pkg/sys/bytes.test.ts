// The byte helpers against DataView, over seeded random values and offsets.
import { expect, test } from "bun:test";
import { Prng } from "../../test/support/prng.ts";
import { getU16le, getU32le, setU16be, setU16le, setU32be, setU32le } from "./bytes.ts";

test("16- and 32-bit reads and writes agree with DataView, both byte orders", () => {
  const prng = new Prng(3);
  const edges = [0, 1, 0xff, 0x100, 0x7fff, 0x8000, 0xffff, 0x7fffffff, 0x80000000, 0xffffffff, -1];
  for (let i = 0; i < 4000; i++) {
    const n = i < edges.length ? edges[i]! : prng.int(0x100000000);
    const at = prng.int(5);
    const b = new Uint8Array(12);
    const v = new DataView(b.buffer);
    for (const [set, check] of [
      [setU16le, () => v.getUint16(at, true) === (n & 0xffff)],
      [setU16be, () => v.getUint16(at, false) === (n & 0xffff)],
      [setU32le, () => v.getUint32(at, true) === n >>> 0],
      [setU32be, () => v.getUint32(at, false) === n >>> 0],
    ] as const) {
      b.fill(0);
      set(b, at, n);
      expect([n, at, check()]).toEqual([n, at, true]);
    }
    for (let j = 0; j < b.length; j++) b[j] = prng.int(256);
    expect([getU16le(b, at), getU32le(b, at)]).toEqual([v.getUint16(at, true), v.getUint32(at, true)]);
  }
});
