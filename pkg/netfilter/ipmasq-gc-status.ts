// pkg/netfilter/ipmasq-gc-status.ts: what GC and STATUS mean for the masquerade of bridge and ptp (our addition:
// upstream's declare both and implement neither for ipMasq). STATUS: an ADD with ipMasq needs a netfilter tool it
// can use. GC: the masquerade rules of this network's attachments that the runtime no longer holds go.
import { CniError, ERR_PLUGIN_NOT_AVAILABLE } from "../cni/errors.ts";
import { loadValidAttachments } from "../cni/valid-attachments.ts";
import { isIptablesUsable } from "./iptables.ts";
import { gcIPMasq } from "./ipmasq.ts";
import { isNftUsable } from "./nftables.ts";

/**
 * Throws CniError 50 (plugin not available) when ipMasq is on and the backend an ADD would use has no usable tool:
 * `iptables` needs iptables-save/-restore, `nftables` needs nft, and no `ipMasqBackend` needs either. An unknown
 * backend is left to ADD, which rejects it as a config error (code 7).
 */
export function checkIPMasqAvailable(ipMasq: boolean, backend: string | undefined): void {
  if (!ipMasq) return;
  const problem =
    backend === "iptables" ? (isIptablesUsable(4) ? "" : "ipMasqBackend \"iptables\" is configured but iptables cannot be used here")
    : backend === "nftables" ? (isNftUsable() ? "" : "ipMasqBackend \"nftables\" is configured but nft cannot be used here")
    : backend === undefined ? (isIptablesUsable(4) || isNftUsable() ? "" : "ipMasq is on but neither iptables nor nft can be used here")
    : "";
  if (problem) throw new CniError(ERR_PLUGIN_NOT_AVAILABLE, "cannot set up IP masquerade", problem);
}

/**
 * GC of the masquerade of network `network`: removes the rules (both backends) of every attachment missing from the
 * config's `cni.dev/valid-attachments`. Without that list the runtime has told us nothing, and nothing is removed.
 * Throws a decode error for a malformed list, and the netfilter errors.
 */
export function gcIPMasqOfConf(network: string, stdin: Uint8Array): void {
  const valid = loadValidAttachments(stdin);
  if (!valid) return;
  gcIPMasq(network, valid.map((a) => ({ containerId: a.containerID, ifname: a.ifname })));
}

/** Runs every step even after one fails (a GC collects what it can); then throws the only error, or all of them joined. */
export async function runAllSteps(steps: (() => unknown)[]): Promise<void> {
  const errors: Error[] = [];
  for (const step of steps) {
    try {
      await step();
    } catch (e) {
      errors.push(e instanceof Error ? e : new Error(String(e)));
    }
  }
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join("; "));
}
