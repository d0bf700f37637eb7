// test/support/lower-link.ts: what the macvlan and ipvlan tests share: a stand-in "host NIC" (a veth pair, both
// ends up, inside a throwaway netns) to be the master, the slave link read back with `ip -j -d`, and a probe for a
// link kind the running kernel lacks (the kernel's own RTM_NEWLINK refusal, so a skip says what the kernel said).
import { addLink } from "../../pkg/ip/link.ts";
import type { LinkSpec } from "../../pkg/ip/link-kinds.ts";
import { NetlinkError, openRouteSocket } from "../../pkg/ip/nl/socket.ts";
import { EOPNOTSUPP } from "../../pkg/sys/libc.ts";
import { ipJson, tempNetns, type TempNetns } from "./netns.ts";
import { ipIn } from "./ns-exec.ts";

export interface NicOptions {
  /** IPv4 address with prefix put on the NIC ("192.168.50.1/24"). */
  address?: string;
  /** Gateway of a default route through the NIC (needs `address` on its subnet). */
  defaultVia?: string;
  mtu?: number;
}

/**
 * Adds a veth `name` (peer `<name>p`) to the netns, both ends up so the NIC has carrier (ipvlan slaves inherit the
 * master's), with an address and a default route through it when asked. Returns its ifindex.
 */
export function addNic(ns: TempNetns | string, name: string, opts: NicOptions = {}): number {
  ipIn(ns, ["link", "add", name, ...(opts.mtu ? ["mtu", String(opts.mtu)] : []), "type", "veth", "peer", "name", `${name}p`,
    ...(opts.mtu ? ["mtu", String(opts.mtu)] : [])]);
  ipIn(ns, ["link", "set", name, "up"]);
  ipIn(ns, ["link", "set", `${name}p`, "up"]);
  if (opts.address) ipIn(ns, ["addr", "add", opts.address, "dev", name]);
  if (opts.defaultVia) ipIn(ns, ["route", "add", "default", "via", opts.defaultVia, "dev", name]);
  return (ipJson(ns, ["link", "show", "dev", name]) as Array<{ ifindex: number }>)[0]!.ifindex;
}

/** One macvlan or ipvlan link as `ip -j -d link show` reports it, reduced to what the plugin decides. */
export interface SlaveState {
  ifname: string;
  kind: string;
  /** info_data.mode: "bridge", "private", … for macvlan; "l2", "l3", "l3s" for ipvlan. */
  mode: string;
  mtu: number;
  mac: string;
  up: boolean;
  /** The master's ifindex, in the master's netns (IFLA_LINK), wherever that is. */
  parentIndex: number;
  /** macvlan only: the broadcast queue length. */
  bcqueuelen?: number;
  /** ipvlan only: bridge, private or vepa. */
  flags?: string;
}

/** Returns the slave link called dev in the netns, or undefined when there is none. */
export function slaveIn(ns: TempNetns | string, dev: string): SlaveState | undefined {
  const links = ipJson(ns, ["-d", "link", "show"]) as any[];
  const l = links.find((x) => x.ifname === dev);
  if (!l) return undefined;
  const data = l.linkinfo?.info_data ?? {};
  return {
    ifname: l.ifname,
    kind: l.linkinfo?.info_kind,
    mode: data.mode,
    mtu: l.mtu,
    mac: l.address,
    up: (l.flags as string[]).includes("UP"),
    // `ip -j` names a parent in the same netns ("link": "c0") and gives another netns's by index.
    parentIndex: l.link_index ?? links.find((x) => x.ifname === l.link)?.ifindex,
    ...(data.bcqueuelen !== undefined ? { bcqueuelen: data.bcqueuelen } : {}),
    ...(typeof data.flags === "string" ? { flags: data.flags } : {}),
  };
}

/**
 * Returns why the running kernel cannot make links of this kind ("RTM_NEWLINK: Operation not supported: Unknown
 * device type"), or undefined when it can: one is made on a veth in a throwaway netns `<RUN_PREFIX>-<role>-N`,
 * which is then removed.
 */
export function kindMissing(kind: "ipvlan" | "macvlan", role = `probe${kind}`): string | undefined {
  using ns = tempNetns(role);
  const parentIndex = addNic(ns, "p0");
  using sock = openRouteSocket(ns.path);
  const spec: LinkSpec = kind === "ipvlan" ? { kind, name: "probe0", parentIndex, mode: "l2" } : { kind, name: "probe0", parentIndex, mode: "bridge" };
  try {
    addLink(sock, spec);
    return undefined;
  } catch (e) {
    if (e instanceof NetlinkError && e.errno === EOPNOTSUPP) return e.message;
    throw e;
  }
}
