// pkg/netfilter/conntrack.ts: deletes conntrack entries over ctnetlink (NETLINK_NETFILTER), the way
// `conntrack -D -f <family> -p udp --dport N` does and upstream's netlink.ConntrackDeleteFilters does: dump the
// family's table, pick the entries whose original tuple matches, and send one IPCTNL_MSG_CT_DELETE per entry with
// its tuples. The kernel cannot flush by port itself (a flush with CTA_FILTER is refused). No `conntrack` binary.
// A dump walks the kernel's hash table of every netns (~10 ms with 262144 buckets) however little this netns holds,
// so a delete first looks at nf_conntrack_count and /proc/net/nf_conntrack and dumps only when they show a match.
import { formatIP, ipFromBytes, type IP } from "../ip/cidr.ts";
import { AF_INET, AF_INET6, AF_UNSPEC, NLA_F_NESTED, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from "../ip/nl/consts.ts";
import { NetlinkParseError, parseAttrs } from "../ip/nl/reader.ts";
import { FfiNetlinkTransport, isNotFound, NetlinkSocket } from "../ip/nl/socket.ts";
import { NlWriter } from "../ip/nl/writer.ts";
import { readSysctl } from "../ip/sysctl.ts";
import { fileId } from "../sys/file-id.ts";
import { readFileSync } from "../sys/fs.ts";
import { isDigitCode } from "../text/ascii.ts";
import { NETLINK_NETFILTER, NFNETLINK_V0 } from "./nfnetlink.ts";
import { filtered } from "../sys/lists.ts";

const NFNL_SUBSYS_CTNETLINK = 1;
const IPCTNL_MSG_CT_GET = 1;
const IPCTNL_MSG_CT_DELETE = 2;
const NFGENMSG_LEN = 4;

// enum ctattr_type, <linux/netfilter/nfnetlink_conntrack.h>
const CTA_TUPLE_ORIG = 1;
const CTA_TUPLE_REPLY = 2;
const CTA_STATUS = 3;
const CTA_TIMEOUT = 7;
const CTA_MARK = 8;
const CTA_ZONE = 18;
// enum ctattr_tuple / ctattr_ip / ctattr_l4proto
const CTA_TUPLE_IP = 1;
const CTA_TUPLE_PROTO = 2;
const CTA_IP_V4_SRC = 1;
const CTA_IP_V4_DST = 2;
const CTA_IP_V6_SRC = 3;
const CTA_IP_V6_DST = 4;
const CTA_PROTO_NUM = 1;
const CTA_PROTO_SRC_PORT = 2;
const CTA_PROTO_DST_PORT = 3;

/** IANA protocol numbers of the transports portmap maps. */
export const IPPROTO_TCP = 6;
export const IPPROTO_UDP = 17;
export const IPPROTO_SCTP = 132;

/** The original direction of a connection (what the first packet looked like). */
export interface CtTuple {
  src: IP;
  dst: IP;
  proto: number;
  /** Ports for TCP, UDP and SCTP; undefined for protocols without them. */
  srcPort?: number;
  dstPort?: number;
}

/** One conntrack entry of a dump: its family, original tuple, and the raw attributes a delete sends back. */
export interface CtEntry {
  family: 4 | 6;
  orig: CtTuple;
  /** Attribute type (flags stripped) → value bytes, first of each type. */
  attrs: Map<number, Uint8Array>;
}

const afOf = (family: 4 | 6) => (family === 4 ? AF_INET : AF_INET6);

// struct nfgenmsg, <linux/netfilter/nfnetlink.h>: u8 family, u8 version, be16 res_id.
function nfgenmsg(family: number): Uint8Array {
  return Uint8Array.of(family, NFNETLINK_V0, 0, 0);
}

/**
 * Returns the request to dump one family's conntrack table (as `conntrack -L -f ipv4|ipv6` sends it), or every
 * family's with "all" (AF_UNSPEC).
 */
export function encodeCtDump(seq: number, family: 4 | 6 | "all"): Uint8Array {
  const w = new NlWriter((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.struct(nfgenmsg(family === "all" ? AF_UNSPEC : afOf(family)));
  return w.finish();
}

/**
 * Returns the request that deletes one dumped entry, with the attributes conntrack-tools sends in its order: both
 * tuples, status, timeout and mark (the kernel finds the entry by the original tuple), and the zone when not 0.
 */
export function encodeCtDelete(seq: number, entry: CtEntry): Uint8Array {
  const w = new NlWriter((NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.struct(nfgenmsg(afOf(entry.family)));
  for (const type of [CTA_TUPLE_ORIG, CTA_TUPLE_REPLY]) {
    const v = entry.attrs.get(type);
    if (!v) continue;
    const nest = w.beginNest(NLA_F_NESTED | type);
    w.struct(v);
    w.endNest(nest);
  }
  for (const type of [CTA_STATUS, CTA_TIMEOUT, CTA_MARK, CTA_ZONE]) {
    const v = entry.attrs.get(type);
    if (v) w.bytes(type, v);
  }
  return w.finish();
}

/** Returns one entry of a conntrack dump (the payload after nlmsghdr); throws NetlinkParseError when malformed. */
export function parseCtEntry(payload: Uint8Array): CtEntry {
  if (payload.length < NFGENMSG_LEN) throw new NetlinkParseError(`nfgenmsg: ${payload.length} bytes, want ${NFGENMSG_LEN}`);
  const af = payload[0]!;
  const family = af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
  if (family === undefined) throw new NetlinkParseError(`conntrack entry of address family ${af}`);
  const attrs = parseAttrs(payload, NFGENMSG_LEN);
  const origBytes = attrs.get(CTA_TUPLE_ORIG);
  if (!origBytes) throw new NetlinkParseError("CTA_TUPLE_ORIG: missing");
  return { family, orig: parseTuple(origBytes, family), attrs };
}

function parseTuple(bytes: Uint8Array, family: 4 | 6): CtTuple {
  const t = parseAttrs(bytes);
  const ip = parseAttrs(need(t.get(CTA_TUPLE_IP), "CTA_TUPLE_IP"));
  const [srcType, dstType, len] = family === 4 ? [CTA_IP_V4_SRC, CTA_IP_V4_DST, 4] : [CTA_IP_V6_SRC, CTA_IP_V6_DST, 16];
  const addr = (v: Uint8Array | undefined, name: string) => {
    const b = need(v, name);
    if (b.length !== len) throw new NetlinkParseError(`${name}: ${b.length} bytes, want ${len}`);
    return ipFromBytes(b);
  };
  const proto = parseAttrs(need(t.get(CTA_TUPLE_PROTO), "CTA_TUPLE_PROTO"));
  const num = need(proto.get(CTA_PROTO_NUM), "CTA_PROTO_NUM");
  if (num.length !== 1) throw new NetlinkParseError(`CTA_PROTO_NUM: ${num.length} bytes, want 1`);
  const tuple: CtTuple = { src: addr(ip.get(srcType), "CTA_IP_SRC"), dst: addr(ip.get(dstType), "CTA_IP_DST"), proto: num[0]! };
  const sport = proto.get(CTA_PROTO_SRC_PORT);
  const dport = proto.get(CTA_PROTO_DST_PORT);
  if (sport) tuple.srcPort = be16(sport, "CTA_PROTO_SRC_PORT");
  if (dport) tuple.dstPort = be16(dport, "CTA_PROTO_DST_PORT");
  return tuple;
}

function need(v: Uint8Array | undefined, name: string): Uint8Array {
  if (!v) throw new NetlinkParseError(`${name}: missing`);
  return v;
}

function be16(v: Uint8Array, name: string): number {
  if (v.length !== 2) throw new NetlinkParseError(`${name}: ${v.length} bytes, want 2`);
  return (v[0]! << 8) | v[1]!;
}

/** Returns a tuple as conntrack -L prints it (`udp src=… dst=… sport=… dport=…`), for messages. */
export function formatTuple(t: CtTuple): string {
  const name = { [IPPROTO_TCP]: "tcp", [IPPROTO_UDP]: "udp", [IPPROTO_SCTP]: "sctp" }[t.proto] ?? `proto ${t.proto}`;
  const ports = t.srcPort !== undefined ? ` sport=${t.srcPort} dport=${t.dstPort}` : "";
  return `${name} src=${formatIP(t.src)} dst=${formatIP(t.dst)}${ports}`;
}

/** What a socket's first delete learned about its netns's table. */
interface TableHint {
  /** nf_conntrack_count was 0 when the socket was opened. */
  empty: boolean;
  /** The netns the socket was opened in (fileId of the thread's ns/net), when known. */
  netnsId?: string;
  /** `family/proto/dport` of every original tuple /proc/net/nf_conntrack listed, once read. */
  present?: Set<string>;
}
const hints = new WeakMap<NetlinkSocket, TableHint>();
const THREAD_NETNS = "/proc/thread-self/ns/net";
const PROC_CONNTRACK = "/proc/thread-self/net/nf_conntrack";

/**
 * Opens a ctnetlink socket in the calling thread's current netns; throws SyscallError. A ctnetlink dump walks the
 * kernel's whole hash table, shared by every netns (~10 ms per dump with 262144 buckets), even when this netns has
 * no entry; so the socket also notes whether the netns had any entry then, and which netns it is, for the
 * deletes below to skip dumps that cannot find anything.
 */
export function openConntrackSocket(): NetlinkSocket {
  const sock = new NetlinkSocket(new FfiNetlinkTransport(NETLINK_NETFILTER));
  let empty = false;
  try {
    // Per netns, read in the netns the socket was opened in (the calling thread's); missing without conntrack.
    empty = readSysctl("net/netfilter/nf_conntrack_count") === "0";
  } catch {
    // Unknown: deletes dump as usual.
  }
  hints.set(sock, { empty, netnsId: fileId(THREAD_NETNS) });
  return sock;
}

/**
 * Returns whether the socket's netns may hold an entry of the family and protocol to one of the ports. Read from
 * /proc/net/nf_conntrack, which walks the table without ctnetlink's per-bucket locking (~1 ms), once per socket and
 * only from the socket's own netns; true whenever that cannot be done.
 */
function mayHold(sock: NetlinkSocket, family: 4 | 6, proto: number, ports: Set<number>): boolean {
  const hint = hints.get(sock);
  if (!hint) return true;
  if (hint.empty) return false;
  if (!hint.present) {
    if (hint.netnsId === undefined || fileId(THREAD_NETNS) !== hint.netnsId) return true;
    const text = readProcFile(PROC_CONNTRACK);
    if (text === undefined) return true;
    hint.present = parseProcConntrack(text);
  }
  for (const port of ports) if (hint.present.has(`${family}/${proto}/${port}`)) return true;
  return false;
}

/**
 * Returns `family/proto/dport` of the original tuple of every /proc/net/nf_conntrack line that has ports
 * (`ipv4 2 udp 17 29 src=… dst=… sport=… dport=53 … src=… dport=…`: the first dport is the original direction's).
 */
export function parseProcConntrack(text: string): Set<string> {
  const out = new Set<string>();
  for (const line of text.split("\n")) {
    const f = filtered(line.split(" "), (w) => w !== ""); // fields are separated by runs of spaces
    const family = f[0] === "ipv4" ? 4 : f[0] === "ipv6" ? 6 : undefined;
    const port = dport(line);
    if (family === undefined || f[3] === undefined || port === undefined) continue;
    out.add(`${family}/${f[3]}/${port}`);
  }
  return out;
}

/** Returns the digits after the line's first ` dport=`, or undefined. */
function dport(line: string): string | undefined {
  const at = line.indexOf(" dport=");
  if (at < 0) return undefined;
  let end = at + 7;
  while (end < line.length && isDigitCode(line.charCodeAt(end))) end++;
  return end > at + 7 ? line.slice(at + 7, end) : undefined;
}

function readProcFile(path: string): string | undefined {
  try {
    return readFileSync(path, "utf8");
  } catch {
    return undefined;
  }
}

/** Returns every entry of one family's conntrack table in the socket's netns; throws NetlinkError. */
export function listConntrack(sock: NetlinkSocket, family: 4 | 6): CtEntry[] {
  return sock.dump(encodeCtDump(sock.nextSeq(), family), "IPCTNL_MSG_CT_GET").map(parseCtEntry);
}

/**
 * Deletes the entries of one family whose original tuple has protocol `proto` and a destination port in `ports`
 * (upstream DeleteConntrackEntriesForDstPort, for several ports in one dump). An entry that is gone by the time it
 * is deleted counts as deleted. What a socket's deletes look at is the table as it was when the socket was opened
 * (no entry at all) or first deleted from (/proc/net/nf_conntrack): entries made after that are not looked for.
 * Returns how many were deleted; throws NetlinkError when the dump fails and an AggregateError naming the entries
 * whose delete failed.
 */
export function deleteConntrackByDstPort(sock: NetlinkSocket, family: 4 | 6, proto: number, ports: number[]): number {
  if (ports.length === 0) return 0;
  const wanted = new Set(ports);
  // Nothing to find (callers open the socket after changing the rules, so entries made since follow the new rules
  // and are not stale): no dump of the whole table.
  if (!mayHold(sock, family, proto, wanted)) return 0;
  const errors: Error[] = [];
  let deleted = 0;
  for (const e of entriesFor(sock, family)) {
    if (e.family !== family || e.orig.proto !== proto || e.orig.dstPort === undefined || !wanted.has(e.orig.dstPort)) continue;
    try {
      sock.request(encodeCtDelete(sock.nextSeq(), e), "IPCTNL_MSG_CT_DELETE");
      deleted++;
    } catch (err) {
      if (isNotFound(err)) deleted++;
      else errors.push(new Error(`failed to delete conntrack entry ${formatTuple(e.orig)}: ${(err as Error).message}`, { cause: err }));
    }
  }
  if (errors.length > 0) throw new AggregateError(errors, errors.map((x) => x.message).join("; "));
  return deleted;
}

// Entries of the other family from a dump of every family, kept for the next delete on the same socket.
const pendingEntries = new WeakMap<NetlinkSocket, Map<4 | 6, CtEntry[]>>();

/**
 * Returns one family's entries for a delete. A dump walks the kernel's whole hash table whatever family it asks
 * for, so the first delete on a socket dumps every family at once and keeps the other family's entries for the
 * next delete on that socket (portmap's DEL flushes IPv4 then IPv6 right after removing its rules): one walk, not two.
 */
function entriesFor(sock: NetlinkSocket, family: 4 | 6): CtEntry[] {
  const pending = pendingEntries.get(sock);
  const kept = pending?.get(family);
  if (kept) {
    pending!.delete(family);
    return kept;
  }
  const byFamily = new Map<4 | 6, CtEntry[]>([[4, []], [6, []]]);
  for (const e of sock.dump(encodeCtDump(sock.nextSeq(), "all"), "IPCTNL_MSG_CT_GET").map(parseCtEntry)) byFamily.get(e.family)!.push(e);
  const mine = byFamily.get(family)!;
  byFamily.delete(family);
  pendingEntries.set(sock, byFamily);
  return mine;
}
