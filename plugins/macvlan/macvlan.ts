// plugins/macvlan/macvlan.ts: a macvlan device on a host interface (the master), made straight into the container
// under a temporary name and renamed there (SPEC-DIGEST §1.3). With IPAM it gets addresses and routes; without, it
// is only brought up (layer 2). The whole config is judged before anything is made, and a failed ADD removes the
// link and frees the reservation (upstream leaves the link after an IPAM-step failure).
import { loadNetConf, netConfFields } from "../../pkg/cni/conf.ts";
import { argString, goQuote, parseCniArgs } from "../../pkg/cni/args.ts";
import { anyObject, bool, int, str, struct, uint32, type Decoder } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type NetConf, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { delContainerLink } from "../../pkg/ip/container-link.ts";
import { checkSlaveLink, validateExpectedInterfaceIPs, validateExpectedRoutes } from "../../pkg/ip/check.ts";
import { defaultRouteLinkName } from "../../pkg/ip/default-route.ts";
import { parseGoMAC } from "../../pkg/ip/go-mac.ts";
import { delLink, formatMAC, setLinkUp, type Link } from "../../pkg/ip/link.ts";
import type { MacvlanMode, MacvlanSpec } from "../../pkg/ip/link-kinds.ts";
import { lookupMaster } from "../../pkg/ip/master.ts";
import { openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { createRenamedLink, goErrorText } from "../../pkg/ip/renamed-link.ts";
import { writeSysctlIfPossible } from "../../pkg/ip/sysctl.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { ipamAdd, ipamRun, ipamStatusAndGc } from "../../pkg/ipam/ipam.ts";
import { openContainerNetns, withNetns } from "../../pkg/ns/netns.ts";

const q = JSON.stringify;

const fields = {
  ...netConfFields,
  master: str,
  mode: str,
  mtu: int,
  mac: str,
  linkInContainer: bool,
  bcqueuelen: uint32,
  // Typed as upstream's NetConf declares it, so a wrong type is a decode error as in Go.
  runtimeConfig: struct("", { mac: str }),
};
const macvlanConf = struct("NetConf", fields);
// ADD, DEL, STATUS and GC only decode (upstream's json.Unmarshal): prevResult must be an object but is not read,
// so a prevResult of another version family cannot fail them; CHECK parses it.
const unreadPrevResult: Decoder<Record<string, unknown>> = (v, at) => {
  anyObject(v, at);
  return undefined as unknown as Record<string, unknown>;
};
const macvlanConfUnparsedPrev = struct("NetConf", { ...fields, prevResult: unreadPrevResult });

export interface MacvlanConf extends NetConf {
  /** "" means the interface of the default route (in the container netns with linkInContainer). */
  master: string;
  /** As written; modeOf judges it. */
  mode: string;
  mtu: number;
  /** `mac` of the config; macOf adds CNI_ARGS and runtimeConfig. */
  mac: string;
  runtimeMac: string;
  linkInContainer: boolean;
  /** 0: the kernel's default (the attribute is left out). */
  bcqueuelen: number;
  /** `ipam.type` is set: addresses and routes; otherwise the link is layer 2 only. */
  isLayer3: boolean;
}

/** Returns the decoded config (prevResult parsed when readPrev); throws Go's decode errors as `<prefix>: json: …` (999). */
export function loadConf(stdin: Uint8Array, prefix = "failed to load netconf", readPrev = true): MacvlanConf {
  const c = loadNetConf(stdin, readPrev ? macvlanConf : macvlanConfUnparsedPrev, prefix);
  return {
    ...c,
    master: c.master ?? "",
    mode: c.mode ?? "",
    mtu: c.mtu ?? 0,
    mac: c.mac ?? "",
    runtimeMac: (c.runtimeConfig as { mac?: string } | undefined)?.mac ?? "",
    linkInContainer: c.linkInContainer ?? false,
    bcqueuelen: c.bcqueuelen ?? 0,
    isLayer3: typeof c.ipam?.type === "string" && c.ipam.type !== "",
  };
}

// upstream's modeFromString, plus "source" (the issue asks for every kernel mode; upstream v1.9.1 refuses it).
const MODES: Readonly<Record<string, MacvlanMode>> = { "": "bridge", bridge: "bridge", private: "private", vepa: "vepa", passthru: "passthru", source: "source" };

/** Returns the kernel mode for the config's `mode`; throws code 7 `unknown macvlan mode: "<mode>"`. */
export function modeOf(mode: string): MacvlanMode {
  const m = Object.hasOwn(MODES, mode) ? MODES[mode] : undefined;
  if (!m) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `unknown macvlan mode: ${goQuote(mode)}`); // upstream text
  return m;
}

