// meta/firewall/iptables.ts: the iptables side of the plugin: the backend's CNI-FORWARD rules and the ingress
// policy's isolation chains, in the filter table of each address family the result has. Each call reads the table
// once per family (iptables-save) and writes one iptables-restore batch per family (pkg/netfilter/iptables.ts).
//
// Concurrency: a batch creates missing chains with `-N`, which fails the whole batch when another process created
// the chain after our read (a `:chain` line would instead flush it under --noflush). A failed batch is planned again
// from a fresh read, a few times, while the state keeps changing under it.
import type { IPNet } from "../../pkg/ip/cidr.ts";
import { NetfilterBatchError } from "../../pkg/netfilter/exec.ts";
import { findTool } from "../../pkg/sys/find-tool.ts";
import { applyIptablesBatch, readIptablesTable, type IpFamily } from "../../pkg/netfilter/iptables.ts";
import { withSharedChainsLock } from "../../pkg/netfilter/shared-chains-lock.ts";
import {
  addressRules, adminJump, FilterPlan, forwardJump, goRuleText, isolationRules, PRIV_CHAIN, STAGE1_CHAIN, STAGE2_CHAIN,
  undoLines, type Added,
} from "./rules.ts";

const TABLE = "filter";
const ATTEMPTS = 3;

/** What ADD asks of one family's filter table. */
export interface FamilySetup {
  /** The backend's rules for these addresses (the iptables backend only), with this admin chain. */
  backend?: { adminChain: string; ips: IPNet[] };
  /** The ingress policy's isolation rules for this bridge. */
  isolation?: { bridge: string; policy: "same-bridge" | "isolated" };
}

const TOOLS: Record<IpFamily, string[]> = {
  4: ["iptables-save", "iptables-restore"],
  6: ["ip6tables-save", "ip6tables-restore"],
};

/**
 * Throws upstream's error when a family's tools are missing: its iptables backend needs both families'
 * (newIptablesBackend), whatever the addresses.
 */
export function requireIptables(families: IpFamily[] = [4, 6]): void {
  for (const family of families) {
    for (const tool of TOOLS[family]) {
      if (findTool(tool) === null) {
        // upstream text: go-iptables' protocol number (0 = IPv4, 1 = IPv6) and exec's error
        throw new Error(`could not initialize iptables protocol ${family === 4 ? 0 : 1}: exec: "${tool}": executable file not found in $PATH`);
      }
    }
  }
}

/** Returns the plan of ADD's steps for one family, in upstream's order (backend first, then the ingress policy). */
export function planSetup(plan: FilterPlan, s: FamilySetup): void {
  if (s.backend && s.backend.ips.length > 0) {
    plan.ensureChain(PRIV_CHAIN);
    plan.ensureChain(s.backend.adminChain);
    plan.insertUnique(forwardJump());
    plan.insertUnique(adminJump(s.backend.adminChain));
    for (const n of s.backend.ips) for (const r of addressRules(n)) plan.appendUnique(r);
  }
  if (s.isolation) {
    plan.ensureChain(STAGE1_CHAIN);
    plan.ensureChain(STAGE2_CHAIN);
    for (const { rule, at } of isolationRules(s.isolation.bridge, s.isolation.policy)) {
      if (at === "first") plan.insertUnique(rule);
      else plan.appendUnique(rule);
    }
  }
}

/**
 * Applies one family's setup in one batch and returns what it added (for `undoSetup`). Throws
 * NetfilterUnavailableError when the tools cannot read the table, Error when the batch keeps failing.
 */
export function applySetup(family: IpFamily, s: FamilySetup): Added[] {
  return applyPlanned(family, (plan) => planSetup(plan, s));
}

/** Takes back what `applySetup` added, as far as it is still there and unused (best effort; throws on failure). */
export function undoSetup(family: IpFamily, added: Added[]): void {
  if (added.length === 0) return;
  withRetries(family, () => undoLines(readIptablesTable(family, TABLE), added));
}

/** Deletes one copy of each address's two CNI-FORWARD rules (upstream delRules); chains and jumps stay. */
export function deleteAddressRules(family: IpFamily, ips: IPNet[]): void {
  if (ips.length === 0) return;
  applyPlanned(family, (plan) => {
    for (const n of ips) for (const r of addressRules(n)) plan.deleteOne(r);
  });
}

/**
 * Returns undefined when the backend's rules for these addresses are all in place, else upstream's message for the
 * first one missing (FORWARD's jump, the admin jump, then each address rule). Chains are not created, unlike upstream.
 */
export function checkBackend(family: IpFamily, adminChain: string, ips: IPNet[]): string | undefined {
  if (ips.length === 0) return undefined;
  const plan = new FilterPlan(readIptablesTable(family, TABLE));
  const fwd = forwardJump();
  if (!plan.has(fwd)) return `expected FORWARD rule ${goRuleText(fwd)} not found`; // upstream text
  const admin = adminJump(adminChain);
  if (!plan.has(admin)) return `expected ${PRIV_CHAIN} rule ${goRuleText(admin)} not found`; // upstream text
  for (const n of ips) {
    for (const r of addressRules(n)) if (!plan.has(r)) return `expected rule ${goRuleText(r)} not found`; // upstream text
  }
  return undefined;
}

// Plans against a fresh read and applies; returns what the applied plan added.
function applyPlanned(family: IpFamily, steps: (plan: FilterPlan) => void): Added[] {
  let added: Added[] = [];
  withRetries(family, () => {
    const plan = new FilterPlan(readIptablesTable(family, TABLE));
    steps(plan);
    added = plan.added;
    return plan.lines();
  });
  return added;
}

// Applies the lines `planLines` computes, holding the shared-chains lock from its read to the apply (CNI-FORWARD and
// CNI-ADMIN are every container's).
function withRetries(family: IpFamily, planLines: () => string[]): void {
  withSharedChainsLock(() => applyRetrying(family, planLines));
}

// When the batch fails, plans again from a fresh read and tries once more, unless the new plan is the one that just
// failed (then the failure is not a race and the error stands). Go's firewall or a manual change may still race us.
function applyRetrying(family: IpFamily, planLines: () => string[]): void {
  let failed: { lines: string; error: Error } | undefined;
  for (let attempt = 1; attempt <= ATTEMPTS; attempt++) {
    const lines = planLines();
    if (lines.length === 0) return;
    if (failed && failed.lines === lines.join("\n")) throw failed.error;
    try {
      applyIptablesBatch(family, TABLE, lines);
      return;
    } catch (e) {
      if (!(e instanceof NetfilterBatchError)) throw e;
      failed = { lines: lines.join("\n"), error: e };
    }
  }
  throw failed!.error;
}
