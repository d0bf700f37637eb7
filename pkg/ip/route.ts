// pkg/ip/route.ts: routes over rtnetlink: add (four NLM_F_* modes), delete, list with filters. Encoders are pure
// functions, byte-tested against what `ip route add|replace|append|prepend|del` sends.
import { afOf, familyOf, readIP } from "./address.ts";
import { ipBytes, type IP, type IPNet } from "./cidr.ts";
import {
  AF_UNSPEC, NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
  RT_SCOPE_NOWHERE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RT_TABLE_UNSPEC, RTA_DST, RTA_GATEWAY, RTA_METRICS, RTA_MULTIPATH,
  RTA_OIF, RTA_PREFSRC, RTA_PRIORITY, RTA_TABLE, RTAX_ADVMSS, RTAX_MTU, RTM_DELROUTE, RTM_GETROUTE, RTM_NEWROUTE,
  RTMSG_LEN, RTN_UNICAST, RTN_UNSPEC, RTNH_LEN, RTPROT_BOOT, RTPROT_UNSPEC,
} from "./nl/consts.ts";
import { NetlinkParseError, parseAttrs, readRtMsg, readU32 } from "./nl/reader.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";

/** One path of a multipath route; weight is 1-256 (rtnh_hops + 1). */
export interface NextHop { gw?: IP; oif: number; weight?: number }

/** A route to add or delete. Undefined fields take the kernel's/iproute2's defaults noted on each. */
export interface RouteSpec {
  family: 4 | 6;
  /** Undefined: the default route (dst_len 0, no RTA_DST). */
  dst?: IPNet;
  gw?: IP;
  oif?: number;
  /** Default RT_TABLE_MAIN; above 255 it goes in RTA_TABLE with rtm_table RT_TABLE_UNSPEC, as iproute2 sends it. */
  table?: number;
  /**
   * RT_SCOPE_*. Adding defaults to RT_SCOPE_UNIVERSE whether or not there is a gateway, as vishvananda/netlink
   * (and so upstream) sends it; iproute2 would pick RT_SCOPE_LINK for a route without one, so pass that explicitly.
   * Deleting defaults to RT_SCOPE_NOWHERE, which matches any scope.
   */
  scope?: number;
  /** RTA_PRIORITY, the metric. */
  priority?: number;
  /** Adding defaults to RTPROT_BOOT; deleting to 0, which matches any. */
  protocol?: number;
  /** Adding defaults to RTN_UNICAST; deleting to 0, which matches any. */
  type?: number;
  /** RTA_PREFSRC. */
  src?: IP;
  /** RTAX_MTU in RTA_METRICS. */
  mtu?: number;
  /** RTAX_ADVMSS in RTA_METRICS. */
  advmss?: number;
  /** RTA_MULTIPATH: one rtnexthop per path. */
  multipath?: NextHop[];
}

/** A route as the kernel reports it (RTM_NEWROUTE): the header fields are always known. */
export interface Route extends RouteSpec {
  table: number;
  scope: number;
  protocol: number;
  type: number;
}

/**
 * How an add treats an existing route to the same prefix: "excl" (CREATE|EXCL, `ip route add`) fails with EEXIST;
 * "create" (CREATE only, `ip route prepend`, upstream's "create without exclusive") adds alongside it; "replace"
 * (CREATE|REPLACE) replaces it; "append" (CREATE|APPEND) adds after it.
 */
export type RouteMode = "excl" | "create" | "replace" | "append";

const MODE_FLAGS: Readonly<Record<RouteMode, number>> = {
  excl: NLM_F_CREATE | NLM_F_EXCL,
  create: NLM_F_CREATE,
  replace: NLM_F_CREATE | NLM_F_REPLACE,
  append: NLM_F_CREATE | NLM_F_APPEND,
};

function familyBytes(ip: IP, family: 4 | 6, what: string): Uint8Array {
  if (ip.family !== family) throw new Error(`route ${what} ${ip.family === 4 ? "IPv4" : "IPv6"} address in an IPv${family} route`);
  return ipBytes(ip);
}

