// test/support/one-link.ts: what the tests of plugins that put ONE link into the container share (vlan, dummy, and
// the like): the result text each spec version prints for an ADD whose only interface is the container's, with every
// IP on interface 0, and that link's details as `ip -j -d` shows them. Nothing here touches the caller's own netns.
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { ipamResult, type Ip } from "./host-local.ts";
import { ipJson, type TempNetns } from "./netns.ts";

/** The container link as a result names it. */
export interface OneLink {
  name: string;
  mac: string;
  sandbox: string;
}

/**
 * Returns the result object of such an ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: 1.x sorted keys, no empty dns; 0.3/0.4 interfaces
 * {name, mac, sandbox}, `version` and `interface: 0` on each IP, dns always; 0.1/0.2 IPAM's shape (no interfaces).
 */
export function oneLinkResult(version: string, link: OneLink, ips: Ip[], routes: Route[] = [], dns: DNS = {}): object {
  const base = ipamResult(version, ips, routes, dns) as Record<string, any>;
  if (!versionAtLeast(version, "0.3.0")) return base;
  if (versionAtLeast(version, "1.0.0")) {
    return sortKeys({ ...base, interfaces: [link], ips: (base.ips ?? []).map((ip: Ip) => ({ ...ip, interface: 0 })) });
  }
  const { cniVersion, ips: ipamIps, ...rest } = base;
  return {
    cniVersion,
    interfaces: [{ name: link.name, mac: link.mac, sandbox: link.sandbox }],
    ...(ipamIps ? { ips: ipamIps.map(({ version: v, ...ip }: { version: string }) => ({ version: v, interface: 0, ...ip })) } : {}),
    ...rest,
  };
}

function sortKeys(v: unknown): any {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** One link as `ip -j -d link show` reports it, reduced to what these plugins decide. */
export interface LinkDetail {
  ifname: string;
  kind?: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** vlan: the 802.1Q id and protocol. */
  vlanId?: number;
  vlanProtocol?: string;
  /** The lower device by name, when it sits in the same netns (`"link": "m0"`). */
  lower?: string;
  /** The lower device's ifindex in its own netns, when it sits in another one (`link_index` with `link_netnsid`). */
  lowerIndex?: number;
}

/** Returns the link called dev in the netns, or undefined when there is none. */
export function linkDetail(ns: TempNetns | string, dev: string): LinkDetail | undefined {
  const all = ipJson(ns, ["-d", "link", "show"]) as any[];
  const l = all.find((x) => x.ifname === dev);
  if (!l) return undefined;
  const data = l.linkinfo?.info_data ?? {};
  return {
    ifname: l.ifname,
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
    mac: l.address,
    mtu: l.mtu,
    up: (l.flags as string[]).includes("UP"),
    ...(data.id !== undefined ? { vlanId: data.id, vlanProtocol: data.protocol } : {}),
    ...(typeof l.link === "string" ? { lower: l.link } : {}),
    ...(l.link_netnsid !== undefined ? { lowerIndex: l.link_index } : {}),
  };
}

/** Returns the names of every link of the netns, sorted (the kernel's order says nothing here). */
export function sortedLinkNames(ns: TempNetns | string): string[] {
  return (ipJson(ns, ["link", "show"]) as any[]).map((l) => l.ifname as string).sort();
}

/** Returns the ifindex of a link of the netns; throws when it is missing. */
export function ifindexOf(ns: TempNetns | string, dev: string): number {
  const l = (ipJson(ns, ["link", "show"]) as any[]).find((x) => x.ifname === dev);
  if (!l) throw new Error(`no link ${dev}`);
  return l.ifindex;
}
