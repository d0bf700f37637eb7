// test/support/host-device.ts: what the host-device tests share: a fake sysfs tree laid out as the kernel lays it
// out (PCI functions with their driver and net directories, virtio-net one level down, auxiliary-bus devices),
// a way to run a plugin binary with that tree mounted over /sys in a private mount namespace (so pciBusID,
// runtimeConfig.deviceID and DPDK mode run for real without a PCI NIC), and links read back with their alias.
import { mkdirSync, symlinkSync } from "node:fs";
import type { DNS, Interface, Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { ipamResult, type Ip } from "./host-local.ts";
import { ipJson, type TempNetns } from "./netns.ts";
import { OURS, type Run } from "./run-plugin.ts";

/**
 * Returns the result object of a host-device ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: the one interface (name, mac when it has one, sandbox) and
 * `interface: 0` on every IP where the version has them; 0.1/0.2 are IPAM's shape.
 */
export function hostDeviceResult(version: string, itf: Interface, ips: Ip[] = [], routes: Route[] = [], dns: DNS = {}): object {
  const base = ipamResult(version, ips, routes, dns) as Record<string, any>;
  if (!versionAtLeast(version, "0.3.0")) return base;
  if (versionAtLeast(version, "1.0.0")) {
    const i = { ...(itf.mac ? { mac: itf.mac } : {}), name: itf.name, sandbox: itf.sandbox };
    const { cniVersion, dns: d, ips: _ips, routes: r } = base;
    return {
      cniVersion,
      ...(d ? { dns: d } : {}),
      interfaces: [i],
      ...(ips.length ? { ips: ips.map((ip) => ({ address: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), interface: 0 })) } : {}),
      ...(r ? { routes: r } : {}),
    };
  }
  // 0.3/0.4: cniVersion, interfaces, ips (version, interface, address, gateway), routes, dns.
  const { cniVersion, ips: ipamIps, ...rest } = base;
  return {
    cniVersion,
    interfaces: [{ name: itf.name, ...(itf.mac ? { mac: itf.mac } : {}), sandbox: itf.sandbox }],
    ...(ipamIps ? { ips: ipamIps.map(({ version: v, ...ip }: { version: string }) => ({ version: v, interface: 0, ...ip })) } : {}),
    ...rest,
  };
}

/** One PCI function under /sys/devices/pci0000:00. */
export interface FakePci {
  /** `0000:00:01.0` */
  addr: string;
  /** The bound driver's name (its `driver` symlink); none = unbound. */
  driver?: string;
  /** Names under `<dev>/net/`. */
  net?: string[];
  /** Names under `<dev>/virtio0/net/` (virtio-net's layout). */
  virtioNet?: string[];
}

/** One auxiliary-bus device (a sub-function) under its parent PCI function. */
export interface FakeAux {
  name: string;
  parentPci: string;
  net?: string[];
}

/**
 * Builds `<root>/sys/...` for the devices: `devices/pci0000:00/<addr>` with `net/<name>/` and `driver` pointing at
 * `bus/pci/drivers/<driver>`, `bus/pci/devices/<addr>` and `bus/auxiliary/devices/<name>` as relative symlinks to
 * the device directories, as in a real sysfs. Returns `<root>/sys`.
 */
export function buildFakeSysfs(root: string, spec: { pci?: FakePci[]; aux?: FakeAux[] }): string {
  const sys = `${root}/sys`;
  const pciRoot = `${sys}/devices/pci0000:00`;
  for (const d of ["devices/pci0000:00", "bus/pci/devices", "bus/pci/drivers", "bus/auxiliary/devices", "devices/virtual/net"]) {
    mkdirSync(`${sys}/${d}`, { recursive: true });
  }
  for (const p of spec.pci ?? []) {
    const dev = `${pciRoot}/${p.addr}`;
    mkdirSync(dev, { recursive: true });
    for (const n of p.net ?? []) mkdirSync(`${dev}/net/${n}`, { recursive: true });
    for (const n of p.virtioNet ?? []) mkdirSync(`${dev}/virtio0/net/${n}`, { recursive: true });
    if (p.driver) {
      mkdirSync(`${sys}/bus/pci/drivers/${p.driver}`, { recursive: true });
      symlinkSync(`../../../bus/pci/drivers/${p.driver}`, `${dev}/driver`);
    }
    symlinkSync(`../../../devices/pci0000:00/${p.addr}`, `${sys}/bus/pci/devices/${p.addr}`);
  }
  for (const a of spec.aux ?? []) {
    const dev = `${pciRoot}/${a.parentPci}/${a.name}`;
    mkdirSync(dev, { recursive: true });
    for (const n of a.net ?? []) mkdirSync(`${dev}/net/${n}`, { recursive: true });
    symlinkSync(`../../../devices/pci0000:00/${a.parentPci}/${a.name}`, `${sys}/bus/auxiliary/devices/${a.name}`);
  }
  return sys;
}

export interface SysfsRunOptions {
  dir?: string;
  hostNetns: string;
  env: Record<string, string>;
  stdin: object | string;
  /** A fake `/sys` (from buildFakeSysfs) bind-mounted over /sys for this one call only. */
  sysfs?: string;
}

/**
 * Runs a plugin as run-plugin.ts does (env + stdin, inside the host netns), optionally with a fake /sys: the mount
 * happens in a private mount namespace of the call (`unshare -m`), so nothing outside that process sees it.
 */
export function runWithSysfs(name: string, opts: SysfsRunOptions): Run {
  const dir = opts.dir ?? OURS;
  const bin = `${dir}/${name}`;
  const inner = opts.sysfs
    ? ["unshare", "--mount", "--propagation", "private", "sh", "-c", 'mount --bind "$0" /sys && exec "$@"', opts.sysfs, bin]
    : [bin];
  const stdin = typeof opts.stdin === "string" ? opts.stdin : JSON.stringify(opts.stdin);
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", CNI_PATH: dir, ...opts.env };
  const p = Bun.spawnSync(["ip", "netns", "exec", opts.hostNetns, ...inner], { env, stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  const stdout = p.stdout.toString();
  let json: unknown;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { exitCode: p.exitCode ?? -1, stdout, stderr: p.stderr.toString(), json };
}

/** One link as `ip -j -d link` shows it, reduced to what host-device changes or must keep. */
export interface DevState {
  ifname: string;
  kind?: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** IFLA_IFALIAS; absent when unset or empty. */
  alias?: string;
}

/** Returns every link of the netns but `lo`, by name (a device that moved away and back may have a new ifindex). */
export function devsIn(ns: TempNetns | string): DevState[] {
  return (ipJson(ns, ["-d", "link", "show"]) as any[])
    .filter((l) => l.ifname !== "lo")
    .map((l) => ({
      ifname: l.ifname,
      ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
      mac: l.address,
      mtu: l.mtu,
      up: (l.flags as string[]).includes("UP"),
      ...(l.ifalias ? { alias: l.ifalias } : {}),
    }))
    .sort((a, b) => (a.ifname < b.ifname ? -1 : a.ifname > b.ifname ? 1 : 0));
}

/** Returns the one link called name in the netns, or undefined. */
export function devIn(ns: TempNetns | string, name: string): DevState | undefined {
  return devsIn(ns).find((d) => d.ifname === name);
}
