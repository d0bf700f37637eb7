// meta/firewall/rules.ts: upstream's filter-table chains and rules (plugins/meta/firewall/iptables.go and
// ingresspolicy.go), written as iptables-save prints them, and a plan that turns "ensure / insert at 1 if missing /
// append if missing / delete" steps into the lines of one iptables-restore batch, judged against the table as read
// once. Pure code: iptables.ts reads and writes.
import { formatIP, type IPNet } from "../../pkg/ip/cidr.ts";
import { ruleTarget, saveQuote, splitRestoreArgs, type IptablesTable } from "../../pkg/netfilter/iptables.ts";

export const PRIV_CHAIN = "CNI-FORWARD";
export const STAGE1_CHAIN = "CNI-ISOLATION-STAGE-1";
export const STAGE2_CHAIN = "CNI-ISOLATION-STAGE-2";
export const FORWARD = "FORWARD";

// upstream texts
const RULES_COMMENT = "CNI firewall plugin rules";
const ADMIN_COMMENT = "CNI firewall plugin admin overrides";
const DEFAULT_POLICY_COMMENT = "CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)";
const policyComment = (policy: "same-bridge" | "isolated") => `CNI firewall plugin rules (ingressPolicy: ${policy})`;

/** One rule: its chain, and the rest of its line as iptables-save prints it (`-A <chain> <spec>`). */
export interface Rule {
  chain: string;
  spec: string;
}

const comment = (text: string) => `-m comment --comment ${saveQuote(text)}`;

/** Returns upstream's ipString: the bare address with /32 or /128, whatever the result's prefix. */
export function hostCIDR(n: IPNet): string {
  return `${formatIP(n.ip)}/${n.ip.family === 4 ? 32 : 128}`;
}

/** FORWARD → CNI-FORWARD (inserted at 1). */
export function forwardJump(): Rule {
  return { chain: FORWARD, spec: `${comment(RULES_COMMENT)} -j ${PRIV_CHAIN}` };
}

/** CNI-FORWARD → the admin chain (inserted at 1). */
export function adminJump(admin: string): Rule {
  return { chain: PRIV_CHAIN, spec: `${comment(ADMIN_COMMENT)} -j ${admin}` };
}

/** The two rules of one address in CNI-FORWARD (appended): replies to it, and everything from it. */
export function addressRules(n: IPNet): Rule[] {
  const ip = hostCIDR(n);
  return [
    { chain: PRIV_CHAIN, spec: `-d ${ip} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT` },
    { chain: PRIV_CHAIN, spec: `-s ${ip} -j ACCEPT` },
  ];
}

/** The isolation rules of one bridge (ingresspolicy.go setupIsolationChains), each with where upstream puts it. */
export function isolationRules(bridge: string, policy: "same-bridge" | "isolated"): { rule: Rule; at: "first" | "last" }[] {
  const def = comment(DEFAULT_POLICY_COMMENT);
  const pol = comment(policyComment(policy));
  const out: { rule: Rule; at: "first" | "last" }[] = [
    // Before CNI-FORWARD's jump, so isolation is judged before the per-address ACCEPTs.
    { rule: { chain: FORWARD, spec: `${def} -j ${STAGE1_CHAIN}` }, at: "first" },
    { rule: { chain: STAGE1_CHAIN, spec: `-i ${bridge} ! -o ${bridge} ${pol} -j ${STAGE2_CHAIN}` }, at: "first" },
  ];
  if (policy === "isolated") out.push({ rule: { chain: STAGE1_CHAIN, spec: `-i ${bridge} -o ${bridge} ${pol} -j DROP` }, at: "first" });
  out.push(
    { rule: { chain: STAGE1_CHAIN, spec: `${def} -j RETURN` }, at: "last" },
    { rule: { chain: STAGE2_CHAIN, spec: `-o ${bridge} ${def} -j DROP` }, at: "first" },
    { rule: { chain: STAGE2_CHAIN, spec: `${def} -j RETURN` }, at: "last" },
  );
  return out;
}

/** Returns a rule as Go's `%v` prints upstream's []string in CHECK errors: `[-d 10.1.2.3/32 -j ACCEPT]`. */
export function goRuleText(r: Rule): string {
  return `[${splitRestoreArgs(r.spec).join(" ")}]`;
}

