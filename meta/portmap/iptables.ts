// meta/portmap/iptables.ts: the iptables backend's chains and rules (upstream portmap_iptables.go), built as
// argument lists in upstream's order and turned into one iptables-restore batch per family and call. The nat table
// is read once per family (iptables-save); a rule is appended only when iptables-save does not print it already.
//
//   PREROUTING, OUTPUT (appended):  -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
//   CNI-HOSTPORT-DNAT:              <comment> -m multiport -p tcp --destination-ports 8080,8081 [conditions] -j CNI-DN-…
//   CNI-DN-…:                       hairpin and localhost marks, then -p tcp --dport 8080 -j DNAT --to-destination …
//   POSTROUTING (at position 1):    -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
import { formatCIDR, formatIP, type IPNet } from "../../pkg/ip/cidr.ts";
import { NetfilterBatchError } from "../../pkg/netfilter/exec.ts";
import {
  applyIptablesBatch, deleteLine, parseIptablesSave, readIptablesTable, ruleTarget, type IpFamily,
  type IptablesTable,
} from "../../pkg/netfilter/iptables.ts";
import { chainInKernel } from "../../pkg/netfilter/nft-chains.ts";
import { chainRulesInKernel, ruleInKernel, type KernelRules } from "../../pkg/netfilter/nft-iptables-rules.ts";
import { chainName } from "../../pkg/netfilter/names.ts";
import { hasSpecificHostIP, mappingApplies, type PortMapConf, type PortMapping } from "./config.ts";
import { saveForm } from "./save-form.ts";
import { hasNoSpace, quoted } from "../../pkg/text/ascii.ts";
import { allOf, filtered } from "../../pkg/sys/lists.ts";

// Upstream's names; never change them, or a DEL by either implementation misses what the other made.
export const TOP_DNAT_CHAIN = "CNI-HOSTPORT-DNAT";
export const SETMARK_CHAIN = "CNI-HOSTPORT-SETMARK";
export const MASQ_CHAIN = "CNI-HOSTPORT-MASQ";
export const OLD_TOP_SNAT_CHAIN = "CNI-HOSTPORT-SNAT";

/** A chain as upstream's `chain` struct describes it: its rules, and the rules in other chains that jump to it. */
export interface ChainSpec {
  name: string;
  rules: string[][];
  /** Chains holding the entry rules; each entry rule is followed by `-j <name>`. */
  entryChains: string[];
  entryRules: string[][];
  /** Insert the entry rules at position 1 instead of appending them (only CNI-HOSTPORT-MASQ). */
  prependEntry?: boolean;
}

/** Returns the per-container DNAT chain `CNI-DN-<21 hex>` of a network and container (SPEC-DIGEST §0.7). */
export function dnatChainName(network: string, containerId: string): string {
  return chainName(network, containerId, "DN-");
}

/** Returns the chain old versions made (`CNI-SN-…`, from CNI-HOSTPORT-SNAT); DEL still removes it. */
export function oldSnatChainName(network: string, containerId: string): string {
  return chainName(network, containerId, "SN-");
}

/** Returns the mark as upstream prints it (`%#x/%#x`): bit 13 is `0x2000/0x2000`. */
export function markDef(bit: number): string {
  const v = (2 ** bit).toString(16);
  return `0x${v}/0x${v}`;
}

/** Returns the entry-rule comment `dnat name: "<net>" id: "<cid>"`, unescaped, cut to 253 bytes + "..." past 255. */
export function dnatComment(network: string, containerId: string): string {
  const c = `dnat name: "${network}" id: "${containerId}"`;
  const bytes = new TextEncoder().encode(c);
  if (bytes.length <= 255) return c;
  return new TextDecoder().decode(bytes.subarray(0, 253)).replace(/\uFFFD+$/, "") + "...";
}

/** Returns the CNI-HOSTPORT-SETMARK chain: one rule that sets the masquerade mark. */
export function setMarkChain(bit: number): ChainSpec {
  return {
    name: SETMARK_CHAIN,
    rules: [["-m", "comment", "--comment", "CNI portfwd masquerade mark", "-j", "MARK", "--set-xmark", markDef(bit)]],
    entryChains: [],
    entryRules: [],
  };
}

