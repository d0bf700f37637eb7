// pkg/ip/route.test.ts: route encoders against iproute2's bytes and parsing (no root), then add/list/delete on the
// real kernel in throwaway namespaces cnid<pid36>-r<n> (root only), read back through `ip -j` as well.
import { describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { thrown } from "../../test/support/thrown.ts";
import { createNetns, removeNetns } from "../ns/netns.ts";
import { EEXIST } from "../sys/libc.ts";
import { addAddr } from "./address.ts";
import { formatCIDR, formatIP, parseCIDR, parseIP, type IP, type IPNet } from "./cidr.ts";
import { addLink, getLinkByName, setLinkUp } from "./link.ts";
import {
  IFA_F_NODAD, RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE, RT_TABLE_LOCAL, RT_TABLE_MAIN, RTN_BLACKHOLE, RTN_UNICAST,
  RTPROT_BOOT, RTPROT_KERNEL, RTPROT_STATIC,
} from "./nl/consts.ts";
import { parseMessages } from "./nl/reader.ts";
import { hasErrno, isNotFound, openRouteSocket, type NetlinkSocket } from "./nl/socket.ts";
import {
  addRoute, delRoute, encodeDelRoute, encodeListRoutes, encodeNewRoute, listRoutes, parseRoute, type Route, type RouteSpec,
} from "./route.ts";

const ip = (s: string): IP => parseIP(s)!;
const net = (s: string): IPNet => parseCIDR(s)!;

// In the captures cnitsv0 was ifindex 3: the first link of a veth pair made just before (the peer takes 2).
const OIF = 3;
const SUBNET = net("10.9.0.0/16");
const GW = ip("10.1.2.2");

describe("encoders match iproute2 byte for byte", () => {
  test("a /32 link-scope route via dev (scope link passed explicitly; iproute2 infers it)", () => {
    expect(hex(encodeNewRoute(0, { family: 4, dst: net("10.1.2.5/32"), oif: OIF, scope: RT_SCOPE_LINK }))).toBe(golden("route-add-v4-dev-link"));
  });

  test("a subnet via gw; the default route via gw; with metric", () => {
    expect(hex(encodeNewRoute(0, { family: 4, dst: SUBNET, gw: GW, oif: OIF }))).toBe(golden("route-add-v4-gw"));
    expect(hex(encodeNewRoute(0, { family: 4, gw: GW, oif: OIF }))).toBe(golden("route-add-v4-default"));
    expect(hex(encodeNewRoute(0, { family: 4, dst: SUBNET, gw: GW, priority: 100, oif: OIF }))).toBe(golden("route-add-v4-metric"));
  });

  test("table 100 goes in rtm_table, table 1000 in RTA_TABLE with rtm_table RT_TABLE_UNSPEC", () => {
    expect(hex(encodeNewRoute(0, { family: 4, dst: SUBNET, gw: GW, table: 100, oif: OIF }))).toBe(golden("route-add-v4-table-100"));
    expect(hex(encodeNewRoute(0, { family: 4, dst: SUBNET, gw: GW, table: 1000, oif: OIF }))).toBe(golden("route-add-v4-table-1000"));
  });

  test("mtu and advmss in RTA_METRICS; src, proto and scope", () => {
    expect(hex(encodeNewRoute(0, { family: 4, dst: SUBNET, gw: GW, oif: OIF, mtu: 1400, advmss: 1360 }))).toBe(golden("route-add-v4-mtu-advmss"));
    const spec: RouteSpec = { family: 4, dst: SUBNET, src: ip("10.1.2.1"), protocol: RTPROT_STATIC, scope: RT_SCOPE_LINK, oif: OIF };
    expect(hex(encodeNewRoute(0, spec))).toBe(golden("route-add-v4-src-proto-scope"));
    expect(hex(encodeNewRoute(0, { family: 4, dst: net("10.8.0.0/16"), type: RTN_BLACKHOLE }))).toBe(golden("route-add-blackhole"));
  });

  test("IPv6: default via gw (with and without an explicit ::/0), a subnet with metric", () => {
    expect(hex(encodeNewRoute(0, { family: 6, gw: ip("2001:db8::2"), oif: OIF }))).toBe(golden("route-add-v6-default"));
    expect(hex(encodeNewRoute(0, { family: 6, dst: net("::/0"), gw: ip("2001:db8::2"), oif: OIF }))).toBe(golden("route-add-v6-default-dst"));
    expect(hex(encodeNewRoute(0, { family: 6, dst: net("2001:db8:9::/48"), gw: ip("2001:db8::2"), priority: 1024, oif: OIF })))
      .toBe(golden("route-add-v6-subnet-metric"));
  });

  test("ECMP: nexthop via ... dev ... nexthop via ... dev ... weight 3", () => {
    const spec: RouteSpec = { family: 4, dst: SUBNET, multipath: [{ gw: GW, oif: OIF }, { gw: ip("10.1.2.3"), oif: OIF, weight: 3 }] };
    expect(hex(encodeNewRoute(0, spec))).toBe(golden("route-add-v4-ecmp"));
  });

  test("modes: replace, append, prepend (upstream's create without exclusive)", () => {
    const spec: RouteSpec = { family: 4, dst: SUBNET, gw: GW, oif: OIF };
    expect(hex(encodeNewRoute(0, spec, "replace"))).toBe(golden("route-replace-v4-gw"));
    expect(hex(encodeNewRoute(0, spec, "append"))).toBe(golden("route-append-v4-gw"));
    expect(hex(encodeNewRoute(0, spec, "create"))).toBe(golden("route-prepend-v4-gw"));
    expect(hex(encodeNewRoute(0, spec, "excl"))).toBe(golden("route-add-v4-gw"));
  });

  test("del: scope nowhere, protocol and type 0 unless given; table 1000 in RTA_TABLE", () => {
    expect(hex(encodeDelRoute(0, { family: 4, dst: SUBNET, gw: GW, oif: OIF }))).toBe(golden("route-del-v4-gw"));
    expect(hex(encodeDelRoute(0, { family: 4, dst: SUBNET, table: 1000 }))).toBe(golden("route-del-v4-table-1000"));
  });

  test("dumps: ip -4 / -6 route show table all", () => {
    expect(hex(encodeListRoutes(0, 4))).toBe(golden("route-dump-v4"));
    expect(hex(encodeListRoutes(0, 6))).toBe(golden("route-dump-v6"));
  });

  test("addresses of the wrong family and bad weights are refused", () => {
    expect(() => encodeNewRoute(0, { family: 4, dst: SUBNET, gw: ip("2001:db8::2") })).toThrow("route gateway IPv6 address in an IPv4 route");
    expect(() => encodeNewRoute(0, { family: 4, dst: SUBNET, multipath: [{ oif: 1, weight: 0 }] })).toThrow("invalid nexthop weight 0");
  });
});

describe("parseRoute (requests share the reply layout)", () => {
  const parse = (name: string) => parseRoute(parseMessages(goldenBytes(name))[0]!.payload)!;

  test("header fields, RTA_TABLE over rtm_table, metrics, src", () => {
    expect(parse("route-add-v4-table-1000")).toEqual({
      family: 4, dst: SUBNET, gw: GW, oif: OIF, table: 1000, scope: RT_SCOPE_UNIVERSE, protocol: RTPROT_BOOT, type: RTN_UNICAST,
    });
    expect(parse("route-add-v4-mtu-advmss")).toMatchObject({ mtu: 1400, advmss: 1360, table: RT_TABLE_MAIN });
    expect(parse("route-add-v4-src-proto-scope")).toMatchObject({ src: ip("10.1.2.1"), protocol: RTPROT_STATIC, scope: RT_SCOPE_LINK });
  });

  test("the default route has no dst, even when RTA_DST :: came along", () => {
    expect(parse("route-add-v4-default").dst).toBeUndefined();
    expect(parse("route-add-v6-default-dst")).toMatchObject({ family: 6, gw: ip("2001:db8::2") });
    expect(parse("route-add-v6-default-dst").dst).toBeUndefined();
  });

  test("multipath: each path's gateway, ifindex and weight", () => {
    expect(parse("route-add-v4-ecmp").multipath).toEqual([{ gw: GW, oif: OIF, weight: 1 }, { gw: ip("10.1.2.3"), oif: OIF, weight: 3 }]);
  });

  test("an IPv4 attribute of the wrong size is malformed; other families are skipped", () => {
    const p = parseMessages(goldenBytes("route-add-v6-default"))[0]!.payload.slice();
    p[0] = 2; // claim AF_INET with a 16-byte gateway
    expect(() => parseRoute(p)).toThrow("RTA_GATEWAY: 16 bytes, want 4");
    p[0] = 128; // RTNL_FAMILY_IPMR
    expect(parseRoute(p)).toBeUndefined();
  });
});

const isRoot = process.getuid?.() === 0;
const RUN = `cnid${process.pid.toString(36)}`;
let nsCounter = 0;

interface Lab { name: string; sock: NetlinkSocket; oif: number; peer: number; [Symbol.dispose](): void }

// A throwaway netns with a veth cnidr0 (10.1.2.1/24, 2001:db8::1/64 nodad) and cnidr1, both up.
function lab(): Lab {
  const name = `${RUN}-r${++nsCounter}`;
  const path = createNetns(name);
  const sock = openRouteSocket(path);
  try {
    addLink(sock, { kind: "veth", name: "cnidr0", peer: { name: "cnidr1" } });
    const oif = getLinkByName(sock, "cnidr0").index;
    const peer = getLinkByName(sock, "cnidr1").index;
    setLinkUp(sock, oif);
    setLinkUp(sock, peer);
    addAddr(sock, { index: oif, ip: ip("10.1.2.1"), prefix: 24 });
    addAddr(sock, { index: oif, ip: ip("2001:db8::1"), prefix: 64, flags: IFA_F_NODAD });
    return { name, sock, oif, peer, [Symbol.dispose]: () => { sock.close(); removeNetns(name); } };
  } catch (e) {
    sock.close();
    removeNetns(name);
    throw e;
  }
}

interface IpRoute { dst: string; gateway?: string; dev?: string; metric?: number; table?: string; scope?: string; protocol?: string; prefsrc?: string; metrics?: Array<Record<string, number>>; nexthops?: Array<{ gateway: string; dev: string; weight: number }> }
function ipRoutes(ns: string, ...args: string[]): IpRoute[] {
  const r = Bun.spawnSync(["ip", "-j", "-d", "-n", ns, ...args]);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString() || "[]") as IpRoute[];
}