/**
 * Returns the MAC the link gets, as colon hex, or undefined for the kernel's random one: config `mac`, then CNI_ARGS
 * `MAC`, then `runtimeConfig.mac`, the last non-empty one winning. Throws CNI_ARGS errors (999) and, for a MAC that
 * is not one Ethernet unicast address, code 7 in upstream's words.
 */
export function macOf(conf: MacvlanConf, cniArgs: string): string | undefined {
  const envMac = parseCniArgs(cniArgs, { MAC: argString }).MAC;
  const mac = conf.runtimeMac || envMac || conf.mac;
  if (!mac) return undefined;
  const bad = (why: string) => new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid args ${mac} for MAC addr: ${why}`); // upstream text
  let bytes: Uint8Array;
  try {
    bytes = parseGoMAC(mac);
  } catch (e) {
    throw bad((e as Error).message);
  }
  // Go hands these to the kernel, which refuses them (EINVAL, EADDRNOTAVAIL) once the ADD is under way.
  if (bytes.length !== 6) throw bad(`a macvlan needs a 6-byte Ethernet address, not ${bytes.length} bytes`);
  if (bytes[0]! & 1) throw bad("a multicast address cannot be a device address");
  if (bytes.every((b) => b === 0)) throw bad("the all-zeros address cannot be a device address");
  return formatMAC(bytes);
}

/** Returns the RTM_NEWLINK spec of the macvlan (kept pure so a unit test can compare its bytes with iproute2's). */
export function macvlanSpec(o: { name: string; parentIndex: number; mode: MacvlanMode; mtu: number; mac?: string; bcqueuelen: number; netnsFd?: number }): MacvlanSpec {
  const spec: MacvlanSpec = { kind: "macvlan", name: o.name, parentIndex: o.parentIndex, mode: o.mode };
  // vishvananda leaves out a zero MTU and a zero bcqueuelen: the kernel's defaults (the master's MTU; 1000).
  if (o.mtu > 0) spec.mtu = o.mtu;
  if (o.mac !== undefined) spec.mac = o.mac;
  if (o.netnsFd !== undefined) spec.netnsFd = o.netnsFd;
  if (o.bcqueuelen > 0) spec.bcqueuelen = o.bcqueuelen;
  return spec;
}

/**
 * Returns the master link, looked up through sock (the host's, or the container's with linkInContainer), after
 * judging `mtu` against its MTU. Throws code 7 for a missing master, no default route, or an MTU out of range.
 */
function resolveMaster(conf: MacvlanConf, sock: NetlinkSocket): Link {
  let name = conf.master;
  if (name === "") {
    try {
      name = defaultRouteLinkName(sock);
    } catch (e) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, `"master" is not set and ${goErrorText(e)}`);
    }
  }
  const master = lookupMaster(sock, name);
  if (conf.mtu < 0 || conf.mtu > master.mtu) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid MTU ${conf.mtu}, must be [0, master MTU(${master.mtu})]`); // upstream text
  }
  return master;
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin, "failed to load netconf", false); // ADD never reads prevResult, as upstream
  using ctrNs = openContainerNetns(args.netns);
  // Sockets live in the netns they were opened in: one per side, opened up front, usable from the host thread.
  using hostSock = openRouteSocket();
  using ctrSock = openRouteSocket(ctrNs);
  // With linkInContainer the master is one of the container's links, and the macvlan is made from in there.
  const lowerSock = conf.linkInContainer ? ctrSock : hostSock;
  const master = resolveMaster(conf, lowerSock);
  const mac = macOf(conf, args.args);
  const mode = modeOf(conf.mode);
  if (!conf.isLayer3 && !versionAtLeast(conf.cniVersion || "0.1.0", "0.3.0")) {
    // Upstream finds out when printing, after the link is made (and leaves it); a 0.1/0.2 result needs an address.
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `cannot convert: no valid IP addresses (a cniVersion ${conf.cniVersion || "0.1.0"} result needs one: set "ipam")`);
  }

  const undo = new Undo();
  try {
    const link = createRenamedLink({
      createSock: lowerSock,
      ctrSock,
      ifname: args.ifname,
      what: "macvlan",
      spec: (name) => macvlanSpec({
        name, parentIndex: master.index, mode, mtu: conf.mtu, mac, bcqueuelen: conf.bcqueuelen,
        netnsFd: conf.linkInContainer ? undefined : ctrNs.fd,
      }),
    });
    undo.push("macvlan", () => delLink(ctrSock, link.index));
    const result: Result = { cniVersion: "1.1.0", interfaces: [{ name: args.ifname, mac: link.mac, sandbox: args.netns }] };

    if (conf.isLayer3) {
      const ipam = await ipamAdd(conf, args.stdin);
      undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
      if (!ipam.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
      // All addresses belong to the macvlan.
      result.ips = ipam.ips.map((ipc) => ({ ...ipc, interface: 0 }));
      if (ipam.routes) result.routes = ipam.routes;
      withNetns(ctrNs, () => {
        // Announce the addresses on link up (gratuitous ARP, unsolicited NA).
        writeSysctlIfPossible(`net/ipv4/conf/${args.ifname}/arp_notify`, "1");
        writeSysctlIfPossible(`net/ipv6/conf/${args.ifname}/ndisc_notify`, "1");
        configureIface(ctrSock, args.ifname, result);
      });
    } else {
      try {
        setLinkUp(ctrSock, link.index);
      } catch (e) {
        throw new Error(`failed to set ${q(args.ifname)} UP: ${goErrorText(e)}`, { cause: e }); // upstream text
      }
    }
    // The config's dns, never IPAM's (upstream assigns it unconditionally).
    if (conf.dns) result.dns = conf.dns;
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, "failed to load netConf", false); // upstream text (capital C)
  if (conf.isLayer3) await ipamRun("DEL", conf, args.stdin);
  // Tolerant of an empty CNI_NETNS (the link goes when the runtime removes the netns), a netns already gone, and
  // a link already deleted: DEL may come twice, or after the container is gone.
  delContainerLink(args.netns, args.ifname);
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  using ctrNs = openContainerNetns(args.netns);
  using hostSock = openRouteSocket();
  using ctrSock = openRouteSocket(ctrNs);
  const lowerSock = conf.linkInContainer ? ctrSock : hostSock;
  // upstream's loadConf: the master must exist and the MTU fit it, and CNI_ARGS must parse.
  resolveMaster(conf, lowerSock);
  parseCniArgs(args.args, { MAC: argString });
  if (conf.isLayer3) await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("required prevResult missing"); // upstream text
  const ctr = prev.interfaces?.find((i) => i.name === args.ifname && i.sandbox === args.netns);
  if (!ctr) throw new Error(`sandbox in prevResult  doesn't match configured netns: ${args.netns}`); // upstream text
  checkSlaveLink(ctrSock, ctr.name, ctr.mac, "macvlan", modeOf(conf.mode), (l) => l.macvlanMode, { capitalized: false, modeName: "macvlan" });
  validateExpectedInterfaceIPs(ctrSock, args.ifname, prev.ips ?? []);
  validateExpectedRoutes(ctrSock, prev.routes ?? []);
}

// upstream: the config decoded (prevResult left as it is), then IPAM's STATUS when the config has IPAM.
const { status, gc } = ipamStatusAndGc((stdin) => loadConf(stdin, "failed to load netconf", false), (conf) => conf.isLayer3);

export const macvlan: Plugin = { name: "macvlan", versions: ALL_VERSIONS, add, del, check, status, gc };
