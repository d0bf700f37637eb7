// ipam/dhcp/packet.ts: DHCPv4 messages (RFC 2131/2132) as bytes, and the IPv4/UDP frame around them for a packet
// socket, as pure functions. The messages a lease sends are built the way upstream's DHCP library builds them
// (insomniacslk/dhcp nclient4: NewDiscovery, NewRequestFromOffer, NewRenewFromAck, NewReleaseFromACK), so a server
// sees the same options from ours as from the Go daemon: later values replace earlier ones per code, and options
// go out sorted by code.
import { sameBytes } from "../../pkg/sys/bytes.ts";

export const BOOTREQUEST = 1;
export const BOOTREPLY = 2;

// Message types (option 53).
export const DHCPDISCOVER = 1;
export const DHCPOFFER = 2;
export const DHCPREQUEST = 3;
export const DHCPACK = 5;
export const DHCPNAK = 6;
export const DHCPRELEASE = 7;

// Option codes, RFC 2132 names.
export const OPT_PAD = 0;
export const OPT_SUBNET_MASK = 1;
export const OPT_ROUTER = 3;
export const OPT_DNS = 6;
export const OPT_DOMAIN_NAME = 15;
export const OPT_STATIC_ROUTES = 33;
export const OPT_REQUESTED_IP = 50;
export const OPT_LEASE_TIME = 51;
export const OPT_MESSAGE_TYPE = 53;
export const OPT_SERVER_ID = 54;
export const OPT_PARAMETER_REQUEST_LIST = 55;
export const OPT_MESSAGE = 56;
export const OPT_MAX_MESSAGE_SIZE = 57;
export const OPT_RENEWAL_TIME = 58;
export const OPT_REBINDING_TIME = 59;
export const OPT_CLIENT_ID = 61;
export const OPT_RELAY_AGENT_INFO = 82;
export const OPT_CLASSLESS_ROUTES = 121;
export const OPT_END = 255;

const MAGIC_COOKIE = [99, 130, 83, 99];
const FIXED_LEN = 236; // op … file, before the magic cookie
const BOOTP_MIN_LEN = 300; // RFC 951: some servers and relays drop shorter messages
const FLAG_BROADCAST = 0x8000;
// What we tell the server we can take (upstream nclient4 MaxMessageSize).
export const MAX_MESSAGE_SIZE = 1500;
// nclient4's NewDiscovery/NewRequestFromOffer/NewRenewFromAck ask for these before the config's list replaces them.
const LIBRARY_REQUESTED = [OPT_SUBNET_MASK, OPT_ROUTER, OPT_DOMAIN_NAME, OPT_DNS];

/** A DHCPv4 message. Addresses are 4 bytes; options hold each code's value, repeated instances concatenated. */
export interface Message {
  op: number;
  htype: number;
  hops: number;
  xid: number;
  secs: number;
  flags: number;
  ciaddr: Uint8Array;
  yiaddr: Uint8Array;
  siaddr: Uint8Array;
  giaddr: Uint8Array;
  /** The client hardware address, hlen bytes long. */
  chaddr: Uint8Array;
  sname: string;
  file: string;
  options: Map<number, Uint8Array>;
}

export const ZERO_IP = new Uint8Array(4);

/** Returns the message as bytes: options sorted by code (82 last), End, padded to BOOTP's 300 bytes. */
export function encodeMessage(m: Message): Uint8Array {
  const opts: number[] = [];
  const codes = [...m.options.keys()].filter((c) => c !== OPT_PAD && c !== OPT_END && c !== OPT_RELAY_AGENT_INFO).sort((a, b) => a - b);
  if (m.options.has(OPT_RELAY_AGENT_INFO)) codes.push(OPT_RELAY_AGENT_INFO);
  for (const code of codes) {
    let v = m.options.get(code)!;
    if (v.length === 0) opts.push(code, 0);
    // RFC 3396: a value longer than 255 bytes goes out as several instances of the option.
    while (v.length > 0) {
      const n = Math.min(v.length, 255);
      opts.push(code, n, ...v.subarray(0, n));
      v = v.subarray(n);
    }
  }
  opts.push(OPT_END);
  const len = Math.max(FIXED_LEN + 4 + opts.length, BOOTP_MIN_LEN);
  const b = new Uint8Array(len);
  const dv = new DataView(b.buffer);
  b[0] = m.op;
  b[1] = m.htype;
  b[2] = m.chaddr.length;
  b[3] = m.hops;
  dv.setUint32(4, m.xid);
  dv.setUint16(8, m.secs);
  dv.setUint16(10, m.flags);
  b.set(m.ciaddr, 12);
  b.set(m.yiaddr, 16);
  b.set(m.siaddr, 20);
  b.set(m.giaddr, 24);
  b.set(m.chaddr.subarray(0, 16), 28);
  b.set(new TextEncoder().encode(m.sname).subarray(0, 63), 44);
  b.set(new TextEncoder().encode(m.file).subarray(0, 127), 108);
  b.set(MAGIC_COOKIE, FIXED_LEN);
  b.set(opts, FIXED_LEN + 4);
  return b;
}

