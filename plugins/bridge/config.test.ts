// plugins/bridge/config.test.ts: the bridge config (no root): defaults, Go decoding, VLAN and trunk checks, MAC
// sources and text, and the ADD-only checks, each with upstream's words; plus calcGateways on IPAM results, and the
// bridge link the ADD creates against iproute2's bytes.
import { describe, expect, test } from "bun:test";
import type { Result } from "../../pkg/cni/types.ts";
import { encodeNewLink } from "../../pkg/ip/link.ts";
import { golden, hex } from "../../test/support/golden.ts";
import { cniErrorOf } from "../../test/support/thrown.ts";
import { collectVlanTrunk, loadConf, parseGoMAC, validateForAdd } from "./config.ts";
import { calcGateways } from "./gateway.ts";
import { bridgeSpec } from "./port.ts";

const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.0.0", name: "brnet", type: "bridge" };
const load = (o: object, cniArgs = "") => loadConf(enc({ ...base, ...o }), cniArgs);

/** Returns the error `fn` throws as {code, msg} (code 999 for a plain Error). */
const errorOf = cniErrorOf;

describe("loadConf", () => {
  test("defaults: cni0, everything off, L2 without an IPAM type", () => {
    const c = load({});
    expect(c).toMatchObject({
      bridge: "cni0", isGateway: false, isDefaultGateway: false, forceAddress: false, ipMasq: false, mtu: 0,
      hairpinMode: false, promiscMode: false, vlan: 0, hasVlanTrunk: false, vlans: [], preserveDefaultVlan: false,
      macspoofchk: false, enabledad: false, disableContainerInterface: false, portIsolation: false, isLayer3: false,
    });
    expect(c.mac).toBeUndefined();
    expect(load({ ipam: {} }).isLayer3).toBe(false);
    expect(load({ ipam: { type: "host-local" } }).isLayer3).toBe(true);
  });

  test("isDefaultGateway forces isGateway; keys match case-insensitively as in Go", () => {
    expect(load({ isDefaultGateway: true })).toMatchObject({ isGateway: true, isDefaultGateway: true });
    expect(load({ Bridge: "br9", IPMasq: true, HAIRPINMODE: true })).toMatchObject({ bridge: "br9", ipMasq: true, hairpinMode: true });
  });

  test("a wrong JSON type is a decode error naming the Go field", () => {
    expect(errorOf(() => load({ vlan: "5" }))).toEqual({
      code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.vlan of type int",
    });
    expect(errorOf(() => load({ args: { cni: { mac: 5 } } })).msg).toBe(
      "failed to load netconf: json: cannot unmarshal number into Go struct field BridgeArgs.args.cni.mac of type string",
    );
    expect(errorOf(() => load({ mtu: 1.5 })).msg).toContain("cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int");
  });

  test("vlan must be 0-4094", () => {
    expect(load({ vlan: 4094 }).vlan).toBe(4094);
    expect(errorOf(() => load({ vlan: 4095 }))).toEqual({ code: 7, msg: "invalid VLAN ID 4095 (must be between 0 and 4094)" });
    expect(errorOf(() => load({ vlan: -1 }))).toEqual({ code: 7, msg: "invalid VLAN ID -1 (must be between 0 and 4094)" });
  });

  test("vlanTrunk: ranges and IDs merged, de-duplicated and sorted; `[]` still counts as given", () => {
    const c = load({ vlanTrunk: [{ id: 300 }, { minID: 100, maxID: 102 }, { id: 101 }, { minID: 5, maxID: 5, id: 7 }] });
    expect(c.vlans).toEqual([5, 7, 100, 101, 102, 300]);
    expect(c.hasVlanTrunk).toBe(true);
    expect(load({ vlanTrunk: [] })).toMatchObject({ hasVlanTrunk: true, vlans: [] });
    expect(load({ vlanTrunk: null })).toMatchObject({ hasVlanTrunk: false, vlans: [] });
    // v1.8.0 dropped "cannot set vlan and vlanTrunk at the same time": the access VLAN becomes the trunk's native one
    expect(load({ vlan: 10, vlanTrunk: [{ id: 20 }] })).toMatchObject({ vlan: 10, vlans: [20] });
  });

  test("vlanTrunk errors, upstream's words", () => {
    const cases: Array<[object, string]> = [
      [{ minID: 0, maxID: 5 }, "incorrect trunk minID parameter"],
      [{ minID: 4095, maxID: 4095 }, "incorrect trunk minID parameter"],
      [{ minID: 5, maxID: 4095 }, "incorrect trunk maxID parameter"],
      [{ minID: 10, maxID: 5 }, "minID is greater than maxID in trunk parameter"],
      [{ maxID: 5 }, "minID and maxID should be configured simultaneously, minID is missing"],
      [{ minID: 5 }, "minID and maxID should be configured simultaneously, maxID is missing"],
      [{ id: 0 }, "incorrect trunk id parameter"],
      [{ id: 4095 }, "incorrect trunk id parameter"],
    ];
    for (const [item, msg] of cases) expect(errorOf(() => load({ vlanTrunk: [item] }))).toEqual({ code: 7, msg });
    expect(collectVlanTrunk([undefined, {}])).toEqual([]);
  });

  test("MAC: CNI_ARGS MAC < args.cni.mac < runtimeConfig.mac; empty values do not count", () => {
    const env = "IgnoreUnknown=1;MAC=02:00:00:00:00:01";
    expect(load({}, env).mac).toBe("02:00:00:00:00:01");
    expect(load({ args: { cni: { mac: "02:00:00:00:00:02" } } }, env).mac).toBe("02:00:00:00:00:02");
    expect(load({ args: { cni: { mac: "02:00:00:00:00:02" } }, runtimeConfig: { mac: "02:00:00:00:00:03" } }, env).mac).toBe("02:00:00:00:00:03");
    expect(load({ args: { cni: { mac: "" } }, runtimeConfig: { mac: "" } }, env).mac).toBe("02:00:00:00:00:01");
  });

  test("CNI_ARGS: unknown keys need IgnoreUnknown", () => {
    expect(errorOf(() => load({}, "FOO=bar")).msg).toBe('ARGS: unknown args ["FOO=bar"]');
    expect(load({}, "IgnoreUnknown=true;FOO=bar").mac).toBeUndefined();
  });
});

