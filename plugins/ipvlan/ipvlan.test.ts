// plugins/ipvlan/ipvlan.test.ts: the ipvlan config (no root): defaults, Go decoding, modes, the master taken from a
// chained prevResult, each with upstream's words and code; and the ipvlan link the ADD sends against iproute2's bytes
// (this machine's kernel lacks ipvlan: the kernel VM case test/kernel-vm/cases/ipvlan.sh runs the plugin for real).
import { describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { encodeNewLink } from "../../pkg/ip/link.ts";
import type { NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { golden, hex } from "../../test/support/golden.ts";
import { ipvlanSpec, loadConf, masterName, modeOf } from "./ipvlan.ts";

const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.0.0", name: "ivnet", type: "ipvlan" };
const load = (o: object) => loadConf(enc({ ...base, ...o }));
// masterName must not touch the kernel when the config or prevResult names the master.
const noSocket = new Proxy({}, { get: () => { throw new Error("the socket was used"); } }) as NetlinkSocket;

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
  test("defaults, and keys matched case-insensitively as Go does", () => {
    expect(load({})).toMatchObject({ master: "", mode: "", mtu: 0, linkInContainer: false, hasIpam: false });
    expect(load({ ipam: { type: "host-local" }, MASTER: "eth1", Mode: "l3s", MTU: 1400 })).toMatchObject({
      master: "eth1", mode: "l3s", mtu: 1400, hasIpam: true,
    });
  });

  test("decode errors name the Go field; a prevResult of another version family does not parse", () => {
    expect(errorOf(() => load({ mtu: 1.5 }))).toEqual({ code: 999, msg: "failed to load netconf: json: cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int" });
    expect(errorOf(() => load({ mode: 3 }))).toEqual({ code: 999, msg: "failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.mode of type string" });
    expect(errorOf(() => load({ prevResult: { cniVersion: "0.4.0", ips: [] } })).msg).toStartWith("could not parse prevResult");
  });
});

describe("modeOf", () => {
  test("l2 (also empty), l3, l3s", () => {
    expect(["", "l2", "l3", "l3s"].map(modeOf)).toEqual(["l2", "l2", "l3", "l3s"]);
  });
  test.each(["L2", "bridge", "constructor"])("%p is code 7 in upstream's words", (mode) => {
    expect(errorOf(() => modeOf(mode))).toEqual({ code: 7, msg: `unknown ipvlan mode: ${JSON.stringify(mode)}` });
  });
});

describe("masterName", () => {
  const ip = { address: "10.1.2.2/24", gateway: "10.1.2.1", interface: 0 };
  test("`master` wins, even when chained", () => {
    expect(masterName(load({ master: "eth1", prevResult: { interfaces: [{ name: "eth9" }], ips: [ip] } }), noSocket)).toBe("eth1");
  });
  test("chained without `master`: the one named interface of prevResult", () => {
    expect(masterName(load({ prevResult: { interfaces: [{ name: "eth9" }], ips: [ip] } }), noSocket)).toBe("eth9");
  });
  test.each([
    ["no interfaces", {}],
    ["two interfaces", { interfaces: [{ name: "a" }, { name: "b" }] }],
    ["an unnamed interface", { interfaces: [{ mac: "02:00:00:00:00:01" }] }],
  ])("chained, %s: code 7 in upstream's words", (_label, prevResult) => {
    expect(errorOf(() => masterName(load({ prevResult }), noSocket))).toEqual({
      code: 7, msg: "chained master failure. PrevResult lacks a single named interface",
    });
  });
});

describe("requests against iproute2's bytes", () => {
  test("the ipvlan with every attribute ADD can set (temporary name, mtu, container netns fd, master, mode)", () => {
    const spec = ipvlanSpec({ name: "cnitsi2", parentIndex: 3, mode: "l3", mtu: 1400, netnsFd: 4 });
    expect(hex(encodeNewLink(0, spec))).toBe(golden("link-add-ipvlan-l3-mtu-netns"));
  });
  test("zero mtu left out (the master's); linkInContainer sends no netns fd", () => {
    expect(hex(encodeNewLink(0, ipvlanSpec({ name: "cnitsi0", parentIndex: 3, mode: "l2", mtu: 0 })))).toBe(golden("link-add-ipvlan-l2"));
  });
});
