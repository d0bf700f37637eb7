// plugins/ptp/ptp.ts: a routed veth per container (SPEC-DIGEST §1.2). The container gets its address with the
// gateway reachable only through a /32 (/128) link route, the host end carries the gateway address, and the host
// routes the container's address to the veth: point to point over a link type that has no such mode.
import { loadNetConf, netConfFields } from "../../pkg/cni/conf.ts";
import { bool, int, str, struct } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { isDnsSet } from "../../pkg/cni/dns.ts";
import { ALL_VERSIONS, type CmdArgs, type IPConfig, type NetConf, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { ipamAdd, ipamRun } from "../../pkg/ipam/ipam.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { networkOf, parseCIDR, parseIP, type IPNet } from "../../pkg/ip/cidr.ts";
import { addAddr } from "../../pkg/ip/address.ts";
import { validateExpectedInterfaceIPs, validateExpectedRoutes } from "../../pkg/ip/check.ts";
import { enableForward } from "../../pkg/ip/forward.ts";
import { delLink, getLinkByName, type Link } from "../../pkg/ip/link.ts";
import { RT_SCOPE_HOST, RT_SCOPE_LINK, RT_SCOPE_UNIVERSE } from "../../pkg/ip/nl/consts.ts";
import { hasErrno, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { addRoute, delRoute } from "../../pkg/ip/route.ts";
import { setupVeth } from "../../pkg/ip/veth.ts";
import { configuredMasqBackend, setupIPMasq, teardownIPMasq } from "../../pkg/netfilter/ipmasq.ts";
import { delLinkAndMasq } from "../../pkg/netfilter/ipmasq-del.ts";
import { checkIPMasqAvailable, gcIPMasqOfConf, runAllSteps } from "../../pkg/netfilter/ipmasq-gc-status.ts";
import { openContainerNetns, openNetns, withNetns } from "../../pkg/ns/netns.ts";
import { EEXIST } from "../../pkg/sys/libc.ts";

const ptpConf = struct("NetConf", { ...netConfFields, ipMasq: bool, ipMasqBackend: str, mtu: int });

interface PtpConf extends NetConf {
  ipMasq: boolean;
  ipMasqBackend?: string;
  mtu: number;
}

function loadConf(stdin: Uint8Array): PtpConf {
  const c = loadNetConf(stdin, ptpConf);
  return { ...c, ipMasq: c.ipMasq ?? false, mtu: c.mtu ?? 0 };
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  const backend = configuredMasqBackend(conf.ipMasq, conf.ipMasqBackend);
  if (conf.mtu < 0) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid MTU ${conf.mtu}`);
  using ctrNs = openContainerNetns(args.netns);
  // Sockets live in the netns they were opened in: one per side, opened up front, usable from the host thread.
  // Opened outside the try so the undo steps can still use them.
  using hostSock = openRouteSocket();
  using ctrSock = openRouteSocket(ctrNs);
  using hostNs = openNetns("/proc/thread-self/ns/net");
  const undo = new Undo();
  try {
    const result = await ipamAdd(conf, args.stdin);
    undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
    if (!result.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
    for (const ipc of result.ips) if (!ipc.gateway) throw new Error(`IPAM result for ${ipc.address} has no gateway: ptp needs one`);
    try {
      enableForward(result.ips);
    } catch (e) {
      throw new Error(`Could not enable IP forwarding: ${(e as Error).message}`, { cause: e }); // upstream text
    }

    const veth = setupVeth(ctrSock, hostSock, hostNs, { ifname: args.ifname, mtu: conf.mtu });
    // Deleting one end of a veth deletes both.
    undo.push("veth", () => delLink(ctrSock, veth.container.index));

    for (const ipc of result.ips) ipc.interface = 1;
    result.interfaces = [
      { name: veth.host.name, mac: veth.host.mac },
      { name: veth.container.name, mac: veth.container.mac, sandbox: args.netns },
    ];
    withNetns(ctrNs, () => configureContainer(ctrSock, args.ifname, result));
    setupHostVeth(hostSock, veth.host, result.ips);

    if (backend) {
      const masq = { network: conf.name, ifname: args.ifname, containerId: args.containerId, ips: result.ips.map((i) => parseCIDR(i.address)!) };
      undo.push("ipMasq", () => teardownIPMasq(masq));
      setupIPMasq(backend, masq);
    }
    if (isDnsSet(conf.dns)) result.dns = conf.dns;
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}

/**
 * The container side: addresses and routes from IPAM, then the point-to-point trick. The kernel's connected route
 * to the subnet is replaced by `gw/32 dev eth0 scope link` plus `subnet via gw`, so every packet, even to a
 * neighbour in the same subnet, goes to the gateway (the host end), which routes it.
 */
function configureContainer(sock: NetlinkSocket, ifname: string, result: Result): void {
  configureIface(sock, ifname, result);
  const index = getLinkByName(sock, ifname).index;
  for (const ipc of result.ips ?? []) {
    const addr = parseCIDR(ipc.address)!;
    const gw = parseIP(ipc.gateway!)!;
    const family = addr.ip.family;
    const subnet: IPNet = { ip: networkOf(addr), prefix: addr.prefix };
    try {
      delRoute(sock, { family, dst: subnet, oif: index, scope: RT_SCOPE_NOWHERE });
    } catch (e) {
      throw new Error(`failed to delete route ${ipc.address} dev ${ifname}: ${(e as Error).message}`, { cause: e });
    }
    const hostBits = family === 4 ? 32 : 128;
    const routes = [
      { family, dst: { ip: gw, prefix: hostBits }, oif: index, scope: RT_SCOPE_LINK, src: addr.ip },
      { family, dst: subnet, gw, oif: index, scope: RT_SCOPE_UNIVERSE, src: addr.ip },
    ];
    for (const r of routes) {
      try {
        addRoute(sock, r);
      } catch (e) {
        throw new Error(`failed to add route to ${r.dst.prefix === hostBits ? ipc.gateway : ipc.address} dev ${ifname}: ${(e as Error).message}`, { cause: e });
      }
    }
  }
}

// RT_SCOPE_NOWHERE: matches a route of any scope when deleting (what upstream's netlink.RouteDel sends).
const RT_SCOPE_NOWHERE = 255;

/** The host side: the gateway address on the veth (the same on every ptp veth) and a host route to the container. */
function setupHostVeth(sock: NetlinkSocket, veth: Link, ips: IPConfig[]): void {
  for (const ipc of ips) {
    const addr = parseCIDR(ipc.address)!;
    const bits = addr.ip.family === 4 ? 32 : 128;
    const gw = parseIP(ipc.gateway!)!;
    try {
      addAddr(sock, { index: veth.index, ip: gw, prefix: bits });
    } catch (e) {
      throw new Error(`failed to add IP addr ${ipc.gateway}/${bits} to veth: ${(e as Error).message}`, { cause: e });
    }
    try {
      addRoute(sock, { family: addr.ip.family, dst: { ip: addr.ip, prefix: bits }, oif: veth.index, scope: RT_SCOPE_HOST });
    } catch (e) {
      if (!hasErrno(e, EEXIST)) throw new Error(`failed to add route on host: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  await ipamRun("DEL", conf, args.stdin);
  // With the netns or the link already gone, the masquerade rules are still found (ipmasq-del.ts; upstream leaks them).
  const masq = conf.ipMasq ? { network: conf.name, ifname: args.ifname, containerId: args.containerId } : undefined;
  const masqError = delLinkAndMasq(args.netns, args.ifname, masq, conf.prevResult);
  if (masqError) throw masqError;
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  using ctrNs = openContainerNetns(args.netns);
  await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("ptp: Required prevResult missing"); // upstream text
  const ctr = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox === args.netns);
  if (!ctr) throw new Error(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`); // upstream text
  withNetns(ctrNs, () => {
    using sock = openRouteSocket();
    let link: Link;
    try {
      link = getLinkByName(sock, ctr.name);
    } catch {
      throw new Error(`ptp: Container Interface name in prevResult: ${ctr.name} not found`); // upstream text
    }
    if (link.kind !== "veth") throw new Error(`Error: Container interface ${link.name} not of type veth/p2p`); // upstream text
    if (ctr.mac && ctr.mac !== link.mac) {
      throw new Error(`ptp: Interface ${ctr.name} Mac ${ctr.mac} doesn't match container Mac: ${link.mac}`); // upstream text
    }
    validateExpectedInterfaceIPs(sock, args.ifname, prev.ips ?? []);
    validateExpectedRoutes(sock, prev.routes ?? []);
  });
}

/** STATUS: IPAM's answer (host-local: 50 when its store is not writable), then 50 when ipMasq has no netfilter tool. */
async function status(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  await ipamRun("STATUS", conf, args.stdin);
  checkIPMasqAvailable(conf.ipMasq, conf.ipMasqBackend);
}

/**
 * Our addition (upstream declares no GC): GC forwarded to IPAM (the spec has delegating plugins pass it on), then
 * the masquerade rules of this network's attachments missing from `cni.dev/valid-attachments` removed.
 */
async function gc(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  await runAllSteps([() => ipamRun("GC", conf, args.stdin), () => gcIPMasqOfConf(conf.name, args.stdin)]);
}

export const ptp: Plugin = { name: "ptp", versions: ALL_VERSIONS, add, del, check, status, gc };
