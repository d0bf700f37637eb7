// pkg/netfilter/iptables-nft-exprs.ts: the nf_tables expressions iptables-nft (1.8, Debian 12's 1.8.9) stores for an
// iptables rule, for the rule shapes bridge/ptp ipMasq and portmap write. With them a plugin can tell from a dump of
// one chain whether a rule is there (instead of running iptables-save) and add a new chain's rules in one
// transaction (instead of running iptables-restore). The layout is iptables-nft's, learnt from what it stores
// (pkg/netfilter/nft-iptables-rules.test.ts compares every shape with what iptables-restore writes, byte for
// byte): the address and protocol part first (protocol, source, destination), then the matches in command-line
// order, a counter, and the target. A shape not listed here yields undefined, and the caller uses the tools.
import { ipBytes, parseCIDR, parseIP } from "../ip/cidr.ts";
import { sameBytes, setU16be, setU16le, setU32be, setU32le } from "../sys/bytes.ts";
import { concatBytes } from "../sys/fs.ts";
import { splitRestoreArgs, type IpFamily } from "./iptables.ts";
import { NFT_JUMP, NFTA_DATA_VERDICT, NFTA_VERDICT_CHAIN, NFTA_VERDICT_CODE } from "./nfnetlink.ts";
import { isDigits, isNameCode, isUintLiteral, splitHostPort } from "../text/ascii.ts";

/** One expression: its name and its NFTA_EXPR_DATA attributes, in the order the kernel dumps them. */
export interface NftExpr {
  name: string;
  data: [number, Uint8Array][];
}

const NFT_REG_VERDICT = 0;
const NFT_REG_1 = 1;
const NFT_PAYLOAD_NETWORK = 1;
const NFT_PAYLOAD_TRANSPORT = 2;
const NFT_CMP_EQ = 0;
const NFT_CMP_NEQ = 1;
const NFT_META_MARK = 3;
const NFT_META_L4PROTO = 16;
const NFT_BITWISE_BOOL = 0;
const NF_ACCEPT = 1;
const NFTA_DATA_VALUE = 1;
const PROTOCOLS: Record<string, number> = { tcp: 6, udp: 17 };
// xt_addrtype's XT_ADDRTYPE_LOCAL (1 << RTN_LOCAL); multiport's XT_MULTIPORT_DESTINATION; nf_nat's range flags.
const ADDRTYPE_LOCAL = 1 << 2;
const MULTIPORT_DESTINATION = 1;
const MULTIPORT_MAX = 15;
const NAT_RANGE_MAP_IPS = 1;
const NAT_RANGE_PROTO_SPECIFIED = 2;
const COMMENT_SIZE = 256;

const encoder = new TextEncoder();

/** Returns one netlink attribute (header, payload, padding to 4 bytes): the bytes of a nested value. */
export function nlAttr(type: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array((4 + payload.length + 3) & ~3);
  setU16le(out, 0, 4 + payload.length);
  setU16le(out, 2, type);
  out.set(payload, 4);
  return out;
}

function be32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  setU32be(b, 0, n);
  return b;
}

function le32(n: number): Uint8Array {
  const b = new Uint8Array(4);
  setU32le(b, 0, n);
  return b;
}

export const strz = (s: string) => concatBytes([encoder.encode(s), new Uint8Array(1)]);
const value = (b: Uint8Array) => nlAttr(NFTA_DATA_VALUE, b);

function payload(base: number, offset: number, len: number): NftExpr {
  return { name: "payload", data: [[1, be32(NFT_REG_1)], [2, be32(base)], [3, be32(offset)], [4, be32(len)]] };
}

function cmp(op: number, data: Uint8Array): NftExpr {
  return { name: "cmp", data: [[1, be32(NFT_REG_1)], [2, be32(op)], [3, value(data)]] };
}

function bitwise(mask: Uint8Array): NftExpr {
  const xor = new Uint8Array(mask.length);
  return {
    name: "bitwise",
    data: [[1, be32(NFT_REG_1)], [2, be32(NFT_REG_1)], [3, be32(mask.length)], [6, be32(NFT_BITWISE_BOOL)], [4, value(mask)], [5, value(xor)]],
  };
}

function meta(key: number): NftExpr {
  return { name: "meta", data: [[2, be32(key)], [1, be32(NFT_REG_1)]] };
}

function xt(kind: "match" | "target", name: string, rev: number, info: Uint8Array): NftExpr {
  return { name: kind, data: [[1, strz(name)], [2, be32(rev)], [3, info]] };
}

function verdict(code: number, chain?: string): NftExpr {
  const inner = [nlAttr(NFTA_VERDICT_CODE, be32(code))];
  if (chain !== undefined) inner.push(nlAttr(NFTA_VERDICT_CHAIN, strz(chain)));
  return { name: "immediate", data: [[1, be32(NFT_REG_VERDICT)], [2, nlAttr(NFTA_DATA_VERDICT, concatBytes(inner))]] };
}

/** A counter; its values are not compared (COUNTER_BYTES, COUNTER_PACKETS: zero when written). */
export const COUNTER: NftExpr = { name: "counter", data: [[1, new Uint8Array(8)], [2, new Uint8Array(8)]] };

