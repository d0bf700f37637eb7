// macvlan, Go reference (/usr/lib/cni/macvlan with /usr/lib/cni/host-local, Debian's plugins v1.1.1) against ours
// (with our host-local): the same config to both, each in its own throwaway host netns (its "NIC" a veth pair m0/m0p,
// made the same way so m0 has the same ifindex on both sides) with its own container netns and dataDir, compared on
// the result JSON, the macvlan as `ip -j -d` shows it, the container's addresses, routes and notify sysctls, the host
// side, and the store, through ADD, CHECK and DEL; then each one's DEL and CHECK on the other's ADD in one shared host
// netns and dataDir, as on a node that switches implementations; then bad input (SPEC-DIGEST §1.3).
//
// Masked, each at one place, and nothing else:
//   - the random parts: the macvlan's MAC (unless the config sets it) and the sandbox path (each side has its own
//     container netns);
//   - Go v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 (and ours) omit an empty dns (maskResult);
//   - net.ipv6.conf.eth0.ndisc_notify: v1.9.1 (and ours) set it to 1 with IPAM, v1.1.1 does not; checked on ours alone;
//   - bad input: ours answers code 7 (invalid network config) where Go says 999, and a missing master is
//     `failed to lookup master "<m>": Link not found` where Go says only `Link not found` (badInput below).
// Not compared: txqueuelen (v1.1.1 creates the macvlan with 0; v1.9.1 and ours leave the kernel's 1000); fields
// v1.1.1 lacks (bcqueuelen, linkInContainer, mode "source") are the integration tests' business.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cniEnv, GO, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { namesAndContents, snapshotDir, sweepTempDirs, tempDir, type TempDir } from "../support/temp-dir.ts";
import { hostLocalConf, NET } from "../support/host-local.ts";
import { addrsIn, linkNames, routesIn } from "../support/link-state.ts";
import { ipIn, sysctlIn } from "../support/ns-exec.ts";
import { MAC } from "../support/result.ts";
import { addNic, slaveIn } from "../support/lower-link.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "mvc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-mvc-`
const hasGo = existsSync(`${GO}/macvlan`) && existsSync(`${GO}/host-local`);
const skip = !canUseNetns() || !hasGo || !existsSync(`${OURS}/macvlan`);
if (skip) console.warn(`macvlan conformance skipped: needs root, ${GO}/macvlan and host-local, and our bin/macvlan`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

// IPv6 DAD makes a dual-stack ADD take 1-2 s; bun's default 5 s per test is too tight for a loaded machine.
const TIMEOUT_MS = 20_000;

type Impl = "go" | "ours";
const DIR: Record<Impl, string> = { go: GO, ours: OURS };

/** Runs one implementation's macvlan as a runtime does; CNI_PATH is its own directory, so Go's finds Go's host-local. */
function call(impl: Impl, verb: string, host: TempNetns, netns: string, stdin: object, id = "ctr1", cniArgs = ""): Run {
  return runPlugin("macvlan", { dir: DIR[impl], hostNetns: host.name, env: cniEnv(verb, netns, "eth0", id, cniArgs ? { CNI_ARGS: cniArgs } : {}), stdin });
}

/** A macvlan config on m0 with host-local on dataDir (`ipam: null`: layer 2). */
function conf(version: string, dataDir: string, top: object, ipam: object | null): Record<string, unknown> {
  const c = hostLocalConf(version, dataDir, ipam ?? {}, { type: "macvlan", master: "m0", ...top });
  if (ipam === null) delete c.ipam;
  return c;
}

/** Returns the result with its random parts masked (after checking their form) and Go v1.1.1's empty dns dropped. */
function maskResult(json: any, fixedMac: boolean): any {
  const out = structuredClone(json);
  if (out && versionAtLeast(out.cniVersion, "1.0.0") && out.dns && Object.keys(out.dns).length === 0) delete out.dns;
  for (const itf of out?.interfaces ?? []) {
    expect(itf.mac).toMatch(MAC);
    if (!fixedMac) itf.mac = "<mac>";
    itf.sandbox = "<sandbox>";
  }
  return out;
}

/** What one attachment made: the macvlan (its MAC masked unless fixed), addresses, routes, sysctls, the host's links. */
function stateOf(host: TempNetns, ctr: TempNetns, fixedMac: boolean, v6: boolean) {
  const slave = slaveIn(ctr, "eth0");
  expect(slave?.mac).toMatch(MAC);
  return {
    ctrLinks: linkNames(ctr),
    slave: slave && { ...slave, mac: fixedMac ? slave.mac : "<mac>" },
    addrs: addrsIn(ctr, "eth0", { broadcast: true, tentative: true }),
    routes4: routesIn(ctr, 4),
    routes6: v6 ? routesIn(ctr, 6) : [],
    arpNotify: sysctlIn(ctr, "net/ipv4/conf/eth0/arp_notify"),
    hostLinks: linkNames(host),
  };
}

/** One implementation's own throwaway world: a host netns with m0, a container netns, a dataDir. */
interface Side {
  host: TempNetns;
  ctr: TempNetns;
  data: TempDir;
  [Symbol.dispose](): void;
}
function side(impl: Impl): Side {
  const host = tempNetns(`${TAG}-${impl}host`);
  const ctr = tempNetns(`${TAG}-${impl}ctr`);
  const data = tempDir(`${TAG}-${impl}data`);
  addNic(host, "m0");
  return {
    host, ctr, data,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      data[Symbol.dispose]();
    },
  };
}

const V4 = { ranges: [[{ subnet: "10.1.2.0/24" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "10.9.0.0/16", gw: "10.1.2.1" }] };
const DUAL = { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }] };
const FIXED_MAC = "02:00:00:00:00:42";

// [version, label, top-level fields, ipam (null: layer 2), CNI_ARGS]
const CASES: [string, string, object, object | null, string][] = [
  ["0.2.0", "bridge mode, IPv4, routes", {}, V4, ""],
  ["0.3.1", "private mode, mtu 1400", { mode: "private", mtu: 1400 }, V4, ""],
  ["0.4.0", "vepa mode, dual stack", { mode: "vepa" }, DUAL, ""],
  ["1.0.0", "passthru mode, layer 2, dns", { mode: "passthru", dns: { nameservers: ["10.0.0.53"] } }, null, ""],
  ["1.0.0", "MAC from runtimeConfig over CNI_ARGS over mac", { mac: "02:00:00:00:00:01", runtimeConfig: { mac: FIXED_MAC } }, V4, "IgnoreUnknown=1;MAC=02:00:00:00:00:02"],
  ["1.0.0", "MAC from CNI_ARGS over mac", { mac: "02:00:00:00:00:01" }, V4, `IgnoreUnknown=1;MAC=${FIXED_MAC}`],
];

describe.skipIf(skip)("macvlan: Go v1.1.1 vs ours", () => {
  test.each(CASES)("%s %s: same result, same macvlan and container state, same store; CHECK; DEL undoes all", (version, _label, top, ipam, cniArgs) => {
    using go = side("go");
    using ours = side("ours");
    const fixedMac = JSON.stringify(top).includes(FIXED_MAC) || cniArgs.includes(FIXED_MAC);
    const v6 = ipam === DUAL;
    const adds = (["go", "ours"] as const).map((impl) => {
      const s = impl === "go" ? go : ours;
      const r = call(impl, "ADD", s.host, s.ctr.path, conf(version, s.data.path, top, ipam), "ctr1", cniArgs);
      expect([impl, r.exitCode, r.stderr]).toEqual([impl, 0, ""]);
      return r;
    });
    const [goAdd, ourAdd] = adds as [Run, Run];
    expect(maskResult(ourAdd.json, fixedMac)).toEqual(maskResult(goAdd.json, fixedMac));
    const ourState = stateOf(ours.host, ours.ctr, fixedMac, v6);
    expect(ourState).toEqual(stateOf(go.host, go.ctr, fixedMac, v6));
    expect(ourState.slave?.kind).toBe("macvlan"); // the comparison compared something
    if (fixedMac) expect(ourState.slave?.mac).toBe(FIXED_MAC);
    expect(sysctlIn(ours.ctr, "net/ipv6/conf/eth0/ndisc_notify")).toBe(ipam ? "1" : "0");
    expect(namesAndContents(snapshotDir(ours.data.path))).toEqual(namesAndContents(snapshotDir(go.data.path)));

    for (const [impl, s, r] of [["go", go, goAdd], ["ours", ours, ourAdd]] as const) {
      const c = conf(version, s.data.path, top, ipam);
      const withPrev = { ...c, prevResult: r.json };
      // v1.1.1's CHECK of a layer-2 attachment passes (its IPAM CHECK runs only with an IPAM type), as ours.
      if (versionAtLeast(version, "0.4.0")) expect([impl, call(impl, "CHECK", s.host, s.ctr.path, withPrev, "ctr1", cniArgs).stdout]).toEqual([impl, ""]);
      const del = call(impl, "DEL", s.host, s.ctr.path, versionAtLeast(version, "0.4.0") ? withPrev : c);
      expect([impl, del.exitCode, del.stdout]).toEqual([impl, 0, ""]);
    }
    const after = (s: Side) => ({ hostLinks: linkNames(s.host), ctrLinks: linkNames(s.ctr), store: Object.keys(snapshotDir(s.data.path)) });
    expect(after(ours)).toEqual(after(go));
    expect(after(ours).ctrLinks).toEqual(["lo"]);
  }, TIMEOUT_MS);

  describe("cross DEL and CHECK on one host netns and one dataDir", () => {
    let host: TempNetns;
    let data: TempDir;
    beforeAll(() => {
      host = tempNetns(`${TAG}-xhost`);
      data = tempDir(`${TAG}-xdata`);
      addNic(host, "m0");
    });
    afterAll(() => {
      host?.[Symbol.dispose]();
      data?.[Symbol.dispose]();
    });

    test.each([
      ["go", "ours"],
      ["ours", "go"],
    ] as [Impl, Impl][])("%s ADD, %s CHECK and DEL (1.0.0, host-local, prevResult as a runtime sends it)", (adder, other) => {
      using ctr = tempNetns(`${TAG}-xctr`);
      const id = `${adder}-added`;
      const c = conf("1.0.0", data.path, { mode: "private" }, V4);
      const add = call(adder, "ADD", host, ctr.path, c, id);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      const reserved = `${NET}/${(add.json.ips as { address: string }[])[0]!.address.split("/")[0]}`;
      expect(Object.keys(snapshotDir(data.path))).toContain(reserved);

      const withPrev = { ...c, prevResult: add.json };
      const check = call(other, "CHECK", host, ctr.path, withPrev, id);
      expect([check.exitCode, check.stdout]).toEqual([0, ""]);
      const del = call(other, "DEL", host, ctr.path, withPrev, id);
      expect([del.exitCode, del.stdout, del.stderr]).toEqual([0, "", ""]);
      expect(linkNames(ctr)).toEqual(["lo"]);
      expect(linkNames(host).sort()).toEqual(["lo", "m0", "m0p"]);
      expect(Object.keys(snapshotDir(data.path))).not.toContain(reserved);
    });
  });

  describe("bad input: both fail with the same words (ours code 7 where it is the config's fault), neither leaves anything", () => {
    const cases: Record<string, { top: object; setup?: (ctr: TempNetns) => void; go: string; ours: { code: number; msg: string } }> = {
      "unknown mode": { top: { mode: "bridged" }, go: 'unknown macvlan mode: "bridged"', ours: { code: 7, msg: 'unknown macvlan mode: "bridged"' } },
      "mtu above the master's": {
        top: { mtu: 9000 }, go: "invalid MTU 9000, must be [0, master MTU(1500)]", ours: { code: 7, msg: "invalid MTU 9000, must be [0, master MTU(1500)]" },
      },
      "a master that does not exist": { top: { master: "eth9" }, go: "Link not found", ours: { code: 7, msg: 'failed to lookup master "eth9": Link not found' } },
      "eth0 already in the container": {
        top: {},
        setup: (ctr) => ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]),
        go: 'failed to rename macvlan to "eth0": file exists',
        ours: { code: 999, msg: 'failed to rename macvlan to "eth0": file exists' },
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      for (const impl of ["go", "ours"] as const) {
        using s = side(impl);
        c.setup?.(s.ctr);
        const before = { host: linkNames(s.host), ctr: linkNames(s.ctr) };
        const r = call(impl, "ADD", s.host, s.ctr.path, conf("1.0.0", s.data.path, c.top, V4));
        expect([impl, r.exitCode, r.json]).toEqual([impl, 1, impl === "go" ? { code: 999, msg: c.go } : c.ours]);
        expect([impl, { host: linkNames(s.host), ctr: linkNames(s.ctr) }]).toEqual([impl, before]);
        expect([impl, snapshotDir(s.data.path)]).toEqual([impl, {}]);
      }
    });
  });
});
