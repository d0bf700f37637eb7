// test/support/sbr.ts: what the sbr tests share: a container netns holding the interface a previous plugin made (a
// veth with IPv4 and IPv6 addresses and routes), the prevResult naming it in each spec version's shape, and the
// rules and routing tables of a netns read back with `ip -j` (iproute2 6.1 prints a broken `[` for a table that does
// not exist; that reads as no routes). Everything runs inside the namespace given.
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { ipIn, nsName } from "./ns-exec.ts";
import { tempNetns, type TempNetns } from "./netns.ts";

/** The interface's addresses and gateways in a hand-made netns (sbrNetns). */
export const V4 = { address: "10.1.2.3/24", gateway: "10.1.2.1" };
export const V6 = { address: "fd00:1::3/64", gateway: "fd00:1::1" };

export interface SbrWorldOptions {
  /** The interface's name (eth0). */
  ifname?: string;
  /** Give it V6 too (nodad, so it is usable at once). */
  ipv6?: boolean;
  /** Routes in main besides the connected ones: default via each gateway and 10.50.0.0/16 via V4's. */
  routes?: boolean;
}

/**
 * Returns a new netns holding a veth `ifname` (peer `p0`, both up) with V4 (and V6), and with `routes` a default
 * route per family and 10.50.0.0/16 via V4's gateway: the interface a main plugin made. Disposing deletes it all.
 */
export function sbrNetns(role: string, o: SbrWorldOptions = {}): TempNetns {
  const ns = tempNetns(role);
  const dev = o.ifname ?? "eth0";
  try {
    ipIn(ns, ["link", "add", dev, "type", "veth", "peer", "name", "p0"]);
    ipIn(ns, ["link", "set", dev, "up"]);
    ipIn(ns, ["link", "set", "p0", "up"]);
    ipIn(ns, ["addr", "add", V4.address, "dev", dev]);
    if (o.ipv6) ipIn(ns, ["addr", "add", V6.address, "dev", dev, "nodad"]);
    if (o.routes) {
      ipIn(ns, ["route", "add", "default", "via", V4.gateway, "dev", dev]);
      ipIn(ns, ["route", "add", "10.50.0.0/16", "via", V4.gateway, "dev", dev]);
      if (o.ipv6) ipIn(ns, ["-6", "route", "add", "default", "via", V6.gateway, "dev", dev]);
    }
  } catch (e) {
    ns[Symbol.dispose]();
    throw e;
  }
  return ns;
}

export interface PrevIp {
  address: string;
  gateway?: string;
  /** Index into interfaces; undefined leaves it out. */
  interface?: number;
}

/**
 * Returns the prevResult a main plugin would hand sbr, in `version`'s shape: interfaces [ifname in sandbox] and the
 * IPs (0.1/0.2: the first IPv4 as ip4 and the first IPv6 as ip6, no interfaces).
 */
export function prevResultFor(version: string, sandbox: string, ips: PrevIp[], ifname = "eth0"): Record<string, unknown> {
  const v = version || "0.1.0";
  if (!versionAtLeast(v, "0.3.0")) {
    const pick = (six: boolean) => ips.find((i) => i.address.includes(":") === six);
    const as020 = (i?: PrevIp) => (i ? { ip: i.address, ...(i.gateway ? { gateway: i.gateway } : {}) } : undefined);
    const ip4 = as020(pick(false));
    const ip6 = as020(pick(true));
    return { cniVersion: v, ...(ip4 ? { ip4 } : {}), ...(ip6 ? { ip6 } : {}) };
  }
  const withVersion = !versionAtLeast(v, "1.0.0");
  return {
    cniVersion: v,
    interfaces: [{ name: ifname, sandbox }],
    ips: ips.map((i) => ({
      ...(withVersion ? { version: i.address.includes(":") ? "6" : "4" } : {}),
      ...(i.interface !== undefined ? { interface: i.interface } : {}),
      address: i.address,
      ...(i.gateway ? { gateway: i.gateway } : {}),
    })),
  };
}

/** Returns an sbr network config of that version (`cniVersion` left out when version is ""). */
export function sbrConf(version: string, extra: object = {}): Record<string, unknown> {
  return { ...(version ? { cniVersion: version } : {}), name: "sbrnet", type: "sbr", ...extra };
}

/** One rule as `ip -j rule` shows it: priority, src (with /len when not a host), table (a name or a number's text). */
export type RuleState = Record<string, unknown>;

/** Returns the rules of one family, in the kernel's (priority) order. */
export function rulesIn(ns: TempNetns | string, family: 4 | 6): RuleState[] {
  return JSON.parse(ipText(ns, [`-${family}`, "-j", "rule", "show"]) || "[]");
}

/** Returns the rules of one family besides the kernel's defaults (local, main, default). */
export function addedRules(ns: TempNetns | string, family: 4 | 6): RuleState[] {
  return rulesIn(ns, family).filter((r) => !(r.src === "all" && ["local", "main", "default"].includes(r.table as string)));
}

/**
 * Returns the routes of one family in a table ("main", or a number), without the empty `flags` and IPv6's `pref`,
 * sorted by dst, gateway, then dev; a table that does not exist has none (iproute2 6.1 then prints a lone `[` and exits 2
 * with "FIB table does not exist").
 */
export function tableRoutes(ns: TempNetns | string, family: 4 | 6, table: number | "main"): Record<string, unknown>[] {
  const p = Bun.spawnSync(["ip", "-n", nsName(ns), `-${family}`, "-j", "route", "show", "table", String(table)], { stdout: "pipe", stderr: "pipe" });
  const stderr = p.stderr.toString();
  if (p.exitCode !== 0 || stderr !== "") {
    if (stderr.includes("FIB table does not exist")) return [];
    throw new Error(`ip -n ${nsName(ns)} -${family} -j route show table ${table}: ${stderr.trim()} (exit ${p.exitCode})`);
  }
  const routes = JSON.parse(p.stdout.toString() || "[]") as Record<string, unknown>[];
  return routes
    .map(({ flags, pref, ...r }) => ((flags as string[]).length ? { ...r, flags } : r))
    .sort((a, b) => String(a.dst).localeCompare(String(b.dst)) || String(a.gateway).localeCompare(String(b.gateway)) || String(a.dev).localeCompare(String(b.dev)));
}

/** Everything sbr may change in a netns: rules and the main table and tables 100-103 and 500, both families. */
export function routingState(ns: TempNetns | string): Record<string, unknown> {
  const out: Record<string, unknown> = { rules4: rulesIn(ns, 4), rules6: rulesIn(ns, 6) };
  for (const t of ["main", 100, 101, 102, 103, 500] as const) {
    out[`table${t}v4`] = tableRoutes(ns, 4, t);
    out[`table${t}v6`] = tableRoutes(ns, 6, t);
  }
  return out;
}

function ipText(ns: TempNetns | string, args: string[]): string {
  const p = Bun.spawnSync(["ip", "-n", nsName(ns), ...args], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`ip -n ${nsName(ns)} ${args.join(" ")}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString().trim();
}
