// plugins/tap/config.test.ts: the tap config (no root): defaults, Go decoding, the MAC's three sources, the checks an
// ADD makes before it creates anything, and the TUNSETIFF request each upstream creation path stands for.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { encodeTunSetIff } from "../../pkg/ip/tuntap.ts";
import { IFF_MULTI_QUEUE, IFF_NO_PI, IFF_TAP, IFF_TUN_EXCL, IFF_VNET_HDR } from "../../pkg/ip/nl/consts.ts";
import { loadConf, tapSpec, validateForAdd } from "./config.ts";

const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.0.0", name: "tapnet", type: "tap" };
const load = (o: object, cniArgs = "") => loadConf(enc({ ...base, ...o }), cniArgs);

/** Returns the error `fn` throws as {code, msg} (code 999 for a plain Error). */
function errorOf(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? { code: e.code, msg: e.msg } : { code: 999, msg: (e as Error).message };
  }
  throw new Error("did not throw");
}

describe("loadConf", () => {
  test("defaults: single queue, no MTU, MAC, owner, group, label or bridge; layer 2 without an IPAM type", () => {
    const c = load({});
    expect(c).toMatchObject({ multiQueue: false, mtu: 0, selinuxContext: "", bridge: "", isLayer3: false });
    expect([c.mac, c.owner, c.group]).toEqual([undefined, undefined, undefined]);
    expect(load({ ipam: {} }).isLayer3).toBe(false);
    expect(load({ ipam: { type: "host-local" } }).isLayer3).toBe(true);
  });

  test("every field, keys matched case-insensitively as in Go", () => {
    expect(load({ MultiQueue: true, MTU: 9000, owner: 0, GROUP: 4242, selinuxcontext: "system_u:system_r:container_t:s0", Bridge: "br0" }))
      .toMatchObject({ multiQueue: true, mtu: 9000, owner: 0, group: 4242, selinuxContext: "system_u:system_r:container_t:s0", bridge: "br0" });
  });

  test("a wrong JSON type is a decode error naming the Go field", () => {
    const bad = (o: object) => errorOf(() => load(o));
    const field = (f: string, what: string, type: string) => ({
      code: 999, msg: `failed to load netconf: json: cannot unmarshal ${what} into Go struct field ${f} of type ${type}`,
    });
    expect(bad({ multiQueue: "yes" })).toEqual(field("NetConf.multiQueue", "string", "bool"));
    expect(bad({ mtu: 1.5 })).toEqual(field("NetConf.mtu", "number 1.5", "int"));
    expect(bad({ owner: -1 })).toEqual(field("NetConf.owner", "number -1", "uint32"));
    expect(bad({ group: 4294967296 })).toEqual(field("NetConf.group", "number 4294967296", "uint32"));
    expect(bad({ owner: "root" })).toEqual(field("NetConf.owner", "string", "uint32"));
    expect(bad({ mac: 5 })).toEqual(field("NetConf.mac", "number", "string"));
    expect(bad({ bridge: ["br0"] })).toEqual(field("NetConf.bridge", "array", "string"));
    // upstream's `Args *struct{}`: any object, nothing else.
    expect(load({ args: { cni: { anything: 1 } } }).isLayer3).toBe(false);
    expect(bad({ args: "x" })).toEqual(field("NetConf.args", "string", "struct {}"));
    expect(bad({ runtimeConfig: { mac: 1 } })).toEqual(field(".runtimeConfig.mac", "number", "string"));
  });

  test("MAC precedence, lowest to highest: mac, CNI_ARGS MAC, runtimeConfig.mac; empty values do not count", () => {
    const m = (o: object, args = "") => load(o, args).mac;
    expect(m({ mac: "02:00:00:00:00:01" })).toBe("02:00:00:00:00:01");
    expect(m({ mac: "02:00:00:00:00:01" }, "MAC=02:00:00:00:00:02")).toBe("02:00:00:00:00:02");
    expect(m({ mac: "02:00:00:00:00:01", runtimeConfig: { mac: "02:00:00:00:00:03" } }, "MAC=02:00:00:00:00:02")).toBe("02:00:00:00:00:03");
    expect(m({ mac: "02:00:00:00:00:01", runtimeConfig: { mac: "" } }, "MAC=")).toBe("02:00:00:00:00:01");
    expect(m({})).toBeUndefined();
  });

  test("CNI_ARGS: only MAC and IgnoreUnknown are known", () => {
    expect(errorOf(() => load({}, "K8S_POD_NAME=x"))).toEqual({ code: 999, msg: 'ARGS: unknown args ["K8S_POD_NAME=x"]' });
    expect(load({}, "IgnoreUnknown=1;K8S_POD_NAME=x;MAC=02:00:00:00:00:09").mac).toBe("02:00:00:00:00:09");
  });
});

