// meta/vrf/vrf.ts: puts the interface a previous plugin made into a VRF inside the container (SPEC-DIGEST §3.6).
// ADD finds the VRF `vrfname` or creates it (table `table`, or the smallest id no VRF of the netns uses) and enslaves
// the interface. Enslaving cycles the link, which drops its routes and, without keep_addr_on_down, its global IPv6
// addresses; so the addresses are put back and the routes the link had (scope universe, main table) are replaced
// into the VRF's table. DEL releases the interface and deletes the VRF once no member is left.
//
// Unlike upstream: the interface is looked up before the VRF is created (upstream creates it first and leaks it when
// the interface is missing or enslaved elsewhere), a failed ADD undoes what it did, and DEL with the interface gone
// still removes an empty VRF instead of failing, and releases the interface only from this VRF.
import { netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import { decodeRoot, str, struct, uint32 } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { parsePrevResult } from "../../pkg/cni/result.ts";
import { ALL_VERSIONS, type CmdArgs, type NetConf, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { addAddr, listAddrs, type Addr } from "../../pkg/ip/address.ts";
import { formatCIDR, formatIP, ipEqual } from "../../pkg/ip/cidr.ts";
import { addLink, delLink, getLinkByIndex, getLinkByName, listLinks, setLinkMaster, setLinkUp, type Link } from "../../pkg/ip/link.ts";
import { RT_SCOPE_UNIVERSE, RT_TABLE_MAIN } from "../../pkg/ip/nl/consts.ts";
import { isNotFound, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { addRoute, listRoutes, type Route, type RouteSpec } from "../../pkg/ip/route.ts";
import { listMainRoutes, routeInTable } from "../../pkg/ip/route-move.ts";
import { NetnsNotExistError, openNetns, type NetNS } from "../../pkg/ns/netns.ts";
import { firstFreeVrfTable, isSameAddr, restoredAddr, vrfLink } from "./requests.ts";

/** Upstream's VersionsStartingFrom("0.3.1"). */
const VERSIONS = ALL_VERSIONS.slice(ALL_VERSIONS.indexOf("0.3.1"));

const vrfDecoder = struct("VRFNetConf", { ...netConfFields, vrfname: str, table: uint32 });

interface VrfConf extends NetConf {
  vrfname: string;
  /** 0: an existing VRF's table is fine, a new VRF gets the first free one. */
  table: number;
}

/** Returns the config; throws the decode error, code 7 without `vrfname`, then prevResult's error (upstream's order). */
function loadConf(stdin: Uint8Array): VrfConf {
  const raw = parseStdin(stdin) as Record<string, unknown>;
  let c: ReturnType<typeof vrfDecoder>;
  try {
    c = decodeRoot(raw, vrfDecoder, "VRFNetConf");
  } catch (e) {
    throw new Error(`failed to load netconf: ${(e as Error).message}`); // upstream text
  }
  if (!c.vrfname) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "configuration is expected to have a valid vrf name"); // upstream text
  const conf: VrfConf = { cniVersion: c.cniVersion ?? "", name: c.name ?? "", type: c.type ?? "", raw, vrfname: c.vrfname, table: c.table ?? 0 };
  if (c.prevResult) {
    try {
      conf.prevResult = parsePrevResult(c.prevResult, conf.cniVersion);
    } catch (e) {
      // upstream quirk: version.ParsePrevResult's error already says so, and the plugin says it again.
      throw new Error(`could not parse prevResult: ${(e as Error).message}`);
    }
  }
  return conf;
}

function requirePrevResult(conf: VrfConf): Result {
  if (!conf.prevResult) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "missing prevResult from earlier plugin"); // upstream text
  return conf.prevResult;
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  const prev = requirePrevResult(conf);
  const undo = new Undo();
  try {
    using ns = openNetns(args.netns);
    // A socket opened in the netns works from this thread, so the waits below need not block inside withNetns.
    using sock = openRouteSocket(ns);
    try {
      await addToVrf(sock, conf, args.ifname, undo);
    } catch (e) {
      await undo.run();
      throw e;
    }
  } catch (e) {
    throw new Error(`cmdAdd failed: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  return prev;
}

async function addToVrf(sock: NetlinkSocket, conf: VrfConf, ifname: string, undo: Undo): Promise<void> {
  let vrf = findVrf(sock, conf.vrfname);
  if (vrf && conf.table !== 0 && vrf.vrfTable !== conf.table) {
    throw new Error(`VRF ${conf.vrfname} already exist with different routing table ${vrf.vrfTable}`); // upstream text
  }
  let link: Link;
  try {
    link = getLinkByName(sock, ifname);
  } catch (e) {
    if (isNotFound(e)) throw new Error(`could not get link by name ${ifname}`); // upstream text
    throw e;
  }
  if (link.masterIndex) {
    let master: string;
    try {
      master = getLinkByIndex(sock, link.masterIndex).name;
    } catch (e) {
      throw new Error(`interface ${ifname} has already a master set, could not retrieve the name: ${(e as Error).message}`); // upstream text
    }
    throw new Error(`interface ${ifname} has already a master set: ${master}`); // upstream text
  }
  vrf ??= createVrf(sock, conf, undo);
  await enslave(sock, vrf, link, undo);
}

/** Returns the link called name when it is a VRF, undefined when there is none; throws when it is something else. */
function findVrf(sock: NetlinkSocket, name: string): Link | undefined {
  let link: Link;
  try {
    link = getLinkByName(sock, name);
  } catch (e) {
    if (isNotFound(e)) return undefined;
    throw e;
  }
  if (link.kind !== "vrf") throw new Error(`Netlink ${name} is not a VRF`); // upstream text
  return link;
}

function createVrf(sock: NetlinkSocket, conf: VrfConf, undo: Undo): Link {
  const table = conf.table || firstFreeVrfTable(listLinks(sock));
  try {
    addLink(sock, vrfLink(conf.vrfname, table));
  } catch (e) {
    throw new Error(`could not add VRF ${conf.vrfname}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  const vrf = getLinkByName(sock, conf.vrfname);
  undo.push(`VRF ${conf.vrfname}`, () => delLink(sock, vrf.index));
  try {
    setLinkUp(sock, vrf.index);
  } catch (e) {
    throw new Error(`could not set link up for VRF ${conf.vrfname}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  return vrf;
}

// upstream: 9 looks for the re-added address's local route, 10 ms apart doubling (about 2.5 s in all).
const ROUTE_WAIT_TRIES = 9;
const ROUTE_WAIT_FIRST_MS = 10;

async function enslave(sock: NetlinkSocket, vrf: Link, link: Link, undo: Undo): Promise<void> {
  const table = vrf.vrfTable!;
  // Global IPv6 addresses survive the cycle only with keep_addr_on_down, and every route of the link goes: save
  // what the link has now (connected and local routes come back by themselves, in the VRF's table).
  const before = globalIPv6(sock, link.index);
  const routes = listMainRoutes(sock, { oif: link.index }).filter((r) => r.scope === RT_SCOPE_UNIVERSE);
  try {
    setLinkMaster(sock, link.index, vrf.index);
  } catch (e) {
    throw new Error(`could not set vrf ${vrf.name} as master of ${link.name}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  undo.push(`${link.name} in VRF ${vrf.name}`, () => release(sock, link.index, before, routes));

  const after = globalIPv6(sock, link.index);
  for (const addr of before) {
    if (after.some((a) => isSameAddr(a, addr))) continue;
    try {
      addAddr(sock, restoredAddr(addr));
    } catch (e) {
      throw new Error(`could not restore address ${formatCIDR(addr)} to ${link.name} @ ${vrf.name}: ${(e as Error).message}`, { cause: e }); // upstream text
    }
    // The address is tentative until DAD ends; only then does its local route appear in the VRF's table, and a
    // route via a gateway in its subnet can be added.
    if (!(await waitForLocalRoute(sock, addr, table, link.index))) {
      throw new Error(`failed getting local/host addresses for ${link.name} in table ${table} with dst ${formatCIDR(addr)}`); // upstream text
    }
  }

  for (const r of routes) {
    const moved = routeInTable(r, table);
    try {
      addRoute(sock, moved, "replace");
    } catch (e) {
      throw new Error(`could not add route '${routeText(moved)}': ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
}

/** Returns the link's global-scope IPv6 addresses. */
function globalIPv6(sock: NetlinkSocket, index: number): Addr[] {
  return listAddrs(sock, { index, family: 6 }).filter((a) => a.scope === RT_SCOPE_UNIVERSE);
}

/** Returns whether the local route `<addr>/128` showed up in `table` on the link, polling as upstream does. */
async function waitForLocalRoute(sock: NetlinkSocket, addr: Addr, table: number, oif: number): Promise<boolean> {
  for (let attempt = 0; attempt < ROUTE_WAIT_TRIES; attempt++) {
    const found = listRoutes(sock, { family: addr.family, table, oif })
      .some((r) => r.dst !== undefined && r.dst.prefix === 128 && ipEqual(r.dst.ip, addr.ip));
    if (found) return true;
    if (attempt < ROUTE_WAIT_TRIES - 1) await Bun.sleep(ROUTE_WAIT_FIRST_MS << attempt);
  }
  return false;
}

/** Undo of enslave: out of the VRF, the addresses it lost put back, its routes back in the main table. */
function release(sock: NetlinkSocket, index: number, addrs: Addr[], routes: Route[]): void {
  setLinkMaster(sock, index, 0);
  const now = globalIPv6(sock, index);
  for (const a of addrs) if (!now.some((b) => isSameAddr(a, b))) addAddr(sock, restoredAddr(a));
  for (const r of routes) {
    try {
      addRoute(sock, routeInTable(r, RT_TABLE_MAIN), "replace");
    } catch (e) {
      console.error(`failed to put back route ${routeText(r)}: ${(e as Error).message}`);
    }
  }
}

/** Returns `<dst> [via <gw>] [dev index <oif>] [table <t>]` for a message (Go prints its Route struct there). */
function routeText(r: RouteSpec): string {
  const dst = r.dst ? formatCIDR(r.dst) : "default";
  const table = r.table !== undefined && r.table !== RT_TABLE_MAIN ? ` table ${r.table}` : "";
  return `${dst}${r.gw ? ` via ${formatIP(r.gw)}` : ""}${r.oif !== undefined ? ` dev index ${r.oif}` : ""}${table}`;
}

/** Opens the netns for DEL; returns undefined when CNI_NETNS is empty or no longer exists (nothing to undo). */
function openForDel(path: string): NetNS | undefined {
  if (path === "") return undefined;
  try {
    return openNetns(path);
  } catch (e) {
    if (e instanceof NetnsNotExistError) return undefined;
    throw e;
  }
}

function del(args: CmdArgs): void {
  const conf = loadConf(args.stdin);
  using ns = openForDel(args.netns);
  if (!ns) return;
  using sock = openRouteSocket(ns);
  const vrf = findVrf(sock, conf.vrfname);
  if (!vrf) return;
  let link: Link | undefined;
  try {
    link = getLinkByName(sock, args.ifname);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
  if (link?.masterIndex === vrf.index) {
    try {
      setLinkMaster(sock, link.index, 0);
    } catch (e) {
      throw new Error(`resetMaster: could reset master to ${args.ifname}: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
  // The last member gone, the VRF goes too.
  if (members(sock, vrf).length > 0) return;
  try {
    delLink(sock, vrf.index);
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

function members(sock: NetlinkSocket, vrf: Link): Link[] {
  return listLinks(sock).filter((l) => l.masterIndex === vrf.index);
}

function check(args: CmdArgs): void {
  const conf = loadConf(args.stdin);
  requirePrevResult(conf);
  using ns = openNetns(args.netns);
  using sock = openRouteSocket(ns);
  const vrf = findVrf(sock, conf.vrfname);
  if (!vrf) throw new Error(`failed to find vrf ${conf.vrfname}: Link not found`);
  if (!members(sock, vrf).some((l) => l.name === args.ifname)) {
    throw new Error(`failed to find ${args.ifname} associated to vrf ${conf.vrfname}`); // upstream text
  }
}

export const vrf: Plugin = { name: "vrf", versions: VERSIONS, add, del, check };
