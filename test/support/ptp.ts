// test/support/ptp.ts: what the ptp tests share: the result text each spec version prints for a ptp ADD, and the
// kernel and netfilter state of a throwaway netns read back as comparable JSON (`ip -j`, iptables-save, `nft -j`,
// /proc/sys). Everything runs inside the namespace given; nothing here touches the caller's own netns.
import { createHash } from "node:crypto";
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { ipamResult, type Ip } from "./host-local.ts";
import { ipJson, type TempNetns } from "./netns.ts";

/** A host-side veth name as ptp makes it (SPEC-DIGEST §0.6). */
export const VETH_NAME = /^veth[0-9a-f]{8}$/;
/** A MAC as results print it: lowercase, colon-separated. */
export const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** The random parts of one ptp attachment, as its ADD reported them (or as read from the kernel for 0.1/0.2). */
export interface PtpLinks {
  hostVeth: string;
  hostMac: string;
  ctrMac: string;
  /** CNI_NETNS of the ADD. */
  sandbox: string;
  ifname?: string;
}

/**
 * Returns the result object of a ptp ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: interfaces [host, container] and `interface: 1` on every IP
 * where the version has them; 0.1/0.2 are IPAM's shape (no interfaces).
 */
export function ptpResult(version: string, links: PtpLinks, ips: Ip[], routes: Route[] = [], dns: DNS = {}): object {
  const base = ipamResult(version, ips, routes, dns) as Record<string, any>;
  if (!versionAtLeast(version, "0.3.0")) return base;
  const ifname = links.ifname ?? "eth0";
  if (versionAtLeast(version, "1.0.0")) {
    return sortKeys({
      ...base,
      interfaces: [{ name: links.hostVeth, mac: links.hostMac }, { name: ifname, mac: links.ctrMac, sandbox: links.sandbox }],
      ips: (base.ips ?? []).map((ip: Ip) => ({ ...ip, interface: 1 })),
    });
  }
  // 0.3/0.4: cniVersion, interfaces, ips (version, interface, address, gateway), routes, dns.
  const { cniVersion, ips: ipamIps, ...rest } = base;
  return {
    cniVersion,
    interfaces: [{ name: links.hostVeth, mac: links.hostMac }, { name: ifname, mac: links.ctrMac, sandbox: links.sandbox }],
    ...(ipamIps ? { ips: ipamIps.map(({ version: v, ...ip }: { version: string }) => ({ version: v, interface: 1, ...ip })) } : {}),
    ...rest,
  };
}

