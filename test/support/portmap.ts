// test/support/portmap.ts: what the portmap tests share: a hand-built "pod" (a veth from a throwaway host netns
// into a container netns, with the prevResult a main plugin would have printed for it), a client netns on a second
// host veth, the expected nat rules in iptables-save's form, the cni_hostport tables from `nft -j list ruleset`
// rendered as comparable lines, conntrack entries read over netlink, and real TCP/UDP through the mapped ports.
import { createHash } from "node:crypto";
import { rmSync } from "node:fs";
import { resolve } from "node:path";
import { listConntrack, openConntrackSocket } from "../../pkg/netfilter/conntrack.ts";
import { formatIP } from "../../pkg/ip/cidr.ts";
import { withNetns } from "../../pkg/ns/netns.ts";
import { ptpResult } from "./ptp.ts";
import { RUN_PREFIX, type TempNetns } from "./netns.ts";

const FIXTURE = resolve(import.meta.dir, "portmap-traffic-fixture.ts");

function run(argv: string[]): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

const inNs = (ns: TempNetns | string, argv: string[]) => run(["ip", "netns", "exec", typeof ns === "string" ? ns : ns.name, ...argv]);

/** One container attachment: its addresses, the host end's name and addresses, and the prevResult of a main plugin. */
export interface Pod {
  ctr: TempNetns;
  hostVeth: string;
  /** Container addresses with prefix (`10.77.1.2/24`), v4 first. */
  addrs: string[];
  /** The host end's address of each family (the container's gateway). */
  gw4: string;
  gw6?: string;
}

let vethCounter = 0;

/**
 * Wires a container netns to the host netns with a veth (`eth0` inside), addresses (IPv6 without DAD, so nothing
 * waits) and default routes via the host end, and turns on forwarding in the host netns. `subnet` picks 10.<n>.x.
 */
export function makePod(host: TempNetns, ctr: TempNetns, opts: { n: number; hostOctet: number; v6?: boolean }): Pod {
  const hostVeth = `pmv${process.pid % 1000}x${++vethCounter}`;
  const ip = (args: string[]) => run(["ip", ...args]);
  ip(["-n", host.name, "link", "add", hostVeth, "type", "veth", "peer", "name", "eth0", "netns", ctr.name]);
  const gw4 = `10.${opts.n}.${opts.hostOctet}.1`;
  const addrs = [`10.${opts.n}.${opts.hostOctet}.2/24`];
  ip(["-n", host.name, "addr", "add", `${gw4}/24`, "dev", hostVeth]);
  ip(["-n", ctr.name, "addr", "add", addrs[0]!, "dev", "eth0"]);
  let gw6: string | undefined;
  if (opts.v6) {
    gw6 = `fd${opts.n}:${opts.hostOctet}::1`;
    addrs.push(`fd${opts.n}:${opts.hostOctet}::2/64`);
    ip(["-n", host.name, "addr", "add", `${gw6}/64`, "dev", hostVeth, "nodad"]);
    ip(["-n", ctr.name, "addr", "add", addrs[1]!, "dev", "eth0", "nodad"]);
  }
  for (const [ns, dev] of [[host.name, hostVeth], [host.name, "lo"], [ctr.name, "eth0"], [ctr.name, "lo"]] as const) ip(["-n", ns, "link", "set", dev, "up"]);
  ip(["-n", ctr.name, "route", "add", "default", "via", gw4]);
  if (gw6) ip(["-n", ctr.name, "-6", "route", "add", "default", "via", gw6]);
  inNs(host, ["sysctl", "-qw", "net.ipv4.ip_forward=1", "net.ipv6.conf.all.forwarding=1"]);
  return { ctr, hostVeth, addrs, gw4, gw6 };
}

/** Returns the prevResult (object in the version's printed shape) a ptp-like main plugin gives for the pod. */
export function podResult(version: string, pod: Pod): object {
  const links = { hostVeth: pod.hostVeth, hostMac: "0a:58:0a:00:00:01", ctrMac: "0a:58:0a:00:00:02", sandbox: pod.ctr.path };
  const gws = [pod.gw4, pod.gw6];
  return ptpResult(version, links, pod.addrs.map((address, i) => ({ address, gateway: gws[i]! })));
}

/**
 * Where our nftables ADD keeps its records in these tests (`dataDir`, ours; Go ignores the key), instead of the
 * host's /var/lib/cni/portmap: a /tmp directory of this run, removed by sweepPortmapData.
 */
export const PORTMAP_DATA_DIR = `/tmp/${RUN_PREFIX}-portmap-data`;