/** Returns the message in b, or a string saying why it is not one (short, bad cookie, options cut off or without End). */
export function decodeMessage(b: Uint8Array): Message | string {
  if (b.length < FIXED_LEN + 4) return `message of ${b.length} bytes is too short`;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  for (let i = 0; i < 4; i++) if (b[FIXED_LEN + i] !== MAGIC_COOKIE[i]) return "bad magic cookie";
  const options = new Map<number, Uint8Array>();
  let i = FIXED_LEN + 4;
  let ended = false;
  while (i < b.length) {
    const code = b[i++]!;
    if (code === OPT_PAD) continue;
    if (code === OPT_END) {
      ended = true;
      break;
    }
    if (i >= b.length) return `option ${code} has no length`;
    const n = b[i++]!;
    if (i + n > b.length) return `option ${code} is cut off`;
    // RFC 3396 (and upstream's library): the values of repeated instances are concatenated.
    const prev = options.get(code);
    const v = b.slice(i, i + n);
    options.set(code, prev ? concat(prev, v) : v);
    i += n;
  }
  if (!ended) return "options have no End";
  const hlen = Math.min(b[2]!, 16);
  return {
    op: b[0]!,
    htype: b[1]!,
    hops: b[3]!,
    xid: dv.getUint32(4),
    secs: dv.getUint16(8),
    flags: dv.getUint16(10),
    ciaddr: b.slice(12, 16),
    yiaddr: b.slice(16, 20),
    siaddr: b.slice(20, 24),
    giaddr: b.slice(24, 28),
    chaddr: b.slice(28, 28 + hlen),
    sname: cString(b.subarray(44, 108)),
    file: cString(b.subarray(108, 236)),
    options,
  };
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

function cString(b: Uint8Array): string {
  const nul = b.indexOf(0);
  return new TextDecoder().decode(nul >= 0 ? b.subarray(0, nul) : b);
}

// ---------- the messages a lease sends ----------

/** What every message of one lease carries: the client id (option 61) and the config's options. */
export interface LeaseOptions {
  clientID: string;
  /** prepareOptions' list, applied in order after the client id (so `provide` can override it, as upstream). */
  extra: { code: number; value: Uint8Array }[];
}

function baseMessage(xid: number, chaddr: Uint8Array): Message {
  return {
    op: BOOTREQUEST, htype: 1, hops: 0, xid, secs: 0, flags: 0, ciaddr: ZERO_IP, yiaddr: ZERO_IP, siaddr: ZERO_IP,
    giaddr: ZERO_IP, chaddr, sname: "", file: "", options: new Map(),
  };
}

/** Option 61 as upstream sends it: type 0 (not a hardware address) and the id text. */
export function clientIdOption(clientID: string): Uint8Array {
  return concat(Uint8Array.of(0), new TextEncoder().encode(clientID));
}

function u16(n: number): Uint8Array {
  return Uint8Array.of(n >> 8, n & 0xff);
}

/** Merges codes into the parameter request list (55) as the library's WithRequestedOptions does. */
function requestOptions(m: Message, codes: number[]): void {
  const list = [...(m.options.get(OPT_PARAMETER_REQUEST_LIST) ?? [])];
  for (const c of codes) if (!list.includes(c)) list.push(c);
  m.options.set(OPT_PARAMETER_REQUEST_LIST, Uint8Array.from(list));
}

function applyLeaseOptions(m: Message, lo: LeaseOptions, withMaxSize: boolean): void {
  if (withMaxSize) m.options.set(OPT_MAX_MESSAGE_SIZE, u16(MAX_MESSAGE_SIZE));
  m.options.set(OPT_CLIENT_ID, clientIdOption(lo.clientID));
  for (const o of lo.extra) m.options.set(o.code, o.value);
}

/** Returns a DHCPDISCOVER from the interface with hardware address `hw` (broadcast flag set when asked). */
export function discover(xid: number, hw: Uint8Array, lo: LeaseOptions, broadcast: boolean): Message {
  const m = baseMessage(xid, hw);
  requestOptions(m, LIBRARY_REQUESTED);
  m.options.set(OPT_MESSAGE_TYPE, Uint8Array.of(DHCPDISCOVER));
  if (broadcast) m.flags |= FLAG_BROADCAST;
  applyLeaseOptions(m, lo, true);
  return m;
}

/** Returns the DHCPREQUEST (SELECTING) for an offer: its xid, flags and server id, the offered address in option 50. */
export function requestFromOffer(offer: Message, lo: LeaseOptions): Message {
  const m = baseMessage(offer.xid, offer.chaddr);
  m.htype = offer.htype;
  m.flags = offer.flags;
  m.options.set(OPT_MESSAGE_TYPE, Uint8Array.of(DHCPREQUEST));
  m.ciaddr = offer.ciaddr;
  m.options.set(OPT_REQUESTED_IP, offer.yiaddr);
  const sid = offer.options.get(OPT_SERVER_ID);
  if (sid) m.options.set(OPT_SERVER_ID, sid);
  requestOptions(m, LIBRARY_REQUESTED);
  applyLeaseOptions(m, lo, true);
  return m;
}

/** Returns the DHCPREQUEST (RENEWING) for a lease: the ACK's xid, ciaddr = the leased address, unicast flag. */
export function renewFromAck(ack: Message, lo: LeaseOptions): Message {
  const m = baseMessage(ack.xid, ack.chaddr);
  m.htype = ack.htype;
  m.options.set(OPT_MESSAGE_TYPE, Uint8Array.of(DHCPREQUEST));
  m.ciaddr = ack.yiaddr;
  m.flags = ack.flags & ~FLAG_BROADCAST;
  requestOptions(m, LIBRARY_REQUESTED);
  applyLeaseOptions(m, lo, true);
  return m;
}

/** Returns the DHCPRELEASE of a lease: ciaddr = the leased address, the ACK's server id, only the client id added. */
export function releaseFromAck(xid: number, ack: Message, clientID: string): Message {
  const m = baseMessage(xid, ack.chaddr);
  m.options.set(OPT_MESSAGE_TYPE, Uint8Array.of(DHCPRELEASE));
  m.ciaddr = ack.yiaddr;
  const sid = ack.options.get(OPT_SERVER_ID);
  if (sid) m.options.set(OPT_SERVER_ID, sid);
  m.options.set(OPT_CLIENT_ID, clientIdOption(clientID));
  return m;
}

// ---------- reading a reply ----------

/** Returns option 53 of m, or 0 when it has none. */
export function messageType(m: Message): number {
  const v = m.options.get(OPT_MESSAGE_TYPE);
  return v && v.length === 1 ? v[0]! : 0;
}

/** Returns the 4-byte address of option `code`, or undefined when absent or not 4 bytes (the library's GetIP). */
export function optionIP(m: Message, code: number): Uint8Array | undefined {
  const v = m.options.get(code);
  return v && v.length === 4 ? v : undefined;
}

/** Returns the addresses of a list option (3), or undefined when absent, empty or not a multiple of 4 bytes. */
export function optionIPs(m: Message, code: number): Uint8Array[] | undefined {
  const v = m.options.get(code);
  if (!v || v.length === 0 || v.length % 4 !== 0) return undefined;
  const out: Uint8Array[] = [];
  for (let i = 0; i < v.length; i += 4) out.push(v.slice(i, i + 4));
  return out;
}

/** Returns a duration option (51, 58, 59) in seconds, or undefined when absent or not exactly 4 bytes. */
export function optionSeconds(m: Message, code: number): number | undefined {
  const v = m.options.get(code);
  if (!v || v.length !== 4) return undefined;
  return new DataView(v.buffer, v.byteOffset, 4).getUint32(0);
}

/** Returns whether two optional byte strings are both absent or equal (net.IP.Equal on the server ids). */
export function sameOptionalBytes(a: Uint8Array | undefined, b: Uint8Array | undefined): boolean {
  return sameBytes(a ?? new Uint8Array(0), b ?? new Uint8Array(0));
}

/** Returns dotted-quad text of 4 bytes. */
export function formatIPv4(b: Uint8Array): string {
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** Returns the 4 bytes of dotted-quad text; throws on anything else. */
export function parseIPv4(s: string): Uint8Array {
  const parts = s.split(".");
  if (parts.length !== 4 || !parts.every((p) => /^[0-9]{1,3}$/.test(p) && Number(p) <= 255)) throw new Error(`invalid IPv4 address ${JSON.stringify(s)}`);
  return Uint8Array.from(parts.map(Number));
}

// ---------- IPv4 + UDP around a message, for an AF_PACKET SOCK_DGRAM socket ----------

export interface UdpEndpoint {
  ip: Uint8Array;
  port: number;
}

const IP_HDR_LEN = 20;
const UDP_HDR_LEN = 8;
const IPPROTO_UDP = 17;

/** Returns an IPv4 header (no options, TTL 64) and UDP header with both checksums, followed by payload. */
export function encodeUdpFrame(payload: Uint8Array, src: UdpEndpoint, dst: UdpEndpoint): Uint8Array {
  const total = IP_HDR_LEN + UDP_HDR_LEN + payload.length;
  const b = new Uint8Array(total);
  const dv = new DataView(b.buffer);
  b[0] = 0x45; // version 4, IHL 5
  dv.setUint16(2, total);
  b[8] = 64;
  b[9] = IPPROTO_UDP;
  b.set(src.ip, 12);
  b.set(dst.ip, 16);
  dv.setUint16(10, ~sum16(b.subarray(0, IP_HDR_LEN), 0) & 0xffff);
  dv.setUint16(20, src.port);
  dv.setUint16(22, dst.port);
  dv.setUint16(24, UDP_HDR_LEN + payload.length);
  b.set(payload, IP_HDR_LEN + UDP_HDR_LEN);
  // The pseudo header: source, destination, zero, protocol, UDP length.
  let s = sum16(b.subarray(12, 20), 0) + IPPROTO_UDP + UDP_HDR_LEN + payload.length;
  s = sum16(b.subarray(IP_HDR_LEN), s);
  const csum = ~fold(s) & 0xffff;
  dv.setUint16(26, csum === 0 ? 0xffff : csum); // 0 would mean "no checksum"
  return b;
}

function sum16(b: Uint8Array, start: number): number {
  let s = start;
  for (let i = 0; i + 1 < b.length; i += 2) s += (b[i]! << 8) | b[i + 1]!;
  if (b.length % 2 === 1) s += b[b.length - 1]! << 8;
  return fold(s);
}

function fold(s: number): number {
  while (s > 0xffff) s = (s & 0xffff) + Math.floor(s / 0x10000);
  return s;
}

/** A UDP datagram read off a packet socket. */
export interface UdpDatagram {
  src: UdpEndpoint;
  dst: UdpEndpoint;
  payload: Uint8Array;
}

/** Returns the UDP datagram in an IPv4 packet, or undefined when it is not a whole, unfragmented UDP/IPv4 packet. */
export function decodeUdpFrame(b: Uint8Array): UdpDatagram | undefined {
  if (b.length < IP_HDR_LEN || b[0]! >> 4 !== 4) return undefined;
  const dv = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const ihl = (b[0]! & 0x0f) * 4;
  const total = dv.getUint16(2);
  if (ihl < IP_HDR_LEN || total < ihl + UDP_HDR_LEN || total > b.length) return undefined;
  if (b[9] !== IPPROTO_UDP) return undefined;
  if ((dv.getUint16(6) & 0x3fff) !== 0) return undefined; // a fragment (MF set or an offset)
  const udpLen = dv.getUint16(ihl + 4);
  if (udpLen < UDP_HDR_LEN || ihl + udpLen > total) return undefined;
  return {
    src: { ip: b.slice(12, 16), port: dv.getUint16(ihl) },
    dst: { ip: b.slice(16, 20), port: dv.getUint16(ihl + 2) },
    payload: b.slice(ihl + UDP_HDR_LEN, ihl + udpLen),
  };
}