// The attribute order is iproute2's for `ip route add DST via GW metric M table T src S [mtu M advmss A]
// [nexthop ...] dev D`: options as parsed, then RTA_OIF and RTA_METRICS after the loop.
function writeRoute(w: NlWriter, spec: RouteSpec, defaults: { scope: number; protocol: number; type: number }): void {
  const table = spec.table ?? RT_TABLE_MAIN;
  w.rtmsg({
    family: afOf(spec.family),
    dstLen: spec.dst?.prefix ?? 0,
    table: table > 255 ? RT_TABLE_UNSPEC : table,
    protocol: spec.protocol ?? defaults.protocol,
    scope: spec.scope ?? defaults.scope,
    type: spec.type ?? defaults.type,
  });
  if (spec.dst) w.bytes(RTA_DST, familyBytes(spec.dst.ip, spec.family, "dst"));
  if (spec.gw) w.bytes(RTA_GATEWAY, familyBytes(spec.gw, spec.family, "gateway"));
  if (spec.priority !== undefined) w.u32(RTA_PRIORITY, spec.priority);
  if (table > 255) w.u32(RTA_TABLE, table);
  if (spec.src) w.bytes(RTA_PREFSRC, familyBytes(spec.src, spec.family, "src"));
  if (spec.multipath?.length) writeMultipath(w, spec.family, spec.multipath);
  if (spec.oif !== undefined) w.u32(RTA_OIF, spec.oif);
  if (spec.mtu !== undefined || spec.advmss !== undefined) {
    const m = w.beginNest(RTA_METRICS);
    if (spec.mtu !== undefined) w.u32(RTAX_MTU, spec.mtu);
    if (spec.advmss !== undefined) w.u32(RTAX_ADVMSS, spec.advmss);
    w.endNest(m);
  }
}

function writeMultipath(w: NlWriter, family: 4 | 6, hops: NextHop[]): void {
  const mp = w.beginNest(RTA_MULTIPATH);
  for (const nh of hops) {
    const gw = nh.gw ? familyBytes(nh.gw, family, "nexthop gateway") : undefined;
    const weight = nh.weight ?? 1;
    if (!Number.isInteger(weight) || weight < 1 || weight > 256) throw new Error(`invalid nexthop weight ${weight} (must be 1-256)`);
    // rtnh_len covers the header and its attributes: RTA_GATEWAY is 8 or 20 bytes, already aligned.
    const head = new Uint8Array(RTNH_LEN);
    const v = new DataView(head.buffer);
    v.setUint16(0, RTNH_LEN + (gw ? 4 + gw.length : 0), true);
    v.setUint8(3, weight - 1);
    v.setInt32(4, nh.oif, true);
    w.struct(head);
    if (gw) w.bytes(RTA_GATEWAY, gw);
  }
  w.endNest(mp);
}

/** Returns RTM_NEWROUTE for spec; mode picks the NLM_F_* flags (default "excl", as `ip route add`). */
export function encodeNewRoute(seq: number, spec: RouteSpec, mode: RouteMode = "excl"): Uint8Array {
  const w = new NlWriter(RTM_NEWROUTE, NLM_F_REQUEST | NLM_F_ACK | MODE_FLAGS[mode], seq);
  writeRoute(w, spec, { scope: RT_SCOPE_UNIVERSE, protocol: RTPROT_BOOT, type: RTN_UNICAST });
  return w.finish();
}

