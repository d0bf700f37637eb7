// pkg/ip/address.ts: IP addresses on links over rtnetlink: list, add and delete them.
// Encoders are pure functions, byte-tested against what `ip addr add|del` sends.
import { ipBytes, type IP } from "./cidr.ts";
import {
  AF_INET, AF_INET6, AF_UNSPEC, IFA_ADDRESS, IFA_BROADCAST, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, IFADDRMSG_LEN,
  NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, RTM_DELADDR, RTM_GETADDR, RTM_NEWADDR,
} from "./nl/consts.ts";
import { NetlinkParseError, parseAttrs, readIfAddrMsg, readStrz, readU32 } from "./nl/reader.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";

/** An address on a link, as the kernel reports it (RTM_NEWADDR). */
export interface Addr {
  family: 4 | 6;
  ip: IP;
  prefix: number;
  /** ifindex of the link that holds it. */
  index: number;
  /** RT_SCOPE_*: 0 universe, 253 link, 254 host. */
  scope: number;
  /** IFA_F_*: IFA_FLAGS (32 bits) when present, else ifa_flags. */
  flags: number;
  label?: string;
  /** The other end of a point-to-point address (IFA_ADDRESS when it differs from IFA_LOCAL). */
  peer?: IP;
  broadcast?: IP;
}

/** Returns the address family (AF_INET, AF_INET6) rtnetlink headers carry for an IP version. */
export function afOf(family: 4 | 6): number {
  return family === 4 ? AF_INET : AF_INET6;
}

/** Returns the IP version of an AF_INET/AF_INET6 header family, or undefined for any other (AF_BRIDGE, RTNL_FAMILY_IPMR, ...). */
export function familyOf(af: number): 4 | 6 | undefined {
  return af === AF_INET ? 4 : af === AF_INET6 ? 6 : undefined;
}

/**
 * Returns the IP in an address attribute of a known family (IFA_*, RTA_*, FRA_*, NDA_DST); throws NetlinkParseError
 * naming the attribute when it is missing or not 4 (IPv4) or 16 (IPv6) bytes. Unlike cidr.ts's ipFromBytes, a
 * v4-mapped IPv6 address stays IPv6: the header's family says what it is.
 */
export function readIP(v: Uint8Array | undefined, name: string, family: 4 | 6): IP {
  const want = family === 4 ? 4 : 16;
  if (v === undefined) throw new NetlinkParseError(`${name}: missing`);
  if (v.length !== want) throw new NetlinkParseError(`${name}: ${v.length} bytes, want ${want}`);
  let value = 0n;
  for (const b of v) value = (value << 8n) | BigInt(b);
  return { family, value };
}

/**
 * Returns the Addr in an RTM_NEWADDR payload, or undefined for a family other than IPv4/IPv6; throws
 * NetlinkParseError on malformed attributes.
 */
export function parseAddr(payload: Uint8Array): Addr | undefined {
  const hdr = readIfAddrMsg(payload);
  const family = familyOf(hdr.family);
  if (family === undefined) return undefined;
  const a = parseAttrs(payload, IFADDRMSG_LEN);
  // IFA_LOCAL is the address itself; IFA_ADDRESS is the peer on point-to-point links and equals IFA_LOCAL
  // elsewhere. IPv6 usually sends IFA_ADDRESS only (iproute2 and vishvananda read them the same way).
  const local = a.has(IFA_LOCAL) ? readIP(a.get(IFA_LOCAL), "IFA_LOCAL", family) : undefined;
  const address = a.has(IFA_ADDRESS) ? readIP(a.get(IFA_ADDRESS), "IFA_ADDRESS", family) : undefined;
  const ip = local ?? address;
  if (!ip) throw new NetlinkParseError("IFA_LOCAL and IFA_ADDRESS: missing");
  const addr: Addr = {
    family,
    ip,
    prefix: hdr.prefixlen,
    index: hdr.index,
    scope: hdr.scope,
    flags: a.has(IFA_FLAGS) ? readU32(a.get(IFA_FLAGS), "IFA_FLAGS") : hdr.flags,
  };
  if (a.has(IFA_LABEL)) addr.label = readStrz(a.get(IFA_LABEL), "IFA_LABEL");
  if (local && address && address.value !== local.value) addr.peer = address;
  if (a.has(IFA_BROADCAST)) addr.broadcast = readIP(a.get(IFA_BROADCAST), "IFA_BROADCAST", family);
  return addr;
}

