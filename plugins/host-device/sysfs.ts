// plugins/host-device/sysfs.ts: what host-device reads from sysfs: which bus a runtime's deviceID names, whether a
// PCI device is bound to a userspace (DPDK) driver, and the name of the network device under a sysfs directory.
// Every function takes `root`, the directory sysfs paths hang from ("" for the real /sys), so unit tests run on a
// fake tree. Only names come from sysfs: links are then looked up by netlink, since /sys/class/net shows the netns
// sysfs was mounted in, not ours (BUN-NOTES §1). Paths are upstream's, joined and cleaned as Go's filepath.Join.

// node:fs and node:path cost milliseconds to import (BUN-NOTES §11); only configs that name sysfs paths pay.
function fs(): typeof import("node:fs") {
  return require("node:fs") as typeof import("node:fs");
}
function path(): typeof import("node:path") {
  return require("node:path") as typeof import("node:path");
}
function join(...parts: string[]): string {
  return path().posix.join(...parts);
}

/** Drivers that hand a PCI NIC to userspace (DPDK): such a device has no netdev to move (upstream userspaceDrivers). */
export const USERSPACE_DRIVERS = ["vfio-pci", "uio_pci_generic", "igb_uio"];

/** Returns `<root>/sys/bus/pci/devices`. */
export function sysBusPci(root: string): string {
  return `${root}/sys/bus/pci/devices`;
}

/** Returns `<root>/sys/bus/auxiliary/devices`. */
export function sysBusAuxiliary(root: string): string {
  return `${root}/sys/bus/auxiliary/devices`;
}

/** What a runtime's `deviceID` names: a PCI function or an auxiliary-bus device (SR-IOV sub-functions). */
export type DeviceIdKind = "pci" | "auxiliary";

/** Returns the bus the device ID exists on (PCI first, as upstream handleDeviceID), or undefined when on neither. */
export function deviceIdKind(root: string, deviceId: string): DeviceIdKind | undefined {
  // os.Stat follows the bus entry's symlink to the device: a dangling one does not count.
  if (fs().existsSync(join(sysBusPci(root), deviceId))) return "pci";
  if (fs().existsSync(join(sysBusAuxiliary(root), deviceId))) return "auxiliary";
  return undefined;
}

/**
 * Returns whether the PCI device's bound driver (the target of its `driver` symlink) is a userspace one. Throws
 * what Go's filepath.EvalSymlinks says, naming the first path that is missing: `lstat <bus>/<addr>: no such file
 * or directory` for an unknown device, `lstat <device dir>/driver: …` for one bound to no driver.
 */
export function hasDpdkDriver(root: string, pciAddr: string): boolean {
  const dev = join(sysBusPci(root), pciAddr);
  const lstatError = (path: string, e: unknown) => new Error(`lstat ${path}: ${goFsErrorText(e)}`, { cause: e });
  let devDir: string;
  try {
    devDir = fs().realpathSync(dev); // the bus entry is a symlink to the device under /sys/devices
  } catch (e) {
    throw lstatError(dev, e);
  }
  const link = `${devDir}/driver`;
  let target: string;
  try {
    target = fs().realpathSync(link);
  } catch (e) {
    let dangling: string | undefined;
    try {
      dangling = path().posix.resolve(devDir, fs().readlinkSync(link)); // a link to a driver that is gone: Go names the target
    } catch {
      // no link at all
    }
    throw lstatError(dangling ?? link, e);
  }
  return USERSPACE_DRIVERS.includes(target.slice(target.lastIndexOf("/") + 1));
}

/**
 * Returns the `net` directory of a PCI device: `<dev>/net`, else the first `<dev>/virtio*\/net` (virtio-net puts
 * its netdev one level down). Throws upstream's `no net directory under pci device <addr>`.
 */
export function pciNetDir(root: string, pciAddr: string): string {
  const dev = join(sysBusPci(root), pciAddr);
  const netDir = join(dev, "net");
  if (lexists(netDir)) return netDir;
  let entries: string[] = [];
  try {
    entries = fs().readdirSync(dev);
  } catch {
    // an unreadable device directory matches nothing, as filepath.Glob
  }
  const match = entries.filter((e) => e.startsWith("virtio")).sort(byteOrder).map((e) => join(dev, e, "net")).find(lexists);
  if (match === undefined) throw new Error(`no net directory under pci device ${pciAddr}`); // upstream text
  return match;
}

/** Returns `<root><kernelpath>/net` for a `kernelpath` already checked to be under /sys/devices/. */
export function kernelNetDir(root: string, kernelPath: string): string {
  return `${root}${join(kernelPath, "net")}`;
}

/** Returns `<root>/sys/bus/auxiliary/devices/<dev>/net`. */
export function auxiliaryNetDir(root: string, auxDevice: string): string {
  return join(sysBusAuxiliary(root), auxDevice, "net");
}

/**
 * Returns the first entry (in byte order, as Go's os.ReadDir sorts) of a `net` directory: the device's netdev name.
 * Throws upstream's texts when the directory cannot be read or is empty.
 */
export function firstNetDevice(dir: string): string {
  let entries: string[];
  try {
    entries = fs().readdirSync(dir);
  } catch (e) {
    throw new Error(`failed to read directory ${dir}: ${JSON.stringify(`open ${dir}: ${goFsErrorText(e)}`)}`, { cause: e }); // upstream text
  }
  if (entries.length === 0) throw new Error(`failed to find network device in path ${dir}`); // upstream text
  return entries.sort(byteOrder)[0]!;
}

function lexists(path: string): boolean {
  try {
    fs().lstatSync(path);
    return true;
  } catch {
    return false;
  }
}

function byteOrder(a: string, b: string): number {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return Buffer.compare(x, y);
}

const GO_ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EACCES: "permission denied",
  ELOOP: "too many levels of symbolic links",
};

/** Returns the words Go prints for a file system error ("no such file or directory"), else node's message. */
function goFsErrorText(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return (code && GO_ERRNO_TEXT[code]) ?? (e as Error).message;
}