/** Source or destination address match: the prefix's whole bytes compared, or the address masked when the prefix ends inside a byte. */
function addressMatch(family: IpFamily, dst: boolean, cidr: string, invert: boolean): NftExpr[] | undefined {
  const net = parseCIDR(cidr.includes("/") ? cidr : `${cidr}/${family === 4 ? 32 : 128}`);
  if (!net || net.ip.family !== family || (family === 6) !== cidr.includes(":")) return undefined;
  if (net.prefix === 0) return invert ? undefined : []; // iptables drops a match-everything address
  const size = family === 4 ? 4 : 16;
  const offset = family === 4 ? (dst ? 16 : 12) : dst ? 24 : 8;
  const mask = new Uint8Array(size);
  for (let i = 0; i < size; i++) mask[i] = 0xff & (0xff << Math.max(0, Math.min(8, 8 - (net.prefix - 8 * i))));
  const addr = ipBytes(net.ip);
  for (let i = 0; i < size; i++) addr[i] = addr[i]! & mask[i]!;
  const op = invert ? NFT_CMP_NEQ : NFT_CMP_EQ;
  if (net.prefix % 8 === 0) return [payload(NFT_PAYLOAD_NETWORK, offset, net.prefix / 8), cmp(op, addr.subarray(0, net.prefix / 8))];
  return [payload(NFT_PAYLOAD_NETWORK, offset, size), bitwise(mask), cmp(op, addr)];
}

function portBytes(port: number): Uint8Array {
  const b = new Uint8Array(2);
  setU16be(b, 0, port);
  return b;
}

function parsePort(s: string | undefined): number | undefined {
  if (s === undefined || !isDigits(s, 1, 5)) return undefined;
  const n = Number(s);
  return n >= 1 && n <= 65535 ? n : undefined;
}

/** `V/M` as iptables reads a mark (both hexadecimal or decimal, 32 bits). */
function parseMark(s: string | undefined): [number, number] | undefined {
  const parts = (s ?? "").split("/");
  if (parts.length !== 2 || !isUintLiteral(parts[0]!) || !isUintLiteral(parts[1]!)) return undefined;
  const v = Number(parts[0]);
  const mask = Number(parts[1]);
  return v <= 0xffffffff && mask <= 0xffffffff ? [v, mask] : undefined;
}

function commentInfo(text: string): Uint8Array | undefined {
  const b = encoder.encode(text);
  if (b.length >= COMMENT_SIZE) return undefined;
  const info = new Uint8Array(COMMENT_SIZE);
  info.set(b);
  return info;
}

function multiportInfo(list: string | undefined): Uint8Array | undefined {
  const ports = (list ?? "").split(",").map(parsePort);
  if (ports.length === 0 || ports.length > MULTIPORT_MAX || ports.includes(undefined)) return undefined;
  const info = new Uint8Array(2 + 2 * MULTIPORT_MAX + MULTIPORT_MAX + 1); // flags, count, ports, pflags, invert: 48
  const v = new DataView(info.buffer);
  info[0] = MULTIPORT_DESTINATION;
  info[1] = ports.length;
  for (let i = 0; i < ports.length; i++) v.setUint16(2 + 2 * i, ports[i]!, true);
  return info;
}

/** DNAT's nf_nat_range2 (flags, min and max address, min and max port, base port; padded to 48) for `addr[:port]`. */
function dnatInfo(family: IpFamily, to: string | undefined): Uint8Array | undefined {
  const m = splitHostPort(family, to ?? "");
  if (!m) return undefined;
  const ip = parseIP(m.addr);
  if (!ip || ip.family !== family) return undefined;
  const port = m.port === undefined ? undefined : parsePort(m.port);
  if (m.port !== undefined && port === undefined) return undefined;
  const info = new Uint8Array(48);
  const v = new DataView(info.buffer);
  v.setUint32(0, NAT_RANGE_MAP_IPS | (port === undefined ? 0 : NAT_RANGE_PROTO_SPECIFIED), true);
  info.set(ipBytes(ip), 4);
  info.set(ipBytes(ip), 20);
  if (port !== undefined) {
    v.setUint16(36, port, false);
    v.setUint16(38, port, false);
  }
  return info;
}

// MASQUERADE rev 0: IPv4's nf_nat_ipv4_multi_range_compat (rangesize 1, one empty range; 24 with padding), IPv6's
// nf_nat_range (40, empty).
function masqueradeInfo(family: IpFamily): Uint8Array {
  if (family === 6) return new Uint8Array(40);
  const info = new Uint8Array(24);
  info[0] = 1;
  return info;
}

/**
 * Returns the expressions iptables-nft stores for a rule given as iptables-restore arguments after `-A <chain>`
 * (e.g. `-d 10.1.0.0/16 -m comment --comment x -j ACCEPT`), or undefined for anything outside the shapes we write.
 */
