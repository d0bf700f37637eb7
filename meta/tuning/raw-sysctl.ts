// meta/tuning/raw-sysctl.ts: the top-level `sysctl` maps read from the raw stdin text, as upstream's
// validateSysctlConflictingKeys decodes them (SPEC-DIGEST §3.4). JSON.parse keeps only the last of two equal keys, so
// a duplicate can only be seen in the text. Go also merges every top-level key that folds to "sysctl" into one map
// (encoding/json reuses a non-nil map), and the duplicate check spans all of them; this scanner does the same.
import { isDigitCode } from "../../pkg/text/ascii.ts";

/** The sysctl entries of a config, in the order written, and the first decode error upstream would report. */
export interface RawSysctl {
  /** Every entry of every top-level `sysctl` object (a later null resets the map, as Go sets it to nil). */
  entries: Map<string, string>;
  /** `duplicated sysctl keys are not allowed`, or a type error such as a number value; undefined when clean. */
  error?: Error;
}

const DUPLICATE = "duplicated sysctl keys are not allowed"; // upstream text

/**
 * Returns the sysctl entries of the JSON object in text, with the error upstream's first decoding pass gives: a
 * duplicate key aborts at once, a type error is kept and reported only if no duplicate follows (encoding/json's
 * saveError). Text that is not a JSON object yields no entries and no error (the skel has already refused it).
 */
export function scanSysctl(text: string): RawSysctl {
  const s = new Scanner(text);
  const out: RawSysctl = { entries: new Map() };
  const seen = new Set<string>(); // upstream's sysctlDuplicatesMap: global, never reset by a null
  let typeError: Error | undefined;
  const saveError = (e: Error) => (typeError ??= e);
  try {
    s.ws();
    if (s.peek() !== "{") return out;
    s.eachMember((key) => {
      if (key.toLowerCase() !== "sysctl") return s.skipValue();
      const c = s.peek();
      if (c === "n") {
        s.skipValue();
        out.entries = new Map();
        return;
      }
      if (c !== "{") {
        saveError(unmarshalError(s.kindAt(), "map[main.sysctlKey]string"));
        return s.skipValue();
      }
      s.eachMember((k) => {
        // Go decodes the value first (a type error is saved), then the key (a duplicate returns at once).
        const v = s.peek();
        let value = "";
        if (v === '"') value = s.string();
        else if (v === "n") s.skipValue();
        else {
          saveError(unmarshalError(s.kindAt(), "string"));
          s.skipValue();
        }
        if (seen.has(k)) throw new DuplicateKey();
        seen.add(k);
        out.entries.set(k, value);
      });
    });
  } catch (e) {
    if (e instanceof DuplicateKey) return { entries: out.entries, error: new Error(DUPLICATE) };
    if (e instanceof SyntaxError) return { entries: new Map() };
    throw e;
  }
  if (typeError) out.error = typeError;
  return out;
}

class DuplicateKey extends Error {}

function unmarshalError(kind: string, goType: string): Error {
  return new Error(`json: cannot unmarshal ${kind} into Go struct field sysctlCheck.sysctl of type ${goType}`); // upstream text
}

/** A cursor over JSON text that skips values without building them; throws SyntaxError on malformed input. */
class Scanner {
  private i = 0;

  constructor(private readonly text: string) {}

  ws(): void {
    while (this.i < this.text.length && " \t\n\r".includes(this.text[this.i]!)) this.i++;
  }

  peek(): string {
    this.ws();
    return this.text[this.i] ?? "";
  }

  /** Returns the Go name of the JSON kind at the cursor, as UnmarshalTypeError prints it. */
  kindAt(): string {
    const c = this.peek();
    if (c === '"') return "string";
    if (c === "[") return "array";
    if (c === "{") return "object";
    if (c === "t" || c === "f") return "bool";
    return "number";
  }

  private expect(c: string): void {
    if (this.peek() !== c) throw new SyntaxError(`expected ${c} at ${this.i}`);
    this.i++;
  }

  /** Returns the decoded string at the cursor. */
  string(): string {
    this.ws();
    const start = this.i;
    if (this.text[this.i] !== '"') throw new SyntaxError(`expected string at ${this.i}`);
    this.i++;
    while (this.i < this.text.length && this.text[this.i] !== '"') this.i += this.text[this.i] === "\\" ? 2 : 1;
    this.i++;
    return JSON.parse(this.text.slice(start, this.i)) as string;
  }

  /** Calls fn with each key of the object at the cursor; fn must consume the member's value. */
  eachMember(fn: (key: string) => void): void {
    this.expect("{");
    if (this.peek() === "}") {
      this.i++;
      return;
    }
    for (;;) {
      const key = this.string();
      this.expect(":");
      fn(key);
      const c = this.peek();
      this.i++;
      if (c === "}") return;
      if (c !== ",") throw new SyntaxError(`expected , or } at ${this.i - 1}`);
    }
  }

  skipValue(): void {
    const c = this.peek();
    if (c === '"') {
      this.string();
    } else if (c === "{") {
      this.eachMember(() => this.skipValue());
    } else if (c === "[") {
      this.i++;
      if (this.peek() === "]") {
        this.i++;
        return;
      }
      for (;;) {
        this.skipValue();
        const d = this.peek();
        this.i++;
        if (d === "]") return;
        if (d !== ",") throw new SyntaxError(`expected , or ] at ${this.i - 1}`);
      }
    } else {
      const n = literalLength(this.text, this.i);
      if (n === 0) throw new SyntaxError(`unexpected ${JSON.stringify(c)} at ${this.i}`);
      this.i += n;
    }
  }
}

/** Returns the length of the `true`, `false`, `null` or number literal (`-?[0-9][0-9.eE+-]*`) at i, or 0. */
function literalLength(text: string, i: number): number {
  for (const word of ["true", "false", "null"]) if (text.startsWith(word, i)) return word.length;
  let end = text[i] === "-" ? i + 1 : i;
  if (!isDigitCode(text.charCodeAt(end))) return 0;
  while (end < text.length && "0123456789.eE+-".includes(text[end]!)) end++;
  return end - i;
}
