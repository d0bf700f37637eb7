// pkg/ip/default-route.ts: which link carries the default route, the master macvlan and ipvlan fall back to when
// the config names none (upstream getDefaultRouteInterfaceName, SPEC-DIGEST §1.3 and §1.4).
import { getLinkByIndex } from "./link.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { listRoutes } from "./route.ts";

/**
 * Returns the name of the link of the first route with an all-zeros destination (either family, main table) in the
 * socket's netns, in the order of one AF_UNSPEC dump (IPv4, then IPv6), as upstream's RouteList(nil, FAMILY_ALL)
 * walk finds it. Throws upstream's `no default route interface found` when there is none or it has no output link
 * (a blackhole default); throws NetlinkError when the dump or the link lookup fails.
 */
export function defaultRouteLinkName(sock: NetlinkSocket): string {
  const route = listRoutes(sock).find((r) => r.dst === undefined);
  // A multipath default carries no RTA_OIF (upstream then looks up ifindex 0 and fails); its first hop's link is
  // the useful answer.
  const oif = route?.oif ?? route?.multipath?.[0]?.oif;
  if (!oif) throw new Error("no default route interface found"); // upstream text
  return getLinkByIndex(sock, oif).name;
}
