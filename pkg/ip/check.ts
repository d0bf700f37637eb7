// pkg/ip/check.ts: CHECK's view of an interface (SPEC-DIGEST §0.8): every result address is on the link, a route
// to each address's prefix exists, and every result route exists (main table only, as upstream looks).
import type { IPConfig, Route } from "../cni/types.ts";
import { formatCIDR, networkOf, parseCIDR, parseIP, ipEqual } from "./cidr.ts";
import { listAddrs } from "./address.ts";
import { getLinkByName, type Link } from "./link.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { listRoutes } from "./route.ts";

/** Throws unless every IP of the result is on `ifname` with its prefix, and a route to its network exists. */
export function validateExpectedInterfaceIPs(sock: NetlinkSocket, ifname: string, ips: IPConfig[]): void {
  for (const ipc of ips) {
    const want = parseCIDR(ipc.address)!;
    let index: number;
    try {
      index = getLinkByName(sock, ifname).index;
    } catch {
      throw new Error(`Cannot find container link ${ifname}`); // upstream text
    }
    const found = listAddrs(sock, { index }).some((a) => ipEqual(a.ip, want.ip) && a.prefix === want.prefix);
    if (!found) throw new Error(`Failed to match addr ${ipc.address} on interface ${ifname}`); // upstream text
    const net = networkOf(want);
    const hasRoute = listRoutes(sock, { family: want.ip.family }).some((r) => r.dst !== undefined && r.dst.prefix === want.prefix && ipEqual(networkOf(r.dst), net));
    if (!hasRoute) throw new Error(`Failed to find Gateway ${ipc.gateway ?? "<nil>"} for interface ${ifname}`); // upstream text
  }
}

/** Throws unless each result route exists; a default route only needs some default route (its gw is not compared). */
export function validateExpectedRoutes(sock: NetlinkSocket, routes: Route[]): void {
  for (const r of routes) {
    const dst = parseCIDR(r.dst)!;
    const gw = r.gw ? parseIP(r.gw) : undefined;
    const isDefault = dst.prefix === 0;
    const found = listRoutes(sock, { family: dst.ip.family }).some((have) => {
      if (isDefault) return have.dst === undefined || have.dst.prefix === 0;
      if (!have.dst || have.dst.prefix !== dst.prefix || !ipEqual(networkOf(have.dst), networkOf(dst))) return false;
      return !gw || (have.gw !== undefined && ipEqual(have.gw, gw));
    });
    if (!found) throw new Error(`Expected Route {Dst:${formatCIDR(dst)} GW:${r.gw ?? "<nil>"}} not found in routing table`); // upstream text
  }
}

/**
 * How upstream's ipvlan and macvlan CHECKs word their link errors: the same sentences, capitalised in ipvlan's and
 * not in macvlan's, naming the mode "IPVlan" or "macvlan".
 */
export interface SlaveCheckWords {
  capitalized: boolean;
  modeName: string;
}

/**
 * Throws upstream's texts unless the container has a link called name of `kind`, whose mode (read by `modeOf`) is
 * `mode`, with the MAC `mac` when one is given.
 */
export function checkSlaveLink(
  sock: NetlinkSocket, name: string, mac: string | undefined, kind: string, mode: string, modeOf: (l: Link) => string | undefined,
  words: SlaveCheckWords,
): void {
  const say = (text: string) => new Error(words.capitalized ? text[0]!.toUpperCase() + text.slice(1) : text);
  let link: Link;
  try {
    link = getLinkByName(sock, name);
  } catch {
    throw say(`container Interface name in prevResult: ${name} not found`); // upstream text
  }
  if (link.kind !== kind) throw say(`error: Container interface ${link.name} not of type ${kind}`); // upstream text
  const have = modeOf(link);
  if (have !== mode) throw say(`container ${words.modeName} mode ${have ?? "unknown"} does not match expected value: ${mode}`); // upstream text
  if (mac && mac !== link.mac) throw say(`interface ${name} Mac ${mac} doesn't match container Mac: ${link.mac}`); // upstream text
}
