// static IPAM as a runtime runs it (env + stdin, inside a throwaway host netns, CNI_NETNS a throwaway container
// netns), for every spec version: the result text each version prints, CHECK against the ADD's own result,
// DEL twice, addresses from CNI_ARGS / args.cni.ips / runtimeConfig.ips, STATUS and GC, nothing written anywhere,
// and bad input failing with the right code and text (SPEC-DIGEST §2.2).
import { describe, expect, test } from "bun:test";
import { expectSilentSuccess } from "../support/expect-run.ts";
import { ipJson, tempNetns, type TempNetns } from "../support/netns.ts";
import { ipamResult, printed, type Ip } from "../support/result.ts";
import { cniEnv, OURS, runPlugin, runtimeEnv, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "sti"; // every netns of this file starts with `<RUN_PREFIX>-sti-`
const NET = "stnet";
const host = tempNetns(`${TAG}-host`);
cleanUpAfterAll(TAG, host);

/** Returns a network config with static IPAM; `ipam` adds to (or overrides) the `ipam` section. */
function conf(cniVersion: string, ipam: object = {}, top: object = {}): Record<string, unknown> {
  return { cniVersion, name: NET, type: "macvlan", ipam: { type: "static", ...ipam }, ...top };
}

/** Runs our static once with a runtime's env; GC and STATUS get only CNI_COMMAND (and CNI_PATH), as runtimes send them. */
function call(verb: string, ctr: TempNetns, stdin: object | string, env: Record<string, string> = {}): Run {
  return runPlugin("static", { hostNetns: host.name, env: runtimeEnv(verb, ctr.path, { env }), stdin });
}

/** The container netns as a fresh one looks: only lo, down, no addresses. static must never touch it. */
function expectUntouched(ctr: TempNetns): void {
  const links = ipJson(ctr, ["addr", "show"]) as { ifname: string; operstate: string; addr_info: unknown[] }[];
  expect(links.map((l) => [l.ifname, l.operstate, l.addr_info.length])).toEqual([["lo", "DOWN", 0]]);
}

const V4: Ip = { address: "10.1.2.5/24", gateway: "10.1.2.1" };
const V6: Ip = { address: "fd00:1::5/64" };
const ROUTES = [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "0.0.0.0/0", gw: "10.1.2.2" }, { dst: "10.9.0.0/16" }, { dst: "::/0", gw: "fd00:1::1" }];
const DNS = { nameservers: ["10.1.2.53", "fd00:1::53"], domain: "example.test", search: ["a.test", "b.test"], options: ["ndots:2"] };
const DUAL = { addresses: [V4, V6], routes: ROUTES, dns: DNS };

describe.each(ALL_VERSIONS)("static %s", (version) => {
  test("dual-stack ADD with routes and dns, CHECK, DEL, DEL again", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const c = conf(version, DUAL);
    const add = call("ADD", ctr, c);
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    // Several routes to one destination are all kept, in order; there is no `interfaces`.
    expect(add.stdout).toBe(printed(ipamResult(version, [V4, V6], ROUTES, DNS)));
    expectUntouched(ctr);

    if (versionAtLeast(version, "0.4.0")) {
      expectSilentSuccess(call("CHECK", ctr, conf(version, DUAL, { prevResult: add.json })));
      // A prevResult whose address has lost its configured gateway fails CHECK.
      const changed = { ...add.json, ips: [{ ...add.json.ips[0], gateway: "10.1.2.99" }, add.json.ips[1]] };
      const check = call("CHECK", ctr, conf(version, DUAL, { prevResult: changed }));
      expect([check.exitCode, check.json]).toEqual([1, { code: 999, msg: "static: Failed to match addr 10.1.2.5 on interface eth0" }]);
    }
    expectSilentSuccess(call("DEL", ctr, c));
    expectSilentSuccess(call("DEL", ctr, c));
    expectUntouched(ctr);
  });

  test("an address without a gateway and no routes or dns", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const add = call("ADD", ctr, conf(version, { addresses: [{ address: "192.168.7.9/16" }] }));
    expect(add.exitCode).toBe(0);
    expect(add.stdout).toBe(printed(ipamResult(version, [{ address: "192.168.7.9/16" }])));
  });
});

