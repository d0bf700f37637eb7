// plugins/tap/tap.ts: a TAP device in the container (SPEC-DIGEST §1.9), for a VM launcher running there to attach
// to (owner/group let an unprivileged one). The tap is made by TUNSETIFF inside the container netns under a
// temporary `veth<8 hex>` name, given its MTU and MAC, renamed to CNI_IFNAME, optionally made a port of a bridge
// that lives in the container netns, brought up, and with IPAM given addresses and routes. A failed ADD removes the
// tap and the reservation; DEL removes both and is idempotent.
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { validateExpectedInterfaceIPs, validateExpectedRoutes } from "../../pkg/ip/check.ts";
import { delContainerLink } from "../../pkg/ip/container-link.ts";
import { delLink, getLinkByName, setLinkMAC, setLinkMaster, setLinkMTU, setLinkName, setLinkUp, type Link } from "../../pkg/ip/link.ts";
import { hasErrno, isNotFound, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { writeSysctlIfPossible } from "../../pkg/ip/sysctl.ts";
import { createTunTap, type TunTapSpec } from "../../pkg/ip/tuntap.ts";
import { randomVethName } from "../../pkg/ip/veth.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { ipamAdd, ipamRun, ipamStatusAndGc } from "../../pkg/ipam/ipam.ts";
import { type NetNS, openContainerNetns, withNetns } from "../../pkg/ns/netns.ts";
import { EBUSY, EEXIST, SyscallError } from "../../pkg/sys/libc.ts";
import { loadConf, tapSpec, validateForAdd, type TapConf } from "./config.ts";
import { createTapLabelled, HELPER_ENV, isSelinuxEnabled } from "./selinux.ts";

const q = JSON.stringify;
const msg = (e: unknown) => (e as Error).message;

async function add(args: CmdArgs): Promise<Result> {
  const helperSpec = process.env[HELPER_ENV];
  if (helperSpec !== undefined) return createForParent(args, helperSpec);

  const conf = loadConf(args.stdin, args.args);
  validateForAdd(conf);
  using ctrNs = openContainerNetns(args.netns);
  // A netlink socket belongs to the netns it was opened in: this one works on the container's links from anywhere.
  using sock = openRouteSocket(ctrNs);
  // Judged before anything is made, so these failures leave nothing behind.
  if (linkExists(sock, args.ifname)) {
    throw new Error(`failed to create tap ${q(args.ifname)}: an interface of that name already exists in the container netns`);
  }
  const bridge = conf.bridge === "" ? undefined : lookupBridge(sock, conf.bridge);

  const undo = new Undo();
  try {
    const tap = createTap(sock, ctrNs, conf, args, undo);
    if (bridge) {
      try {
        setLinkMaster(sock, tap.index, bridge.index);
      } catch (e) {
        throw new Error(`failed to set tap ${args.ifname} as a port of bridge ${conf.bridge}: ${msg(e)}`, { cause: e }); // upstream text
      }
    }
    try {
      setLinkUp(sock, tap.index);
    } catch (e) {
      throw new Error(`failed to set tap interface up: ${msg(e)}`, { cause: e }); // upstream text
    }
    // Read back once it is a port and up: the result reports the MAC the kernel kept.
    const mac = getLinkByName(sock, args.ifname).mac;
    const result: Result = { cniVersion: conf.cniVersion, interfaces: [{ name: args.ifname, mac, sandbox: args.netns }] };

    if (conf.isLayer3) {
      const ipam = await ipamAdd(conf, args.stdin);
      undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
      if (!ipam.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
      // All addresses belong to the tap.
      result.ips = ipam.ips.map((ipc) => ({ ...ipc, interface: 0 }));
      if (ipam.routes?.length) result.routes = ipam.routes;
      withNetns(ctrNs, () => {
        // The tap works without gratuitous ARP on address changes.
        writeSysctlIfPossible(`net/ipv4/conf/${args.ifname}/arp_notify`, "1");
        configureIface(sock, args.ifname, result);
      });
    }
    // upstream: the config's dns, never IPAM's.
    if (conf.dns) result.dns = conf.dns;
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}


/** Returns whether a link of that name exists (through sock's netns); throws on errors other than "no such link". */
function linkExists(sock: NetlinkSocket, name: string): boolean {
  try {
    getLinkByName(sock, name);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Returns the bridge the tap is to join, from the container netns; throws code 7 naming `bridge` when it is missing. */
function lookupBridge(sock: NetlinkSocket, name: string): Link {
  try {
    return getLinkByName(sock, name);
  } catch (e) {
    const text = `failed to get bridge ${name}: ${msg(e)}`; // upstream text
    if (isNotFound(e)) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `${text} (the "bridge" must exist in the container netns)`);
    throw new Error(text, { cause: e });
  }
}

/**
 * Creates the tap in the container netns under a temporary `veth<8 hex>` name, as upstream does, registers its
 * removal, sets its MTU and MAC, renames it to CNI_IFNAME and returns it. Upstream sets MTU and MAC with
 * `ip link set` before the rename on its `ip tuntap` path and forgets both on its netlink path; ours sets them on
 * every path.
 */
function createTap(sock: NetlinkSocket, ctrNs: NetNS, conf: TapConf, args: CmdArgs, undo: Undo): Link {
  const spec = tapSpec(conf, randomVethName());
  // The device is born in the netns of the thread that opens /dev/net/tun: enter the container's for that.
  const name = withNetns(ctrNs, () => makeTap(spec, conf.selinuxContext, args));
  const tap = getLinkByName(sock, name);
  undo.push("tap", () => delLink(sock, tap.index));
  if (conf.mtu > 0) {
    try {
      setLinkMTU(sock, tap.index, conf.mtu);
    } catch (e) {
      throw new Error(`failed to set MTU ${conf.mtu} on tap: ${msg(e)}`, { cause: e });
    }
  }
  if (conf.mac !== undefined) {
    try {
      setLinkMAC(sock, tap.index, conf.mac);
    } catch (e) {
      throw new Error(`failed to set MAC ${conf.mac} on tap: ${msg(e)}`, { cause: e });
    }
  }
  try {
    setLinkName(sock, tap.index, args.ifname);
  } catch (e) {
    // EEXIST: the name was taken between our check and now. Upstream carries on with the other interface here.
    const hint = hasErrno(e, EEXIST) ? " (the name is taken)" : "";
    throw new Error(`failed to rename tap to ${q(args.ifname)}: ${msg(e)}${hint}`, { cause: e }); // upstream text
  }
  return { ...tap, name: args.ifname };
}

/**
 * Makes the device in the calling thread's netns and returns its name. With an SELinux label on an SELinux host
 * it is made by a helper process running under that label (selinux.ts); otherwise here, by ioctl.
 */
function makeTap(spec: TunTapSpec, label: string, args: CmdArgs): string {
  if (label !== "" && isSelinuxEnabled()) {
    return createTapLabelled(spec, label, { exe: process.execPath, containerId: args.containerId, netns: args.netns, cniPath: args.path });
  }
  return createTapHere(spec);
}

/** Returns the name of the tap createTunTap made in the calling thread's netns; throws upstream's wording. */
function createTapHere(spec: TunTapSpec): string {
  try {
    return createTunTap(spec);
  } catch (e) {
    // EBUSY: IFF_TUN_EXCL met a device of that name (the temporary name is random, so hardly ever).
    const hint = e instanceof SyscallError && e.errno === EBUSY ? " (the name is taken)" : "";
    throw new Error(`failed to create tap: ${msg(e)}${hint}`, { cause: e }); // upstream text
  }
}

/**
 * The helper's side of createTapLabelled: this process runs under the label and was born in the container netns,
 * so it only makes the device named CNI_IFNAME (the temporary name) and reports it.
 */
function createForParent(args: CmdArgs, specJson: string): Result {
  const spec = JSON.parse(specJson) as TunTapSpec;
  if (spec.name !== args.ifname || spec.mode !== "tap") throw new Error(`${HELPER_ENV}: not a tap named CNI_IFNAME`);
  return { cniVersion: "1.1.0", interfaces: [{ name: createTapHere(spec) }] };
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, args.args);
  if (conf.isLayer3) await ipamRun("DEL", conf, args.stdin);
  // An empty CNI_NETNS, a netns already gone and a link already gone are all success: DEL may come after the
  // container is gone, or twice.
  delContainerLink(args.netns, args.ifname);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, args.args);
  using ctrNs = openContainerNetns(args.netns);
  if (conf.isLayer3) await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("Required prevResult missing"); // upstream text
  const ctr = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox === args.netns);
  if (!ctr) throw new Error(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`); // upstream text
  using sock = openRouteSocket(ctrNs);
  checkTap(sock, ctr.name, ctr.mac, conf);
  validateExpectedInterfaceIPs(sock, args.ifname, prev.ips ?? []);
  validateExpectedRoutes(sock, prev.routes ?? []);
}

/**
 * Throws unless the interface is a tap with the result's MAC and, with `bridge`, a port of that bridge. Upstream
 * checks only addresses and routes, so its CHECK passes on a deleted layer-2 tap; these hold for a tap made by
 * either implementation.
 */
function checkTap(sock: NetlinkSocket, name: string, mac: string | undefined, conf: TapConf): void {
  let link: Link;
  try {
    link = getLinkByName(sock, name);
  } catch (e) {
    throw new Error(`tap: Container Interface name in prevResult: ${name} not found`, { cause: e });
  }
  if (link.kind !== "tun" || link.tunMode !== "tap") throw new Error(`Error: Container interface ${name} not of type tap`);
  if (mac && mac !== link.mac) throw new Error(`tap: Interface ${name} Mac ${mac} doesn't match container Mac: ${link.mac}`);
  if (conf.bridge !== "") {
    let bridgeIndex: number | undefined;
    try {
      bridgeIndex = getLinkByName(sock, conf.bridge).index;
    } catch {
      bridgeIndex = undefined;
    }
    if (bridgeIndex === undefined || link.masterIndex !== bridgeIndex) {
      throw new Error(`tap: Interface ${name} is not a port of bridge ${conf.bridge}`);
    }
  }
}

// upstream: decode only (no CNI_ARGS), then IPAM's STATUS when there is IPAM.
const { status, gc } = ipamStatusAndGc((stdin) => loadConf(stdin, ""), (conf) => conf.isLayer3);

export const tap: Plugin = { name: "tap", versions: ALL_VERSIONS, add, del, check, status, gc };
