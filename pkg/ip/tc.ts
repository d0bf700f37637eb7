// pkg/ip/tc.ts: traffic control over rtnetlink, what the bandwidth plugin needs and `tc` would send: qdiscs (tbf with
// its rate table, ingress) added, deleted and listed; u32 filters with mirred actions added and listed. Encoders are
// pure functions, byte-tested against iproute2's `tc qdisc|filter add` (test/golden/tc-*.hex); the readers parse
// the kernel's dumps (test/golden/reply-*-dump.hex), so CHECK and DEL can read back what ADD made.
//
// Rate tables: since Linux 3.8 the kernel computes transmit times itself and only looks at TCA_TBF_RTAB to guess the
// link layer when the rate spec says TC_LINKLAYER_UNAWARE; a tbf without one is fine (vishvananda/netlink, and so
// upstream's bandwidth plugin, sends none). tcRateTable and iproute2Tbf compute what tc sends, for tc-exact requests.
import {
  AF_UNSPEC, NLA_F_NESTED, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, RTM_DELQDISC, RTM_GETQDISC,
  RTM_GETTFILTER, RTM_NEWQDISC, RTM_NEWTFILTER,
} from "./nl/consts.ts";
import { NetlinkParseError, parseAttrList, parseAttrs, readBytes, readStrz, readU32, readU64 } from "./nl/reader.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { readFileSync } from "../sys/fs.ts";
import { NlWriter } from "./nl/writer.ts";
import { isHexDigits } from "../text/ascii.ts";
import { allOf, filtered } from "../sys/lists.ts";

// ---- constants, under the kernel's names ----------------------------------------------------------------------

// struct tcmsg, <linux/rtnetlink.h>: 20 bytes (u8 family, 3 pad, i32 ifindex, u32 handle, u32 parent, u32 info)
export const TCMSG_LEN = 20;

// TC_H_*, <linux/pkt_sched.h>: a handle is major:minor in 16 bits each
export const TC_H_UNSPEC = 0;
export const TC_H_ROOT = 0xffffffff;
export const TC_H_INGRESS = 0xfffffff1;
export const TC_H_CLSACT = TC_H_INGRESS;
export const TC_H_MIN_INGRESS = 0xfff2;
export const TC_H_MIN_EGRESS = 0xfff3;

// enum TCA_*, <linux/rtnetlink.h>
export const TCA_KIND = 1;
export const TCA_OPTIONS = 2;
export const TCA_STATS = 3;
export const TCA_XSTATS = 4;
export const TCA_RATE = 5;
export const TCA_FCNT = 6;
export const TCA_STATS2 = 7;
export const TCA_STAB = 8;
export const TCA_CHAIN = 11;
export const TCA_HW_OFFLOAD = 12;

// TCA_TBF_*, <linux/pkt_sched.h>: inside TCA_OPTIONS of kind "tbf"
export const TCA_TBF_PARMS = 1;
export const TCA_TBF_RTAB = 2;
export const TCA_TBF_PTAB = 3;
export const TCA_TBF_RATE64 = 4;
export const TCA_TBF_PRATE64 = 5;
export const TCA_TBF_BURST = 6;
export const TCA_TBF_PBURST = 7;

// enum tc_link_layer, <linux/pkt_sched.h>: tc_ratespec.linklayer
export const TC_LINKLAYER_UNAWARE = 0;
export const TC_LINKLAYER_ETHERNET = 1;
export const TC_LINKLAYER_ATM = 2;
export const TC_LINKLAYER_MASK = 0x0f;

// TCA_U32_*, <linux/pkt_cls.h>: inside TCA_OPTIONS of kind "u32"
export const TCA_U32_CLASSID = 1;
export const TCA_U32_HASH = 2;
export const TCA_U32_LINK = 3;
export const TCA_U32_DIVISOR = 4;
export const TCA_U32_SEL = 5;
export const TCA_U32_POLICE = 6;
export const TCA_U32_ACT = 7;
export const TCA_U32_INDEV = 8;
export const TCA_U32_PCNT = 9;
export const TCA_U32_MARK = 10;
export const TCA_U32_FLAGS = 11;
// struct tc_u32_sel.flags
export const TC_U32_TERMINAL = 1;

