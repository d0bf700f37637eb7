// test/support/tuning.ts: what the tuning tests share: a container netns holding a veth for tuning to change (the
// interface a previous plugin would have made), its prevResult and the result each spec version prints, and the
// link settings and sysctls of that netns read back from the kernel (`ip -j -d`, /proc/sys inside the netns).
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { ipJson, tempNetns, type TempNetns } from "./netns.ts";
import { ipIn, sysctlIn } from "./ns-exec.ts";

/** The container interface's MAC before tuning touches it, and the one tests ask for. */
export const OLD_MAC = "02:54:00:00:00:01";
export const NEW_MAC = "02:54:00:00:ab:cd";
export const ADDRESS = "10.1.2.3/24";
export const GATEWAY = "10.1.2.1";

/**
 * Returns a new netns holding a veth pair, `ifname` (MAC OLD_MAC, MTU 1500, txqueuelen 1000) and its peer `peer0`,
 * both inside it: the stand-in for an interface a main plugin created. Disposing deletes the netns and both ends.
 */
export function vethNetns(role: string, ifname = "eth0"): TempNetns {
  const ns = tempNetns(role);
  try {
    ipIn(ns, ["link", "add", ifname, "address", OLD_MAC, "type", "veth", "peer", "name", "peer0"]);
  } catch (e) {
    ns[Symbol.dispose]();
    throw e;
  }
  return ns;
}

/** The link settings tuning decides, as the kernel reports them. */
export interface TunedLink {
  mac: string;
  mtu: number;
  /** IFLA_PROMISCUITY: how many holders asked for promiscuous mode. */
  promiscuity: number;
  /** IFF_PROMISC and IFF_ALLMULTI in the link's flags. */
  promisc: boolean;
  allmulti: boolean;
  txqlen: number;
}

/** Returns the settings of one link of the netns (`ip -j -d link show`). */
export function linkState(ns: TempNetns | string, dev = "eth0"): TunedLink {
  const [l] = ipJson(ns, ["-d", "link", "show", "dev", dev]) as any[];
  return {
    mac: l.address,
    mtu: l.mtu,
    promiscuity: l.promiscuity,
    promisc: (l.flags as string[]).includes("PROMISC"),
    allmulti: (l.flags as string[]).includes("ALLMULTI"),
    txqlen: l.txqlen,
  };
}

/** What a fresh vethNetns link looks like. */
export const FRESH_LINK: TunedLink = { mac: OLD_MAC, mtu: 1500, promiscuity: 0, promisc: false, allmulti: false, txqlen: 1000 };

/** Returns /proc/sys/<path> read inside the netns, without the newline. */
export function sysctlOf(ns: TempNetns | string, path: string): string {
  return sysctlIn(ns, path);
}

/** Returns several sysctls of the netns at once, keyed by path. */
export function sysctlsOf(ns: TempNetns | string, paths: string[]): Record<string, string> {
  return Object.fromEntries(paths.map((p) => [p, sysctlOf(ns, p)]));
}

/**
 * The network name tuningConf gives. Our backup file ends with it under the key `cni.dev/network` (which Go's does
 * not have), so GC can tell this network's backups from those of other networks sharing the dataDir.
 */
export const NETWORK = "tunnet";

/** Returns a tuning network config of that version (`cniVersion` left out when version is ""). */
export function tuningConf(version: string, extra: object = {}): Record<string, unknown> {
  return { ...(version ? { cniVersion: version } : {}), name: NETWORK, type: "tuning", ...extra };
}

/** Returns the prevResult a main plugin would hand tuning for `ifname` in the netns, in that version's shape. */
export function prevResultFor(version: string, sandbox: string, ifname = "eth0", mac = OLD_MAC): Record<string, unknown> {
  if (!versionAtLeast(version || "0.1.0", "0.3.0")) return { cniVersion: version || "0.1.0", ip4: { ip: ADDRESS, gateway: GATEWAY } };
  return {
    cniVersion: version,
    interfaces: [{ name: ifname, mac, sandbox }],
    ips: [{ ...(versionAtLeast(version, "1.0.0") ? {} : { version: "4" }), interface: 0, address: ADDRESS, gateway: GATEWAY }],
  };
}

/** Returns the result tuning prints for that prevResult (v1.9.1): the same, the MAC replaced, dns where the version prints it. */
export function expectedResult(version: string, sandbox: string, mac = OLD_MAC, ifname = "eth0"): Record<string, unknown> {
  const prev = prevResultFor(version, sandbox, ifname, mac);
  if (versionAtLeast(version || "0.1.0", "1.0.0")) return prev; // 1.x: an empty dns is left out
  return { ...prev, dns: {} };
}
