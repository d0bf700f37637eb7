// pkg/ip/route-get.ts: asks the kernel which route it would use for one destination (`ip route get ADDR`,
// vishvananda's RouteGet), for plugins that act on the interface traffic to an address leaves by.
import { afOf } from "./address.ts";
import { bitsOf, ipBytes, type IP } from "./cidr.ts";
import { NLM_F_REQUEST, RTA_DST, RTM_GETROUTE } from "./nl/consts.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";
import { parseRoute, type Route } from "./route.ts";

/** Returns the RTM_GETROUTE request for one destination, as vishvananda's RouteGet sends it (no ACK, no flags). */
export function encodeGetRoute(seq: number, dst: IP): Uint8Array {
  const w = new NlWriter(RTM_GETROUTE, NLM_F_REQUEST, seq);
  w.rtmsg({ family: afOf(dst.family), dstLen: bitsOf(dst.family) });
  w.bytes(RTA_DST, ipBytes(dst));
  return w.finish();
}

/** Returns the route the kernel picks for dst in the socket's netns; throws NetlinkError (ENETUNREACH: no route). */
export function getRoute(sock: NetlinkSocket, dst: IP): Route {
  const route = parseRoute(sock.query(encodeGetRoute(sock.nextSeq(), dst)));
  if (!route) throw new Error(`failed to get the route to ${dst.family === 4 ? "an IPv4" : "an IPv6"} address: unexpected reply family`);
  return route;
}