// TCA_ACT_*, <linux/pkt_cls.h>: one action, nested in TCA_U32_ACT under its order (1, 2, ...)
export const TCA_ACT_KIND = 1;
export const TCA_ACT_OPTIONS = 2;
export const TCA_ACT_INDEX = 3;
export const TCA_ACT_STATS = 4;

// TCA_MIRRED_*, <linux/tc_act/tc_mirred.h>: inside TCA_ACT_OPTIONS of kind "mirred"
export const TCA_MIRRED_TM = 1;
export const TCA_MIRRED_PARMS = 2;
// tc_mirred.eaction
export const TCA_EGRESS_REDIR = 1;
export const TCA_EGRESS_MIRROR = 2;
export const TCA_INGRESS_REDIR = 3;
export const TCA_INGRESS_MIRROR = 4;

// TC_ACT_*, <linux/pkt_cls.h>: what an action tells the classifier afterwards (tc's "control action")
export const TC_ACT_OK = 0; // "pass"
export const TC_ACT_RECLASSIFY = 1;
export const TC_ACT_SHOT = 2;
export const TC_ACT_PIPE = 3;
export const TC_ACT_STOLEN = 4;

// <linux/if_ether.h>
export const ETH_P_ALL = 0x0003;

// struct tc_ratespec, <linux/pkt_sched.h>: 12 bytes (u8 cell_log, u8 linklayer, u16 overhead, s16 cell_align,
// u16 mpu, u32 rate); struct tc_tbf_qopt: two of them, then u32 limit, buffer, mtu: 36 bytes.
const RATESPEC_LEN = 12;
const TBF_QOPT_LEN = 36;
// struct tc_u32_sel: u8 flags, offshift, nkeys, pad; be16 offmask; u16 off; s16 offoff, hoff; be32 hmask: 16 bytes,
// then nkeys of struct tc_u32_key (be32 mask, be32 val, s32 off, s32 offmask): 16 bytes each.
const U32_SEL_LEN = 16;
const U32_KEY_LEN = 16;
// struct tc_mirred: tc_gen (u32 index, u32 capab, s32 action, s32 refcnt, s32 bindcnt), s32 eaction, u32 ifindex.
const TC_MIRRED_LEN = 28;
// TIME_UNITS_PER_SEC of iproute2 and vishvananda/netlink: times are in microseconds.
const TIME_UNITS_PER_SEC = 1_000_000;

/** Returns the handle major:minor (TC_H_MAKE); `tc ... handle 1:` is tcHandle(1, 0). */
export function tcHandle(major: number, minor: number): number {
  return (((major & 0xffff) << 16) | (minor & 0xffff)) >>> 0;
}

/** Returns a handle as tc prints it ("1:", "ffff:", "1:1", "root"). */
export function formatHandle(h: number): string {
  if (h === TC_H_ROOT) return "root";
  const major = (h >>> 16).toString(16);
  const minor = h & 0xffff;
  return minor === 0 ? `${major}:` : `${major}:${minor.toString(16)}`;
}

// ---- tcmsg ---------------------------------------------------------------------------------------------------

/** The fields of struct tcmsg. */
export interface TcMsg {
  index: number;
  handle?: number;
  parent?: number;
  info?: number;
}

function writeTcMsg(w: NlWriter, m: TcMsg): void {
  const b = new Uint8Array(TCMSG_LEN);
  const v = new DataView(b.buffer);
  v.setUint8(0, AF_UNSPEC);
  v.setInt32(4, m.index, true);
  v.setUint32(8, (m.handle ?? 0) >>> 0, true);
  v.setUint32(12, (m.parent ?? 0) >>> 0, true);
  v.setUint32(16, (m.info ?? 0) >>> 0, true);
  w.struct(b);
}

function readTcMsg(payload: Uint8Array): Required<TcMsg> & { family: number } {
  if (payload.length < TCMSG_LEN) throw new NetlinkParseError(`tcmsg: ${payload.length} bytes, want ${TCMSG_LEN}`);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  return { family: v.getUint8(0), index: v.getInt32(4, true), handle: v.getUint32(8, true), parent: v.getUint32(12, true), info: v.getUint32(16, true) };
}

