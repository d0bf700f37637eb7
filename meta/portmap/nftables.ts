// meta/portmap/nftables.ts: the nftables backend (upstream portmap_nftables.go, v1.9.1 with the CVE-2025-67499 fix):
// table `ip|ip6 cni_hostport`, one rule per mapping in `hostports` and the masquerade rules in `masquerading`,
// each commented with the container ID; the base chains only jump to `hostports_all` for traffic to a local
// address (`fib daddr type local`), so nothing routed through the node is DNATed. Batch text is written the way
// knftables writes it for upstream, so the kernel objects and comments come out the same.
import { formatIP, type IPNet } from "../../pkg/ip/cidr.ts";
import { NetfilterUnavailableError, runTool } from "../../pkg/netfilter/exec.ts";
import { nftObjects, nftQuote, parseNftTable, type NftRule, type NftTable } from "../../pkg/netfilter/nftables.ts";
import { hasSpecificHostIP, mappingApplies, type PortMapConf } from "./config.ts";
import { allOf, anyOf, filtered } from "../../pkg/sys/lists.ts";

export const NFT_TABLE = "cni_hostport";
export const HOSTPORTS_CHAIN = "hostports";
/** Held rules with a hostIP in old versions; kept (empty) so an upgrade needs nothing. */
export const HOSTIP_HOSTPORTS_CHAIN = "hostip_hostports";
export const HOSTPORTS_ALL_CHAIN = "hostports_all";
export const MASQUERADING_CHAIN = "masquerading";
const TABLE_COMMENT = "CNI portmap plugin";

export type NftFamily = "ip" | "ip6";

/** Returns the nft family of an address family. */
export function nftFamily(family: 4 | 6): NftFamily {
  return family === 4 ? "ip" : "ip6";
}

/** One rule this plugin adds to a regular chain: its text (knftables' Concat) and the expressions `nft -j` prints for it. */
interface PlannedRule {
  chain: string;
  text: string;
  expr: unknown[];
}

const match = (left: unknown, right: unknown) => ({ match: { op: "==", left, right } });
const payload = (protocol: string, field: string) => ({ payload: { protocol, field } });

/** Returns the rules of one container address in `hostports` and (with snat) `masquerading`, in upstream's order. */
export function plannedRules(conf: PortMapConf, net: IPNet): PlannedRule[] {
  const family = net.ip.family;
  const ipX = nftFamily(family);
  const ip = formatIP(net.ip);
  const out: PlannedRule[] = [];
  for (const m of conf.portMappings) {
    if (!mappingApplies(m, family)) continue;
    const to = family === 6 ? `[${ip}]:${m.containerPort}` : `${ip}:${m.containerPort}`;
    const text: string[] = [];
    const expr: unknown[] = [];
    if (hasSpecificHostIP(m)) {
      text.push(ipX, "daddr", m.hostIP!);
      expr.push(match(payload(ipX, "daddr"), m.hostIP));
    }
    text.push(m.protocol, "dport", String(m.hostPort), "dnat to", to);
    expr.push(match(payload(m.protocol, "dport"), m.hostPort), { dnat: { addr: ip, port: m.containerPort } });
    out.push({ chain: HOSTPORTS_CHAIN, text: text.join(" "), expr });
  }
  if (conf.snat) {
    // upstream quirk (v1.9.1): masqAll is ignored here; the source is always the bare container address.
    const masq = (src: string) => ({
      chain: MASQUERADING_CHAIN,
      text: `${ipX} saddr ${src} ${ipX} daddr ${ip} masquerade`,
      expr: [match(payload(ipX, "saddr"), src), match(payload(ipX, "daddr"), ip), { masquerade: null }],
    });
    out.push(masq(ip));
    if (family === 4) out.push(masq("127.0.0.1"));
  }
  return out;
}

/**
 * Returns the `nft -f -` batch of an ADD for one container address, in upstream's order: table and chains (added,
 * so existing ones stay), hostports_all and the two base chains flushed and refilled, then this container's rules.
 * A rule already there with the same comment and expressions is not added twice (upstream would).
 */
