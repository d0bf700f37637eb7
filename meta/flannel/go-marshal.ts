// meta/flannel/go-marshal.ts: compact JSON text exactly as Go's json.Marshal writes a map[string]interface{}, so the
// scratch file we save is byte for byte the one upstream's flannel saves for the same input: map keys sorted by
// their UTF-8 bytes, struct fields in declaration order, numbers as float64, and Go's HTML-safe string escapes.

/** A Go struct value: its fields are written in the order given, not sorted as a map's keys are. */
export class GoStruct {
  constructor(readonly fields: Record<string, unknown>) {}
}

const GO_ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

/** Returns v as json.Marshal prints it (compact, no trailing newline); throws for a number JSON cannot hold. */
export function goMarshal(v: unknown): string {
  if (v === null || v === undefined) return "null";
  if (typeof v === "boolean") return v ? "true" : "false";
  if (typeof v === "number") return goFloat(v);
  if (typeof v === "string") return goString(v);
  if (Array.isArray(v)) return `[${v.map(goMarshal).join(",")}]`;
  if (v instanceof GoStruct) return goObject(Object.keys(v.fields), v.fields);
  const o = v as Record<string, unknown>;
  return goObject(Object.keys(o).sort(compareUtf8), o);
}

function goObject(keys: string[], o: Record<string, unknown>): string {
  return `{${keys.map((k) => `${goString(k)}:${goMarshal(o[k])}`).join(",")}}`;
}

/**
 * A float64 as encoding/json prints it: shortest round-trip digits, exponent form below 1e-6 and from 1e21 on,
 * which is also how JavaScript prints a number. Only -0 differs (Go keeps the sign).
 */
function goFloat(n: number): string {
  if (!Number.isFinite(n)) throw new Error(`json: unsupported value: ${n > 0 ? "+Inf" : n < 0 ? "-Inf" : "NaN"}`); // upstream text
  return Object.is(n, -0) ? "-0" : String(n);
}

/**
 * A string as Go writes it: JSON.stringify's escapes (", \, \b \f \n \r \t, other controls as \u00xx) are Go's
 * since 1.22; Go also escapes <, >, & and U+2028/9, and a lone surrogate was already U+FFFD when Go decoded it.
 */
function goString(s: string): string {
  return JSON.stringify(s.toWellFormed()).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

/** Orders strings by their UTF-8 bytes, as Go sorts map keys (UTF-16 order differs above U+E000). */
function compareUtf8(a: string, b: string): number {
  if (/^[\x00-\x7f]*$/.test(a + b)) return a < b ? -1 : a > b ? 1 : 0;
  const x = utf8.encode(a);
  const y = utf8.encode(b);
  for (let i = 0; i < Math.min(x.length, y.length); i++) if (x[i] !== y[i]) return x[i]! - y[i]!;
  return x.length - y.length;
}

const utf8 = new TextEncoder();
