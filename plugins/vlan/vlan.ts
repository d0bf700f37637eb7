// plugins/vlan/vlan.ts: an 802.1Q VLAN device on a host interface (the master), placed in the container under
// CNI_IFNAME and configured from IPAM (SPEC-DIGEST §1.5). With `linkInContainer` the master is an interface inside
// the container netns and the VLAN is made there. The link is made with a temporary `veth<8 hex>` name straight
// into the container netns and renamed there, so a same-named host interface never collides with it.
import { loadNetConf, netConfFields } from "../../pkg/cni/conf.ts";
import { bool, int, str, struct } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type Interface, type NetConf, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { validateExpectedInterfaceIPs, validateExpectedRoutes } from "../../pkg/ip/check.ts";
import { delContainerLink } from "../../pkg/ip/container-link.ts";
import { addLink, delLink, getLinkByName, setLinkName, type Link } from "../../pkg/ip/link.ts";
import type { VlanSpec } from "../../pkg/ip/link-kinds.ts";
import { lookupMaster } from "../../pkg/ip/master.ts";
import { hasErrno, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { randomVethName } from "../../pkg/ip/veth.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { ipamAdd, ipamRun, ipamStatusAndGc } from "../../pkg/ipam/ipam.ts";
import { type NetNS, openContainerNetns, withNetns } from "../../pkg/ns/netns.ts";
import { EOPNOTSUPP } from "../../pkg/sys/libc.ts";

const q = JSON.stringify;
const msg = (e: unknown) => (e as Error).message;

const MAX_VLAN_ID = 4094;

const vlanConfDecoder = struct("NetConf", { ...netConfFields, master: str, vlanId: int, mtu: int, linkInContainer: bool });

export interface VlanConf extends NetConf {
  master: string;
  vlanId: number;
  /** 0: the VLAN inherits the master's MTU. */
  mtu: number;
  /** The master is an interface of the container netns, not of the host's. */
  linkInContainer: boolean;
}

/** Returns the decoded config, nothing checked (CHECK and STATUS decode only, as upstream). Throws decode errors (999). */
export function decodeConf(stdin: Uint8Array): VlanConf {
  const c = loadNetConf(stdin, vlanConfDecoder);
  return { ...c, master: c.master ?? "", vlanId: c.vlanId ?? 0, mtu: c.mtu ?? 0, linkInContainer: c.linkInContainer ?? false };
}

/**
 * Returns the config with the checks that need no kernel: `master` set, `vlanId` in 0-4094 (the MTU is judged
 * against the master, by checkMtu). Throws code 7 with upstream's texts (upstream's own code is 999: plain errors).
 */
export function loadConf(stdin: Uint8Array): VlanConf {
  const conf = decodeConf(stdin);
  if (conf.master === "") {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, '"master" field is required. It specifies the host interface name to create the VLAN for'); // upstream text
  }
  if (conf.vlanId < 0 || conf.vlanId > MAX_VLAN_ID) {
    // upstream quirk: the text says 4095 though 4095 itself is refused (it is reserved by 802.1Q).
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid VLAN ID ${conf.vlanId} (must be between 0 and 4095 inclusive)`); // upstream text
  }
  return conf;
}

function lookupVlanMaster(sock: NetlinkSocket, conf: VlanConf): Link {
  return lookupMaster(sock, conf.master, conf.linkInContainer ? " in the container netns" : " in the host netns", msg);
}

/** Throws code 7 unless mtu is in [0, the master's MTU] (upstream checks against the master before anything else). */
export function checkMtu(conf: Pick<VlanConf, "mtu">, master: Pick<Link, "mtu">): void {
  if (conf.mtu < 0 || conf.mtu > master.mtu) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid MTU ${conf.mtu}, must be [0, master MTU(${master.mtu})]`); // upstream text
  }
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  // Upstream judges the master (and the MTU against it) while loading the config, before it opens the netns; with
  // linkInContainer the master is the container's, so the netns comes first.
  using hostSock = conf.linkInContainer ? undefined : openRouteSocket();
  const hostMaster = hostSock && lookupVlanMaster(hostSock, conf);
  if (hostMaster) checkMtu(conf, hostMaster);
  using ctrNs = openContainerNetns(args.netns);
  using ctrSock = openRouteSocket(ctrNs);
  const master = hostMaster ?? lookupVlanMaster(ctrSock, conf);
  if (!hostMaster) checkMtu(conf, master);

  const undo = new Undo();
  try {
    // The VLAN is made from the master's netns, straight into the container's.
    const vlan = createVlan(hostSock ?? ctrSock, ctrSock, ctrNs, master, conf, args.ifname, undo);

    let result: Result;
    try {
      result = await ipamAdd(conf, args.stdin);
    } catch (e) {
      throw new Error(`failed to execute IPAM delegate: ${msg(e)}`, { cause: e }); // upstream text
    }
    undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
    if (!result.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
    // All addresses belong to the vlan interface.
    for (const ipc of result.ips) ipc.interface = 0;
    result.interfaces = [{ name: vlan.name, mac: vlan.mac, sandbox: args.netns }];
    withNetns(ctrNs, () => configureIface(ctrSock, args.ifname, result));
    // upstream: the config's dns replaces IPAM's, even when the config has none.
    result.dns = conf.dns;
    if (result.dns === undefined) delete result.dns;
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}


/**
 * Creates the VLAN through createSock (the master's netns) straight into the container netns under a temporary
 * name, registers its removal with undo, renames it to ifname there and returns it as the container sees it.
 */
function createVlan(createSock: NetlinkSocket, ctrSock: NetlinkSocket, ctrNs: NetNS, master: Link, conf: VlanConf, ifname: string, undo: Undo): Link {
  const tmpName = randomVethName();
  try {
    addLink(createSock, vlanLinkSpec(conf, tmpName, master.index, ctrNs.fd));
  } catch (e) {
    const hint = hasErrno(e, EOPNOTSUPP) ? " (does this kernel have 802.1Q VLAN support, module 8021q?)" : "";
    throw new Error(`failed to create vlan: ${msg(e)}${hint}`, { cause: e }); // upstream text, plus the hint
  }
  const created = getLinkByName(ctrSock, tmpName);
  undo.push("vlan", () => delLink(ctrSock, created.index));
  try {
    setLinkName(ctrSock, created.index, ifname);
  } catch (e) {
    throw new Error(`failed to rename vlan to ${q(ifname)}: ${msg(e)}`, { cause: e }); // upstream text
  }
  try {
    return getLinkByName(ctrSock, ifname);
  } catch (e) {
    throw new Error(`failed to refetch vlan ${q(ifname)}: ${msg(e)}`, { cause: e }); // upstream text
  }
}

/** Returns the link the plugin asks for: the master as parent, the container netns by fd, mtu only when set. */
export function vlanLinkSpec(conf: Pick<VlanConf, "vlanId" | "mtu">, name: string, masterIndex: number, netnsFd: number): VlanSpec {
  const spec: VlanSpec = { kind: "vlan", name, parentIndex: masterIndex, vlanId: conf.vlanId, netnsFd };
  // 0 leaves IFLA_MTU out, so the kernel gives the VLAN its master's MTU (vishvananda sends it only when > 0).
  if (conf.mtu > 0) spec.mtu = conf.mtu;
  return spec;
}

async function del(args: CmdArgs): Promise<void> {
  // Upstream reloads the whole config here, master lookup and MTU check included, so its DEL fails once the master
  // is gone (or, with linkInContainer, once the netns is gone) and the reservation leaks forever. Only the checks
  // that need no kernel run here: a config that passes them could have been ADDed.
  const conf = loadConf(args.stdin);
  await ipamRun("DEL", conf, args.stdin);
  delContainerLink(args.netns, args.ifname); // a missing netns or link is success: DEL may come late or twice
}

async function check(args: CmdArgs): Promise<void> {
  // upstream: CHECK only decodes; the master's existence is checked below, its MTU not at all.
  const conf = decodeConf(args.stdin);
  using ctrNs = openContainerNetns(args.netns);
  await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("vlan: Required prevResult missing"); // upstream text
  const ctr = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox === args.netns);
  if (!ctr) throw new Error(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`); // upstream text
  using ctrSock = openRouteSocket(ctrNs);
  using hostSock = conf.linkInContainer ? undefined : openRouteSocket();
  try {
    getLinkByName(hostSock ?? ctrSock, conf.master);
  } catch (e) {
    throw new Error(`failed to lookup master ${q(conf.master)}: ${msg(e)}`, { cause: e }); // upstream text
  }
  checkContainerVlan(ctrSock, ctr, conf);
  validateExpectedInterfaceIPs(ctrSock, args.ifname, prev.ips ?? []);
  validateExpectedRoutes(ctrSock, prev.routes ?? []);
}

/** Throws unless the container's interface is a VLAN with the result's MAC, the configured id and (if set) MTU. */
function checkContainerVlan(sock: NetlinkSocket, ctr: Interface, conf: VlanConf): void {
  let link: Link;
  try {
    link = getLinkByName(sock, ctr.name);
  } catch {
    throw new Error(`vlan: Container Interface name in prevResult: ${ctr.name} not found`); // upstream text
  }
  if (link.kind !== "vlan") throw new Error(`Error: Container interface ${link.name} not of type vlan`); // upstream text
  if (ctr.mac && ctr.mac !== link.mac) {
    throw new Error(`vlan: Interface ${ctr.name} Mac ${ctr.mac} doesn't match container Mac: ${link.mac}`); // upstream text
  }
  // Upstream's text here is a copy of tuning's ("configured promisc is …"); ours says what differs.
  if (conf.vlanId !== link.vlanId) {
    throw new Error(`vlan: Interface ${ctr.name} VLAN ID ${conf.vlanId} doesn't match container VLAN ID: ${link.vlanId}`);
  }
  if (conf.mtu !== 0 && conf.mtu !== link.mtu) {
    throw new Error(`Error: Tuning configured MTU of ${ctr.name} is ${conf.mtu}, current value is ${link.mtu}`); // upstream text
  }
}

// upstream: decode only, then IPAM's STATUS (it leaves "does the master exist?" as a TODO); a config without IPAM
// fails there ("no plugin name provided").
const { status, gc } = ipamStatusAndGc(decodeConf, () => true);

export const vlan: Plugin = { name: "vlan", versions: ALL_VERSIONS, add, del, check, status, gc };
