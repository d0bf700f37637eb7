// plugins/host-device/sysfs.test.ts: the sysfs lookups on a fake tree laid out as the kernel's (no root): which bus
// a deviceID is on, DPDK drivers, PCI (and virtio-net) net directories, kernelpath and auxiliary devices, and the
// first netdev name in Go's order, each failure with upstream's words.
import { afterAll, describe, expect, test } from "bun:test";
import { mkdirSync, rmSync, symlinkSync } from "node:fs";
import { buildFakeSysfs } from "../../test/support/host-device.ts";
import { sweepTempDirs, tempDir } from "../../test/support/temp-dir.ts";
import { RUN_PREFIX } from "../../test/support/netns.ts";
import { auxiliaryNetDir, deviceIdKind, firstNetDevice, hasDpdkDriver, kernelNetDir, pciNetDir } from "./sysfs.ts";

const TAG = "hdsys";
afterAll(() => sweepTempDirs(`${RUN_PREFIX}-${TAG}-`));

function fakeRoot() {
  const dir = tempDir(TAG);
  buildFakeSysfs(dir.path, {
    pci: [
      { addr: "0000:00:01.0", driver: "e1000e", net: ["enp0s1"] },
      { addr: "0000:00:02.0", driver: "virtio-pci", virtioNet: ["ens2"] },
      { addr: "0000:00:03.0", driver: "vfio-pci" },
      { addr: "0000:00:04.0", driver: "igb_uio" },
      { addr: "0000:00:05.0", driver: "uio_pci_generic" },
      { addr: "0000:00:06.0" }, // bound to no driver
      { addr: "0000:00:07.0", driver: "mlx5_core", net: ["lo9", "eth9", "Eth9"] },
    ],
    aux: [{ name: "mlx5_core.sf.4", parentPci: "0000:00:07.0", net: ["enp7s0f0s4"] }],
  });
  return dir;
}

describe("deviceIdKind", () => {
  test("a PCI address, an auxiliary device, neither; PCI wins when both exist", () => {
    using root = fakeRoot();
    expect(deviceIdKind(root.path, "0000:00:01.0")).toBe("pci");
    expect(deviceIdKind(root.path, "mlx5_core.sf.4")).toBe("auxiliary");
    expect(deviceIdKind(root.path, "0000:00:99.0")).toBeUndefined();
    mkdirSync(`${root.path}/sys/bus/auxiliary/devices/0000:00:01.0`);
    expect(deviceIdKind(root.path, "0000:00:01.0")).toBe("pci");
  });

  test("a dangling bus symlink is no device (os.Stat follows it)", () => {
    using root = fakeRoot();
    symlinkSync("../../../devices/pci0000:00/gone", `${root.path}/sys/bus/pci/devices/0000:00:0a.0`);
    expect(deviceIdKind(root.path, "0000:00:0a.0")).toBeUndefined();
  });
});

describe("hasDpdkDriver", () => {
  test("vfio-pci, igb_uio and uio_pci_generic are userspace drivers; kernel drivers are not", () => {
    using root = fakeRoot();
    expect(["0000:00:01.0", "0000:00:02.0", "0000:00:03.0", "0000:00:04.0", "0000:00:05.0", "0000:00:07.0"].map((a) => hasDpdkDriver(root.path, a)))
      .toEqual([false, false, true, true, true, false]);
  });

  test("a missing device or an unbound one: Go's EvalSymlinks error, naming the first path that is missing", () => {
    using root = fakeRoot();
    expect(() => hasDpdkDriver(root.path, "0000:00:99.0")).toThrow(`lstat ${root.path}/sys/bus/pci/devices/0000:00:99.0: no such file or directory`);
    // the bus entry resolved to the device directory, as Go resolves it
    expect(() => hasDpdkDriver(root.path, "0000:00:06.0")).toThrow(`lstat ${root.path}/sys/devices/pci0000:00/0000:00:06.0/driver: no such file or directory`);
  });

  test("a driver link whose target is gone names the target", () => {
    using root = fakeRoot();
    rmSync(`${root.path}/sys/bus/pci/drivers/e1000e`, { recursive: true });
    expect(() => hasDpdkDriver(root.path, "0000:00:01.0")).toThrow(`lstat ${root.path}/sys/bus/pci/drivers/e1000e: no such file or directory`);
  });
});

