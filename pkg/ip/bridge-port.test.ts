// pkg/ip/bridge-port.test.ts: bridge-port encoders against iproute2's bytes (`bridge link set`, `bridge vlan add|del`,
// `bridge vlan show`; no root), parsing of VLAN dump messages and port flags built here, then the real kernel in a
// throwaway netns (root only): port flags set and read back, `ip -j -d` agreeing, and the VLAN calls doing what the
// kernel allows (this one lacks CONFIG_BRIDGE_VLAN_FILTERING: EOPNOTSUPP, and an empty dump).
import { afterAll, describe, expect, test } from "bun:test";
import { golden, hex } from "../../test/support/golden.ts";
import { canUseNetns, ipJson, sweepNetns, tempNetns } from "../../test/support/netns.ts";
import { EOPNOTSUPP } from "../sys/libc.ts";
import {
  addBridgeVlan, BRIDGE_VLAN_INFO_PVID, BRIDGE_VLAN_INFO_RANGE_BEGIN, BRIDGE_VLAN_INFO_RANGE_END, BRIDGE_VLAN_INFO_UNTAGGED,
  delBridgeVlan, encodeAddBridgeVlan, encodeDelBridgeVlan, encodeListBridgeVlans, encodeSetPortHairpin,
  encodeSetPortIsolated, getPortFlags, listBridgeVlans, parseBridgePortFlags, parseBridgeVlans, setPortHairpin,
  setPortIsolated,
} from "./bridge-port.ts";
import { addLink, getLinkByName, setLinkMaster } from "./link.ts";
import { AF_BRIDGE, AF_UNSPEC, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_INFO_SLAVE_DATA, IFLA_INFO_SLAVE_KIND, IFLA_LINKINFO, RTM_NEWLINK } from "./nl/consts.ts";
import { hasErrno, openRouteSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";

describe("encoders match iproute2 byte for byte", () => {
  test("bridge link set dev X hairpin on|off (vishvananda's LinkSetHairpin sends the same)", () => {
    expect(hex(encodeSetPortHairpin(0, 4, true))).toBe(golden("bridge-link-set-hairpin-on"));
    expect(hex(encodeSetPortHairpin(0, 4, false))).toBe(golden("bridge-link-set-hairpin-off"));
  });

  test("bridge link set dev X isolated on|off", () => {
    expect(hex(encodeSetPortIsolated(0, 4, true))).toBe(golden("bridge-link-set-isolated-on"));
    expect(hex(encodeSetPortIsolated(0, 4, false))).toBe(golden("bridge-link-set-isolated-off"));
  });

  test("bridge vlan add: access (pvid untagged master), trunk (tagged master), self", () => {
    expect(hex(encodeAddBridgeVlan(0, 4, { vid: 100, pvid: true, untagged: true }))).toBe(golden("bridge-vlan-add-pvid-untagged-master"));
    expect(hex(encodeAddBridgeVlan(0, 4, { vid: 200 }))).toBe(golden("bridge-vlan-add-tagged-master"));
    expect(hex(encodeAddBridgeVlan(0, 4, { vid: 100 }, "self"))).toBe(golden("bridge-vlan-add-self"));
  });

  test("bridge vlan del (master), and the VLAN dump of bridge vlan show", () => {
    expect(hex(encodeDelBridgeVlan(0, 4, { vid: 1 }))).toBe(golden("bridge-vlan-del-master"));
    expect(hex(encodeListBridgeVlans(0))).toBe(golden("bridge-vlan-dump"));
  });

  test("a VLAN ID outside 1-4094 is refused before anything is sent", () => {
    expect(() => encodeAddBridgeVlan(0, 4, { vid: 0 })).toThrow("invalid VLAN ID 0");
    expect(() => encodeDelBridgeVlan(0, 4, { vid: 4095 })).toThrow("invalid VLAN ID 4095");
  });
});

/** An RTM_NEWLINK payload (no nlmsghdr) of family AF_BRIDGE carrying IFLA_AF_SPEC VLAN entries {flags, vid}. */
function vlanDumpPayload(index: number, entries: Array<[number, number]>, family = AF_BRIDGE): Uint8Array {
  const w = new NlWriter(RTM_NEWLINK, 0, 0);
  w.ifinfomsg({ family, index });
  w.strz(IFLA_IFNAME, "veth0");
  const spec = w.beginNest(26); // IFLA_AF_SPEC
  for (const [flags, vid] of entries) {
    const b = new Uint8Array(4);
    new DataView(b.buffer).setUint16(0, flags, true);
    new DataView(b.buffer).setUint16(2, vid, true);
    w.bytes(2, b); // IFLA_BRIDGE_VLAN_INFO
  }
  w.endNest(spec);
  return w.finish().subarray(16);
}

describe("parsers", () => {
  test("VLAN entries of a port, ranges expanded, flags kept", () => {
    const p = vlanDumpPayload(7, [
      [BRIDGE_VLAN_INFO_PVID | BRIDGE_VLAN_INFO_UNTAGGED, 1],
      [BRIDGE_VLAN_INFO_RANGE_BEGIN, 10],
      [BRIDGE_VLAN_INFO_RANGE_END, 12],
      [0, 100],
    ]);
    expect(parseBridgeVlans(p)).toEqual({
      index: 7,
      vlans: [
        { vid: 1, flags: 6, pvid: true, untagged: true },
        { vid: 10, flags: 0, pvid: false, untagged: false },
        { vid: 11, flags: 0, pvid: false, untagged: false },
        { vid: 12, flags: 0, pvid: false, untagged: false },
        { vid: 100, flags: 0, pvid: false, untagged: false },
      ],
    });
  });

  test("a message of another family is not a VLAN entry; a short VLAN info is an error", () => {
    expect(parseBridgeVlans(vlanDumpPayload(7, [[0, 5]], AF_UNSPEC))).toBeUndefined();
    const w = new NlWriter(RTM_NEWLINK, 0, 0);
    w.ifinfomsg({ family: AF_BRIDGE, index: 3 });
    const spec = w.beginNest(26);
    w.u16(2, 5);
    w.endNest(spec);
    expect(() => parseBridgeVlans(w.finish().subarray(16))).toThrow("IFLA_BRIDGE_VLAN_INFO: 2 bytes, want 4");
  });

  test("port flags from IFLA_INFO_SLAVE_DATA; a link that is no bridge port has none", () => {
    const link = (slaveKind: string | undefined, data: Array<[number, number]>) => {
      const w = new NlWriter(RTM_NEWLINK, 0, 0);
      w.ifinfomsg({ family: AF_UNSPEC, index: 5 });
      w.strz(IFLA_IFNAME, "veth0");
      const info = w.beginNest(IFLA_LINKINFO);
      w.str(IFLA_INFO_KIND, "veth");
      if (slaveKind) {
        w.strz(IFLA_INFO_SLAVE_KIND, slaveKind);
        const sd = w.beginNest(IFLA_INFO_SLAVE_DATA);
        for (const [t, v] of data) w.u8(t, v);
        w.endNest(sd);
      }
      w.endNest(info);
      return w.finish().subarray(16);
    };
    expect(parseBridgePortFlags(link("bridge", [[4, 1], [33, 0]]))).toEqual({ hairpin: true, isolated: false });
    expect(parseBridgePortFlags(link("bridge", [[4, 0], [33, 1]]))).toEqual({ hairpin: false, isolated: true });
    expect(parseBridgePortFlags(link("bond", [[4, 1]]))).toBeUndefined();
    expect(parseBridgePortFlags(link(undefined, []))).toBeUndefined();
  });
});

afterAll(() => sweepNetns());

describe.skipIf(!canUseNetns())("the kernel (root, throwaway netns)", () => {
  test("hairpin and isolated set, read back here and by ip -d -j", () => {
    using ns = tempNetns("brport");
    using sock = openRouteSocket(ns.path);
    addLink(sock, { kind: "bridge", name: "cnitbr0" });
    addLink(sock, { kind: "veth", name: "cnitv0", peer: { name: "cnitv1" } });
    const br = getLinkByName(sock, "cnitbr0");
    const port = getLinkByName(sock, "cnitv0");
    expect(getPortFlags(sock, port.index)).toBeUndefined();
    setLinkMaster(sock, port.index, br.index);
    expect(getPortFlags(sock, port.index)).toEqual({ hairpin: false, isolated: false });
    setPortHairpin(sock, port.index, true);
    setPortIsolated(sock, port.index, true);
    expect(getPortFlags(sock, port.index)).toEqual({ hairpin: true, isolated: true });
    const [shown] = ipJson(ns, ["-d", "link", "show", "cnitv0"]) as any[];
    expect({ hairpin: shown.linkinfo.info_slave_data.hairpin, isolated: shown.linkinfo.info_slave_data.isolated }).toEqual({ hairpin: true, isolated: true });
    setPortHairpin(sock, port.index, false);
    expect(getPortFlags(sock, port.index)).toEqual({ hairpin: false, isolated: true });
  });

  test("VLAN entries: the dump works everywhere; add and del work or fail with the kernel's EOPNOTSUPP", () => {
    using ns = tempNetns("brvlan");
    using sock = openRouteSocket(ns.path);
    addLink(sock, { kind: "bridge", name: "cnitbr0" });
    addLink(sock, { kind: "veth", name: "cnitv0", peer: { name: "cnitv1" } });
    const port = getLinkByName(sock, "cnitv0");
    setLinkMaster(sock, port.index, getLinkByName(sock, "cnitbr0").index);
    let supported = true;
    try {
      addBridgeVlan(sock, port.index, { vid: 100, pvid: true, untagged: true });
    } catch (e) {
      // Kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse every VLAN entry; that is all this test can see then.
      expect(hasErrno(e, EOPNOTSUPP)).toBe(true);
      supported = false;
    }
    const vlans = listBridgeVlans(sock).get(port.index) ?? [];
    if (!supported) {
      expect(vlans).toEqual([]);
      return;
    }
    expect(vlans.find((v) => v.vid === 100)).toMatchObject({ pvid: true, untagged: true });
    delBridgeVlan(sock, port.index, { vid: 100 });
    expect((listBridgeVlans(sock).get(port.index) ?? []).some((v) => v.vid === 100)).toBe(false);
  });
});
