// pkg/ip/link.test.ts: encoders against iproute2's bytes and parsing of a captured reply (no root), then the
// real kernel in throwaway namespaces cnits-<pid>-* and cnid<pid36>-* (root only), read back through `ip -j` as well.
import { describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { suiteNetns } from "../../test/support/suite-netns.ts";
import { createNetns, openNetns, removeNetns } from "../ns/netns.ts";
import { EEXIST, EOPNOTSUPP } from "../sys/libc.ts";
import {
  addLink, delLink, encodeDelLink, encodeGetLinkByIndex, encodeGetLinkByName, encodeListLinks, encodeNewLink,
  encodeSetLinkAlias, encodeSetLinkAllmulti, encodeSetLinkFlags, encodeSetLinkMAC, encodeSetLinkMaster, encodeSetLinkMTU,
  encodeSetLinkName, encodeSetLinkNetnsFd, encodeSetLinkPromisc, encodeSetLinkTxQLen, formatMAC, getLinkByIndex,
  getLinkByName, isAllmulti, isPromisc, LinkNotFoundError, listLinks, parseLink, parseMAC, setLinkAlias,
  setLinkAllmulti, setLinkDown, setLinkMAC, setLinkMaster, setLinkMTU, setLinkName, setLinkNetnsFd, setLinkPromisc,
  setLinkTxQLen, setLinkUp,
} from "./link.ts";
import type { LinkSpec } from "./link-kinds.ts";
import {
  AF_UNSPEC, IFF_ALLMULTI, IFF_LOOPBACK, IFF_LOWER_UP, IFF_PROMISC, IFF_RUNNING, IFF_UP, IFLA_IFNAME, IFLA_INFO_DATA,
  IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_TUN_MULTI_QUEUE, IFLA_TUN_OWNER, IFLA_TUN_PERSIST, IFLA_TUN_PI, IFLA_TUN_TYPE,
  IFLA_TUN_VNET_HDR, RTM_NEWLINK,
} from "./nl/consts.ts";
import { parseMessages } from "./nl/reader.ts";
import { hasErrno, isNotFound, NetlinkError, openRouteSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";

describe("encoders match iproute2 byte for byte", () => {
  test("ip link set lo up / down", () => {
    expect(hex(encodeSetLinkFlags(0, 1, true))).toBe(golden("link-set-up-lo"));
    expect(hex(encodeSetLinkFlags(0, 1, false))).toBe(golden("link-set-down-lo"));
  });

  test("get by name and by index (iproute2's ll_link_get)", () => {
    expect(hex(encodeGetLinkByName(0, "lo"))).toBe(golden("link-get-name-lo"));
    expect(hex(encodeGetLinkByIndex(0, 1))).toBe(golden("link-get-index-1"));
  });

  test("dump", () => {
    expect(hex(encodeListLinks(0))).toBe(golden("link-dump"));
  });

  test("ip link del / set master / set netns", () => {
    expect(hex(encodeDelLink(0, 3))).toBe(golden("link-del-index-3"));
    expect(hex(encodeSetLinkMaster(0, 4, 1))).toBe(golden("link-set-master-index-4"));
    expect(hex(encodeSetLinkNetnsFd(0, 4, 4))).toBe(golden("link-set-netns-fd-index-4"));
  });

  test("ip link add ... type dummy, with and without mtu and address", () => {
    expect(hex(encodeNewLink(0, { kind: "dummy", name: "cnitsd0" }))).toBe(golden("link-add-dummy"));
    expect(hex(encodeNewLink(0, { kind: "dummy", name: "cnitsd1", mtu: 1400, mac: "02:00:00:00:00:01" }))).toBe(golden("link-add-dummy-mtu-mac"));
  });

  test("ip link add ... type veth peer ...", () => {
    expect(hex(encodeNewLink(0, { kind: "veth", name: "cnitsv0", peer: { name: "cnitsv1" } }))).toBe(golden("link-add-veth"));
    expect(hex(encodeNewLink(0, { kind: "veth", name: "cnitsv6", peer: { name: "cnitsv7", mtu: 1300, mac: "02:00:00:00:00:07" } })))
      .toBe(golden("link-add-veth-peer-mtu-mac"));
    const full = encodeNewLink(0, {
      kind: "veth", name: "cnitsv4", mtu: 1400, mac: "02:00:00:00:00:04", parentIndex: 1, peer: { name: "cnitsv5", netnsFd: 4 },
    });
    expect(hex(full)).toBe(golden("link-add-veth-link-mtu-mac-peer-netns"));
  });

  // cnitsv0 was ifindex 3 in the captures: the first link of a veth pair made just before (the peer takes 2).
  test("ip link add ... type bridge, with vlan_filtering 1 vlan_default_pvid 1", () => {
    expect(hex(encodeNewLink(0, { kind: "bridge", name: "cnitsb0" }))).toBe(golden("link-add-bridge"));
    expect(hex(encodeNewLink(0, { kind: "bridge", name: "cnitsb1", vlanFiltering: true, vlanDefaultPvid: 1 })))
      .toBe(golden("link-add-bridge-vlan-filtering"));
  });

  test("ip link add link P ... type macvlan / macvtap, each mode byte, bcqueuelen, netns", () => {
    expect(hex(encodeNewLink(0, { kind: "macvlan", name: "cnitsm0", parentIndex: 3, mode: "bridge" }))).toBe(golden("link-add-macvlan-bridge"));
    expect(hex(encodeNewLink(0, { kind: "macvlan", name: "cnitsm1", mtu: 1400, parentIndex: 3, mode: "private", bcqueuelen: 100 })))
      .toBe(golden("link-add-macvlan-private-bcqueuelen"));
    expect(hex(encodeNewLink(0, { kind: "macvtap", name: "cnitst0", parentIndex: 3, mode: "vepa" }))).toBe(golden("link-add-macvtap-vepa"));
    expect(hex(encodeNewLink(0, { kind: "macvlan", name: "cnitsm2", netnsFd: 4, parentIndex: 3, mode: "passthru" })))
      .toBe(golden("link-add-macvlan-passthru-netns"));
  });

  test("ip link add link P ... type ipvlan mode l2 / mode l3s private", () => {
    expect(hex(encodeNewLink(0, { kind: "ipvlan", name: "cnitsi0", parentIndex: 3, mode: "l2" }))).toBe(golden("link-add-ipvlan-l2"));
    expect(hex(encodeNewLink(0, { kind: "ipvlan", name: "cnitsi1", parentIndex: 3, mode: "l3s", flags: "private" })))
      .toBe(golden("link-add-ipvlan-l3s-private"));
  });

  test("ip link add link P ... type vlan id 100; type vrf table 100; type ifb", () => {
    expect(hex(encodeNewLink(0, { kind: "vlan", name: "cnitsvl0", parentIndex: 3, vlanId: 100 }))).toBe(golden("link-add-vlan-100"));
    expect(hex(encodeNewLink(0, { kind: "vrf", name: "cnitsvrf0", table: 100 }))).toBe(golden("link-add-vrf-100"));
    expect(hex(encodeNewLink(0, { kind: "ifb", name: "cnitsifb0" }))).toBe(golden("link-add-ifb"));
  });

  test("ip link set DEV mtu / address / name / alias / txqueuelen", () => {
    expect(hex(encodeSetLinkMTU(0, 3, 1400))).toBe(golden("link-set-mtu"));
    expect(hex(encodeSetLinkMAC(0, 3, "0a:00:00:00:00:01"))).toBe(golden("link-set-address"));
    expect(hex(encodeSetLinkName(0, 3, "cnitsv9"))).toBe(golden("link-set-name"));
    expect(hex(encodeSetLinkAlias(0, 3, "cni-test-alias"))).toBe(golden("link-set-alias"));
    expect(hex(encodeSetLinkAlias(0, 3, ""))).toBe(golden("link-set-alias-empty"));
    expect(hex(encodeSetLinkTxQLen(0, 3, 500))).toBe(golden("link-set-txqueuelen"));
  });

  test("ip link set DEV promisc on|off, allmulticast on|off", () => {
    expect(hex(encodeSetLinkPromisc(0, 3, true))).toBe(golden("link-set-promisc-on"));
    expect(hex(encodeSetLinkPromisc(0, 3, false))).toBe(golden("link-set-promisc-off"));
    expect(hex(encodeSetLinkAllmulti(0, 3, true))).toBe(golden("link-set-allmulticast-on"));
    expect(hex(encodeSetLinkAllmulti(0, 3, false))).toBe(golden("link-set-allmulticast-off"));
  });

  test("the seq argument lands in nlmsg_seq", () => {
    expect(hex(encodeSetLinkFlags(0x6b035ea1, 1, true)).slice(16, 24)).toBe("a15e036b");
  });
});

describe("parseLink", () => {
  test("reads the captured RTM_NEWLINK for lo", () => {
    const [m] = parseMessages(goldenBytes("reply-link-dump"));
    const lo = parseLink(m!.payload);
    expect(lo).toEqual({
      index: 1, name: "lo", flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP, mtu: 65536,
      mac: "00:00:00:00:00:00", operState: "unknown", txqlen: 1000, promiscuity: 0,
    });
  });

  test("reads kind and peer from a link message with IFLA_LINKINFO", () => {
    // A request and a reply share the layout: the veth create carries IFLA_LINKINFO, IFLA_LINK, IFLA_ADDRESS, IFLA_MTU.
    const [m] = parseMessages(goldenBytes("link-add-veth-link-mtu-mac-peer-netns"));
    expect(parseLink(m!.payload)).toEqual({ index: 0, name: "cnitsv4", flags: 0, mtu: 1400, mac: "02:00:00:00:00:04", kind: "veth", parentIndex: 1 });
  });

  test("reads kind-specific IFLA_INFO_DATA (requests share the reply layout)", () => {
    const parse = (name: string) => parseLink(parseMessages(goldenBytes(name))[0]!.payload);
    expect(parse("link-add-macvlan-bridge")).toMatchObject({ kind: "macvlan", macvlanMode: "bridge", parentIndex: 3 });
    expect(parse("link-add-macvlan-private-bcqueuelen")).toMatchObject({ kind: "macvlan", macvlanMode: "private", mtu: 1400 });
    expect(parse("link-add-macvtap-vepa")).toMatchObject({ kind: "macvtap", macvlanMode: "vepa" });
    expect(parse("link-add-ipvlan-l3s-private")).toMatchObject({ kind: "ipvlan", ipvlanMode: "l3s", ipvlanFlag: "private" });
    expect(parse("link-add-ipvlan-l2")).toMatchObject({ kind: "ipvlan", ipvlanMode: "l2", ipvlanFlag: "bridge" });
    expect(parse("link-add-vlan-100")).toMatchObject({ kind: "vlan", vlanId: 100, parentIndex: 3 });
    expect(parse("link-add-vrf-100")).toMatchObject({ kind: "vrf", vrfTable: 100 });
    expect(parse("link-add-bridge-vlan-filtering")).toMatchObject({ kind: "bridge", vlanFiltering: true });
    const plain = parse("link-add-bridge");
    expect(plain.kind).toBe("bridge");
    expect(plain.vlanFiltering).toBeUndefined();
  });

  test("reads a tun/tap link's IFLA_TUN_* data", () => {
    const w = new NlWriter(RTM_NEWLINK, 0, 0);
    w.ifinfomsg({ family: AF_UNSPEC, index: 7 });
    w.strz(IFLA_IFNAME, "tap0");
    const info = w.beginNest(IFLA_LINKINFO);
    w.str(IFLA_INFO_KIND, "tun");
    const data = w.beginNest(IFLA_INFO_DATA);
    w.u32(IFLA_TUN_OWNER, 1000).u8(IFLA_TUN_TYPE, 2).u8(IFLA_TUN_PI, 0).u8(IFLA_TUN_VNET_HDR, 1).u8(IFLA_TUN_PERSIST, 1).u8(IFLA_TUN_MULTI_QUEUE, 0);
    w.endNest(data);
    w.endNest(info);
    const [m] = parseMessages(w.finish());
    expect(parseLink(m!.payload)).toEqual({
      index: 7, name: "tap0", flags: 0, mtu: 0, mac: "", kind: "tun",
      tunMode: "tap", tunOwner: 1000, tunPi: false, tunVnetHdr: true, tunPersist: true, tunMultiQueue: false,
    });
  });

  test("promisc and allmulti come from ifi_flags", () => {
    const base = { index: 2, name: "x", mtu: 1500, mac: "" };
    expect(isPromisc({ ...base, flags: IFF_UP | IFF_PROMISC })).toBe(true);
    expect(isPromisc({ ...base, flags: IFF_UP })).toBe(false);
    expect(isAllmulti({ ...base, flags: IFF_ALLMULTI })).toBe(true);
    expect(isAllmulti({ ...base, flags: IFF_PROMISC })).toBe(false);
  });

  test("a link without IFLA_IFNAME is malformed", () => {
    const [m] = parseMessages(goldenBytes("link-set-up-lo"));
    expect(() => parseLink(m!.payload)).toThrow("IFLA_IFNAME: missing");
  });
});

test("MAC text", () => {
  expect(formatMAC(new Uint8Array([2, 0x42, 0xac, 0x11, 0, 2]))).toBe("02:42:ac:11:00:02");
  expect([...parseMAC("02:42:AC:11:00:02")]).toEqual([2, 0x42, 0xac, 0x11, 0, 2]);
  expect(() => parseMAC("02:42:ac:11:00")).toThrow('invalid MAC address "02:42:ac:11:00"');
  expect(() => parseMAC("zz:42:ac:11:00:02")).toThrow("invalid MAC address");
});

const isRoot = process.getuid?.() === 0;

interface IpLink { ifname: string; flags: string[]; operstate: string; ifindex: number }
function ipLinks(ns: string): IpLink[] {
  const r = Bun.spawnSync(["ip", "-j", "-n", ns, "link", "show"]);
  if (r.exitCode !== 0) throw new Error(`ip link show: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as IpLink[];
}

describe.skipIf(!isRoot)("real kernel (root)", () => {
  const ns = suiteNetns({ main: "link", other: "link2" });

  test("a fresh netns has only lo, down", () => {
    using sock = openRouteSocket(ns.main.path);
    const links = listLinks(sock);
    expect(links.map((l) => l.name)).toEqual(["lo"]);
    expect(links[0]!.index).toBe(1);
    expect(links[0]!.flags & IFF_UP).toBe(0);
    expect(links[0]!.mtu).toBe(65536);
  });

  test("lo up and down, read back via getLinkByName and `ip -j`", () => {
    using sock = openRouteSocket(ns.main.path);
    const lo = getLinkByName(sock, "lo");
    setLinkUp(sock, lo.index);
    expect(getLinkByName(sock, "lo").flags & IFF_UP).toBe(IFF_UP);
    expect(ipLinks(ns.main.name).find((l) => l.ifname === "lo")!.flags).toContain("UP");
    setLinkDown(sock, lo.index);
    expect(getLinkByName(sock, "lo").flags & IFF_UP).toBe(0);
    expect(ipLinks(ns.main.name).find((l) => l.ifname === "lo")!.flags).not.toContain("UP");
    setLinkUp(sock, lo.index); // address tests elsewhere want it up; harmless here
    expect(getLinkByIndex(sock, 1).name).toBe("lo");
  });

  test("missing links throw LinkNotFoundError, which isNotFound recognises", () => {
    using sock = openRouteSocket(ns.main.path);
    let err: unknown;
    try { getLinkByName(sock, "cnits-nope"); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LinkNotFoundError);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toBe('link "cnits-nope" not found');
    expect(() => getLinkByIndex(sock, 9999)).toThrow("link index 9999 not found");
    let upErr: unknown;
    try { setLinkUp(sock, 9999); } catch (e) { upErr = e; }
    expect(isNotFound(upErr)).toBe(true);
  });

  test("a veth pair: create, read kind and peer, move the peer, delete, delete again", () => {
    using sock = openRouteSocket(ns.main.path);
    using otherSock = openRouteSocket(ns.other.path);
    addLink(sock, { kind: "veth", name: "cnitsv0", mtu: 1400, mac: "02:00:00:00:00:10", peer: { name: "cnitsv1" } });
    const v0 = getLinkByName(sock, "cnitsv0");
    const v1 = getLinkByName(sock, "cnitsv1");
    expect([v0.kind, v0.mtu, v0.mac, v0.parentIndex]).toEqual(["veth", 1400, "02:00:00:00:00:10", v1.index]);
    expect(listLinks(sock).map((l) => l.name).sort()).toEqual(["cnitsv0", "cnitsv1", "lo"]);

    let dup: unknown;
    try { addLink(sock, { kind: "veth", name: "cnitsv0", peer: { name: "cnitsv9" } }); } catch (e) { dup = e; }
    expect(hasErrno(dup, EEXIST)).toBe(true);

    using target = openNetns(ns.other.path);
    setLinkNetnsFd(sock, v1.index, target.fd);
    expect(() => getLinkByName(sock, "cnitsv1")).toThrow(LinkNotFoundError);
    expect(getLinkByName(otherSock, "cnitsv1").kind).toBe("veth");
    expect(ipLinks(ns.other.name).map((l) => l.ifname)).toContain("cnitsv1");

    delLink(sock, v0.index);
    expect(listLinks(sock).map((l) => l.name)).toEqual(["lo"]);
    expect(listLinks(otherSock).map((l) => l.name)).toEqual(["lo"]); // the peer went with it
    let again: unknown;
    try { delLink(sock, v0.index); } catch (e) { again = e; }
    expect(isNotFound(again)).toBe(true);
  });

  test("a kind the kernel lacks fails with EOPNOTSUPP and the kernel's words, or is created", () => {
    using sock = openRouteSocket(ns.main.path);
    try {
      addLink(sock, { kind: "dummy", name: "cnitsd0" });
      expect(getLinkByName(sock, "cnitsd0").kind).toBe("dummy");
      delLink(sock, getLinkByName(sock, "cnitsd0").index);
    } catch (e) {
      expect(hasErrno(e, EOPNOTSUPP)).toBe(true);
      expect((e as NetlinkError).extAck).toBe("Unknown device type");
    }
  });
});

// Kinds and setters on the real kernel: each test makes its own netns cnid<pid36>-<n> and removes it. Kinds this
// machine's kernel lacks (ipvlan, 8021q, vrf, dummy; bridge vlan_filtering) must fail with EOPNOTSUPP, and the
// read-back assertions then have nothing to read: `created` says which happened.
const RUN = `cnid${process.pid.toString(36)}`;
let nsCounter = 0;

function throwawayNetns(): { name: string; path: string; [Symbol.dispose](): void } {
  const name = `${RUN}-l${++nsCounter}`;
  const path = createNetns(name);
  return { name, path, [Symbol.dispose]: () => removeNetns(name) };
}

// Returns true when the kernel made the link; otherwise asserts the refusal is the missing-kind one and returns false.
function addOrUnsupported(sock: ReturnType<typeof openRouteSocket>, spec: LinkSpec, extAck: string | null = "Unknown device type"): boolean {
  try {
    addLink(sock, spec);
    return true;
  } catch (e) {
    expect(e).toBeInstanceOf(NetlinkError);
    expect((e as NetlinkError).errno).toBe(EOPNOTSUPP);
    expect((e as NetlinkError).extAck ?? null).toBe(extAck);
    expect(() => getLinkByName(sock, spec.name)).toThrow(LinkNotFoundError); // nothing half-made is left behind
    return false;
  }
}

interface IpLinkDetail { ifname: string; mtu: number; address: string; txqlen?: number; ifalias?: string; flags: string[]; promiscuity: number; linkinfo?: { info_kind: string; info_data?: Record<string, unknown> } }
function ipLinkDetail(ns: string, dev: string): IpLinkDetail {
  const r = Bun.spawnSync(["ip", "-j", "-d", "-n", ns, "link", "show", "dev", dev]);
  if (r.exitCode !== 0) throw new Error(`ip link show: ${r.stderr.toString()}`);
  return (JSON.parse(r.stdout.toString()) as IpLinkDetail[])[0]!;
}

describe.skipIf(!isRoot)("link kinds and setters on the real kernel (root)", () => {
  test("bridge: created and read back; with vlan_filtering either read back or EOPNOTSUPP (no ext-ack text)", () => {
    using ns = throwawayNetns();
    using sock = openRouteSocket(ns.path);
    addLink(sock, { kind: "bridge", name: "cnidb0", mtu: 1400 });
    const b0 = getLinkByName(sock, "cnidb0");
    expect([b0.kind, b0.mtu, b0.vlanFiltering]).toEqual(["bridge", 1400, false]);
    expect(ipLinkDetail(ns.name, "cnidb0").linkinfo?.info_kind).toBe("bridge");
    // This kernel lacks CONFIG_BRIDGE_VLAN_FILTERING: br_vlan_filter_toggle says EOPNOTSUPP without a message,
    // and the half-made bridge is unregistered again.
    if (addOrUnsupported(sock, { kind: "bridge", name: "cnidb1", vlanFiltering: true, vlanDefaultPvid: 1 }, null)) {
      expect(getLinkByName(sock, "cnidb1").vlanFiltering).toBe(true);
    }
    // An explicit vlan_filtering 0 goes through the same toggle: refused too on such a kernel (so a bridge plugin
    // must leave the attribute out unless it wants filtering). vlan_default_pvid alone is accepted there.
    if (addOrUnsupported(sock, { kind: "bridge", name: "cnidb2", vlanFiltering: false }, null)) {
      expect(getLinkByName(sock, "cnidb2").vlanFiltering).toBe(false);
    }
    addLink(sock, { kind: "bridge", name: "cnidb3", vlanDefaultPvid: 1 });
    expect(getLinkByName(sock, "cnidb3").kind).toBe("bridge");
  });

  test("macvlan and macvtap on a veth: every mode reads back, and bcqueuelen; made straight in another netns", () => {
    using ns = throwawayNetns();
    using other = throwawayNetns();
    using sock = openRouteSocket(ns.path);
    using otherSock = openRouteSocket(other.path);
    addLink(sock, { kind: "veth", name: "cnidp0", peer: { name: "cnidp1" } });
    const parent = getLinkByName(sock, "cnidp0").index;
    const modes = ["private", "vepa", "bridge", "source"] as const;
    for (const [i, mode] of modes.entries()) {
      addLink(sock, { kind: "macvlan", name: `cnidm${i}`, parentIndex: parent, mode, mtu: 1400 });
      const m = getLinkByName(sock, `cnidm${i}`);
      expect([m.kind, m.macvlanMode, m.parentIndex, m.mtu]).toEqual(["macvlan", mode, parent, 1400]);
      expect(ipLinkDetail(ns.name, `cnidm${i}`).linkinfo?.info_data?.mode).toBe(mode);
    }
    addLink(sock, { kind: "macvtap", name: "cnidt0", parentIndex: parent, mode: "vepa", bcqueuelen: 100 });
    const t = getLinkByName(sock, "cnidt0");
    expect([t.kind, t.macvlanMode]).toEqual(["macvtap", "vepa"]);
    expect(ipLinkDetail(ns.name, "cnidt0").linkinfo?.info_data?.bcqueuelen).toBe(100);

    // Created in `other` while the lower device stays here: IFLA_LINK_NETNSID points back across.
    using target = openNetns(other.path);
    addLink(sock, { kind: "macvlan", name: "cnidmx", parentIndex: parent, mode: "bridge", netnsFd: target.fd });
    expect(() => getLinkByName(sock, "cnidmx")).toThrow(LinkNotFoundError);
    const mx = getLinkByName(otherSock, "cnidmx");
    expect([mx.kind, mx.macvlanMode, mx.parentIndex]).toEqual(["macvlan", "bridge", parent]);
    expect(mx.linkNetnsId).toBeNumber();
  });

  test("ifb: created and read back", () => {
    using ns = throwawayNetns();
    using sock = openRouteSocket(ns.path);
    addLink(sock, { kind: "ifb", name: "cnidifb0" });
    expect(getLinkByName(sock, "cnidifb0").kind).toBe("ifb");
  });

  test("ipvlan, vlan, vrf: read back where the kernel has them, else EOPNOTSUPP \"Unknown device type\"", () => {
    using ns = throwawayNetns();
    using sock = openRouteSocket(ns.path);
    addLink(sock, { kind: "veth", name: "cnidp0", peer: { name: "cnidp1" } });
    const parent = getLinkByName(sock, "cnidp0").index;
    if (addOrUnsupported(sock, { kind: "ipvlan", name: "cnidi0", parentIndex: parent, mode: "l3", flags: "private" })) {
      expect(getLinkByName(sock, "cnidi0")).toMatchObject({ kind: "ipvlan", ipvlanMode: "l3", ipvlanFlag: "private" });
    }
    if (addOrUnsupported(sock, { kind: "vlan", name: "cnidvl0", parentIndex: parent, vlanId: 100 })) {
      expect(getLinkByName(sock, "cnidvl0")).toMatchObject({ kind: "vlan", vlanId: 100, parentIndex: parent });
    }
    if (addOrUnsupported(sock, { kind: "vrf", name: "cnidvrf0", table: 100 })) {
      expect(getLinkByName(sock, "cnidvrf0")).toMatchObject({ kind: "vrf", vrfTable: 100 });
    }
  });

  test("setters: mtu, mac, name, alias, txqlen, promisc, allmulti, master; read back here and through `ip -j`", () => {
    using ns = throwawayNetns();
    using sock = openRouteSocket(ns.path);
    addLink(sock, { kind: "veth", name: "cnidv0", peer: { name: "cnidv1" } });
    addLink(sock, { kind: "bridge", name: "cnidbr" });
    const i = getLinkByName(sock, "cnidv0").index;
    setLinkMTU(sock, i, 1400);
    setLinkMAC(sock, i, "0a:00:00:00:00:01");
    setLinkAlias(sock, i, "cni test alias");
    setLinkTxQLen(sock, i, 500);
    setLinkPromisc(sock, i, true);
    setLinkAllmulti(sock, i, true);
    setLinkName(sock, i, "cnidv9"); // the link is down, so the kernel allows a rename
    setLinkMaster(sock, i, getLinkByName(sock, "cnidbr").index);
    let v = getLinkByIndex(sock, i);
    expect(v).toMatchObject({ name: "cnidv9", mtu: 1400, mac: "0a:00:00:00:00:01", alias: "cni test alias", txqlen: 500, promiscuity: 2 });
    // promiscuity 2: our request and the bridge port each hold promiscuous mode.
    expect(v.masterIndex).toBe(getLinkByName(sock, "cnidbr").index);
    expect([isPromisc(v), isAllmulti(v)]).toEqual([true, true]);
    const ip = ipLinkDetail(ns.name, "cnidv9");
    expect([ip.mtu, ip.address, ip.ifalias, ip.txqlen]).toEqual([1400, "0a:00:00:00:00:01", "cni test alias", 500]);
    expect(ip.flags).toEqual(expect.arrayContaining(["PROMISC", "ALLMULTI"]));

    setLinkMaster(sock, i, 0);
    setLinkPromisc(sock, i, false);
    setLinkAllmulti(sock, i, false);
    setLinkAlias(sock, i, "");
    v = getLinkByIndex(sock, i);
    expect([isPromisc(v), isAllmulti(v), v.promiscuity, v.alias, v.masterIndex]).toEqual([false, false, 0, undefined, undefined]);
    expect(ipLinkDetail(ns.name, "cnidv9").flags).not.toContain("PROMISC");

    let bad: unknown;
    try { setLinkMTU(sock, i, 10); } catch (e) { bad = e; }
    expect(bad).toBeInstanceOf(NetlinkError);
    expect(() => setLinkMAC(sock, i, "nonsense")).toThrow('invalid MAC address "nonsense"');
  });
});
