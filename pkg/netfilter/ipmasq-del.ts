// pkg/netfilter/ipmasq-del.ts: bridge's and ptp's DEL of the container link together with its masquerade rules.
import type { Result } from "../cni/types.ts";
import { parseCIDR, type IPNet } from "../ip/cidr.ts";
import { delContainerLink } from "../ip/container-link.ts";
import { teardownIPMasq, type MasqAttachment } from "./ipmasq.ts";

/**
 * Deletes the container's link (delContainerLink) and, with `masq`, the attachment's masquerade rules. They are
 * found by the link's addresses, and removed just before the link goes: an in-process netfilter commit then settles
 * while the link delete waits on the kernel. When the netns or the link is already gone (containerd's DEL), they are
 * found by prevResult's addresses, and failing those by the chain name alone (upstream leaks them then). Returns the
 * teardown's error instead of throwing it, so the caller finishes its other steps first; a link error is thrown.
 */
export function delLinkAndMasq(netns: string, ifname: string, masq: Omit<MasqAttachment, "ips"> | undefined, prevResult?: Result): Error | undefined {
  if (!masq) {
    delContainerLink(netns, ifname);
    return undefined;
  }
  let tornDown = false;
  let error: Error | undefined;
  const teardown = (addrs: IPNet[]) => {
    tornDown = true;
    const ips = addrs.length > 0 ? addrs : (prevResult?.ips ?? []).map((i) => parseCIDR(i.address)!);
    try {
      teardownIPMasq({ ...masq, ips });
    } catch (e) {
      error = e as Error;
    }
  };
  delContainerLink(netns, ifname, teardown);
  if (!tornDown) teardown([]);
  return error;
}
