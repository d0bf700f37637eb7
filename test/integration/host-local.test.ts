// host-local IPAM as a runtime runs it (env + stdin, inside a throwaway host netns, CNI_NETNS a throwaway container
// netns), for every spec version: the result text each version prints, the store on disk byte for byte and mode for
// mode, CHECK/DEL/DEL again, requested IPs from all three sources, round-robin, exhaustion, routes and dns, STATUS,
// GC, and bad input that must fail with the right code and text and leave nothing behind (SPEC-DIGEST §2.1).
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { expectSilentSuccess } from "../support/expect-run.ts";
import { hostLocalConf as conf, lastReserved, NET, reservation, storeWith } from "../support/host-local.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipamResult, printed, type Ip } from "../support/result.ts";
import { cniEnv, runPlugin, runtimeEnv, type CallOptions, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { snapshotDir, tempDir } from "../support/temp-dir.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "hli"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-hli-`
const host = tempNetns(`${TAG}-host`);
cleanUpAfterAll(TAG, host);

/** Runs our host-local once with a runtime's env; CNI_NETNS is the container netns (host-local never enters it). */
function call(verb: string, ctr: TempNetns, stdin: object | string, o: CallOptions = {}): Run {
  return runPlugin("host-local", { hostNetns: host.name, env: runtimeEnv(verb, ctr.path, o), stdin });
}

/** Runs ADD and returns the addresses it reported (1.x results). */
function addresses(r: Run): string[] {
  expect(r.exitCode).toBe(0);
  return (r.json.ips as Ip[]).map((i) => i.address);
}

const V4 = { address: "10.1.2.2/24", gateway: "10.1.2.1" };
const V6 = { address: "fd00:1::2/64", gateway: "fd00:1::1" };
const DUAL = { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]] };

describe.each(ALL_VERSIONS)("host-local %s", (version) => {
  test("ADD, CHECK, DEL, DEL again: result text and the files on disk", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const routes = [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }];
    const c = conf(version, data.path, { routes });

    const add = call("ADD", ctr, c);
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    expect(add.stdout).toBe(printed(ipamResult(version, [V4], routes)));
    expect(snapshotDir(data.path)).toEqual(storeWith({ "10.1.2.2": reservation("ctr1"), "last_reserved_ip.0": lastReserved("10.1.2.2") }));

    if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(call("CHECK", ctr, c));

    // DEL frees the reservation; the round-robin bookmark stays, as upstream's does.
    const afterDel = storeWith({ "last_reserved_ip.0": lastReserved("10.1.2.2") });
    expectSilentSuccess(call("DEL", ctr, c));
    expect(snapshotDir(data.path)).toEqual(afterDel);
    expectSilentSuccess(call("DEL", ctr, c));
    expect(snapshotDir(data.path)).toEqual(afterDel);

    if (versionAtLeast(version, "0.4.0")) {
      const check = call("CHECK", ctr, c);
      expect([check.exitCode, check.json]).toEqual([1, { code: 999, msg: "host-local: Failed to find address added by container ctr1" }]);
    }
  });

  test("dual-stack ADD takes one address from each range set", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf(version, data.path, DUAL);
    const add = call("ADD", ctr, c);
    expect(add.exitCode).toBe(0);
    expect(add.stdout).toBe(printed(ipamResult(version, [V4, V6])));
    expect(snapshotDir(data.path)).toEqual(storeWith({
      "10.1.2.2": reservation("ctr1"),
      "fd00:1::2": reservation("ctr1"),
      "last_reserved_ip.0": lastReserved("10.1.2.2"),
      "last_reserved_ip.1": lastReserved("fd00:1::2"),
    }));
    expectSilentSuccess(call("DEL", ctr, c));
    expect(snapshotDir(data.path)).toEqual(storeWith({
      "last_reserved_ip.0": lastReserved("10.1.2.2"),
      "last_reserved_ip.1": lastReserved("fd00:1::2"),
    }));
  });
});

