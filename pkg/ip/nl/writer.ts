// pkg/ip/nl/writer.ts: builds one netlink request in a growable buffer. Pure code (no FFI), so every encoder
// built on it can be compared byte for byte with what iproute2 sends.
import { IFADDRMSG_LEN, IFINFOMSG_LEN, NLA_HDRLEN, NLMSG_HDRLEN, RTMSG_LEN } from "./consts.ts";

/** Returns n rounded up to the 4-byte netlink alignment (NLMSG_ALIGN, RTA_ALIGN and NLA_ALIGN agree). */
export function align4(n: number): number {
  return (n + 3) & ~3;
}

export interface IfInfoMsg { family: number; type?: number; index?: number; flags?: number; change?: number }
export interface IfAddrMsg { family: number; prefixlen: number; flags?: number; scope?: number; index: number }
export interface RtMsg {
  family: number; dstLen?: number; srcLen?: number; tos?: number; table?: number;
  protocol?: number; scope?: number; type?: number; flags?: number;
}

/** An open nested attribute; hand it back to endNest. */
export type NestToken = { readonly offset: number };

const encoder = new TextEncoder();

export class NlWriter {
  private buf = new Uint8Array(256);
  private view = new DataView(this.buf.buffer);
  private len = 0;

  /** Starts a message with a struct nlmsghdr; nlmsg_len is patched by finish() and nlmsg_pid stays 0 (the kernel). */
  constructor(type: number, flags: number, seq: number) {
    this.reserve(NLMSG_HDRLEN);
    this.view.setUint16(4, type, true);
    this.view.setUint16(6, flags, true);
    this.view.setUint32(8, seq >>> 0, true);
  }

  /** Appends struct ifinfomsg, <linux/rtnetlink.h>: 16 bytes, with a pad byte after the family. */
  ifinfomsg(m: IfInfoMsg): this {
    const o = this.reserve(IFINFOMSG_LEN);
    this.view.setUint8(o, m.family);
    this.view.setUint16(o + 2, m.type ?? 0, true);
    this.view.setInt32(o + 4, m.index ?? 0, true);
    this.view.setUint32(o + 8, (m.flags ?? 0) >>> 0, true);
    this.view.setUint32(o + 12, (m.change ?? 0) >>> 0, true);
    return this;
  }

  /** Appends struct ifaddrmsg, <linux/if_addr.h>: 8 bytes. */
  ifaddrmsg(m: IfAddrMsg): this {
    const o = this.reserve(IFADDRMSG_LEN);
    this.view.setUint8(o, m.family);
    this.view.setUint8(o + 1, m.prefixlen);
    this.view.setUint8(o + 2, m.flags ?? 0);
    this.view.setUint8(o + 3, m.scope ?? 0);
    this.view.setUint32(o + 4, m.index >>> 0, true);
    return this;
  }

  /** Appends struct rtmsg, <linux/rtnetlink.h>: 12 bytes. */
  rtmsg(m: RtMsg): this {
    const o = this.reserve(RTMSG_LEN);
    const bytes = [m.family, m.dstLen ?? 0, m.srcLen ?? 0, m.tos ?? 0, m.table ?? 0, m.protocol ?? 0, m.scope ?? 0, m.type ?? 0];
    this.buf.set(bytes, o);
    this.view.setUint32(o + 8, (m.flags ?? 0) >>> 0, true);
    return this;
  }

  /** Appends raw struct bytes (a family header this class has no method for), padded to 4 bytes. */
  struct(bytes: Uint8Array): this {
    const o = this.reserve(align4(bytes.length));
    this.buf.set(bytes, o);
    return this;
  }

  u8(type: number, v: number): this {
    const o = this.attr(type, 1); // attr() may grow the buffer, so take the offset first
    this.view.setUint8(o, v);
    return this;
  }

