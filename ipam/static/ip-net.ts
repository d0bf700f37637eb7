// ipam/static/ip-net.ts: Go's net.IPNet as static holds an address: the IP and a mask of raw bytes. The config can
// set both directly (`"Address": {"IP": …, "Mask": …}`, the untagged field of upstream's Address struct), so a mask
// need not be a prefix, nor fit the IP; printing and Contains then behave as Go's do.
import { formatIP, ipBytes, parseIP, type IP } from "../../pkg/ip/cidr.ts";

/** A net.IPNet: either part may be missing (nil upstream). */
export interface GoIPNet {
  ip?: IP;
  mask?: Uint8Array;
}

/** Returns the mask of `ones` leading one bits in a `bits`-wide mask (net.CIDRMask). */
export function cidrMask(ones: number, bits: 32 | 128): Uint8Array {
  const out = new Uint8Array(bits / 8);
  for (let i = 0; i < out.length; i++) {
    const n = Math.max(0, Math.min(8, ones - i * 8));
    out[i] = (0xff00 >> n) & 0xff;
  }
  return out;
}

/**
 * Returns `ip/prefix` text parsed as Go's net.ParseCIDR does, host bits kept, or undefined. The prefix is decimal
 * digits (leading zeros allowed, as Go's dtoi allows them) up to the width of the address as written, so
 * "::ffff:10.0.0.1/120" is an IPv4 address with a 16-byte mask.
 */
export function parseGoCIDR(s: string): (GoIPNet & { ip: IP; mask: Uint8Array }) | undefined {
  const slash = s.indexOf("/");
  if (slash < 0) return undefined;
  const addr = s.slice(0, slash);
  const len = s.slice(slash + 1);
  if (!/^[0-9]+$/.test(len)) return undefined;
  const ip = parseIP(addr);
  if (!ip) return undefined;
  const bits = addr.includes(":") ? 128 : 32;
  const ones = Number(len);
  if (ones > bits) return undefined;
  return { ip, mask: cidrMask(ones, bits) };
}

/** Returns the IP and the mask of matching width, as Go's networkNumberAndMask does, or undefined when they do not fit. */
function numberAndMask(n: GoIPNet): { ip: IP; mask: Uint8Array } | undefined {
  if (!n.ip || !n.mask) return undefined;
  if (n.mask.length === 4) return n.ip.family === 4 ? { ip: n.ip, mask: n.mask } : undefined;
  if (n.mask.length === 16) return { ip: n.ip, mask: n.ip.family === 4 ? n.mask.subarray(12) : n.mask };
  return undefined;
}

/** Returns the prefix length of a contiguous mask, or -1 (Go's simpleMaskLength). */
function simpleMaskLength(mask: Uint8Array): number {
  let n = 0;
  for (let i = 0; i < mask.length; i++) {
    let v = mask[i]!;
    if (v === 0xff) { n += 8; continue; }
    while (v & 0x80) { n++; v = (v << 1) & 0xff; }
    if (v !== 0) return -1;
    for (i++; i < mask.length; i++) if (mask[i] !== 0) return -1;
    break;
  }
  return n;
}

/** Returns the text Go's IPNet.String prints: `ip/ones`, `ip/<hex mask>` for a non-prefix mask, or `<nil>`. */
export function formatGoIPNet(n: GoIPNet): string {
  const nm = numberAndMask(n);
  if (!nm) return "<nil>";
  const ones = simpleMaskLength(nm.mask);
  const suffix = ones >= 0 ? String(ones) : [...nm.mask].map((b) => b.toString(16).padStart(2, "0")).join("");
  return `${formatIP(nm.ip)}/${suffix}`;
}

/** Returns whether ip lies in n, as Go's IPNet.Contains decides (false when n's IP and mask do not fit). */
export function goContains(n: GoIPNet, ip: IP): boolean {
  const nm = numberAndMask(n);
  if (!nm || nm.ip.family !== ip.family) return false;
  const a = ipBytes(nm.ip);
  const b = ipBytes(ip);
  return a.every((x, i) => (x & nm.mask[i]!) === (b[i]! & nm.mask[i]!));
}
