// meta/bandwidth/bandwidth.ts: rate limits for a container behind a veth (SPEC-DIGEST §3.2), all through rtnetlink.
// Traffic to the container (ingress) is shaped by a tbf on the host end of its veth; traffic from it (egress)
// arrives at the host end as ingress, where a u32 filter redirects it to an ifb `bwp<12 hex>`, which a second tbf
// shapes. ADD changes nothing before every check has passed and undoes its own steps when a later one fails; DEL
// removes the ifb (upstream) and, our addition, the host veth's qdiscs when they are provably this plugin's; GC
// removes this network's ifbs of attachments the runtime no longer lists (record.ts says how we know whose).
import { loadValidAttachments } from "../../pkg/cni/valid-attachments.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type Interface, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import {
  addLink, delLink, getLinkByIndex, getLinkByName, listLinks, setLinkAlias, setLinkUp, type Link,
} from "../../pkg/ip/link.ts";
import { delLinkHandedOff } from "../../pkg/ip/link-handoff.ts";
import { isNotFound, NetlinkError, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import {
  addFilter, addQdisc, delQdisc, listFilters, listQdiscs, readTickInUsec, TC_H_INGRESS, TC_H_ROOT, type Qdisc,
} from "../../pkg/ip/tc.ts";
import { ifbName } from "../../pkg/netfilter/names.ts";
import { NetnsNotExistError, openContainerNetns, openNetns, type NetNS } from "../../pkg/ns/netns.ts";
import { describeErrno, EINVAL } from "../../pkg/sys/libc.ts";
import { isZero, loadConf, type BandwidthEntry } from "./config.ts";
import { ifbAlias, ifbOwner } from "./record.ts";
import { INGRESS_HANDLE, redirectFilterSpec, TBF_HANDLE, tbfMismatch, tbfParams, tbfSpec, type TbfParams } from "./shaping.ts";
import { allOf, anyOf, filtered, firstOf } from "../../pkg/sys/lists.ts";

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin, { strict: true });
  const bw = conf.bandwidth;
  // upstream prints a nil prevResult here and panics; a chained plugin without one is a config error either way.
  if (!conf.prevResult) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "must be called as chained plugin"); // upstream text
  const result = conf.prevResult;
  if (!bw || isZero(bw)) return result;

  using ctrNs = openContainerNetns(args.netns);
  using hostSock = openRouteSocket();
  const host = findHostVeth(hostSock, ctrNs, args.ifname, result.interfaces ?? []);
  const tick = readTickInUsec();
  const ingress = shaped(bw, "ingress", tick);
  const egress = shaped(bw, "egress", tick);

  const undo = new Undo();
  try {
    if (ingress) {
      step("create qdisc", () => addQdisc(hostSock, tbfSpec(host.index, ingress)));
      undo.push("ingress tbf", () => delQdisc(hostSock, { index: host.index, parent: TC_H_ROOT, handle: TBF_HANDLE }));
    }
    if (egress) {
      const ifb = createIfb(hostSock, undo, ifbName(conf.name, args.containerId), host.mtu, { network: conf.name, containerId: args.containerId });
      (result.interfaces ??= []).push({ name: ifb.name, mac: ifb.mac });
      step("create ingress qdisc", () => addQdisc(hostSock, { kind: "ingress", index: host.index }));
      // Deleting the ingress qdisc takes its filters along.
      undo.push("ingress qdisc", () => delQdisc(hostSock, { index: host.index, parent: TC_H_INGRESS, handle: INGRESS_HANDLE, kind: "ingress" }));
      step("add filter", () => addFilter(hostSock, redirectFilterSpec(host.index, ifb.index)));
      // The ifb's own tbf goes with the ifb.
      step("create ifb qdisc: create qdisc", () => addQdisc(hostSock, tbfSpec(ifb.index, egress)));
    }
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}

