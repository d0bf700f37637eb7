// meta/sbr/routing.test.ts: sbr's pure decisions (which addresses, which table, which gateway, which routes move),
// and every request it sends checked byte for byte against what iproute2 sends for the same rule or route
// (test/golden/sbr-*.hex, captured with strace; eth0 is ifindex 3 there). No root needed.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { parseCIDR, parseIP, type IP, type IPNet } from "../../pkg/ip/cidr.ts";
import { RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_MAIN, RTN_UNICAST, RTPROT_BOOT, RTPROT_KERNEL } from "../../pkg/ip/nl/consts.ts";
import { encodeDelRoute, encodeNewRoute, type Route } from "../../pkg/ip/route.ts";
import { routeInTable } from "../../pkg/ip/route-move.ts";
import { encodeDelRule, encodeNewRule, type Rule } from "../../pkg/ip/rule.ts";
import { golden, hex } from "../../test/support/golden.ts";
import {
  belongsTo, defaultRoute, firstFreeTable, gatewayFor, parseGateways, sourceHintRoute, sourceIPs, sourceRule, validateTable,
} from "./routing.ts";

const ip = (s: string): IP => parseIP(s)!;
const net = (s: string): IPNet => parseCIDR(s)!;
const ETH0 = 3;

/** A route as listMainRoutes reports it from the kernel's dump. */
function dumped(r: Partial<Route> & { family: 4 | 6 }): Route {
  return { table: RT_TABLE_MAIN, scope: RT_SCOPE_UNIVERSE, protocol: RTPROT_BOOT, type: RTN_UNICAST, oif: ETH0, ...r };
}
const CONNECTED4 = dumped({ family: 4, dst: net("10.1.2.0/24"), scope: RT_SCOPE_LINK, protocol: RTPROT_KERNEL, src: ip("10.1.2.3") });
const VIA4 = dumped({ family: 4, dst: net("10.50.0.0/16"), gw: ip("10.1.2.1") });
const DEFAULT4 = dumped({ family: 4, gw: ip("10.1.2.1") });
const KERNEL6 = dumped({ family: 6, dst: net("fd00:1::/64"), protocol: RTPROT_KERNEL, priority: 256 });
const LINKLOCAL6 = dumped({ family: 6, dst: net("fe80::/64"), protocol: RTPROT_KERNEL, priority: 256 });

describe("requests match iproute2 byte for byte", () => {
  test("rules: from <ip>/32 and /128, tables below and above 255", () => {
    expect(hex(encodeNewRule(0, sourceRule(ip("10.1.2.3"), 100)))).toBe(golden("sbr-rule-add-v4"));
    expect(hex(encodeNewRule(0, sourceRule(ip("fd00:1::3"), 101)))).toBe(golden("sbr-rule-add-v6"));
    expect(hex(encodeNewRule(0, sourceRule(ip("10.1.2.3"), 1000)))).toBe(golden("sbr-rule-add-v4-table-1000"));
  });

  test("DEL deletes a rule exactly as the kernel listed it (priority included)", () => {
    const listed4: Rule = { family: 4, priority: 32765, table: 100, action: 1, src: net("10.1.2.3/32") };
    const listed6: Rule = { family: 6, priority: 32764, table: 101, action: 1, src: net("fd00:1::3/128") };
    expect(hex(encodeDelRule(0, listed4))).toBe(golden("sbr-rule-del-v4"));
    expect(hex(encodeDelRule(0, listed6))).toBe(golden("sbr-rule-del-v6"));
  });

  test("the table's default route via the gateway", () => {
    expect(hex(encodeNewRoute(0, defaultRoute(4, ip("10.1.2.1"), ETH0, 100)))).toBe(golden("sbr-route-add-default-v4"));
    expect(hex(encodeNewRoute(0, defaultRoute(6, ip("fd00:1::1"), ETH0, 101)))).toBe(golden("sbr-route-add-default-v6"));
  });

  test("main-table routes copied into the table (replace), with every field the kernel reported", () => {
    expect(hex(encodeNewRoute(0, routeInTable(CONNECTED4, 100), "replace"))).toBe(golden("sbr-route-replace-connected-v4"));
    expect(hex(encodeNewRoute(0, routeInTable(VIA4, 100), "replace"))).toBe(golden("sbr-route-replace-gw-v4"));
    expect(hex(encodeNewRoute(0, routeInTable(KERNEL6, 1000), "replace"))).toBe(golden("sbr-route-replace-kernel-v6"));
  });

  test("the originals leave the main table", () => {
    expect(hex(encodeDelRoute(0, routeInTable(CONNECTED4, RT_TABLE_MAIN)))).toBe(golden("sbr-route-del-connected-v4"));
    expect(hex(encodeDelRoute(0, routeInTable(KERNEL6, RT_TABLE_MAIN)))).toBe(golden("sbr-route-del-kernel-v6"));
  });

  test("addSourceHints' subnet routes in the main table", () => {
    expect(hex(encodeNewRoute(0, sourceHintRoute(net("10.1.2.3/24"), ETH0), "replace"))).toBe(golden("sbr-route-replace-hint-v4"));
    expect(hex(encodeNewRoute(0, sourceHintRoute(net("fd00:1::3/64"), ETH0), "replace"))).toBe(golden("sbr-route-replace-hint-v6"));
  });
});

