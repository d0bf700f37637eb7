// meta/vrf/requests.test.ts: every request the vrf plugin sends, checked byte for byte against iproute2's for the
// same change (test/golden/vrf-*.hex and link-add-vrf-100.hex, captured with strace; the build machine's kernel
// refuses vrf links, but iproute2 sends the request first): the VRF link, enslaving and releasing the interface, the
// IPv6 address put back, and the link's routes replaced into the VRF's table. Plus the table a new VRF gets.
// No root needed; test/kernel-vm/cases/vrf.sh runs the plugin on a kernel with vrf.
import { describe, expect, test } from "bun:test";
import type { Addr } from "../../pkg/ip/address.ts";
import { encodeNewAddr } from "../../pkg/ip/address.ts";
import { parseCIDR, parseIP } from "../../pkg/ip/cidr.ts";
import { encodeNewLink, encodeSetLinkMaster } from "../../pkg/ip/link.ts";
import { IFA_F_NODAD, IFA_F_PERMANENT, IFA_F_TENTATIVE, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL } from "../../pkg/ip/nl/consts.ts";
import { encodeNewRoute, type Route } from "../../pkg/ip/route.ts";
import { routeInTable } from "../../pkg/ip/route-move.ts";
import { golden, hex } from "../../test/support/golden.ts";
import { firstFreeVrfTable, isSameAddr, restoredAddr, vrfLink } from "./requests.ts";

const ETH0 = 3;
const VRF = 4; // a bridge stood in for the VRF in the capture: the request names only its index

function dumped(r: Partial<Route> & { family: 4 | 6 }): Route {
  return { table: RT_TABLE_MAIN, scope: RT_SCOPE_UNIVERSE, protocol: RTPROT_BOOT, type: RTN_UNICAST, oif: ETH0, ...r };
}

function addr6(flags: number): Addr {
  return { family: 6, ip: parseIP("fd00:1::3")!, prefix: 64, index: ETH0, scope: RT_SCOPE_UNIVERSE, flags };
}

describe("requests match iproute2 byte for byte", () => {
  test("the VRF link: ip link add NAME type vrf table T", () => {
    expect(hex(encodeNewLink(0, vrfLink("vrf0", 1)))).toBe(golden("vrf-link-add-table-1"));
    expect(hex(encodeNewLink(0, vrfLink("cnitsvrf0", 100)))).toBe(golden("link-add-vrf-100"));
  });

  test("enslaving the interface, and releasing it (DEL, undo)", () => {
    expect(hex(encodeSetLinkMaster(0, ETH0, VRF))).toBe(golden("vrf-enslave"));
    expect(hex(encodeSetLinkMaster(0, ETH0, 0))).toBe(golden("vrf-release"));
  });

  test("the link's routes replaced into the VRF's table", () => {
    const def4 = dumped({ family: 4, gw: parseIP("10.1.2.1")! });
    const via6 = dumped({ family: 6, dst: parseCIDR("2001:db8:9::/48")!, gw: parseIP("fd00:1::1")!, priority: 1024 });
    const kernel6 = dumped({ family: 6, dst: parseCIDR("fd00:1::/64")!, protocol: RTPROT_KERNEL, priority: 256 });
    expect(hex(encodeNewRoute(0, routeInTable(def4, 1), "replace"))).toBe(golden("vrf-route-replace-default-v4"));
    expect(hex(encodeNewRoute(0, routeInTable(via6, 1000), "replace"))).toBe(golden("vrf-route-replace-gw-v6"));
    expect(hex(encodeNewRoute(0, routeInTable(kernel6, 1), "replace"))).toBe(golden("vrf-route-replace-kernel-v6"));
  });

  test("a lost IPv6 address put back: state flags dropped, nodad kept", () => {
    expect(hex(encodeNewAddr(0, restoredAddr(addr6(IFA_F_PERMANENT))))).toBe(golden("vrf-addr-restore-v6"));
    expect(hex(encodeNewAddr(0, restoredAddr(addr6(IFA_F_PERMANENT | IFA_F_TENTATIVE))))).toBe(golden("vrf-addr-restore-v6"));
    expect(hex(encodeNewAddr(0, restoredAddr(addr6(IFA_F_PERMANENT | IFA_F_NODAD))))).toBe(golden("vrf-addr-restore-v6-nodad"));
  });
});

describe("decisions", () => {
  test("a new VRF gets the smallest table from 1 on that no VRF uses; other kinds do not count", () => {
    expect(firstFreeVrfTable([])).toBe(1);
    expect(firstFreeVrfTable([{ kind: "vrf", vrfTable: 1 }, { kind: "vrf", vrfTable: 3 }, { kind: "veth" }])).toBe(2);
    expect(firstFreeVrfTable([{ kind: "vrf", vrfTable: 2 }, { kind: "vrf", vrfTable: 1 }])).toBe(3);
    expect(firstFreeVrfTable([{ kind: "bridge", vrfTable: 1 }])).toBe(1);
  });

  test("addresses compare by address and prefix only", () => {
    expect(isSameAddr(addr6(IFA_F_PERMANENT), addr6(0))).toBe(true);
    expect(isSameAddr(addr6(0), { ...addr6(0), prefix: 128 })).toBe(false);
    expect(isSameAddr(addr6(0), { ...addr6(0), ip: parseIP("fd00:1::4")! })).toBe(false);
  });
});
