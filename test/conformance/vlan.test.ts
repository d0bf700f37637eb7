// vlan, Go reference (/usr/lib/cni/vlan with /usr/lib/cni/host-local, Debian's plugins v1.1.1) against ours (with our
// host-local): the same input to both, each in its own throwaway host netns (a veth m0 as the master) with its own
// container netns and dataDir, compared on the error object, the links left in both netns and the store
// (SPEC-DIGEST §1.5). The build kernel lacks 8021q, so what is compared here is everything decided before the kernel
// is asked, and everything that fails the same way: config errors, the kernel's refusal, CHECK's complaints, DEL
// (with reservations made by each side's own host-local), and DEL across implementations on one dataDir. Where the
// kernel makes VLANs, ADD's result and the VLAN itself are compared too, and each one's DEL undoes the other's ADD.
//
// Masked, each at one place (maskError), and nothing else:
//   - the code of config errors: upstream returns plain errors (999); ours are typed (7, invalid network config);
//   - Go v1.1.1's `"master" field is required ... VLAN for.` ends with a period; v1.9.1 and ours have none;
//   - a missing master: Go says only "Link not found"; ours names the master and where it was looked for;
//   - the kernel's refusal: Go prints "operation not supported"; ours the netlink op, the kernel's ext-ack and a hint;
//   - the container netns path in the Sandbox complaint (each side has its own);
//   - Go v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 and ours omit an empty dns (kernel-VLAN test only).
// Deliberate differences, asserted as such: DEL with the master gone fails upstream (it reloads the full config) and
// succeeds here; linkInContainer does not exist in v1.1.1 (it ignores the key).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cniEnv, GO, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { namesAndContents, snapshotDir, sweepTempDirs, tempDir, type TempDir } from "../support/temp-dir.ts";
import { hostLocalConf, NET } from "../support/host-local.ts";
import { ipIn } from "../support/ptp.ts";
import { linkKindSupport } from "../support/link-kind.ts";
import { linkDetail, sortedLinkNames } from "../support/one-link.ts";

const TAG = "vlanc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-vlanc-`
const hasGo = existsSync(`${GO}/vlan`) && existsSync(`${GO}/host-local`);
const skip = !canUseNetns() || !hasGo || !existsSync(`${OURS}/vlan`) || !existsSync(`${OURS}/host-local`);
if (skip) console.warn(`vlan conformance skipped: needs root, ${GO}/vlan and host-local, and our bin/vlan and host-local`);
const kernel = skip ? { ok: false, reason: "needs root" } : linkKindSupport("vlan");
const NEEDS_VLAN = kernel.ok ? "" : ` (skipped: ${kernel.reason}; our side is covered in the kernel VM case test/kernel-vm/cases/vlan.sh)`;

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

type Impl = "go" | "ours";
const DIR: Record<Impl, string> = { go: GO, ours: OURS };
const IMPLS: Impl[] = ["go", "ours"];

/** A vlan network config on master m0, VLAN 100, host-local on dataDir (Go v1.1.1 speaks up to 1.0.0). */
function conf(dataDir: string, top: object = {}, version = "1.0.0"): Record<string, unknown> {
  return hostLocalConf(version, dataDir, {}, { type: "vlan", master: "m0", vlanId: 100, ...top });
}

/** One implementation's own throwaway world: a host netns with the master veth m0 (up), a container, a dataDir. */
interface Side {
  impl: Impl;
  host: TempNetns;
  ctr: TempNetns;
  data: TempDir;
  [Symbol.dispose](): void;
}
function side(impl: Impl): Side {
  const host = tempNetns(`${TAG}-${impl}host`);
  const ctr = tempNetns(`${TAG}-${impl}ctr`);
  const data = tempDir(`${TAG}-${impl}data`);
  ipIn(host, ["link", "add", "m0", "type", "veth", "peer", "name", "m0p"]);
  ipIn(host, ["link", "set", "m0", "up"]);
  ipIn(host, ["link", "set", "m0p", "up"]);
  return {
    impl, host, ctr, data,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      data[Symbol.dispose]();
    },
  };
}

