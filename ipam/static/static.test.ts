// ipam/static/static.test.ts: the handlers called directly (no process, no root): ADD's result in the 1.1.0 shape and
// as each version prints it, CHECK against prevResult with upstream's texts, DEL and STATUS doing nothing.
import { expect, test } from "bun:test";
import { formatResult } from "../../pkg/cni/result.ts";
import type { CmdArgs, Result } from "../../pkg/cni/types.ts";
import { staticIpam } from "./static.ts";

function args(conf: unknown, cniArgs = "", command = "ADD"): CmdArgs {
  const stdin = new TextEncoder().encode(typeof conf === "string" ? conf : JSON.stringify(conf));
  return { command, containerId: "c1", netns: "/var/run/netns/x", ifname: "eth0", args: cniArgs, path: "/opt/cni/bin", netnsOverride: "", stdin };
}

function net(ipam: unknown, extra: Record<string, unknown> = {}, cniVersion = "1.0.0"): Record<string, unknown> {
  return { cniVersion, name: "mynet", type: "macvlan", ipam: { type: "static", ...(ipam as object) }, ...extra };
}

const add = (conf: unknown, cniArgs = "") => staticIpam.add(args(conf, cniArgs)) as Result;
const check = (conf: unknown, cniArgs = "") => staticIpam.check!(args(conf, cniArgs, "CHECK"));

const IPAM = {
  addresses: [{ address: "10.0.0.5/24", gateway: "10.0.0.1" }, { address: "fd00::5/64" }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "0.0.0.0/0", gw: "10.0.0.2" }, { dst: "::/0" }],
  dns: { nameservers: ["10.0.0.53"], domain: "example.test", search: ["example.test"], options: ["ndots:2"] },
};

test("ADD returns the addresses, routes and dns, with no interfaces", () => {
  expect(add(net(IPAM))).toEqual({
    cniVersion: "1.0.0",
    ips: [{ address: "10.0.0.5/24", gateway: "10.0.0.1" }, { address: "fd00::5/64" }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "0.0.0.0/0", gw: "10.0.0.2" }, { dst: "::/0" }],
    dns: IPAM.dns,
  });
  expect(add(net({}))).toEqual({ cniVersion: "1.0.0", dns: {} });
});

test("ADD printed in each version's shape", () => {
  const r = add(net(IPAM));
  expect(JSON.parse(formatResult(r, "0.4.0"))).toEqual({
    cniVersion: "0.4.0",
    ips: [{ version: "4", address: "10.0.0.5/24", gateway: "10.0.0.1" }, { version: "6", address: "fd00::5/64" }],
    routes: IPAM.routes,
    dns: IPAM.dns,
  });
  expect(JSON.parse(formatResult(r, "0.2.0"))).toEqual({
    cniVersion: "0.2.0",
    ip4: { ip: "10.0.0.5/24", gateway: "10.0.0.1", routes: IPAM.routes.slice(0, 2) },
    ip6: { ip: "fd00::5/64", routes: [{ dst: "::/0" }] },
    dns: IPAM.dns,
  });
  // Without addresses, 0.1.0/0.2.0 cannot hold the result.
  expect(() => formatResult(add(net({}, {}, "0.2.0")), "0.2.0")).toThrow("cannot convert: no valid IP addresses");
});

test("ADD with addresses from CNI_ARGS, args.cni.ips and runtimeConfig.ips", () => {
  expect(add(net(IPAM), "IP=10.0.0.7/24;GATEWAY=10.0.0.254").ips).toEqual([
    { address: "10.0.0.5/24", gateway: "10.0.0.1" }, { address: "fd00::5/64" }, { address: "10.0.0.7/24", gateway: "10.0.0.254" },
  ]);
  expect(add(net(IPAM, { args: { cni: { ips: ["10.9.0.1/24"] } } }), "IP=10.0.0.7/24").ips).toEqual([{ address: "10.9.0.1/24" }]);
  expect(add(net(IPAM, { args: { cni: { ips: ["10.9.0.1/24"] } }, runtimeConfig: { ips: ["10.8.0.1/16"] } })).ips).toEqual([{ address: "10.8.0.1/16" }]);
});

const prev = (ips: object[], cniVersion = "1.0.0") => ({ prevResult: { cniVersion, ips } });

test("CHECK passes when every configured address found in prevResult has the configured gateway", () => {
  expect(() => check(net(IPAM, prev([{ address: "10.0.0.5/24", gateway: "10.0.0.1" }, { address: "fd00::5/64" }])))).not.toThrow();
  // Prefix and a gateway where none is configured do not matter; nor does an address missing from prevResult.
  expect(() => check(net(IPAM, prev([{ address: "10.0.0.5/16", gateway: "10.0.0.1" }, { address: "fd00::5/48", gateway: "fd00::1" }])))).not.toThrow();
  expect(() => check(net(IPAM, prev([])))).not.toThrow();
  expect(() => check(net(IPAM, { prevResult: {} }))).not.toThrow();
  // A 0.4.0 prevResult under a 0.4.0 config; mapped text compares as IPv4.
  expect(() => check(net(IPAM, prev([{ version: "4", address: "::ffff:10.0.0.5/120", gateway: "::ffff:10.0.0.1" }], "0.4.0"), "0.4.0"))).not.toThrow();
});

test("CHECK fails on a wrong or missing gateway, and without prevResult", () => {
  const msg = "static: Failed to match addr 10.0.0.5 on interface eth0";
  expect(() => check(net(IPAM, prev([{ address: "10.0.0.5/24", gateway: "10.0.0.9" }])))).toThrow(msg);
  expect(() => check(net(IPAM, prev([{ address: "10.0.0.5/24" }])))).toThrow(msg);
  // Gateways from CNI_ARGS count too.
  expect(() => check(net({}, prev([{ address: "10.0.0.7/24", gateway: "10.0.0.1" }])), "IP=10.0.0.7/24;GATEWAY=10.0.0.254"))
    .toThrow("static: Failed to match addr 10.0.0.7 on interface eth0");
  expect(() => check(net(IPAM))).toThrow("Required prevResult missing");
  expect(() => check(net(IPAM, { prevResult: null }))).toThrow("Required prevResult missing");
});

test("CHECK: config errors first, then the second decode as types.NetConf, then prevResult", () => {
  expect(() => check(net({ addresses: [{ address: "x" }] }, { dns: 5 }))).toThrow("the 'address' field is expected to be in CIDR notation, got: 'x'");
  expect(() => check(net(IPAM, { dns: 5, ...prev([]) })))
    .toThrow("failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.dns of type types.DNS");
  expect(() => check(net(IPAM, { type: 5 }))).toThrow("failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.type of type string");
  expect(() => check(net(IPAM, { "cni.dev/valid-attachments": 5 })))
    .toThrow("failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.cni.dev/valid-attachments of type []types.GCAttachment");
  expect(() => check(net(IPAM, prev([], "0.4.0")))).toThrow('could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"');
  expect(() => check(net(IPAM, prev([{ address: "x" }])))).toThrow("could not parse prevResult: invalid CIDR address: x");
});

test("DEL and STATUS succeed without reading the config", () => {
  expect(staticIpam.del(args("{not json", "garbage", "DEL"))).toBeUndefined();
  expect(staticIpam.status!(args({}, "", "STATUS"))).toBeUndefined();
  expect(staticIpam.gc).toBeUndefined(); // as upstream: the skel answers GC with silent success
});
