// ipvlan with host-local IPAM, both ours (CNI_PATH = our bin/), run as a runtime runs them (env + stdin) inside a
// throwaway host netns whose "NIC" is a veth pair (both ends up: ipvlan slaves inherit the master's carrier), with a
// throwaway container netns and a temporary dataDir (SPEC-DIGEST §1.4, §0.8).
//
// This machine's kernel lacks ipvlan. Everything that needs an ipvlan link detects that from the kernel's own
// RTM_NEWLINK refusal (EOPNOTSUPP, "Unknown device type") and skips, the test's name saying so and naming the kernel
// VM case that covers it (test/kernel-vm/cases/ipvlan.sh: every mode, ADD/CHECK/DEL/DEL again for one spec version
// per result family, chained reuse of prevResult's addresses, linkInContainer, the MTU, pings between two containers). What runs here whatever
// the kernel: every config error (judged before anything is made), the name clash in the container, an ADD the kernel
// refuses leaving nothing behind, DEL's tolerance and its IPAM DEL, STATUS and GC through IPAM, CHECK's complaints
// that come before the link is looked at.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { cniEnv, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { snapshotDir, sweepTempDirs, tempDir } from "../support/temp-dir.ts";
import { hostLocalConf, lastReserved, NET, reservation, storeWith } from "../support/host-local.ts";
import { addrsIn, linkIn, linkNames, routesIn } from "../support/link-state.ts";
import { ipIn, succeedsIn, sysctlIn } from "../support/ns-exec.ts";
import { attachmentResult, printed, type Ip } from "../support/result.ts";
import { addNic, kindMissing, slaveIn } from "../support/lower-link.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "ivi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-ivi-`
const missing = [
  ...["ip", "ping"].filter((t) => Bun.which(t) === null),
  ...["ipvlan", "host-local"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`ipvlan integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);
/** Why this kernel cannot make ipvlan links (the kernel's RTM_NEWLINK error), or undefined when it can. */
const noIpvlan = skip ? undefined : kindMissing("ipvlan", `${TAG}-probe`);

/** Declares a test that needs an ipvlan link; on a kernel without, it is skipped under a name saying why and where it runs. */
function ipvlanTest(name: string, vmChecks: string, fn: () => void): void {
  if (noIpvlan === undefined) test(name, fn);
  else test.skip(`${name} [kernel lacks ipvlan: ${noIpvlan}; covered in the kernel VM: ${vmChecks}]`, fn);
}

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

const A4: Ip = { address: "10.1.2.2/24", gateway: "10.1.2.1" };
const B4: Ip = { address: "10.1.2.3/24", gateway: "10.1.2.1" };
const bare = (ip: Ip) => ip.address.split("/")[0]!;

/** An ipvlan network config (network NET) on master m0 with host-local on dataDir; `ipam: null` for none. */
function conf(version: string, dataDir: string, top: object = {}, ipam: object | null = {}): Record<string, unknown> {
  const c = hostLocalConf(version, dataDir, ipam ?? {}, { type: "ipvlan", master: "m0", ...top });
  if (ipam === null) delete c.ipam;
  return c;
}

/** A throwaway host netns with the NIC m0 (peer m0p, both up), and a container netns. */
function world() {
  const host = tempNetns(`${TAG}-host`);
  const ctr = tempNetns(`${TAG}-ctr`);
  const m0 = addNic(host, "m0");
  return {
    host, ctr, m0,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
    },
  };
}