  u16(type: number, v: number): this {
    const o = this.attr(type, 2); // attr() may grow the buffer, so take the offset first
    this.view.setUint16(o, v, true);
    return this;
  }

  /** A u16 in network byte order (ports); the caller ORs NLA_F_NET_BYTEORDER into type where the kernel wants it. */
  u16be(type: number, v: number): this {
    const o = this.attr(type, 2); // attr() may grow the buffer, so take the offset first
    this.view.setUint16(o, v, false);
    return this;
  }

  u32(type: number, v: number): this {
    const o = this.attr(type, 4); // attr() may grow the buffer, so take the offset first
    this.view.setUint32(o, v >>> 0, true);
    return this;
  }

  i32(type: number, v: number): this {
    const o = this.attr(type, 4); // attr() may grow the buffer, so take the offset first
    this.view.setInt32(o, v, true);
    return this;
  }

  u32be(type: number, v: number): this {
    const o = this.attr(type, 4); // attr() may grow the buffer, so take the offset first
    this.view.setUint32(o, v >>> 0, false);
    return this;
  }

  u64(type: number, v: bigint): this {
    const o = this.attr(type, 8); // attr() may grow the buffer, so take the offset first
    this.view.setBigUint64(o, v, true);
    return this;
  }

  /** A NUL-terminated string, as iproute2 sends names (`strlen + 1`). */
  strz(type: number, s: string): this {
    const b = encoder.encode(s);
    const o = this.attr(type, b.length + 1);
    this.buf.set(b, o);
    return this;
  }

  /** A string without the NUL. */
  str(type: number, s: string): this {
    return this.bytes(type, encoder.encode(s));
  }

  bytes(type: number, b: Uint8Array): this {
    const o = this.attr(type, b.length);
    this.buf.set(b, o);
    return this;
  }

  /** A zero-length attribute (a flag). */
  flag(type: number): this {
    this.attr(type, 0);
    return this;
  }

  /**
   * Opens a nested attribute. The type is written as given: iproute2's addattr_nest does NOT set NLA_F_NESTED
   * (IFLA_LINKINFO goes out as 0x0012), so callers OR it in where a strict kernel policy requires it, as iproute2 does.
   */
  beginNest(type: number): NestToken {
    const offset = this.attr(type, 0) - NLA_HDRLEN;
    return { offset };
  }

  /** Closes a nest: its nla_len covers everything appended since beginNest, padding included (addattr_nest_end). */
  endNest(token: NestToken): this {
    this.view.setUint16(token.offset, this.len - token.offset, true);
    return this;
  }

  /** Patches nlmsg_len and returns the message bytes. */
  finish(): Uint8Array {
    this.view.setUint32(0, this.len, true);
    return this.buf.slice(0, this.len);
  }

  // Writes an attribute header for a payload of n bytes, zero-pads the payload to 4 bytes and returns its offset.
  private attr(type: number, n: number): number {
    const o = this.reserve(align4(NLA_HDRLEN + n));
    this.view.setUint16(o, NLA_HDRLEN + n, true);
    this.view.setUint16(o + 2, type, true);
    return o + NLA_HDRLEN;
  }

  // Appends n zeroed bytes (n is already aligned) and returns where they start.
  private reserve(n: number): number {
    const o = this.len;
    if (o + n > this.buf.length) {
      const next = new Uint8Array(Math.max(this.buf.length * 2, o + n));
      next.set(this.buf.subarray(0, o));
      this.buf = next;
      this.view = new DataView(next.buffer);
    }
    this.buf.fill(0, o, o + n);
    this.len = o + n;
    return o;
  }
}

/** Returns a copy of msg with nlmsg_seq replaced (a dump retried after NLM_F_DUMP_INTR gets a fresh seq). */
export function withSeq(msg: Uint8Array, seq: number): Uint8Array {
  const out = msg.slice();
  new DataView(out.buffer, out.byteOffset, out.byteLength).setUint32(8, seq >>> 0, true);
  return out;
}
