// ipvlan, Go reference (/usr/lib/cni/ipvlan with /usr/lib/cni/host-local, Debian's plugins v1.1.1) against ours (with
// our host-local), each in its own throwaway host netns (its "NIC" a veth pair m0/m0p, both up) with its own container
// netns and dataDir (SPEC-DIGEST §1.4).
//
// This machine's kernel has no ipvlan, so neither implementation can make one here, and no result or slave can be
// compared: the kernel VM case test/kernel-vm/cases/ipvlan.sh runs ours on a kernel that has it. What is compared here:
// the config errors both judge before they touch the kernel (same words), the ADD the kernel refuses (same words up to
// the kernel's ext-ack text, which ours adds, and nothing left by either), DEL of an attachment that has no link
// (IPAM DEL run, by either on the other's host-local reservation), and CHECK's complaints before the link is looked at.
// On a kernel with ipvlan the refused-ADD test skips, naming why.
//
// Masked, each at one place, and nothing else (badInput):
//   - ours answers code 7 (invalid network config) where Go says 999 for the config's own faults;
//   - with no master and no default route ours says `"master" is not set and no default route interface found`,
//     Go only the part after "and".
// Where v1.9.1 behaves otherwise and ours follows the issue instead (documented, checked on ours alone or shown side
// by side): Go does not judge the MTU (ours refuses one above the master's, code 7), and Go's DEL needs a master (with
// none configured it looks for the default route and fails without one; ours deletes).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cniEnv, GO, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { snapshotDir, sweepTempDirs, tempDir, type TempDir } from "../support/temp-dir.ts";
import { hostLocalConf, NET } from "../support/host-local.ts";
import { linkNames } from "../support/link-state.ts";
import { ipIn } from "../support/ns-exec.ts";
import { addNic, kindMissing } from "../support/lower-link.ts";

