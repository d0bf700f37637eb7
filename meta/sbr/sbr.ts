// meta/sbr/sbr.ts: source-based routing for the addresses a previous plugin gave an interface (SPEC-DIGEST §3.5).
// Each address gets a rule `from <ip> lookup <T>`, and its table T (the first free one from 100) gets a default route
// via its gateway plus copies of the interface's main-table routes; the originals then leave the main table, or with
// addSourceHints the subnet routes stay there with the address as their source. With `table` set, only the rules.
// ADD and DEL hold an exclusive flock on the CNI_NETNS file, upstream's lock, so instances (theirs and ours) that
// share a netns never pick the same table.
//
// Unlike upstream: the config (gateways, table) is checked before anything changes, a failed ADD undoes what it did
// (rules, routes added, routes taken out of the main table), and DEL succeeds when the netns is gone or CNI_NETNS is
// empty (upstream's lock opens the path with O_CREAT, leaves a regular file there and fails).
import { netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import { array, bool, decodeRoot, int, str, struct } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { parsePrevResult } from "../../pkg/cni/result.ts";
import { ALL_VERSIONS, type CmdArgs, type NetConf, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { listAddrs } from "../../pkg/ip/address.ts";
import { formatIP, ipEqual } from "../../pkg/ip/cidr.ts";
import { getLinkByName } from "../../pkg/ip/link.ts";
import { RT_SCOPE_LINK, RT_TABLE_MAIN } from "../../pkg/ip/nl/consts.ts";
import { isNotFound, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { addRoute, delRoute } from "../../pkg/ip/route.ts";
import { listMainRoutes, routeInTable } from "../../pkg/ip/route-move.ts";
import { addRule, delRule, listRules, type Rule } from "../../pkg/ip/rule.ts";
import { NetnsNotExistError, openContainerNetns, openNetns, type NetNS } from "../../pkg/ns/netns.ts";
import { lockNetns } from "./netns-lock.ts";
import {
  belongsTo, defaultRoute, firstFreeTable, FIRST_TABLE, gatewayFor, parseGateways, sourceHintRoute, sourceIPs,
  sourceRule, validateTable, type SourceIP, type StaticGateways,
} from "./routing.ts";

const sbrDecoder = struct("PluginConf", {
  ...netConfFields,
  table: int,
  gateways: array(str, "[]string"),
  addSourceHints: bool,
});

interface SbrConf extends NetConf {
  /** Upstream's *int: undefined picks tables itself; set, ADD adds only the rules and DEL looks only at this table. */
  table?: number;
  gateways: (string | undefined)[];
  addSourceHints: boolean;
}

function loadConf(stdin: Uint8Array): SbrConf {
  const raw = parseStdin(stdin) as Record<string, unknown>;
  let c: ReturnType<typeof sbrDecoder>;
  try {
    c = decodeRoot(raw, sbrDecoder, "PluginConf");
  } catch (e) {
    throw new Error(`failed to parse network configuration: ${(e as Error).message}`); // upstream text
  }
  const conf: SbrConf = {
    cniVersion: c.cniVersion ?? "",
    name: c.name ?? "",
    type: c.type ?? "",
    raw,
    table: c.table,
    gateways: c.gateways ?? [],
    addSourceHints: c.addSourceHints ?? false,
  };
  if (c.prevResult) conf.prevResult = parsePrevResult(c.prevResult, conf.cniVersion);
  return conf;
}

/** Returns the static gateways; throws code 7 on a bad `table` or `gateways` (checked whether or not they are used). */
function validate(conf: SbrConf): StaticGateways {
  if (conf.table !== undefined) validateTable(conf.table);
  return parseGateways(conf.gateways);
}

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "This plugin must be called as chained plugin"); // upstream text
  const ips = sourceIPs(args.ifname, prev);
  const statics = validate(conf);
  using ns = openContainerNetns(args.netns);
  lockNetns(ns); // released when ns closes, after any undo
  using sock = openRouteSocket(ns);
  const undo = new Undo();
  try {
    if (conf.table !== undefined) addRules(sock, ips, conf.table, undo);
    else routeBySource(sock, args.ifname, ips, statics, conf.addSourceHints, undo);
  } catch (e) {
    await undo.run();
    throw e;
  }
  return prev;
}

/** With `table`: one rule per address into it, nothing else (upstream doRoutesWithTable). */
function addRules(sock: NetlinkSocket, ips: SourceIP[], table: number, undo: Undo): void {
  for (const ip of ips) {
    const rule = sourceRule(ip.addr.ip, table);
    try {
      addRule(sock, rule);
    } catch (e) {
      throw new Error(`failed to add rule: ${(e as Error).message}`, { cause: e }); // upstream text
    }
    undo.push(`rule from ${formatIP(ip.addr.ip)} table ${table}`, () => ignoreNotFound(() => delRule(sock, rule)));
  }
}

/** Without `table`: a table per address, its rule, default route and route copies; then the main table's cleanup. */
function routeBySource(sock: NetlinkSocket, ifname: string, ips: SourceIP[], statics: StaticGateways, hints: boolean, undo: Undo): void {
  const rules = listAllRules(sock);
  let table = firstFreeTable(rules, listMainRoutes(sock), FIRST_TABLE);
  let index: number;
  try {
    index = getLinkByName(sock, ifname).index;
  } catch (e) {
    const why = isNotFound(e) ? "Link not found" : (e as Error).message; // vishvananda's LinkNotFoundError text
    throw new Error(`Cannot find network interface ${ifname}: ${why}`, { cause: e }); // upstream text
  }
  const routes = listMainRoutes(sock, { oif: index });

  for (const ip of ips) {
    const family = ip.addr.ip.family;
    const rule = sourceRule(ip.addr.ip, table);
    try {
      addRule(sock, rule);
    } catch (e) {
      throw new Error(`Failed to add rule: ${(e as Error).message}`, { cause: e }); // upstream text
    }
    undo.push(`rule from ${formatIP(ip.addr.ip)} table ${table}`, () => ignoreNotFound(() => delRule(sock, rule)));

    // The previous plugin may have left no default route; the table gets its own.
    const gw = gatewayFor(ip, statics);
    if (gw) {
      const route = defaultRoute(family, gw, index, table);
      try {
        addRoute(sock, route);
      } catch (e) {
        throw new Error(`Failed to add default route to ${formatIP(gw)}: ${(e as Error).message}`, { cause: e }); // upstream text
      }
      undo.push(`default route table ${table}`, () => ignoreNotFound(() => delRoute(sock, route)));
    }

    // Copies, not moves: two addresses in one subnet both need the subnet route, so the originals go at the end.
    // Replace, since the default route just added may be among them.
    for (const r of routes) {
      if (!belongsTo(ip.addr, r)) continue;
      const copy = routeInTable(r, table);
      try {
        addRoute(sock, copy, "replace");
      } catch (e) {
        throw new Error(`Failed to readd route: ${(e as Error).message}`, { cause: e }); // upstream text
      }
      undo.push(`route copy in table ${table}`, () => ignoreNotFound(() => delRoute(sock, copy)));
    }
    table = firstFreeTable(rules, routes, table + 1);
  }

  if (!hints) {
    for (const r of routes) {
      const original = routeInTable(r, RT_TABLE_MAIN);
      try {
        delRoute(sock, original);
      } catch (e) {
        throw new Error(`Failed to delete route: ${(e as Error).message}`, { cause: e }); // upstream text
      }
      undo.push("route taken out of the main table", () => addRoute(sock, original, "replace"));
    }
    return;
  }
  // addSourceHints: the subnet routes stay in main with the address as source, so a socket that names no source
  // still picks the right one; everything else leaves main. Failures here are warnings, as upstream's.
  for (const ip of ips) {
    try {
      addRoute(sock, sourceHintRoute(ip.addr, index), "replace");
    } catch (e) {
      console.error(`Warning: Failed to add subnet route to main table: ${(e as Error).message}`); // upstream text
    }
  }
  for (const r of routes) {
    if (r.scope === RT_SCOPE_LINK) continue;
    try {
      delRoute(sock, routeInTable(r, RT_TABLE_MAIN));
    } catch (e) {
      console.error(`Warning: Failed to delete route: ${(e as Error).message}`); // upstream text
    }
  }
}

/** Returns the IPv4 and IPv6 rules (upstream's RuleList(FAMILY_ALL)). */
function listAllRules(sock: NetlinkSocket): Rule[] {
  try {
    return [...listRules(sock, 4), ...listRules(sock, 6)];
  } catch (e) {
    throw new Error(`Failed to list all rules: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

function ignoreNotFound(fn: () => void): void {
  try {
    fn();
  } catch (e) {
    if (!isNotFound(e)) throw e;
  }
}

/**
 * DEL: every rule (only those of `table`, when set) whose source is an address the interface still holds. A missing
 * interface, netns or CNI_NETNS is success; a rule that fails to go is reported after trying the rest.
 */
function del(args: CmdArgs): void {
  const conf = loadConf(args.stdin);
  if (args.netns === "") return;
  let ns: NetNS;
  try {
    ns = openNetns(args.netns);
  } catch (e) {
    if (e instanceof NetnsNotExistError) return;
    throw new Error(`failed to open netns ${JSON.stringify(args.netns)}: ${(e as Error).message}`, { cause: e });
  }
  using _ns = ns;
  lockNetns(ns);
  using sock = openRouteSocket(ns);
  let rules = listAllRules(sock);
  if (conf.table !== undefined) rules = rules.filter((r) => r.table === conf.table);
  let index: number;
  try {
    index = getLinkByName(sock, args.ifname).index;
  } catch (e) {
    if (isNotFound(e)) return; // upstream ignores LinkNotFoundError too
    throw new Error(`Failed to get link ${args.ifname}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  const addrs = listAddrs(sock, { index });
  let failure: Error | undefined;
  for (const rule of rules) {
    const src = rule.src;
    if (!src || !addrs.some((a) => ipEqual(a.ip, src.ip))) continue;
    try {
      delRule(sock, rule);
    } catch (e) {
      if (!isNotFound(e)) failure = new Error(`Failed to delete rule ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
  if (failure) throw failure;
}

/** CHECK: upstream checks nothing; ours refuses the config ADD would refuse. */
function check(args: CmdArgs): void {
  validate(loadConf(args.stdin));
}

// sbr has no IPAM: STATUS and GC have nothing to do (the skel answers them with silent success).
export const sbr: Plugin = { name: "sbr", versions: ALL_VERSIONS, add, del, check };
