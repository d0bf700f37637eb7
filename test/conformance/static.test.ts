// static, Go reference (/usr/lib/cni, Debian's plugins v1.1.1) against ours: the same input, valid and invalid, to
// both, for every spec version both speak (0.1.0 … 1.0.0), compared on exit status, stdout JSON (and stdout byte
// for byte where the shape allows), error code, msg and details. static keeps nothing, so there is no state to compare.
//
// Go v1.1.1 is older than the v1.9.1 behaviour we implement (static's own code is the same in both; the CNI library
// and Go toolchain differ). These differences are known and deliberate, and are masked here, each at one place:
//   1. v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 omits an empty dns (maskGoResult). v1.1.1 also prints 1.0.0
//      results in struct order where v1.9.1 sorts keys, so 1.0.0 results are compared as JSON, not as text.
//   2. v1.1.1's route has no mtu/advmss/priority/table/scope: it drops them, v1.9.1 returns them (table row).
//   3. A type error inside a route: v1.1.1's Go toolchain names the field `IPAMConfig.ipam.routes`, v1.9.1's
//      `IPAMConfig.ipam.routes.<field>` (table rows, maskRouteField).
//   4. v1.1.1 does not know spec 1.1.0: its supported list lacks "1.1.0" (row "unknown cniVersion"), and its 1.x
//      result type lists only [1.0.0] when refusing a prevResult of another family (row in CHECK).
// The tail of a JSON syntax error is the parser's own text, so that row compares the code and the upstream prefix.
import { describe, expect, test } from "bun:test";
import { DIR, GO_VERSIONS, goPlugins, maskGoResult, type Impl } from "../support/conformance.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { cniEnv, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const { hasGo, skipReason } = goPlugins("static");
const TAG = "stc"; // every netns of this file starts with `<RUN_PREFIX>-stc-`
const NET = "stnet";

const host = hasGo ? tempNetns(`${TAG}-host`) : undefined;
const ctr = hasGo ? tempNetns(`${TAG}-ctr`) : undefined; // static never enters it, so one serves every call
cleanUpAfterAll(TAG, ctr, host);

function call(impl: Impl, verb: string, c: TempNetns, stdin: object | string, env: Record<string, string> = {}): Run {
  return runPlugin("static", { dir: DIR[impl], hostNetns: host!.name, env: { ...cniEnv(verb, c.path), ...env }, stdin });
}

interface Pair {
  go: Run;
  ours: Run;
}

function both(verb: string, stdin: object | string, env: Record<string, string> = {}): Pair {
  return { go: call("go", verb, ctr!, stdin, env), ours: call("ours", verb, ctr!, stdin, env) };
}

/** Expects the same exit status and stdout JSON (Go's masked), and the same text where no shape difference applies. */
function expectSame(p: Pair): void {
  expect({ exitCode: p.ours.exitCode, json: p.ours.json }).toEqual({ exitCode: p.go.exitCode, json: maskGoResult(p.go.json) });
  const isOneX = p.go.json && typeof p.go.json.cniVersion === "string" && versionAtLeast(p.go.json.cniVersion, "1.0.0");
  if (!isOneX) expect(p.ours.stdout).toBe(p.go.stdout);
  expect(p.ours.stderr).toBe("");
}

function conf(cniVersion: string, ipam: object = {}, top: object = {}): Record<string, unknown> {
  return { cniVersion, name: NET, type: "macvlan", ipam: { type: "static", ...ipam }, ...top };
}

const ROUTES = [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "0.0.0.0/0", gw: "10.1.2.2" }, { dst: "10.9.0.0/16" }, { dst: "::/0", gw: "fd00:1::1" }];
const DNS = { nameservers: ["10.1.2.53", "fd00:1::53"], domain: "example.test", search: ["a.test", "b.test"], options: ["ndots:2"] };
const DUAL = { addresses: [{ address: "10.1.2.5/24", gateway: "10.1.2.1" }, { address: "fd00:1::5/64" }], routes: ROUTES, dns: DNS };