describe("validateForAdd", () => {
  const check = (o: object, args = "") => errorOf(() => validateForAdd(load(o, args)));

  test("a MAC in any form Go reads is normalised to lowercase colon hex", () => {
    for (const mac of ["02:AB:cd:00:00:01", "02-ab-cd-00-00-01", "02ab.cd00.0001"]) {
      const c = load({ mac });
      validateForAdd(c);
      expect(c.mac).toBe("02:ab:cd:00:00:01");
    }
  });

  test("a bad MAC: upstream's text, from whichever source it came", () => {
    expect(check({ mac: "02:00:00:00:01" })).toEqual({ code: 999, msg: "invalid args 02:00:00:00:01 for MAC addr: address 02:00:00:00:01: invalid MAC address" });
    expect(check({}, "MAC=zz:00:00:00:00:01")).toEqual({
      code: 999, msg: "invalid args zz:00:00:00:00:01 for MAC addr: address zz:00:00:00:00:01: invalid MAC address",
    });
    expect(check({ mac: "02:00:00:00:00:00:00:01" })).toEqual({ code: 999, msg: "invalid args 02:00:00:00:00:00:00:01 for MAC addr: a tap takes a 6-byte Ethernet address" });
    expect(check({ mac: "01:00:5e:00:00:01" })).toEqual({ code: 999, msg: "invalid args 01:00:5e:00:00:01 for MAC addr: not a unicast Ethernet address" });
    expect(check({ mac: "00:00:00:00:00:00" })).toEqual({ code: 999, msg: "invalid args 00:00:00:00:00:00 for MAC addr: not a unicast Ethernet address" });
  });

  test("negative MTU and the kernel's 'no id' as owner or group: code 7 naming the field", () => {
    expect(check({ mtu: -1 })).toEqual({ code: 7, msg: "invalid MTU -1" });
    expect(check({ owner: 4294967295 })).toEqual({ code: 7, msg: 'invalid owner 4294967295: 4294967295 is the kernel\'s "no id"' });
    expect(check({ owner: 0, group: 4294967295 })).toEqual({ code: 7, msg: 'invalid group 4294967295: 4294967295 is the kernel\'s "no id"' });
    expect(() => validateForAdd(load({ owner: 4294967294, group: 0, mtu: 0 }))).not.toThrow();
  });

  test("layer 2 only under 0.1.0/0.2.0 (or no cniVersion): refused before anything is made, with upstream's words", () => {
    for (const cniVersion of ["0.1.0", "0.2.0", ""]) {
      expect(check({ cniVersion })).toEqual({ code: 999, msg: "cannot convert: no valid IP addresses" });
      expect(() => validateForAdd(load({ cniVersion, ipam: { type: "host-local" } }))).not.toThrow();
    }
    for (const cniVersion of ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"]) expect(() => validateForAdd(load({ cniVersion }))).not.toThrow();
  });
});

describe("tapSpec: the device flags of upstream's two creation paths", () => {
  const flags = (o: object) => new DataView(encodeTunSetIff(tapSpec(load(o), "veth01234567")).buffer).getUint16(16, true);

  test("owner and group both set, no label (vishvananda/netlink): vnet header, packet info kept unless multi-queue", () => {
    expect(tapSpec(load({ owner: 1000, group: 1001 }), "veth01234567")).toEqual({
      name: "veth01234567", mode: "tap", multiQueue: false, vnetHdr: true, pi: true, owner: 1000, group: 1001,
    });
    expect(flags({ owner: 1000, group: 1001 })).toBe(IFF_TAP | IFF_VNET_HDR | IFF_TUN_EXCL);
    expect(flags({ owner: 0, group: 0, multiQueue: true })).toBe(IFF_TAP | IFF_VNET_HDR | IFF_MULTI_QUEUE | IFF_NO_PI | IFF_TUN_EXCL);
  });

  test("otherwise (`ip tuntap add mode tap`): no packet info, no vnet header; the ids given are kept", () => {
    expect(tapSpec(load({}), "veth01234567")).toEqual({ name: "veth01234567", mode: "tap", multiQueue: false, vnetHdr: false, pi: false });
    expect(flags({})).toBe(IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL);
    expect(flags({ multiQueue: true })).toBe(IFF_TAP | IFF_NO_PI | IFF_MULTI_QUEUE | IFF_TUN_EXCL);
    expect(tapSpec(load({ owner: 1000 }), "t")).toMatchObject({ owner: 1000, vnetHdr: false, pi: false });
    expect(tapSpec(load({ group: 1001 }), "t")).toMatchObject({ group: 1001, vnetHdr: false, pi: false });
    // selinuxContext sends upstream down this path even with both ids.
    expect(tapSpec(load({ owner: 1, group: 2, selinuxContext: "system_u:system_r:container_t:s0" }), "t")).toMatchObject({
      owner: 1, group: 2, vnetHdr: false, pi: false,
    });
  });
});
