// meta/vrf/requests.ts: the pure part of the vrf plugin: the VRF link it creates, the table a new VRF gets, and the
// address it puts back after enslaving. The unit tests check these requests (and the moved routes, enslaving and
// releasing) byte for byte against iproute2's (test/golden/vrf-*.hex).
import { formatCIDR } from "../../pkg/ip/cidr.ts";
import type { Addr, AddrSpec } from "../../pkg/ip/address.ts";
import type { LinkSpec } from "../../pkg/ip/link-kinds.ts";
import { IFA_F_HOMEADDRESS, IFA_F_MANAGETEMPADDR, IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFA_F_OPTIMISTIC } from "../../pkg/ip/nl/consts.ts";

const U32_MAX = 0xffffffff;
// IFA_F_MCAUTOJOIN, <linux/if_addr.h>.
const IFA_F_MCAUTOJOIN = 0x400;
// The flags an IPv6 RTM_NEWADDR honours (inet6_rtm_newaddr masks the rest: PERMANENT, TENTATIVE... are state).
const RESTORED_FLAGS = IFA_F_NODAD | IFA_F_OPTIMISTIC | IFA_F_HOMEADDRESS | IFA_F_MANAGETEMPADDR | IFA_F_NOPREFIXROUTE | IFA_F_MCAUTOJOIN;

/** Returns the VRF link ADD creates: `ip link add <name> type vrf table <table>`. */
export function vrfLink(name: string, table: number): LinkSpec {
  return { kind: "vrf", name, table };
}

/** Returns the smallest table id from 1 on that no VRF among `links` uses (upstream findFreeRoutingTableID). */
export function firstFreeVrfTable(links: readonly { kind?: string; vrfTable?: number }[]): number {
  const taken = new Set<number>();
  for (const l of links) if (l.kind === "vrf" && l.vrfTable !== undefined) taken.add(l.vrfTable);
  for (let t = 1; t < U32_MAX; t++) if (!taken.has(t)) return t;
  throw new Error("findFreeRoutingTableID: Failed to find an available routing id"); // upstream text
}

/** Returns whether two addresses are the same address and prefix (vishvananda's Addr.Equal). */
export function isSameAddr(a: Addr, b: Addr): boolean {
  return formatCIDR(a) === formatCIDR(b);
}

/** Returns the request putting back an IPv6 address the link lost when it was enslaved (its settable flags kept). */
export function restoredAddr(a: Addr): AddrSpec {
  const spec: AddrSpec = { index: a.index, ip: a.ip, prefix: a.prefix };
  const flags = a.flags & RESTORED_FLAGS;
  if (flags) spec.flags = flags;
  if (a.scope) spec.scope = a.scope;
  return spec;
}
