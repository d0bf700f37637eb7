// plugins/ipvlan/ipvlan.ts: an ipvlan device on a host interface (the master), made straight into the container
// under a temporary name and renamed there (SPEC-DIGEST §1.4). Its addresses come from IPAM, or, chained without
// `ipam`, from prevResult; then the master may be the one interface prevResult names. The whole config is judged
// before anything is made, and a failed ADD removes the link and frees the reservation (upstream removes neither).
import { loadNetConf, netConfFields } from "../../pkg/cni/conf.ts";
import { goQuote } from "../../pkg/cni/args.ts";
import { bool, int, str, struct } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type NetConf, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { delContainerLink } from "../../pkg/ip/container-link.ts";
import { checkSlaveLink, validateExpectedInterfaceIPs, validateExpectedRoutes } from "../../pkg/ip/check.ts";
import { defaultRouteLinkName } from "../../pkg/ip/default-route.ts";
import { delLink } from "../../pkg/ip/link.ts";
import type { IpvlanMode, IpvlanSpec } from "../../pkg/ip/link-kinds.ts";
import { lookupMaster } from "../../pkg/ip/master.ts";
import { openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { createRenamedLink, goErrorText } from "../../pkg/ip/renamed-link.ts";
import { writeSysctlIfPossible } from "../../pkg/ip/sysctl.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { ipamAdd, ipamRun, ipamStatusAndGc } from "../../pkg/ipam/ipam.ts";
import { openContainerNetns, withNetns } from "../../pkg/ns/netns.ts";


const ipvlanConf = struct("NetConf", { ...netConfFields, master: str, mode: str, mtu: int, linkInContainer: bool });

export interface IpvlanConf extends NetConf {
  /** "" means: the one interface of prevResult when chained, else the interface of the default route. */
  master: string;
  /** As written; modeOf judges it. */
  mode: string;
  mtu: number;
  linkInContainer: boolean;
  /** `ipam.type` is set; without it the addresses come from prevResult. */
  hasIpam: boolean;
}

/** Returns the decoded config, prevResult parsed; throws Go's decode errors as `failed to load netconf: json: …`. */
export function loadConf(stdin: Uint8Array): IpvlanConf {
  const c = loadNetConf(stdin, ipvlanConf);
  return {
    ...c,
    master: c.master ?? "",
    mode: c.mode ?? "",
    mtu: c.mtu ?? 0,
    linkInContainer: c.linkInContainer ?? false,
    hasIpam: typeof c.ipam?.type === "string" && c.ipam.type !== "",
  };
}

const MODES: Readonly<Record<string, IpvlanMode>> = { "": "l2", l2: "l2", l3: "l3", l3s: "l3s" };

/** Returns the kernel mode for the config's `mode`; throws code 7 `unknown ipvlan mode: "<mode>"`. */
export function modeOf(mode: string): IpvlanMode {
  const m = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
  if (!m) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `unknown ipvlan mode: ${goQuote(mode)}`); // upstream text
  return m;
}

/**
 * Returns the master's name: `master`, else the single named interface of prevResult when chained, else the link
 * of the default route (looked up through sock). Throws code 7 with upstream's words when there is none.
 */
export function masterName(conf: IpvlanConf, sock: NetlinkSocket): string {
  if (conf.master !== "") return conf.master;
  const prev = conf.prevResult;
  if (prev) {
    const [only, ...rest] = prev.interfaces ?? [];
    if (!only?.name || rest.length > 0) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, "chained master failure. PrevResult lacks a single named interface"); // upstream text
    }
    return only.name;
  }
  try {
    return defaultRouteLinkName(sock);
  } catch (e) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `"master" is not set and ${goErrorText(e)}`);
  }
}