/** Removes PORTMAP_DATA_DIR (afterAll of a file that runs nftables ADDs). */
export function sweepPortmapData(): void {
  rmSync(PORTMAP_DATA_DIR, { recursive: true, force: true });
}

/**
 * Returns the portmap config of a version for the pod's prevResult, with port mappings and more top-level keys
 * (`top` may override `dataDir`, PORTMAP_DATA_DIR by default).
 */
export function portmapConf(version: string, name: string, prevResult: object | undefined, mappings: object[], top: object = {}): Record<string, unknown> {
  return { cniVersion: version, name, type: "portmap", dataDir: PORTMAP_DATA_DIR, runtimeConfig: { portMappings: mappings }, ...(prevResult ? { prevResult } : {}), ...top };
}

// ---------- expected iptables state ----------

/** Returns `CNI-<prefix><hex>` for a network and container (SPEC-DIGEST §0.7). */
export function chainOf(network: string, containerId: string, prefix = "DN-"): string {
  return `CNI-${prefix}${createHash("sha512").update(network + containerId).digest("hex")}`.slice(0, 28);
}

/** The shared chains and jumps an iptables ADD leaves (the mark chains only with snat), as iptables-save prints them. */
export function topLevelLines(snat = true): { chains: string[]; rules: string[] } {
  return {
    chains: [":CNI-HOSTPORT-DNAT - [0:0]", ...(snat ? [":CNI-HOSTPORT-MASQ - [0:0]", ":CNI-HOSTPORT-SETMARK - [0:0]"] : [])],
    rules: [
      "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
      "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
      ...(snat ? ['-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ'] : []),
    ],
  };
}

/** The rules of the MASQ and SETMARK chains (in iptables-save's chain order: MASQ before SETMARK). */
export function markChainRules(bit = 13): string[] {
  const m = `0x${(2 ** bit).toString(16)}/0x${(2 ** bit).toString(16)}`;
  return [`-A CNI-HOSTPORT-MASQ -m mark --mark ${m} -j MASQUERADE`, `-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark ${m}`];
}

/**
 * Returns the whole nat table iptables-save prints: builtin chains, then the user chains sorted, the builtin
 * chains' rules, then each user chain's rules in chain order (`chainRules` maps chain → its rules in order).
 */
export function natTable(chains: string[], builtinRules: string[], chainRules: Record<string, string[]>): string[] {
  const userChains = [...new Set(chains)].sort((a, b) => (a.slice(1) < b.slice(1) ? -1 : 1));
  const names = userChains.map((c) => c.slice(1).split(" ")[0]!);
  const byBuiltin = ["PREROUTING", "INPUT", "OUTPUT", "POSTROUTING"].flatMap((b) => builtinRules.filter((r) => r.startsWith(`-A ${b} `)));
  return [
    "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]",
    ...userChains, ...byBuiltin, ...names.flatMap((n) => chainRules[n] ?? []), "COMMIT",
  ];
}

// ---------- nftables state ----------

/** Returns the cni_hostport tables of the netns as lines: `table ip cni_hostport`, chains with hooks, rules as nft text. */
export function nftPortmapLines(ns: TempNetns | string): string[] {
  const doc = JSON.parse(inNs(ns, ["nft", "-j", "list", "ruleset"])) as { nftables: Record<string, any>[] };
  const out: string[] = [];
  for (const o of doc.nftables) {
    const t = o.table ?? o.chain ?? o.rule;
    if (!t || (o.table ? t.name : t.table) !== "cni_hostport") continue;
    if (o.table) out.push(`table ${t.family} cni_hostport`);
    else if (o.chain) out.push(`chain ${t.family} ${t.name}${t.hook ? ` { type ${t.type} hook ${t.hook} priority ${t.prio} }` : ""}`);
    else out.push(`rule ${t.family} ${t.chain} ${(t.expr as unknown[]).map(renderExpr).join(" ")}${t.comment !== undefined ? ` comment ${JSON.stringify(t.comment)}` : ""}`);
  }
  return out;
}

function renderExpr(e: any): string {
  if (e.match) {
    const l = e.match.left;
    const left = l.payload ? `${l.payload.protocol} ${l.payload.field}` : l.fib ? `fib ${l.fib.flags.join(" ")} ${l.fib.result}` : JSON.stringify(l);
    const r = e.match.right;
    const right = typeof r === "object" && r?.prefix ? `${r.prefix.addr}/${r.prefix.len}` : String(r);
    return `${left}${e.match.op === "==" ? "" : ` ${e.match.op}`} ${right}`;
  }
  if (e.jump) return `jump ${e.jump.target}`;
  if (e.dnat) return `dnat to ${e.dnat.addr.includes(":") ? `[${e.dnat.addr}]` : e.dnat.addr}:${e.dnat.port}`;
  if ("masquerade" in e) return "masquerade";
  return JSON.stringify(e);
}