export function addBatch(state: NftTable | undefined, conf: PortMapConf, containerId: string, net: IPNet): string {
  const fam = nftFamily(net.ip.family);
  const t = `${fam} ${NFT_TABLE}`;
  const conditions = filtered((net.ip.family === 6 ? conf.conditionsV6 : conf.conditionsV4) ?? [], (c) => c !== "");
  const entry = [...conditions, "fib daddr type local", "jump", HOSTPORTS_ALL_CHAIN].join(" ");
  const lines = [
    `add table ${t} { comment ${nftQuote(TABLE_COMMENT)} ; }`,
    `add chain ${t} ${HOSTPORTS_CHAIN}`,
    `add chain ${t} ${HOSTIP_HOSTPORTS_CHAIN}`,
    `add chain ${t} ${HOSTPORTS_ALL_CHAIN}`,
    `flush chain ${t} ${HOSTPORTS_ALL_CHAIN}`,
    `add rule ${t} ${HOSTPORTS_ALL_CHAIN} jump ${HOSTIP_HOSTPORTS_CHAIN}`,
    `add rule ${t} ${HOSTPORTS_ALL_CHAIN} jump ${HOSTPORTS_CHAIN}`,
    // knftables writes the named priority "dstnat" as its number.
    `add chain ${t} prerouting { type nat hook prerouting priority -100 ; }`,
    `flush chain ${t} prerouting`,
    `add rule ${t} prerouting ${entry}`,
    `add chain ${t} output { type nat hook output priority -100 ; }`,
    `flush chain ${t} output`,
    `add rule ${t} output ${entry}`,
  ];
  if (conf.snat) lines.push(`add chain ${t} ${MASQUERADING_CHAIN} { type nat hook postrouting priority 100 ; }`);
  const comment = nftQuote(containerId);
  const existing = state?.rules ?? [];
  for (const r of plannedRules(conf, net)) {
    if (anyOf(existing, (e) => isSameRule(e, r, containerId))) continue;
    lines.push(`add rule ${t} ${r.chain} ${r.text} comment ${comment}`);
  }
  return lines.join("\n") + "\n";
}

function isSameRule(have: NftRule, want: PlannedRule, containerId: string): boolean {
  return have.chain === want.chain && have.comment === containerId && JSON.stringify(have.expr) === JSON.stringify(want.expr);
}

/** Returns the handles of a container's rules (comment = container ID) in the chains DEL cleans. */
export function containerRules(state: NftTable | undefined, containerId: string): NftRule[] {
  const chains = [HOSTPORTS_CHAIN, HOSTIP_HOSTPORTS_CHAIN, MASQUERADING_CHAIN];
  return filtered(state?.rules ?? [], (r) => chains.includes(r.chain) && r.comment === containerId);
}

/** Returns the batch that deletes the given rules of one family's table by handle; "" for none. */
export function deleteBatch(fam: NftFamily, rules: NftRule[]): string {
  return rules.map((r) => `delete rule ${fam} ${NFT_TABLE} ${r.chain} handle ${r.handle}\n`).join("");
}

/**
 * Returns CHECK's verdict for one container address, or undefined when all is there. Upstream counts the rules
 * commented with the container ID; we also want each planned rule itself and the jumps that lead to it.
 */
export function checkRules(state: NftTable | undefined, conf: PortMapConf, containerId: string, net: IPNet): string | undefined {
  const fam = nftFamily(net.ip.family);
  if (!state) return `table ${fam} ${NFT_TABLE} not found`;
  const planned = plannedRules(conf, net);
  for (const chain of [HOSTPORTS_CHAIN, MASQUERADING_CHAIN]) {
    const want = filtered(planned, (r) => r.chain === chain);
    if (want.length === 0) continue;
    if (!state.chains.has(chain) || !allOf(want, (w) => anyOf(state.rules, (h) => isSameRule(h, w, containerId)))) {
      return `missing hostport rules in ${JSON.stringify(chain)} chain`; // upstream text
    }
  }
  const jumpsTo = (chain: string, target: string) =>
    anyOf(state.rules, (r) => r.chain === chain && JSON.stringify(r.expr.at(-1)) === JSON.stringify({ jump: { target } }));
  for (const [chain, target] of [["prerouting", HOSTPORTS_ALL_CHAIN], ["output", HOSTPORTS_ALL_CHAIN], [HOSTPORTS_ALL_CHAIN, HOSTPORTS_CHAIN]] as const) {
    if (!jumpsTo(chain, target)) return `chain ${JSON.stringify(chain)} of table ${fam} ${NFT_TABLE} does not jump to ${JSON.stringify(target)}`;
  }
  return undefined;
}

/**
 * Returns the cni_hostport tables of the families asked for (undefined for one that does not exist), listing the
 * table names once so a missing table costs no failed listing. Throws NetfilterUnavailableError when nft is
 * missing or cannot list tables.
 */
export function readPortmapTables(families: NftFamily[]): Map<NftFamily, NftTable | undefined> {
  const all = runTool("nft", ["-j", "list", "tables"]);
  if (all.exitCode !== 0) throw new NetfilterUnavailableError("nft", `failed to run nft: ${all.stderr.trim() || `exit status ${all.exitCode}`}`);
  const present = new Set<string>();
  for (const o of nftObjects(all.stdout)) {
    const t = o.table as { family?: string; name?: string } | undefined;
    if (t?.name === NFT_TABLE && t.family) present.add(t.family);
  }
  const out = new Map<NftFamily, NftTable | undefined>();
  for (const fam of families) {
    if (!present.has(fam)) {
      out.set(fam, undefined);
      continue;
    }
    const p = runTool("nft", ["-j", "list", "table", fam, NFT_TABLE]);
    if (p.exitCode !== 0) throw new Error(`failed to list table ${fam} ${NFT_TABLE}: nft: ${p.stderr.trim() || `exit status ${p.exitCode}`}`);
    out.set(fam, parseNftTable(p.stdout, fam, NFT_TABLE));
  }
  return out;
}
