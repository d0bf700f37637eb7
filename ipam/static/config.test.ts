// ipam/static/config.test.ts: the config as upstream's LoadIPAMConfig reads it: the four address sources and their
// precedence, GATEWAY assignment, routes and dns, the per-family limit of old versions, and Go encoding/json error
// texts naming the field. Texts were checked against Go's static (the route field path is v1.9.1's, see below).
import { expect, test } from "bun:test";
import { formatIP } from "../../pkg/ip/cidr.ts";
import { loadConf } from "./config.ts";
import { formatGoIPNet } from "./ip-net.ts";

function stdin(conf: unknown): Uint8Array {
  return new TextEncoder().encode(typeof conf === "string" ? conf : JSON.stringify(conf));
}

function net(ipam: unknown, extra: Record<string, unknown> = {}, cniVersion = "1.0.0"): Record<string, unknown> {
  return { cniVersion, name: "mynet", type: "macvlan", ipam, ...extra };
}

/** Returns the addresses as `address[ gw]` text, the way they will be reported. */
function addrs(conf: unknown, cniArgs = ""): string[] {
  return loadConf(stdin(conf), cniArgs).addresses.map((a) => formatGoIPNet(a.net) + (a.gateway ? ` ${formatIP(a.gateway)}` : ""));
}

const TWO = { type: "static", addresses: [{ address: "10.0.0.5/24", gateway: "10.0.0.1" }, { address: "fd00::5/64" }] };

test("config addresses: host bits and gateway kept, canonical text", () => {
  expect(addrs(net(TWO))).toEqual(["10.0.0.5/24 10.0.0.1", "fd00::5/64"]);
  expect(addrs(net({ addresses: [{ address: "FD00:0::0005/0064", gateway: "::ffff:10.0.0.1" }] }))).toEqual(["fd00::5/64 10.0.0.1"]);
  expect(addrs(net({ addresses: [{ address: "::ffff:10.0.0.5/120" }] }))).toEqual(["10.0.0.5/24"]);
  expect(addrs(net({}))).toEqual([]);
  expect(addrs(net({ addresses: null, routes: null, dns: null }))).toEqual([]);
  // An empty gateway is none.
  expect(addrs(net({ addresses: [{ address: "10.0.0.5/24", gateway: "" }] }))).toEqual(["10.0.0.5/24"]);
});

test("name, version, routes and dns come back as Go prints them", () => {
  const c = loadConf(stdin(net({
    routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "0.0.0.0/0", gw: "10.0.0.2" }, { dst: "10.9.0.1/16", mtu: 0, priority: 5, table: 0 }, { gw: "10.0.0.1" }, null],
    dns: { nameservers: ["10.0.0.53", null], domain: "example.test", search: ["a", "b"], options: [] },
  })), "");
  expect(c.name).toBe("mynet");
  expect(c.cniVersion).toBe("1.0.0");
  expect(c.routes).toEqual([
    { dst: "0.0.0.0/0", gw: "10.0.0.1" },
    { dst: "0.0.0.0/0", gw: "10.0.0.2" }, // two routes to one destination are both kept
    { dst: "10.9.0.1/16", priority: 5, table: 0 },
    { dst: "<nil>", gw: "10.0.0.1" }, // upstream quirk: no dst prints as <nil>
  ]);
  expect(c.dns).toEqual({ nameservers: ["10.0.0.53", ""], domain: "example.test", search: ["a", "b"], options: [] });
  expect(loadConf(stdin({ name: "n", ipam: {} }), "").cniVersion).toBe("");
});

test("keys match case-insensitively, but `Address` exactly is the untagged net.IPNet field", () => {
  expect(addrs({ CNIVERSION: "1.0.0", Name: "n", IPAM: { Addresses: [{ ADDRESS: "10.0.0.5/24", GateWay: "10.0.0.1" }] } })).toEqual(["10.0.0.5/24 10.0.0.1"]);
  expect(() => addrs(net({ addresses: [{ Address: "10.0.0.5/24" }] })))
    .toThrow("json: cannot unmarshal string into Go struct field Address.ipam.addresses.Address of type net.IPNet");
  // Set that way, the IP and raw mask are used as they are, and the `address` text is never read.
  expect(addrs(net({ addresses: [{ address: "bad", Address: { IP: "10.0.0.5", Mask: "////AA==" } }] }))).toEqual(["10.0.0.5/24"]);
  expect(addrs(net({ addresses: [{ Address: { IP: "10.0.0.5", Mask: [255, 255, 0, 255] } }] }))).toEqual(["10.0.0.5/ffff00ff"]);
  expect(addrs(net({ addresses: [{ Address: { IP: "10.0.0.5" } }] }))).toEqual(["<nil>"]);
  // Without an IP there, the text is parsed and replaces the mask too.
  expect(addrs(net({ addresses: [{ address: "10.0.0.5/16", Address: { IP: "", Mask: "////AA==" } }] }))).toEqual(["10.0.0.5/16"]);
});

