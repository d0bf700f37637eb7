// host-device, Go reference (/usr/lib/cni/host-device with /usr/lib/cni/host-local, Debian's plugins v1.1.1) against
// ours (with our host-local): the same config to both, each in its own throwaway host netns (holding the same "host
// NIC": a veth end with a fixed MAC and MTU) with its own container netns and dataDir, compared on the result JSON
// and the kernel state after ADD and after DEL; then each one's DEL undoing the other's ADD on one shared host
// netns, as on a node that switches implementations; then a PCI device on a fake sysfs, and error texts.
//
// Masked or set apart, each at one place, and nothing else:
//   - the sandbox path (each side has its own container netns) (maskResult);
//   - Go v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 and ours omit an empty dns (maskResult);
//   - Go v1.1.1's DEL leaves the alias on the device it moved back; v1.9.1 and ours clear it (hostAfterDel);
//   - Go v1.1.1's DEL is not idempotent (a second DEL fails "Link not found"); ours succeeds (SPEC-DIGEST §0.8);
//   - config errors are code 7 here where Go says 999 (same words); a missing device's message says which one;
//   - a 0.1.0/0.2.0 config without IPAM fails in both, but Go has moved the device first and leaves it there.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { buildFakeSysfs, devIn, devsIn, runWithSysfs, type DevState } from "../support/host-device.ts";
import { hostLocalConf, NET } from "../support/host-local.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { addrsOf, ipIn, routesIn } from "../support/ptp.ts";
import { cniEnv, GO, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { namesAndContents, snapshotDir, sweepTempDirs, tempDir, type TempDir } from "../support/temp-dir.ts";

const TAG = "hdc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-hdc-`
const hasGo = existsSync(`${GO}/host-device`) && existsSync(`${GO}/host-local`);
const skip = !canUseNetns() || !hasGo || !existsSync(`${OURS}/host-device`) || Bun.which("unshare") === null;
if (skip) console.warn(`host-device conformance skipped: needs root, ${GO}/host-device and host-local, unshare and our bin/host-device`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

type Impl = "go" | "ours";
const DIR: Record<Impl, string> = { go: GO, ours: OURS };

const D = `${RUN_PREFIX}d`;
const P = `${RUN_PREFIX}p`;
const MAC_D = "02:00:5e:00:0d:01";
const MAC_P = "02:00:5e:00:0d:0f";

/** The same host NIC on every side: D (fixed MAC, MTU 1400, up, with carrier) and its peer P (fixed MAC). */
function hostNic(host: TempNetns): void {
  ipIn(host, ["link", "add", D, "mtu", "1400", "address", MAC_D, "type", "veth", "peer", "name", P, "address", MAC_P]);
  ipIn(host, ["link", "set", P, "up"]);
  ipIn(host, ["link", "set", D, "up"]);
}

/** Runs one implementation as a runtime does; CNI_PATH is its own directory, so Go's finds Go's host-local. */
function call(impl: Impl, verb: string, host: TempNetns, netns: string, stdin: object, sysfs?: string): Run {
  const env = cniEnv(verb, netns, "eth0", "ctr1");
  if (sysfs) return runWithSysfs("host-device", { dir: DIR[impl], hostNetns: host.name, env, stdin, sysfs });
  return runPlugin("host-device", { dir: DIR[impl], hostNetns: host.name, env, stdin });
}

const IPAM = { ranges: [[{ subnet: "10.1.2.0/24" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "10.9.0.0/16", gw: "10.1.2.1" }] };

function conf(version: string, data: TempDir, withIpam: boolean, top: object = { device: D }): Record<string, unknown> {
  if (!withIpam) return { cniVersion: version, name: NET, type: "host-device", ...top };
  return hostLocalConf(version, data.path, IPAM, { type: "host-device", ...top });
}

/** Returns the result with the sandbox masked (after checking it) and Go v1.1.1's empty 1.x dns dropped. */
function maskResult(json: any, sandbox: string): any {
  const out = structuredClone(json);
  if (out && versionAtLeast(out.cniVersion, "1.0.0") && out.dns && Object.keys(out.dns).length === 0) delete out.dns;
  for (const itf of out?.interfaces ?? []) {
    expect(itf.sandbox).toBe(sandbox);
    itf.sandbox = "<sandbox>";
  }
  return out;
}

/** Everything an attachment changed: the container's devices, addresses and routes, and what the host kept. */
function stateOf(host: TempNetns, ctr: TempNetns) {
  const hasEth0 = devIn(ctr, "eth0") !== undefined;
  return {
    ctrDevs: devsIn(ctr),
    ctrAddrs: hasEth0 ? addrsOf(ctr, "eth0") : [],
    ctrRoutes: routesIn(ctr, 4),
    hostDevs: devsIn(host),
  };
}

/** The host's devices after a DEL, with the alias Go v1.1.1 leaves behind checked and set apart. */
function hostAfterDel(impl: Impl, host: TempNetns): DevState[] {
  return devsIn(host).map((d) => {
    if (d.ifname !== D) return d;
    const { alias, ...rest } = d;
    expect([impl, alias]).toEqual([impl, impl === "go" ? D : undefined]);
    return rest;
  });
}

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
  hostNic(host);
  return {
    host, ctr, data,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      data[Symbol.dispose]();
    },
  };
}

const CASES: [string, boolean][] = [
  ["0.3.0", false],
  ["0.3.1", false],
  ["0.4.0", false],
  ["1.0.0", false],
  ["0.2.0", true],
  ["0.3.1", true],
  ["0.4.0", true],
  ["1.0.0", true],
];

describe.skipIf(skip)("host-device: Go v1.1.1 vs ours", () => {
  test.each(CASES)("%s (IPAM: %p): same result, same kernel state after ADD and after DEL", (version, withIpam) => {
    using go = side("go");
    using ours = side("ours");
    const adds = { go: call("go", "ADD", go.host, go.ctr.path, conf(version, go.data, withIpam)), ours: call("ours", "ADD", ours.host, ours.ctr.path, conf(version, ours.data, withIpam)) };
    expect([adds.ours.exitCode, adds.ours.stderr]).toEqual([0, ""]);
    expect([adds.go.exitCode, adds.go.stderr]).toEqual([0, ""]);
    expect(maskResult(adds.ours.json, ours.ctr.path)).toEqual(maskResult(adds.go.json, go.ctr.path));
    expect(stateOf(ours.host, ours.ctr)).toEqual(stateOf(go.host, go.ctr));
    expect(devIn(ours.ctr, "eth0")).toMatchObject({ mac: MAC_D, alias: D, up: true }); // the comparison compared something
    expect(namesAndContents(snapshotDir(ours.data.path))).toEqual(namesAndContents(snapshotDir(go.data.path)));

    for (const [impl, s] of [["go", go], ["ours", ours]] as const) {
      const c = conf(version, s.data, withIpam);
      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: adds[impl].json } : c;
      if (versionAtLeast(version, "0.4.0")) expect([impl, call(impl, "CHECK", s.host, s.ctr.path, withPrev).stdout]).toEqual([impl, ""]);
      const del = call(impl, "DEL", s.host, s.ctr.path, withPrev);
      expect([impl, del.exitCode, del.stdout]).toEqual([impl, 0, ""]);
    }
    expect(hostAfterDel("ours", ours.host)).toEqual(hostAfterDel("go", go.host));
    expect(devsIn(ours.ctr)).toEqual(devsIn(go.ctr));
    expect(devsIn(ours.ctr)).toEqual([]);
    expect(namesAndContents(snapshotDir(ours.data.path))).toEqual(namesAndContents(snapshotDir(go.data.path)));

    // A second DEL: ours succeeds (nothing left to do); Go v1.1.1 cannot find the device any more.
    const again = (impl: Impl, s: Side) => call(impl, "DEL", s.host, s.ctr.path, conf(version, s.data, withIpam));
    expect(again("ours", ours).exitCode).toBe(0);
    expect(again("go", go).json).toEqual({ code: 999, msg: `failed to find "eth0": Link not found` });
  });

  test("0.2.0 without IPAM: both fail with the same words; Go has moved the device by then, ours refused first", () => {
    using go = side("go");
    using ours = side("ours");
    const goAdd = call("go", "ADD", go.host, go.ctr.path, conf("0.2.0", go.data, false));
    const ourAdd = call("ours", "ADD", ours.host, ours.ctr.path, conf("0.2.0", ours.data, false));
    expect(goAdd.json).toEqual({ code: 999, msg: "cannot convert: no valid IP addresses" });
    expect({ code: ourAdd.json.code, msg: ourAdd.json.msg }).toEqual(goAdd.json);
    expect(devIn(go.ctr, "eth0")).toMatchObject({ alias: D }); // upstream quirk: the error comes after the move
    expect([devIn(ours.ctr, "eth0"), devIn(ours.host, D)]).toEqual([undefined, { ifname: D, kind: "veth", mac: MAC_D, mtu: 1400, up: true }]);
  });

  describe("cross DEL on one host netns", () => {
    let host: TempNetns;
    let data: TempDir;
    beforeAll(() => {
      host = tempNetns(`${TAG}-xhost`);
      data = tempDir(`${TAG}-xdata`);
      hostNic(host);
    });
    afterAll(() => {
      host?.[Symbol.dispose]();
      data?.[Symbol.dispose]();
    });

    test.each([
      ["go", "ours"],
      ["ours", "go"],
    ] as [Impl, Impl][])("%s ADD, %s DEL (1.0.0, host-local, prevResult as a runtime sends it): the device is back in place", (adder, deleter) => {
      using ctr = tempNetns(`${TAG}-xctr`);
      ipIn(host, ["link", "set", D, "up"]);
      const c = conf("1.0.0", data, true);
      const add = call(adder, "ADD", host, ctr.path, c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(devsIn(ctr)).toEqual([{ ifname: "eth0", kind: "veth", mac: MAC_D, mtu: 1400, up: true, alias: D }]);
      const reserved = (add.json.ips as { address: string }[]).map((i) => `${NET}/${i.address.split("/")[0]}`);
      expect(Object.keys(snapshotDir(data.path))).toEqual(expect.arrayContaining(reserved));

      const del = call(deleter, "DEL", host, ctr.path, { ...c, prevResult: add.json });
      expect([del.exitCode, del.stdout, del.stderr]).toEqual([0, "", ""]);
      expect(devsIn(ctr)).toEqual([]);
      expect(hostAfterDel(deleter, host)).toEqual([
        { ifname: D, kind: "veth", mac: MAC_D, mtu: 1400, up: false },
        { ifname: P, kind: "veth", mac: MAC_P, mtu: 1500, up: true },
      ]);
      expect(addrsOf(host, D)).toEqual([]);
      expect(Object.keys(snapshotDir(data.path)).filter((n) => !/\/(lock|last_reserved_ip\.\d+)$/.test(n))).toEqual([NET]);
      // Go v1.1.1 leaves the alias: clear it so the next case starts from the same device.
      ipIn(host, ["link", "set", D, "alias", ""]);
    });
  });

  test("pciBusID on a fake sysfs (v1.1.1 knows PCI, not the auxiliary bus): same result and state", () => {
    using go = side("go");
    using ours = side("ours");
    using sys = tempDir(`${TAG}-sys`);
    const sysfs = buildFakeSysfs(sys.path, { pci: [{ addr: "0000:00:01.0", driver: "e1000e", net: [D] }] });
    const c = conf("1.0.0", go.data, false, { pciBusID: "0000:00:01.0" });
    const goAdd = call("go", "ADD", go.host, go.ctr.path, c, sysfs);
    const ourAdd = call("ours", "ADD", ours.host, ours.ctr.path, c, sysfs);
    expect([goAdd.exitCode, ourAdd.exitCode]).toEqual([0, 0]);
    expect(maskResult(ourAdd.json, ours.ctr.path)).toEqual(maskResult(goAdd.json, go.ctr.path));
    expect(stateOf(ours.host, ours.ctr)).toEqual(stateOf(go.host, go.ctr));
    for (const [impl, s] of [["go", go], ["ours", ours]] as const) expect([impl, call(impl, "DEL", s.host, s.ctr.path, c, sysfs).exitCode]).toEqual([impl, 0]);
    expect(hostAfterDel("ours", ours.host)).toEqual(hostAfterDel("go", go.host));
  });

  describe("errors: the same words (our code 7 for config errors where Go says 999)", () => {
    const cases: [string, object, 7 | 999][] = [
      ["no selector", {}, 7],
      ["device of the wrong type", { device: 7 }, 999],
      ["deviceID of the wrong type", { device: D, runtimeConfig: { deviceID: 1 } }, 999],
      ["runtimeConfig of the wrong type", { device: D, runtimeConfig: "x" }, 999],
      ["ipam.type of the wrong type", { device: D, ipam: { type: 3 } }, 999],
      ["hwaddr not a MAC", { hwaddr: "02:00:00" }, 7],
      ["kernelpath outside /sys/devices", { kernelpath: "/etc" }, 7],
      ["pciBusID of no device", { pciBusID: "0000:00:99.0" }, 999],
    ];
    test.each(cases)("%s", (_label, top, ourCode) => {
      using go = side("go");
      using ours = side("ours");
      const goRun = call("go", "ADD", go.host, go.ctr.path, conf("1.0.0", go.data, false, top));
      const ourRun = call("ours", "ADD", ours.host, ours.ctr.path, conf("1.0.0", ours.data, false, top));
      expect(goRun.json.code).toBe(999);
      expect(ourRun.json).toEqual({ code: ourCode, msg: goRun.json.msg });
      expect(stateOf(ours.host, ours.ctr)).toEqual(stateOf(go.host, go.ctr));
    });

    test("a device that does not exist: upstream's words, then which device", () => {
      using go = side("go");
      using ours = side("ours");
      const top = { device: "nosuchdev" };
      const goRun = call("go", "ADD", go.host, go.ctr.path, conf("1.0.0", go.data, false, top));
      const ourRun = call("ours", "ADD", ours.host, ours.ctr.path, conf("1.0.0", ours.data, false, top));
      expect(goRun.json).toEqual({ code: 999, msg: "failed to find host device: Link not found" });
      expect(ourRun.json).toEqual({ code: 999, msg: `${goRun.json.msg} ("device" is "nosuchdev")` });
    });
  });
});
