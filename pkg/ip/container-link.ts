// pkg/ip/container-link.ts: DEL's first step for plugins that made the container's interface (bridge, ptp): delete
// the link and say which global addresses it had, since those tell which masquerade rules are the attachment's.
// Everything already gone (an empty CNI_NETNS, the netns, the link) is what DEL wanted, and no error.
import { NetnsNotExistError, withNetns } from "../ns/netns.ts";
import { listAddrs } from "./address.ts";
import { isGlobalUnicast, type IPNet } from "./cidr.ts";
import { getLinkByName, type Link } from "./link.ts";
import { delLinkHandedOff } from "./link-handoff.ts";
import { isNotFound, openRouteSocket } from "./nl/socket.ts";
import { filtered } from "../sys/lists.ts";

/**
 * Deletes the link named ifname in the calling thread's netns (a veth takes its peer along) and returns its global
 * unicast addresses; [] when there is no such link. Throws upstream's ip.DelLinkByNameAddr texts.
 */
export function delLinkByNameAddr(ifname: string): IPNet[] {
  const found = findLinkAddrs(ifname);
  if (found) delFoundLink(ifname, found.index);
  return found?.addrs ?? [];
}

/** The container's link: its index and global unicast addresses. */
interface FoundLink {
  index: number;
  addrs: IPNet[];
}

function findLinkAddrs(ifname: string): FoundLink | undefined {
  using sock = openRouteSocket();
  let link: Link;
  try {
    link = getLinkByName(sock, ifname);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw new Error(`failed to lookup ${JSON.stringify(ifname)}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  const addrs = filtered(listAddrs(sock, { index: link.index }), (a) => isGlobalUnicast(a.ip)).map((a) => ({ ip: a.ip, prefix: a.prefix }));
  return { index: link.index, addrs };
}

function delFoundLink(ifname: string, index: number, carry?: number[]): void {
  try {
    delLinkHandedOff(index, carry); // returns once the link is unlisted, not after the kernel's 10-25 ms teardown
  } catch (e) {
    if (!isNotFound(e)) throw new Error(`failed to delete ${JSON.stringify(ifname)}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

/**
 * Returns delLinkByNameAddr(ifname) run inside the container netns, or [] when netns is "" or no longer exists
 * (DEL may come after the container is gone, or twice). Call it from the host thread; it enters and leaves.
 *
 * With `beforeDelete`, the addresses are handed to it on the host thread once the link is found and before it is
 * deleted, for the netfilter teardown they identify (pkg/netfilter/ipmasq-del.ts); it returns the file descriptors
 * the delete's helper is to hold as well (delLinkHandedOff's `carry`). It is not called when there is no link.
 */
export function delContainerLink(netns: string, ifname: string, beforeDelete?: (addrs: IPNet[]) => number[]): IPNet[] {
  if (netns === "") return [];
  try {
    if (!beforeDelete) return withNetns(netns, () => delLinkByNameAddr(ifname));
    const found = withNetns(netns, () => findLinkAddrs(ifname));
    if (!found) return [];
    const carry = beforeDelete(found.addrs);
    withNetns(netns, () => delFoundLink(ifname, found.index, carry));
    return found.addrs;
  } catch (e) {
    if (e instanceof NetnsNotExistError) return [];
    throw e;
  }
}
