// ipam/host-local/config.test.ts: the config as upstream's LoadIPAMConfig reads it: range sources and their order,
// requested IPs from each source, routes, Go encoding/json error texts naming the field.
import { expect, test } from "bun:test";
import { formatIP } from "../../pkg/ip/cidr.ts";
import { loadNetSpec } from "./config.ts";
import { formatRangeSet } from "./range-set.ts";
import { loadConf } from "./host-local.ts";
import type { CmdArgs } from "../../pkg/cni/types.ts";

function stdin(conf: unknown): Uint8Array {
  return new TextEncoder().encode(typeof conf === "string" ? conf : JSON.stringify(conf));
}

function net(ipam: unknown, extra: Record<string, unknown> = {}): Record<string, unknown> {
  return { cniVersion: "1.0.0", name: "mynet", type: "bridge", ipam, ...extra };
}

function spec(conf: unknown, cniArgs = "") {
  return loadNetSpec(stdin(conf), cniArgs);
}

function conf(c: unknown, cniArgs = "") {
  const args: CmdArgs = { command: "ADD", containerId: "c1", netns: "/x", ifname: "eth0", args: cniArgs, path: "/opt/cni/bin", netnsOverride: "", stdin: stdin(c) };
  return loadConf(args);
}

const sets = (c: unknown) => conf(c).ranges.map(formatRangeSet);

test("missing ipam", () => {
  expect(() => spec({ cniVersion: "1.0.0", name: "n" })).toThrow("IPAM config missing 'ipam' key");
  expect(() => spec(net(null))).toThrow("IPAM config missing 'ipam' key");
  expect(() => spec(net({}))).not.toThrow();
  expect(() => conf(net({}))).toThrow("no IP ranges specified");
});

test("fields and defaults", () => {
  const s = spec(net({ type: "host-local", dataDir: "/tmp/x", resolvConf: "/etc/r", ranges: [[{ subnet: "10.0.0.0/24" }]] }));
  expect(s.name).toBe("mynet");
  expect(s.cniVersion).toBe("1.0.0");
  expect(s.dataDir).toBe("/tmp/x");
  expect(s.resolvConf).toBe("/etc/r");
  expect(s.routes).toEqual([]);
  expect(s.requestedIPs).toEqual([]);
  const d = spec(net({ ranges: [[{ subnet: "10.0.0.0/24" }]], dataDir: null, routes: null }));
  expect(d.dataDir).toBe("");
  expect(d.routes).toEqual([]);
});

test("keys match case-insensitively, as encoding/json does", () => {
  const s = spec({ CNIVERSION: "0.4.0", Name: "n", IPAM: { DataDir: "/d", RANGES: [[{ Subnet: "10.0.0.0/24", RangeEnd: "10.0.0.9" }]] } });
  expect(s.cniVersion).toBe("0.4.0");
  expect(s.dataDir).toBe("/d");
  expect(conf({ cniVersion: "0.4.0", name: "n", IPAM: { RANGES: [[{ Subnet: "10.0.0.0/24", RangeEnd: "10.0.0.9" }]] } }).ranges.map(formatRangeSet))
    .toEqual(["10.0.0.1-10.0.0.9"]);
});

test("legacy single range goes first, runtimeConfig.ipRanges before it", () => {
  const ipam = {
    subnet: "10.1.0.0/16", rangeStart: "10.1.0.10", rangeEnd: "10.1.0.20", gateway: "10.1.0.254",
    ranges: [[{ subnet: "10.2.0.0/24" }], [{ subnet: "2001:db8::/64" }]],
  };
  expect(sets(net(ipam))).toEqual(["10.1.0.10-10.1.0.20", "10.2.0.1-10.2.0.254", "2001:db8::1-2001:db8::ffff:ffff:ffff:ffff"]);
  expect(formatIP(conf(net(ipam)).ranges[0]![0]!.gateway)).toBe("10.1.0.254");
  const withRuntime = net(ipam, { runtimeConfig: { ipRanges: [[{ subnet: "10.3.0.0/24" }], [{ subnet: "10.4.0.0/24" }]] } });
  expect(sets(withRuntime)).toEqual([
    "10.3.0.1-10.3.0.254", "10.4.0.1-10.4.0.254", "10.1.0.10-10.1.0.20", "10.2.0.1-10.2.0.254", "2001:db8::1-2001:db8::ffff:ffff:ffff:ffff",
  ]);
  // Errors are numbered in the final order.
  expect(() => conf(net(ipam, { runtimeConfig: { ipRanges: [[{ subnet: "10.9.0.1/24" }]] } })))
    .toThrow("invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.9.0.0");
  expect(() => conf(net({ subnet: "10.9.0.0/24", ranges: [[{ subnet: "10.9.0.0/25" }]] }))).toThrow("range set 0 overlaps with 1");
  // An empty ipRanges list adds nothing; legacy fields without a subnet add nothing.
  expect(sets(net({ ranges: [[{ subnet: "10.2.0.0/24" }]] }, { runtimeConfig: { ipRanges: [] } }))).toEqual(["10.2.0.1-10.2.0.254"]);
  expect(() => conf(net({ gateway: "10.0.0.1", rangeStart: "10.0.0.5" }))).toThrow("no IP ranges specified");
});

