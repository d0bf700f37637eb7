// pkg/sys/bytes.ts: 16- and 32-bit integers read from and written into byte arrays, little or big endian. The hot
// netlink paths use these instead of a DataView: making one (with the `.buffer` it needs) costs ~0.5 µs in a
// short-lived process, and a pod's calls made ~1,300 of them (measured with Bun 1.4.5).

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
