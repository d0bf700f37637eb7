// plugins/bridge/check.ts: CHECK's view of a bridge attachment (SPEC-DIGEST §1.1 CHECK, upstream cmdCheck and its
// validateCni*Interface helpers): the bridge, the container veth and its host peer as prevResult names them, then
// the container's addresses and routes. Error texts are upstream's, trailing spaces included.
import type { Interface, Result } from "../../pkg/cni/types.ts";
import { validateExpectedInterfaceIPs, validateExpectedRoutes } from "../../pkg/ip/check.ts";
import { getLinkByName, isPromisc, type Link } from "../../pkg/ip/link.ts";
import type { NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { withNetns, type NetNS } from "../../pkg/ns/netns.ts";

interface Found {
  found: boolean;
  ifIndex?: number;
  peerIndex?: number;
  masterIndex?: number;
}

const NOT_FOUND: Found = { found: false };

/** Throws unless prevResult's bridge, container veth and host veth are in place (upstream's order and texts). */
export function checkAttachment(opts: {
  hostSock: NetlinkSocket;
  ctrSock: NetlinkSocket;
  ctrNs: NetNS;
  netns: string;
  ifname: string;
  bridge: string;
  promiscMode: boolean;
  prev: Result;
}): void {
  const { hostSock, ctrSock, netns, ifname, bridge, prev } = opts;
  const ifaces = prev.interfaces ?? [];
  // Upstream keeps the last entry of each kind it meets; an absent one is an empty Interface.
  let brMap: Interface = { name: "" };
  let contMap: Interface = { name: "" };
  for (const i of ifaces) {
    if (i.name === bridge) brMap = i;
    else if (i.name === ifname && i.sandbox === netns) contMap = i;
  }
  const br = validateBridge(hostSock, brMap, opts.promiscMode);
  if (netns !== (contMap.sandbox ?? "")) {
    throw new Error(`Sandbox in prevResult ${contMap.sandbox ?? ""} doesn't match configured netns: ${netns}`); // upstream text
  }
  const cont = validateContainer(ctrSock, contMap);
  let veth = NOT_FOUND;
  for (const i of ifaces) {
    // The bridge and the container entries were judged above; a name of theirs elsewhere is not ours.
    if (i.name === brMap.name || i.name === contMap.name) continue;
    veth = validateHostVeth(hostSock, i, br, cont);
    if (veth.found) break; // the veth whose peer is the container's and whose master is the bridge
  }
  if (!br.found) throw new Error(`CNI created bridge ${bridge} in host namespace was not found`); // upstream text
  if (!cont.found) throw new Error(`CNI created interface in container ${ifname} not found`); // upstream text
  if (!veth.found) throw new Error(`CNI veth created for bridge ${bridge} was not found`); // upstream text
  withNetns(opts.ctrNs, () => {
    validateExpectedInterfaceIPs(ctrSock, ifname, prev.ips ?? []);
    validateExpectedRoutes(ctrSock, prev.routes ?? []);
  });
}

function lookup(sock: NetlinkSocket, intf: Interface, expectInSandbox: boolean): Link {
  if (intf.name === "") throw new Error("Interface name missing "); // upstream text
  let link: Link;
  try {
    link = getLinkByName(sock, intf.name);
  } catch {
    throw new Error(`Interface name ${intf.name} not found`); // upstream text
  }
  if (expectInSandbox && !intf.sandbox) throw new Error(`Interface ${intf.name} is expected to be in a sandbox`); // upstream text
  if (!expectInSandbox && intf.sandbox) throw new Error(`Interface ${intf.name} should not be in sandbox`); // upstream text
  return link;
}

function validateBridge(sock: NetlinkSocket, intf: Interface, promiscMode: boolean): Found {
  const link = lookup(sock, intf, false);
  if (link.kind !== "bridge") throw new Error(`Interface ${intf.name} does not have link type of bridge`); // upstream text
  if (intf.mac && intf.mac !== link.mac) throw new Error(`Bridge interface ${intf.name} Mac doesn't match: ${intf.mac}`); // upstream text
  const promisc = isPromisc(link);
  if (promisc !== promiscMode) {
    throw new Error(`Bridge interface ${intf.name} configured Promisc Mode ${promiscMode} doesn't match current state: ${promisc} `); // upstream text
  }
  return { found: true, ifIndex: link.index, masterIndex: link.masterIndex ?? 0 };
}

// Upstream asks ethtool for a veth's peer ifindex; IFLA_LINK carries the same number (in the peer's netns).
function peerIndexOf(link: Link): number {
  if (link.parentIndex === undefined) throw new Error(`Unable to obtain veth peer index for veth ${link.name}`); // upstream text
  return link.parentIndex;
}

function validateContainer(sock: NetlinkSocket, intf: Interface): Found {
  const link = lookup(sock, intf, true);
  if (link.kind !== "veth") throw new Error(`Error: Container interface ${link.name} not of type veth`); // upstream text
  const peerIndex = peerIndexOf(link);
  if (intf.mac && intf.mac !== link.mac) {
    throw new Error(`Interface ${intf.name} Mac ${intf.mac} doesn't match container Mac: ${link.mac}`); // upstream text
  }
  return { found: true, ifIndex: link.index, peerIndex };
}

function validateHostVeth(sock: NetlinkSocket, intf: Interface, br: Found, cont: Found): Found {
  const link = lookup(sock, intf, false);
  if (link.kind !== "veth") return NOT_FOUND; // not what CNI created: skipped
  const peerIndex = peerIndexOf(link);
  if (link.index !== cont.peerIndex || cont.ifIndex !== peerIndex || (link.masterIndex ?? 0) !== br.ifIndex) return NOT_FOUND;
  if (intf.mac && intf.mac !== link.mac) throw new Error(`Interface ${intf.name} Mac doesn't match: ${intf.mac} not found`); // upstream text
  return { found: true, ifIndex: link.index, peerIndex, masterIndex: link.masterIndex };
}