/** Returns the RTM_GETADDR dump request `ip [-4|-6] addr show` sends. */
export function encodeListAddrs(seq: number, family?: 4 | 6): Uint8Array {
  const w = new NlWriter(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.ifaddrmsg({ family: family ? afOf(family) : AF_UNSPEC, prefixlen: 0, index: 0 });
  return w.finish();
}

/** Returns the addresses in the socket's netns, optionally only one link's and one family's. */
export function listAddrs(sock: NetlinkSocket, filter: { index?: number; family?: 4 | 6 } = {}): Addr[] {
  const out: Addr[] = [];
  // Without NETLINK_GET_STRICT_CHK the kernel ignores ifa_index in a dump request, so filter here.
  for (const payload of sock.dump(encodeListAddrs(sock.nextSeq(), filter.family))) {
    const addr = parseAddr(payload);
    if (!addr) continue;
    if (filter.index !== undefined && addr.index !== filter.index) continue;
    if (filter.family !== undefined && addr.family !== filter.family) continue;
    out.push(addr);
  }
  return out;
}

/** An address to add to or delete from a link. */
export interface AddrSpec {
  index: number;
  ip: IP;
  prefix: number;
  scope?: number;
  /** IFA_F_* (IFA_F_NODAD, IFA_F_NOPREFIXROUTE, ...). */
  flags?: number;
  /** IPv4 broadcast (`ip addr add ... brd`); callers wanting Go netlink's behaviour pass the last address. */
  broadcast?: IP;
}

function writeAddr(w: NlWriter, spec: AddrSpec, withExtras: boolean): void {
  const flags = withExtras ? (spec.flags ?? 0) : 0;
  // ifa_flags has 8 bits; iproute2 moves larger flag sets to IFA_FLAGS (u32) and leaves ifa_flags 0.
  w.ifaddrmsg({
    family: afOf(spec.ip.family),
    prefixlen: spec.prefix,
    flags: flags <= 0xff ? flags : 0,
    scope: spec.scope ?? 0,
    index: spec.index,
  });
  const bytes = ipBytes(spec.ip);
  // IFA_LOCAL is the address; IFA_ADDRESS the same again, as both iproute2 and vishvananda send it.
  // iproute2's order: IFA_LOCAL, IFA_FLAGS, IFA_ADDRESS, IFA_BROADCAST.
  w.bytes(IFA_LOCAL, bytes);
  if (flags > 0xff) w.u32(IFA_FLAGS, flags);
  w.bytes(IFA_ADDRESS, bytes);
  if (withExtras && spec.broadcast) w.bytes(IFA_BROADCAST, ipBytes(spec.broadcast));
}

/** Returns RTM_NEWADDR (CREATE|EXCL: the same address twice fails with EEXIST), as `ip addr add`. */
export function encodeNewAddr(seq: number, spec: AddrSpec): Uint8Array {
  const w = new NlWriter(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  writeAddr(w, spec, true);
  return w.finish();
}

/** Returns RTM_DELADDR, as `ip addr del` (the kernel matches local address and prefix; flags are not sent). */
export function encodeDelAddr(seq: number, spec: AddrSpec): Uint8Array {
  const w = new NlWriter(RTM_DELADDR, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeAddr(w, spec, false);
  return w.finish();
}

/** Adds an address to a link; throws NetlinkError (EEXIST when it is already there). */
export function addAddr(sock: NetlinkSocket, spec: AddrSpec): void {
  sock.request(encodeNewAddr(sock.nextSeq(), spec));
}

/** Deletes an address from a link; throws NetlinkError (EADDRNOTAVAIL when it is not there). */
export function delAddr(sock: NetlinkSocket, spec: AddrSpec): void {
  sock.request(encodeDelAddr(sock.nextSeq(), spec));
}