/** Returns CNI-HOSTPORT-MASQ: masquerade marked packets; hooked at the top of POSTROUTING, above ptp/bridge ipMasq. */
export function masqChain(bit: number): ChainSpec {
  return {
    name: MASQ_CHAIN,
    rules: [["-m", "mark", "--mark", markDef(bit), "-j", "MASQUERADE"]],
    entryChains: ["POSTROUTING"],
    entryRules: [["-m", "comment", "--comment", "CNI portfwd requiring masquerade"]],
    prependEntry: true,
  };
}

/** Returns CNI-HOSTPORT-DNAT, entered for local destinations from PREROUTING and OUTPUT (appended: CVE-2019-9946). */
export function topDnatChain(): ChainSpec {
  return { name: TOP_DNAT_CHAIN, rules: [], entryChains: ["PREROUTING", "OUTPUT"], entryRules: [["-m", "addrtype", "--dst-type", "LOCAL"]] };
}

/**
 * Returns the per-container chain for one container address (upstream fillDnatRules): entry rules per protocol
 * (sorted) and per 15 host ports, with this family's conditions; then per mapping of this family the hairpin mark,
 * the localhost mark (IPv4 without masqAll) and the DNAT.
 */
export function dnatChain(conf: PortMapConf, containerId: string, net: IPNet): ChainSpec {
  const family = net.ip.family;
  const comment = dnatComment(conf.name, containerId);
  const conditions = (family === 6 ? conf.conditionsV6 : conf.conditionsV4) ?? [];
  const entryRules: string[][] = [];
  for (const [proto, ports] of groupByProto(conf.portMappings)) {
    for (const list of splitPortList(ports)) {
      // upstream quirk: every mapping is listed here, also one whose hostIP is of the other family.
      entryRules.push(["-m", "comment", "--comment", comment, "-m", "multiport", "-p", proto, "--destination-ports", list, ...conditions]);
    }
  }
  const setMark = conf.externalSetMarkChain ?? SETMARK_CHAIN;
  const rules: string[][] = [];
  for (const m of conf.portMappings) {
    if (!mappingApplies(m, family)) continue;
    const base = ["-p", m.protocol, "--dport", String(m.hostPort)];
    if (hasSpecificHostIP(m)) base.push("-d", m.hostIP!);
    if (conf.snat) {
      // The hairpin: the container reaching itself through the host port (upstream marks its whole subnet).
      const src = conf.masqAll ? (family === 6 ? "::/0" : "0.0.0.0/0") : formatCIDR(net);
      rules.push([...base, "-s", src, "-j", setMark]);
      if (family === 4 && !conf.masqAll) rules.push([...base, "-s", "127.0.0.1", "-j", setMark]);
    }
    rules.push([...base, "-j", "DNAT", "--to-destination", hostPort(net, m)]);
  }
  return { name: dnatChainName(conf.name, containerId), rules, entryChains: [TOP_DNAT_CHAIN], entryRules };
}

function hostPort(net: IPNet, m: PortMapping): string {
  const ip = formatIP(net.ip);
  return net.ip.family === 6 ? `[${ip}]:${m.containerPort}` : `${ip}:${m.containerPort}`;
}