test.each(["0.1.0", "0.2.0"])("%s cannot carry two IPv4 range sets: an error, nothing written", (version) => {
  using ctr = tempNetns(`${TAG}-ctr`);
  using data = tempDir(`${TAG}-data`);
  const r = call("ADD", ctr, conf(version, data.path, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.3.0/24" }]] }));
  expect([r.exitCode, r.json]).toEqual([1, { code: 999, msg: `CNI version ${version} does not support more than 1 address per family` }]);
  expect(snapshotDir(data.path)).toEqual({});
});

describe("requested IPs", () => {
  const cases: [string, CallOptions, object, string][] = [
    ["CNI_ARGS IP=", { cniArgs: "IP=10.1.2.50" }, {}, "10.1.2.50"],
    ["CNI_ARGS IP= with a prefix, among podman's args", { cniArgs: "IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.1.2.53/24" }, {}, "10.1.2.53"],
    ["args.cni.ips", {}, { args: { cni: { ips: ["10.1.2.51"] } } }, "10.1.2.51"],
    ["runtimeConfig.ips", {}, { runtimeConfig: { ips: ["10.1.2.52/24"] } }, "10.1.2.52"],
  ];
  test.each(cases)("%s", (_label, opts, top, ip) => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const add = call("ADD", ctr, conf("1.1.0", data.path, {}, top), opts);
    expect(add.stdout).toBe(printed(ipamResult("1.1.0", [{ address: `${ip}/24`, gateway: "10.1.2.1" }])));
    expect(snapshotDir(data.path)).toEqual(storeWith({ [ip]: reservation("ctr1"), "last_reserved_ip.0": lastReserved(ip) }));
  });

  test("one per family from two sources in a dual-stack network", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const add = call("ADD", ctr, conf("1.1.0", data.path, DUAL, { args: { cni: { ips: ["fd00:1::50"] } } }), { cniArgs: "IP=10.1.2.50" });
    expect(addresses(add)).toEqual(["10.1.2.50/24", "fd00:1::50/64"]);
  });

  test("an address already held is refused and nothing new is written", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    expect(addresses(call("ADD", ctr, c, { id: "a", cniArgs: "IP=10.1.2.50" }))).toEqual(["10.1.2.50/24"]);
    const before = snapshotDir(data.path);
    const r = call("ADD", ctr, c, { id: "b", cniArgs: "IP=10.1.2.50" });
    expect([r.exitCode, r.json]).toEqual([1, {
      code: 999,
      msg: "failed to allocate for range 0: requested IP address 10.1.2.50 is not available in range set 10.1.2.1-10.1.2.254",
    }]);
    expect(snapshotDir(data.path)).toEqual(before);
  });
});

describe("allocation order", () => {
  test("round-robin continues after last_reserved_ip across ADDs, skips the gateway and wraps", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    const add = (id: string) => addresses(call("ADD", ctr, c, { id }))[0];
    expect(add("a")).toBe("10.1.2.2/24"); // .1 is the gateway
    expect(add("b")).toBe("10.1.2.3/24");
    expectSilentSuccess(call("DEL", ctr, c, { id: "a" }));
    expect(add("c")).toBe("10.1.2.4/24"); // not the freed .2: the walk goes on from the bookmark
    expect(snapshotDir(data.path)[`${NET}/last_reserved_ip.0`]).toEqual(lastReserved("10.1.2.4"));

    // The bookmark is just a file: move it near the end and the walk wraps to the freed .2.
    writeFileSync(`${data.path}/${NET}/last_reserved_ip.0`, "10.1.2.253");
    expect(add("d")).toBe("10.1.2.254/24");
    expect(add("e")).toBe("10.1.2.2/24");
    expect(add("f")).toBe("10.1.2.5/24");
  });

  test("a /30 has one address to give; the next ADD fails and writes nothing", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path, { ranges: [[{ subnet: "10.1.3.0/30" }]] });
    expect(addresses(call("ADD", ctr, c, { id: "a" }))).toEqual(["10.1.3.2/30"]);
    const before = snapshotDir(data.path);
    const r = call("ADD", ctr, c, { id: "b" });
    expect([r.exitCode, r.json]).toEqual([1, {
      code: 999,
      msg: "failed to allocate for range 0: no IP addresses available in range set: 10.1.3.1-10.1.3.2",
    }]);
    expect(snapshotDir(data.path)).toEqual(before);
  });

  test("a second ADD of the same attachment is a duplicate", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    expect(addresses(call("ADD", ctr, c))).toEqual(["10.1.2.2/24"]);
    const r = call("ADD", ctr, c);
    expect([r.exitCode, r.json]).toEqual([1, {
      code: 999,
      msg: "failed to allocate for range 0: 10.1.2.2 has been allocated to ctr1, duplicate allocation is not allowed",
    }]);
  });
});