const BUILTIN = ["INPUT", "FORWARD", "OUTPUT"];

/** What a plan added, so a later plan can take it back. */
export type Added = { kind: "chain"; chain: string } | { kind: "rule"; rule: Rule };

/**
 * The filter table of one family as a model that each step updates, so later steps see earlier ones (as upstream's
 * command-by-command checks do), and the iptables-restore lines that make the kernel match it.
 */
export class FilterPlan {
  private readonly rules = new Map<string, string[]>();
  private readonly newChains: string[] = [];
  private readonly ops: string[] = [];
  private readonly deletedChains: string[] = [];
  readonly added: Added[] = [];

  constructor(state: IptablesTable) {
    for (const c of BUILTIN) this.rules.set(c, []);
    for (const c of state.chains.keys()) this.rules.set(c, []);
    for (const r of state.rules) {
      const prefix = `-A ${r.chain} `;
      if (!r.line.startsWith(prefix)) continue; // a quoted chain name: never one of ours
      if (!this.rules.has(r.chain)) this.rules.set(r.chain, []);
      this.rules.get(r.chain)!.push(r.line.slice(prefix.length));
    }
  }

  hasChain(chain: string): boolean {
    return this.rules.has(chain);
  }

  has(r: Rule): boolean {
    return this.rules.get(r.chain)?.includes(r.spec) ?? false;
  }

  /** Creates the chain when it is missing (`-N`: a `:chain` line would flush one that appeared meanwhile). */
  ensureChain(chain: string): void {
    if (this.rules.has(chain)) return;
    this.rules.set(chain, []);
    this.newChains.push(chain);
    this.added.push({ kind: "chain", chain });
  }

  /** Inserts the rule at position 1 of its chain unless it is there already (upstream InsertUnique with prepend). */
  insertUnique(r: Rule): void {
    if (this.has(r)) return;
    this.chainRules(r.chain).unshift(r.spec);
    this.ops.push(`-I ${r.chain} 1 ${r.spec}`);
    this.added.push({ kind: "rule", rule: r });
  }

  /** Appends the rule to its chain unless it is there already (upstream AppendUnique). */
  appendUnique(r: Rule): void {
    if (this.has(r)) return;
    this.chainRules(r.chain).push(r.spec);
    this.ops.push(`-A ${r.chain} ${r.spec}`);
    this.added.push({ kind: "rule", rule: r });
  }

  /** Deletes the first copy of the rule, if any (upstream's Delete with its error ignored). */
  deleteOne(r: Rule): void {
    const list = this.rules.get(r.chain);
    const i = list?.indexOf(r.spec) ?? -1;
    if (i < 0) return;
    list!.splice(i, 1);
    this.ops.push(`-D ${r.chain} ${r.spec}`);
  }

  /** Deletes a chain this plan's owner created, once it is empty and nothing jumps to it. */
  deleteChainIfUnused(chain: string): void {
    const list = this.rules.get(chain);
    if (!list || list.length > 0 || BUILTIN.includes(chain)) return;
    for (const [c, specs] of this.rules) {
      if (c === chain) continue;
      for (const spec of specs) {
        if (ruleTarget({ chain: c, line: `-A ${c} ${spec}`, args: splitRestoreArgs(`-A ${c} ${spec}`) }) === chain) return;
      }
    }
    this.rules.delete(chain);
    this.deletedChains.push(chain);
  }

  /** Returns the restore lines in order: new chains first, then the rule changes, then chain removals. */
  lines(): string[] {
    return [...this.newChains.map((c) => `-N ${c}`), ...this.ops, ...this.deletedChains.map((c) => `-X ${c}`)];
  }

  private chainRules(chain: string): string[] {
    const list = this.rules.get(chain);
    if (!list) throw new Error(`chain ${chain} is missing from the plan`); // a step forgot its ensureChain
    return list;
  }
}

/** Returns the lines that take back what an earlier plan added, judged against the table as it is now. */
export function undoLines(state: IptablesTable, added: Added[]): string[] {
  const plan = new FilterPlan(state);
  for (const a of [...added].reverse()) {
    if (a.kind === "rule") plan.deleteOne(a.rule);
    else plan.deleteChainIfUnused(a.chain);
  }
  return plan.lines();
}