// ---- qdiscs: specs and encoders --------------------------------------------------------------------------------

/** struct tc_ratespec. `rate` is the u32 field (bytes/s); a rate of 2^32 or more also needs TCA_TBF_RATE64. */
export interface RateSpec {
  rate: number;
  cellLog?: number;
  linklayer?: number;
  overhead?: number;
  cellAlign?: number;
  mpu?: number;
}

/** struct tc_tbf_qopt. buffer and mtu are in psched ticks (see parsePsched); limit is in bytes. */
export interface TbfQopt {
  rate: RateSpec;
  peakrate?: RateSpec;
  limit: number;
  buffer: number;
  mtu?: number;
}

export interface TbfSpec {
  kind: "tbf";
  /** ifindex of the device. */
  index: number;
  /** Default TC_H_ROOT. */
  parent?: number;
  /** Default 0: the kernel picks one. */
  handle?: number;
  qopt: TbfQopt;
  /** TCA_TBF_BURST, in bytes: when present the kernel derives the bucket from it and ignores qopt.buffer. */
  burst?: number;
  /** TCA_TBF_RATE64, the real rate when it does not fit in qopt.rate.rate. */
  rate64?: bigint;
  /** TCA_TBF_RTAB: the 256-entry rate table (tcRateTable). */
  rtab?: Uint32Array;
}

export interface IngressSpec {
  kind: "ingress";
  index: number;
}

/** Every qdisc kind encodeNewQdisc knows. */
export type QdiscSpec = TbfSpec | IngressSpec;

function writeRateSpec(v: DataView, o: number, r: RateSpec | undefined): void {
  if (!r) return;
  v.setUint8(o, r.cellLog ?? 0);
  v.setUint8(o + 1, r.linklayer ?? 0);
  v.setUint16(o + 2, r.overhead ?? 0, true);
  v.setInt16(o + 4, r.cellAlign ?? 0, true);
  v.setUint16(o + 6, r.mpu ?? 0, true);
  v.setUint32(o + 8, r.rate >>> 0, true);
}

/** Returns the 36 bytes of struct tc_tbf_qopt. */
export function tbfQoptBytes(q: TbfQopt): Uint8Array {
  const b = new Uint8Array(TBF_QOPT_LEN);
  const v = new DataView(b.buffer);
  writeRateSpec(v, 0, q.rate);
  writeRateSpec(v, RATESPEC_LEN, q.peakrate);
  v.setUint32(24, q.limit >>> 0, true);
  v.setUint32(28, q.buffer >>> 0, true);
  v.setUint32(32, (q.mtu ?? 0) >>> 0, true);
  return b;
}

type QdiscEncoder<S> = (w: NlWriter, spec: S) => void;

/** Writes each kind's tcmsg and attributes after the nlmsghdr, one small encoder per kind (tc's order). */
const QDISC_KINDS: { [K in QdiscSpec["kind"]]: QdiscEncoder<Extract<QdiscSpec, { kind: K }>> } = {
  tbf: (w, spec) => {
    writeTcMsg(w, { index: spec.index, handle: spec.handle ?? 0, parent: spec.parent ?? TC_H_ROOT });
    w.strz(TCA_KIND, "tbf");
    // tc's addattr_nest does not set NLA_F_NESTED on TCA_OPTIONS; the kernel accepts both.
    const opts = w.beginNest(TCA_OPTIONS);
    w.bytes(TCA_TBF_PARMS, tbfQoptBytes(spec.qopt));
    if (spec.burst !== undefined) w.u32(TCA_TBF_BURST, spec.burst);
    if (spec.rate64 !== undefined) w.u64(TCA_TBF_RATE64, spec.rate64);
    if (spec.rtab) w.bytes(TCA_TBF_RTAB, u32Bytes(spec.rtab));
    w.endNest(opts);
  },
  ingress: (w, spec) => {
    // tc sends no TCA_OPTIONS for ingress; vishvananda sends an empty one. The kernel makes the same qdisc.
    writeTcMsg(w, { index: spec.index, handle: tcHandle(0xffff, 0), parent: TC_H_INGRESS });
    w.strz(TCA_KIND, "ingress");
  },
};

