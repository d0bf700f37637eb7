// meta/bandwidth/record.ts: which attachment an ifb belongs to, written on the ifb itself as its alias (IFLA_IFALIAS),
// so GC can tell this network's ifbs from any other's. The name alone cannot: `bwp` + 12 hex of
// SHA-512(network + containerID) hides the network. An alias lives and dies with the link (no file to leak), shows in
// `ip link`, and is ignored by upstream's DEL and CHECK. ifbs without one (made by the Go plugin, or whose alias
// would not fit) are never collected: GC only removes what it can prove is this network's.
import { ifbName } from "../../pkg/netfilter/names.ts";

const PREFIX = "cni-bandwidth";
// IFALIASZ, <linux/if.h>: the kernel refuses an alias of 256 bytes or more.
const IFALIASZ = 256;
const RECORD = /^cni-bandwidth network=(\S+) containerID=(\S+)$/;

export interface IfbOwner {
  network: string;
  containerId: string;
}

/** Returns the alias that records an ifb's owner, or undefined when it would be too long for the kernel. */
export function ifbAlias(owner: IfbOwner): string | undefined {
  const alias = `${PREFIX} network=${owner.network} containerID=${owner.containerId}`;
  return new TextEncoder().encode(alias).length < IFALIASZ ? alias : undefined;
}

/**
 * Returns the owner an ifb's alias records, or undefined when the alias is not ours or does not match the name
 * (an alias copied onto another link, or edited, proves nothing).
 */
export function ifbOwner(name: string, alias: string | undefined): IfbOwner | undefined {
  const m = alias === undefined ? null : RECORD.exec(alias);
  if (!m) return undefined;
  const owner = { network: m[1]!, containerId: m[2]! };
  return ifbName(owner.network, owner.containerId) === name ? owner : undefined;
}