/** Returns RTM_DELROUTE for spec, as `ip route del` (unset scope/protocol/type match any route). */
export function encodeDelRoute(seq: number, spec: RouteSpec): Uint8Array {
  const w = new NlWriter(RTM_DELROUTE, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeRoute(w, spec, { scope: RT_SCOPE_NOWHERE, protocol: RTPROT_UNSPEC, type: RTN_UNSPEC });
  return w.finish();
}

/** Returns the RTM_GETROUTE dump request of `ip [-4|-6] route show table all` (the kernel sends every table). */
export function encodeListRoutes(seq: number, family?: 4 | 6): Uint8Array {
  const w = new NlWriter(RTM_GETROUTE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.rtmsg({ family: family ? afOf(family) : AF_UNSPEC });
  return w.finish();
}

function parseMultipath(buf: Uint8Array, family: 4 | 6): NextHop[] {
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  const out: NextHop[] = [];
  let o = 0;
  while (o + RTNH_LEN <= buf.length) {
    const len = v.getUint16(o, true);
    if (len < RTNH_LEN || o + len > buf.length) {
      throw new NetlinkParseError(`RTA_MULTIPATH: rtnh_len ${len} at offset ${o}, ${buf.length - o} bytes left`);
    }
    const nh: NextHop = { oif: v.getInt32(o + 4, true), weight: v.getUint8(o + 3) + 1 };
    const a = parseAttrs(buf.subarray(o + RTNH_LEN, o + len));
    if (a.has(RTA_GATEWAY)) nh.gw = readIP(a.get(RTA_GATEWAY), "RTA_GATEWAY", family);
    out.push(nh);
    o += (len + 3) & ~3;
  }
  return out;
}

/**
 * Returns the Route in an RTM_NEWROUTE payload, or undefined for a family other than IPv4/IPv6 (multicast routing
 * tables answer an AF_UNSPEC dump too); throws NetlinkParseError on malformed attributes.
 */
export function parseRoute(payload: Uint8Array): Route | undefined {
  const h = readRtMsg(payload);
  const family = familyOf(h.family);
  if (family === undefined) return undefined;
  const a = parseAttrs(payload, RTMSG_LEN);
  const route: Route = {
    family,
    table: a.has(RTA_TABLE) ? readU32(a.get(RTA_TABLE), "RTA_TABLE") : h.table,
    scope: h.scope,
    protocol: h.protocol,
    type: h.type,
  };
  // A default route has dst_len 0; the kernel sends no RTA_DST for it, and we report none even if one came.
  if (h.dstLen > 0) route.dst = { ip: readIP(a.get(RTA_DST), "RTA_DST", family), prefix: h.dstLen };
  if (a.has(RTA_GATEWAY)) route.gw = readIP(a.get(RTA_GATEWAY), "RTA_GATEWAY", family);
  if (a.has(RTA_OIF)) route.oif = readU32(a.get(RTA_OIF), "RTA_OIF");
  if (a.has(RTA_PRIORITY)) route.priority = readU32(a.get(RTA_PRIORITY), "RTA_PRIORITY");
  if (a.has(RTA_PREFSRC)) route.src = readIP(a.get(RTA_PREFSRC), "RTA_PREFSRC", family);
  const metrics = a.get(RTA_METRICS);
  if (metrics) {
    const m = parseAttrs(metrics);
    if (m.has(RTAX_MTU)) route.mtu = readU32(m.get(RTAX_MTU), "RTAX_MTU");
    if (m.has(RTAX_ADVMSS)) route.advmss = readU32(m.get(RTAX_ADVMSS), "RTAX_ADVMSS");
  }
  const mp = a.get(RTA_MULTIPATH);
  if (mp) route.multipath = parseMultipath(mp, family);
  return route;
}

/** Which routes listRoutes returns. */
export interface RouteFilter {
  family?: 4 | 6;
  /** Default RT_TABLE_MAIN; 0 means every table. */
  table?: number;
  /** Only routes out of this ifindex (RTA_OIF, or any path of a multipath route). */
  oif?: number;
}

/** Returns the routes in the socket's netns that pass the filter (main table unless told), in the kernel's order. */
export function listRoutes(sock: NetlinkSocket, filter: RouteFilter = {}): Route[] {
  const table = filter.table ?? RT_TABLE_MAIN;
  const out: Route[] = [];
  // Without NETLINK_GET_STRICT_CHK the kernel ignores filters in a dump request, so filter here.
  for (const payload of sock.dump(encodeListRoutes(sock.nextSeq(), filter.family))) {
    const r = parseRoute(payload);
    if (!r) continue;
    if (filter.family !== undefined && r.family !== filter.family) continue;
    if (table !== 0 && r.table !== table) continue;
    if (filter.oif !== undefined && r.oif !== filter.oif && !r.multipath?.some((nh) => nh.oif === filter.oif)) continue;
    out.push(r);
  }
  return out;
}

/**
 * Adds a route; mode "excl" (default) fails with EEXIST when the same route exists, "create" adds a sibling
 * (upstream's AddRoute/RouteAddEcmp). Throws NetlinkError (ENETUNREACH for an unreachable gateway, ENODEV, ...).
 */
export function addRoute(sock: NetlinkSocket, spec: RouteSpec, mode: RouteMode = "excl"): void {
  sock.request(encodeNewRoute(sock.nextSeq(), spec, mode));
}

/** Deletes the first route matching spec; throws NetlinkError (ESRCH, which isNotFound accepts, when none matches). */
export function delRoute(sock: NetlinkSocket, spec: RouteSpec): void {
  sock.request(encodeDelRoute(sock.nextSeq(), spec));
}