/** Returns host ports per protocol, protocols sorted, ports in mapping order (upstream groupByProto + sort). */
export function groupByProto(mappings: PortMapping[]): [string, number[]][] {
  const by = new Map<string, number[]>();
  for (const m of mappings) {
    const list = by.get(m.protocol);
    if (list) list.push(m.hostPort);
    else by.set(m.protocol, [m.hostPort]);
  }
  return [...by.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Returns the ports as comma-joined lists of at most 15 (the multiport limit). */
export function splitPortList(ports: number[]): string[] {
  const out: string[] = [];
  for (let i = 0; i < ports.length; i += 15) out.push(ports.slice(i, i + 15).join(","));
  return out;
}

/** Returns the chains one ADD sets up for one container address, in upstream's order. */
export function chainsForAdd(conf: PortMapConf, containerId: string, net: IPNet): ChainSpec[] {
  const chains: ChainSpec[] = [];
  if (conf.snat && conf.externalSetMarkChain === undefined) chains.push(setMarkChain(conf.markMasqBit), masqChain(conf.markMasqBit));
  chains.push(topDnatChain(), dnatChain(conf, containerId, net));
  return chains;
}

/** Returns an argument as iptables-restore reads it back: bare, or in double quotes with `"` and `\` escaped. */
export function restoreArg(a: string): string {
  const bare = a !== "" && hasNoSpace(a) && !a.includes('"') && !a.includes("'") && !a.includes("\\");
  return bare ? a : quoted(a, `"\\`);
}

function restoreRule(verb: string, chain: string, args: string[]): string {
  return `${verb} ${chain} ${args.map(restoreArg).join(" ")}`;
}

/**
 * Returns the iptables-restore lines (nat table) that bring `state` to what the chains want, as upstream's
 * chain.setup does it: create missing chains (`-N`, which fails the batch if another process created one meanwhile,
 * so the caller can read again and retry), append (or insert at 1) each rule iptables-save does not print yet.
 * Entry rules with conditions iptables-save would print in a form we cannot predict replace the chain's
 * existing entry rules instead.
 */
export function setupLines(state: IptablesTable, family: IpFamily, chains: ChainSpec[]): string[] {
  const lines: string[] = [];
  const have = new Set(state.rules.map((r) => r.line));
  const created = new Set<string>();
  const ensure = (name: string) => {
    if (state.chains.has(name) || created.has(name)) return;
    created.add(name);
    lines.push(`-N ${name}`);
  };
  const add = (chain: string, args: string[], prepend: boolean, saved: string | undefined) => {
    if (saved !== undefined) {
      if (have.has(saved)) return;
      have.add(saved);
    }
    lines.push(prepend ? restoreRule("-I", `${chain} 1`, args) : restoreRule("-A", chain, args));
  };
  for (const c of chains) {
    ensure(c.name);
    for (const r of c.rules) add(c.name, r, false, saveForm(family, c.name, r));
    for (const entry of c.entryChains) {
      const wanted = c.entryRules.map((r) => [...r, "-j", c.name]);
      const saved = wanted.map((r) => saveForm(family, entry, r));
      if (saved.includes(undefined)) {
        // Cannot tell which of the old ones match: put exactly the wanted ones in their place.
        for (const r of state.rules) if (r.chain === entry && ruleTarget(r) === c.name) lines.push(deleteLine(r));
        for (const r of wanted) add(entry, r, c.prependEntry ?? false, undefined);
        continue;
      }
      for (let i = 0; i < wanted.length; i++) add(entry, wanted[i]!, c.prependEntry ?? false, saved[i]);
    }
  }
  return lines;
}

/** What CHECK finds missing, in upstream's words, or the rules it must ask iptables about (`-C`). */
export interface CheckOutcome {
  error?: string;
  /** Rules whose printed form cannot be predicted: [chain, args]. */
  ask: [string, string[]][];
}

/**
 * Returns what CHECK finds for one container chain (upstream chain.check): the chain must exist and hold every
 * rule, and every entry rule must be in its entry chain. Unpredictable entry rules are returned to ask iptables.
 */
export function checkChain(state: IptablesTable, family: IpFamily, c: ChainSpec): CheckOutcome {
  if (!state.chains.has(c.name)) return { error: `chain ${c.name} not found in iptables table nat`, ask: [] }; // upstream text
  const have = new Set(state.rules.map((r) => r.line));
  for (const r of [...c.rules].reverse()) {
    const saved = saveForm(family, c.name, r);
    if (saved === undefined || !have.has(saved)) return { error: `rule ${goList(c.rules)} in chain ${c.name} not found in table nat`, ask: [] }; // upstream text
  }
  const ask: [string, string[]][] = [];
  for (const entry of c.entryChains) {
    for (const r of [...c.entryRules].reverse()) {
      const args = [...r, "-j", c.name];
      const saved = saveForm(family, entry, args);
      if (saved === undefined) ask.push([entry, args]);
      else if (!have.has(saved)) return { error: `rule ${goList(c.entryRules)} in chain ${entry} not found in table nat`, ask: [] }; // upstream text
    }
  }
  return { ask };
}

/** Returns a [][]string as Go's %s prints it: `[[a b] [c]]`. */
export function goList(rules: string[][]): string {
  return `[${rules.map((r) => `[${r.join(" ")}]`).join(" ")}]`;
}

/**
 * Returns the part of the nat table an ADD's plan depends on, read from nf_tables instead of iptables-save (~4 ms,
 * more as other pods' rules grow), when iptables is the nf_tables variant: the container's chain must be unknown to
 * the kernel, and every shared chain there holding every shared rule, each found byte for byte as iptables-restore
 * stores it. setupLines plans the same lines against this as against the whole table (the container's chain, its
 * rules and its jump; nothing shared). Undefined when anything of that cannot be told: plan from iptables-save.
 */
export function kernelPlanState(family: IpFamily, chains: ChainSpec[], containerChain: string): IptablesTable | undefined {
  if (chainInKernel(family, "nat", containerChain) !== false) return undefined;
  const dumps = new Map<string, KernelRules | null | undefined>();
  const rulesOf = (chain: string) => {
    if (!dumps.has(chain)) dumps.set(chain, chainRulesInKernel(family, "nat", chain));
    return dumps.get(chain);
  };
  const saved: string[] = [];
  const present = (chain: string, args: string[]) => {
    const line = saveForm(family, chain, args);
    if (line === undefined || ruleInKernel(family, rulesOf(chain), args) !== true) return false;
    saved.push(line);
    return true;
  };
  const shared = filtered(chains, (c) => c.name !== containerChain);
  for (const c of shared) {
    // Missing (the first ADD) or unreadable; a chain with no rule of its own to look for is only asked about.
    if (c.rules.length === 0 ? chainInKernel(family, "nat", c.name) !== true : !rulesOf(c.name)) return undefined;
    if (!allOf(c.rules, (r) => present(c.name, r))) return undefined;
    for (const entry of c.entryChains) if (!allOf(c.entryRules, (r) => present(entry, [...r, "-j", c.name]))) return undefined;
  }
  return parseIptablesSave(["*nat", ...shared.map((c) => `:${c.name} - [0:0]`), ...saved, "COMMIT", ""].join("\n"), "nat");
}

/**
 * Returns the nat table as read before the batch `build` made from it was applied (`first`, or iptables-save's).
 * When the batch fails and a fresh read shows the table changed meanwhile (another plugin created a chain: `-N`
 * then fails), builds again from the fresh state; a failure on an unchanged table is ours and is thrown.
 */
export function applyWithRetry(family: IpFamily, build: (state: IptablesTable) => string[], first?: IptablesTable): IptablesTable {
  let state = first ?? readIptablesTable(family, "nat");
  for (let attempt = 1; ; attempt++) {
    try {
      applyIptablesBatch(family, "nat", build(state));
      return state;
    } catch (e) {
      state = stateToRetryWith(e, attempt, family, state);
    }
  }
}

// Returns the fresh table to build the batch again from, or throws e when a retry cannot help.
function stateToRetryWith(e: unknown, attempt: number, family: IpFamily, state: IptablesTable): IptablesTable {
  if (!(e instanceof NetfilterBatchError) || attempt >= 5) throw e;
  const now = readIptablesTable(family, "nat");
  if (sameTable(now, state)) throw e;
  return now;
}

function sameTable(a: IptablesTable, b: IptablesTable): boolean {
  return [...a.chains.keys()].join("\n") === [...b.chains.keys()].join("\n") && a.rules.map((r) => r.line).join("\n") === b.rules.map((r) => r.line).join("\n");
}