test("range set errors through the config", () => {
  expect(() => conf(net({ ranges: [[]] }))).toThrow("invalid range set 0: empty range set");
  expect(() => conf(net({ ranges: [null] }))).toThrow("invalid range set 0: empty range set");
  expect(() => conf(net({ ranges: [[{}]] }))).toThrow("invalid range set 0: IP <nil> not v4 nor v6");
  expect(() => conf(net({ ranges: [[{ subnet: "10.0.0.0/24" }, { subnet: "2001:db8::/64" }]] }))).toThrow("invalid range set 0: mixed address families");
  expect(() => conf(net({ ranges: [[{ subnet: "10.1.0.0/22" }, { subnet: "10.1.2.0/24" }]] })))
    .toThrow("invalid range set 0: subnets 10.1.0.1-10.1.3.254 and 10.1.2.1-10.1.2.254 overlap");
  expect(() => conf(net({ ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "10.0.1.0/24" }]] }, { cniVersion: "0.2.0" })))
    .toThrow("CNI version 0.2.0 does not support more than 1 address per family");
  expect(conf(net({ ranges: [[{ subnet: "10.0.0.0/24" }], [{ subnet: "2001:db8::/64" }]] }, { cniVersion: "0.2.0" })).ranges).toHaveLength(2);
});

test("requested IPs: CNI_ARGS IP, then args.cni.ips, then runtimeConfig.ips", () => {
  const c = net({ ranges: [[{ subnet: "10.0.0.0/24" }]] }, {
    args: { cni: { ips: ["10.0.0.5", "2001:db8::5/64"] } },
    runtimeConfig: { ips: ["10.0.0.6/24", "::ffff:10.0.0.7"] },
  });
  expect(spec(c, "IgnoreUnknown=1;K8S_POD_NAME=x;IP=10.0.0.4/24").requestedIPs.map(formatIP))
    .toEqual(["10.0.0.4", "10.0.0.5", "2001:db8::5", "10.0.0.6", "10.0.0.7"]);
  expect(spec(c).requestedIPs.map(formatIP)).toEqual(["10.0.0.5", "2001:db8::5", "10.0.0.6", "10.0.0.7"]);
  // An empty IP= asks for nothing.
  expect(spec(net({}), "IP=").requestedIPs).toEqual([]);
  expect(() => spec(net({}), "FOO=bar")).toThrow('ARGS: unknown args ["FOO=bar"]');
  expect(() => spec(net({}), "IP=nope")).toThrow('ARGS: error parsing value of pair "IP=nope": invalid IP address nope');
  expect(() => spec(net({}, { args: { cni: { ips: ["bad"] } } }))).toThrow("invalid IP address bad");
  expect(() => spec(net({}, { runtimeConfig: { ips: [""] } }))).toThrow("cannot understand ip: IP <nil> not v4 nor v6");
  expect(() => spec(net({}, { args: { cni: { ips: [null] } } }))).toThrow("cannot understand ip: IP <nil> not v4 nor v6");
  // Other keys of args and runtimeConfig are not host-local's business.
  expect(spec(net({}, { args: { other: 1, cni: { other: "x" } }, runtimeConfig: { portMappings: [] } })).requestedIPs).toEqual([]);
});

test("routes come back as Go prints them", () => {
  const s = spec(net({
    routes: [
      { dst: "0.0.0.0/0" },
      { dst: "::/0" },
      { dst: "192.168.0.0/16", gw: "1.1.1.1", mtu: 0, priority: 7 },
      { dst: "2001:DB8:2::0/64", gw: "2001:DB8:3::1", table: 0, scope: 253, advmss: 1400 },
      { dst: "10.1.2.3/8", gw: "" },
      null,
      {},
    ],
  }));
  expect(s.routes).toEqual([
    { dst: "0.0.0.0/0" },
    { dst: "::/0" },
    { dst: "192.168.0.0/16", gw: "1.1.1.1", priority: 7 },
    { dst: "2001:db8:2::/64", gw: "2001:db8:3::1", advmss: 1400, table: 0, scope: 253 },
    { dst: "10.1.2.3/8" },
    { dst: "<nil>" },
  ]);
});