function u32Bytes(a: Uint32Array): Uint8Array {
  const b = new Uint8Array(a.length * 4);
  const v = new DataView(b.buffer);
  for (let i = 0; i < a.length; i++) v.setUint32(i * 4, a[i]!, true);
  return b;
}

/** Returns RTM_NEWQDISC creating a qdisc (CREATE|EXCL, as `tc qdisc add`: an existing one fails with EEXIST). */
export function encodeNewQdisc(seq: number, spec: QdiscSpec): Uint8Array {
  const w = new NlWriter(RTM_NEWQDISC, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  (QDISC_KINDS[spec.kind] as QdiscEncoder<QdiscSpec>)(w, spec);
  return w.finish();
}

/** Which qdisc to delete: by parent (TC_H_ROOT, TC_H_INGRESS), optionally pinned to a handle and kind. */
export interface QdiscRef {
  index: number;
  parent: number;
  /** When set, the kernel refuses (ENOENT) if the qdisc there has another handle. */
  handle?: number;
  kind?: string;
}

/** Returns RTM_DELQDISC (`tc qdisc del dev D root` is {parent: TC_H_ROOT}; `... ingress` adds handle ffff: and the kind). */
export function encodeDelQdisc(seq: number, ref: QdiscRef): Uint8Array {
  const w = new NlWriter(RTM_DELQDISC, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeTcMsg(w, { index: ref.index, handle: ref.handle ?? 0, parent: ref.parent });
  if (ref.kind !== undefined) w.strz(TCA_KIND, ref.kind);
  return w.finish();
}

/** Returns the RTM_GETQDISC dump `tc qdisc show dev D` sends (the kernel answers for every device regardless). */
export function encodeListQdiscs(seq: number, index = 0): Uint8Array {
  const w = new NlWriter(RTM_GETQDISC, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeTcMsg(w, { index });
  return w.finish();
}

// ---- qdiscs: reading -------------------------------------------------------------------------------------------

/** A tbf's parameters as the kernel reports them. rate/peakrate are bytes/s (TCA_TBF_RATE64 when present). */
export interface TbfInfo {
  rate: bigint;
  peakrate: bigint;
  limit: number;
  /** Psched ticks. */
  buffer: number;
  mtu: number;
  linklayer: number;
  overhead: number;
  mpu: number;
}

/** A qdisc as the kernel reports it (RTM_NEWQDISC). */
export interface Qdisc {
  index: number;
  handle: number;
  parent: number;
  kind: string;
  tbf?: TbfInfo;
}

function readTbf(options: Uint8Array): TbfInfo {
  const a = parseAttrs(options);
  const parms = readBytes(a.get(TCA_TBF_PARMS), "TCA_TBF_PARMS");
  if (parms.length < TBF_QOPT_LEN) throw new NetlinkParseError(`TCA_TBF_PARMS: ${parms.length} bytes, want ${TBF_QOPT_LEN}`);
  const v = new DataView(parms.buffer, parms.byteOffset, parms.byteLength);
  const out: TbfInfo = {
    rate: BigInt(v.getUint32(8, true)),
    peakrate: BigInt(v.getUint32(RATESPEC_LEN + 8, true)),
    limit: v.getUint32(24, true),
    buffer: v.getUint32(28, true),
    mtu: v.getUint32(32, true),
    linklayer: v.getUint8(1) & TC_LINKLAYER_MASK,
    overhead: v.getUint16(2, true),
    mpu: v.getUint16(6, true),
  };
  if (a.has(TCA_TBF_RATE64)) out.rate = readU64(a.get(TCA_TBF_RATE64), "TCA_TBF_RATE64");
  if (a.has(TCA_TBF_PRATE64)) out.peakrate = readU64(a.get(TCA_TBF_PRATE64), "TCA_TBF_PRATE64");
  return out;
}

/** Returns the Qdisc in an RTM_NEWQDISC payload; throws NetlinkParseError on malformed attributes. */
export function parseQdisc(payload: Uint8Array): Qdisc {
  const m = readTcMsg(payload);
  const a = parseAttrs(payload, TCMSG_LEN);
  const q: Qdisc = { index: m.index, handle: m.handle, parent: m.parent, kind: readStrz(a.get(TCA_KIND), "TCA_KIND") };
  const options = a.get(TCA_OPTIONS);
  if (q.kind === "tbf" && options) q.tbf = readTbf(options);
  return q;
}

/** Returns the qdiscs of one device (index > 0) or of all, in the kernel's order (root first, then ingress). */
export function listQdiscs(sock: NetlinkSocket, index = 0): Qdisc[] {
  const all = sock.dump(encodeListQdiscs(sock.nextSeq(), index)).map(parseQdisc);
  return index > 0 ? filtered(all, (q) => q.index === index) : all;
}

/** Creates a qdisc; throws NetlinkError (EEXIST when the device already has one there). */
export function addQdisc(sock: NetlinkSocket, spec: QdiscSpec): void {
  sock.request(encodeNewQdisc(sock.nextSeq(), spec));
}

/** Deletes a qdisc (and the filters under it); throws NetlinkError (ENOENT/EINVAL when there is none to delete). */
export function delQdisc(sock: NetlinkSocket, ref: QdiscRef): void {
  sock.request(encodeDelQdisc(sock.nextSeq(), ref));
}

// ---- filters: u32 with mirred actions ----------------------------------------------------------------------------

/** struct tc_u32_key: match (packet word at off) & mask == val. mask and val are host numbers, sent big-endian. */
export interface U32Key {
  mask: number;
  val: number;
  off: number;
  offmask?: number;
}

/** A mirred action: send the packet to another device (redirect) or a copy of it (mirror). */
export interface MirredSpec {
  kind: "mirred";
  /** TCA_EGRESS_REDIR, TCA_EGRESS_MIRROR, ... */
  eaction: number;
  ifindex: number;
  /** The control action after it: TC_ACT_STOLEN for a redirect (tc's only choice), TC_ACT_PIPE for a mirror. */
  action: number;
}

export interface U32FilterSpec {
  kind: "u32";
  index: number;
  /** The qdisc the filter hangs off (tcHandle(0xffff, 0) for ingress). */
  parent: number;
  /** 0: the kernel picks one. */
  prio: number;
  /** ETH_P_ALL and friends, host order. */
  protocol: number;
  /** TCA_U32_CLASSID (`classid 1:1` / `flowid 1:1`). */
  classid?: number;
  /** At least one key; `match u32 0 0` is {mask: 0, val: 0, off: 0}. */
  keys: U32Key[];
  actions: MirredSpec[];
}

function u32SelBytes(keys: U32Key[]): Uint8Array {
  const b = new Uint8Array(U32_SEL_LEN + keys.length * U32_KEY_LEN);
  const v = new DataView(b.buffer);
  // tc sets TC_U32_TERMINAL when the filter has a classid or an action, which is every filter this file writes.
  v.setUint8(0, TC_U32_TERMINAL);
  v.setUint8(2, keys.length);
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const o = U32_SEL_LEN + i * U32_KEY_LEN;
    v.setUint32(o, k.mask >>> 0, false);
    v.setUint32(o + 4, k.val >>> 0, false);
    v.setInt32(o + 8, k.off, true);
    v.setInt32(o + 12, k.offmask ?? 0, true);
  }
  return b;
}

function mirredBytes(a: MirredSpec): Uint8Array {
  const b = new Uint8Array(TC_MIRRED_LEN);
  const v = new DataView(b.buffer);
  v.setInt32(8, a.action, true);
  v.setInt32(20, a.eaction, true);
  v.setUint32(24, a.ifindex >>> 0, true);
  return b;
}

/** Returns the tcm_info of a filter: its priority in the upper 16 bits, the protocol in network order below. */
export function filterInfo(prio: number, protocol: number): number {
  return (((prio & 0xffff) << 16) | (((protocol & 0xff) << 8) | ((protocol >> 8) & 0xff))) >>> 0;
}

/**
 * Returns RTM_NEWTFILTER creating a u32 filter with mirred actions, in tc's order: TCA_U32_CLASSID, TCA_U32_ACT
 * (one nest per action, numbered from 1; TCA_ACT_OPTIONS with NLA_F_NESTED as m_mirred.c writes it), TCA_U32_SEL.
 */
export function encodeNewFilter(seq: number, spec: U32FilterSpec): Uint8Array {
  if (spec.keys.length === 0 || spec.keys.length > 128) throw new Error(`u32 filter: ${spec.keys.length} keys, want 1-128`);
  const w = new NlWriter(RTM_NEWTFILTER, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  writeTcMsg(w, { index: spec.index, handle: 0, parent: spec.parent, info: filterInfo(spec.prio, spec.protocol) });
  w.strz(TCA_KIND, spec.kind);
  const opts = w.beginNest(TCA_OPTIONS);
  if (spec.classid !== undefined) w.u32(TCA_U32_CLASSID, spec.classid);
  if (spec.actions.length > 0) {
    const acts = w.beginNest(TCA_U32_ACT);
    for (let i = 0; i < spec.actions.length; i++) {
      const a = spec.actions[i]!;
      const one = w.beginNest(i + 1);
      w.strz(TCA_ACT_KIND, a.kind);
      const ao = w.beginNest(TCA_ACT_OPTIONS | NLA_F_NESTED);
      w.bytes(TCA_MIRRED_PARMS, mirredBytes(a));
      w.endNest(ao);
      w.endNest(one);
    }
    w.endNest(acts);
  }
  w.bytes(TCA_U32_SEL, u32SelBytes(spec.keys));
  w.endNest(opts);
  return w.finish();
}

/** Returns the RTM_GETTFILTER dump `tc filter show dev D parent P` sends. */
export function encodeListFilters(seq: number, index: number, parent: number): Uint8Array {
  const w = new NlWriter(RTM_GETTFILTER, NLM_F_REQUEST | NLM_F_DUMP, seq);
  writeTcMsg(w, { index, parent });
  return w.finish();
}

/** One action of a filter as the kernel reports it; `mirred` is set for kind "mirred". */
export interface ActionInfo {
  order: number;
  kind: string;
  mirred?: { eaction: number; ifindex: number; action: number; index: number };
}

/** A filter as the kernel reports it (RTM_NEWTFILTER). A u32 filter shows up as its hash table and its key nodes. */
export interface Filter {
  index: number;
  handle: number;
  parent: number;
  prio: number;
  /** Host order (ETH_P_ALL is 3). */
  protocol: number;
  kind: string;
  /** u32: TCA_U32_CLASSID. */
  classid?: number;
  /** u32: TCA_U32_DIVISOR (a hash table entry). */
  divisor?: number;
  /** u32: the selector's keys (a key node). */
  keys?: U32Key[];
  actions: ActionInfo[];
}

function readU32Sel(b: Uint8Array): U32Key[] {
  if (b.length < U32_SEL_LEN) throw new NetlinkParseError(`TCA_U32_SEL: ${b.length} bytes, want ${U32_SEL_LEN}`);
  const v = new DataView(b.buffer, b.byteOffset, b.byteLength);
  const n = v.getUint8(2);
  if (b.length < U32_SEL_LEN + n * U32_KEY_LEN) throw new NetlinkParseError(`TCA_U32_SEL: ${b.length} bytes, ${n} keys do not fit`);
  const keys: U32Key[] = [];
  for (let i = 0; i < n; i++) {
    const o = U32_SEL_LEN + i * U32_KEY_LEN;
    keys.push({ mask: v.getUint32(o, false), val: v.getUint32(o + 4, false), off: v.getInt32(o + 8, true), offmask: v.getInt32(o + 12, true) });
  }
  return keys;
}

function readActions(b: Uint8Array): ActionInfo[] {
  return parseAttrList(b).map(([order, value]) => {
    const a = parseAttrs(value);
    const act: ActionInfo = { order, kind: readStrz(a.get(TCA_ACT_KIND), "TCA_ACT_KIND") };
    const options = a.get(TCA_ACT_OPTIONS);
    if (act.kind === "mirred" && options) {
      const p = readBytes(parseAttrs(options).get(TCA_MIRRED_PARMS), "TCA_MIRRED_PARMS");
      if (p.length < TC_MIRRED_LEN) throw new NetlinkParseError(`TCA_MIRRED_PARMS: ${p.length} bytes, want ${TC_MIRRED_LEN}`);
      const v = new DataView(p.buffer, p.byteOffset, p.byteLength);
      act.mirred = { index: v.getUint32(0, true), action: v.getInt32(8, true), eaction: v.getInt32(20, true), ifindex: v.getUint32(24, true) };
    }
    return act;
  });
}

/** Returns the Filter in an RTM_NEWTFILTER payload; throws NetlinkParseError on malformed attributes. */
export function parseFilter(payload: Uint8Array): Filter {
  const m = readTcMsg(payload);
  const a = parseAttrs(payload, TCMSG_LEN);
  const proto = m.info & 0xffff;
  const f: Filter = {
    index: m.index,
    handle: m.handle,
    parent: m.parent,
    prio: m.info >>> 16,
    protocol: ((proto & 0xff) << 8) | (proto >> 8),
    kind: readStrz(a.get(TCA_KIND), "TCA_KIND"),
    actions: [],
  };
  const options = a.get(TCA_OPTIONS);
  if (f.kind !== "u32" || !options) return f;
  const o = parseAttrs(options);
  if (o.has(TCA_U32_CLASSID)) f.classid = readU32(o.get(TCA_U32_CLASSID), "TCA_U32_CLASSID");
  if (o.has(TCA_U32_DIVISOR)) f.divisor = readU32(o.get(TCA_U32_DIVISOR), "TCA_U32_DIVISOR");
  if (o.has(TCA_U32_SEL)) f.keys = readU32Sel(o.get(TCA_U32_SEL)!);
  if (o.has(TCA_U32_ACT)) f.actions = readActions(o.get(TCA_U32_ACT)!);
  return f;
}

/** Returns the filters under one qdisc of a device (none when that qdisc does not exist). */
export function listFilters(sock: NetlinkSocket, index: number, parent: number): Filter[] {
  const all = sock.dump(encodeListFilters(sock.nextSeq(), index, parent)).map(parseFilter);
  return filtered(all, (f) => f.index === index);
}

/** Creates a filter; throws NetlinkError (ENOENT/EINVAL when the parent qdisc is missing, EEXIST on a clash). */
export function addFilter(sock: NetlinkSocket, spec: U32FilterSpec): void {
  sock.request(encodeNewFilter(sock.nextSeq(), spec));
}

// ---- psched clock, and the rate table tc computes ------------------------------------------------------------------

/**
 * Returns tick_in_usec from the text of /proc/net/psched, as iproute2's tc_core_init and vishvananda's initClock
 * compute it: four hex words t2us us2t clock_res hz; when clock_res is 1e9, t2us := us2t; then
 * t2us / us2t * (clock_res / 1e6). Throws on text that is not four hex words.
 */
export function parsePsched(text: string): number {
  const parts = text.trim().split(" ");
  if (parts.length < 4 || !allOf(parts.slice(0, 4), (p) => isHexDigits(p, 1, 8))) {
    throw new Error(`unexpected /proc/net/psched content ${JSON.stringify(text)}`);
  }
  let [t2us, us2t, clockRes] = parts.slice(0, 3).map((p) => parseInt(p, 16)) as [number, number, number];
  if (clockRes === 1_000_000_000) t2us = us2t;
  const clockFactor = clockRes / TIME_UNITS_PER_SEC;
  return (t2us / us2t) * clockFactor;
}

/** Returns tick_in_usec of this kernel (15.625 with the usual 64 ns psched tick); throws when psched is unreadable. */
export function readTickInUsec(): number {
  return parsePsched(readFileSync(PSCHED_PATH, "utf8")); // pkg/sys/fs: node:fs would cost ~2.5 ms to import
}

const PSCHED_PATH = "/proc/net/psched";

/**
 * Returns a C `(unsigned int)` cast of a double as x86-64 compilers emit it (and Go on amd64): truncate toward zero
 * through a 64-bit integer, keep the low 32 bits; NaN and anything out of int64's range come out as 0.
 */
export function toU32(x: number): number {
  if (!Number.isFinite(x) || Math.abs(x) >= 2 ** 63) return 0;
  return Number(BigInt.asUintN(32, BigInt(Math.trunc(x))));
}

/** Returns iproute2's tc_calc_xmittime: the ticks that `size` bytes take at `rate` bytes/s. */
export function tcCalcXmittime(rate: number, size: number, tickInUsec: number): number {
  const time = toU32(TIME_UNITS_PER_SEC * (size / rate));
  return toU32(time * tickInUsec);
}

const ATM_CELL_PAYLOAD = 48;
const ATM_CELL_SIZE = 53;

export interface RateTableOptions {
  /** log2 of the cell size; chosen from mtu when undefined or negative. */
  cellLog?: number;
  mtu?: number;
  mpu?: number;
  linklayer?: number;
  tickInUsec: number;
}

/**
 * Returns the 256-entry rate table tc sends (tc_calc_rtable: entry i is the transmit time of (i+1) << cellLog
 * bytes, at least mpu, ATM-cell aligned for that link layer) and the cell_log it chose (the smallest that makes
 * mtu, 2047 when 0, fit in 256 cells, unless given). `rate` is the u32 of the rate spec.
 */
export function tcRateTable(rate: number, opts: RateTableOptions): { rtab: Uint32Array; cellLog: number } {
  const mtu = opts.mtu || 2047;
  let cellLog = opts.cellLog ?? -1;
  if (cellLog < 0) {
    cellLog = 0;
    while (mtu >> cellLog > 255) cellLog++;
  }
  const rtab = new Uint32Array(256);
  for (let i = 0; i < 256; i++) {
    let sz = (i + 1) << cellLog;
    if (sz < (opts.mpu ?? 0)) sz = opts.mpu!;
    if (opts.linklayer === TC_LINKLAYER_ATM) sz = Math.ceil(sz / ATM_CELL_PAYLOAD) * ATM_CELL_SIZE;
    rtab[i] = tcCalcXmittime(rate >>> 0, sz, opts.tickInUsec);
  }
  return { rtab, cellLog };
}

/** What `tc qdisc add dev D root [handle H] tbf rate R burst B[/cell] (limit L | latency T) [mtu M] [mpu P]` says. */
export interface Iproute2TbfOptions {
  index: number;
  handle?: number;
  /** Bytes per second. */
  rate: bigint;
  /** Bytes. */
  burst: number;
  limit?: number;
  latencyUs?: number;
  cellLog?: number;
  mtu?: number;
  mpu?: number;
  tickInUsec: number;
}

/** Returns the TbfSpec tc 6.1 builds for those options (q_tbf.c tbf_parse_opt, no peakrate): rate table included. */
export function iproute2Tbf(o: Iproute2TbfOptions): TbfSpec {
  const rate32 = o.rate >= 1n << 32n ? 0xffffffff : Number(o.rate);
  if (o.limit === undefined && o.latencyUs === undefined) throw new Error("tbf: either limit or latency is required"); // tc's rule
  const limit = o.limit ?? toU32((Number(o.rate) * o.latencyUs!) / TIME_UNITS_PER_SEC + o.burst);
  const linklayer = TC_LINKLAYER_ETHERNET;
  const { rtab, cellLog } = tcRateTable(rate32, { cellLog: o.cellLog, mtu: o.mtu, mpu: o.mpu, linklayer, tickInUsec: o.tickInUsec });
  return {
    kind: "tbf",
    index: o.index,
    handle: o.handle,
    qopt: {
      rate: { rate: rate32, cellLog, linklayer, cellAlign: -1, mpu: o.mpu ?? 0 },
      limit,
      buffer: tcCalcXmittime(rate32, o.burst, o.tickInUsec),
    },
    burst: o.burst,
    rate64: o.rate >= 1n << 32n ? o.rate : undefined,
    rtab,
  };
}
