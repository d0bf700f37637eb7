// plugins/vlan/vlan.test.ts: runs anywhere, no root. The vlan plugin's config rules with upstream's texts (and our
// codes), and the RTM_NEWLINK it sends, byte for byte against iproute2 (the build kernel lacks 8021q; the kernel VM
// case test/kernel-vm/cases/vlan.sh shows the kernel taking these same requests).
import { describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { encodeNewLink, encodeSetLinkName } from "../../pkg/ip/link.ts";
import { golden, hex } from "../../test/support/golden.ts";
import { checkMtu, decodeConf, loadConf, vlanLinkSpec } from "./vlan.ts";

const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.1.0", name: "vnet", type: "vlan", ipam: { type: "host-local" } };

/** Returns what loadConf threw, as the skel would print it ({code, msg}). */
function thrown(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? { code: e.code, msg: e.msg } : { code: 999, msg: (e as Error).message };
  }
  throw new Error("did not throw");
}

describe("config", () => {
  test("defaults: vlanId 0, mtu 0 (inherit), linkInContainer off", () => {
    expect(loadConf(enc({ ...base, master: "eth0" }))).toMatchObject({ master: "eth0", vlanId: 0, mtu: 0, linkInContainer: false });
  });

  test("keys match case-insensitively, as Go's encoding/json does", () => {
    expect(loadConf(enc({ ...base, Master: "m0", VLANID: 7, MTU: 1400, LinkInContainer: true })))
      .toMatchObject({ master: "m0", vlanId: 7, mtu: 1400, linkInContainer: true });
  });

  test.each([0, 1, 4094])("vlanId %d is accepted", (vlanId) => {
    expect(loadConf(enc({ ...base, master: "m0", vlanId })).vlanId).toBe(vlanId);
  });

  test.each([
    ["no master", { vlanId: 1 }, '"master" field is required. It specifies the host interface name to create the VLAN for'],
    ["an empty master", { master: "", vlanId: 1 }, '"master" field is required. It specifies the host interface name to create the VLAN for'],
    ["vlanId 5000", { master: "m0", vlanId: 5000 }, "invalid VLAN ID 5000 (must be between 0 and 4095 inclusive)"],
    ["vlanId 4095 (reserved)", { master: "m0", vlanId: 4095 }, "invalid VLAN ID 4095 (must be between 0 and 4095 inclusive)"],
    ["a negative vlanId", { master: "m0", vlanId: -1 }, "invalid VLAN ID -1 (must be between 0 and 4095 inclusive)"],
  ])("%s: code 7, upstream's text", (_label, top, msg) => {
    expect(thrown(() => loadConf(enc({ ...base, ...top })))).toEqual({ code: 7, msg });
  });

  test.each([
    ["vlanId as a string", { vlanId: "100" }, "json: cannot unmarshal string into Go struct field NetConf.vlanId of type int"],
    ["vlanId 1.5", { vlanId: 1.5 }, "json: cannot unmarshal number 1.5 into Go struct field NetConf.vlanId of type int"],
    ["mtu as a string", { mtu: "1400" }, "json: cannot unmarshal string into Go struct field NetConf.mtu of type int"],
    ["master as a number", { master: 1 }, "json: cannot unmarshal number into Go struct field NetConf.master of type string"],
    ["linkInContainer as a string", { linkInContainer: "yes" }, "json: cannot unmarshal string into Go struct field NetConf.linkInContainer of type bool"],
  ])("%s: code 999, Go's decode error naming the field", (_label, top, msg) => {
    expect(thrown(() => loadConf(enc({ ...base, master: "m0", ...top })))).toEqual({ code: 999, msg: `failed to load netconf: ${msg}` });
  });

  test("CHECK and STATUS decode only: no master and a bad vlanId pass decodeConf", () => {
    expect(decodeConf(enc({ ...base, vlanId: 5000 }))).toMatchObject({ master: "", vlanId: 5000 });
  });

  const master = { mtu: 1500 };
  test.each([0, 1, 1280, 1500])("mtu %d fits a master of MTU 1500", (mtu) => {
    expect(() => checkMtu({ mtu }, master)).not.toThrow();
  });
  test.each([-1, 1501, 9000])("mtu %d: code 7, naming the master's MTU", (mtu) => {
    expect(thrown(() => checkMtu({ mtu }, master))).toEqual({ code: 7, msg: `invalid MTU ${mtu}, must be [0, master MTU(1500)]` });
  });
});

describe("netlink requests match iproute2 byte for byte", () => {
  test("explicit mtu, container netns by fd, VLAN id 4094: ip link add link P name N mtu 1400 netns X type vlan id 4094", () => {
    expect(hex(encodeNewLink(0, vlanLinkSpec({ vlanId: 4094, mtu: 1400 }, "cnitsvl1", 3, 4)))).toBe(golden("link-add-vlan-mtu-netns-4094"));
  });

  test("mtu 0 sends no IFLA_MTU (the VLAN inherits its master's); VLAN id 0 is still sent", () => {
    expect(hex(encodeNewLink(0, vlanLinkSpec({ vlanId: 0, mtu: 0 }, "cnitsvl2", 3, 4)))).toBe(golden("link-add-vlan-0-netns"));
  });

  test("the rename from the temporary name: ip link set DEV name NEW", () => {
    expect(hex(encodeSetLinkName(0, 3, "cnitsv9"))).toBe(golden("link-set-name"));
  });
});
