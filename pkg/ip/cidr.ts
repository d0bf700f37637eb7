// pkg/ip/cidr.ts: IP and CIDR text, parsed and printed as Go's net package does, plus the arithmetic IPAM needs.
// Pure code: no FFI, so pkg/cni and the unit tests can use it anywhere.
import { isDigits, isHexDigits } from "../text/ascii.ts";

/** An IP address; IPv4-mapped IPv6 text parses as IPv4, as Go's net.IP.To4 treats it. */
export interface IP {
  readonly family: 4 | 6;
  readonly value: bigint;
}

/** An address with a prefix length; the host bits are kept (`10.1.0.5/16`), as CNI's types.ParseCIDR does. */
export interface IPNet {
  readonly ip: IP;
  readonly prefix: number;
}

/** Returns the address width in bits for a family. */
export function bitsOf(family: 4 | 6): 32 | 128 {
  return family === 4 ? 32 : 128;
}

function parseV4(s: string): bigint | undefined {
  const parts = s.split(".");
  if (parts.length !== 4) return undefined;
  let v = 0n;
  for (const p of parts) {
    // Go 1.17+ rejects leading zeros ("010"): they were read as octal by some libcs.
    if (!isDigits(p, 1, 3) || (p.length > 1 && p[0] === "0")) return undefined;
    const n = Number(p);
    if (n > 255) return undefined;
    v = (v << 8n) | BigInt(n);
  }
  return v;
}

function parseV6(s: string): bigint | undefined {
  let head = s;
  let tail = "";
  const dbl = s.indexOf("::");
  if (dbl >= 0) {
    if (s.indexOf("::", dbl + 1) >= 0) return undefined;
    head = s.slice(0, dbl);
    tail = s.slice(dbl + 2);
  }
  const groups = (text: string): bigint[] | undefined => {
    if (text === "") return [];
    const out: bigint[] = [];
    const parts = text.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (i === parts.length - 1 && p.includes(".")) {
        const v4 = parseV4(p);
        if (v4 === undefined) return undefined;
        out.push(v4 >> 16n, v4 & 0xffffn);
      } else if (isHexDigits(p, 1, 4)) out.push(BigInt(parseInt(p, 16)));
      else return undefined;
    }
    return out;
  };
  const h = groups(head);
  const t = groups(tail);
  if (!h || !t) return undefined;
  // An embedded IPv4 may only end the address.
  if (dbl >= 0 && head.includes(".")) return undefined;
  const n = h.length + t.length;
  if (dbl >= 0 ? n > 7 : n !== 8) return undefined;
  const all = [...h, ...new Array<bigint>(8 - n).fill(0n), ...t];
  return all.reduce((acc, g) => (acc << 16n) | g, 0n);
}

/** Returns the IP for text Go's net.ParseIP accepts, or undefined. */
export function parseIP(s: string): IP | undefined {
  if (s.includes(":")) {
    const v = parseV6(s);
    if (v === undefined) return undefined;
    if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
    return { family: 6, value: v };
  }
  const v = parseV4(s);
  return v === undefined ? undefined : { family: 4, value: v };
}

/** Returns the IPNet for `ip/prefix` text, keeping host bits, or undefined when Go's net.ParseCIDR would fail. */
export function parseCIDR(s: string): IPNet | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!isDigits(len, 1, 3)) return undefined;
  const prefix = Number(len);
  const isV6Text = addr.includes(":");
  const ip = parseIP(addr);
  if (!ip) return undefined;
  if (prefix > (isV6Text ? 128 : 32)) return undefined;
  if (isV6Text && ip.family === 4) {
    // "::ffff:a.b.c.d/n": Go keeps a 128-bit mask; as IPv4 only the last 32 bits of it matter.
    return prefix < 96 ? undefined : { ip, prefix: prefix - 96 };
  }
  return { ip, prefix };
}

