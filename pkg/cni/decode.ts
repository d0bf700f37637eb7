// pkg/cni/decode.ts: config decoding with Go encoding/json semantics (SPEC-DIGEST §0.1), so a conflist that the Go
// plugins accept decodes the same here and one they reject is rejected with an error naming the field:
// keys match exactly first, then case-insensitively; unknown keys are ignored; null keeps the default;
// a wrong JSON type is an error; a number literal into an integer must be an integer literal that fits.
import { isDigitCode, isDigits } from "../text/ascii.ts";

/** A number whose literal is not a plain integer, or is too big for a double: kept so integer fields can reject it. */
export class GoNumber {
  constructor(readonly source: string, readonly value: number) {}
}

/** Returns the parsed JSON, with non-integer or unsafe number literals wrapped in GoNumber. Throws SyntaxError. */
export function parseJSON(text: string): unknown {
  // A reviver makes JSON.parse call back into JavaScript for every value (~0.1 ms for a chained plugin's config);
  // a config whose numbers are all short integers has nothing for it to wrap.
  if (needsNoReviver(text)) return JSON.parse(text);
  return JSON.parse(text, (_key, value, ctx?: { source?: string }) => {
    if (typeof value !== "number" || ctx?.source === undefined) return value;
    if (isIntegerLiteral(ctx.source) && Number.isSafeInteger(value)) return value;
    return new GoNumber(ctx.source, value);
  });
}

/**
 * Returns whether JSON text can be parsed without parseJSON's reviver: every number literal is an integer of at most
 * 15 digits (so a safe integer, kept as a plain number), and nothing nests deeper than Go's limit (the reviver's
 * recursion cannot follow that deep, and conf.ts turns its RangeError into Go's error). Strings are skipped; outside
 * them a ".", an exponent after a digit, or a longer run of digits says no. Text that is not JSON may say yes:
 * JSON.parse then throws the same error either way.
 */
export function needsNoReviver(text: string): boolean {
  let digits = 0;
  let depth = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === QUOTE) {
      for (i++; i < text.length && text.charCodeAt(i) !== QUOTE; i++) if (text.charCodeAt(i) === BACKSLASH) i++;
      digits = 0;
      continue;
    }
    if (isDigitCode(c)) {
      if (++digits > 15) return false;
      continue;
    }
    if (c === DOT || (digits > 0 && (c === LOWER_E || c === UPPER_E))) return false;
    if ((c === OPEN_BRACKET || c === OPEN_BRACE) && ++depth > GO_MAX_DEPTH) return false;
    if (c === CLOSE_BRACKET || c === CLOSE_BRACE) depth--;
    digits = 0;
  }
  return true;
}

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const DOT = 0x2e;
const LOWER_E = 0x65;
const UPPER_E = 0x45;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACKET = 0x5d;
const OPEN_BRACE = 0x7b;
const CLOSE_BRACE = 0x7d;
// encoding/json's nesting limit.
const GO_MAX_DEPTH = 10000;

/** Returns whether a JSON number literal is `-?[0-9]+`. */
function isIntegerLiteral(s: string): boolean {
  return isDigits(s[0] === "-" ? s.slice(1) : s);
}

/** Returns v with every GoNumber replaced by its number (for fields decoded as interface{}). */
export function unwrapNumbers(v: unknown): unknown {
  if (v instanceof GoNumber) return v.value;
  if (Array.isArray(v)) return v.map(unwrapNumbers);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const [k, x] of Object.entries(v)) out[k] = unwrapNumbers(x);
    return out;
  }
  return v;
}

/** A decode failure; its message reads like Go's so users see the same words. */
export class DecodeError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DecodeError";
  }
}

/** Where a value sits: the innermost Go struct's name and the JSON path from the root, as Go names it. */
export interface DecodePath {
  struct: string;
  fields: string[];
}

export type Decoder<T> = (v: unknown, at: DecodePath) => T;

function jsonKind(v: unknown): string {
  if (v instanceof GoNumber) return `number ${v.source}`;
  if (typeof v === "number") return `number ${v}`;
  if (typeof v === "boolean") return "bool";
  if (typeof v === "string") return "string";
  if (Array.isArray(v)) return "array";
  return "object";
}

function kindOnly(v: unknown): string {
  return jsonKind(v).split(" ")[0]!;
}

/**
 * Returns encoding/json's UnmarshalTypeError for v found where `goType` was wanted at `at` (with the number's
 * literal when `withLiteral`, as Go reports an integer overflow or a fraction).
 */
export function typeError(v: unknown, goType: string, at: DecodePath, withLiteral = false): DecodeError {
  const what = withLiteral ? jsonKind(v) : kindOnly(v);
  if (at.fields.length === 0) return new DecodeError(`json: cannot unmarshal ${what} into Go value of type ${goType}`);
  return new DecodeError(`json: cannot unmarshal ${what} into Go struct field ${at.struct}.${at.fields.join(".")} of type ${goType}`);
}

/** Returns whether v is a JSON object (not null, an array or a number). */
export function isJsonObject(v: unknown): v is Record<string, unknown> {
  return v !== null && typeof v === "object" && !Array.isArray(v) && !(v instanceof GoNumber);
}

