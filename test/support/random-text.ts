// test/support/random-text.ts: many short strings of the characters that matter to a text check (digits, hex,
// separators, ASCII and Unicode spaces, control and non-ASCII characters), the same ones on every run.
import { Prng } from "./prng.ts";
const ALPHABET = ["0", "1", "9", "a", "f", "g", "z", "A", "F", "G", "x", "_", ".", ":", "-", "/", "[", "]", '"', "'", "\\", " ", "\t", "\u0085", "\u00a0", "\u2028", "\u3000", "\u0010", "é"];

/** Returns edge cases and `count` pseudo-random strings of 0-8 characters (a fixed seed: failures reproduce). */
export function randomTexts(count: number, extra: string[] = [], seed = 7): string[] {
  const prng = new Prng(seed);
  const out = ["", "0", "0x", "0x0", "00", "ffff", "FFFFF", "1.2.3.4", "[::1]:80", "1.2.3.4:", "[fd00::1]", "0x1f/0xff", ...extra];
  for (let i = 0; i < count; i++) {
    let s = "";
    const len = prng.int(9);
    for (let j = 0; j < len; j++) s += ALPHABET[prng.int(ALPHABET.length)];
    out.push(s);
  }
  return out;
}