test("CNI_ARGS IP appends a comma list, GATEWAY goes to every CNI_ARGS address containing it", () => {
  expect(addrs(net(TWO), "IP=10.0.0.7/24, 10.2.0.3/16")).toEqual(["10.0.0.5/24 10.0.0.1", "fd00::5/64", "10.0.0.7/24", "10.2.0.3/16"]);
  expect(addrs(net(TWO), "IP=10.0.0.7/24,10.0.0.8/24,10.2.0.3/16;GATEWAY=10.0.0.254, 10.2.1.1")).toEqual([
    "10.0.0.5/24 10.0.0.1", "fd00::5/64", "10.0.0.7/24 10.0.0.254", "10.0.0.8/24 10.0.0.254", "10.2.0.3/16 10.2.1.1",
  ]);
  // upstream quirk: the config's own addresses are not parsed yet when GATEWAY is applied, so they keep theirs.
  expect(addrs(net({ addresses: [{ address: "10.0.0.5/24" }] }), "GATEWAY=10.0.0.1")).toEqual(["10.0.0.5/24"]);
  // ... unless given as `"Address": {…}`, which is parsed already.
  expect(addrs(net({ addresses: [{ Address: { IP: "10.0.0.5", Mask: "////AA==" } }] }), "GATEWAY=10.0.0.1")).toEqual(["10.0.0.5/24 10.0.0.1"]);
  // A later gateway of the same subnet wins; one in no subnet is accepted and unused; empty values mean nothing.
  expect(addrs(net({}), "IP=10.0.0.7/24;GATEWAY=10.0.0.1,10.0.0.2,192.168.0.1")).toEqual(["10.0.0.7/24 10.0.0.2"]);
  expect(addrs(net({}), "IP=;GATEWAY=")).toEqual([]);
  expect(addrs(net({}), "IgnoreUnknown=1;K8S_POD_NAME=p;IP=fd00::9/64;GATEWAY=fd00::1")).toEqual(["fd00::9/64 fd00::1"]);
});

test("args.cni.ips replaces everything before it, runtimeConfig.ips replaces that", () => {
  const args = { args: { cni: { ips: ["10.9.0.1/24", "fd00:9::1/64"] } } };
  const runtime = { runtimeConfig: { ips: ["10.8.0.1/24"] } };
  expect(addrs(net(TWO, args), "IP=10.0.0.7/24;GATEWAY=10.9.0.254")).toEqual(["10.9.0.1/24", "fd00:9::1/64"]);
  expect(addrs(net(TWO, { ...args, ...runtime }), "IP=10.0.0.7/24")).toEqual(["10.8.0.1/24"]);
  expect(addrs(net(TWO, runtime))).toEqual(["10.8.0.1/24"]);
  // Replaced config entries are never parsed, so a bad one does not matter.
  expect(addrs(net({ addresses: [{ address: "bad" }] }, runtime))).toEqual(["10.8.0.1/24"]);
  // Empty lists replace nothing.
  expect(addrs(net(TWO, { args: { cni: { ips: [] } }, runtimeConfig: { ips: null } }))).toEqual(["10.0.0.5/24 10.0.0.1", "fd00::5/64"]);
  expect(addrs(net(TWO, { args: { cni: null }, runtimeConfig: null }))).toEqual(["10.0.0.5/24 10.0.0.1", "fd00::5/64"]);
});

test("0.1.0 and 0.2.0 take one address per family; 0.3.0 on take more", () => {
  const dual = { addresses: [{ address: "10.0.0.5/24" }, { address: "fd00::5/64" }] };
  expect(addrs(net(dual, {}, "0.2.0"))).toEqual(["10.0.0.5/24", "fd00::5/64"]);
  expect(() => addrs(net(dual, {}, "0.2.0"), "IP=10.0.0.6/24")).toThrow("CNI version 0.2.0 does not support more than 1 address per family");
  expect(() => addrs(net(dual, {}, "0.1.0"), "IP=fd00::6/64")).toThrow("CNI version 0.1.0 does not support more than 1 address per family");
  expect(() => addrs({ name: "n", ipam: { addresses: [{ address: "10.0.0.5/24" }, { address: "10.0.0.6/24" }] } }))
    .toThrow("CNI version  does not support more than 1 address per family");
  expect(addrs(net(dual, {}, "0.3.0"), "IP=10.0.0.6/24")).toEqual(["10.0.0.5/24", "fd00::5/64", "10.0.0.6/24"]);
  // A mapped address counts as IPv4.
  expect(() => addrs(net({ addresses: [{ address: "::ffff:10.0.0.5/120" }, { address: "10.0.0.6/24" }] }, {}, "0.2.0"))).toThrow("does not support");
});