const TAG = "ivc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-ivc-`
const hasGo = existsSync(`${GO}/ipvlan`) && existsSync(`${GO}/host-local`);
const skip = !canUseNetns() || !hasGo || !existsSync(`${OURS}/ipvlan`);
if (skip) console.warn(`ipvlan conformance skipped: needs root, ${GO}/ipvlan and host-local, and our bin/ipvlan`);
/** Why this kernel cannot make ipvlan links (its RTM_NEWLINK error), or undefined when it can. */
const noIpvlan = skip ? undefined : kindMissing("ipvlan", `${TAG}-probe`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

type Impl = "go" | "ours";
const DIR: Record<Impl, string> = { go: GO, ours: OURS };
const IMPLS = ["go", "ours"] as const;

/** Runs one implementation's ipvlan as a runtime does; CNI_PATH is its own directory, so Go's finds Go's host-local. */
function call(impl: Impl, verb: string, host: TempNetns, netns: string, stdin: object, id = "ctr1"): Run {
  return runPlugin("ipvlan", { dir: DIR[impl], hostNetns: host.name, env: cniEnv(verb, netns, "eth0", id), stdin });
}

/** An ipvlan config on m0 with host-local on dataDir. */
function conf(version: string, dataDir: string, top: object = {}): Record<string, unknown> {
  return hostLocalConf(version, dataDir, {}, { type: "ipvlan", master: "m0", ...top });
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

/** What a failed call may not have left: the host's links as addNic made them, only lo in the container, no store. */
function untouched(s: Side) {
  return { host: linkNames(s.host).sort(), ctr: linkNames(s.ctr), store: snapshotDir(s.data.path) };
}
const PRISTINE = { host: ["lo", "m0", "m0p"], ctr: ["lo"], store: {} };

describe.skipIf(skip)("ipvlan: Go v1.1.1 vs ours", () => {
  describe("bad input: both fail with the same words before touching the kernel, neither leaves anything", () => {
    const prev = (interfaces: object[]) => ({ cniVersion: "1.0.0", interfaces, ips: [{ version: "4", address: "10.1.2.9/24", interface: 0 }] });
    const cases: Record<string, { stdin: (d: string) => object; go: string; ours: { code: number; msg: string } }> = {
      "unknown mode": { stdin: (d) => conf("1.0.0", d, { mode: "l4" }), go: 'unknown ipvlan mode: "l4"', ours: { code: 7, msg: 'unknown ipvlan mode: "l4"' } },
      "a master that does not exist": {
        stdin: (d) => conf("1.0.0", d, { master: "eth9" }), go: 'failed to lookup master "eth9": Link not found', ours: { code: 7, msg: 'failed to lookup master "eth9": Link not found' },
      },
      "no master and no default route": {
        stdin: (d) => conf("1.0.0", d, { master: undefined }), go: "no default route interface found",
        ours: { code: 7, msg: '"master" is not set and no default route interface found' },
      },
      "chained, prevResult with two interfaces and no master": {
        stdin: () => ({ cniVersion: "1.0.0", name: NET, type: "ipvlan", prevResult: prev([{ name: "m0" }, { name: "m0p" }]) }),
        go: "chained master failure. PrevResult lacks a single named interface",
        ours: { code: 7, msg: "chained master failure. PrevResult lacks a single named interface" },
      },
      "chained, prevResult's one interface is not a link": {
        stdin: () => ({ cniVersion: "1.0.0", name: NET, type: "ipvlan", prevResult: prev([{ name: "gone0" }]) }),
        go: 'failed to lookup master "gone0": Link not found',
        ours: { code: 7, msg: 'failed to lookup master "gone0": Link not found' },
      },
      "mode of the wrong type": {
        stdin: (d) => conf("1.0.0", d, { mode: 2 }),
        go: "failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.mode of type string",
        ours: { code: 999, msg: "failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.mode of type string" },
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      for (const impl of IMPLS) {
        using s = side(impl);
        const r = call(impl, "ADD", s.host, s.ctr.path, c.stdin(s.data.path));
        expect([impl, r.exitCode, r.json]).toEqual([impl, 1, impl === "go" ? { code: 999, msg: c.go } : c.ours]);
        expect([impl, untouched(s)]).toEqual([impl, PRISTINE]);
      }
    });
  });

  test.skipIf(noIpvlan === undefined)(
    `a valid ADD the kernel refuses (${noIpvlan ?? "this kernel has ipvlan: nothing to refuse"}): the same words, nothing left by either`,
    () => {
      for (const impl of IMPLS) {
        using s = side(impl);
        const r = call(impl, "ADD", s.host, s.ctr.path, conf("1.0.0", s.data.path));
        const go = "failed to create ipvlan: operation not supported";
        expect([impl, r.exitCode, r.json]).toEqual([impl, 1, { code: 999, msg: impl === "go" ? go : `${go}: Unknown device type` }]);
        expect([impl, untouched(s)]).toEqual([impl, PRISTINE]);
      }
    },
  );

  test("mtu above the master's: ours refuses it before anything is made (code 7); Go does not judge it", () => {
    using s = side("ours");
    const r = call("ours", "ADD", s.host, s.ctr.path, conf("1.0.0", s.data.path, { mtu: 9000 }));
    expect([r.exitCode, r.json]).toEqual([1, { code: 7, msg: "invalid MTU 9000, must be [0, master MTU(1500)]" }]);
    expect(untouched(s)).toEqual(PRISTINE);
  });

  describe("DEL without a link runs IPAM DEL, on either one's reservation", () => {
    test.each([
      ["go", "ours"],
      ["ours", "go"],
    ] as [Impl, Impl][])("%s host-local reserves, %s ipvlan DEL frees it (twice: success both times)", (reserver, deleter) => {
      using s = side(reserver);
      const c = conf("1.0.0", s.data.path);
      const add = runPlugin("host-local", { dir: DIR[reserver], hostNetns: s.host.name, env: cniEnv("ADD", s.ctr.path), stdin: c });
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(Object.keys(snapshotDir(s.data.path))).toContain(`${NET}/10.1.2.2`);
      for (let i = 0; i < 2; i++) {
        const del = call(deleter, "DEL", s.host, s.ctr.path, c);
        expect([deleter, i, del.exitCode, del.stdout]).toEqual([deleter, i, 0, ""]);
      }
      expect(Object.keys(snapshotDir(s.data.path))).not.toContain(`${NET}/10.1.2.2`);
    });

    test("with no master and no default route: Go's DEL fails looking for one, ours deletes (it needs none)", () => {
      const outcome: Record<string, unknown> = {};
      for (const impl of IMPLS) {
        using s = side(impl);
        ipIn(s.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
        const r = call(impl, "DEL", s.host, s.ctr.path, conf("1.0.0", s.data.path, { master: undefined }));
        outcome[impl] = { exitCode: r.exitCode, json: r.json, ctr: linkNames(s.ctr) };
      }
      expect(outcome).toEqual({
        go: { exitCode: 1, json: { code: 999, msg: "no default route interface found" }, ctr: ["lo", "x0", "eth0"] },
        ours: { exitCode: 0, json: undefined, ctr: ["lo"] },
      });
    });
  });

  test("CHECK without prevResult, and with another sandbox: the same words", () => {
    for (const impl of IMPLS) {
      using s = side(impl);
      const c = { cniVersion: "1.0.0", name: NET, type: "ipvlan", master: "m0" };
      const prevResult = { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: "/run/netns/elsewhere" }], ips: [{ address: "10.1.2.2/24", interface: 0 }] };
      expect([impl, call(impl, "CHECK", s.host, s.ctr.path, c).json]).toEqual([impl, { code: 999, msg: "Required prevResult missing" }]);
      expect([impl, call(impl, "CHECK", s.host, s.ctr.path, { ...c, prevResult }).json]).toEqual([
        impl, { code: 999, msg: `Sandbox in prevResult  doesn't match configured netns: ${s.ctr.path}` },
      ]);
    }
  });
});