function ipvlan(verb: string, host: TempNetns, netns: string, stdin: object | string, id = "ctr1"): Run {
  return runPlugin("ipvlan", { hostNetns: host.name, env: cniEnv(verb, netns, "eth0", id), stdin });
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

function expectError(r: Run, want: { code: number; msg: string | RegExp }): void {
  expect([r.exitCode, r.json]).toEqual([1, { code: want.code, msg: typeof want.msg === "string" ? want.msg : expect.stringMatching(want.msg) }]);
  expect(r.stdout).toBe(JSON.stringify(r.json, null, 4)); // exactly one object
}

/** Only lo in the container, the host's links as addNic made them. */
function expectNothing(w: { host: TempNetns; ctr: TempNetns }): void {
  expect(linkNames(w.ctr)).toEqual(["lo"]);
  expect(linkNames(w.host).sort()).toEqual(["lo", "m0", "m0p"]);
}

const storeFreed = (ip: Ip) => storeWith({ "last_reserved_ip.0": lastReserved(bare(ip)) });

describe.skipIf(skip)("ipvlan", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    // The VM runs one version per result family; the skel's conversions are the same for the others.
    const vmVersion = versionAtLeast(version, "1.0.0") ? "1.1.0" : versionAtLeast(version, "0.3.0") ? "0.4.0" : "0.2.0";
    ipvlanTest("ADD makes an l2 ipvlan on m0 with host-local's address; CHECK; DEL and DEL again leave nothing", `ipvlan/${vmVersion} …`, () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf(version, data.path);
      const add = ipvlan("ADD", w.host, w.ctr.path, c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      // An ipvlan slave shares its master's MAC.
      const m0mac = linkIn(w.host, "m0")!.mac;
      expect(add.stdout).toBe(printed(attachmentResult(version, [{ name: "eth0", mac: m0mac, sandbox: w.ctr.path }], 0, [A4])));
      expect(slaveIn(w.ctr, "eth0")).toMatchObject({ kind: "ipvlan", mode: "l2", mtu: 1500, mac: m0mac, up: true, parentIndex: w.m0 });
      expect(addrsIn(w.ctr, "eth0")).toEqual([{ family: "inet", local: bare(A4), prefixlen: 24 }]);
      expect(sysctlIn(w.ctr, "net/ipv4/conf/eth0/arp_notify")).toBe("1");
      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: add.json } : c;
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(ipvlan("CHECK", w.host, w.ctr.path, withPrev));
      expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, withPrev));
      expectNothing(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
      expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, withPrev));
      expectNothing(w);
    });
  });

  ipvlanTest("l3 and l3s read back; CHECK with another mode names both", "ipvlan/l3 …, ipvlan/l3s …", () => {
    for (const mode of ["l3", "l3s"]) {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, { mode });
      const add = ipvlan("ADD", w.host, w.ctr.path, c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(slaveIn(w.ctr, "eth0")).toMatchObject({ kind: "ipvlan", mode, parentIndex: w.m0 });
      expectError(ipvlan("CHECK", w.host, w.ctr.path, { ...c, mode: "l2", prevResult: add.json }), {
        code: 999, msg: `Container IPVlan mode ${mode} does not match expected value: l2`,
      });
      expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, c));
      expectNothing(w);
    }
  });

  ipvlanTest("chained without ipam: prevResult's addresses and routes, its one interface the master", "ipvlan/chained …", () => {
    using w = world();
    const prevResult = { cniVersion: "1.0.0", interfaces: [{ name: "m0" }], ips: [{ address: "10.1.2.9/24", gateway: "10.1.2.1", interface: 0 }], routes: [{ dst: "10.8.0.0/16", gw: "10.1.2.1" }] };
    const c = { cniVersion: "1.0.0", name: NET, type: "ipvlan", prevResult };
    const add = ipvlan("ADD", w.host, w.ctr.path, c);
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(add.json).toMatchObject({ interfaces: [{ name: "eth0", sandbox: w.ctr.path }], ips: [{ address: "10.1.2.9/24", interface: 0 }], routes: prevResult.routes });
    expect(routesIn(w.ctr, 4)).toContainEqual({ dst: "10.8.0.0/16", gateway: "10.1.2.1", dev: "eth0" });
    expectSilentSuccess(ipvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult: add.json }));
    expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, { ...c, prevResult: add.json }));
    expectNothing(w);
  });

  ipvlanTest("two containers' l2 slaves of one master reach each other", "ipvlan/… pings …", () => {
    using w = world();
    using b = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    expect(ipvlan("ADD", w.host, w.ctr.path, c, "a").exitCode).toBe(0);
    expect(ipvlan("ADD", w.host, b.path, c, "b").exitCode).toBe(0);
    expect([succeedsIn(w.ctr, ["ping", "-c1", "-W2", bare(B4)]), succeedsIn(b, ["ping", "-c1", "-W2", bare(A4)])]).toEqual([true, true]);
    expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, c, "a"));
    expectSilentSuccess(ipvlan("DEL", w.host, b.path, c, "b"));
  });

  test.skipIf(noIpvlan === undefined)("on a kernel without ipvlan, ADD fails with the kernel's words and leaves nothing: no temporary link, no reservation", () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    expectError(ipvlan("ADD", w.host, w.ctr.path, conf("1.1.0", data.path)), { code: 999, msg: "failed to create ipvlan: operation not supported: Unknown device type" });
    expectNothing(w);
    expect(snapshotDir(data.path)).toEqual({});
  });

  describe("bad input: exit 1, one error object with the right code and text, nothing made (whatever the kernel)", () => {
    type Case = { stdin: (dataDir: string) => object; want: { code: number; msg: string }; setup?: (w: { host: TempNetns; ctr: TempNetns }) => void };
    const prev = (interfaces: object[]) => ({ cniVersion: "1.0.0", interfaces, ips: [{ address: "10.1.2.9/24", interface: 0 }] });
    const cases: Record<string, Case> = {
      "unknown mode": { stdin: (d) => conf("1.1.0", d, { mode: "l4" }), want: { code: 7, msg: 'unknown ipvlan mode: "l4"' } },
      "mtu above the master's (upstream does not judge it)": {
        stdin: (d) => conf("1.1.0", d, { mtu: 9000 }), want: { code: 7, msg: "invalid MTU 9000, must be [0, master MTU(1500)]" },
      },
      "a master that does not exist": { stdin: (d) => conf("1.1.0", d, { master: "eth9" }), want: { code: 7, msg: 'failed to lookup master "eth9": Link not found' } },
      "no master and no default route": {
        stdin: (d) => conf("1.1.0", d, { master: undefined }), want: { code: 7, msg: '"master" is not set and no default route interface found' },
      },
      "chained, prevResult with two interfaces and no master": {
        stdin: () => ({ cniVersion: "1.0.0", name: NET, type: "ipvlan", prevResult: prev([{ name: "m0" }, { name: "m0p" }]) }),
        want: { code: 7, msg: "chained master failure. PrevResult lacks a single named interface" },
      },
      "chained, prevResult's one interface is not a link here": {
        stdin: () => ({ cniVersion: "1.0.0", name: NET, type: "ipvlan", prevResult: prev([{ name: "gone0" }]) }),
        want: { code: 7, msg: 'failed to lookup master "gone0": Link not found' },
      },
      "no ipam and no prevResult addresses": {
        stdin: () => ({ cniVersion: "1.0.0", name: NET, type: "ipvlan", master: "m0" }),
        want: { code: 7, msg: 'no plugin name provided: the config has no "ipam" with a "type" and no prevResult with IPs to reuse' },
      },
      "eth0 already in the container": {
        stdin: (d) => conf("1.1.0", d),
        setup: (w) => ipIn(w.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]),
        want: { code: 999, msg: 'failed to rename ipvlan to "eth0": file exists' },
      },
      "linkInContainer, and the named master is in the host only": {
        stdin: (d) => conf("1.1.0", d, { linkInContainer: true }), want: { code: 7, msg: 'failed to lookup master "m0": Link not found' },
      },
      "mtu of the wrong type": {
        stdin: (d) => conf("1.1.0", d, { mtu: "1400" }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type int" },
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      using w = world();
      using data = tempDir(`${TAG}-data`);
      c.setup?.(w);
      const before = { host: linkNames(w.host), ctr: linkNames(w.ctr) };
      expectError(ipvlan("ADD", w.host, w.ctr.path, c.stdin(data.path)), c.want);
      expect({ host: linkNames(w.host), ctr: linkNames(w.ctr) }).toEqual(before);
      expect(snapshotDir(data.path)).toEqual({});
    });
  });

  describe("DEL (whatever the kernel)", () => {
    /** Reserves A4 for ctr1 the way the ADD would have, by running our host-local ADD directly. */
    function reserve(host: TempNetns, netns: string, c: object): void {
      const r = runPlugin("host-local", { hostNetns: host.name, env: cniEnv("ADD", netns, "eth0", "ctr1"), stdin: c });
      expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    }

    test("runs IPAM DEL and is success without a link, twice, with the netns gone, and with an empty CNI_NETNS", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      reserve(w.host, w.ctr.path, c);
      expect(snapshotDir(data.path)).toEqual(storeWith({ [bare(A4)]: reservation("ctr1"), "last_reserved_ip.0": lastReserved(bare(A4)) }));
      expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, c));
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
      expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, c));
      expectSilentSuccess(ipvlan("DEL", w.host, "", c));
      expectSilentSuccess(ipvlan("DEL", w.host, "/run/netns/does-not-exist", c));
      expectNothing(w);
    });

    test("needs neither a master nor a default route (upstream's DEL resolves one and fails without)", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, { master: undefined });
      reserve(w.host, w.ctr.path, c);
      expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, c));
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
    });

    test("deletes a link of that name in the container, whatever made it", () => {
      using w = world();
      ipIn(w.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      expectSilentSuccess(ipvlan("DEL", w.host, w.ctr.path, { cniVersion: "1.0.0", name: NET, type: "ipvlan", master: "m0" }));
      expectNothing(w);
    });
  });

  test("GC (1.1.0) goes to host-local: the reservations of attachments not in cni.dev/valid-attachments are freed", () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    for (const id of ["keep", "gone"]) {
      const r = runPlugin("host-local", { hostNetns: w.host.name, env: cniEnv("ADD", w.ctr.path, "eth0", id), stdin: c });
      expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    }
    const gc = { ...c, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] };
    expectSilentSuccess(runPlugin("ipvlan", { hostNetns: w.host.name, env: { CNI_COMMAND: "GC" }, stdin: gc }));
    expect(snapshotDir(data.path)).toEqual(storeWith({ [bare(A4)]: reservation("keep"), "last_reserved_ip.0": lastReserved(bare(B4)) }));
  });

  describe("STATUS (1.1.0) is host-local's", () => {
    test("a writable dataDir, and no ipam: success, nothing printed", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      expectSilentSuccess(runPlugin("ipvlan", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", data.path) }));
      expectSilentSuccess(runPlugin("ipvlan", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", data.path, {}, null) }));
    });

    test("a dataDir under a regular file: code 50 from host-local", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      writeFileSync(`${data.path}/file`, "");
      const r = runPlugin("ipvlan", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", `${data.path}/file/sub`) });
      expect(r.exitCode).toBe(1);
      expect(r.json).toEqual({
        code: 50,
        msg: `host-local: cannot store reservations in ${JSON.stringify(`${data.path}/file/sub/${NET}`)}`,
        details: `${data.path}/file is not a directory`,
      });
    });
  });

  test("CHECK complains before looking at the link: no prevResult, another sandbox, a master that is gone", () => {
    using w = world();
    const c = { cniVersion: "1.1.0", name: NET, type: "ipvlan", master: "m0" };
    const prevResult = { cniVersion: "1.1.0", interfaces: [{ name: "eth0", sandbox: w.ctr.path }], ips: [{ address: "10.1.2.2/24", interface: 0 }] };
    expectError(ipvlan("CHECK", w.host, w.ctr.path, c), { code: 999, msg: "Required prevResult missing" });
    expectError(ipvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult: { ...prevResult, interfaces: [{ name: "eth0", sandbox: "/x" }] } }), {
      code: 999, msg: `Sandbox in prevResult  doesn't match configured netns: ${w.ctr.path}`,
    });
    expectError(ipvlan("CHECK", w.host, w.ctr.path, { ...c, master: "gone0", prevResult }), { code: 7, msg: 'failed to lookup master "gone0": Link not found' });
    expectError(ipvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult }), { code: 999, msg: "Container Interface name in prevResult: eth0 not found" });
    expectError(ipvlan("CHECK", w.host, w.ctr.path, { ...c, master: "", prevResult }), { code: 999, msg: "Container Interface name in prevResult: eth0 not found" });
    // A link of that name that is no ipvlan.
    ipIn(w.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
    expectError(ipvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult }), { code: 999, msg: "Error: Container interface eth0 not of type ipvlan" });
  });
});