describe.skipIf(!hasGo)(`static: Go v1.1.1 and ours${skipReason}`, () => {
  describe.each(GO_VERSIONS)("%s", (version) => {
    test("dual-stack ADD with routes and dns, CHECK with the ADD's result, DEL, DEL again", () => {
      const c = conf(version, DUAL);
      const add = both("ADD", c);
      expect(add.ours.exitCode).toBe(0);
      expectSame(add);
      // Each CHECK gets its own implementation's result, as a runtime would hand it back.
      const check = { go: call("go", "CHECK", ctr!, { ...c, prevResult: add.go.json }), ours: call("ours", "CHECK", ctr!, { ...c, prevResult: add.ours.json }) };
      expectSame(check);
      expectSame(both("DEL", c));
      expectSame(both("DEL", c));
    });

    // Valid input beyond the plain config: each ADD must give the same result in this version's shape.
    const variants: Record<string, { stdin: object; env?: Record<string, string> }> = {
      "one IPv4 address, nothing else": { stdin: conf(version, { addresses: [{ address: "192.168.7.9/16" }] }) },
      "IPv6 only": { stdin: conf(version, { addresses: [{ address: "fd00:1::5/64", gateway: "fd00:1::1" }], routes: [{ dst: "::/0" }] }) },
      "CNI_ARGS IP and GATEWAY (comma lists) with podman's IgnoreUnknown": {
        stdin: conf(version, { addresses: [{ address: "10.1.2.5/24" }] }),
        env: { CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=p;IP= fd00:1::6/64 ;GATEWAY=10.1.2.1, fd00:1::1" },
      },
      "CNI_ARGS IP and GATEWAY, two IPv4 addresses": {
        stdin: conf(version, { addresses: [{ address: "10.1.2.5/24", gateway: "10.1.2.254" }] }), env: { CNI_ARGS: "IP=10.1.3.6/24;GATEWAY=10.1.3.1,10.1.2.1" },
      },
      "empty CNI_ARGS values": { stdin: conf(version, DUAL), env: { CNI_ARGS: "IP=;GATEWAY=" } },
      "args.cni.ips replaces config and CNI_ARGS": {
        stdin: conf(version, DUAL, { args: { cni: { ips: ["10.3.0.7/16"] } } }), env: { CNI_ARGS: "IP=fd00:1::6/64" },
      },
      "runtimeConfig.ips replaces args.cni.ips": {
        stdin: conf(version, { addresses: [{ address: "bad" }] }, { args: { cni: { ips: ["10.3.0.7/16"] } }, runtimeConfig: { ips: ["fd00:4::8/64"] } }),
      },
      "empty args.cni.ips and null runtimeConfig replace nothing": { stdin: conf(version, DUAL, { args: { cni: { ips: [] } }, runtimeConfig: null }) },
      "keys in another case": {
        stdin: { CNIVersion: version, Name: NET, IPAM: { Addresses: [{ ADDRESS: "10.1.2.5/24", GateWay: "10.1.2.1" }], Routes: [{ Dst: "0.0.0.0/0", GW: "10.1.2.1" }], DNS: { Nameservers: ["10.1.2.53"] } } },
      },
      "`Address` as net.IPNet with a base64 mask": { stdin: conf(version, { addresses: [{ address: "bad", Address: { IP: "10.1.2.5", Mask: "////AA==" } }] }) },
      "`Address` with a byte-array mask that is not a prefix": { stdin: conf(version, { addresses: [{ Address: { IP: "10.1.2.5", Mask: [255, 255, 0, 255] } }] }) },
      "`Address` without a mask prints <nil>": { stdin: conf(version, { addresses: [{ Address: { IP: "10.1.2.5" } }] }) },
      "`Address` takes a CNI_ARGS GATEWAY": {
        stdin: conf(version, { addresses: [{ Address: { IP: "10.1.2.5", Mask: "////AA==" } }] }), env: { CNI_ARGS: "GATEWAY=10.1.2.1" },
      },
      "IPv4-mapped text, prefix with leading zeros": { stdin: conf(version, { addresses: [{ address: "::ffff:10.1.2.5/120" }, { address: "fd00::5/0064" }] }) },
      "an IPv4-mapped /64 is an IPv4 /0": { stdin: conf(version, { addresses: [{ address: "::ffff:10.1.2.5/64" }] }), env: { CNI_ARGS: "GATEWAY=192.168.0.1" } },
      "dns with a null entry and empty lists": { stdin: conf(version, { addresses: [{ address: "10.1.2.5/24" }], dns: { nameservers: [null, "10.1.2.53"], search: [], domain: "" } }) },
      "fields static does not read, of any type": {
        stdin: conf(version, { addresses: [{ address: "10.1.2.5/24" }], dataDir: 5 }, { dns: 5, capabilities: 5, type: 5, prevResult: 5 }),
      },
      "empty ipam": { stdin: conf(version) },
    };
    test.each(Object.keys(variants))("ADD: %s", (label) => {
      const v = variants[label]!;
      expectSame(both("ADD", v.stdin, v.env));
    });

    test("ADD without cniVersion (0.1.0 result)", () => {
      expectSame(both("ADD", { name: NET, ipam: { addresses: [{ address: "10.1.2.5/24" }] } }));
    });

    // CHECK against a prevResult written by hand (no cniVersion: it takes the config's, so one serves every family).
    const prev = (ips: object[]) => ({ prevResult: { ips } });
    const checks: Record<string, { stdin: object; env?: Record<string, string> }> = {
      "matching addresses and gateways": { stdin: conf(version, DUAL, prev([{ address: "10.1.2.5/24", gateway: "10.1.2.1" }, { address: "fd00:1::5/64" }])) },
      "another prefix, an unconfigured gateway, an address missing": { stdin: conf(version, DUAL, prev([{ address: "fd00:1::5/48", gateway: "fd00:1::1" }])) },
      "a wrong gateway": { stdin: conf(version, DUAL, prev([{ address: "10.1.2.5/24", gateway: "10.1.2.9" }])) },
      "a missing gateway": { stdin: conf(version, DUAL, prev([{ address: "10.1.2.5/24" }])) },
      "a gateway from CNI_ARGS": {
        stdin: conf(version, {}, prev([{ address: "10.1.2.6/24", gateway: "10.1.2.1" }])), env: { CNI_ARGS: "IP=10.1.2.6/24;GATEWAY=10.1.2.254" },
      },
      "no prevResult": { stdin: conf(version, DUAL) },
      "a null prevResult": { stdin: conf(version, DUAL, { prevResult: null }) },
      "an empty prevResult": { stdin: conf(version, DUAL, { prevResult: {} }) },
      "a prevResult with a bad address": { stdin: conf(version, DUAL, prev([{ address: "x" }])) },
      "a bad config before a missing prevResult": { stdin: conf(version, { addresses: [{ address: "x" }] }) },
      "a top-level dns of the wrong type (only CHECK decodes it)": { stdin: conf(version, DUAL, { dns: 5, ...prev([]) }) },
      "a top-level type of the wrong type": { stdin: conf(version, DUAL, { type: 5 }) },
    };
    test.each(Object.keys(checks))("CHECK: %s", (label) => {
      const c = checks[label]!;
      expectSame(both("CHECK", c.stdin, c.env));
    });

    test("CHECK: a prevResult of another version family (difference 4)", () => {
      const other = versionAtLeast(version, "1.0.0") ? "0.4.0" : "1.0.0";
      const p = both("CHECK", conf(version, DUAL, { prevResult: { cniVersion: other } }));
      expect([p.go.exitCode, p.ours.exitCode]).toEqual([1, 1]);
      if (!versionAtLeast(version, "0.4.0")) {
        // No CHECK before 0.4.0: both refuse the verb before they read prevResult, in the same words.
        expect(p.go.json).toEqual({ code: 1, msg: "config version does not allow CHECK" });
        expectSame(p);
        return;
      }
      const want = `could not parse prevResult: result type supports ${versionAtLeast(version, "1.0.0") ? "[1.0.0]" : "[0.3.0 0.3.1 0.4.0]"} but unmarshalled CNIVersion is "${other}"`;
      expect(p.go.json).toEqual({ code: 999, msg: want });
      // 1.x lists [1.0.0] in v1.1.1's CNI library and [1.0.0 1.1.0] in v1.9.1's; 0.4.0 lists are the same.
      expect(p.ours.json).toEqual({ code: 999, msg: want.replace("[1.0.0]", "[1.0.0 1.1.0]") });
    });

    // Invalid input: the same exit status, code, msg and details.
    type Bad = { stdin: object | string; verb?: string; env?: Record<string, string>; compare?: (p: Pair) => void };
    const ok = conf(version, DUAL);
    const withIpam = (ipam: object) => conf(version, ipam);
    /** Masks difference 3: v1.9.1's Go names the field inside the route, v1.1.1's stops at the route. */
    const maskRouteField = (field: string) => (p: Pair) => {
      expect([p.go.exitCode, p.ours.exitCode]).toEqual([1, 1]);
      expect(p.ours.json).toEqual({ ...p.go.json, msg: p.go.json.msg.replace("IPAMConfig.ipam.routes ", `IPAMConfig.ipam.routes.${field} `) });
    };
    const bad: Record<string, Bad> = {
      "malformed JSON": {
        stdin: "{",
        compare: (p) => {
          expect(p.go.json).toEqual({ code: 6, msg: "error unmarshall network config: unexpected end of JSON input" });
          expect([p.ours.exitCode, p.ours.json.code]).toEqual([1, 6]);
          expect(p.ours.json.msg).toStartWith("error unmarshall network config: ");
        },
      },
      "missing name": { stdin: { cniVersion: version, ipam: { type: "static" } } },
      "missing ipam": { stdin: { cniVersion: version, name: NET } },
      "null ipam": { stdin: { cniVersion: version, name: NET, ipam: null } },
      "ipam not an object": { stdin: { cniVersion: version, name: NET, ipam: [] } },
      "ipam.Name of the wrong type": { stdin: withIpam({ name: 5 }) },
      "addresses not a list": { stdin: withIpam({ addresses: {} }) },
      "an address entry not an object": { stdin: withIpam({ addresses: [5] }) },
      "address not a CIDR": { stdin: withIpam({ addresses: [{ address: "10.1.2.5" }] }) },
      "address missing": { stdin: withIpam({ addresses: [{ gateway: "10.1.2.1" }] }) },
      "a null address entry": { stdin: withIpam({ addresses: [null, { address: "10.1.2.5/24" }] }) },
      "address with an IPv6 zone": { stdin: withIpam({ addresses: [{ address: "fe80::1%eth0/64" }] }) },
      "address prefix too long": { stdin: withIpam({ addresses: [{ address: "10.1.2.5/33" }] }) },
      "address of the wrong type": { stdin: withIpam({ addresses: [{ address: 5 }] }) },
      "version of the wrong type": { stdin: withIpam({ addresses: [{ address: "10.1.2.5/24", version: 4 }] }) },
      "gateway not an IP": { stdin: withIpam({ addresses: [{ address: "10.1.2.5/24", gateway: "x" }] }) },
      "gateway of the wrong type": { stdin: withIpam({ addresses: [{ address: "10.1.2.5/24", gateway: 5 }] }) },
      "`Address` as a string": { stdin: withIpam({ addresses: [{ Address: "10.1.2.5/24" }] }) },
      "`Address` IP of the wrong type": { stdin: withIpam({ addresses: [{ Address: { IP: 5 } }] }) },
      "`Address` Mask of the wrong type": { stdin: withIpam({ addresses: [{ Address: { IP: "10.1.2.5", Mask: 5 } }] }) },
      "`Address` Mask byte out of range": { stdin: withIpam({ addresses: [{ Address: { Mask: [255, 300] } }] }) },
      "`Address` Mask byte a string": { stdin: withIpam({ addresses: [{ Address: { Mask: ["a"] } }] }) },
      "`Address` Mask bad base64 (short)": { stdin: withIpam({ addresses: [{ Address: { Mask: "//" } }] }) },
      "`Address` Mask bad base64 (after padding)": { stdin: withIpam({ addresses: [{ Address: { Mask: "////AA==////" } }] }) },
      "`Address` Mask bad base64 (character)": { stdin: withIpam({ addresses: [{ Address: { Mask: "///-" } }] }) },
      "routes not a list": { stdin: withIpam({ routes: {} }) },
      "a route not an object": { stdin: withIpam({ routes: [1] }) },
      "route dst not a CIDR": { stdin: withIpam({ routes: [{ dst: "x" }] }) },
      "route gw not an IP": { stdin: withIpam({ routes: [{ dst: "0.0.0.0/0", gw: "x" }] }) },
      "route dst of the wrong type": { stdin: withIpam({ routes: [{ dst: 5 }] }), compare: maskRouteField("dst") },
      "route gw of the wrong type": { stdin: withIpam({ routes: [{ dst: "0.0.0.0/0", gw: 5 }] }), compare: maskRouteField("gw") },
      "route mtu and friends": {
        stdin: withIpam({ addresses: [{ address: "10.1.2.5/24" }], routes: [{ dst: "0.0.0.0/0", mtu: 1400, advmss: 1360, priority: 5, table: 100, scope: 0 }] }),
        compare: (p) => {
          // Difference 2: v1.1.1's route has only dst and gw.
          expect([p.go.exitCode, p.ours.exitCode]).toEqual([0, 0]);
          const r = versionAtLeast(version, "0.3.0") ? p.ours.json.routes : p.ours.json.ip4.routes;
          const goRoutes = versionAtLeast(version, "0.3.0") ? p.go.json.routes : p.go.json.ip4.routes;
          expect(goRoutes).toEqual([{ dst: "0.0.0.0/0" }]);
          // 0.1.0/0.2.0 results carry only dst and gw of a route.
          expect(r).toEqual(versionAtLeast(version, "0.3.0") ? [{ dst: "0.0.0.0/0", mtu: 1400, advmss: 1360, priority: 5, table: 100, scope: 0 }] : [{ dst: "0.0.0.0/0" }]);
        },
      },
      "dns of the wrong type": { stdin: withIpam({ dns: [] }) },
      "dns field of the wrong type": { stdin: withIpam({ dns: { nameservers: "10.1.2.53" } }) },
      "two IPv4 addresses": { stdin: withIpam({ addresses: [{ address: "10.1.2.5/24" }, { address: "10.1.3.5/24" }] }) },
      "two IPv6 addresses through CNI_ARGS": { stdin: ok, env: { CNI_ARGS: "IP=fd00:2::5/64" } },
      "no address (0.1.0/0.2.0 cannot convert)": { stdin: conf(version, { routes: ROUTES }) },
      "unknown cniVersion": {
        stdin: conf("9.9.9", DUAL),
        compare: (p) => {
          // Difference 4: the supported list of v1.1.1 ends at 1.0.0.
          const goDetails: string = p.go.json.details;
          expect(goDetails).toEndWith(`"1.0.0"]`);
          expect(p.ours.json).toEqual({ ...p.go.json, details: goDetails.replace(/\]$/, ` "1.1.0"]`) });
          expect(p.ours.exitCode).toBe(p.go.exitCode);
        },
      },
      "CNI_ARGS IP without a prefix": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.6" } },
      "CNI_ARGS IP with a trailing comma": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.6/24," } },
      "CNI_ARGS GATEWAY not an IP (untrimmed in the message)": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.6/24;GATEWAY= x" } },
      "CNI_ARGS GATEWAY with a prefix": { stdin: ok, env: { CNI_ARGS: "GATEWAY=10.1.2.1/24" } },
      "unknown CNI_ARGS key": { stdin: ok, env: { CNI_ARGS: "K8S_POD_NAME=p;IP=10.1.2.6/24" } },
      "lower-case CNI_ARGS key": { stdin: ok, env: { CNI_ARGS: "ip=10.1.2.6/24" } },
      "bad CNI_ARGS pair": { stdin: ok, env: { CNI_ARGS: "IP" } },
      "CNI_ARGS with a trailing ;": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.6/24;" } },
      "bad IgnoreUnknown": { stdin: ok, env: { CNI_ARGS: "IgnoreUnknown=maybe" } },
      "CNI_ARGS key CommonArgs": { stdin: ok, env: { CNI_ARGS: "K=v;CommonArgs=1;IgnoreUnknown=x" } },
      "args.cni.ips entry not a CIDR": { stdin: conf(version, DUAL, { args: { cni: { ips: ["10.1.2.6"] } } }) },
      "a null args.cni.ips entry": { stdin: conf(version, DUAL, { args: { cni: { ips: [null] } } }) },
      "args.cni.ips entry of the wrong type": { stdin: conf(version, DUAL, { args: { cni: { ips: [5] } } }) },
      "args of the wrong type": { stdin: conf(version, DUAL, { args: 5 }) },
      "args.cni of the wrong type": { stdin: conf(version, DUAL, { args: { cni: [] } }) },
      "runtimeConfig.ips entry not a CIDR": { stdin: conf(version, DUAL, { runtimeConfig: { ips: ["x"] } }) },
      "runtimeConfig.ips of the wrong type": { stdin: conf(version, DUAL, { runtimeConfig: { ips: "10.1.2.6/24" } }) },
      "runtimeConfig of the wrong type": { stdin: conf(version, DUAL, { runtimeConfig: "x" }) },
      "CNI_ARGS error before a config error": { stdin: withIpam({ addresses: [{ address: "bad" }] }), env: { CNI_ARGS: "IP=also-bad" } },
      "ifname too long": { stdin: ok, env: { CNI_IFNAME: "abcdefghijklmnop" } },
      "bad container ID": { stdin: ok, env: { CNI_CONTAINERID: "a/b" } },
      "missing CNI_NETNS for ADD": { stdin: ok, env: { CNI_NETNS: "" } },
      "unknown CNI_COMMAND": { stdin: ok, verb: "FROB" },
      "DEL with a bad config and bad CNI_ARGS (succeeds)": { stdin: withIpam({ addresses: [{ address: "bad" }], dns: 5 }), verb: "DEL", env: { CNI_ARGS: "garbage" } },
    };
    test.each(Object.keys(bad))("invalid: %s", (label) => {
      const b = bad[label]!;
      const p = both(b.verb ?? "ADD", b.stdin, b.env);
      if (b.compare) {
        b.compare(p);
        return;
      }
      expectSame(p);
    });
  });
});
