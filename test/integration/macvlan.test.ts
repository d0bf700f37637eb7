// macvlan with host-local IPAM, both ours (CNI_PATH = our bin/), run as a runtime runs them (env + stdin) inside a
// throwaway host netns whose "NIC" is a veth pair, with a throwaway container netns and a temporary dataDir. For every
// spec version: the result text, the macvlan read back with `ip -j -d` (kind, mode, master, MTU, MAC, up), the
// addresses, routes and notify sysctls, the store on disk; CHECK, DEL, DEL again. Then layer 2, every mode, mtu,
// bcqueuelen and the three MAC sources, the master found through the default route, linkInContainer, bad input,
// rollback after a failed ADD, the DELs a runtime sends after the container is gone, GC and STATUS through
// host-local, CHECK's complaints, and
// two containers pinging each other through their macvlans (SPEC-DIGEST §1.3, §0.8).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { cniEnv, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { snapshotDir, sweepTempDirs, tempDir } from "../support/temp-dir.ts";
import { hostLocalConf, lastReserved, NET, reservation, storeWith } from "../support/host-local.ts";
import { addrsIn, linkNames, routesIn, type RouteState } from "../support/link-state.ts";
import { ipIn, succeedsIn, sysctlIn } from "../support/ns-exec.ts";
import { attachmentResult, MAC, printed, type Ip } from "../support/result.ts";
import { waitFor } from "../support/wait.ts";
import { addNic, slaveIn, type SlaveState } from "../support/lower-link.ts";
import { ALL_VERSIONS, type Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "mvi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-mvi-`
const missing = [
  ...["ip", "ping"].filter((t) => Bun.which(t) === null),
  ...["macvlan", "host-local"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`macvlan integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

const A4: Ip = { address: "10.1.2.2/24", gateway: "10.1.2.1" };
const B4: Ip = { address: "10.1.2.3/24", gateway: "10.1.2.1" };
const bare = (ip: Ip) => ip.address.split("/")[0]!;

/** A macvlan network config (network NET) on master m0 with host-local on dataDir; `ipam: null` for layer 2. */
function conf(version: string, dataDir: string, top: object = {}, ipam: object | null = {}): Record<string, unknown> {
  const c = hostLocalConf(version, dataDir, ipam ?? {}, { type: "macvlan", master: "m0", ...top });
  if (ipam === null) delete c.ipam;
  return c;
}

/** A throwaway host netns with the NIC m0 (peer m0p), and a container netns. */
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

function macvlan(verb: string, host: TempNetns, netns: string, stdin: object | string, id = "ctr1", env: Record<string, string> = {}): Run {
  return runPlugin("macvlan", { hostNetns: host.name, env: { ...cniEnv(verb, netns, "eth0", id), ...env }, stdin });
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

function expectError(r: Run, want: { code: number; msg: string | RegExp }): void {
  expect([r.exitCode, r.json]).toEqual([1, { code: want.code, msg: typeof want.msg === "string" ? want.msg : expect.stringMatching(want.msg) }]);
  expect(r.stdout).toBe(JSON.stringify(r.json, null, 4)); // exactly one object
}

/**
 * Runs ADD and checks its stdout byte for byte against the version's shape, the random MAC matched by pattern
 * (read off the kernel for 0.1/0.2, whose results carry no interfaces). Returns the MAC and the parsed result.
 */
function expectAdd(version: string, host: TempNetns, ctr: TempNetns, c: object, ips: Ip[], routes: Route[] = [], id = "ctr1", env: Record<string, string> = {}) {
  const add = macvlan("ADD", host, ctr.path, c, id, env);
  expect([add.exitCode, add.stderr, add.exitCode ? add.stdout : ""]).toEqual([0, "", ""]);
  const mac: string = versionAtLeast(version, "0.3.0") ? add.json.interfaces[0].mac : slaveIn(ctr, "eth0")!.mac;
  expect(mac).toMatch(MAC);
  expect(add.stdout).toBe(printed(attachmentResult(version, [{ name: "eth0", mac, sandbox: ctr.path }], 0, ips, routes)));
  return { mac, result: add.json };
}

/** The container's side of one attachment: the macvlan on m0 and nothing else, its addresses, routes and sysctls. */
function expectSlave(w: { ctr: TempNetns; m0: number }, want: Partial<SlaveState>, ips: Ip[], routes: RouteState[] = []): void {
  expect(linkNames(w.ctr)).toEqual(["lo", "eth0"]); // the temporary name is gone
  expect(slaveIn(w.ctr, "eth0")).toEqual({
    ifname: "eth0", kind: "macvlan", mode: "bridge", mtu: 1500, mac: expect.stringMatching(MAC), up: true, parentIndex: w.m0,
    bcqueuelen: 1000, ...want,
  });
  expect(addrsIn(w.ctr, "eth0")).toEqual(ips.map((ip) => ({ family: "inet", local: bare(ip), prefixlen: 24 })));
  const connected = ips.length ? [{ dst: "10.1.2.0/24", dev: "eth0", protocol: "kernel", scope: "link", prefsrc: bare(ips[0]!) }] : [];
  expect(routesIn(w.ctr, 4)).toEqual([...routes, ...connected].sort((a, b) => String(a.dst).localeCompare(String(b.dst))));
  if (ips.length) {
    expect(sysctlIn(w.ctr, "net/ipv4/conf/eth0/arp_notify")).toBe("1");
    expect(sysctlIn(w.ctr, "net/ipv6/conf/eth0/ndisc_notify")).toBe("1");
  }
}

/** Nothing of an attachment: only lo in the container, the host's links as addNic made them. */
function expectNothing(w: { host: TempNetns; ctr: TempNetns }): void {
  expect(linkNames(w.ctr)).toEqual(["lo"]);
  expect(linkNames(w.host).sort()).toEqual(["lo", "m0", "m0p"]);
}

const storeHolding = (id: string, ip: Ip) => storeWith({ [bare(ip)]: reservation(id), "last_reserved_ip.0": lastReserved(bare(ip)) });
const storeFreed = (ip: Ip) => storeWith({ "last_reserved_ip.0": lastReserved(bare(ip)) });
const DEFAULT4: RouteState = { dst: "default", gateway: "10.1.2.1", dev: "eth0" };

describe.skipIf(skip)("macvlan", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    test("ADD makes a bridge-mode macvlan on m0 with host-local's address; CHECK; DEL and DEL again leave nothing", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const routes = [{ dst: "0.0.0.0/0" }];
      const c = conf(version, data.path, {}, { routes });
      const { mac, result } = expectAdd(version, w.host, w.ctr, c, [A4], routes);
      expectSlave(w, { mac }, [A4], [DEFAULT4]);
      expect(snapshotDir(data.path)).toEqual(storeHolding("ctr1", A4));
      expect(linkNames(w.host).sort()).toEqual(["lo", "m0", "m0p"]); // nothing made on the host side

      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: result } : c;
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(macvlan("CHECK", w.host, w.ctr.path, withPrev));
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, withPrev));
      expectNothing(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, withPrev));
      expectNothing(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
    });
  });

  describe("layer 2 (no ipam type)", () => {
    test.each(["0.3.0", "0.4.0", "1.1.0"])("%s: an up macvlan without addresses; the config's dns in the result; CHECK; DEL", (version) => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const dns = { nameservers: ["10.0.0.53"] };
      const c = conf(version, data.path, { dns }, null);
      const add = macvlan("ADD", w.host, w.ctr.path, c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      const mac = add.json.interfaces[0].mac;
      expect(add.stdout).toBe(printed(attachmentResult(version, [{ name: "eth0", mac, sandbox: w.ctr.path }], 0, [], [], dns)));
      expectSlave(w, { mac }, []);
      expect(snapshotDir(data.path)).toEqual({}); // no IPAM ran
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(macvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult: add.json }));
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, c));
      expectNothing(w);
    });

    test.each(["0.1.0", "0.2.0"])("%s: a result without addresses has no such version: code 7 before anything is made", (version) => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      expectError(macvlan("ADD", w.host, w.ctr.path, conf(version, data.path, {}, null)), {
        code: 7, msg: `cannot convert: no valid IP addresses (a cniVersion ${version} result needs one: set "ipam")`,
      });
      expectNothing(w);
    });
  });

  describe("mode", () => {
    test.each(["private", "vepa", "passthru", "source"])("%s reads back; CHECK with another mode names both", (mode) => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, { mode }, null);
      const add = macvlan("ADD", w.host, w.ctr.path, c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(slaveIn(w.ctr, "eth0")).toMatchObject({ kind: "macvlan", mode, parentIndex: w.m0, up: true });
      expectSilentSuccess(macvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult: add.json }));
      const r = macvlan("CHECK", w.host, w.ctr.path, { ...c, mode: "bridge", prevResult: add.json });
      expectError(r, { code: 999, msg: `container macvlan mode ${mode} does not match expected value: bridge` });
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, c));
      expectNothing(w);
    });
  });

  test("mtu and bcqueuelen are set; the MAC comes from runtimeConfig over CNI_ARGS over the config", () => {
    using w = world();
    const m = (n: number) => `02:00:00:00:00:0${n}`;
    // host-local reads CNI_ARGS too and knows no MAC, so CNI_ARGS carries IgnoreUnknown=1 (as runtimes send it).
    const cases: [object, string, string][] = [
      [{ mac: m(1) }, "", m(1)],
      [{ mac: m(1) }, `IgnoreUnknown=1;K8S_POD_NAME=p;MAC=${m(2)}`, m(2)],
      [{ mac: m(1), runtimeConfig: { mac: m(3) } }, `IgnoreUnknown=1;MAC=${m(2)}`, m(3)],
    ];
    for (const [top, cniArgs, want] of cases) {
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, { mtu: 1400, bcqueuelen: 100, ...top });
      const { mac, result } = expectAdd("1.1.0", w.host, w.ctr, c, [A4], [], "ctr1", { CNI_ARGS: cniArgs });
      expect(mac).toBe(want);
      expectSlave(w, { mac: want, mtu: 1400, bcqueuelen: 100 }, [A4]);
      expectSilentSuccess(macvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult: result }, "ctr1", { CNI_ARGS: cniArgs }));
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, c));
      expectNothing(w);
    }
  });

  describe("master", () => {
    test("without `master`, the link of the first default route; CHECK finds it the same way", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const m1 = addNic(w.host, "m1", { address: "192.168.50.1/24", defaultVia: "192.168.50.254" });
      const c = conf("1.1.0", data.path, { master: undefined });
      const { result } = expectAdd("1.1.0", w.host, w.ctr, c, [A4]);
      expect(slaveIn(w.ctr, "eth0")?.parentIndex).toBe(m1);
      expectSilentSuccess(macvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult: result }));
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, c));
      expect(linkNames(w.ctr)).toEqual(["lo"]);
    });

    test("without `master` and without a default route: code 7 naming the field, nothing made", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      expectError(macvlan("ADD", w.host, w.ctr.path, conf("1.1.0", data.path, { master: undefined })), {
        code: 7, msg: '"master" is not set and no default route interface found',
      });
      expectNothing(w);
      expect(snapshotDir(data.path)).toEqual({});
    });

    test("linkInContainer: the master is the container's own link (named, or its default route's)", () => {
      using w = world();
      const c0 = addNic(w.ctr, "c0", { address: "192.168.60.2/24", defaultVia: "192.168.60.1" });
      for (const top of [{ master: "c0" }, { master: undefined }]) {
        using data = tempDir(`${TAG}-data`);
        const c = conf("1.1.0", data.path, { ...top, linkInContainer: true });
        const { result } = expectAdd("1.1.0", w.host, w.ctr, c, [A4]);
        expect(slaveIn(w.ctr, "eth0")).toMatchObject({ kind: "macvlan", mode: "bridge", parentIndex: c0, up: true });
        expectSilentSuccess(macvlan("CHECK", w.host, w.ctr.path, { ...c, prevResult: result }));
        expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, c));
        expect(linkNames(w.ctr).sort()).toEqual(["c0", "c0p", "lo"]);
      }
      // A master of that name in the host does not count.
      using data = tempDir(`${TAG}-data`);
      expectError(macvlan("ADD", w.host, w.ctr.path, conf("1.1.0", data.path, { master: "m0", linkInContainer: true })), {
        code: 7, msg: 'failed to lookup master "m0": Link not found',
      });
    });
  });

  describe("bad input: exit 1, one error object with the right code and text, nothing left", () => {
    type Case = { stdin: (dataDir: string) => object; want: { code: number; msg: string | RegExp }; env?: Record<string, string>; setup?: (ctr: TempNetns) => void };
    const cases: Record<string, Case> = {
      "unknown mode": { stdin: (d) => conf("1.1.0", d, { mode: "bridged" }), want: { code: 7, msg: 'unknown macvlan mode: "bridged"' } },
      "mtu above the master's": { stdin: (d) => conf("1.1.0", d, { mtu: 9000 }), want: { code: 7, msg: "invalid MTU 9000, must be [0, master MTU(1500)]" } },
      "negative mtu": { stdin: (d) => conf("1.1.0", d, { mtu: -1 }), want: { code: 7, msg: "invalid MTU -1, must be [0, master MTU(1500)]" } },
      "a master that does not exist": { stdin: (d) => conf("1.1.0", d, { master: "eth9" }), want: { code: 7, msg: 'failed to lookup master "eth9": Link not found' } },
      "eth0 already in the container": {
        stdin: (d) => conf("1.1.0", d),
        setup: (ctr) => ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]),
        want: { code: 999, msg: 'failed to rename macvlan to "eth0": file exists' },
      },
      "a MAC that is not one": { stdin: (d) => conf("1.1.0", d, { mac: "02:00:00:00:00" }), want: { code: 7, msg: "invalid args 02:00:00:00:00 for MAC addr: address 02:00:00:00:00: invalid MAC address" } },
      "a multicast MAC in runtimeConfig": {
        stdin: (d) => conf("1.1.0", d, { runtimeConfig: { mac: "01:00:5e:00:00:01" } }),
        want: { code: 7, msg: "invalid args 01:00:5e:00:00:01 for MAC addr: a multicast address cannot be a device address" },
      },
      "an unknown CNI_ARGS key": { stdin: (d) => conf("1.1.0", d), env: { CNI_ARGS: "FOO=bar" }, want: { code: 999, msg: 'ARGS: unknown args ["FOO=bar"]' } },
      "mtu of the wrong type": {
        stdin: (d) => conf("1.1.0", d, { mtu: "1400" }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type int" },
      },
      "bcqueuelen out of range": {
        stdin: (d) => conf("1.1.0", d, { bcqueuelen: -5 }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal number -5 into Go struct field NetConf.bcqueuelen of type uint32" },
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      using w = world();
      using data = tempDir(`${TAG}-data`);
      c.setup?.(w.ctr);
      const before = { host: linkNames(w.host), ctr: linkNames(w.ctr) };
      expectError(macvlan("ADD", w.host, w.ctr.path, c.stdin(data.path), "ctr1", c.env), c.want);
      expect({ host: linkNames(w.host), ctr: linkNames(w.ctr) }).toEqual(before);
      expect(snapshotDir(data.path)).toEqual({}); // judged before IPAM ran
    });
  });

  describe("a failed ADD undoes what it did (upstream leaves the link after an IPAM-step failure)", () => {
    test("a route IPAM asks for cannot be added: the macvlan is deleted and the address freed", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const r = macvlan("ADD", w.host, w.ctr.path, conf("1.1.0", data.path, {}, { routes: [{ dst: "10.9.0.0/16", gw: "10.99.0.1" }] }));
      expectError(r, { code: 999, msg: /^failed to add route '10\.9\.0\.0\/16 via 10\.99\.0\.1 dev eth0': / });
      expectNothing(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
    });

    test("IPAM has no address left: its error, and the macvlan is deleted", () => {
      using w = world();
      using other = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, {}, { ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.2", rangeEnd: "10.1.2.2" }]] });
      expectAdd("1.1.0", w.host, other, c, [A4], [], "first");
      const r = macvlan("ADD", w.host, w.ctr.path, c, "second");
      expectError(r, { code: 999, msg: "failed to allocate for range 0: no IP addresses available in range set: 10.1.2.2-10.1.2.2" });
      expect(linkNames(w.ctr)).toEqual(["lo"]);
      expect(snapshotDir(data.path)).toEqual(storeHolding("first", A4));
    });
  });

  describe("DEL as runtimes send it", () => {
    test("after the netns is gone (with and without prevResult): success, the address freed", () => {
      using host = tempNetns(`${TAG}-host`);
      addNic(host, "m0");
      for (const withPrev of [true, false]) {
        using data = tempDir(`${TAG}-data`);
        const ctr = tempNetns(`${TAG}-ctr`);
        const c = conf("1.1.0", data.path);
        const { result } = expectAdd("1.1.0", host, ctr, c, [A4]);
        ctr[Symbol.dispose]();
        expectSilentSuccess(macvlan("DEL", host, ctr.path, withPrev ? { ...c, prevResult: result } : c));
        expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
      }
    });

    test("empty CNI_NETNS (containerd): the address freed; the link goes with the netns", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      const { result } = expectAdd("1.1.0", w.host, w.ctr, c, [A4]);
      expectSilentSuccess(macvlan("DEL", w.host, "", { ...c, prevResult: result }));
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
      expect(linkNames(w.ctr)).toEqual(["lo", "eth0"]);
      w.ctr[Symbol.dispose]();
      waitFor(() => !existsSync(w.ctr.path), "the netns to go");
    });

    test("a DEL for an attachment never made (the DEL a runtime sends after a failed ADD): success", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, conf("1.1.0", data.path)));
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, conf("1.1.0", data.path, {}, null)));
      expectNothing(w);
    });

    test("DEL needs no master (it only decodes): a config naming a master that is gone still deletes", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      expectAdd("1.1.0", w.host, w.ctr, c, [A4]);
      expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, { ...c, master: "gone0", mode: "nonsense", mtu: 99999 }));
      expectNothing(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
    });
  });

  test("GC (1.1.0) goes to host-local: the reservations of attachments not in cni.dev/valid-attachments are freed", () => {
    using w = world();
    using other = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    expectAdd("1.1.0", w.host, w.ctr, c, [A4], [], "keep");
    expectAdd("1.1.0", w.host, other, c, [B4], [], "gone");
    const gc = { ...c, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] };
    expectSilentSuccess(runPlugin("macvlan", { hostNetns: w.host.name, env: { CNI_COMMAND: "GC" }, stdin: gc }));
    expect(snapshotDir(data.path)).toEqual(storeWith({ [bare(A4)]: reservation("keep"), "last_reserved_ip.0": lastReserved(bare(B4)) }));
    expect(linkNames(w.ctr)).toEqual(["lo", "eth0"]); // GC touches no link
  });

  describe("STATUS (1.1.0) is host-local's", () => {
    test("a writable dataDir, and layer 2 (no IPAM): success, nothing printed", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      expectSilentSuccess(runPlugin("macvlan", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", data.path) }));
      expectSilentSuccess(runPlugin("macvlan", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", data.path, {}, null) }));
    });

    test("a dataDir under a regular file: code 50 from host-local", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      writeFileSync(`${data.path}/file`, "");
      const r = runPlugin("macvlan", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", `${data.path}/file/sub`) });
      expect(r.exitCode).toBe(1);
      expect(r.json).toEqual({
        code: 50,
        msg: `host-local: cannot store reservations in ${JSON.stringify(`${data.path}/file/sub/${NET}`)}`,
        details: `${data.path}/file is not a directory`,
      });
    });
  });

  test("CHECK complains, in upstream's words, about a missing prevResult, another sandbox, another MAC, a missing address", () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    const { mac, result } = expectAdd("1.1.0", w.host, w.ctr, c, [A4]);
    const check = (prevResult?: object) => macvlan("CHECK", w.host, w.ctr.path, prevResult ? { ...c, prevResult } : c);
    expectError(check(), { code: 999, msg: "required prevResult missing" });
    expectError(check({ ...result, interfaces: [{ ...result.interfaces[0], sandbox: "/run/netns/other" }] }), {
      code: 999, msg: `sandbox in prevResult  doesn't match configured netns: ${w.ctr.path}`,
    });
    expectError(check({ ...result, interfaces: [{ ...result.interfaces[0], mac: "02:00:00:00:00:99" }] }), {
      code: 999, msg: `interface eth0 Mac 02:00:00:00:00:99 doesn't match container Mac: ${mac}`,
    });
    expectError(check({ ...result, ips: [{ address: "10.1.2.99/24", gateway: "10.1.2.1", interface: 0 }] }), {
      code: 999, msg: "Failed to match addr 10.1.2.99/24 on interface eth0",
    });
    expectSilentSuccess(check(result));
    expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, c));
  });

  test("two containers' bridge-mode macvlans on one master reach each other", () => {
    using w = world();
    using b = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    expectAdd("1.1.0", w.host, w.ctr, c, [A4], [], "a");
    expectAdd("1.1.0", w.host, b, c, [B4], [], "b");
    expect([succeedsIn(w.ctr, ["ping", "-c1", "-W2", bare(B4)]), succeedsIn(b, ["ping", "-c1", "-W2", bare(A4)])]).toEqual([true, true]);
    expectSilentSuccess(macvlan("DEL", w.host, w.ctr.path, c, "a"));
    expectSilentSuccess(macvlan("DEL", w.host, b.path, c, "b"));
    expect([linkNames(w.ctr), linkNames(b)]).toEqual([["lo"], ["lo"]]);
  });
});