describe("routes and dns", () => {
  const routes = [
    { dst: "0.0.0.0/0", gw: "10.1.2.1" },
    { dst: "10.9.0.0/16", gw: "10.1.2.254", mtu: 1400, advmss: 1360, priority: 10, table: 100, scope: 0 },
    { dst: "fd00:9::/64" },
  ];
  const resolv = [
    "# written by the test", "; also a comment",
    "nameserver 10.0.0.53", "nameserver fd00::53",
    "domain example.test",
    "search a.test b.test", "search c.test",
    "options ndots:2 edns0",
  ].join("\n") + "\n";
  const dns = { nameservers: ["10.0.0.53", "fd00::53"], domain: "example.test", search: ["a.test", "b.test", "c.test"], options: ["ndots:2", "edns0"] };

  test.each(["0.4.0", "1.0.0", "1.1.0"])("%s: routes verbatim (every field), dns from resolvConf", (version) => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    using etc = tempDir(`${TAG}-etc`);
    writeFileSync(`${etc.path}/resolv.conf`, resolv);
    const add = call("ADD", ctr, conf(version, data.path, { routes, resolvConf: `${etc.path}/resolv.conf` }));
    expect(add.exitCode).toBe(0);
    expect(add.stdout).toBe(printed(ipamResult(version, [V4], routes, dns)));
  });

  test("0.2.0: routes filed under their family, dns from resolvConf", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    using etc = tempDir(`${TAG}-etc`);
    writeFileSync(`${etc.path}/resolv.conf`, resolv);
    const plain = [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "::/0", gw: "fd00:1::1" }];
    const add = call("ADD", ctr, conf("0.2.0", data.path, { ...DUAL, routes: plain, resolvConf: `${etc.path}/resolv.conf` }));
    expect(add.exitCode).toBe(0);
    expect(add.stdout).toBe(printed(ipamResult("0.2.0", [V4, V6], plain, dns)));
  });
});

describe("STATUS and GC (1.1.0)", () => {
  test("STATUS succeeds on a writable dataDir and creates nothing", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    expectSilentSuccess(call("STATUS", ctr, conf("1.1.0", data.path)));
    expect(snapshotDir(data.path)).toEqual({});
  });

  test("STATUS on a dataDir under a regular file is code 50 (not available)", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    writeFileSync(`${data.path}/file`, "");
    const r = call("STATUS", ctr, conf("1.1.0", `${data.path}/file/sub`));
    expect(r.exitCode).toBe(1);
    expect(r.json.code).toBe(50);
    expect(r.json.msg).toContain(`${data.path}/file/sub/${NET}`);
  });

  test("GC frees exactly the reservations missing from cni.dev/valid-attachments", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path, DUAL);
    expect(addresses(call("ADD", ctr, c, { id: "keep" }))).toEqual(["10.1.2.2/24", "fd00:1::2/64"]);
    expect(addresses(call("ADD", ctr, c, { id: "gone" }))).toEqual(["10.1.2.3/24", "fd00:1::3/64"]);
    const bookmarks = { "last_reserved_ip.0": lastReserved("10.1.2.3"), "last_reserved_ip.1": lastReserved("fd00:1::3") };
    const gc = { ...c, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] };
    expectSilentSuccess(call("GC", ctr, gc));
    expect(snapshotDir(data.path)).toEqual(storeWith({ "10.1.2.2": reservation("keep"), "fd00:1::2": reservation("keep"), ...bookmarks }));
  });
});

