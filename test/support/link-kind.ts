// test/support/link-kind.ts: asks this kernel whether it makes links of a kind (vlan, dummy, ...) by sending the
// RTM_NEWLINK itself in a throwaway netns, so a test that needs the kind skips with the kernel's own refusal
// (EOPNOTSUPP, "Unknown device type") as its reason, and names the kernel-VM case that covers it instead.
import type { LinkSpec } from "../../pkg/ip/link-kinds.ts";
import { addLink, getLinkByName } from "../../pkg/ip/link.ts";
import { hasErrno, openRouteSocket, type NetlinkError } from "../../pkg/ip/nl/socket.ts";
import { EOPNOTSUPP } from "../../pkg/sys/libc.ts";
import { canUseNetns, tempNetns } from "./netns.ts";

export interface KindSupport {
  ok: boolean;
  /** Why not: the kernel's words ("RTM_NEWLINK: Operation not supported: Unknown device type"), for skip names. */
  reason: string;
}

// The probe link of each kind; a vlan needs a lower device, made first as a veth.
const PROBES: Record<string, (parentIndex: number) => LinkSpec> = {
  vlan: (parentIndex) => ({ kind: "vlan", name: "probe0", parentIndex, vlanId: 100 }),
  dummy: () => ({ kind: "dummy", name: "probe0" }),
  ipvlan: (parentIndex) => ({ kind: "ipvlan", name: "probe0", parentIndex, mode: "l2" }),
  vrf: () => ({ kind: "vrf", name: "probe0", table: 100 }),
};

const cache = new Map<string, KindSupport>();

/**
 * Returns whether this kernel creates links of `kind` (one of PROBES), asking it in a throwaway netns. Only
 * EOPNOTSUPP counts as "no"; any other refusal throws, so a broken probe never turns into a silent skip.
 */
export function linkKindSupport(kind: keyof typeof PROBES): KindSupport {
  const known = cache.get(kind);
  if (known) return known;
  let answer: KindSupport;
  if (!canUseNetns()) {
    answer = { ok: false, reason: "needs root and ip netns" };
  } else {
    using ns = tempNetns(`probe-${kind}`);
    using sock = openRouteSocket(ns.path);
    addLink(sock, { kind: "veth", name: "probeparent", peer: { name: "probepeer" } });
    const parentIndex = getLinkByName(sock, "probeparent").index;
    try {
      addLink(sock, PROBES[kind]!(parentIndex));
      answer = { ok: true, reason: "" };
    } catch (e) {
      if (!hasErrno(e, EOPNOTSUPP)) throw e;
      answer = { ok: false, reason: `the kernel refuses ${kind} links (${(e as NetlinkError).message})` };
    }
  }
  cache.set(kind, answer);
  return answer;
}
