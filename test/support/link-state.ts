// test/support/link-state.ts: the links, addresses and routes of a throwaway netns read back with `ip -j`, reduced to
// comparable JSON (what a plugin decides, without counters, lifetimes or the kernel's dump order).
import { ipJson, type TempNetns } from "./netns.ts";

/** One link as `ip -j -d link` shows it, reduced to what a plugin decides. */
export interface LinkState {
  ifindex: number;
  ifname: string;
  kind?: string;
  mac: string;
  mtu: number;
  up: boolean;
  operstate: string;
  promisc: boolean;
  /** Name of the bridge it is a port of. */
  master?: string;
  /** The peer's ifindex (in the peer's netns) for a veth. */
  peerIndex?: number;
  /** Bridge-port flags, for a port. */
  hairpin?: boolean;
  isolated?: boolean;
  /** A bridge's vlan_filtering. */
  vlanFiltering?: boolean;
}

/** Returns every link of the netns. */
export function linksIn(ns: TempNetns | string): LinkState[] {
  return (ipJson(ns, ["-d", "link", "show"]) as any[]).map((l) => {
    const info = l.linkinfo ?? {};
    const port = info.info_slave_kind === "bridge" ? info.info_slave_data : undefined;
    return {
      ifindex: l.ifindex,
      ifname: l.ifname,
      ...(info.info_kind ? { kind: info.info_kind } : {}),
      mac: l.address,
      mtu: l.mtu,
      up: (l.flags as string[]).includes("UP"),
      operstate: l.operstate,
      promisc: (l.flags as string[]).includes("PROMISC"),
      ...(l.master ? { master: l.master } : {}),
      ...(l.link_index !== undefined ? { peerIndex: l.link_index } : {}),
      ...(port ? { hairpin: port.hairpin, isolated: port.isolated } : {}),
      ...(info.info_kind === "bridge" ? { vlanFiltering: info.info_data?.vlan_filtering === 1 } : {}),
    };
  });
}

/** Returns one link of the netns by name, or undefined. */
export function linkIn(ns: TempNetns | string, name: string): LinkState | undefined {
  return linksIn(ns).find((l) => l.ifname === name);
}

/** Returns the names of every link of the netns. */
export function linkNames(ns: TempNetns | string): string[] {
  return linksIn(ns).map((l) => l.ifname);
}

/** Returns the veths of the netns. */
export function vethsIn(ns: TempNetns | string): LinkState[] {
  return linksIn(ns).filter((l) => l.kind === "veth");
}

/** One address of a link, without lifetimes. */
export interface AddrState {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  broadcast?: string;
  tentative?: true;
}

/** What addrsIn keeps besides family, local and prefixlen. */
export interface AddrOptions {
  /** An IPv4 address's broadcast. */
  broadcast?: boolean;
  /** IPv6's DAD flag (settled on a container side before ADD returns, not on a host side). */
  tentative?: boolean;
}

/** Returns the addresses of one link, link-local ones left out. */
export function addrsIn(ns: TempNetns | string, dev: string, opts: AddrOptions = {}): AddrState[] {
  const links = ipJson(ns, ["addr", "show", "dev", dev]) as any[];
  return (links[0]?.addr_info ?? [])
    .filter((a: any) => a.scope !== "link")
    .map((a: any) => ({
      family: a.family,
      local: a.local,
      prefixlen: a.prefixlen,
      ...(opts.broadcast && a.broadcast ? { broadcast: a.broadcast } : {}),
      ...(opts.tentative && a.tentative ? { tentative: true } : {}),
    }));
}

/** One route of the main table as `ip -j route` shows it, without the empty `flags` and IPv6's `pref`. */
export type RouteState = Record<string, unknown>;

/** Returns the main-table routes of one family, sorted by dst, then gateway (the dump order is the kernel's business). */
export function routesIn(ns: TempNetns | string, family: 4 | 6): RouteState[] {
  const routes = ipJson(ns, [`-${family}`, "route", "show"]) as any[];
  return routes
    .map(({ flags, pref, ...r }) => ((flags as string[]).length ? { ...r, flags } : r))
    .sort((a, b) => String(a.dst).localeCompare(String(b.dst)) || String(a.gateway).localeCompare(String(b.gateway)));
}