function sortKeys(v: unknown): any {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

// ---------- kernel state, read inside a netns ----------

const nsName = (ns: TempNetns | string) => (typeof ns === "string" ? ns : ns.name);

/** One link as `ip -j -d link` shows it, reduced to what a plugin decides. */
export interface LinkState {
  ifindex: number;
  ifname: string;
  kind?: string;
  mac: string;
  mtu: number;
  up: boolean;
  /** The peer's ifindex (in the peer's netns) for a veth. */
  peerIndex?: number;
}

/** Returns every link of the netns. */
export function linksIn(ns: TempNetns | string): LinkState[] {
  return (ipJson(ns, ["-d", "link", "show"]) as any[]).map((l) => ({
    ifindex: l.ifindex,
    ifname: l.ifname,
    ...(l.linkinfo?.info_kind ? { kind: l.linkinfo.info_kind } : {}),
    mac: l.address,
    mtu: l.mtu,
    up: (l.flags as string[]).includes("UP"),
    ...(l.link_index !== undefined ? { peerIndex: l.link_index } : {}),
  }));
}

/** Returns the veths of the netns. */
export function vethsIn(ns: TempNetns | string): LinkState[] {
  return linksIn(ns).filter((l) => l.kind === "veth");
}

/** Returns the names of every link of the netns. */
export function linkNames(ns: TempNetns | string): string[] {
  return linksIn(ns).map((l) => l.ifname);
}

/** One address of a link, without lifetimes, link-local addresses left out. */
export interface AddrState {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  tentative?: true;
}

/**
 * Returns the non-link-local addresses of one link. `withTentative` keeps the DAD flag: the container side is
 * settled before ADD returns, the host side is not (neither implementation waits there).
 */
export function addrsOf(ns: TempNetns | string, dev: string, withTentative = true): AddrState[] {
  const links = ipJson(ns, ["addr", "show", "dev", dev]) as any[];
  return (links[0]?.addr_info ?? [])
    .filter((a: any) => a.scope !== "link")
    .map((a: any) => ({
      family: a.family,
      local: a.local,
      prefixlen: a.prefixlen,
      ...(withTentative && a.tentative ? { tentative: true } : {}),
    }));
}

/** One route of the main table as `ip -j route` shows it, without the empty `flags` and IPv6's `pref`. */
export type RouteState = Record<string, unknown>;

/** Returns the main-table routes of one family, sorted by dst (the dump order is the kernel's business). */
export function routesIn(ns: TempNetns | string, family: 4 | 6): RouteState[] {
  const routes = ipJson(ns, [`-${family}`, "route", "show"]) as any[];
  return routes
    .map(({ flags, pref, ...r }) => ((flags as string[]).length ? { ...r, flags } : r))
    .sort((a, b) => String(a.dst).localeCompare(String(b.dst)));
}

/** Returns a sysctl of the netns (`net/ipv4/ip_forward`), read from /proc/sys inside it, without the newline. */
export function sysctlIn(ns: TempNetns | string, path: string): string {
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(ns), "cat", `/proc/sys/${path}`], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`read ${path} in ${nsName(ns)}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString().trim();
}

/** Returns the `iptables-save -t nat` lines (`ip6tables-save` for 6) of the netns, without comments and blanks. */
export function natRules(ns: TempNetns | string, family: 4 | 6): string[] {
  const tool = family === 4 ? "iptables-save" : "ip6tables-save";
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(ns), tool, "-t", "nat"], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${tool} in ${nsName(ns)}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString().split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** The nat table as iptables-save prints it when no rule is left (the table itself stays once created). */
export const EMPTY_NAT = [
  "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", "COMMIT",
];

/** Returns the lines of the nat table that mention any CNI chain (empty when everything is gone). */
export function cniNatLines(ns: TempNetns | string): string[] {
  return [...natRules(ns, 4), ...natRules(ns, 6)].filter((l) => l.includes("CNI-"));
}

/** Returns the per-container chain name `CNI-<24hex>` of SHA-512(network + containerID) (SPEC-DIGEST §0.7). */
export function masqChain(network: string, containerId: string): string {
  return `CNI-${createHash("sha512").update(network + containerId).digest("hex").slice(0, 24)}`;
}

/**
 * Returns the nat lines one address adds, in iptables-save's form and order: the chain declaration, the POSTROUTING
 * jump from the bare address, then ACCEPT to its subnet and MASQUERADE to all but multicast (SPEC-DIGEST §0.9).
 */
export function masqLines(network: string, containerId: string, address: string, subnet: string): { chain: string; jump: string; rules: string[] } {
  const chain = masqChain(network, containerId);
  const v6 = address.includes(":");
  const cmt = `-m comment --comment "name: \\"${network}\\" id: \\"${containerId}\\""`;
  const ip = address.split("/")[0];
  return {
    chain: `:${chain} - [0:0]`,
    jump: `-A POSTROUTING -s ${ip}/${v6 ? 128 : 32} ${cmt} -j ${chain}`,
    rules: [`-A ${chain} -d ${subnet} ${cmt} -j ACCEPT`, `-A ${chain} ! -d ${v6 ? "ff00::/8" : "224.0.0.0/4"} ${cmt} -j MASQUERADE`],
  };
}

/** Returns the nat table of one family holding exactly one attachment's masquerade of these addresses. */
export function natWith(network: string, containerId: string, addrs: { address: string; subnet: string }[]): string[] {
  if (addrs.length === 0) return EMPTY_NAT;
  const parts = addrs.map((a) => masqLines(network, containerId, a.address, a.subnet));
  return [...EMPTY_NAT.slice(0, -1), parts[0]!.chain, ...parts.map((p) => p.jump), ...parts.flatMap((p) => p.rules), "COMMIT"];
}

/** One rule of `inet cni_plugins_masquerade` chain `masq_checks` as `nft -j` shows it. */
export interface NftMasqRule {
  comment?: string;
  expr: unknown[];
}

/** Returns the `masq_checks` rules of the nftables masquerade table, or undefined when the table does not exist. */
export function nftMasqRules(ns: TempNetns | string): NftMasqRule[] | undefined {
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(ns), "nft", "-j", "list", "table", "inet", "cni_plugins_masquerade"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) return undefined;
  const items = JSON.parse(p.stdout.toString()).nftables as any[];
  return items
    .filter((i) => i.rule?.chain === "masq_checks")
    .map((i) => ({ ...(i.rule.comment !== undefined ? { comment: i.rule.comment } : {}), expr: i.rule.expr }));
}

/** Returns the nft comment prefix of one attachment: H(network)[:16] + "-" + H(ifname:containerID)[:16]. */
export function nftMasqPrefix(network: string, ifname: string, containerId: string): string {
  const h = (s: string) => createHash("sha512").update(s).digest("hex").slice(0, 16);
  return `${h(network)}-${h(`${ifname}:${containerId}`)}`;
}

/** Runs `ip -n <ns> <args>` and throws with ip's stderr on failure (test setup such as a conflicting link). */
export function ipIn(ns: TempNetns | string, args: string[]): void {
  const p = Bun.spawnSync(["ip", "-n", nsName(ns), ...args], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`ip -n ${nsName(ns)} ${args.join(" ")}: ${p.stderr.toString().trim()}`);
}

/** Waits until cond() holds, polling; throws naming `what` after timeoutMs. Never a fixed sleep. */
export function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    Bun.sleepSync(10);
  }
}