export const str: Decoder<string> = (v, at) => {
  if (typeof v !== "string") throw typeError(v, "string", at);
  return v;
};

export const bool: Decoder<boolean> = (v, at) => {
  if (typeof v !== "boolean") throw typeError(v, "bool", at);
  return v;
};

function integer(goType: string, min: number, max: number): Decoder<number> {
  return (v, at) => {
    if (v instanceof GoNumber) throw typeError(v, goType, at, true);
    if (typeof v !== "number") throw typeError(v, goType, at);
    if (v < min || v > max) throw typeError(v, goType, at, true);
    return v;
  };
}

export const int = integer("int", Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER);
export const uint = integer("uint", 0, Number.MAX_SAFE_INTEGER);
export const int32 = integer("int32", -0x80000000, 0x7fffffff);
export const uint32 = integer("uint32", 0, 0xffffffff);
export const uint16 = integer("uint16", 0, 0xffff);
export const uint8 = integer("uint8", 0, 0xff);

export const float: Decoder<number> = (v, at) => {
  if (v instanceof GoNumber) return v.value;
  if (typeof v !== "number") throw typeError(v, "float64", at);
  return v;
};

/** interface{}: anything, with numbers unwrapped. */
export const any: Decoder<unknown> = (v) => unwrapNumbers(v);

/** map[string]interface{}: a JSON object (or null, handled by the caller). */
export const anyObject: Decoder<Record<string, unknown>> = (v, at) => {
  if (!isJsonObject(v)) throw typeError(v, "map[string]interface {}", at);
  return unwrapNumbers(v) as Record<string, unknown>;
};

/** A Go slice of T; `goType` names it in errors ("[]string"). */
export function array<T>(item: Decoder<T>, goType: string): Decoder<T[]> {
  return (v, at) => {
    if (!Array.isArray(v)) throw typeError(v, goType, at);
    // Go decodes null elements of a slice of values as zero values; we keep them out of the way as undefined.
    return v.map((x) => (x === null ? (undefined as T) : item(x, at)));
  };
}

/** A Go map[string]T. */
export function map<T>(item: Decoder<T>, goType: string): Decoder<Record<string, T>> {
  return (v, at) => {
    if (!isJsonObject(v)) throw typeError(v, goType, at);
    const out: Record<string, T> = {};
    for (const k in v) {
      const x = (v as Record<string, unknown>)[k];
      if (x !== null) out[k] = item(x, at);
    }
    return out;
  };
}

type Fields = Record<string, Decoder<unknown>>;
export type Decoded<F extends Fields> = { [K in keyof F]?: F[K] extends Decoder<infer T> ? T : never };

/**
 * A Go struct named `name` with JSON fields `fields`. Keys of the input are walked in order; each goes to the field
 * with exactly its name, else to the first whose name matches it case-insensitively (encoding/json's foldName).
 * Unknown keys are ignored, null leaves the field unset, and a later key overwrites an earlier one.
 */
export function struct<F extends Fields>(name: string, fields: F): Decoder<Decoded<F>> {
  // Built on the first decode: decoders are module constants, and a chunk holds those of every plugin it may run
  // in-process (bridge's holds host-local's, dhcp's and static's), so building them all at load cost every call.
  let folded: Map<string, string> | undefined;
  return (v, at) => {
    if (!isJsonObject(v)) throw typeError(v, name, at);
    folded ??= foldedNames(fields);
    const out: Record<string, unknown> = {};
    // for-in, not Object.entries: no [key, value] array per key on every config a plugin reads (a JSON object has
    // no inherited enumerable keys, and the order is the same).
    for (const key in v) {
      const value = (v as Record<string, unknown>)[key];
      const field = key in fields && Object.hasOwn(fields, key) ? key : folded.get(key.toLowerCase());
      if (field === undefined || value === null) continue;
      out[field] = fields[field]!(value, { struct: name, fields: [...at.fields, field] });
    }
    return out as Decoded<F>;
  };
}

/** Returns each field name by its lower-case form; the first of two that fold alike wins, as in encoding/json. */
function foldedNames(fields: Fields): Map<string, string> {
  const folded = new Map<string, string>();
  for (const n of Object.keys(fields)) if (!folded.has(n.toLowerCase())) folded.set(n.toLowerCase(), n);
  return folded;
}

/**
 * A Go struct whose type prints as `goType` in a wrong-type error (a named type such as "allocator.Range", or an
 * anonymous `struct { … }`) while the errors of its fields are reported under `structName`.
 */
export function goStruct<F extends Fields>(structName: string, goType: string, fields: F): Decoder<Decoded<F>> {
  const inner = struct(structName, fields);
  return (v, at) => {
    if (!isJsonObject(v)) throw typeError(v, goType, at);
    return inner(v, at);
  };
}

/** Returns v decoded by d from the root (an error names the Go type `d` stands for). */
export function decodeRoot<T>(v: unknown, d: Decoder<T>, rootStruct: string): T {
  return d(v, { struct: rootStruct, fields: [] });
}