describe("sourceIPs", () => {
  const prev = {
    cniVersion: "1.0.0",
    interfaces: [{ name: "veth1" }, { name: "eth0", sandbox: "/x" }],
    ips: [
      { interface: 1, address: "10.1.2.3/24", gateway: "10.1.2.1" },
      { interface: 0, address: "10.9.9.9/24" },
      { address: "fd00:1::3/64" },
      { interface: 7, address: "10.7.7.7/24" },
    ],
  };

  test("keeps the interface's addresses, those without an index and those whose index is out of range", () => {
    expect(sourceIPs("eth0", prev)).toEqual([
      { addr: net("10.1.2.3/24"), gateway: ip("10.1.2.1") },
      { addr: net("fd00:1::3/64") },
      { addr: net("10.7.7.7/24") },
    ]);
  });

  test("no address at all is a config error naming the interface", () => {
    expect(() => sourceIPs("eth0", { cniVersion: "1.0.0" })).toThrow(new CniError(7, "No IP addresses supplied on interface: eth0"));
  });
});

describe("gateways and table", () => {
  test("one IPv4 and one IPv6, in either order; an IPv4-mapped address counts as IPv4", () => {
    expect(parseGateways(["fd00::1", "10.0.0.1"])).toEqual({ v4: ip("10.0.0.1"), v6: ip("fd00::1") });
    expect(parseGateways(["::ffff:10.0.0.9"])).toEqual({ v4: ip("10.0.0.9") });
    expect(parseGateways([])).toEqual({});
  });

  test.each([
    [["10.0.0.1", "fd00::1", "10.0.0.2"], "gateways list cannot contain more than 2 entries (one IPv4, one IPv6)"],
    [["10.0.0.300"], "invalid static gateway IP address: 10.0.0.300"],
    [[undefined], "invalid static gateway IP address: "],
    [["10.0.0.1", "10.0.0.2"], "gateways list contains multiple IPv4 addresses: 10.0.0.1 and 10.0.0.2"],
    [["fd00::1", "FD00::2"], "gateways list contains multiple IPv6 addresses: fd00::1 and FD00::2"],
  ])("%j is refused: %s", (list, msg) => {
    expect(() => parseGateways(list)).toThrow(new CniError(7, msg));
  });

  test("the static gateway of the address's family wins over its own", () => {
    const statics = parseGateways(["10.0.0.254"]);
    expect(gatewayFor({ addr: net("10.0.0.3/24"), gateway: ip("10.0.0.1") }, statics)).toEqual(ip("10.0.0.254"));
    expect(gatewayFor({ addr: net("fd00::3/64"), gateway: ip("fd00::1") }, statics)).toEqual(ip("fd00::1"));
    expect(gatewayFor({ addr: net("fd00::3/64") }, statics)).toBeUndefined();
  });

  test("table must be 1 to 2^32-1", () => {
    for (const t of [1, 100, 253, 0xffffffff]) expect(() => validateTable(t)).not.toThrow();
    expect(() => validateTable(0)).toThrow(new CniError(7, "invalid table 0: must be between 1 and 4294967295"));
    expect(() => validateTable(-5)).toThrow(new CniError(7, "invalid table -5: must be between 1 and 4294967295"));
    expect(() => validateTable(2 ** 32)).toThrow(new CniError(7, "invalid table 4294967296: must be between 1 and 4294967295"));
  });
});

describe("table choice and the routes each table gets", () => {
  test("the first table from 100 on that no rule or listed route uses", () => {
    const rules = [{ table: 255 }, { table: 254 }, { table: 100 }, { table: 101 }, { table: 103 }];
    expect(firstFreeTable(rules, [], 100)).toBe(102);
    expect(firstFreeTable(rules, [{ table: 102 }], 100)).toBe(104);
    expect(firstFreeTable(rules, [], 103)).toBe(104);
    expect(firstFreeTable([], [], 100)).toBe(100);
    // the default rules point at 253-255, so the search steps over them
    expect(firstFreeTable([{ table: 253 }, { table: 254 }, { table: 255 }], [], 253)).toBe(256);
  });

  test("a route goes to an address's table when its source or gateway is in the subnet, or it has neither", () => {
    const a4 = net("10.1.2.3/24");
    expect([CONNECTED4, VIA4, DEFAULT4, KERNEL6, LINKLOCAL6].map((r) => belongsTo(a4, r))).toEqual([true, true, true, true, true]);
    const other = net("10.7.0.5/16");
    expect([CONNECTED4, VIA4, DEFAULT4, KERNEL6].map((r) => belongsTo(other, r))).toEqual([false, false, false, true]);
    const a6 = net("fd00:1::3/64");
    expect(belongsTo(a6, dumped({ family: 6, gw: ip("fd00:1::1") }))).toBe(true);
    expect(belongsTo(a6, dumped({ family: 6, gw: ip("fd00:2::1") }))).toBe(false);
    expect(belongsTo(a6, CONNECTED4)).toBe(false);
  });

  test("a copied route carries no flags and keeps everything else", () => {
    expect(routeInTable({ ...VIA4, mtu: 1400, advmss: 1360, priority: 5 }, 100)).toEqual({
      family: 4, dst: net("10.50.0.0/16"), gw: ip("10.1.2.1"), oif: ETH0, table: 100, scope: RT_SCOPE_UNIVERSE,
      protocol: RTPROT_BOOT, type: RTN_UNICAST, priority: 5, mtu: 1400, advmss: 1360,
    });
  });
});