test.each([
  // [label, config, CNI_ARGS, message]
  ["no ipam", { cniVersion: "1.0.0", name: "n" }, "", "IPAM config missing 'ipam' key"],
  ["null ipam", net(null), "", "IPAM config missing 'ipam' key"],
  ["config address not a CIDR", net({ addresses: [{ address: "10.0.0.5" }] }), "", "the 'address' field is expected to be in CIDR notation, got: '10.0.0.5'"],
  ["config address missing", net({ addresses: [{ gateway: "10.0.0.1" }] }), "", "the 'address' field is expected to be in CIDR notation, got: ''"],
  ["null config address", net({ addresses: [null] }), "", "the 'address' field is expected to be in CIDR notation, got: ''"],
  ["IPv6 zone", net({ addresses: [{ address: "fe80::1%eth0/64" }] }), "", "got: 'fe80::1%eth0/64'"],
  ["CNI_ARGS IP without prefix", net({}), "IP=10.0.0.7", "the 'ip' field is expected to be in CIDR notation, got: '10.0.0.7'"],
  ["CNI_ARGS IP trailing comma", net({}), "IP=10.0.0.7/24,", "the 'ip' field is expected to be in CIDR notation, got: ''"],
  ["CNI_ARGS IP trimmed in the message", net({}), "IP= x ", "the 'ip' field is expected to be in CIDR notation, got: 'x'"],
  ["CNI_ARGS GATEWAY untrimmed in the message", net({}), "GATEWAY= x", "invalid gateway address:  x"],
  ["CNI_ARGS GATEWAY with a prefix", net({}), "GATEWAY=10.0.0.1/24", "invalid gateway address: 10.0.0.1/24"],
  ["args.cni.ips entry", net({}, { args: { cni: { ips: ["10.9.0.1"] } } }), "", "an entry in the 'ips' field is NOT in CIDR notation, got: '10.9.0.1'"],
  ["null args.cni.ips entry", net({}, { args: { cni: { ips: [null] } } }), "", "an entry in the 'ips' field is NOT in CIDR notation, got: ''"],
  ["runtimeConfig.ips entry", net({}, { runtimeConfig: { ips: ["x"] } }), "", "an entry in the 'ips' field is NOT in CIDR notation, got: 'x'"],
  ["config gateway", net({ addresses: [{ address: "10.0.0.5/24", gateway: "x" }] }), "", "invalid IP address: x"],
  ["route dst", net({ routes: [{ dst: "x" }] }), "", "invalid CIDR address: x"],
  ["route gw", net({ routes: [{ dst: "0.0.0.0/0", gw: "x" }] }), "", "invalid IP address: x"],
  ["mask base64", net({ addresses: [{ Address: { IP: "10.0.0.5", Mask: "//" } }] }), "", "illegal base64 data at input byte 0"],
  // CNI_ARGS as types.LoadArgs reads it into upstream's IPAMEnvArgs.
  ["unknown CNI_ARGS key", net({}), "ip=10.0.0.7/24", 'ARGS: unknown args ["ip=10.0.0.7/24"]'],
  ["bad CNI_ARGS pair", net({}), "IP", 'ARGS: invalid pair "IP"'],
  ["bad IgnoreUnknown", net({}), "IgnoreUnknown=x;CommonArgs=1", 'ARGS: error parsing value of pair "IgnoreUnknown=x": boolean unmarshal error: invalid input x'],
  ["the embedded CommonArgs by name", net({}), "K=1;CommonArgs=1;IgnoreUnknown=x",
    "ARGS: cannot unmarshal into field 'CommonArgs' - type '*types.CommonArgs' does not implement encoding.TextUnmarshaler"],
] as [string, unknown, string, string][])("error: %s", (_label, conf, cniArgs, message) => {
  expect(() => loadConf(stdin(conf), cniArgs)).toThrow(message);
});

