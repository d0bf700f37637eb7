// test/support/golden.ts: loads the byte goldens in test/golden/<name>.hex (captured once from iproute2 with strace;
// each file's `#` header says how) and prints bytes the same way, so a test compares two hex strings.
import { readFileSync } from "node:fs";

const GOLDEN_DIR = new URL("../golden/", import.meta.url);

/** Returns the bytes of test/golden/<name>.hex as lowercase hex without spaces; `#` lines are comments. */
export function golden(name: string): string {
  const text = readFileSync(new URL(`${name}.hex`, GOLDEN_DIR), "utf8");
  return text
    .split("\n")
    .filter((line) => !line.startsWith("#"))
    .join("")
    .replace(/\s+/g, "")
    .toLowerCase();
}

/** Returns the bytes of a golden file. */
export function goldenBytes(name: string): Uint8Array {
  return unhex(golden(name));
}

/** Returns bytes as lowercase hex without spaces. */
export function hex(u8: Uint8Array): string {
  return Array.from(u8, (b) => b.toString(16).padStart(2, "0")).join("");
}

/** Returns the bytes of hex text (spaces allowed). */
export function unhex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, "");
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) throw new Error(`bad hex: ${JSON.stringify(s.slice(0, 40))}`);
  return Uint8Array.from(clean.match(/../g) ?? [], (b) => parseInt(b, 16));
}