const text = (r: Route) => `${r.dst ? formatCIDR(r.dst) : "default"}${r.gw ? ` via ${formatIP(r.gw)}` : ""}`;

describe.skipIf(!isRoot)("real kernel (root)", () => {
  test("add, list back every field, delete, delete again", () => {
    using l = lab();
    const specs: RouteSpec[] = [
      { family: 4, dst: net("10.1.3.5/32"), oif: l.oif, scope: RT_SCOPE_LINK },
      { family: 4, dst: SUBNET, gw: GW, oif: l.oif, priority: 100, src: ip("10.1.2.1"), mtu: 1400, advmss: 1360, protocol: RTPROT_STATIC },
      { family: 4, gw: GW, oif: l.oif },
      { family: 4, dst: net("10.7.0.0/16"), gw: GW, oif: l.oif, table: 100 },
      { family: 4, dst: net("10.7.0.0/16"), gw: GW, oif: l.oif, table: 1000 },
      { family: 4, dst: net("10.8.0.0/16"), type: RTN_BLACKHOLE },
      { family: 6, gw: ip("2001:db8::2"), oif: l.oif },
    ];
    for (const s of specs) addRoute(l.sock, s);

    const main4 = listRoutes(l.sock, { family: 4 });
    expect(main4.map(text).sort()).toEqual(["10.1.2.0/24", "10.1.3.5/32", "10.8.0.0/16", "10.9.0.0/16 via 10.1.2.2", "default via 10.1.2.2"]);
    const byText = new Map(main4.map((r) => [text(r), r]));
    expect(byText.get("10.1.3.5/32")).toEqual({
      family: 4, dst: net("10.1.3.5/32"), oif: l.oif, table: RT_TABLE_MAIN, scope: RT_SCOPE_LINK, protocol: RTPROT_BOOT, type: RTN_UNICAST,
    });
    expect(byText.get("10.9.0.0/16 via 10.1.2.2")).toEqual({
      family: 4, dst: SUBNET, gw: GW, oif: l.oif, priority: 100, src: ip("10.1.2.1"), mtu: 1400, advmss: 1360,
      table: RT_TABLE_MAIN, scope: RT_SCOPE_UNIVERSE, protocol: RTPROT_STATIC, type: RTN_UNICAST,
    });
    expect(byText.get("default via 10.1.2.2")).toMatchObject({ gw: GW, oif: l.oif, scope: RT_SCOPE_UNIVERSE });
    // the connected route the address made
    expect(byText.get("10.1.2.0/24")).toMatchObject({ protocol: RTPROT_KERNEL, scope: RT_SCOPE_LINK, src: ip("10.1.2.1") });
    expect(byText.get("10.8.0.0/16")).toMatchObject({ type: RTN_BLACKHOLE });
    expect(byText.get("10.8.0.0/16")!.oif).toBeUndefined();

    expect(listRoutes(l.sock, { family: 4, table: 100 }).map(text)).toEqual(["10.7.0.0/16 via 10.1.2.2"]);
    expect(listRoutes(l.sock, { family: 4, table: 1000 })).toEqual([
      { family: 4, dst: net("10.7.0.0/16"), gw: GW, oif: l.oif, table: 1000, scope: RT_SCOPE_UNIVERSE, protocol: RTPROT_BOOT, type: RTN_UNICAST },
    ]);
    const all = listRoutes(l.sock, { table: 0 });
    expect(all.some((r) => r.table === RT_TABLE_LOCAL && r.type === 2 && r.scope === RT_SCOPE_HOST)).toBe(true); // local 10.1.2.1
    expect(new Set(all.map((r) => r.family))).toEqual(new Set([4, 6]));
    expect(listRoutes(l.sock, { family: 4, oif: l.peer })).toEqual([]);

    const v6 = listRoutes(l.sock, { family: 6 });
    expect(v6.find((r) => !r.dst)).toMatchObject({ gw: ip("2001:db8::2"), oif: l.oif, priority: 1024, table: RT_TABLE_MAIN });

    // iproute2 sees the same
    const seen = ipRoutes(l.name, "route", "show", "table", "main");
    expect(seen.find((r) => r.dst === "10.9.0.0/16")).toMatchObject({ gateway: "10.1.2.2", metric: 100, prefsrc: "10.1.2.1", protocol: "static" });
    expect(seen.find((r) => r.dst === "10.1.3.5")).toMatchObject({ dev: "cnidr0", scope: "link" });

    // `ip route add` twice: EEXIST; then delete each (what listRoutes returned works as a delete spec), then again
    expect(hasErrno(thrown(() => addRoute(l.sock, specs[1]!)), EEXIST)).toBe(true);
    for (const s of specs) delRoute(l.sock, s);
    expect(listRoutes(l.sock, { family: 4 }).map(text)).toEqual(["10.1.2.0/24"]);
    expect(listRoutes(l.sock, { family: 4, table: 1000 })).toEqual([]);
    expect(isNotFound(thrown(() => delRoute(l.sock, specs[1]!)))).toBe(true);
  });

  // Upstream's ipam.ConfigureIface adds with CREATE and no EXCL (netlink.RouteAddEcmp), so a second route to the same
  // prefix with another gateway succeeds. What the kernel makes of it differs per family, recorded here:
  // IPv4 keeps two separate routes (the first one added wins lookups); IPv6 merges them into one ECMP route whose
  // paths are siblings, which a dump reports once with RTA_MULTIPATH (and no top-level gateway).
  test("ECMP siblings: mode \"create\" adds a second gateway where \"excl\" says EEXIST", () => {
    using l = lab();
    addRoute(l.sock, { family: 4, dst: SUBNET, gw: GW, oif: l.oif }, "create");
    expect(hasErrno(thrown(() => addRoute(l.sock, { family: 4, dst: SUBNET, gw: ip("10.1.2.3"), oif: l.oif })), EEXIST)).toBe(true);
    addRoute(l.sock, { family: 4, dst: SUBNET, gw: ip("10.1.2.3"), oif: l.oif }, "create");
    // the exact same route again is still EEXIST, even without EXCL
    expect(hasErrno(thrown(() => addRoute(l.sock, { family: 4, dst: SUBNET, gw: GW, oif: l.oif }, "create")), EEXIST)).toBe(true);
    const v4 = listRoutes(l.sock, { family: 4 }).filter((r) => r.dst?.prefix === 16);
    expect(v4.map(text)).toEqual(["10.9.0.0/16 via 10.1.2.3", "10.9.0.0/16 via 10.1.2.2"]); // "create" prepends
    expect(v4.every((r) => r.multipath === undefined)).toBe(true);

    const dst6 = net("2001:db8:9::/48");
    addRoute(l.sock, { family: 6, dst: dst6, gw: ip("2001:db8::2"), oif: l.oif }, "create");
    addRoute(l.sock, { family: 6, dst: dst6, gw: ip("2001:db8::3"), oif: l.oif }, "create");
    const v6 = listRoutes(l.sock, { family: 6 }).filter((r) => r.dst?.prefix === 48);
    expect(v6).toHaveLength(1);
    expect(v6[0]!.gw).toBeUndefined();
    expect(v6[0]!.multipath).toEqual([{ gw: ip("2001:db8::2"), oif: l.oif, weight: 1 }, { gw: ip("2001:db8::3"), oif: l.oif, weight: 1 }]);
    expect(listRoutes(l.sock, { family: 6, oif: l.oif }).some((r) => r.multipath !== undefined)).toBe(true);

    // deleting one IPv4 route by its gateway leaves the other
    delRoute(l.sock, { family: 4, dst: SUBNET, gw: GW, oif: l.oif });
    expect(listRoutes(l.sock, { family: 4 }).filter((r) => r.dst?.prefix === 16).map(text)).toEqual(["10.9.0.0/16 via 10.1.2.3"]);
  });

  test("an explicit multipath route, replace and append", () => {
    using l = lab();
    addRoute(l.sock, { family: 4, dst: SUBNET, multipath: [{ gw: GW, oif: l.oif }, { gw: ip("10.1.2.3"), oif: l.oif, weight: 3 }] });
    const [mp] = listRoutes(l.sock, { family: 4 }).filter((r) => r.dst?.prefix === 16);
    expect(mp).toEqual({
      family: 4, dst: SUBNET, table: RT_TABLE_MAIN, scope: RT_SCOPE_UNIVERSE, protocol: RTPROT_BOOT, type: RTN_UNICAST,
      multipath: [{ gw: GW, oif: l.oif, weight: 1 }, { gw: ip("10.1.2.3"), oif: l.oif, weight: 3 }],
    });
    expect(ipRoutes(l.name, "route", "show", "10.9.0.0/16")[0]!.nexthops?.map((n) => n.weight)).toEqual([1, 3]);

    addRoute(l.sock, { family: 4, dst: SUBNET, gw: ip("10.1.2.4"), oif: l.oif }, "replace");
    expect(listRoutes(l.sock, { family: 4 }).filter((r) => r.dst?.prefix === 16).map(text)).toEqual(["10.9.0.0/16 via 10.1.2.4"]);
    addRoute(l.sock, { family: 4, dst: SUBNET, gw: ip("10.1.2.5"), oif: l.oif }, "append");
    expect(listRoutes(l.sock, { family: 4 }).filter((r) => r.dst?.prefix === 16).map(text))
      .toEqual(["10.9.0.0/16 via 10.1.2.4", "10.9.0.0/16 via 10.1.2.5"]);
  });
});