describe("validateForAdd", () => {
  test("IPAM with disableContainerInterface, and hairpin with promisc, are refused (code 7)", () => {
    expect(errorOf(() => validateForAdd(load({ ipam: { type: "host-local" }, disableContainerInterface: true })))).toEqual({
      code: 7, msg: "cannot use IPAM when DisableContainerInterface flag is set",
    });
    expect(errorOf(() => validateForAdd(load({ hairpinMode: true, promiscMode: true })))).toEqual({
      code: 7, msg: "cannot set hairpin mode and promiscuous mode at the same time",
    });
  });

  test("a MAC in any form Go accepts becomes colon hex; anything else is the veth error upstream gives", () => {
    for (const text of ["02:AA:bb:00:00:01", "02-aa-bb-00-00-01", "02aa.bb00.0001"]) {
      const c = load({ runtimeConfig: { mac: text } });
      validateForAdd(c);
      expect(c.mac).toBe("02:aa:bb:00:00:01");
    }
    expect(errorOf(() => validateForAdd(load({ runtimeConfig: { mac: "zz" } })))).toEqual({ code: 999, msg: "failed to make veth pair: address zz: invalid MAC address" });
  });
});

test("parseGoMAC takes what net.ParseMAC takes", () => {
  expect(Array.from(parseGoMAC("00:00:5e:00:53:01"))).toEqual([0, 0, 0x5e, 0, 0x53, 1]);
  expect(parseGoMAC("02:00:5e:10:00:00:00:01").length).toBe(8);
  expect(parseGoMAC("0000.5e00.5301.0000").length).toBe(8);
  for (const bad of ["00:00:5e:00:53", "00:00:5e:00:53:0g", "00:00-5e:00:53:01", "0000.5e00.530", "00005e005301", "00:00:5e:00:53:01:02"]) {
    expect(() => parseGoMAC(bad)).toThrow(`address ${bad}: invalid MAC address`);
  }
});

describe("calcGateways", () => {
  const ipamResult = (): Result => ({
    cniVersion: "1.1.0",
    ips: [{ address: "10.1.2.5/24" }, { address: "10.1.3.5/24", gateway: "10.1.3.254" }, { address: "fd00::5/64" }],
  });

  test("isGateway: every IP gets interface 2 and a gateway (network+1 when missing)", () => {
    const r = ipamResult();
    const { v4, v6 } = calcGateways(r, true, false);
    expect(r.ips).toEqual([
      { address: "10.1.2.5/24", gateway: "10.1.2.1", interface: 2 },
      { address: "10.1.3.5/24", gateway: "10.1.3.254", interface: 2 },
      { address: "fd00::5/64", gateway: "fd00::1", interface: 2 },
    ]);
    expect(r.routes).toBeUndefined();
    expect(v4.gws.map((g) => [g.ip.value, g.prefix])).toEqual([[0x0a010201n, 24], [0x0a0103fen, 24]]);
    expect(v6.gws.length).toBe(1);
  });

  test("isDefaultGateway: one default route per family, via the first IP's gateway, unless IPAM gave one with a gw", () => {
    const r = ipamResult();
    calcGateways(r, true, true);
    expect(r.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "::/0", gw: "fd00::1" }]);
    const withDefault: Result = { ...ipamResult(), routes: [{ dst: "0.0.0.0/0", gw: "10.1.2.9" }, { dst: "::/0" }] };
    calcGateways(withDefault, true, true);
    // IPv4 had one with a gateway (no error, nothing added); IPv6's has none, so one is added.
    expect(withDefault.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.1.2.9" }, { dst: "::/0" }, { dst: "::/0", gw: "fd00::1" }]);
  });

  test("without isGateway: no gateways invented, none collected", () => {
    const r = ipamResult();
    const { v4, v6 } = calcGateways(r, false, false);
    expect(r.ips!.map((i) => i.gateway)).toEqual([undefined, "10.1.3.254", undefined]);
    expect([v4.gws, v6.gws]).toEqual([[], []]);
  });
});

test("the bridge an ADD creates: vlan_filtering only when asked, as `ip link add X type bridge vlan_filtering 1`", () => {
  expect(hex(encodeNewLink(0, bridgeSpec({ name: "cnitsb2", mtu: 0, promisc: false, vlanFiltering: true })))).toBe(golden("link-add-bridge-vlan-filtering-only"));
  expect(bridgeSpec({ name: "cni0", mtu: 0, promisc: true, vlanFiltering: false })).toEqual({ kind: "bridge", name: "cni0" });
  expect(bridgeSpec({ name: "cni0", mtu: 1400, promisc: false, vlanFiltering: false })).toEqual({ kind: "bridge", name: "cni0", mtu: 1400 });
});