/** Returns the IP as Go prints it: dotted IPv4, or RFC 5952 IPv6. */
export function formatIP(ip: IP): string {
  if (ip.family === 4) {
    const v = ip.value;
    return [24n, 16n, 8n, 0n].map((s) => String((v >> s) & 0xffn)).join(".");
  }
  const groups: number[] = [];
  for (let s = 112n; s >= 0n; s -= 16n) groups.push(Number((ip.value >> s) & 0xffffn));
  // The longest run of two or more zero groups becomes "::", the leftmost on a tie.
  let bestStart = -1;
  let bestLen = 0;
  for (let i = 0; i < 8; ) {
    if (groups[i] !== 0) { i++; continue; }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen && j - i >= 2) { bestStart = i; bestLen = j - i; }
    i = j;
  }
  const hex = (g: number[]) => g.map((x) => x.toString(16)).join(":");
  if (bestStart < 0) return hex(groups);
  return `${hex(groups.slice(0, bestStart))}::${hex(groups.slice(bestStart + bestLen))}`;
}

/** Returns `ip/prefix` text with the host bits kept. */
export function formatCIDR(n: IPNet): string {
  return `${formatIP(n.ip)}/${n.prefix}`;
}

/** Returns the mask of a prefix length as a bigint of the family's width. */
export function maskOf(family: 4 | 6, prefix: number): bigint {
  const bits = BigInt(bitsOf(family));
  const all = (1n << bits) - 1n;
  return (all << (bits - BigInt(prefix))) & all;
}

/** Returns the network address of n (host bits cleared). */
export function networkOf(n: IPNet): IP {
  return { family: n.ip.family, value: n.ip.value & maskOf(n.ip.family, n.prefix) };
}

/** Returns the last address of n's network (the IPv4 broadcast). */
export function lastOf(n: IPNet): IP {
  const all = (1n << BigInt(bitsOf(n.ip.family))) - 1n;
  return { family: n.ip.family, value: networkOf(n).value | (all & ~maskOf(n.ip.family, n.prefix)) };
}

/** Returns whether ip lies in n's network. */
export function contains(n: IPNet, ip: IP): boolean {
  return ip.family === n.ip.family && (ip.value & maskOf(n.ip.family, n.prefix)) === networkOf(n).value;
}

/** Returns whether two addresses are equal. */
export function ipEqual(a: IP, b: IP): boolean {
  return a.family === b.family && a.value === b.value;
}

/** Returns a negative, zero or positive number ordering a and b (IPv4 before IPv6). */
export function compareIP(a: IP, b: IP): number {
  if (a.family !== b.family) return a.family - b.family;
  return a.value < b.value ? -1 : a.value > b.value ? 1 : 0;
}

/** Returns ip + delta, wrapping within the family's width. */
export function addToIP(ip: IP, delta: bigint): IP {
  const mod = 1n << BigInt(bitsOf(ip.family));
  return { family: ip.family, value: (((ip.value + delta) % mod) + mod) % mod };
}

/** Returns the 4- or 16-byte network-order form of ip (netlink attributes, sockaddrs). */
export function ipBytes(ip: IP): Uint8Array {
  const len = ip.family === 4 ? 4 : 16;
  const out = new Uint8Array(len);
  let v = ip.value;
  for (let i = len - 1; i >= 0; i--) { out[i] = Number(v & 0xffn); v >>= 8n; }
  return out;
}

/** Returns the IP for 4 or 16 network-order bytes (a 16-byte IPv4-mapped address becomes IPv4). */
export function ipFromBytes(bytes: Uint8Array): IP {
  let v = 0n;
  for (const b of bytes) v = (v << 8n) | BigInt(b);
  if (bytes.length === 4) return { family: 4, value: v };
  if (v >> 32n === 0xffffn) return { family: 4, value: v & 0xffffffffn };
  return { family: 6, value: v };
}

/** Returns canonical text for IP text Go would accept (so "::FFFF:10.0.0.1" prints "10.0.0.1"), or the input when it is not an IP. */
export function canonicalIP(s: string): string {
  const ip = parseIP(s);
  return ip ? formatIP(ip) : s;
}

/** Returns Go's net.IP.IsGlobalUnicast: not unspecified, loopback, link-local, multicast or the IPv4 broadcast address. */
export function isGlobalUnicast(ip: IP): boolean {
  const v = ip.value;
  if (ip.family === 4) {
    const top = Number(v >> 24n);
    return v !== 0n && v !== 0xffffffffn && top !== 127 && top < 224 && (v >> 16n) !== 0xa9fen;
  }
  return v !== 0n && v !== 1n && (v >> 118n) !== 0x3fan && (v >> 120n) !== 0xffn;
}