/** Returns upstream's tbf numbers for one direction, or undefined when it is not shaped (rate or burst 0). */
function shaped(bw: BandwidthEntry, dir: "ingress" | "egress", tick: number): TbfParams | undefined {
  const rate = bw[`${dir}Rate`];
  const burst = bw[`${dir}Burst`];
  return rate > 0n && burst > 0n ? tbfParams(rate, burst, tick) : undefined;
}

/** Runs one kernel change, failing with upstream's `<what>: <errno text>` (plus the kernel's own words, if any). */
function step(what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    throw new Error(`${what}: ${goNetlinkText(e)}`, { cause: e });
  }
}

// Go prints a netlink failure as the bare errno text, in lower case ("file exists").
function goNetlinkText(e: unknown): string {
  if (!(e instanceof NetlinkError)) return (e as Error).message;
  const text = describeErrno(e.errno);
  return `${text.charAt(0).toLowerCase()}${text.slice(1)}${e.extAck ? `: ${e.extAck}` : ""}`;
}

/** Creates the ifb up, with the host veth's MTU and no transmit queue (as upstream), and records its owner. */
function createIfb(sock: NetlinkSocket, undo: Undo, name: string, mtu: number, owner: { network: string; containerId: string }): Link {
  step("adding link", () => addLink(sock, { kind: "ifb", name, mtu, txqlen: 0 }));
  // By name: the undo must hold even if reading the new link back fails.
  undo.push(`ifb ${name}`, () => {
    const made = findLink(sock, name);
    if (made) delLink(sock, made.index);
  });
  const ifb = getLinkByName(sock, name);
  step(`failed to set ${JSON.stringify(name)} up`, () => setLinkUp(sock, ifb.index));
  const alias = ifbAlias(owner);
  if (alias !== undefined) step(`failed to set the alias of ${JSON.stringify(name)}`, () => setLinkAlias(sock, ifb.index, alias));
  return getLinkByName(sock, name);
}

/**
 * Returns the host end of the container interface's veth, which prevResult must list without a sandbox (upstream
 * getHostInterface). Reads the container netns through a socket opened there; changes nothing. Throws upstream's texts.
 */