describe("net directories", () => {
  test("PCI: <dev>/net, else <dev>/virtio*/net; neither is upstream's error", () => {
    using root = fakeRoot();
    const pci = `${root.path}/sys/bus/pci/devices`;
    expect(pciNetDir(root.path, "0000:00:01.0")).toBe(`${pci}/0000:00:01.0/net`);
    expect(pciNetDir(root.path, "0000:00:02.0")).toBe(`${pci}/0000:00:02.0/virtio0/net`);
    expect(() => pciNetDir(root.path, "0000:00:03.0")).toThrow(/^no net directory under pci device 0000:00:03.0$/);
    expect(() => pciNetDir(root.path, "0000:00:99.0")).toThrow(/^no net directory under pci device 0000:00:99.0$/);
    expect(firstNetDevice(pciNetDir(root.path, "0000:00:01.0"))).toBe("enp0s1");
    expect(firstNetDevice(pciNetDir(root.path, "0000:00:02.0"))).toBe("ens2");
  });

  test("virtio: the first virtio* directory (sorted) that has a net directory", () => {
    using root = fakeRoot();
    const dev = `${root.path}/sys/devices/pci0000:00/0000:00:03.0`;
    mkdirSync(`${dev}/virtio7`); // no net here
    mkdirSync(`${dev}/virtio3/net/ens3b`, { recursive: true });
    mkdirSync(`${dev}/virtio12/net/ens3a`, { recursive: true });
    expect(pciNetDir(root.path, "0000:00:03.0")).toBe(`${root.path}/sys/bus/pci/devices/0000:00:03.0/virtio12/net`);
  });

  test("kernelpath: <root><kernelpath>/net, cleaned as filepath.Join", () => {
    using root = fakeRoot();
    expect(kernelNetDir(root.path, "/sys/devices/pci0000:00/0000:00:01.0")).toBe(`${root.path}/sys/devices/pci0000:00/0000:00:01.0/net`);
    expect(kernelNetDir(root.path, "/sys/devices/pci0000:00/0000:00:01.0/")).toBe(`${root.path}/sys/devices/pci0000:00/0000:00:01.0/net`);
    expect(kernelNetDir("", "/sys/devices/x/../y")).toBe("/sys/devices/y/net");
    expect(firstNetDevice(kernelNetDir(root.path, "/sys/devices/pci0000:00/0000:00:01.0"))).toBe("enp0s1");
  });

  test("auxiliary: /sys/bus/auxiliary/devices/<dev>/net", () => {
    using root = fakeRoot();
    expect(firstNetDevice(auxiliaryNetDir(root.path, "mlx5_core.sf.4"))).toBe("enp7s0f0s4");
  });

  test("the first entry is the first in byte order (Go's os.ReadDir sorts)", () => {
    using root = fakeRoot();
    expect(firstNetDevice(pciNetDir(root.path, "0000:00:07.0"))).toBe("Eth9");
  });

  test("an empty or missing directory is upstream's error", () => {
    using root = fakeRoot();
    const empty = `${root.path}/sys/devices/pci0000:00/0000:00:03.0/net`;
    mkdirSync(empty);
    expect(() => firstNetDevice(empty)).toThrow(`failed to find network device in path ${empty}`);
    const missing = `${root.path}/sys/devices/nope/net`;
    expect(() => firstNetDevice(missing)).toThrow(`failed to read directory ${missing}: "open ${missing}: no such file or directory"`);
  });
});
