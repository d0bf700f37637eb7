// plugins/dummy/dummy.ts: a dummy link named CNI_IFNAME, made directly in the container netns and configured from
// IPAM (SPEC-DIGEST §1.8): an interface that holds addresses without any link to the outside (a service address,
// a loopback-like anchor). IPAM's routes and dns pass through to the result unchanged.
import { loadNetConf, netConfFields } from "../../pkg/cni/conf.ts";
import { struct } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type Interface, type NetConf, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { validateExpectedInterfaceIPs } from "../../pkg/ip/check.ts";
import { delContainerLink } from "../../pkg/ip/container-link.ts";
import { addLink, delLink, getLinkByName, type Link } from "../../pkg/ip/link.ts";
import type { DummySpec } from "../../pkg/ip/link-kinds.ts";
import { IFF_UP } from "../../pkg/ip/nl/consts.ts";
import { openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { ipamAdd, ipamRun, ipamStatusAndGc } from "../../pkg/ipam/ipam.ts";
import { openContainerNetns, withNetns } from "../../pkg/ns/netns.ts";

const q = JSON.stringify;
const msg = (e: unknown) => (e as Error).message;

const dummyConfDecoder = struct("NetConf", netConfFields);

/** Returns the decoded config; throws decode errors (999) with upstream's prefix. */
export function loadConf(stdin: Uint8Array): NetConf {
  return loadNetConf(stdin, dummyConfDecoder, "failed to parse network config"); // upstream text
}

/** Throws code 7 unless the config names an IPAM plugin: a dummy link is only good for the addresses it holds. */
export function requireIpam(conf: NetConf): void {
  if (typeof conf.ipam?.type !== "string" || conf.ipam.type === "") {
    // upstream text, plus the field (upstream's code is 999: a plain error).
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, 'dummy interface requires an IPAM configuration: the config has no "ipam" with a "type"');
  }
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  requireIpam(conf);
  using ctrNs = openContainerNetns(args.netns);
  using ctrSock = openRouteSocket(ctrNs);

  const undo = new Undo();
  try {
    // A name clash fails here, before anything is ours to undo: the existing link is left alone.
    try {
      addLink(ctrSock, dummyLinkSpec(args.ifname));
    } catch (e) {
      throw new Error(`failed to create dummy ${q(args.ifname)}: ${msg(e)}`, { cause: e });
    }
    const dummy = getLinkByName(ctrSock, args.ifname);
    undo.push("dummy", () => delLink(ctrSock, dummy.index));

    const result = await ipamAdd(conf, args.stdin);
    undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
    if (!result.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
    // All addresses belong to the dummy interface.
    for (const ipc of result.ips) ipc.interface = 0;
    result.interfaces = [{ name: dummy.name, mac: dummy.mac, sandbox: args.netns }];
    withNetns(ctrNs, () => configureIface(ctrSock, args.ifname, result));
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}

/** Returns the link the plugin asks for, through a socket in the container netns: a bare dummy named ifname. */
export function dummyLinkSpec(ifname: string): DummySpec {
  return { kind: "dummy", name: ifname };
}


async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  await ipamRun("DEL", conf, args.stdin);
  delContainerLink(args.netns, args.ifname); // a missing netns or link is success: DEL may come late or twice
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  requireIpam(conf);
  using ctrNs = openContainerNetns(args.netns);
  await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("dummy: Required prevResult missing"); // upstream text
  const ctr = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox === args.netns);
  if (!ctr) throw new Error(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`); // upstream text
  using sock = openRouteSocket(ctrNs);
  checkContainerDummy(sock, ctr);
  // upstream: addresses only; routes are not checked.
  validateExpectedInterfaceIPs(sock, args.ifname, prev.ips ?? []);
}

/** Throws unless the container's interface is a dummy with the result's MAC, and up. */
function checkContainerDummy(sock: NetlinkSocket, ctr: Interface): void {
  let link: Link;
  try {
    link = getLinkByName(sock, ctr.name);
  } catch {
    throw new Error(`Container Interface name in prevResult: ${ctr.name} not found`); // upstream text
  }
  if (link.kind !== "dummy") throw new Error(`Error: Container interface ${link.name} not of type dummy`); // upstream text
  if (ctr.mac && ctr.mac !== link.mac) {
    throw new Error(`Interface ${ctr.name} Mac ${ctr.mac} doesn't match container Mac: ${link.mac}`); // upstream text
  }
  if ((link.flags & IFF_UP) === 0) throw new Error(`Interface ${ctr.name} is down`); // upstream text
}

// Always handed to IPAM, as upstream's: a config without one fails there ("no plugin name provided").
const { status, gc } = ipamStatusAndGc((stdin) => loadNetConf(stdin, dummyConfDecoder), () => true);

export const dummy: Plugin = { name: "dummy", versions: ALL_VERSIONS, add, del, check, status, gc };