export function iptablesRuleExprs(family: IpFamily, args: string[]): NftExpr[] | undefined {
  let proto: number | undefined;
  let src: NftExpr[] = [];
  let dst: NftExpr[] = [];
  const matches: NftExpr[] = [];
  let target: NftExpr | undefined;
  let module: string | undefined; // the last `-m`, whose options follow
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const invert = a === "!";
    const opt = invert ? args[++i] : a;
    const arg = () => args[++i];
    if (invert && opt !== "-s" && opt !== "-d") return undefined;
    switch (opt) {
      case "-s":
      case "-d": {
        const m = addressMatch(family, opt === "-d", arg() ?? "", invert);
        if (!m) return undefined;
        if (opt === "-s") src = m;
        else dst = m;
        break;
      }
      case "-p":
        proto = PROTOCOLS[arg() ?? ""];
        if (proto === undefined) return undefined;
        break;
      case "-m":
        module = arg();
        if (module === "comment" || module === "multiport" || module === "addrtype" || module === "mark") break;
        return undefined;
      case "--comment": {
        const info = module === "comment" ? commentInfo(arg() ?? "") : undefined;
        if (!info) return undefined;
        matches.push(xt("match", "comment", 0, info));
        break;
      }
      case "--destination-ports":
      case "--dports": {
        const info = module === "multiport" && proto !== undefined ? multiportInfo(arg()) : undefined;
        if (!info) return undefined;
        matches.push(xt("match", "multiport", 1, info));
        break;
      }
      case "--dst-type": {
        if (module !== "addrtype" || arg() !== "LOCAL") return undefined;
        const info = new Uint8Array(8);
        new DataView(info.buffer).setUint16(2, ADDRTYPE_LOCAL, true);
        matches.push(xt("match", "addrtype", 1, info));
        break;
      }
      case "--mark": {
        const mark = module === "mark" ? parseMark(arg()) : undefined;
        if (!mark) return undefined;
        matches.push(meta(NFT_META_MARK), bitwise(le32(mark[1])), cmp(NFT_CMP_EQ, le32(mark[0])));
        break;
      }
      case "--dport": {
        // `-p tcp --dport N` (the implicit tcp or udp match): iptables-nft compares the port natively.
        const port = proto !== undefined && module === undefined ? parsePort(arg()) : undefined;
        if (port === undefined) return undefined;
        matches.push(payload(NFT_PAYLOAD_TRANSPORT, 2, 2), cmp(NFT_CMP_EQ, portBytes(port)));
        break;
      }
      case "-j": {
        if (target) return undefined;
        const t = arg();
        if (t === undefined) return undefined;
        if (t === "ACCEPT") target = verdict(NF_ACCEPT);
        else if (t === "MASQUERADE") target = xt("target", "MASQUERADE", 0, masqueradeInfo(family));
        else if (t === "DNAT") {
          if (args[++i] !== "--to-destination") return undefined;
          const info = dnatInfo(family, arg());
          if (!info) return undefined;
          target = xt("target", "DNAT", 2, info);
        } else if (t === "MARK") {
          if (args[++i] !== "--set-xmark") return undefined;
          const mark = parseMark(arg());
          if (!mark) return undefined;
          target = xt("target", "MARK", 2, concatBytes([le32(mark[0]), le32(mark[1])]));
        } else if (isOurChainName(t)) target = verdict(NFT_JUMP, t); // our chains; other names may be targets
        else return undefined;
        break;
      }
      default:
        return undefined;
    }
  }
  if (!target) return undefined;
  const protoMatch = proto === undefined ? [] : [meta(NFT_META_L4PROTO), cmp(NFT_CMP_EQ, Uint8Array.of(proto))];
  return [...protoMatch, ...src, ...dst, ...matches, COUNTER, target];
}

/** Returns the protocol number of a rule's `-p`, for NFTA_RULE_COMPAT (the kernel checks matches like multiport against it). */
export function ruleProtocol(args: string[]): number | undefined {
  const i = args.indexOf("-p");
  return i < 0 ? undefined : PROTOCOLS[args[i + 1] ?? ""];
}

/** Returns whether two expression lists are the same rule: equal in every attribute but a counter's values. */
export function sameExprs(a: NftExpr[], b: NftExpr[]): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i]!;
    const y = b[i]!;
    if (x.name !== y.name) return false;
    if (x.name === "counter") continue;
    if (x.data.length !== y.data.length) return false;
    for (let j = 0; j < x.data.length; j++) {
      const [tx, bx] = x.data[j]!;
      const [ty, by] = y.data[j]!;
      if (tx !== ty || !sameBytes(bx, by)) return false;
    }
  }
  return true;
}

/** Returns the rule of an iptables-restore `-A <chain> …` line as [chain, args], or undefined for other lines. */
export function appendLine(line: string): [string, string[]] | undefined {
  const args = splitRestoreArgs(line);
  if (args[0] !== "-A" || args.length < 3) return undefined;
  return [args[1]!, args.slice(2)];
}

/** `CNI-` and 1 to 24 of [A-Za-z0-9_.-]: the chains our plugins make (any other name may be an xtables target). */
function isOurChainName(t: string): boolean {
  if (!t.startsWith("CNI-") || t.length < 5 || t.length > 28) return false;
  for (let i = 4; i < t.length; i++) if (!isNameCode(t.charCodeAt(i))) return false;
  return true;
}