/** The chains and shared rules of one family's cni_hostport table after an ADD (before the container's rules). */
export function nftSkeleton(fam: "ip" | "ip6", snat = true, conditions = ""): { chains: string[]; shared: string[] } {
  const entry = `${conditions ? conditions + " " : ""}fib daddr type local jump hostports_all`;
  return {
    chains: [
      `table ${fam} cni_hostport`,
      `chain ${fam} hostports`, `chain ${fam} hostip_hostports`, `chain ${fam} hostports_all`,
      `chain ${fam} prerouting { type nat hook prerouting priority -100 }`,
      `chain ${fam} output { type nat hook output priority -100 }`,
      ...(snat ? [`chain ${fam} masquerading { type nat hook postrouting priority 100 }`] : []),
    ],
    shared: [
      `rule ${fam} hostports_all jump hostip_hostports`, `rule ${fam} hostports_all jump hostports`,
      `rule ${fam} prerouting ${entry}`, `rule ${fam} output ${entry}`,
    ],
  };
}

/**
 * Returns one family's table as nftPortmapLines prints it: table and chains, then the rules chain by chain in
 * chain order (hostports, hostip_hostports, hostports_all, prerouting, output, masquerading).
 */
export function nftTable(fam: "ip" | "ip6", hostports: string[], masquerading: string[] | undefined, conditions = ""): string[] {
  const { chains, shared } = nftSkeleton(fam, masquerading !== undefined, conditions);
  return [...chains, ...hostports.map((r) => `rule ${fam} hostports ${r}`), ...shared, ...(masquerading ?? []).map((r) => `rule ${fam} masquerading ${r}`)];
}

// ---------- conntrack and traffic ----------

/** Returns the UDP conntrack entries of the netns to a destination port, as `src>dst:dport` strings. */
export function udpFlowsTo(ns: TempNetns, dport: number): string[] {
  return withNetns(ns.path, () => {
    using sock = openConntrackSocket();
    return [4, 6].flatMap((f) => listConntrack(sock, f as 4 | 6))
      .filter((e) => e.orig.proto === 17 && e.orig.dstPort === dport)
      .map((e) => `${formatIP(e.orig.src)}>${formatIP(e.orig.dst)}:${dport}`);
  });
}

/** A running echo server in a netns; killed on dispose. */
export interface Server {
  [Symbol.dispose](): void;
}

/** Starts the fixture's TCP+UDP echo server in the netns and waits until it listens (bounded by its own lifetime). */
export async function startServer(ns: TempNetns, tag: string, tcpPort: number, udpPort: number, lifeMs = 30_000): Promise<Server> {
  const p = Bun.spawn(["ip", "netns", "exec", ns.name, process.execPath, FIXTURE, "serve", tag, String(tcpPort), String(udpPort), String(lifeMs)], {
    stdout: "pipe",
    stderr: "pipe",
  });
  const reader = p.stdout.getReader();
  const { value } = await reader.read();
  reader.releaseLock();
  if (!new TextDecoder().decode(value ?? new Uint8Array()).includes("ready")) {
    p.kill();
    throw new Error(`echo server in ${ns.name} did not start: ${await new Response(p.stderr).text()}`);
  }
  return { [Symbol.dispose]: () => p.kill() };
}

/** Returns what a TCP or UDP client in the netns got back from host:port ("" when nothing answered in 3 s). */
export function askFrom(ns: TempNetns | string, proto: "tcp" | "udp", host: string, port: number): string {
  const name = typeof ns === "string" ? ns : ns.name;
  const p = Bun.spawnSync(["ip", "netns", "exec", name, process.execPath, FIXTURE, proto, host, String(port)], { stdout: "pipe", stderr: "pipe" });
  return p.exitCode === 0 ? p.stdout.toString().trim() : "";
}

/** Sends one UDP datagram from the netns (source port fixed), waiting for nothing: it leaves a conntrack entry. */
export function sendUdp(ns: TempNetns, host: string, port: number, srcPort: number): void {
  Bun.spawnSync(["ip", "netns", "exec", ns.name, process.execPath, FIXTURE, "send-udp", host, String(port), String(srcPort)], { stdout: "ignore", stderr: "ignore" });
}
