// pkg/sys/bytes.ts: 16- and 32-bit integers read from and written into byte arrays, little or big endian, and bytes
// as hex text. The hot netlink paths use these instead of a DataView: making one (with the `.buffer` it needs) costs
// ~0.5 µs in a short-lived process, and a pod's calls made ~1,300 of them (measured with Bun 1.4.5).

/** Returns the unsigned 16-bit little-endian integer at b[at]. */
export function getU16le(b: Uint8Array, at: number): number {
  return b[at]! | (b[at + 1]! << 8);
}

/** Returns the unsigned 32-bit little-endian integer at b[at]. */
export function getU32le(b: Uint8Array, at: number): number {
  return (b[at]! | (b[at + 1]! << 8) | (b[at + 2]! << 16)) + b[at + 3]! * 0x1000000;
}

/** Writes n as an unsigned 16-bit little-endian integer at b[at]. */
export function setU16le(b: Uint8Array, at: number, n: number): void {
  b[at] = n & 0xff;
  b[at + 1] = (n >>> 8) & 0xff;
}

/** Writes n as an unsigned 32-bit little-endian integer at b[at]. */
export function setU32le(b: Uint8Array, at: number, n: number): void {
  b[at] = n & 0xff;
  b[at + 1] = (n >>> 8) & 0xff;
  b[at + 2] = (n >>> 16) & 0xff;
  b[at + 3] = (n >>> 24) & 0xff;
}

/** Writes n as an unsigned 16-bit big-endian (network order) integer at b[at]. */
export function setU16be(b: Uint8Array, at: number, n: number): void {
  b[at] = (n >>> 8) & 0xff;
  b[at + 1] = n & 0xff;
}

/** Writes n as an unsigned 32-bit big-endian (network order) integer at b[at]. */
export function setU32be(b: Uint8Array, at: number, n: number): void {
  b[at] = (n >>> 24) & 0xff;
  b[at + 1] = (n >>> 16) & 0xff;
  b[at + 2] = (n >>> 8) & 0xff;
  b[at + 3] = n & 0xff;
}

/** Returns the bytes as lowercase hex, two digits each, with sep between them ("02:42:ac" for a MAC with ":"). */
export function hexBytes(b: Uint8Array, sep = ""): string {
  // A plain loop: Array.from and padStart are builtins JSC compiles on first use (~0.2 ms in a plugin's life).
  let s = "";
  for (let i = 0; i < b.length; i++) s += (i > 0 ? sep : "") + HEX_DIGITS[b[i]! >> 4] + HEX_DIGITS[b[i]! & 15];
  return s;
}
const HEX_DIGITS = "0123456789abcdef";

/** Returns whether a and b hold the same bytes. */
export function sameBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}
