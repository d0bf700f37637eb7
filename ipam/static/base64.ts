// ipam/static/base64.ts: base64.StdEncoding.Decode as encoding/json applies it to a []byte field (net.IPMask), so a
// mask written as text decodes, and fails, exactly as upstream's does (error offsets included).

const PAD = 0x3d; // '='
const CR = 0x0d;
const LF = 0x0a;

/**
 * Returns the 6-bit value of a standard base64 alphabet character ("A-Za-z0-9+/"), or -1 for any other byte.
 * Computed, not a table: this module sits in bridge's chunk, and a table would be built on every bridge call.
 */
function sextet(c: number): number {
  if (c >= 0x41 && c <= 0x5a) return c - 0x41; // A-Z: 0-25
  if (c >= 0x61 && c <= 0x7a) return c - 0x61 + 26; // a-z: 26-51
  if (c >= 0x30 && c <= 0x39) return c - 0x30 + 52; // 0-9: 52-61
  if (c === 0x2b) return 62; // '+'
  if (c === 0x2f) return 63; // '/'
  return -1;
}

function corrupt(offset: number): Error {
  return new Error(`illegal base64 data at input byte ${offset}`); // upstream text (base64.CorruptInputError)
}

/** Returns the bytes of padded standard base64 text (CR and LF ignored); throws Go's CorruptInputError text. */
export function decodeStdBase64(text: string): Uint8Array {
  const src = new TextEncoder().encode(text); // Go counts offsets in bytes
  const out: number[] = [];
  let si = 0;
  while (si < src.length) {
    const q = decodeQuantum(src, si);
    out.push(...q.bytes);
    if (q.error) throw q.error;
    si = q.next;
  }
  return Uint8Array.from(out);
}

/** One 4-character quantum from si, as Go's Encoding.decodeQuantum reads it (non-strict, padded). */
function decodeQuantum(src: Uint8Array, start: number): { next: number; bytes: number[]; error?: Error } {
  const buf = [0, 0, 0, 0];
  let si = start;
  let dlen = 4;
  let error: Error | undefined;
  for (let j = 0; j < 4; j++) {
    if (si === src.length) {
      if (j === 0) return { next: si, bytes: [] };
      // With padding required, a quantum cut short by the end of input is an error at its first character.
      return { next: si, bytes: [], error: corrupt(si - j) };
    }
    const c = src[si++]!;
    const v = sextet(c);
    if (v >= 0) { buf[j] = v; continue; }
    if (c === LF || c === CR) { j--; continue; }
    if (c !== PAD) return { next: si, bytes: [], error: corrupt(si - 1) };
    // Padding: only after 2 or 3 characters, "==" after 2, then nothing but newlines.
    if (j < 2) return { next: si, bytes: [], error: corrupt(si - 1) };
    if (j === 2) {
      while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
      if (si === src.length) return { next: si, bytes: [], error: corrupt(src.length) };
      if (src[si] !== PAD) return { next: si, bytes: [], error: corrupt(si - 1) };
      si++;
    }
    while (si < src.length && (src[si] === LF || src[si] === CR)) si++;
    if (si < src.length) error = corrupt(si); // trailing garbage: the decoded bytes still count
    dlen = j;
    break;
  }
  const val = (buf[0]! << 18) | (buf[1]! << 12) | (buf[2]! << 6) | buf[3]!;
  const all = [(val >> 16) & 0xff, (val >> 8) & 0xff, val & 0xff];
  return { next: si, bytes: all.slice(0, dlen - 1), error };
}