describe("address sources, lowest to highest precedence (1.1.0)", () => {
  const V = "1.1.0";
  const addrs = (r: Run): Ip[] => {
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    return r.json.ips;
  };

  test("CNI_ARGS IP is appended, as a comma list; GATEWAY goes to the CNI_ARGS addresses containing it", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const r = call("ADD", ctr, conf(V, { addresses: [{ address: "10.1.2.5/24" }] }), {
      CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.1.2.6/24, fd00:1::6/64;GATEWAY=10.1.2.1,fd00:1::1",
    });
    // upstream quirk: the config's own address is not parsed yet when GATEWAY is applied, so it gets none.
    expect(addrs(r)).toEqual([{ address: "10.1.2.5/24" }, { address: "10.1.2.6/24", gateway: "10.1.2.1" }, { address: "fd00:1::6/64", gateway: "fd00:1::1" }]);
  });

  test("args.cni.ips replaces the config and CNI_ARGS addresses", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const r = call("ADD", ctr, conf(V, DUAL, { args: { cni: { ips: ["10.3.0.7/16", "fd00:3::7/64"] } } }), { CNI_ARGS: "IP=10.1.2.6/24" });
    expect(addrs(r)).toEqual([{ address: "10.3.0.7/16" }, { address: "fd00:3::7/64" }]);
  });

  test("runtimeConfig.ips replaces args.cni.ips", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const r = call("ADD", ctr, conf(V, DUAL, { args: { cni: { ips: ["10.3.0.7/16"] } }, runtimeConfig: { ips: ["10.4.0.8/24"] } }));
    expect(addrs(r)).toEqual([{ address: "10.4.0.8/24" }]);
  });

  test("CHECK applies the same sources", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const env = { CNI_ARGS: "IP=10.1.2.6/24;GATEWAY=10.1.2.1" };
    const add = call("ADD", ctr, conf(V), env);
    expect(add.exitCode).toBe(0);
    expectSilentSuccess(call("CHECK", ctr, conf(V, {}, { prevResult: add.json }), env));
    const other = call("CHECK", ctr, conf(V, {}, { prevResult: add.json }), { CNI_ARGS: "IP=10.1.2.6/24;GATEWAY=10.1.2.254" });
    expect([other.exitCode, other.json]).toEqual([1, { code: 999, msg: "static: Failed to match addr 10.1.2.6 on interface eth0" }]);
  });
});

describe("STATUS and GC (1.1.0)", () => {
  test("both succeed silently, whatever the ipam section holds", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    expectSilentSuccess(call("STATUS", ctr, conf("1.1.0", DUAL)));
    expectSilentSuccess(call("STATUS", ctr, conf("1.1.0", { addresses: [{ address: "bad" }] })));
    expectSilentSuccess(call("GC", ctr, conf("1.1.0", DUAL, { "cni.dev/valid-attachments": [] })));
  });

  test("STATUS under 1.0.0 is refused by the version gate", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const r = call("STATUS", ctr, conf("1.0.0"));
    expect([r.exitCode, r.json]).toEqual([1, { code: 1, msg: "config version does not allow STATUS" }]);
  });
});