test("a config error comes after CNI_ARGS, args.cni.ips and runtimeConfig.ips errors, as upstream checks them", () => {
  const bad = { addresses: [{ address: "bad" }] };
  expect(() => loadConf(stdin(net(bad, { runtimeConfig: { ips: ["x"] } })), "IP=y")).toThrow("the 'ip' field is expected to be in CIDR notation, got: 'y'");
  expect(() => loadConf(stdin(net(bad, { runtimeConfig: { ips: ["x"] } })), "")).toThrow("got: 'x'");
  expect(() => loadConf(stdin(net(bad)), "IP=10.0.0.7/24")).toThrow("the 'address' field is expected to be in CIDR notation, got: 'bad'");
});

// Decode errors name the Go struct field and type, as encoding/json does. Route fields are reported the way the
// Go toolchains of v1.9.1 do (".routes.dst"); Go's own v1.1.1 build stops at ".routes".
test.each([
  [net(5 as unknown), "json: cannot unmarshal number into Go struct field Net.ipam of type main.IPAMConfig"],
  [net({ Name: 5 }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.Name of type string"],
  [net({ type: [] }), "json: cannot unmarshal array into Go struct field IPAMConfig.ipam.type of type string"],
  [net({ addresses: {} }), "json: cannot unmarshal object into Go struct field IPAMConfig.ipam.addresses of type []main.Address"],
  [net({ addresses: [5] }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.addresses of type main.Address"],
  [net({ addresses: [{ address: 5 }] }), "json: cannot unmarshal number into Go struct field Address.ipam.addresses.address of type string"],
  [net({ addresses: [{ gateway: 5 }] }), "json: cannot unmarshal number into Go struct field Address.ipam.addresses.gateway of type net.IP"],
  [net({ addresses: [{ version: 4 }] }), "json: cannot unmarshal number into Go struct field Address.ipam.addresses.Version of type string"],
  [net({ addresses: [{ Address: 5 }] }), "json: cannot unmarshal number into Go struct field Address.ipam.addresses.Address of type net.IPNet"],
  [net({ addresses: [{ Address: { IP: 5 } }] }), "json: cannot unmarshal number into Go struct field IPNet.ipam.addresses.Address.IP of type net.IP"],
  [net({ addresses: [{ Address: { Mask: 5 } }] }), "json: cannot unmarshal number into Go struct field IPNet.ipam.addresses.Address.Mask of type net.IPMask"],
  [net({ addresses: [{ Address: { Mask: [1, 300] } }] }), "json: cannot unmarshal number 300 into Go struct field IPNet.ipam.addresses.Address.Mask of type uint8"],
  [net({ addresses: [{ Address: { Mask: ["a"] } }] }), "json: cannot unmarshal string into Go struct field IPNet.ipam.addresses.Address.Mask of type uint8"],
  [net({ routes: {} }), "json: cannot unmarshal object into Go struct field IPAMConfig.ipam.routes of type []*types.Route"],
  [net({ routes: [1] }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type types.route"],
  [net({ routes: [{ dst: 1 }] }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes.dst of type string"],
  [net({ routes: [{ dst: "0.0.0.0/0", mtu: "x" }] }), "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.routes.mtu of type int"],
  [net({ dns: 5 }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.dns of type types.DNS"],
  [net({ dns: { search: "x" } }), "json: cannot unmarshal string into Go struct field DNS.ipam.dns.search of type []string"],
  [net({}, { args: 5 }), 'json: cannot unmarshal number into Go struct field Net.args of type struct { A *main.IPAMArgs "json:\\"cni\\"" }'],
  [net({}, { args: { cni: [] } }), "json: cannot unmarshal array into Go struct field .args.cni of type main.IPAMArgs"],
  [net({}, { args: { cni: { ips: [5] } } }), "json: cannot unmarshal number into Go struct field IPAMArgs.args.cni.ips of type string"],
  [net({}, { runtimeConfig: { ips: 5 } }), "json: cannot unmarshal number into Go struct field .runtimeConfig.ips of type []string"],
  [net({}, { runtimeConfig: "x" }), 'json: cannot unmarshal string into Go struct field Net.runtimeConfig of type struct { IPs []string "json:\\"ips,omitempty\\"" }'],
  [{ name: "n", cniVersion: 1, ipam: {} }, "json: cannot unmarshal number into Go struct field Net.cniVersion of type string"],
])("decode error %#", (conf, message) => {
  expect(() => loadConf(stdin(conf), "")).toThrow(message);
});

test("fields static does not read are not decoded (no error from them)", () => {
  expect(addrs(net({ dataDir: 5, ranges: "x" }, { dns: 5, capabilities: 5, prevResult: 5, type: 5 }))).toEqual([]);
});
