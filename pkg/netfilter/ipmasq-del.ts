// pkg/netfilter/ipmasq-del.ts: bridge's and ptp's DEL of the container link together with its masquerade rules.
import type { Result } from "../cni/types.ts";
import { parseCIDR, type IPNet } from "../ip/cidr.ts";
import { delContainerLink } from "../ip/container-link.ts";
import { teardownIPMasq, type MasqAttachment } from "./ipmasq.ts";
import { handOffTeardownSocket, teardownSocketToHandOff } from "./nft-chains.ts";

/**
 * Deletes the container's link (delContainerLink) and, with `masq`, the attachment's masquerade rules. They are
 * found by the link's addresses, and removed just before the link goes. When the netns or the link is already gone
 * (containerd's DEL), they are found by prevResult's addresses, and failing those by the chain name alone (upstream
 * leaks them then). The kernel's wait for destroying the deleted rules goes to a helper holding the netfilter
 * socket: the link delete's own helper (pkg/ip/link-handoff.ts), or without a link, handOffTeardownSocket's. Returns
 * the teardown's error instead of throwing it, so the caller finishes its other steps first; a link error is thrown.
 */
export function delLinkAndMasq(netns: string, ifname: string, masq: Omit<MasqAttachment, "ips"> | undefined, prevResult?: Result): Error | undefined {
  if (!masq) {
    delContainerLink(netns, ifname);
    return undefined;
  }
  let tornDown = false;
  let error: Error | undefined;
  const teardown = (addrs: IPNet[]): number[] => {
    tornDown = true;
    const ips = addrs.length > 0 ? addrs : (prevResult?.ips ?? []).map((i) => parseCIDR(i.address)!);
    try {
      teardownIPMasq({ ...masq, ips });
    } catch (e) {
      error = e as Error;
    }
    const fd = teardownSocketToHandOff();
    return fd === undefined ? [] : [fd];
  };
  delContainerLink(netns, ifname, teardown);
  if (!tornDown) {
    teardown([]);
    handOffTeardownSocket();
  }
  return error;
}
