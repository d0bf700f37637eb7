// plugins/bridge/port.ts: the layer-2 half of the bridge plugin: the bridge itself, a veth's host end made a port of
// it (hairpin, isolation, VLANs), and the wait for that port to come up (upstream bridge.go ensureBridge, setupVeth,
// removeDefaultVlan, and the retry loop of cmdAdd).
import { EEXIST } from "../../pkg/sys/libc.ts";
import { addBridgeVlan, delBridgeVlan, listBridgeVlans, setPortHairpin, setPortIsolated } from "../../pkg/ip/bridge-port.ts";
import { addLink, getLinkByName, setLinkMaster, setLinkPromisc, setLinkUp, type Link } from "../../pkg/ip/link.ts";
import { hasErrno, isNotFound, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { writeSysctl } from "../../pkg/ip/sysctl.ts";

const q = JSON.stringify;
const msg = (e: unknown) => (e as Error).message;

/** What a bridge needs to look like for one config. */
export interface BridgeOptions {
  name: string;
  mtu: number;
  promisc: boolean;
  /** Set vlan_filtering=1, only when this call creates the bridge. */
  vlanFiltering: boolean;
}

/**
 * Returns the bridge as it is before any port of this ADD joins it (its MAC is the one the gateway pins later),
 * creating it when missing and bringing it up. Call it from the host netns (sock's). Throws upstream's texts,
 * wrapped as `failed to create bridge "<name>": …`.
 */
export function ensureBridge(sock: NetlinkSocket, opts: BridgeOptions): Link {
  try {
    return ensureBridgeLink(sock, opts);
  } catch (e) {
    throw new Error(`failed to create bridge ${q(opts.name)}: ${msg(e)}`, { cause: e }); // upstream text
  }
}

type BridgeSpec = Extract<Parameters<typeof addLink>[1], { kind: "bridge" }>;

/** Returns the link to create for a bridge: upstream's LinkAdd sends the MTU only when set, and no txqueuelen. */
export function bridgeSpec(opts: BridgeOptions): BridgeSpec {
  // IFLA_BR_VLAN_FILTERING goes out only when asked for: kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse even 0.
  return { kind: "bridge", name: opts.name, ...(opts.mtu > 0 ? { mtu: opts.mtu } : {}), ...(opts.vlanFiltering ? { vlanFiltering: true } : {}) };
}

function ensureBridgeLink(sock: NetlinkSocket, opts: BridgeOptions): Link {
  // A bridge that exists is shared with other containers: keep it as it is. Upstream asks to create it and reads it
  // back after EEXIST; after a host's first container it always exists, so we read first and create only when it
  // is missing (one request instead of two, and the same outcome).
  let br = lookupBridge(sock, opts.name, true);
  if (br === undefined) {
    try {
      addLink(sock, bridgeSpec(opts));
    } catch (e) {
      if (!hasErrno(e, EEXIST)) throw new Error(`could not add ${q(opts.name)}: ${msg(e)}`, { cause: e }); // upstream text
    }
    br = bridgeByName(sock, opts.name);
  }
  // Upstream sets promisc before it checks the kind, so it would touch a link that is no bridge; we check first.
  if (opts.promisc) {
    try {
      setLinkPromisc(sock, br.index, true);
    } catch (e) {
      throw new Error(`could not set promiscuous mode on ${q(opts.name)}: ${msg(e)}`, { cause: e }); // upstream text
    }
    br = bridgeByName(sock, opts.name);
  }
  // We own the routes of this interface: no router advertisements (errors ignored, as upstream).
  try {
    writeSysctl(`net/ipv6/conf/${opts.name}/accept_ra`, "0");
  } catch {
    // IPv6 may be disabled on the host
  }
  setLinkUp(sock, br.index);
  return br;
}

/** Returns the link called name when it is a bridge; throws upstream's texts otherwise. */
export function bridgeByName(sock: NetlinkSocket, name: string): Link {
  return lookupBridge(sock, name, false)!;
}

/** Returns the link called name when it is a bridge, undefined when there is none and `missingOk`; else throws. */
function lookupBridge(sock: NetlinkSocket, name: string, missingOk: boolean): Link | undefined {
  let link: Link;
  try {
    link = getLinkByName(sock, name);
  } catch (e) {
    if (missingOk && isNotFound(e)) return undefined;
    throw new Error(`could not lookup ${q(name)}: ${msg(e)}`, { cause: e }); // upstream text
  }
  if (link.kind !== "bridge") throw new Error(`${q(link.name)} already exists but is not a bridge`); // upstream text
  return link;
}

/** How a veth's host end joins the bridge. */
export interface PortOptions {
  hairpin: boolean;
  isolated: boolean;
  /** Access VLAN (PVID, untagged); 0 for none. */
  vlan: number;
  /** Trunk VLANs (tagged). */
  vlans: number[];
  preserveDefaultVlan: boolean;
}

/** Makes `port` (a link in sock's netns) a port of `br` with the given flags and VLANs; throws upstream's texts. */
export function setupPort(sock: NetlinkSocket, br: Link, port: Link, opts: PortOptions): void {
  try {
    setLinkMaster(sock, port.index, br.index);
  } catch (e) {
    throw new Error(`failed to connect ${q(port.name)} to bridge ${br.name}: ${msg(e)}`, { cause: e }); // upstream text
  }
  // Both flags are written even when off, as upstream does: a reused name must not inherit them.
  try {
    setPortHairpin(sock, port.index, opts.hairpin);
  } catch (e) {
    throw new Error(`failed to setup hairpin mode for ${port.name}: ${msg(e)}`, { cause: e }); // upstream text
  }
  try {
    setPortIsolated(sock, port.index, opts.isolated);
  } catch (e) {
    throw new Error(`failed to set isolated on for ${port.name}: ${msg(e)}`, { cause: e }); // upstream text
  }
  const hasVlans = opts.vlan !== 0 || opts.vlans.length > 0;
  if (hasVlans && !opts.preserveDefaultVlan) {
    try {
      // The port joined with the bridge's default VLAN (1, PVID, untagged); an access or trunk port drops it.
      for (const v of listBridgeVlans(sock).get(port.index) ?? []) delBridgeVlan(sock, port.index, { vid: v.vid });
    } catch (e) {
      throw new Error(`failed to remove default vlan on interface ${q(port.name)}: ${msg(e)}`, { cause: e }); // upstream text
    }
  }
  // Access port (untagged only) or trunk port (tagged only), as upstream supports.
  if (opts.vlan !== 0) {
    try {
      addBridgeVlan(sock, port.index, { vid: opts.vlan, pvid: true, untagged: true });
    } catch (e) {
      throw new Error(`failed to setup vlan tag on interface ${q(port.name)}: ${msg(e)}`, { cause: e }); // upstream text
    }
  }
  for (const vid of opts.vlans) {
    try {
      addBridgeVlan(sock, port.index, { vid });
    } catch (e) {
      throw new Error(`failed to setup vlan tag on interface ${q(port.name)}: ${msg(e)}`, { cause: e }); // upstream text
    }
  }
  if (opts.vlan === 0 && opts.vlans.length > 0) {
    // A trunk without an access VLAN keeps native VLAN 1 untagged (upstream's backwards compatibility).
    try {
      addBridgeVlan(sock, port.index, { vid: 1, pvid: true, untagged: true });
    } catch (e) {
      throw new Error(`failed to setup default native vlan tag on interface ${q(port.name)}: ${msg(e)}`, { cause: e }); // upstream text
    }
  }
}

// Upstream's schedule: check at once, then after 50, 500, 1000 and 1000 ms.
const PORT_UP_RETRIES_MS = [0, 50, 500, 1000, 1000];

/** Returns the host end once its operstate is UP; throws `bridge port in error state: <state>` after ~2.5 s. */
export async function waitPortUp(sock: NetlinkSocket, name: string): Promise<Link> {
  for (let i = 0; i < PORT_UP_RETRIES_MS.length; i++) {
    const ms = PORT_UP_RETRIES_MS[i]!;
    if (ms > 0) await Bun.sleep(ms);
    const link = getLinkByName(sock, name);
    if (link.operState === "up") return link;
    if (i === PORT_UP_RETRIES_MS.length - 1) throw new Error(`bridge port in error state: ${link.operState ?? "unknown"}`); // upstream text
  }
  throw new Error("unreachable");
}