describe("bad input: exit 1, one error object with the right code and text, nothing written", () => {
  const ok = (dataDir: string) => conf("1.1.0", dataDir);
  const withIpam = (ipam: object) => (dataDir: string) => conf("1.1.0", dataDir, ipam);
  type Case = {
    stdin: (dataDir: string) => object | string;
    env?: Record<string, string>;
    want: object;
  };
  const cases: Record<string, Case> = {
    "malformed JSON": { stdin: () => "{", want: { code: 6, msg: expect.stringMatching(/^error unmarshall network config: ./) } },
    "missing ipam": { stdin: (d) => ({ cniVersion: "1.1.0", name: NET, type: "ptp", dataDir: d }), want: { code: 999, msg: "IPAM config missing 'ipam' key" } },
    "ranges of the wrong type": {
      stdin: withIpam({ ranges: "10.1.2.0/24" }),
      want: { code: 999, msg: "json: cannot unmarshal string into Go struct field IPAMConfig.ipam.ranges of type []allocator.RangeSet" },
    },
    "subnet of the wrong type": {
      stdin: withIpam({ ranges: [[{ subnet: 5 }]] }),
      want: { code: 999, msg: "json: cannot unmarshal number into Go struct field Range.ipam.ranges.subnet of type string" },
    },
    "bad CIDR": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/33" }]] }), want: { code: 999, msg: "invalid CIDR address: 10.1.2.0/33" } },
    "subnet with host bits": {
      stdin: withIpam({ ranges: [[{ subnet: "10.1.2.5/24" }]] }),
      want: { code: 999, msg: "invalid range set 0: Network has host bits set. For a subnet mask of length 24 the network address is 10.1.2.0" },
    },
    "rangeStart outside the subnet": {
      stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.3.5" }]] }),
      want: { code: 999, msg: "invalid range set 0: RangeStart 10.1.3.5 not in network 10.1.2.0/24" },
    },
    "overlapping range sets": {
      stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.2.128/25" }]] }),
      want: { code: 999, msg: "range set 0 overlaps with 1" },
    },
    "unknown cniVersion": {
      stdin: (d) => conf("9.9.9", d),
      want: { code: 1, msg: "incompatible CNI versions", details: `config is "9.9.9", plugin supports [${ALL_VERSIONS.map((v) => `"${v}"`).join(" ")}]` },
    },
    "bad CNI_ARGS pair": { stdin: ok, env: { CNI_ARGS: "IP" }, want: { code: 999, msg: 'ARGS: invalid pair "IP"' } },
    "unknown CNI_ARGS key without IgnoreUnknown": {
      stdin: ok, env: { CNI_ARGS: "K8S_POD_NAME=p;IP=10.1.2.9" }, want: { code: 999, msg: 'ARGS: unknown args ["K8S_POD_NAME=p"]' },
    },
    "requested IP outside every range": {
      stdin: ok, env: { CNI_ARGS: "IP=10.9.9.9" },
      // Judged from the config before the store is opened (upstream leaves the store, its lock and a moved bookmark).
      want: { code: 999, msg: "failed to allocate all requested IPs: 10.9.9.9" },
    },
    "requested gateway IP": {
      stdin: ok, env: { CNI_ARGS: "IP=10.1.2.1" },
      want: { code: 999, msg: "failed to allocate for range 0: requested ip 10.1.2.1 is subnet's gateway" },
    },
    "ifname too long": {
      stdin: ok, env: { CNI_IFNAME: "abcdefghijklmnop" },
      want: { code: 4, msg: "interface name is too long", details: "interface name should be less than 16 characters" },
    },
  };

  test.each(Object.keys(cases))("%s", (label) => {
    const c = cases[label]!;
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const r = runPlugin("host-local", { hostNetns: host.name, env: { ...cniEnv("ADD", ctr.path), ...c.env }, stdin: c.stdin(data.path) });
    expect(r.exitCode).toBe(1);
    expect(r.json).toEqual(c.want);
    expect(r.stdout).toBe(JSON.stringify(r.json, null, 4)); // exactly one object
    expect(snapshotDir(data.path)).toEqual({});
  });

  test("missing CNI_NETNS for ADD", () => {
    using data = tempDir(`${TAG}-data`);
    const env = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "ctr1", CNI_IFNAME: "eth0" };
    const r = runPlugin("host-local", { hostNetns: host.name, env, stdin: conf("1.1.0", data.path) });
    expect([r.exitCode, r.json]).toEqual([1, { code: 4, msg: "required env variables [CNI_NETNS] missing" }]);
    expect(snapshotDir(data.path)).toEqual({});
  });
});
