// plugins/macvlan/macvlan.test.ts: the macvlan config (no root): defaults, Go decoding, modes, the MAC's sources,
// precedence and checks, each with upstream's words and code; and the two requests the ADD sends that are specific
// to it (the macvlan link, the default-route dump) against iproute2's bytes.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { encodeNewLink } from "../../pkg/ip/link.ts";
import { encodeListRoutes } from "../../pkg/ip/route.ts";
import { golden, hex } from "../../test/support/golden.ts";
import { loadConf, macOf, macvlanSpec, modeOf } from "./macvlan.ts";

const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.0.0", name: "mvnet", type: "macvlan" };
const load = (o: object) => loadConf(enc({ ...base, ...o }));

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
  test("defaults: default-route master, bridge mode, kernel MTU and MAC, layer 2 without an IPAM type", () => {
    expect(load({})).toMatchObject({ master: "", mode: "", mtu: 0, mac: "", runtimeMac: "", linkInContainer: false, bcqueuelen: 0, isLayer3: false });
    expect(load({ ipam: {} }).isLayer3).toBe(false);
    expect(load({ ipam: { type: "static" } }).isLayer3).toBe(true);
    expect(load({ Master: "eth1", MODE: "vepa", linkincontainer: true, BcQueueLen: 50 })).toMatchObject({
      master: "eth1", mode: "vepa", linkInContainer: true, bcqueuelen: 50,
    });
  });

  test("a wrong JSON type is a decode error naming the Go field", () => {
    const cases: [object, string][] = [
      [{ mtu: "1400" }, "json: cannot unmarshal string into Go struct field NetConf.mtu of type int"],
      [{ bcqueuelen: -1 }, "json: cannot unmarshal number -1 into Go struct field NetConf.bcqueuelen of type uint32"],
      [{ bcqueuelen: 4294967296 }, "json: cannot unmarshal number 4294967296 into Go struct field NetConf.bcqueuelen of type uint32"],
      [{ master: 1 }, "json: cannot unmarshal number into Go struct field NetConf.master of type string"],
      [{ linkInContainer: "yes" }, "json: cannot unmarshal string into Go struct field NetConf.linkInContainer of type bool"],
      [{ runtimeConfig: { mac: 5 } }, "json: cannot unmarshal number into Go struct field .runtimeConfig.mac of type string"],
    ];
    for (const [o, msg] of cases) expect(errorOf(() => load(o))).toEqual({ code: 999, msg: `failed to load netconf: ${msg}` });
    // DEL's own prefix (upstream's capital C), and it does not read prevResult.
    expect(errorOf(() => loadConf(enc({ ...base, mtu: true }), "failed to load netConf", false)).msg).toStartWith("failed to load netConf: json:");
    const odd = { ...base, cniVersion: "1.0.0", prevResult: { cniVersion: "0.4.0", ips: [] } };
    expect(errorOf(() => loadConf(enc(odd))).msg).toStartWith("could not parse prevResult");
    expect(loadConf(enc(odd), "failed to load netConf", false).prevResult).toBeUndefined();
  });
});

describe("modeOf", () => {
  test("upstream's modes, empty meaning bridge, and source", () => {
    expect(["", "bridge", "private", "vepa", "passthru", "source"].map(modeOf)).toEqual(["bridge", "bridge", "private", "vepa", "passthru", "source"]);
  });
  test.each(["Bridge", "l2", "toString"])("%p is code 7 in upstream's words", (mode) => {
    expect(errorOf(() => modeOf(mode))).toEqual({ code: 7, msg: `unknown macvlan mode: ${JSON.stringify(mode)}` });
  });
});

describe("macOf", () => {
  test("config mac < CNI_ARGS MAC < runtimeConfig.mac; empty ones do not count; Go's forms normalised", () => {
    expect(macOf(load({}), "")).toBeUndefined();
    expect(macOf(load({ mac: "02-00-00-00-00-01" }), "")).toBe("02:00:00:00:00:01");
    expect(macOf(load({ mac: "02:00:00:00:00:01" }), "MAC=0200.0000.0002")).toBe("02:00:00:00:00:02");
    expect(macOf(load({ mac: "02:00:00:00:00:01", runtimeConfig: { mac: "02:00:00:00:00:03" } }), "MAC=02:00:00:00:00:02")).toBe("02:00:00:00:00:03");
    expect(macOf(load({ mac: "02:00:00:00:00:01", runtimeConfig: { mac: "" } }), "IgnoreUnknown=1;MAC=;K8S_POD_NAME=x")).toBe("02:00:00:00:00:01");
  });

  test("bad CNI_ARGS fail even when runtimeConfig gives the MAC", () => {
    expect(errorOf(() => macOf(load({ runtimeConfig: { mac: "02:00:00:00:00:03" } }), "FOO=1"))).toEqual({ code: 999, msg: 'ARGS: unknown args ["FOO=1"]' });
  });

  test("a MAC that is no Ethernet unicast address is code 7, named as upstream names it", () => {
    expect(errorOf(() => macOf(load({ mac: "zz" }), ""))).toEqual({ code: 7, msg: "invalid args zz for MAC addr: address zz: invalid MAC address" });
    expect(errorOf(() => macOf(load({}), "MAC=02:00:00:00:00:01:02:03"))).toEqual({
      code: 7, msg: "invalid args 02:00:00:00:00:01:02:03 for MAC addr: a macvlan needs a 6-byte Ethernet address, not 8 bytes",
    });
    expect(errorOf(() => macOf(load({ mac: "01:00:5e:00:00:01" }), ""))).toEqual({
      code: 7, msg: "invalid args 01:00:5e:00:00:01 for MAC addr: a multicast address cannot be a device address",
    });
    expect(errorOf(() => macOf(load({ mac: "00:00:00:00:00:00" }), ""))).toEqual({
      code: 7, msg: "invalid args 00:00:00:00:00:00 for MAC addr: the all-zeros address cannot be a device address",
    });
  });
});

describe("requests against iproute2's bytes", () => {
  test("the macvlan with every attribute ADD can set (temporary name, mtu, mac, container netns fd, master, mode, bcqueuelen)", () => {
    const spec = macvlanSpec({ name: "cnitsm3", parentIndex: 3, mode: "source", mtu: 1400, mac: "02:00:00:00:00:03", bcqueuelen: 100, netnsFd: 4 });
    expect(hex(encodeNewLink(0, spec))).toBe(golden("link-add-macvlan-source-mtu-mac-netns-bcqueuelen"));
  });

  test("zero mtu and bcqueuelen are left out (the kernel's defaults); linkInContainer sends no netns fd", () => {
    expect(macvlanSpec({ name: "cnitsm1", parentIndex: 3, mode: "private", mtu: 1400, bcqueuelen: 100 })).toEqual({
      kind: "macvlan", name: "cnitsm1", parentIndex: 3, mode: "private", mtu: 1400, bcqueuelen: 100,
    });
    const plain = macvlanSpec({ name: "cnitsm0", parentIndex: 3, mode: "bridge", mtu: 0, bcqueuelen: 0 });
    expect(hex(encodeNewLink(0, plain))).toBe(golden("link-add-macvlan-bridge"));
    expect(hex(encodeNewLink(0, macvlanSpec({ name: "cnitsm1", parentIndex: 3, mode: "private", mtu: 1400, bcqueuelen: 100 }))))
      .toBe(golden("link-add-macvlan-private-bcqueuelen"));
  });

  test("the default-route lookup's one AF_UNSPEC route dump", () => {
    expect(hex(encodeListRoutes(0))).toBe(golden("route-dump-all"));
  });
});
