// pkg/ip/nl/reader.ts: walks netlink replies: messages, attribute tables, fixed headers and struct nlmsgerr.
// Pure code (no FFI). Malformed input throws NetlinkParseError naming what was wrong and the sizes involved.
import { getU16le, getU32le } from "../../sys/bytes.ts";
import {
  IFADDRMSG_LEN, IFINFOMSG_LEN, NLA_HDRLEN, NLA_TYPE_MASK, NLM_F_ACK_TLVS, NLM_F_CAPPED, NLMSG_HDRLEN,
  NLMSGERR_ATTR_MISS_NEST, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS, RTMSG_LEN,
} from "./consts.ts";
import { align4 } from "./writer.ts";

/** A reply the kernel should never send: a length that does not fit, an attribute of the wrong size. */
export class NetlinkParseError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "NetlinkParseError";
  }
}

/** One netlink message: the struct nlmsghdr fields and the bytes after the header. */
export interface NlMessage {
  len: number;
  type: number;
  flags: number;
  seq: number;
  pid: number;
  payload: Uint8Array;
}

function viewOf(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

/** Returns the messages in a received buffer, each 4-byte aligned after the previous; throws on a bad nlmsg_len. */
export function parseMessages(buf: Uint8Array): NlMessage[] {
  const out: NlMessage[] = [];
  let o = 0;
  while (o < buf.length) {
    const left = buf.length - o;
    if (left < NLMSG_HDRLEN) throw new NetlinkParseError(`truncated message header at offset ${o}: ${left} bytes left, want ${NLMSG_HDRLEN}`);
    const len = getU32le(buf, o);
    if (len < NLMSG_HDRLEN || len > left) {
      throw new NetlinkParseError(`bad message at offset ${o}: nlmsg_len ${len}, ${left} bytes left`);
    }
    out.push({
      len,
      type: getU16le(buf, o + 4),
      flags: getU16le(buf, o + 6),
      seq: getU32le(buf, o + 8),
      pid: getU32le(buf, o + 12),
      payload: buf.subarray(o + NLMSG_HDRLEN, o + len),
    });
    o += align4(len);
  }
  return out;
}

/**
 * Returns the attributes from offset to the end of buf in order, repeats kept, with NLA_F_NESTED and
 * NLA_F_NET_BYTEORDER stripped from the types; throws on an attribute that runs past the end.
 */
export function parseAttrList(buf: Uint8Array, offset = 0): Array<[number, Uint8Array]> {
  const out: Array<[number, Uint8Array]> = [];
  for (let o = offset; o < buf.length; ) {
    const left = buf.length - o;
    const len = left >= NLA_HDRLEN ? getU16le(buf, o) : 0;
    if (len < NLA_HDRLEN || len > left) throw badAttr(buf, o);
    out.push([getU16le(buf, o + 2) & NLA_TYPE_MASK, buf.subarray(o + NLA_HDRLEN, o + len)]);
    // The last attribute's padding may be missing from the buffer; the loop ends there either way.
    o += align4(len);
  }
  return out;
}

/**
 * Returns the attribute table from offset to the end of buf; the first of a repeated type wins (iproute2 parse_rtattr).
 * Its own loop rather than parseAttrList's pairs: every link, address, route and nf_tables rule read goes through
 * here, and the pairs cost ~0.4 M instructions of a bridge ADD (callgrind). The checks are inline for the same reason:
 * a helper call per attribute cost half as much again.
 */
export function parseAttrs(buf: Uint8Array, offset = 0): Map<number, Uint8Array> {
  const out = new Map<number, Uint8Array>();
  for (let o = offset; o < buf.length; ) {
    const left = buf.length - o;
    const len = left >= NLA_HDRLEN ? getU16le(buf, o) : 0;
    if (len < NLA_HDRLEN || len > left) throw badAttr(buf, o);
    const type = getU16le(buf, o + 2) & NLA_TYPE_MASK;
    if (!out.has(type)) out.set(type, buf.subarray(o + NLA_HDRLEN, o + len));
    o += align4(len);
  }
  return out;
}

// Returns the error for the attribute at o, whose header or nla_len does not fit in buf.
function badAttr(buf: Uint8Array, o: number): NetlinkParseError {
  const left = buf.length - o;
  if (left < NLA_HDRLEN) return new NetlinkParseError(`truncated attribute header at offset ${o}: ${left} bytes left, want ${NLA_HDRLEN}`);
  const type = getU16le(buf, o + 2) & NLA_TYPE_MASK;
  return new NetlinkParseError(`truncated attribute ${type} at offset ${o}: nla_len ${getU16le(buf, o)}, ${left} bytes left`);
}

function need(v: Uint8Array | undefined, name: string, size: number): Uint8Array {
  if (v === undefined) throw new NetlinkParseError(`${name}: missing`);
  if (v.length !== size) throw new NetlinkParseError(`${name}: ${v.length} bytes, want ${size}`);
  return v;
}

/** Returns the u8 value of an attribute; throws NetlinkParseError when it is missing or not 1 byte. */
export function readU8(v: Uint8Array | undefined, name: string): number {
  return need(v, name, 1)[0]!;
}

/** Returns the u16 (host order) value of an attribute; throws when it is missing or not 2 bytes. */
export function readU16(v: Uint8Array | undefined, name: string): number {
  return getU16le(need(v, name, 2), 0);
}

/** Returns the u32 (host order) value of an attribute; throws when it is missing or not 4 bytes. */
export function readU32(v: Uint8Array | undefined, name: string): number {
  return getU32le(need(v, name, 4), 0);
}

/** Returns the i32 (host order) value of an attribute; throws when it is missing or not 4 bytes. */
export function readI32(v: Uint8Array | undefined, name: string): number {
  return getU32le(need(v, name, 4), 0) | 0;
}

/** Returns the u32 network-order value of an attribute; throws when it is missing or not 4 bytes. */
export function readU32be(v: Uint8Array | undefined, name: string): number {
  return viewOf(need(v, name, 4)).getUint32(0, false);
}

/** Returns the u64 (host order) value of an attribute; throws when it is missing or not 8 bytes. */
export function readU64(v: Uint8Array | undefined, name: string): bigint {
  return viewOf(need(v, name, 8)).getBigUint64(0, true);
}

const decoder = new TextDecoder();

/** Returns the text of a string attribute up to its first NUL; throws when it is missing. */
export function readStrz(v: Uint8Array | undefined, name: string): string {
  if (v === undefined) throw new NetlinkParseError(`${name}: missing`);
  const nul = v.indexOf(0);
  return decoder.decode(nul < 0 ? v : v.subarray(0, nul));
}

/** Returns the bytes of an attribute; throws when it is missing. */
export function readBytes(v: Uint8Array | undefined, name: string): Uint8Array {
  if (v === undefined) throw new NetlinkParseError(`${name}: missing`);
  return v;
}

function header(payload: Uint8Array, name: string, size: number): DataView {
  if (payload.length < size) throw new NetlinkParseError(`${name}: ${payload.length} bytes, want ${size}`);
  return viewOf(payload);
}

export interface IfInfoHeader { family: number; type: number; index: number; flags: number; change: number }

/** Returns the struct ifinfomsg at the start of an RTM_*LINK payload; throws when the payload is shorter. */
export function readIfInfoMsg(payload: Uint8Array): IfInfoHeader {
  const v = header(payload, "ifinfomsg", IFINFOMSG_LEN);
  return {
    family: v.getUint8(0),
    type: v.getUint16(2, true),
    index: v.getInt32(4, true),
    flags: v.getUint32(8, true),
    change: v.getUint32(12, true),
  };
}

export interface IfAddrHeader { family: number; prefixlen: number; flags: number; scope: number; index: number }

/** Returns the struct ifaddrmsg at the start of an RTM_*ADDR payload; throws when the payload is shorter. */
export function readIfAddrMsg(payload: Uint8Array): IfAddrHeader {
  const v = header(payload, "ifaddrmsg", IFADDRMSG_LEN);
  return { family: v.getUint8(0), prefixlen: v.getUint8(1), flags: v.getUint8(2), scope: v.getUint8(3), index: v.getUint32(4, true) };
}

export interface RtHeader {
  family: number; dstLen: number; srcLen: number; tos: number; table: number;
  protocol: number; scope: number; type: number; flags: number;
}

/** Returns the struct rtmsg at the start of an RTM_*ROUTE payload; throws when the payload is shorter. */
export function readRtMsg(payload: Uint8Array): RtHeader {
  const v = header(payload, "rtmsg", RTMSG_LEN);
  return {
    family: v.getUint8(0), dstLen: v.getUint8(1), srcLen: v.getUint8(2), tos: v.getUint8(3), table: v.getUint8(4),
    protocol: v.getUint8(5), scope: v.getUint8(6), type: v.getUint8(7), flags: v.getUint32(8, true),
  };
}

/** What the kernel's extended ACK said (NETLINK_EXT_ACK). */
export interface ExtAck {
  /** NLMSGERR_ATTR_MSG: "Unknown device type". */
  msg?: string;
  /** NLMSGERR_ATTR_OFFS: byte offset of the offending attribute in the request. */
  offset?: number;
  /** NLMSGERR_ATTR_MISS_TYPE: the attribute type the kernel wanted but did not get. */
  missType?: number;
  /** NLMSGERR_ATTR_MISS_NEST: offset of the nest that lacked it. */
  missNest?: number;
}

/** A parsed NLMSG_ERROR (or an NLMSG_DONE carrying an error): error is 0 for an ACK, else -errno. */
export interface NlErr {
  error: number;
  /** seq and type of the request the kernel echoed (absent in an NLMSG_DONE). */
  echoedType?: number;
  echoedSeq?: number;
  extAck?: ExtAck;
}

function parseExtAck(buf: Uint8Array, offset: number): ExtAck | undefined {
  const attrs = parseAttrs(buf, offset);
  const ack: ExtAck = {};
  if (attrs.has(NLMSGERR_ATTR_MSG)) ack.msg = readStrz(attrs.get(NLMSGERR_ATTR_MSG), "NLMSGERR_ATTR_MSG");
  if (attrs.has(NLMSGERR_ATTR_OFFS)) ack.offset = readU32(attrs.get(NLMSGERR_ATTR_OFFS), "NLMSGERR_ATTR_OFFS");
  if (attrs.has(NLMSGERR_ATTR_MISS_TYPE)) ack.missType = readU32(attrs.get(NLMSGERR_ATTR_MISS_TYPE), "NLMSGERR_ATTR_MISS_TYPE");
  if (attrs.has(NLMSGERR_ATTR_MISS_NEST)) ack.missNest = readU32(attrs.get(NLMSGERR_ATTR_MISS_NEST), "NLMSGERR_ATTR_MISS_NEST");
  return Object.keys(ack).length > 0 ? ack : undefined;
}

/**
 * Returns the struct nlmsgerr of an NLMSG_ERROR message: i32 error, the echoed request (only its 16-byte header
 * when NLM_F_CAPPED, else all of it, aligned), then the ext-ack TLVs when NLM_F_ACK_TLVS. Throws on short payloads.
 */
export function parseError(msg: NlMessage): NlErr {
  const p = msg.payload;
  const v = header(p, "nlmsgerr", 4 + NLMSG_HDRLEN);
  const echoedLen = v.getUint32(4, true);
  const out: NlErr = { error: v.getInt32(0, true), echoedType: v.getUint16(8, true), echoedSeq: v.getUint32(12, true) };
  if (msg.flags & NLM_F_ACK_TLVS) {
    const tlvs = 4 + ((msg.flags & NLM_F_CAPPED) ? NLMSG_HDRLEN : align4(echoedLen));
    if (tlvs > p.length) throw new NetlinkParseError(`nlmsgerr: ${p.length} bytes, echoed request of ${echoedLen} bytes does not fit`);
    const extAck = parseExtAck(p, tlvs);
    if (extAck) out.extAck = extAck;
  }
  return out;
}

/** Returns the error an NLMSG_DONE carries (0 for a clean end of dump, else -errno, maybe with ext-ack TLVs). */
export function parseDone(msg: NlMessage): NlErr {
  // Old kernels may send a DONE with an empty payload; that is a clean end.
  if (msg.payload.length < 4) return { error: 0 };
  const out: NlErr = { error: getU32le(msg.payload, 0) | 0 };
  if (msg.flags & NLM_F_ACK_TLVS) {
    const extAck = parseExtAck(msg.payload, 4);
    if (extAck) out.extAck = extAck;
  }
  return out;
}
