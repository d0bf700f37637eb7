// pkg/text/ascii.ts: character-class tests for the short texts every plugin call checks (numbers, hex groups,
// names). Loops instead of regular expressions: JSC compiles the regex engine's first pattern of a process on first
// use (~0.2 ms), a real share of a plugin's few milliseconds, and these checks run on every ADD and DEL.

/** Returns whether s is between min and max ASCII digits long and nothing else. */
export function isDigits(s: string, min = 1, max = Infinity): boolean {
  if (s.length < min || s.length > max) return false;
  for (let i = 0; i < s.length; i++) if (!isDigitCode(s.charCodeAt(i))) return false;
  return true;
}

/** Returns whether s is between min and max ASCII hex digits long (either case) and nothing else. */
export function isHexDigits(s: string, min = 1, max = Infinity): boolean {
  if (s.length < min || s.length > max) return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (isDigitCode(c)) continue;
    const lower = c | 0x20; // A-F onto a-f (only A-F and a-f land in a-f)
    if (lower < 0x61 || lower > 0x66) return false;
  }
  return true;
}

export function isDigitCode(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** [0-9A-Za-z] */
export function isAlnumCode(c: number): boolean {
  return isDigitCode(c) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a);
}

/** [0-9A-Za-z_.-]: the characters of upstream's names (container IDs, networks) and of our iptables chains. */
export function isNameCode(c: number): boolean {
  return isAlnumCode(c) || c === 0x5f || c === 0x2e || c === 0x2d;
}

/** Returns s in double quotes, with a backslash before each character of `escaped` (iptables' quoting). */
export function quoted(s: string, escaped: string): string {
  let out = '"';
  for (let i = 0; i < s.length; i++) out += escaped.includes(s[i]!) ? "\\" + s[i] : s[i];
  return out + '"';
}

/** Returns whether s is `0x` followed by at least one hex digit. */
export function isHexLiteral(s: string): boolean {
  return s.startsWith("0x") && isHexDigits(s.slice(2));
}

/** Returns whether s is an unsigned number as iptables writes marks: decimal digits or a 0x literal. */
export function isUintLiteral(s: string): boolean {
  return isHexLiteral(s) || isDigits(s);
}

/** Returns whether s has no whitespace (the JavaScript \s set). */
export function hasNoSpace(s: string): boolean {
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if ((c >= 0x09 && c <= 0x0d) || c === 0x20 || c === 0xa0 || c === 0x1680 || (c >= 0x2000 && c <= 0x200a)) return false;
    if (c === 0x2028 || c === 0x2029 || c === 0x202f || c === 0x205f || c === 0x3000 || c === 0xfeff) return false;
  }
  return true;
}

/**
 * Splits iptables' `addr[:port]` (IPv4) or `[addr][:port]` (IPv6) text into its parts, or undefined when it has
 * neither shape. The address is only checked for its characters; the port, when present, is digits.
 */
export function splitHostPort(family: 4 | 6, s: string): { addr: string; port?: string } | undefined {
  let addr: string;
  let rest: string;
  if (family === 4) {
    const colon = s.indexOf(":");
    addr = colon < 0 ? s : s.slice(0, colon);
    rest = colon < 0 ? "" : s.slice(colon);
    for (let i = 0; i < addr.length; i++) if (!isDigitCode(addr.charCodeAt(i)) && addr[i] !== ".") return undefined;
  } else {
    const close = s.indexOf("]");
    if (s[0] !== "[" || close < 0) return undefined;
    addr = s.slice(1, close);
    rest = s.slice(close + 1);
    for (let i = 0; i < addr.length; i++) if (!isHexDigits(addr[i]!) && addr[i] !== ":" && addr[i] !== ".") return undefined;
  }
  if (addr === "") return undefined;
  if (rest === "") return { addr };
  return rest[0] === ":" && isDigits(rest.slice(1)) ? { addr, port: rest.slice(1) } : undefined;
}
