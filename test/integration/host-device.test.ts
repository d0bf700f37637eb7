// host-device, ours (with our host-local as IPAM), run as a runtime runs it (env + stdin) inside a throwaway host
// netns whose "host NIC" is one end of a veth (or a macvlan on it), with a throwaway container netns. For every spec
// version: ADD moves the device in, renamed to CNI_IFNAME with its host name as alias, up, the result text byte for
// byte; CHECK; DEL moves it back under its name, alias cleared, down; DEL again. Then every selector (hwaddr,
// kernelpath on the real sysfs, pciBusID, runtimeConfig.deviceID on the PCI and auxiliary buses and DPDK drivers on
// a fake sysfs mounted over /sys for the one call), rollback after failed ADDs (name clash, IPAM failures), DEL's
// clash and retry, the DELs a runtime sends after the netns is gone, CHECK, STATUS and bad input (SPEC-DIGEST §1.6).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { ALL_VERSIONS, type Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { buildFakeSysfs, devIn, devsIn, hostDeviceResult, runWithSysfs, type DevState, type FakeAux, type FakePci } from "../support/host-device.ts";
import { hostLocalConf, lastReserved, NET, printed, reservation, storeWith } from "../support/host-local.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { addrsOf, ipIn, routesIn, waitFor } from "../support/ptp.ts";
import { cniEnv, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { snapshotDir, sweepTempDirs, tempDir } from "../support/temp-dir.ts";

const TAG = "hdi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-hdi-`
const missing = [
  ...["ip", "unshare", "mount"].filter((t) => Bun.which(t) === null),
  ...["host-device", "host-local"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`host-device integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

// The "host NIC" D is one end of a veth whose other end P stays in the host netns. Both start with the run prefix
// (RUN_PREFIX is at most 9 characters, so they fit in 15); D sorts before P and lo, which the kernelpath test uses.
const D = `${RUN_PREFIX}d`;
const P = `${RUN_PREFIX}p`;
const MAC_D = "02:00:5e:00:0d:01";
const MTU = 1400;
const A4 = { address: "10.1.2.2/24", gateway: "10.1.2.1" };
const DEFAULT: Route[] = [{ dst: "0.0.0.0/0" }];

/**
 * Creates D (MAC_D, MTU, up unless said otherwise, with an alias if given) and its peer P in the host netns. P is up,
 * so D has carrier wherever it goes, as a cabled NIC would.
 */
function hostNic(host: TempNetns, opts: { up?: boolean; alias?: string } = {}): DevState {
  ipIn(host, ["link", "add", D, "mtu", String(MTU), "address", MAC_D, "type", "veth", "peer", "name", P]);
  ipIn(host, ["link", "set", P, "up"]);
  if (opts.up ?? true) ipIn(host, ["link", "set", D, "up"]);
  if (opts.alias) ipIn(host, ["link", "set", D, "alias", opts.alias]);
  return devIn(host, D)!;
}

/** D as it looks back in the host after DEL: same MAC and MTU, down, no alias. */
const D_BACK: DevState = { ifname: D, kind: "veth", mac: MAC_D, mtu: MTU, up: false };
/** D as it looks in the container after ADD. */
const inCtr = (ifname = "eth0", kind = "veth", mac = MAC_D): DevState => ({ ifname, kind, mac, mtu: MTU, up: true, alias: D });

function conf(version: string, top: object = { device: D }): Record<string, unknown> {
  return { cniVersion: version, name: NET, type: "host-device", ...top };
}
function confIpam(version: string, dataDir: string, ipam: object = {}, top: object = { device: D }): Record<string, unknown> {
  return hostLocalConf(version, dataDir, { routes: DEFAULT, ...ipam }, { type: "host-device", ...top });
}

/** Runs our host-device once with a runtime's env inside the host netns (with a fake /sys when given). */
function hd(verb: string, host: TempNetns, netns: string, stdin: object | string, opts: { ifname?: string; sysfs?: string } = {}): Run {
  const env = cniEnv(verb, netns, opts.ifname ?? "eth0", "ctr1");
  if (opts.sysfs) return runWithSysfs("host-device", { hostNetns: host.name, env, stdin, sysfs: opts.sysfs });
  return runPlugin("host-device", { hostNetns: host.name, env, stdin });
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

function expectError(r: Run, code: number, msg: string | RegExp): void {
  expect({ exitCode: r.exitCode, code: r.json?.code, msg: r.json?.msg }).toEqual({
    exitCode: 1, code, msg: msg instanceof RegExp ? expect.stringMatching(msg) : msg,
  });
}

/** Runs ADD, checks it succeeded silently on stderr, and returns the parsed result. */
function expectAdd(host: TempNetns, ctr: TempNetns, c: object, opts: { ifname?: string; sysfs?: string } = {}): any {
  const add = hd("ADD", host, ctr.path, c, opts);
  expect([add.exitCode, add.stderr, add.json?.msg]).toEqual([0, "", undefined]);
  return add.json;
}

/** The store of NET holding A4 for ctr1, and after DEL (the round-robin bookmark stays). */
const storeHolding = () => storeWith({ "10.1.2.2": reservation("ctr1"), "last_reserved_ip.0": lastReserved("10.1.2.2") });
const storeFreed = () => storeWith({ "last_reserved_ip.0": lastReserved("10.1.2.2") });

const P_STATE = (host: TempNetns): DevState => devIn(host, P)!;

describe.skipIf(skip)("host-device", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    test("without IPAM: ADD moves the device in renamed, alias = host name, up; CHECK; DEL restores it; DEL again", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const peer = P_STATE(host);
      const c = conf(version);
      if (!versionAtLeast(version, "0.3.0")) {
        // A result without addresses has no 0.1/0.2 form: refused before anything moves (upstream moves it first).
        expectError(hd("ADD", host, ctr.path, c), 999, "cannot convert: no valid IP addresses");
        expect(devsIn(host)).toEqual([{ ...D_BACK, up: true }, peer]);
        expect(devsIn(ctr)).toEqual([]);
        expectSilentSuccess(hd("DEL", host, ctr.path, c));
        expect(devsIn(host)).toEqual([{ ...D_BACK, up: true }, peer]);
        return;
      }
      const add = hd("ADD", host, ctr.path, c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(add.stdout).toBe(printed(hostDeviceResult(version, { name: "eth0", mac: MAC_D, sandbox: ctr.path })));
      expect(devsIn(ctr)).toEqual([inCtr()]);
      expect(devsIn(host)).toEqual([peer]);

      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: add.json } : c;
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(hd("CHECK", host, ctr.path, withPrev));

      expectSilentSuccess(hd("DEL", host, ctr.path, withPrev));
      expect(devsIn(host)).toEqual([D_BACK, peer]);
      expect(devsIn(ctr)).toEqual([]);
      expectSilentSuccess(hd("DEL", host, ctr.path, withPrev));
      expect(devsIn(host)).toEqual([D_BACK, peer]);
    });

    test("with host-local: the device gets the address and routes; DEL frees the reservation and the device comes back bare", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      hostNic(host);
      const c = confIpam(version, data.path);
      const add = hd("ADD", host, ctr.path, c);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(add.stdout).toBe(printed(hostDeviceResult(version, { name: "eth0", mac: MAC_D, sandbox: ctr.path }, [A4], DEFAULT)));
      expect(devsIn(ctr)).toEqual([inCtr()]);
      expect(addrsOf(ctr, "eth0")).toEqual([{ family: "inet", local: "10.1.2.2", prefixlen: 24 }]);
      expect(routesIn(ctr, 4)).toEqual([
        { dst: "10.1.2.0/24", dev: "eth0", protocol: "kernel", scope: "link", prefsrc: "10.1.2.2" },
        { dst: "default", gateway: "10.1.2.1", dev: "eth0" },
      ]);
      expect(snapshotDir(data.path)).toEqual(storeHolding());

      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: add.json } : c;
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(hd("CHECK", host, ctr.path, withPrev));
      expectSilentSuccess(hd("DEL", host, ctr.path, withPrev));
      expect(devIn(host, D)).toEqual(D_BACK);
      expect(addrsOf(host, D)).toEqual([]); // a move between namespaces flushes addresses
      expect(devsIn(ctr)).toEqual([]);
      expect(snapshotDir(data.path)).toEqual(storeFreed());
      expectSilentSuccess(hd("DEL", host, ctr.path, withPrev));
      expect(snapshotDir(data.path)).toEqual(storeFreed());
    });
  });

  test("1.1.0 dual stack: both families on the moved device, IPv6 settled (DAD) before ADD returns; DEL flushes them", () => {
    using host = tempNetns(`${TAG}-host`);
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    hostNic(host);
    const routes = [{ dst: "0.0.0.0/0" }, { dst: "::/0" }];
    const c = confIpam("1.1.0", data.path, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]], routes });
    const add = hd("ADD", host, ctr.path, c);
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    const A6 = { address: "fd00:1::2/64", gateway: "fd00:1::1" };
    expect(add.stdout).toBe(printed(hostDeviceResult("1.1.0", { name: "eth0", mac: MAC_D, sandbox: ctr.path }, [A4, A6], routes)));
    expect(addrsOf(ctr, "eth0")).toEqual([
      { family: "inet", local: "10.1.2.2", prefixlen: 24 },
      { family: "inet6", local: "fd00:1::2", prefixlen: 64 }, // no `tentative`: DAD is over
    ]);
    expect(routesIn(ctr, 6).filter((r) => r.dst === "default")).toEqual([{ dst: "default", gateway: "fd00:1::1", dev: "eth0", metric: 1024 }]);
    expectSilentSuccess(hd("CHECK", host, ctr.path, { ...c, prevResult: add.json }));
    expectSilentSuccess(hd("DEL", host, ctr.path, { ...c, prevResult: add.json }));
    expect(devIn(host, D)).toEqual(D_BACK);
    expect(addrsOf(host, D)).toEqual([]);
  }, 20_000);

  describe("selecting the device (1.1.0)", () => {
    /** ADD with config top, check D went in and came back, with the fake sysfs when given. */
    function roundTrip(top: object, sysfs?: string, ifname = "net1"): void {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const c = conf("1.1.0", top);
      const result = expectAdd(host, ctr, c, { sysfs, ifname });
      expect(result.interfaces).toEqual([{ name: ifname, mac: MAC_D, sandbox: ctr.path }]);
      expect(devsIn(ctr)).toEqual([inCtr(ifname)]);
      expect(devIn(host, D)).toBeUndefined();
      expectSilentSuccess(hd("CHECK", host, ctr.path, { ...c, prevResult: result }, { sysfs, ifname }));
      expectSilentSuccess(hd("DEL", host, ctr.path, c, { sysfs, ifname }));
      expect(devIn(host, D)).toEqual(D_BACK);
      expect(devsIn(ctr)).toEqual([]);
      expectSilentSuccess(hd("DEL", host, ctr.path, c, { sysfs, ifname }));
    }

    /** A fake /sys with these devices, removed with the test's directory. */
    function fakeSys(data: { path: string }, spec: { pci?: FakePci[]; aux?: FakeAux[] }): string {
      return buildFakeSysfs(data.path, spec);
    }

    test("hwaddr, in any case Go accepts", () => roundTrip({ hwaddr: MAC_D.toUpperCase() }));

    test("kernelpath: the first device under <kernelpath>/net of the real sysfs (ip netns exec mounts the host netns's)", () => {
      roundTrip({ kernelpath: "/sys/devices/virtual" });
    });

    test("pciBusID: the device under /sys/bus/pci/devices/<addr>/net", () => {
      using data = tempDir(`${TAG}-sys`);
      roundTrip({ pciBusID: "0000:00:01.0" }, fakeSys(data, { pci: [{ addr: "0000:00:01.0", driver: "e1000e", net: [D] }] }));
    });

    test("pciBusID of a virtio-net function: the device one level down, under virtio*/net", () => {
      using data = tempDir(`${TAG}-sys`);
      roundTrip({ pciBusID: "0000:00:02.0" }, fakeSys(data, { pci: [{ addr: "0000:00:02.0", driver: "virtio-pci", virtioNet: [D] }] }));
    });

    test("kernelpath on a fake PCI device", () => {
      using data = tempDir(`${TAG}-sys`);
      roundTrip({ kernelpath: "/sys/devices/pci0000:00/0000:00:01.0" }, fakeSys(data, { pci: [{ addr: "0000:00:01.0", driver: "e1000e", net: [D] }] }));
    });

    test("runtimeConfig.deviceID of a PCI device overrides pciBusID", () => {
      using data = tempDir(`${TAG}-sys`);
      const sys = fakeSys(data, { pci: [{ addr: "0000:00:01.0", driver: "e1000e", net: [D] }, { addr: "0000:00:09.0", driver: "e1000e", net: ["other0"] }] });
      roundTrip({ pciBusID: "0000:00:09.0", runtimeConfig: { deviceID: "0000:00:01.0" } }, sys);
    });

    test("runtimeConfig.deviceID of an auxiliary-bus device (SR-IOV sub-function)", () => {
      using data = tempDir(`${TAG}-sys`);
      const sys = fakeSys(data, { pci: [{ addr: "0000:00:01.0", driver: "mlx5_core", net: ["other0"] }], aux: [{ name: "mlx5_core.sf.4", parentPci: "0000:00:01.0", net: [D] }] });
      roundTrip({ runtimeConfig: { deviceID: "mlx5_core.sf.4" } }, sys);
    });

    test("device wins over the other selectors (upstream's order)", () => {
      roundTrip({ device: D, hwaddr: "02:00:00:00:00:99", kernelpath: "/sys/devices/nowhere" });
    });

    test("a macvlan on the host NIC moves too, and comes back on DEL", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const M = `${RUN_PREFIX}m`;
      ipIn(host, ["link", "add", M, "link", P, "address", "02:00:5e:00:0d:02", "type", "macvlan", "mode", "bridge"]); // MTU of P: 1500
      const c = conf("1.1.0", { device: M });
      const result = expectAdd(host, ctr, c);
      expect(result.interfaces).toEqual([{ name: "eth0", mac: "02:00:5e:00:0d:02", sandbox: ctr.path }]);
      expect(devIn(ctr, "eth0")).toEqual({ ifname: "eth0", kind: "macvlan", mac: "02:00:5e:00:0d:02", mtu: 1500, up: true, alias: M });
      expectSilentSuccess(hd("DEL", host, ctr.path, c));
      expect(devIn(host, M)).toEqual({ ifname: M, kind: "macvlan", mac: "02:00:5e:00:0d:02", mtu: 1500, up: false });
      expect(devsIn(ctr)).toEqual([]);
    });
  });

  describe("DPDK: a PCI device bound to a userspace driver is left alone", () => {
    test.each(["vfio-pci", "uio_pci_generic", "igb_uio"])("%s without IPAM: result names CNI_IFNAME only, nothing moves", (driver) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-sys`);
      hostNic(host);
      const before = devsIn(host);
      const sysfs = buildFakeSysfs(data.path, { pci: [{ addr: "0000:00:03.0", driver }] });
      const c = conf("1.1.0", { pciBusID: "0000:00:03.0" });
      const add = hd("ADD", host, ctr.path, c, { sysfs });
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(add.stdout).toBe(printed(hostDeviceResult("1.1.0", { name: "eth0", sandbox: ctr.path })));
      expect([devsIn(host), devsIn(ctr)]).toEqual([before, []]);
      expectSilentSuccess(hd("CHECK", host, ctr.path, { ...c, prevResult: add.json }, { sysfs }));
      expectSilentSuccess(hd("DEL", host, ctr.path, c, { sysfs }));
      expect([devsIn(host), devsIn(ctr)]).toEqual([before, []]);
    });

    test("vfio-pci via runtimeConfig.deviceID with host-local: addresses reserved and reported, nothing configured", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      using sys = tempDir(`${TAG}-sys`);
      const sysfs = buildFakeSysfs(sys.path, { pci: [{ addr: "0000:00:03.0", driver: "vfio-pci" }] });
      const c = confIpam("1.1.0", data.path, {}, { runtimeConfig: { deviceID: "0000:00:03.0" } });
      const add = hd("ADD", host, ctr.path, c, { sysfs });
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(add.stdout).toBe(printed(hostDeviceResult("1.1.0", { name: "eth0", sandbox: ctr.path }, [A4], DEFAULT)));
      expect(devsIn(ctr)).toEqual([]);
      expect(snapshotDir(data.path)).toEqual(storeHolding());
      expectSilentSuccess(hd("CHECK", host, ctr.path, { ...c, prevResult: add.json }, { sysfs }));
      expectSilentSuccess(hd("DEL", host, ctr.path, c, { sysfs }));
      expect(snapshotDir(data.path)).toEqual(storeFreed());
    });
  });

  describe("a failed ADD puts the device back: name, up state, alias", () => {
    test("the container already has CNI_IFNAME: EEXIST on the move in; both devices untouched", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const before = hostNic(host, { alias: "set by hand" });
      ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      const ctrBefore = devsIn(ctr);
      expectError(hd("ADD", host, ctr.path, conf("1.1.0")), 999, new RegExp(`^failed to move link failed to move "eth0" \\(host: "${D}"\\) to container NS: file exists`));
      expect(devIn(host, D)).toEqual(before);
      expect(before).toMatchObject({ up: true, alias: "set by hand" });
      expect(devsIn(ctr)).toEqual(ctrBefore);
    });

    test("CNI_IFNAME lo: the rename in the temporary netns fails; the device comes back down as it was", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const before = hostNic(host, { up: false });
      expectError(hd("ADD", host, ctr.path, conf("1.1.0"), { ifname: "lo" }), 999, `failed to move link failed to rename host device "${D}" to "lo": file exists`);
      expect(devIn(host, D)).toEqual(before);
      expect(devsIn(ctr)).toEqual([]);
    });

    test("a route IPAM asks for cannot be added: reservation released, device back (upstream leaves it in the container)", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const before = hostNic(host);
      const r = hd("ADD", host, ctr.path, confIpam("1.1.0", data.path, { routes: [{ dst: "10.9.0.0/16", gw: "192.168.77.1" }] }));
      expectError(r, 999, /^failed to add route/);
      expect(devIn(host, D)).toEqual(before);
      expect(addrsOf(host, D)).toEqual([]);
      expect(devsIn(ctr)).toEqual([]);
      expect(snapshotDir(data.path)).toEqual(storeFreed());
    });

    test("the IPAM plugin is not on CNI_PATH: device back", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const before = hostNic(host);
      expectError(hd("ADD", host, ctr.path, conf("1.1.0", { device: D, ipam: { type: "no-such-ipam" } })), 999, /no-such-ipam/);
      expect(devIn(host, D)).toEqual(before);
      expect(devsIn(ctr)).toEqual([]);
    });

    test("no such device, no such MAC, no net directory: errors, nothing moves", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-sys`);
      hostNic(host);
      const before = devsIn(host);
      const sysfs = buildFakeSysfs(data.path, { pci: [{ addr: "0000:00:01.0", driver: "e1000e" }, { addr: "0000:00:02.0", driver: "e1000e", net: ["gone0"] }] });
      expectError(hd("ADD", host, ctr.path, conf("1.1.0", { device: "nosuchdev" })), 999, `failed to find host device: Link not found ("device" is "nosuchdev")`);
      expectError(hd("ADD", host, ctr.path, conf("1.1.0", { hwaddr: "02:00:00:00:00:99" })), 999, /^failed to find host device: failed to find physical interface/);
      expectError(hd("ADD", host, ctr.path, conf("1.1.0", { pciBusID: "0000:00:01.0" }), { sysfs }), 999, "failed to find host device: no net directory under pci device 0000:00:01.0");
      expectError(hd("ADD", host, ctr.path, conf("1.1.0", { pciBusID: "0000:00:02.0" }), { sysfs }), 999, /^failed to find host device: Link not found \("gone0" under/);
      expect([devsIn(host), devsIn(ctr)]).toEqual([before, []]);
    });
  });

  describe("DEL", () => {
    test("the host has a new device with the original name: error, device stays in the container as it was; DEL again once it is gone", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const c = conf("1.1.0");
      expectAdd(host, ctr, c);
      ipIn(host, ["link", "add", D, "type", "veth", "peer", "name", `${RUN_PREFIX}q`]);
      expectError(hd("DEL", host, ctr.path, c), 999, new RegExp(`^failed to move "${D}" to hostNS: file exists`));
      expect(devsIn(ctr)).toEqual([inCtr()]);
      ipIn(host, ["link", "del", D]);
      expectSilentSuccess(hd("DEL", host, ctr.path, c));
      expect(devIn(host, D)).toEqual(D_BACK);
      expect(devsIn(ctr)).toEqual([]);
    });

    test("a container device without alias is not ours to move: upstream's error, untouched", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      const before = devsIn(ctr);
      expectError(hd("DEL", host, ctr.path, conf("1.1.0")), 999, `failed to find original ifname for "eth0" (alias is not set)`);
      expect(devsIn(ctr)).toEqual(before);
    });

    // The kernel destroys a netns asynchronously once its last reference is gone. Virtual devices die with it (a
    // veth takes its peer along, a macvlan leaves its lower device); a physical NIC would instead return to the
    // initial netns, still named CNI_IFNAME with the alias set, where no DEL can tell it from the host's own.
    test("the netns is gone and the veth with it (its peer too): success, reservation freed", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      const ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const c = confIpam("1.1.0", data.path);
      const result = expectAdd(host, ctr, c);
      ctr[Symbol.dispose]();
      waitFor(() => devIn(host, P) === undefined, "the veth to go with its netns");
      expectSilentSuccess(hd("DEL", host, ctr.path, { ...c, prevResult: result }));
      expect(devsIn(host)).toEqual([]);
      expect(snapshotDir(data.path)).toEqual(storeFreed());
    });

    test("the netns is gone with a macvlan in it: the macvlan dies, its lower device stays; success", () => {
      using host = tempNetns(`${TAG}-host`);
      const ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const M = `${RUN_PREFIX}m`;
      ipIn(host, ["link", "add", M, "link", P, "type", "macvlan", "mode", "bridge"]);
      const c = conf("1.1.0", { device: M });
      expectAdd(host, ctr, c);
      ctr[Symbol.dispose]();
      waitFor(() => !existsSync(ctr.path), "the netns to go");
      expectSilentSuccess(hd("DEL", host, ctr.path, c));
      expect(devsIn(host).map((d) => d.ifname)).toEqual([D, P]);
    });

    test("empty CNI_NETNS (containerd): IPAM DEL only; the device stays where it is", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      hostNic(host);
      const c = confIpam("1.1.0", data.path);
      const result = expectAdd(host, ctr, c);
      expectSilentSuccess(hd("DEL", host, "", { ...c, prevResult: result }));
      expect(snapshotDir(data.path)).toEqual(storeFreed());
      expect(devsIn(ctr)).toEqual([inCtr()]);
    });
  });

  describe("CHECK (1.1.0)", () => {
    test("a MAC that differs, a device that is gone, a sandbox that differs, no prevResult: upstream's errors", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const c = conf("1.1.0");
      const result = expectAdd(host, ctr, c);
      const other = { ...result, interfaces: [{ ...result.interfaces[0], mac: "02:00:00:00:00:99" }] };
      expectError(hd("CHECK", host, ctr.path, { ...c, prevResult: other }), 999, `Interface eth0 Mac 02:00:00:00:00:99 doesn't match container Mac: ${MAC_D}`);
      const elsewhere = { ...result, interfaces: [{ ...result.interfaces[0], sandbox: "/run/netns/elsewhere" }] };
      expectError(hd("CHECK", host, ctr.path, { ...c, prevResult: elsewhere }), 999, `Sandbox in prevResult  doesn't match configured netns: ${ctr.path}`);
      expectError(hd("CHECK", host, ctr.path, c), 999, "Required prevResult missing");
      ipIn(ctr, ["link", "set", "eth0", "down"]);
      ipIn(ctr, ["link", "set", "eth0", "name", "eth9"]);
      expectError(hd("CHECK", host, ctr.path, { ...c, prevResult: result }), 999, "Container Interface name in prevResult: eth0 not found");
    });

    test("an address that is gone fails the IP check", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      hostNic(host);
      const c = confIpam("1.1.0", data.path);
      const result = expectAdd(host, ctr, c);
      ipIn(ctr, ["addr", "del", "10.1.2.2/24", "dev", "eth0"]);
      expectError(hd("CHECK", host, ctr.path, { ...c, prevResult: result }), 999, "Failed to match addr 10.1.2.2/24 on interface eth0");
    });
  });

  describe("STATUS (1.1.0)", () => {
    test("without IPAM: success; the device is not looked at, nor sysfs for a deviceID", () => {
      using host = tempNetns(`${TAG}-host`);
      expectSilentSuccess(runPlugin("host-device", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", { device: "nosuchdev" }) }));
      expectSilentSuccess(runPlugin("host-device", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", { runtimeConfig: { deviceID: "0000:00:99.0" } }) }));
    });

    test("with host-local: its answer (success, or code 50 when the store cannot be written)", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      expectSilentSuccess(runPlugin("host-device", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: confIpam("1.1.0", data.path) }));
      writeFileSync(`${data.path}/file`, "");
      const r = runPlugin("host-device", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: confIpam("1.1.0", `${data.path}/file/sub`) });
      expectError(r, 50, `host-local: cannot store reservations in ${JSON.stringify(`${data.path}/file/sub/${NET}`)}`);
    });
  });

  describe("bad input: the right code, a message naming the field, nothing moved", () => {
    const cases: [string, object, number, string | RegExp][] = [
      ["no selector", {}, 7, `specify either "device", "hwaddr", "kernelpath" or "pciBusID"`],
      ["kernelpath outside /sys/devices", { kernelpath: "/etc" }, 7, `failed to find host device: kernel device path "/etc" must be absolute and begin with /sys/devices/`],
      ["hwaddr not a MAC", { hwaddr: "02:00:00" }, 7, `failed to find host device: failed to parse MAC address "02:00:00": address 02:00:00: invalid MAC address`],
      ["deviceID on no bus", { device: D, runtimeConfig: { deviceID: "0000:00:99.0" } }, 7, "runtime config DeviceID 0000:00:99.0 not found or unsupported"],
      ["pciBusID of no device", { pciBusID: "0000:00:99.0" }, 999, "error with host device: lstat /sys/bus/pci/devices/0000:00:99.0: no such file or directory"],
      ["device of the wrong type", { device: 7 }, 999, "failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.device of type string"],
    ];
    test.each(cases)("%s", (_label, top, code, msg) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      hostNic(host);
      const before = devsIn(host);
      expectError(hd("ADD", host, ctr.path, conf("1.1.0", top)), code, msg);
      expect([devsIn(host), devsIn(ctr)]).toEqual([before, []]);
    });

    test("a container netns that does not exist: upstream's error on ADD and CHECK; DEL succeeds", () => {
      using host = tempNetns(`${TAG}-host`);
      hostNic(host);
      const before = devsIn(host);
      const gone = `/run/netns/${RUN_PREFIX}-${TAG}-nonexistent`;
      const msg = `failed to open netns "${gone}": failed to Statfs "${gone}": no such file or directory`;
      expectError(hd("ADD", host, gone, conf("1.1.0")), 999, msg);
      expectError(hd("CHECK", host, gone, { ...conf("1.1.0"), prevResult: { cniVersion: "1.1.0" } }), 999, msg);
      expectSilentSuccess(hd("DEL", host, gone, conf("1.1.0")));
      expect(devsIn(host)).toEqual(before);
    });
  });
});
