// test/support/bridge.ts: what the bridge tests share: the config they send, the result text each spec version
// prints for a bridge ADD, the kernel and netfilter state of a throwaway netns read back as comparable JSON
// (`ip -j -d`, `bridge -j`, iptables-save, `nft -j`, /proc/sys, sysfs through `ip netns exec`), a probe for bridge
// VLAN filtering, and a poll helper. Everything runs inside the namespace given, never in the caller's own netns.
import { createHash } from "node:crypto";
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { ipamResult, type Ip } from "./host-local.ts";
import { RUN_PREFIX, ipJson, type TempNetns } from "./netns.ts";

/** A host-side veth name (SPEC-DIGEST §0.6). */
export const VETH_NAME = /^veth[0-9a-f]{8}$/;
/** A MAC as results print it: lowercase, colon-separated. */
export const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

const nsName = (ns: TempNetns | string) => (typeof ns === "string" ? ns : ns.name);

/** Returns stdout of a command run inside the netns (`ip netns exec`); throws with its stderr on failure. */
export function execIn(ns: TempNetns | string, argv: string[]): string {
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(ns), ...argv], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} in ${nsName(ns)}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

/** Returns whether a command inside the netns exits 0 (ping, for instance). */
export function succeedsIn(ns: TempNetns | string, argv: string[]): boolean {
  return Bun.spawnSync(["ip", "netns", "exec", nsName(ns), ...argv], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** Runs `ip -n <ns> <args>` (test setup such as a pre-existing bridge); throws with ip's stderr. */
export function ipIn(ns: TempNetns | string, args: string[]): void {
  const p = Bun.spawnSync(["ip", "-n", nsName(ns), ...args], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`ip -n ${nsName(ns)} ${args.join(" ")}: ${p.stderr.toString().trim()}`);
}

// ---------- results ----------

/** The random parts of one bridge attachment, as its ADD reported them (or as read from the kernel for 0.1/0.2). */
export interface BridgeLinks {
  bridge: string;
  bridgeMac: string;
  hostVeth: string;
  hostMac: string;
  ctrMac: string;
  /** CNI_NETNS of the ADD. */
  sandbox: string;
  ifname?: string;
}

/**
 * Returns the result object of a bridge ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: interfaces [bridge, host veth, container] and `interface: 2` on
 * every IP where the version has them; 0.1/0.2 are IPAM's shape. `ips` empty is the layer-2 result.
 */
export function bridgeResult(version: string, links: BridgeLinks, ips: Ip[], routes: Route[] = [], dns: DNS = {}): object {
  const base = ipamResult(version, ips, routes, dns) as Record<string, any>;
  if (!versionAtLeast(version, "0.3.0")) return base;
  const ifaces = [
    { name: links.bridge, mac: links.bridgeMac },
    { name: links.hostVeth, mac: links.hostMac },
    { name: links.ifname ?? "eth0", mac: links.ctrMac, sandbox: links.sandbox },
  ];
  if (versionAtLeast(version, "1.0.0")) {
    return sortKeys({ ...base, interfaces: ifaces, ...(base.ips ? { ips: base.ips.map((ip: Ip) => ({ ...ip, interface: 2 })) } : {}) });
  }
  // 0.3/0.4: cniVersion, interfaces, ips (version, interface, address, gateway), routes, dns.
  const { cniVersion, ips: ipamIps, ...rest } = base;
  return {
    cniVersion,
    interfaces: ifaces,
    ...(ipamIps ? { ips: ipamIps.map(({ version: v, ...ip }: { version: string }) => ({ version: v, interface: 2, ...ip })) } : {}),
    ...rest,
  };
}

export function sortKeys(v: unknown): any {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

// ---------- kernel state ----------

/** One link as `ip -j -d link` shows it, reduced to what the bridge plugin decides. */
export interface LinkState {
  ifindex: number;
  ifname: string;
  kind?: string;
  mac: string;
  mtu: number;
  up: boolean;
  operstate: string;
  promisc: boolean;
  /** Name of the bridge it is a port of. */
  master?: string;
  /** The peer's ifindex (in the peer's netns) for a veth. */
  peerIndex?: number;
  /** Bridge-port flags, for a port. */
  hairpin?: boolean;
  isolated?: boolean;
  /** A bridge's vlan_filtering. */
  vlanFiltering?: boolean;
}

/** Returns every link of the netns. */
export function linksIn(ns: TempNetns | string): LinkState[] {
  return (ipJson(ns, ["-d", "link", "show"]) as any[]).map((l) => {
    const info = l.linkinfo ?? {};
    const port = info.info_slave_kind === "bridge" ? info.info_slave_data : undefined;
    return {
      ifindex: l.ifindex,
      ifname: l.ifname,
      ...(info.info_kind ? { kind: info.info_kind } : {}),
      mac: l.address,
      mtu: l.mtu,
      up: (l.flags as string[]).includes("UP"),
      operstate: l.operstate,
      promisc: (l.flags as string[]).includes("PROMISC"),
      ...(l.master ? { master: l.master } : {}),
      ...(l.link_index !== undefined ? { peerIndex: l.link_index } : {}),
      ...(port ? { hairpin: port.hairpin, isolated: port.isolated } : {}),
      ...(info.info_kind === "bridge" ? { vlanFiltering: info.info_data?.vlan_filtering === 1 } : {}),
    };
  });
}

/** Returns one link of the netns by name, or undefined. */
export function linkIn(ns: TempNetns | string, name: string): LinkState | undefined {
  return linksIn(ns).find((l) => l.ifname === name);
}

/** Returns the names of every link of the netns. */
export function linkNames(ns: TempNetns | string): string[] {
  return linksIn(ns).map((l) => l.ifname);
}

/** Returns the veths of the netns. */
export function vethsIn(ns: TempNetns | string): LinkState[] {
  return linksIn(ns).filter((l) => l.kind === "veth");
}

/** One address of a link, without lifetimes, link-local addresses left out. */
export interface AddrState {
  family: "inet" | "inet6";
  local: string;
  prefixlen: number;
  broadcast?: string;
}

/** Returns the non-link-local addresses of one link. */
export function addrsOf(ns: TempNetns | string, dev: string): AddrState[] {
  const links = ipJson(ns, ["addr", "show", "dev", dev]) as any[];
  return (links[0]?.addr_info ?? [])
    .filter((a: any) => a.scope !== "link")
    .map((a: any) => ({ family: a.family, local: a.local, prefixlen: a.prefixlen, ...(a.broadcast ? { broadcast: a.broadcast } : {}) }));
}

/** Returns the main-table routes of one family, sorted by dst, without the empty `flags` and IPv6's `pref`. */
export function routesIn(ns: TempNetns | string, family: 4 | 6): Record<string, unknown>[] {
  const routes = ipJson(ns, [`-${family}`, "route", "show"]) as any[];
  return routes
    .map(({ flags, pref, ...r }) => ((flags as string[]).length ? { ...r, flags } : r))
    .sort((a, b) => String(a.dst).localeCompare(String(b.dst)) || String(a.gateway).localeCompare(String(b.gateway)));
}

/** Returns a sysctl of the netns (`net/ipv4/ip_forward`), read from /proc/sys inside it, without the newline. */
export function sysctlIn(ns: TempNetns | string, path: string): string {
  return execIn(ns, ["cat", `/proc/sys/${path}`]).trim();
}

/** Returns a file of /sys/class/net/<dev> as seen inside the netns (`ip netns exec` mounts the netns's own sysfs). */
export function sysfsIn(ns: TempNetns | string, dev: string, file: string): string {
  return execIn(ns, ["cat", `/sys/class/net/${dev}/${file}`]).trim();
}

/** Returns `bridge -j vlan show` of the netns: each port's VLANs (empty when the kernel keeps none). */
export function vlansIn(ns: TempNetns | string): Array<{ ifname: string; vlans: Array<{ vlan: number; flags?: string[] }> }> {
  const out = execIn(ns, ["bridge", "-j", "vlan", "show"]).trim();
  return out === "" ? [] : JSON.parse(out);
}

// ---------- netfilter ----------

/** Returns the `iptables-save -t nat` lines (`ip6tables-save` for 6) of the netns, without comments and blanks. */
export function natRules(ns: TempNetns | string, family: 4 | 6): string[] {
  const tool = family === 4 ? "iptables-save" : "ip6tables-save";
  return execIn(ns, [tool, "-t", "nat"]).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** Returns the lines of both nat tables that mention a CNI chain (empty when everything is gone). */
export function cniNatLines(ns: TempNetns | string): string[] {
  return [...natRules(ns, 4), ...natRules(ns, 6)].filter((l) => l.includes("CNI-"));
}

/** Returns the per-container chain name `CNI-<24hex>` of SHA-512(network + containerID) (SPEC-DIGEST §0.7). */
export function masqChain(network: string, containerId: string): string {
  return `CNI-${createHash("sha512").update(network + containerId).digest("hex").slice(0, 24)}`;
}

/** Returns the nat lines of one attachment's masquerade of one address, in iptables-save's form (SPEC-DIGEST §0.9). */
export function masqLines(network: string, containerId: string, address: string, subnet: string): string[] {
  const chain = masqChain(network, containerId);
  const v6 = address.includes(":");
  const cmt = `-m comment --comment "name: \\"${network}\\" id: \\"${containerId}\\""`;
  return [
    `:${chain} - [0:0]`,
    `-A POSTROUTING -s ${address.split("/")[0]}/${v6 ? 128 : 32} ${cmt} -j ${chain}`,
    `-A ${chain} -d ${subnet} ${cmt} -j ACCEPT`,
    `-A ${chain} ! -d ${v6 ? "ff00::/8" : "224.0.0.0/4"} ${cmt} -j MASQUERADE`,
  ];
}

/** Returns every object of `nft -j list ruleset` in the netns, handles dropped (they differ between runs). */
export function nftRuleset(ns: TempNetns | string): Record<string, any>[] {
  const doc = JSON.parse(execIn(ns, ["nft", "-j", "list", "ruleset"])) as { nftables: Record<string, Record<string, unknown>>[] };
  return doc.nftables.slice(1).map((o) => {
    const [kind, body] = Object.entries(o)[0]!;
    const { handle: _h, ...rest } = body;
    return { [kind]: rest };
  });
}

/** Returns the `nft list ruleset` text of the netns. */
export function nftText(ns: TempNetns | string): string {
  return execIn(ns, ["nft", "list", "ruleset"]);
}

/** Returns the spoof-check objects of `table bridge nat` (chains and rules), or [] when there is no such table. */
export function spoofCheckObjects(ns: TempNetns | string): Record<string, any>[] {
  return nftRuleset(ns).filter((o) => {
    const body = Object.values(o)[0] as { family?: string; table?: string; name?: string };
    return body.family === "bridge" && (body.table === "nat" || body.name === "nat");
  });
}

/** The nft objects of one attachment's spoof check, in `nft -j list ruleset` order (SPEC-DIGEST §1.1.1). */
export function spoofCheckFor(id: string, hostVeth: string, mac: string): Record<string, any>[] {
  const T = { family: "bridge", table: "nat" };
  const iface = `cni-br-iface-${id}`;
  const comment = `macspoofchk-${id}`;
  return [
    { chain: { ...T, name: iface } },
    { chain: { ...T, name: `${iface}-mac` } },
    { rule: { ...T, chain: "PREROUTING", comment, expr: [{ match: { op: "==", left: { meta: { key: "iifname" } }, right: hostVeth } }, { jump: { target: iface } }] } },
    { rule: { ...T, chain: iface, comment, expr: [{ jump: { target: `${iface}-mac` } }] } },
    { rule: { ...T, chain: `${iface}-mac`, comment, expr: [{ match: { op: "==", left: { payload: { protocol: "ether", field: "saddr" } }, right: mac } }, { return: null }] } },
    { rule: { ...T, chain: `${iface}-mac`, comment, expr: [{ drop: null }] } },
  ];
}

/** What stays of `table bridge nat` once every spoof check is gone: the table and its base chain. */
export const SPOOFCHK_BASE = [
  { table: { family: "bridge", name: "nat" } },
  { chain: { family: "bridge", table: "nat", name: "PREROUTING", type: "filter", hook: "prerouting", prio: -300, policy: "accept" } },
];

// ---------- kernel capabilities and waiting ----------

let vlanProbe: { ok: boolean; reason: string } | undefined;

/**
 * Returns whether this kernel does bridge VLAN filtering, asking it: a bridge with vlan_filtering 1 in a throwaway
 * netns. `reason` is the kernel's own refusal (e.g. "Operation not supported") for skip names.
 */
export function bridgeVlanFiltering(): { ok: boolean; reason: string } {
  if (vlanProbe) return vlanProbe;
  if (process.getuid?.() !== 0 || Bun.which("ip") === null) return (vlanProbe = { ok: false, reason: "needs root and ip netns" });
  const name = `${RUN_PREFIX}-vlanprobe`;
  Bun.spawnSync(["ip", "netns", "add", name]);
  try {
    const p = Bun.spawnSync(["ip", "-n", name, "link", "add", "cnitvlanprobe", "type", "bridge", "vlan_filtering", "1"], { stdout: "pipe", stderr: "pipe" });
    const err = p.stderr.toString().trim().replace(/^RTNETLINK answers: /, "");
    vlanProbe = p.exitCode === 0 ? { ok: true, reason: "" } : { ok: false, reason: `the kernel refuses bridge vlan_filtering: ${err}` };
  } finally {
    Bun.spawnSync(["ip", "netns", "delete", name]);
  }
  return vlanProbe;
}

/** Waits until cond() holds, polling; throws naming `what` after timeoutMs. Never a fixed sleep. */
export function waitFor(cond: () => boolean, what: string, timeoutMs = 5000): void {
  const deadline = Date.now() + timeoutMs;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    Bun.sleepSync(10);
  }
}
