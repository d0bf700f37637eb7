// plugins/host-device/host-device.ts: moves an existing host device into the container (SPEC-DIGEST §1.6), renamed
// to CNI_IFNAME with its host name kept in its alias, and configures it from IPAM when the config has IPAM. DEL moves
// it back under its old name. A PCI device bound to a userspace (DPDK) driver has no netdev: it is left alone, and
// only IPAM runs. A failed ADD puts the device back where it was, name and up state included.
import { ALL_VERSIONS, type CmdArgs, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { validateExpectedInterfaceIPs, validateExpectedRoutes } from "../../pkg/ip/check.ts";
import { getLinkByName, listLinks, type Link } from "../../pkg/ip/link.ts";
import { openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { ipamAdd, ipamRun, ipamStatusAndGc } from "../../pkg/ipam/ipam.ts";
import { type NetNS, NetnsNotExistError, openContainerNetns, openNetns, withNetns } from "../../pkg/ns/netns.ts";
import { decodeConf, loadConf, parseGoMAC, validateForAdd, type HostDeviceConf } from "./config.ts";
import { DeviceMover, goText } from "./move.ts";
import { auxiliaryNetDir, firstNetDevice, kernelNetDir, pciNetDir } from "./sysfs.ts";

const q = JSON.stringify;

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  validateForAdd(conf);
  using ctrNs = openContainerNetns(args.netns);
  // DPDK: no netdev to move; the result names the interface the workload will drive itself.
  const result: Result = { cniVersion: conf.cniVersion, interfaces: [{ name: args.ifname, sandbox: args.netns }] };
  using mover = conf.dpdkMode ? undefined : new DeviceMover(ctrNs);
  const undo = new Undo();
  try {
    if (mover) {
      const hostDev = findHostDevice(mover.host, conf);
      let dev: Link;
      try {
        dev = mover.moveIn(hostDev, args.ifname, undo);
      } catch (e) {
        throw new Error(`failed to move link ${(e as Error).message}`, { cause: e }); // upstream text
      }
      result.interfaces = [{ name: dev.name, ...(dev.mac ? { mac: dev.mac } : {}), sandbox: args.netns }];
    }
    if (!conf.hasIpam) return result;

    const ipam = await ipamAdd(conf, args.stdin);
    undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
    if (!ipam.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
    // Every address goes on the one interface this plugin reports.
    for (const ipc of ipam.ips) ipc.interface = 0;
    ipam.cniVersion = conf.cniVersion;
    ipam.interfaces = result.interfaces;
    if (mover) withNetns(ctrNs, () => configureIface(mover.ctr, args.ifname, ipam));
    // upstream: the config's dns replaces whatever IPAM said, even with nothing.
    ipam.dns = conf.dns;
    return ipam;
  } catch (e) {
    // Upstream leaves the device in the container when IPAM fails; here it goes back to the host.
    await undo.run();
    throw e;
  }
}


/**
 * Returns the host device the config names, by the first of `device`, `hwaddr`, `kernelpath`, `pciBusID` or the
 * auxiliary device that is set (upstream getLink's order). Names found in sysfs (under sysRoot, "" = /sys) are
 * looked up by netlink in our netns. Throws `failed to find host device: …`.
 */
function findHostDevice(sock: NetlinkSocket, conf: HostDeviceConf, sysRoot = ""): Link {
  const byName = (name: string, from: string): Link => {
    try {
      return getLinkByName(sock, name);
    } catch (e) {
      throw new Error(`failed to find host device: ${goText(e)} (${from})`, { cause: e }); // upstream text, then where the name came from
    }
  };
  const fromSysfs = (dirOf: () => string, field: string): Link => {
    let dir: string;
    let name: string;
    try {
      dir = dirOf();
      name = firstNetDevice(dir);
    } catch (e) {
      throw new Error(`failed to find host device: ${(e as Error).message}`, { cause: e }); // upstream text
    }
    return byName(name, `${q(name)} under ${dir}, from ${q(field)}`);
  };

  if (conf.device) return byName(conf.device, `"device" is ${q(conf.device)}`);
  if (conf.hwaddr) {
    const mac = parseGoMAC(conf.hwaddr)!; // validateForAdd judged it
    let links: Link[];
    try {
      links = listLinks(sock);
    } catch (e) {
      throw new Error(`failed to find host device: failed to list node links: ${goText(e)}`, { cause: e }); // upstream text
    }
    const link = links.find((l) => l.mac === mac);
    if (link) return link;
    throw new Error(`failed to find host device: failed to find physical interface (no link has "hwaddr" ${mac})`); // upstream text, then why
  }
  if (conf.kernelpath) return fromSysfs(() => kernelNetDir(sysRoot, conf.kernelpath), "kernelpath");
  if (conf.pciBusID) return fromSysfs(() => pciNetDir(sysRoot, conf.pciBusID), "pciBusID");
  if (conf.auxDevice) return fromSysfs(() => auxiliaryNetDir(sysRoot, conf.auxDevice), "runtimeConfig.deviceID");
  throw new Error("failed to find host device: failed to find physical interface"); // upstream text (loadConf makes this unreachable)
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  // Upstream returns at once on an empty CNI_NETNS and when the netns is gone it fails; either way the address
  // would stay reserved for good. Here IPAM DEL runs in both cases (it is idempotent), then DEL succeeds: nothing
  // else is left to do. A virtual device died with its netns; a physical one went back to the initial netns, under
  // the container's name with the alias still set, where no plugin can tell it from the host's own devices.
  let ctrNs: NetNS | undefined;
  if (args.netns !== "") {
    try {
      ctrNs = openNetns(args.netns);
    } catch (e) {
      if (!(e instanceof NetnsNotExistError)) throw new Error(`failed to open netns ${q(args.netns)}: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
  using _ns = ctrNs;
  if (conf.hasIpam) await ipamRun("DEL", conf, args.stdin);
  if (!ctrNs || conf.dpdkMode) return;
  using mover = new DeviceMover(ctrNs);
  // false: the device is not in the container (DEL ran already); upstream fails here, a runtime retries forever.
  await mover.moveOut(args.ifname);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  using ctrNs = openContainerNetns(args.netns);
  if (conf.hasIpam) await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("Required prevResult missing"); // upstream text
  if (conf.dpdkMode) return;
  const intf = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox === args.netns);
  if (!intf) throw new Error(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`); // upstream text
  withNetns(ctrNs, () => {
    using sock = openRouteSocket();
    let link: Link;
    try {
      link = getLinkByName(sock, intf.name);
    } catch {
      throw new Error(`Container Interface name in prevResult: ${intf.name} not found`); // upstream text
    }
    if (intf.mac && intf.mac !== link.mac) {
      throw new Error(`Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac}`); // upstream text
    }
    validateExpectedInterfaceIPs(sock, args.ifname, prev.ips ?? []);
    validateExpectedRoutes(sock, prev.routes ?? []);
  });
}

// upstream cmdStatus decodes the config only (no deviceID or sysfs), forwards to IPAM, and says nothing of the device.
const { status, gc } = ipamStatusAndGc(decodeConf, (conf) => conf.hasIpam);

export const hostDevice: Plugin = { name: "host-device", versions: ALL_VERSIONS, add, del, check, status, gc };
