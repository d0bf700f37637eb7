// meta/sbr/routing.ts: the pure part of source-based routing (SPEC-DIGEST §3.5): which addresses of prevResult are
// the interface's, which table is free, and the exact rule and route requests ADD and DEL send. No I/O here, so the
// unit tests check each request byte for byte against iproute2's (test/golden/sbr-*.hex).
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import type { Result } from "../../pkg/cni/types.ts";
import { bitsOf, contains, formatIP, networkOf, parseCIDR, parseIP, type IP, type IPNet } from "../../pkg/ip/cidr.ts";
import { RT_SCOPE_LINK, RT_TABLE_MAIN } from "../../pkg/ip/nl/consts.ts";
import type { Route, RouteSpec } from "../../pkg/ip/route.ts";
import type { RuleSpec } from "../../pkg/ip/rule.ts";

/** Upstream's firstTableID: tables below it are left to the administrator. */
export const FIRST_TABLE = 100;
const U32_MAX = 0xffffffff;

/** One address of prevResult that belongs to the interface, with its own gateway. */
export interface SourceIP {
  /** The address with its prefix, host bits kept (`10.1.2.3/24`). */
  addr: IPNet;
  gateway?: IP;
}

/**
 * Returns the addresses of prevResult on `ifname`: those without an `interface` index, or whose index is out of range
 * or names `ifname` (upstream getIPCfgs). Throws code 7 when prevResult has no address at all (upstream text).
 */
export function sourceIPs(ifname: string, prev: Result): SourceIP[] {
  const ips = prev.ips ?? [];
  if (ips.length === 0) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `No IP addresses supplied on interface: ${ifname}`); // upstream text
  const ifaces = prev.interfaces ?? [];
  const out: SourceIP[] = [];
  for (const ipc of ips) {
    const i = ipc.interface;
    if (i !== undefined && i >= 0 && i < ifaces.length && ifaces[i]!.name !== ifname) continue;
    // prevResult was parsed already, so its addresses are valid text.
    const ip: SourceIP = { addr: parseCIDR(ipc.address)! };
    if (ipc.gateway) ip.gateway = parseIP(ipc.gateway);
    out.push(ip);
  }
  return out;
}

/** The static gateways of `gateways`, at most one per family. */
export interface StaticGateways {
  v4?: IP;
  v6?: IP;
}

/** Returns `gateways` parsed; throws code 7 with upstream's text for more than 2, bad text or two of one family. */
export function parseGateways(list: (string | undefined)[]): StaticGateways {
  if (list.length > 2) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "gateways list cannot contain more than 2 entries (one IPv4, one IPv6)"); // upstream text
  const out: StaticGateways = {};
  for (const raw of list) {
    const s = raw ?? ""; // Go decodes a null element as ""
    const ip = parseIP(s);
    if (!ip) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid static gateway IP address: ${s}`); // upstream text
    const key = ip.family === 4 ? "v4" : "v6";
    if (out[key]) {
      const family = ip.family === 4 ? "IPv4" : "IPv6";
      const first = formatIP(out[key]);
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, `gateways list contains multiple ${family} addresses: ${first} and ${s}`); // upstream text
    }
    out[key] = ip;
  }
  return out;
}

/** Throws code 7 unless `table` is a routing table id a rule can point to (1 to 2^32-1). */
export function validateTable(table: number): void {
  // Upstream hands 0 to the kernel, which picks an empty IPv4 table itself and refuses IPv6 ("Invalid table"), and
  // truncates larger ints to 32 bits: neither is a table the user asked for.
  if (table < 1 || table > U32_MAX) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid table ${table}: must be between 1 and ${U32_MAX}`);
}

/**
 * Returns the first table from `from` on that no rule points to and no listed route is in. **[quirk]** upstream
 * lists main-table routes only, so a table that holds routes but has no rule counts as free.
 */
export function firstFreeTable(rules: readonly { table: number }[], routes: readonly { table: number }[], from: number): number {
  const used = new Set<number>();
  for (const r of rules) used.add(r.table);
  for (const r of routes) used.add(r.table);
  let t = from;
  while (used.has(t)) t++;
  return t;
}

/** Returns the rule `from <ip>/32|/128 lookup <table>` (no priority: the kernel picks one, as upstream's). */
export function sourceRule(ip: IP, table: number): RuleSpec {
  return { family: ip.family, src: { ip, prefix: bitsOf(ip.family) }, table };
}

/**
 * Returns `default via <gw> dev <oif> table <table>` as iproute2 sends it: IPv4 without RTA_DST, IPv6 with `::` as
 * RTA_DST (the kernel reads both as the default route; upstream's vishvananda sends RTA_DST for both).
 */
export function defaultRoute(family: 4 | 6, gw: IP, oif: number, table: number): RouteSpec {
  if (family === 4) return { family, gw, oif, table };
  return { family, dst: { ip: { family: 6, value: 0n }, prefix: 0 }, gw, oif, table };
}

/** Returns the gateway for the table of `ip`: the static one of its family, else its own (upstream's order). */
export function gatewayFor(ip: SourceIP, statics: StaticGateways): IP | undefined {
  return (ip.addr.ip.family === 4 ? statics.v4 : statics.v6) ?? ip.gateway;
}

/**
 * Returns whether a main-table route of the interface goes into the table of `addr`: its source or gateway lies in
 * addr's subnet, or it has neither (a generic route, which every address's table gets a copy of).
 */
export function belongsTo(addr: IPNet, r: Route): boolean {
  if (r.src && contains(addr, r.src)) return true;
  if (r.gw && contains(addr, r.gw)) return true;
  return !r.src && !r.gw;
}

/** Returns `<subnet> dev <oif> src <ip> scope link` in the main table: addSourceHints' route for one address. */
export function sourceHintRoute(addr: IPNet, oif: number): RouteSpec {
  return {
    family: addr.ip.family,
    dst: { ip: networkOf(addr), prefix: addr.prefix },
    src: addr.ip,
    oif,
    table: RT_TABLE_MAIN,
    scope: RT_SCOPE_LINK,
  };
}