test.skipIf(!Bun.which("strace"))("ADD, CHECK and DEL create, write, rename or remove no file (strace)", () => {
  using ctr = tempNetns(`${TAG}-ctr`);
  const add = call("ADD", ctr, conf("1.1.0", DUAL));
  for (const [verb, stdin] of [["ADD", conf("1.1.0", DUAL)], ["CHECK", conf("1.1.0", DUAL, { prevResult: add.json })], ["DEL", conf("1.1.0", DUAL)]] as const) {
    const p = Bun.spawnSync(
      ["ip", "netns", "exec", host.name, "strace", "-f", "-qq", "-e",
        "trace=open,openat,creat,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2,truncate,link,linkat,symlink,symlinkat",
        `${OURS}/static`],
      { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin", CNI_PATH: OURS, ...cniEnv(verb, ctr.path) }, stdin: new TextEncoder().encode(JSON.stringify(stdin)), stderr: "pipe", stdout: "pipe" },
    );
    expect(p.exitCode).toBe(0);
    const writes = p.stderr.toString().split("\n")
      .filter((l) => /O_CREAT|O_WRONLY|O_RDWR|^(\[pid +\d+\] )?(creat|mkdir|unlink|rename|truncate|link|symlink)/.test(l));
    expect({ verb, writes }).toEqual({ verb, writes: [] });
  }
});

describe("bad input: exit 1, one error object with the right code and text", () => {
  type Bad = { stdin: object | string; verb?: string; env?: Record<string, string>; want: { code: number; msg: string; details?: string } };
  const ok = conf("1.0.0", DUAL);
  const withIpam = (ipam: object) => conf("1.0.0", ipam);
  const bad: Record<string, Bad> = {
    "missing name": { stdin: { cniVersion: "1.0.0", ipam: { type: "static" } }, want: { code: 7, msg: "missing network name" } },
    "unknown cniVersion": {
      stdin: conf("9.9.9"),
      want: { code: 1, msg: "incompatible CNI versions", details: 'config is "9.9.9", plugin supports ["0.1.0" "0.2.0" "0.3.0" "0.3.1" "0.4.0" "1.0.0" "1.1.0"]' },
    },
    "missing ipam": { stdin: { cniVersion: "1.0.0", name: NET }, want: { code: 999, msg: "IPAM config missing 'ipam' key" } },
    "ipam not an object": {
      stdin: { cniVersion: "1.0.0", name: NET, ipam: [] },
      want: { code: 999, msg: "json: cannot unmarshal array into Go struct field Net.ipam of type main.IPAMConfig" },
    },
    "address not a CIDR": {
      stdin: withIpam({ addresses: [{ address: "10.1.2.5" }] }),
      want: { code: 999, msg: "the 'address' field is expected to be in CIDR notation, got: '10.1.2.5'" },
    },
    "address of the wrong type": {
      stdin: withIpam({ addresses: [{ address: 5 }] }),
      want: { code: 999, msg: "json: cannot unmarshal number into Go struct field Address.ipam.addresses.address of type string" },
    },
    "gateway not an IP": { stdin: withIpam({ addresses: [{ address: "10.1.2.5/24", gateway: "x" }] }), want: { code: 999, msg: "invalid IP address: x" } },
    "route dst not a CIDR": { stdin: withIpam({ routes: [{ dst: "x" }] }), want: { code: 999, msg: "invalid CIDR address: x" } },
    "dns of the wrong type": {
      stdin: withIpam({ dns: [] }),
      want: { code: 999, msg: "json: cannot unmarshal array into Go struct field IPAMConfig.ipam.dns of type types.DNS" },
    },
    "two IPv4 addresses under 0.2.0": {
      stdin: conf("0.2.0", { addresses: [{ address: "10.1.2.5/24" }, { address: "10.1.3.5/24" }] }),
      want: { code: 999, msg: "CNI version 0.2.0 does not support more than 1 address per family" },
    },
    "no address under 0.2.0": { stdin: conf("0.2.0"), want: { code: 999, msg: "cannot convert: no valid IP addresses" } },
    "CNI_ARGS IP without a prefix": {
      stdin: ok, env: { CNI_ARGS: "IP=10.1.2.6" }, want: { code: 999, msg: "the 'ip' field is expected to be in CIDR notation, got: '10.1.2.6'" },
    },
    "CNI_ARGS GATEWAY not an IP": { stdin: ok, env: { CNI_ARGS: "GATEWAY=10.1.2.1/24" }, want: { code: 999, msg: "invalid gateway address: 10.1.2.1/24" } },
    "unknown CNI_ARGS key": { stdin: ok, env: { CNI_ARGS: "K8S_POD_NAME=p" }, want: { code: 999, msg: 'ARGS: unknown args ["K8S_POD_NAME=p"]' } },
    "CNI_ARGS with a trailing ;": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.6/24;" }, want: { code: 999, msg: 'ARGS: invalid pair ""' } },
    "args.cni.ips entry not a CIDR": {
      stdin: conf("1.0.0", DUAL, { args: { cni: { ips: ["10.1.2.6"] } } }),
      want: { code: 999, msg: "an entry in the 'ips' field is NOT in CIDR notation, got: '10.1.2.6'" },
    },
    "runtimeConfig.ips of the wrong type": {
      stdin: conf("1.0.0", DUAL, { runtimeConfig: { ips: "10.1.2.6/24" } }),
      want: { code: 999, msg: "json: cannot unmarshal string into Go struct field .runtimeConfig.ips of type []string" },
    },
    "ifname too long": {
      stdin: ok, env: { CNI_IFNAME: "abcdefghijklmnop" },
      want: { code: 4, msg: "interface name is too long", details: "interface name should be less than 16 characters" },
    },
    "missing CNI_NETNS for ADD": { stdin: ok, env: { CNI_NETNS: "" }, want: { code: 4, msg: "required env variables [CNI_NETNS] missing" } },
    "CHECK under 0.3.1": { stdin: conf("0.3.1", DUAL), verb: "CHECK", want: { code: 1, msg: "config version does not allow CHECK" } },
    "CHECK without prevResult": { stdin: ok, verb: "CHECK", want: { code: 999, msg: "Required prevResult missing" } },
    "CHECK with a prevResult of another version family": {
      stdin: conf("1.0.0", DUAL, { prevResult: { cniVersion: "0.4.0" } }), verb: "CHECK",
      want: { code: 999, msg: 'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"' },
    },
  };
  test.each(Object.keys(bad))("%s", (label) => {
    const b = bad[label]!;
    using ctr = tempNetns(`${TAG}-ctr`);
    const r = call(b.verb ?? "ADD", ctr, b.stdin, b.env);
    expect([r.exitCode, r.json]).toEqual([1, b.want]);
    expect(r.stdout).toBe(JSON.stringify(r.json, null, 4));
  });

  test("malformed JSON is code 6 (the tail of the message is the JSON parser's own)", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const r = call("ADD", ctr, "{");
    expect([r.exitCode, r.json.code]).toEqual([1, 6]);
    expect(r.json.msg).toStartWith("error unmarshall network config: ");
  });

  test("DEL succeeds whatever the ipam section holds: there is nothing to free", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    expectSilentSuccess(call("DEL", ctr, withIpam({ addresses: [{ address: "bad" }], dns: 5 }), { CNI_ARGS: "garbage" }));
    expectSilentSuccess(call("DEL", ctr, { cniVersion: "1.0.0", name: NET }));
  });
});
