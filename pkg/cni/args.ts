// pkg/cni/args.ts: CNI_ARGS ("K=V;K2=V2") decoded as upstream's types.LoadArgs does (SPEC-DIGEST §0.4).
import { parseCIDR, parseIP, type IP } from "../ip/cidr.ts";

/** Turns one value's text into a typed value, or throws with the reason (upstream's UnmarshalText error). */
export type ArgParser<T> = (value: string) => T;
type Parsers = Record<string, ArgParser<unknown>>;
export type ParsedArgs<P extends Parsers> = { [K in keyof P]?: ReturnType<P[K]> };

/** `1|0|true|false`, case-insensitive (types.UnmarshallableBool). */
export const argBool: ArgParser<boolean> = (s) => {
  const v = s.toLowerCase();
  if (v === "1" || v === "true") return true;
  if (v === "0" || v === "false") return false;
  throw new Error(`boolean unmarshal error: invalid input ${s}`); // upstream text
};

export const argString: ArgParser<string> = (s) => s;

/** An IP address, also accepted as `ip/prefix` (the prefix is dropped), as upstream's pkg/ip.IP parses it; empty is none. */
export const argIP: ArgParser<IP | undefined> = (s) => {
  if (s === "") return undefined;
  const ip = parseIP(s) ?? parseCIDR(s)?.ip;
  if (!ip) throw new Error(`invalid IP address ${s}`); // upstream text (pkg/ip.IP.UnmarshalText: no colon)
  return ip;
};

/** Returns CNI_ARGS decoded against the keys a plugin declares; throws on a bad pair, value or unknown key. */
export function parseCniArgs<P extends Parsers>(cniArgs: string, known: P): ParsedArgs<P> {
  const out: Record<string, unknown> = {};
  if (cniArgs === "") return out as ParsedArgs<P>;
  const unknown: string[] = [];
  let ignoreUnknown = false;
  for (const pair of cniArgs.split(";")) {
    const kv = pair.split("=");
    if (kv.length !== 2) throw new Error(`ARGS: invalid pair ${goQuote(pair)}`);
    const [key, value] = kv as [string, string];
    if (key === "IgnoreUnknown") {
      ignoreUnknown = parseArgValue(argBool, pair, value);
      continue;
    }
    const parser = Object.hasOwn(known, key) ? known[key] : undefined;
    if (!parser) { unknown.push(pair); continue; }
    out[key] = parseArgValue(parser, pair, value);
  }
  if (unknown.length > 0 && !ignoreUnknown) throw new Error(`ARGS: unknown args [${unknown.map(goQuote).join(" ")}]`);
  return out as ParsedArgs<P>;
}

function parseArgValue<T>(parser: ArgParser<T>, pair: string, value: string): T {
  try {
    return parser(value);
  } catch (e) {
    throw new Error(`ARGS: error parsing value of pair ${goQuote(pair)}: ${(e as Error).message}`);
  }
}

/** Returns s quoted as Go's %q does for printable text (escapes `"`, `\` and control characters). */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const c = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") out += "\\" + ch;
    else if (ch === "\n") out += "\\n";
    else if (ch === "\r") out += "\\r";
    else if (ch === "\t") out += "\\t";
    else if (c < 0x20 || c === 0x7f) out += "\\x" + c.toString(16).padStart(2, "0");
    else out += ch;
  }
  return out + '"';
}