/** Runs one implementation's vlan as a runtime does; CNI_PATH is its own directory, so Go's finds Go's host-local. */
function call(s: Side, verb: string, stdin: object, netns = s.ctr.path, plugin = "vlan"): Run {
  return runPlugin(plugin, { dir: DIR[s.impl], hostNetns: s.host.name, env: cniEnv(verb, netns), stdin });
}

/** Returns the outcome with the documented differences masked (see the header), so both sides compare equal. */
function maskError(s: Side, r: Run): unknown {
  if (r.exitCode === 0) return { exitCode: 0, stdout: r.stdout };
  const e = structuredClone(r.json) as { code: number; msg: string } | undefined;
  if (!e) return { exitCode: r.exitCode, stdout: r.stdout };
  if (e.code === 7 || e.code === 999) e.code = 999;
  e.msg = e.msg
    .replace(/VLAN for\.$/, "VLAN for")
    .replace(/^failed to lookup master "([^"]*)" in the (host|container) netns: link "[^"]*" not found$/, "Link not found")
    .replace(/^(failed to lookup master "[^"]*"): .*$/, "$1: <not found>")
    .replace(/^failed to create vlan: (RTM_NEWLINK: )?operation not supported.*$/i, "failed to create vlan: operation not supported")
    .replaceAll(s.ctr.path, "<netns>");
  return { exitCode: r.exitCode, error: e };
}

/** What a call left: the links of both netns and the store (names and contents). */
function stateOf(s: Side) {
  return { host: sortedLinkNames(s.host), ctr: sortedLinkNames(s.ctr), store: namesAndContents(snapshotDir(s.data.path)) };
}

/** Runs the same call on both sides and expects the same masked outcome and the same state after. */
function expectSame(verb: string, top: object, prepare?: (s: Side) => void): { go: Run; ours: Run } {
  using go = side("go");
  using ours = side("ours");
  const runs = {} as { go: Run; ours: Run };
  for (const s of [go, ours]) {
    prepare?.(s);
    runs[s.impl] = call(s, verb, conf(s.data.path, top));
  }
  expect(maskError(ours, runs.ours)).toEqual(maskError(go, runs.go));
  expect(stateOf(ours)).toEqual(stateOf(go));
  return runs;
}

/** Reserves an address for ctr1 with the side's own host-local, as its vlan ADD would have. */
function reserve(s: Side, c: object = conf(s.data.path)): void {
  const r = call(s, "ADD", c, s.ctr.path, "host-local");
  expect([s.impl, r.exitCode, r.stderr]).toEqual([s.impl, 0, ""]);
}

/** Returns the reservation files (`<net>/<ip>`) of the side's store. */
function reserved(s: Side): string[] {
  return Object.keys(snapshotDir(s.data.path)).filter((n) => /\/\d+\.\d+\.\d+\.\d+$/.test(n));
}