/** Returns the RTM_NEWLINK spec of the ipvlan (kept pure so a unit test can compare its bytes with iproute2's). */
export function ipvlanSpec(o: { name: string; parentIndex: number; mode: IpvlanMode; mtu: number; netnsFd?: number }): IpvlanSpec {
  const spec: IpvlanSpec = { kind: "ipvlan", name: o.name, parentIndex: o.parentIndex, mode: o.mode };
  if (o.mtu > 0) spec.mtu = o.mtu; // vishvananda leaves a zero MTU out: the master's
  if (o.netnsFd !== undefined) spec.netnsFd = o.netnsFd;
  return spec;
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  using ctrNs = openContainerNetns(args.netns);
  // Sockets live in the netns they were opened in: one per side, opened up front, usable from the host thread.
  using hostSock = openRouteSocket();
  using ctrSock = openRouteSocket(ctrNs);
  // With linkInContainer the master is one of the container's links, and the ipvlan is made from in there.
  const lowerSock = conf.linkInContainer ? ctrSock : hostSock;
  const name = masterName(conf, lowerSock);
  const mode = modeOf(conf.mode);
  const master = lookupMaster(lowerSock, name);
  // Upstream does not judge the MTU; a slave's frames leave through its master, so an MTU above the master's cannot
  // work. Refused here, with macvlan's words.
  if (conf.mtu < 0 || conf.mtu > master.mtu) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid MTU ${conf.mtu}, must be [0, master MTU(${master.mtu})]`);
  }
  // Chained without `ipam`: the addresses of the plugin before are reused, when it gave any.
  const reuse = !conf.hasIpam && (conf.prevResult?.ips?.length ?? 0) > 0;
  if (!conf.hasIpam && !reuse) {
    // Upstream finds out only when it runs an IPAM plugin of type "", after the link is made (and leaves it).
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, 'no plugin name provided: the config has no "ipam" with a "type" and no prevResult with IPs to reuse');
  }

  const undo = new Undo();
  try {
    const link = createRenamedLink({
      createSock: lowerSock,
      ctrSock,
      ifname: args.ifname,
      what: "ipvlan",
      spec: (tmp) => ipvlanSpec({ name: tmp, parentIndex: master.index, mode, mtu: conf.mtu, netnsFd: conf.linkInContainer ? undefined : ctrNs.fd }),
    });
    undo.push("ipvlan", () => delLink(ctrSock, link.index));

    let result: Result;
    if (reuse) {
      result = structuredClone(conf.prevResult!);
    } else {
      result = await ipamAdd(conf, args.stdin);
      undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
      if (!result.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
    }
    // All addresses belong to the ipvlan, the only interface of the result.
    result.ips = result.ips!.map((ipc) => ({ ...ipc, interface: 0 }));
    result.interfaces = [{ name: args.ifname, mac: link.mac, sandbox: args.netns }];
    withNetns(ctrNs, () => {
      // Announce the addresses on link up (gratuitous ARP, unsolicited NA).
      writeSysctlIfPossible(`net/ipv4/conf/${args.ifname}/arp_notify`, "1");
      writeSysctlIfPossible(`net/ipv6/conf/${args.ifname}/ndisc_notify`, "1");
      configureIface(ctrSock, args.ifname, result);
    });
    // The config's dns, never IPAM's or prevResult's (upstream assigns it unconditionally).
    if (conf.dns) result.dns = conf.dns;
    else delete result.dns;
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}

async function del(args: CmdArgs): Promise<void> {
  // Upstream resolves the master here too, so its DEL fails on a host without a default route; DEL needs no master.
  const conf = loadConf(args.stdin);
  if (conf.hasIpam) await ipamRun("DEL", conf, args.stdin);
  // Tolerant of an empty CNI_NETNS (the link goes when the runtime removes the netns), a netns already gone, and
  // a link already deleted: DEL may come twice, or after the container is gone.
  delContainerLink(args.netns, args.ifname);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  using ctrNs = openContainerNetns(args.netns);
  if (conf.hasIpam) await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("Required prevResult missing"); // upstream text
  const ctr = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox === args.netns);
  if (!ctr) throw new Error(`Sandbox in prevResult  doesn't match configured netns: ${args.netns}`); // upstream text
  using ctrSock = openRouteSocket(ctrNs);
  // Upstream looks the master up by name even when `master` is empty, so its CHECK of such a config always fails.
  // prevResult (the chain's result, naming only the ipvlan by now) cannot tell which master ADD chose, and the
  // slave cannot outlive its master (the kernel deletes slaves with it): a named master is checked, an empty one not.
  if (conf.master !== "") {
    using hostSock = openRouteSocket();
    lookupMaster(conf.linkInContainer ? ctrSock : hostSock, conf.master);
  }
  checkSlaveLink(ctrSock, ctr.name, ctr.mac, "ipvlan", modeOf(conf.mode), (l) => l.ipvlanMode, { capitalized: true, modeName: "IPVlan" });
  validateExpectedInterfaceIPs(ctrSock, args.ifname, prev.ips ?? []);
  validateExpectedRoutes(ctrSock, prev.routes ?? []);
}

const { status, gc } = ipamStatusAndGc(loadConf, (conf) => conf.hasIpam);

export const ipvlan: Plugin = { name: "ipvlan", versions: ALL_VERSIONS, add, del, check, status, gc };