function findHostVeth(hostSock: NetlinkSocket, ctrNs: NetNS, ifname: string, interfaces: Interface[]): Link {
  if (interfaces.length === 0) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "no interfaces provided"); // upstream text
  let peerIndex: number;
  try {
    peerIndex = vethPeerIndex(ctrNs, ifname);
  } catch (e) {
    throw new Error(`container interface ${ifname} has no veth peer: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  let link: Link;
  try {
    link = getLinkByIndex(hostSock, peerIndex);
  } catch (e) {
    throw new Error(`veth peer with index ${peerIndex} is not in host ns`, { cause: e }); // upstream text
  }
  if (!anyOf(interfaces, (i) => !i.sandbox && i.name === link.name)) {
    throw new Error("no veth peer of container interface found in host ns"); // upstream text
  }
  return link;
}

/** Returns the ifindex of the peer of veth `ifname` in the netns (upstream ip.GetVethPeerIfindex, with its texts). */
function vethPeerIndex(ctrNs: NetNS, ifname: string): number {
  using ctrSock = openRouteSocket(ctrNs);
  let link: Link;
  try {
    link = getLinkByName(ctrSock, ifname);
  } catch (e) {
    throw new Error(`could not look up ${JSON.stringify(ifname)}: ${isNotFound(e) ? "Link not found" : (e as Error).message}`, { cause: e }); // upstream text
  }
  if (link.kind !== "veth") throw new Error(`interface ${JSON.stringify(ifname)} was not a veth interface`); // upstream text
  // Kernels before 5.x leave IFLA_LINK out when the peer's ifindex (in its own netns) equals the link's own.
  const peer = link.parentIndex ?? link.index;
  if (peer <= 0) throw new Error(`invalid 'peer_ifindex' ${peer}`); // upstream text (its ethtool fallback)
  return peer;
}

function check(args: CmdArgs): void {
  const conf = loadConf(args.stdin, { strict: true });
  if (!conf.prevResult) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "must be called as a chained plugin"); // upstream text
  using ctrNs = openContainerNetns(args.netns);
  using hostSock = openRouteSocket();
  const host = findHostVeth(hostSock, ctrNs, args.ifname, conf.prevResult.interfaces ?? []);
  const bw = conf.bandwidth;
  if (!bw || isZero(bw)) return;
  const tick = readTickInUsec();
  const ingress = shaped(bw, "ingress", tick);
  if (ingress) checkTbf(listShapingQdiscs(hostSock, host.index), ingress);
  const egress = shaped(bw, "egress", tick);
  if (egress) {
    let ifb: Link;
    try {
      ifb = getLinkByName(hostSock, ifbName(conf.name, args.containerId));
    } catch (e) {
      throw new Error(`get ifb device: ${isNotFound(e) ? "Link not found" : (e as Error).message}`, { cause: e }); // upstream text
    }
    checkTbf(listShapingQdiscs(hostSock, ifb.index), egress);
  }
}

// upstream SafeQdiscList: every qdisc of the device but pfifo_fast, which older kernels do not report.
function listShapingQdiscs(sock: NetlinkSocket, index: number): Qdisc[] {
  return filtered(listQdiscs(sock, index), (q) => q.kind !== "pfifo_fast");
}

/**
 * Throws upstream's CHECK error unless the tbf qdiscs carry these numbers. upstream quirk: the walk stops at the first
 * qdisc that is not a tbf, so a device whose root is something else (noqueue, after someone removed the tbf)
 * passes; kept, as the digest keeps upstream's CHECK.
 */
function checkTbf(qdiscs: Qdisc[], want: TbfParams): void {
  if (qdiscs.length === 0) throw new Error("Failed to find qdisc"); // upstream text
  for (const q of qdiscs) {
    if (q.kind !== "tbf" || !q.tbf) break;
    const why = tbfMismatch(q.tbf, want);
    if (why) throw new Error(why);
  }
}

/**
 * DEL: upstream deletes the ifb by name and nothing else; the host veth's qdiscs stay until the main plugin deletes
 * the veth. Ours also removes them, when the container's veth still leads to its host end, and only what is
 * provably ours: a root tbf 1:, and an ingress qdisc whose filters all redirect to this attachment's ifb. They are
 * judged while the ifb still exists (the redirect names its index) and removed after it, so the ifb goes first as
 * in upstream. Nothing being there (no netns, no link, no ifb, a second DEL) is what DEL wants. Errors are collected
 * and thrown at the end.
 */
function del(args: CmdArgs): void {
  const conf = loadConf(args.stdin, { strict: false });
  const name = ifbName(conf.name, args.containerId);
  using hostSock = openRouteSocket();
  const ifb = findLink(hostSock, name);
  const errors: string[] = [];
  let hostQdiscs: QdiscRef[] = [];
  try {
    hostQdiscs = ourHostQdiscs(hostSock, args, ifb);
  } catch (e) {
    errors.push(`failed to remove the qdiscs of the host veth: ${(e as Error).message}`);
  }
  if (ifb) {
    try {
      delLinkHandedOff(ifb.index); // this thread's netns is hostSock's; returns once the ifb is unlisted
    } catch (e) {
      if (!isNotFound(e)) errors.push(`failed to delete ${JSON.stringify(name)}: ${goNetlinkText(e)}`); // upstream text
    }
  }
  // A qdisc delete that finds none answers ENOENT or EINVAL ("Cannot find specified qdisc on specified device").
  const gone = (e: unknown) => isNotFound(e) || (e instanceof NetlinkError && e.errno === EINVAL);
  for (const q of hostQdiscs) {
    try {
      delQdisc(hostSock, q);
    } catch (e) {
      if (!gone(e)) errors.push(`failed to remove the qdiscs of the host veth: ${(e as Error).message}`);
    }
  }
  if (errors.length > 0) throw new Error(errors.join("; "));
}

function findLink(sock: NetlinkSocket, name: string): Link | undefined {
  try {
    return getLinkByName(sock, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw new Error(`failed to lookup ${JSON.stringify(name)}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

type QdiscRef = Parameters<typeof delQdisc>[1];

/** Returns the host veth's qdiscs that are provably this attachment's (see del), to delete; none when unsure. */
function ourHostQdiscs(hostSock: NetlinkSocket, args: CmdArgs, ifb: Link | undefined): QdiscRef[] {
  const host = hostVethOf(hostSock, args.netns, args.ifname);
  if (!host) return [];
  const qdiscs = listQdiscs(hostSock, host.index);
  const out: QdiscRef[] = [];
  const root = firstOf(qdiscs, (q) => q.parent === TC_H_ROOT);
  if (root?.kind === "tbf" && root.handle === TBF_HANDLE) out.push({ index: host.index, parent: TC_H_ROOT, handle: TBF_HANDLE });
  if (!ifb || !anyOf(qdiscs, (q) => q.kind === "ingress" && q.handle === INGRESS_HANDLE)) return out;
  const filters = listFilters(hostSock, host.index, INGRESS_HANDLE);
  const actions: (typeof filters)[number]["actions"] = [];
  for (const f of filters) actions.push(...f.actions);
  const ours = actions.length > 0 && allOf(filters, (f) => f.kind === "u32") && allOf(actions, (a) => a.mirred?.ifindex === ifb.index);
  if (ours) out.push({ index: host.index, parent: TC_H_INGRESS, handle: INGRESS_HANDLE, kind: "ingress" });
  return out;
}

/** Returns the host end of the container's veth, or undefined when anything on the way is gone (DEL's tolerance). */
function hostVethOf(hostSock: NetlinkSocket, netns: string, ifname: string): Link | undefined {
  if (netns === "") return undefined;
  let ctrNs: NetNS;
  try {
    ctrNs = openNetns(netns);
  } catch (e) {
    if (e instanceof NetnsNotExistError) return undefined;
    throw e;
  }
  try {
    const peer = vethPeerIndex(ctrNs, ifname);
    const link = getLinkByIndex(hostSock, peer);
    return link.kind === "veth" ? link : undefined;
  } catch {
    return undefined; // no container link, not a veth, or the peer is not in this netns: not ours to touch
  } finally {
    ctrNs.close();
  }
}

/**
 * Our addition (upstream declares no GC): deletes this network's ifbs whose container is not among
 * `cni.dev/valid-attachments`. Without that list the runtime has told us nothing, and nothing is removed. An ifb is
 * this network's only if its alias says so and matches its name (record.ts); another network's, or one made by the
 * Go plugin (no alias), is never touched.
 */
function gc(args: CmdArgs): void {
  const conf = loadConf(args.stdin, { strict: false });
  const valid = loadValidAttachments(args.stdin, "PluginConf");
  if (!valid) return;
  const keep = new Set(valid.map((a) => ifbName(conf.name, a.containerID)));
  using sock = openRouteSocket();
  const errors: string[] = [];
  for (const link of listLinks(sock)) {
    if (link.kind !== "ifb" || keep.has(link.name)) continue;
    if (ifbOwner(link.name, link.alias)?.network !== conf.name) continue;
    try {
      delLink(sock, link.index);
    } catch (e) {
      if (!isNotFound(e)) errors.push(`failed to delete ${JSON.stringify(link.name)}: ${goNetlinkText(e)}`);
    }
  }
  if (errors.length > 0) throw new Error(errors.join("; "));
}

export const bandwidth: Plugin = { name: "bandwidth", versions: ALL_VERSIONS.slice(2), add, del, check, gc };