describe.skipIf(skip)("vlan: Go v1.1.1 vs ours", () => {
  describe("ADD with bad input: the same error (codes masked), nothing left on either side", () => {
    test.each([
      ["vlanId 5000", { vlanId: 5000 }],
      ["vlanId 4095", { vlanId: 4095 }],
      ["a negative vlanId", { vlanId: -1 }],
      ["mtu above the master's", { mtu: 1501 }],
      ["a negative mtu", { mtu: -1 }],
      ["no master", { master: undefined }],
      ["an empty master", { master: "" }],
      ["a master that does not exist", { master: "nosuch0" }],
      ["vlanId of the wrong type", { vlanId: "100" }],
      ["vlanId 1.5", { vlanId: 1.5 }],
      ["mtu of the wrong type", { mtu: "1400" }],
      ["master of the wrong type", { master: 7 }],
    ])("%s", (_label, top) => {
      const { go, ours } = expectSame("ADD", top);
      expect([go.exitCode, ours.exitCode]).toEqual([1, 1]);
    });

    test("the config codes really differ only as documented: Go 999, ours 7, same text", () => {
      const { go, ours } = expectSame("ADD", { vlanId: 5000 });
      expect([go.json, ours.json]).toEqual([
        { code: 999, msg: "invalid VLAN ID 5000 (must be between 0 and 4095 inclusive)" },
        { code: 7, msg: "invalid VLAN ID 5000 (must be between 0 and 4095 inclusive)" },
      ]);
    });
  });

  test.skipIf(kernel.ok)(`ADD where the kernel lacks 8021q: both fail creating the VLAN, before IPAM; nothing left (${kernel.reason || "kernel has it"})`, () => {
    const { go, ours } = expectSame("ADD", {});
    expect([go.json.msg, ours.json.msg]).toEqual(["failed to create vlan: operation not supported", expect.stringMatching(/^failed to create vlan: /)]);
  });

  describe("CHECK: the same complaints", () => {
    const prev = (s: Side, sandbox: string) => ({
      cniVersion: "1.0.0",
      interfaces: [{ name: "eth0", mac: linkDetail(s.ctr, "eth0")!.mac, sandbox }],
      ips: [{ address: "10.1.2.2/24", gateway: "10.1.2.1", interface: 0 }],
    });
    /** A reservation and a hand-made eth0 (a veth holding the address) in the container. */
    const handMade = (s: Side) => {
      reserve(s);
      ipIn(s.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      ipIn(s.ctr, ["addr", "add", "10.1.2.2/24", "dev", "eth0"]);
    };
    const checkWith = (top: (s: Side) => object) => {
      using go = side("go");
      using ours = side("ours");
      const out = [go, ours].map((s) => {
        handMade(s);
        return maskError(s, call(s, "CHECK", { ...conf(s.data.path), ...top(s) }));
      });
      expect(out[1]).toEqual(out[0]);
      expect(stateOf(ours)).toEqual(stateOf(go));
      return out[0];
    };

    test("nothing allocated: host-local's complaint", () => {
      expectSame("CHECK", {});
    });
    test("no prevResult", () => {
      expect(checkWith(() => ({}))).toEqual({ exitCode: 1, error: { code: 999, msg: "vlan: Required prevResult missing" } });
    });
    test("a prevResult for another netns", () => {
      expect(checkWith((s) => ({ prevResult: prev(s, "/run/netns/elsewhere") }))).toEqual({
        exitCode: 1, error: { code: 999, msg: "Sandbox in prevResult  doesn't match configured netns: <netns>" },
      });
    });
    test("a master that does not exist", () => {
      expect(checkWith((s) => ({ master: "nosuch0", prevResult: prev(s, s.ctr.path) }))).toEqual({
        exitCode: 1, error: { code: 999, msg: 'failed to lookup master "nosuch0": <not found>' },
      });
    });
    test("an eth0 that is no VLAN", () => {
      expect(checkWith((s) => ({ prevResult: prev(s, s.ctr.path) }))).toEqual({
        exitCode: 1, error: { code: 999, msg: "Error: Container interface eth0 not of type vlan" },
      });
    });
  });

  describe("DEL", () => {
    test.each([
      ["nothing was made in the container", (s: Side) => s.ctr.path],
      ["the netns is gone", (s: Side) => `${s.ctr.path}-gone`],
      ["CNI_NETNS is empty", () => ""],
    ])("%s: both succeed and free their reservation the same way", (_label, netnsOf) => {
      using go = side("go");
      using ours = side("ours");
      for (const s of [go, ours]) {
        reserve(s);
        const del = call(s, "DEL", conf(s.data.path), netnsOf(s));
        expect([s.impl, del.exitCode, del.stdout]).toEqual([s.impl, 0, ""]);
      }
      expect(stateOf(ours)).toEqual(stateOf(go));
      expect(Object.keys(stateOf(ours).store)).toEqual([NET, `${NET}/last_reserved_ip.0`, `${NET}/lock`]);
    });

    test("the master is gone: upstream fails (it reloads the config and looks the master up), ours frees the reservation", () => {
      using go = side("go");
      using ours = side("ours");
      for (const s of [go, ours]) {
        reserve(s);
        ipIn(s.host, ["link", "del", "m0"]);
      }
      const goDel = call(go, "DEL", conf(go.data.path));
      const ourDel = call(ours, "DEL", conf(ours.data.path));
      expect([goDel.exitCode, goDel.json]).toEqual([1, { code: 999, msg: "Link not found" }]);
      expect([ourDel.exitCode, ourDel.stdout]).toEqual([0, ""]);
      expect([reserved(go), reserved(ours)]).toEqual([[`${NET}/10.1.2.2`], []]);
    });

    describe("across implementations on one dataDir: each one's DEL frees what the other's host-local reserved", () => {
      let s: Side;
      beforeAll(() => {
        s = side("ours");
      });
      afterAll(() => s?.[Symbol.dispose]());

      test.each([
        ["go", "ours"],
        ["ours", "go"],
      ] as [Impl, Impl][])("%s reserves, %s DELs", (adder, deleter) => {
        const c = conf(s.data.path);
        const add = call({ ...s, impl: adder }, "ADD", c, s.ctr.path, "host-local");
        expect([add.exitCode, add.stderr]).toEqual([0, ""]);
        expect(reserved(s)).toEqual([`${NET}/${add.json.ips[0].address.split("/")[0]}`]);
        const del = call({ ...s, impl: deleter }, "DEL", c);
        expect([del.exitCode, del.stdout]).toEqual([0, ""]);
        expect(reserved(s)).toEqual([]);
      });
    });
  });

  describe.skipIf(!kernel.ok)(`where the kernel makes VLANs${NEEDS_VLAN}`, () => {
    /** The result with its MAC and sandbox masked and Go v1.1.1's empty dns dropped. */
    const maskResult = (json: any) => {
      const out = structuredClone(json);
      if (out?.dns && Object.keys(out.dns).length === 0) delete out.dns;
      for (const itf of out?.interfaces ?? []) {
        itf.mac = "<mac>";
        itf.sandbox = "<sandbox>";
      }
      return out;
    };
    const vlanState = (s: Side) => {
      const d = linkDetail(s.ctr, "eth0");
      return d && { ...d, mac: d.mac === linkDetail(s.host, "m0")!.mac ? "<master's>" : d.mac };
    };

    test.each(["0.3.1", "0.4.0", "1.0.0"])("%s: same result and VLAN; CHECK; DEL leaves the same nothing", (version) => {
      using go = side("go");
      using ours = side("ours");
      const adds = IMPLS.map((impl) => {
        const s = impl === "go" ? go : ours;
        const r = call(s, "ADD", conf(s.data.path, { mtu: 1400 }, version));
        expect([impl, r.exitCode, r.stderr]).toEqual([impl, 0, ""]);
        return r;
      });
      expect(maskResult(adds[1]!.json)).toEqual(maskResult(adds[0]!.json));
      expect(vlanState(ours)).toEqual(vlanState(go));
      expect(vlanState(ours)).toMatchObject({ kind: "vlan", vlanId: 100, mtu: 1400 });
      for (const [i, s] of [go, ours].entries()) {
        const withPrev = { ...conf(s.data.path, { mtu: 1400 }, version), prevResult: adds[i]!.json };
        if (version === "0.4.0" || version === "1.0.0") expect([s.impl, call(s, "CHECK", withPrev).stdout]).toEqual([s.impl, ""]);
        expect([s.impl, call(s, "DEL", withPrev).exitCode]).toEqual([s.impl, 0]);
      }
      expect(stateOf(ours)).toEqual(stateOf(go));
    });

    test.each([
      ["go", "ours"],
      ["ours", "go"],
    ] as [Impl, Impl][])("%s ADD, %s DEL on one host netns and dataDir: the VLAN and the reservation are gone", (adder, deleter) => {
      using s = side("ours");
      const c = conf(s.data.path);
      const add = call({ ...s, impl: adder }, "ADD", c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      const del = call({ ...s, impl: deleter }, "DEL", { ...c, prevResult: add.json });
      expect([del.exitCode, del.stdout]).toEqual([0, ""]);
      expect(sortedLinkNames(s.ctr)).toEqual(["lo"]);
      expect(reserved(s)).toEqual([]);
    });
  });
});