test("wrong types and malformed values name the field as encoding/json does", () => {
  const cases: [unknown, string][] = [
    [net("x"), "json: cannot unmarshal string into Go struct field Net.ipam of type allocator.IPAMConfig"],
    [net([]), "json: cannot unmarshal array into Go struct field Net.ipam of type allocator.IPAMConfig"],
    [net({ dataDir: 5 }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.dataDir of type string"],
    [net({ resolvConf: true }), "json: cannot unmarshal bool into Go struct field IPAMConfig.ipam.resolvConf of type string"],
    [net({ name: 1 }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.Name of type string"],
    [net({ subnet: 5 }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.subnet of type string"],
    [net({ subnet: "10.0.0.0" }), "invalid CIDR address: 10.0.0.0"],
    [net({ subnet: "" }), "invalid CIDR address: "],
    [net({ gateway: 1.5 }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.gateway of type net.IP"],
    [net({ rangeStart: "10.0.0" }), "invalid IP address: 10.0.0"],
    [net({ ranges: "x" }), "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.ranges of type []allocator.RangeSet"],
    [net({ ranges: ["x"] }), "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.ranges of type allocator.RangeSet"],
    [net({ ranges: [["x"]] }), "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.ranges of type allocator.Range"],
    [net({ ranges: [[{ subnet: {} }]] }), "json: cannot unmarshal object into Go struct field Range.ipam.ranges.subnet of type string"],
    [net({ ranges: [[{ subnet: "10.0.0.0/24", rangeEnd: 3 }]] }), "json: cannot unmarshal number into Go struct field Range.ipam.ranges.rangeEnd of type net.IP"],
    [net({ ranges: [[{ subnet: "10.0.0.0/24", gateway: "gw" }]] }), "invalid IP address: gw"],
    [net({ routes: {} }), "json: cannot unmarshal object into Go struct field IPAMConfig.ipam.routes of type []*types.Route"],
    [net({ routes: [1] }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes of type types.route"],
    [net({ routes: [{ dst: 1 }] }), "json: cannot unmarshal number into Go struct field IPAMConfig.ipam.routes.dst of type string"],
    [net({ routes: [{ dst: "x" }] }), "invalid CIDR address: x"],
    [net({ routes: [{ dst: "10.0.0.0/8", mtu: "9000" }] }), "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.routes.mtu of type int"],
    [net({ routes: [{ dst: "10.0.0.0/8", table: 1.5 }] }), "json: cannot unmarshal number 1.5 into Go struct field IPAMConfig.ipam.routes.table of type int"],
    [net({ routes: [{ dst: "10.0.0.0/8", gw: "x" }] }), "invalid IP address: x"],
    [net({}, { runtimeConfig: 5 }),
      'json: cannot unmarshal number into Go struct field Net.runtimeConfig of type struct { IPRanges []allocator.RangeSet "json:\\"ipRanges,omitempty\\""; IPs []*ip.IP "json:\\"ips,omitempty\\"" }'],
    [net({}, { runtimeConfig: { ips: "10.0.0.1" } }), "json: cannot unmarshal string into Go struct field .runtimeConfig.ips of type []*ip.IP"],
    [net({}, { runtimeConfig: { ipRanges: [[{ subnet: 1 }]] } }), "json: cannot unmarshal number into Go struct field Range.runtimeConfig.ipRanges.subnet of type string"],
    [net({}, { args: 5 }), 'json: cannot unmarshal number into Go struct field Net.args of type struct { A *allocator.IPAMArgs "json:\\"cni\\"" }'],
    [net({}, { args: { cni: [] } }), "json: cannot unmarshal array into Go struct field .args.cni of type allocator.IPAMArgs"],
    [net({}, { args: { cni: { ips: [5] } } }), "json: cannot unmarshal number into Go struct field IPAMArgs.args.cni.ips of type *ip.IP"],
  ];
  for (const [c, msg] of cases) {
    let err: Error | undefined;
    try {
      spec(c);
    } catch (e) {
      err = e as Error;
    }
    expect(err?.message).toBe(msg);
  }
});
