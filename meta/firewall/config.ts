// meta/firewall/config.ts: the firewall network config (SPEC-DIGEST §3.3), decoded with Go's rules and upstream's
// struct name (FirewallNetConf) so decode errors read like upstream's, then judged before anything changes: the
// backend, the ingress policy and the admin chain name. prevResult is parsed for every verb, as upstream's parseConf.
import { netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import { decodeRoot, str, struct } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { parsePrevResult } from "../../pkg/cni/result.ts";
import type { Result } from "../../pkg/cni/types.ts";
import { goQuote } from "../../pkg/netfilter/names.ts";

export type Backend = "iptables" | "firewalld";
export type IngressPolicy = "open" | "same-bridge" | "isolated";

export const DEFAULT_ADMIN_CHAIN = "CNI-ADMIN";
export const DEFAULT_ZONE = "trusted";

export interface FirewallConf {
  cniVersion: string;
  name: string;
  /** `backend` as written ("" when absent): "iptables", "firewalld", or "" for auto-detection. */
  backend: string;
  /** `iptablesAdminChainName`, CNI-ADMIN when absent or empty. */
  adminChainName: string;
  /** `firewalldZone`, trusted when absent or empty. */
  firewalldZone: string;
  /** `ingressPolicy` as written ("" means open). */
  ingressPolicy: string;
  /** prevResult in the 1.1.0 shape; undefined when the config has none (allowed for DEL). */
  prevResult?: Result;
}

const decoder = struct("FirewallNetConf", {
  ...netConfFields,
  backend: str,
  iptablesAdminChainName: str,
  firewalldZone: str,
  ingressPolicy: str,
});

/** Returns the config of stdin with upstream's defaults; throws the decode error or the prevResult error (upstream texts). */
export function loadConf(stdin: Uint8Array): FirewallConf {
  const raw = parseStdin(stdin) as Record<string, unknown>;
  let c: ReturnType<typeof decoder>;
  try {
    c = decodeRoot(raw, decoder, "FirewallNetConf");
  } catch (e) {
    throw new Error(`failed to load netconf: ${(e as Error).message}`); // upstream text
  }
  const conf: FirewallConf = {
    cniVersion: c.cniVersion ?? "",
    name: c.name ?? "",
    backend: c.backend ?? "",
    adminChainName: c.iptablesAdminChainName || DEFAULT_ADMIN_CHAIN,
    firewalldZone: c.firewalldZone || DEFAULT_ZONE,
    ingressPolicy: c.ingressPolicy ?? "",
  };
  if (c.prevResult) {
    try {
      conf.prevResult = parsePrevResult(c.prevResult, conf.cniVersion);
    } catch (e) {
      throw new Error(`could not parse prevResult: ${(e as Error).message}`); // upstream text (the prefix twice, as upstream)
    }
  }
  return conf;
}

/**
 * Returns the configured backend, or undefined for auto-detection ("" as upstream). Throws CniError 7 for any other
 * value: upstream silently auto-detects there, which turns a typo into whichever firewall happens to run.
 */
export function configuredBackend(conf: FirewallConf): Backend | undefined {
  if (conf.backend === "") return undefined;
  if (conf.backend === "iptables" || conf.backend === "firewalld") return conf.backend;
  throw new CniError(ERR_INVALID_NETWORK_CONFIG, `unknown firewall backend ${goQuote(conf.backend)}`, `"backend" must be "iptables" or "firewalld" (or absent: firewalld when it is running, else iptables)`);
}

/** Returns the ingress policy ("" is open); throws CniError 7 with upstream's text for any other value. */
export function ingressPolicyOf(conf: FirewallConf): IngressPolicy {
  switch (conf.ingressPolicy) {
    case "":
    case "open":
      return "open";
    case "same-bridge":
    case "isolated":
      return conf.ingressPolicy;
  }
  throw new CniError(ERR_INVALID_NETWORK_CONFIG, `unknown ingress policy: ${goQuote(conf.ingressPolicy)}`, `"ingressPolicy" must be "open", "same-bridge" or "isolated"`); // upstream text
}

// iptables refuses these as a user chain's name: the built-in chains of any table and the standard verdicts.
const RESERVED_CHAINS = new Set(["INPUT", "OUTPUT", "FORWARD", "PREROUTING", "POSTROUTING", "ACCEPT", "DROP", "QUEUE", "RETURN", "CNI-FORWARD"]);

/**
 * Throws CniError 7 naming `iptablesAdminChainName` when iptables could not create or jump to that chain (upstream
 * finds out half way through ADD): at most 28 bytes (XT_EXTENSION_MAXNAMELEN - 1), no leading `-` or `!`, no
 * whitespace or quotes (an iptables-restore line could not carry it), not a built-in chain, a verdict or CNI-FORWARD
 * itself (a jump loop).
 */
export function validateAdminChain(name: string): void {
  const bad = (why: string) =>
    new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid iptablesAdminChainName ${goQuote(name)}: ${why}`);
  if (new TextEncoder().encode(name).length > 28) throw bad("longer than 28 bytes");
  if (/^[-!]/.test(name)) throw bad(`must not start with "-" or "!"`);
  if (/[\s"'\\]/u.test(name) || /[\x00-\x1f\x7f]/.test(name)) throw bad("must not contain whitespace, quotes or backslashes");
  if (RESERVED_CHAINS.has(name)) throw bad("is a built-in chain, a verdict or CNI-FORWARD itself");
}
