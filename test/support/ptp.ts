// test/support/ptp.ts: what the ptp tests share beyond the common support files: the result text each spec version
// prints for a ptp ADD, and the links and addresses of a netns reduced to what ptp decides. Everything runs inside
// the namespace given; nothing here touches the caller's own netns.
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { addrsIn, linksIn as allLinksIn, type AddrState, type LinkState as FullLinkState } from "./link-state.ts";
import type { TempNetns } from "./netns.ts";
import { attachmentResult, type Ip } from "./result.ts";

// Moved to the support file of their one job; still exported here for the tests that import them from this file.
export { linkNames, routesIn, type AddrState, type RouteState } from "./link-state.ts";
export {
  cniNatLines, EMPTY_NAT, masqChain, masqLines, natRules, natWith, nftMasqPrefix, nftMasqRules, type NftMasqRule,
} from "./masquerade.ts";
export { ipIn, sysctlIn } from "./ns-exec.ts";
export { MAC, VETH_NAME } from "./result.ts";
export { waitFor } from "./wait.ts";

/** The random parts of one ptp attachment, as its ADD reported them (or as read from the kernel for 0.1/0.2). */
export interface PtpLinks {
  hostVeth: string;
  hostMac: string;
  ctrMac: string;
  /** CNI_NETNS of the ADD. */
  sandbox: string;
  ifname?: string;
}

/**
 * Returns the result object of a ptp ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: interfaces [host, container] and `interface: 1` on every IP
 * where the version has them; 0.1/0.2 are IPAM's shape (no interfaces).
 */
export function ptpResult(version: string, links: PtpLinks, ips: Ip[], routes: Route[] = [], dns: DNS = {}): object {
  const interfaces = [{ name: links.hostVeth, mac: links.hostMac }, { name: links.ifname ?? "eth0", mac: links.ctrMac, sandbox: links.sandbox }];
  return attachmentResult(version, interfaces, 1, ips, routes, dns);
}

/** One link as ptp's tests compare it: without the operational state, which a veth settles after ADD returns. */
export type LinkState = Pick<FullLinkState, "ifindex" | "ifname" | "kind" | "mac" | "mtu" | "up" | "peerIndex">;

/** Returns every link of the netns. */
export function linksIn(ns: TempNetns | string): LinkState[] {
  return allLinksIn(ns).map(({ ifindex, ifname, kind, mac, mtu, up, peerIndex }) => ({
    ifindex, ifname, ...(kind ? { kind } : {}), mac, mtu, up, ...(peerIndex !== undefined ? { peerIndex } : {}),
  }));
}

/** Returns the veths of the netns. */
export function vethsIn(ns: TempNetns | string): LinkState[] {
  return linksIn(ns).filter((l) => l.kind === "veth");
}

/**
 * Returns the non-link-local addresses of one link. `withTentative` keeps the DAD flag: the container side is
 * settled before ADD returns, the host side is not (neither implementation waits there).
 */
export function addrsOf(ns: TempNetns | string, dev: string, withTentative = true): AddrState[] {
  return addrsIn(ns, dev, { tentative: withTentative });
}
