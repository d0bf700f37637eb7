// test/support/tap.ts: what the tap tests share: the network config they send, the result text each spec version
// prints for a tap ADD, and a tap as `ip -j -d link` shows it inside a throwaway netns (the tun driver's own view:
// type, pi, vnet_hdr, multi_queue, persist, user, group), reduced to what the plugin decides.
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { sortKeys } from "./bridge.ts";
import { ipamResult, NET, type Ip } from "./host-local.ts";
import { ipJson, type TempNetns } from "./netns.ts";

/** Returns a tap network config (network NET); `dataDir` set adds host-local IPAM on 10.1.2.0/24 plus `ipam`. */
export function tapConf(version: string, extra: object = {}, dataDir?: string, ipam: object = {}): Record<string, unknown> {
  return {
    cniVersion: version,
    name: NET,
    type: "tap",
    ...(dataDir !== undefined ? { ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.1.2.0/24" }]], ...ipam } } : {}),
    ...extra,
  };
}

/**
 * Returns the result object of a tap ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: one interface (the tap, in the sandbox) and `interface: 0` on
 * every IP where the version has them; 0.1/0.2 are IPAM's shape. No `ips`: the layer-2 result.
 */
export function tapResult(version: string, tap: { mac: string; sandbox: string; ifname?: string }, ips: Ip[], routes: Route[] = [], dns: DNS = {}): object {
  const base = ipamResult(version, ips, routes, dns) as Record<string, any>;
  if (!versionAtLeast(version, "0.3.0")) return base;
  const ifaces = [{ name: tap.ifname ?? "eth0", mac: tap.mac, sandbox: tap.sandbox }];
  if (versionAtLeast(version, "1.0.0")) {
    return sortKeys({ ...base, interfaces: ifaces, ...(base.ips ? { ips: base.ips.map((ip: Ip) => ({ ...ip, interface: 0 })) } : {}) });
  }
  // 0.3/0.4: cniVersion, interfaces, ips (version, interface, address, gateway), routes, dns.
  const { cniVersion, ips: ipamIps, ...rest } = base;
  return {
    cniVersion,
    interfaces: ifaces,
    ...(ipamIps ? { ips: ipamIps.map(({ version: v, ...ip }: { version: string }) => ({ version: v, interface: 0, ...ip })) } : {}),
    ...rest,
  };
}

/** The tun driver's view of a tap (IFLA_TUN_* as `ip -d` prints them); user and group only when set. */
export interface TunData {
  type: "tap" | "tun";
  pi: boolean;
  vnet_hdr: boolean;
  multi_queue: boolean;
  persist: boolean;
  /** A multi-queue device counts its queues: none are attached to a tap the plugin made. */
  numqueues?: number;
  numdisabled?: number;
  user?: number | string;
  group?: number | string;
}

/** One tap as the plugin leaves it. */
export interface TapState {
  kind?: string;
  tun?: TunData;
  mac: string;
  mtu: number;
  up: boolean;
  /** The bridge it is a port of. */
  master?: string;
}

/** Returns the link `dev` of the netns as a TapState, or undefined when there is none. */
export function tapIn(ns: TempNetns | string, dev: string): TapState | undefined {
  const l = (ipJson(ns, ["-d", "link", "show"]) as any[]).find((x) => x.ifname === dev);
  if (!l) return undefined;
  return {
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
    ...(l.linkinfo?.info_data ? { tun: l.linkinfo.info_data } : {}),
    mac: l.address,
    mtu: l.mtu,
    up: (l.flags as string[]).includes("UP"),
    ...(l.master ? { master: l.master } : {}),
  };
}

/**
 * Returns the TunData of a tap as `ip tuntap add mode tap` makes it: no packet info, no vnet header (upstream's
 * path unless both owner and group are set, or with selinuxContext).
 */
export function iptoolTun(opts: { multiQueue?: boolean; user?: number; group?: number } = {}): TunData {
  return {
    type: "tap", pi: false, vnet_hdr: false, multi_queue: opts.multiQueue ?? false, ...(opts.multiQueue ? { numqueues: 0, numdisabled: 0 } : {}),
    persist: true, ...(opts.user !== undefined ? { user: opts.user } : {}), ...(opts.group !== undefined ? { group: opts.group } : {}),
  };
}

/** Returns the TunData of a tap as vishvananda/netlink makes it (owner and group set): vnet header, packet info unless multi-queue. */
export function netlinkTun(opts: { multiQueue?: boolean; user: number; group: number }): TunData {
  const mq = opts.multiQueue ?? false;
  return { type: "tap", pi: !mq, vnet_hdr: true, multi_queue: mq, ...(mq ? { numqueues: 0, numdisabled: 0 } : {}), persist: true, user: opts.user, group: opts.group };
}
