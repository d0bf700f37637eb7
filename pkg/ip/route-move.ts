// pkg/ip/route-move.ts: what sbr and vrf need to move an interface's routes into another table: the main-table
// routes as vishvananda/netlink's RouteList(link, family) returns them to upstream (no cloned routes, no multipath
// route unless its own RTA_OIF matches), and a dumped route turned back into a request for another table.
import { RT_TABLE_MAIN } from "./nl/consts.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { encodeListRoutes, parseRoute, type Route, type RouteSpec } from "./route.ts";

// RTM_F_CLONED, <linux/rtnetlink.h>: a cached (exception) route, which a dump without NETLINK_GET_STRICT_CHK also
// sends; vishvananda skips these, and moving one would turn a cache entry into a real route.
const RTM_F_CLONED = 0x200;

/** Which main-table routes listMainRoutes returns. */
export interface MainRouteFilter {
  family?: 4 | 6;
  /** Only routes whose RTA_OIF is this ifindex (a multipath route has none, so it never matches). */
  oif?: number;
}

/** Returns the main table's routes (cloned ones left out) that pass the filter, in the kernel's order. */
export function listMainRoutes(sock: NetlinkSocket, filter: MainRouteFilter = {}): Route[] {
  const out: Route[] = [];
  for (const payload of sock.dump(encodeListRoutes(sock.nextSeq(), filter.family))) {
    if (payload.length >= 12) {
      const flags = new DataView(payload.buffer, payload.byteOffset, payload.byteLength).getUint32(8, true);
      if (flags & RTM_F_CLONED) continue;
    }
    const r = parseRoute(payload);
    if (!r || r.table !== RT_TABLE_MAIN) continue;
    if (filter.family !== undefined && r.family !== filter.family) continue;
    if (filter.oif !== undefined && r.oif !== filter.oif) continue;
    out.push(r);
  }
  return out;
}

/**
 * Returns a dumped route as a request for `table`: every field the kernel reported that a request carries (dst, gw,
 * oif, scope, metric, protocol, type, prefsrc, mtu, advmss, nexthops), with rtm_flags left 0, as upstream clears them
 * (a dumped RTNH_F_LINKDOWN in a request is EINVAL).
 */
export function routeInTable(r: Route, table: number): RouteSpec {
  const spec: RouteSpec = { family: r.family, table, scope: r.scope, protocol: r.protocol, type: r.type };
  if (r.dst) spec.dst = r.dst;
  if (r.gw) spec.gw = r.gw;
  if (r.oif !== undefined) spec.oif = r.oif;
  if (r.priority !== undefined) spec.priority = r.priority;
  if (r.src) spec.src = r.src;
  if (r.mtu !== undefined) spec.mtu = r.mtu;
  if (r.advmss !== undefined) spec.advmss = r.advmss;
  if (r.multipath?.length) spec.multipath = r.multipath;
  return spec;
}
