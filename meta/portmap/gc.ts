// meta/portmap/gc.ts: GC, our addition (upstream declares it and implements none; DESIGN decision 9): removes the
// port forwarding of this network's containers that `cni.dev/valid-attachments` no longer lists. Without that list
// the runtime has told us nothing, and nothing is removed. Only state that provably belongs to this network goes:
//
// - iptables (each family: one iptables-save, at most one iptables-restore): a per-container chain `CNI-DN-…` is this
//   network's when a jump to it from CNI-HOSTPORT-DNAT carries the comment `dnat name: "<network>" id: "<cid>"` and
//   the chain name is the hash of network + that ID. Go's ADD writes the same, so its chains are collected too.
// - nftables: the rules carry only the container ID (upstream's comment, which Go's DEL deletes by), so they are
//   attributed through the records our ADD writes (record.ts): a stale record's rules are those commented with its
//   container ID that point at one of its addresses. Rules nobody recorded (made by the Go plugin) are never touched.
//   When another network's record names the same container ID and the same address (overlapping subnets), the
//   rules cannot be told apart: they stay, and only this network's record goes; the other network's DEL (ours or
//   Go's, which delete every rule with the ID) or GC removes them later. Records whose rules are gone (a DEL by the
//   Go plugin) are removed the same way.
//
// Both backends are collected whatever `backend` says now, so a network that switched backends leaves nothing
// behind either. A backend whose tools are missing holds nothing, and is skipped.
import type { CmdArgs } from "../../pkg/cni/types.ts";
import { loadValidAttachments } from "../../pkg/cni/valid-attachments.ts";
import { NetfilterBatchError, NetfilterUnavailableError } from "../../pkg/netfilter/exec.ts";
import { iptablesTeardownLines } from "../../pkg/netfilter/ipmasq.ts";
import { ruleTarget, type IpFamily, type IptablesTable } from "../../pkg/netfilter/iptables.ts";
import { applyNftBatch, type NftRule, type NftTable } from "../../pkg/netfilter/nftables.ts";
import { loadGcConf } from "./config.ts";
import { applyWithRetry, dnatChainName, oldSnatChainName, TOP_DNAT_CHAIN } from "./iptables.ts";
import { containerRules, deleteBatch, readPortmapTables, type NftFamily } from "./nftables.ts";
import { listRecords, otherNetworksRecords, removeRecord, type RecordEntry } from "./record.ts";

/** The GC verb: removes this network's forwarding of containers not listed as valid; throws every failure at the end. */
export function gc(args: CmdArgs): void {
  const conf = loadGcConf(args.stdin);
  const valid = loadValidAttachments(args.stdin, "PortMapConf");
  if (!valid) return;
  // Portmap's state is per container, not per interface: the chain and the comments name no ifname.
  const keep = new Set(valid.map((a) => a.containerID));
  const errors: Error[] = [];
  for (const family of [4, 6] as IpFamily[]) {
    collect(errors, `could not garbage-collect ipv${family} dnat`, () => {
      applyWithRetry(family, (state) => iptablesTeardownLines(state, staleIptablesChains(state, conf.name, keep)));
    });
  }
  collect(errors, "could not garbage-collect nftables rules", () => gcNftables(conf.dataDir, conf.name, keep));
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join("\n"));
}

const DNAT_CHAIN = /^CNI-DN-[0-9a-f]{21}$/;

/**
 * Returns the per-container chains of `network` in a nat table whose container ID is not kept (and, for each, the
 * legacy `CNI-SN-…` chain of the same container when it exists). A chain counts as the network's only through a
 * jump from CNI-HOSTPORT-DNAT commented `dnat name: "<network>" id: "<cid>"` whose target is the chain of that
 * network and ID; a comment cut to 253 bytes + "..." (very long names) still names the network whole, and then the
 * chain is kept only if it is a kept container's.
 */
export function staleIptablesChains(state: IptablesTable, network: string, keep: Set<string>): string[] {
  const prefix = `dnat name: "${network}" id: "`;
  const kept = new Set([...keep].map((id) => dnatChainName(network, id)));
  const stale = new Set<string>();
  for (const r of state.rules) {
    if (r.chain !== TOP_DNAT_CHAIN) continue;
    const target = ruleTarget(r);
    if (target === undefined || !DNAT_CHAIN.test(target) || kept.has(target)) continue;
    const i = r.args.indexOf("--comment");
    const comment = i >= 0 ? r.args[i + 1] : undefined;
    if (comment === undefined || !comment.startsWith(prefix)) continue;
    const rest = comment.slice(prefix.length);
    if (rest.endsWith('"')) {
      const id = rest.slice(0, -1);
      if (dnatChainName(network, id) !== target) continue; // the comment does not match the chain: proves nothing
      stale.add(target);
      const legacy = oldSnatChainName(network, id);
      if (state.chains.has(legacy)) stale.add(legacy);
    } else if (comment.endsWith("...")) {
      stale.add(target);
    }
  }
  return [...stale];
}

/**
 * Deletes the nftables rules of this network's stale records (one nft transaction for both families), then the
 * records. A transaction that fails because a rule went meanwhile (a concurrent DEL) is planned again from a fresh
 * listing.
 */
function gcNftables(dataDir: string, network: string, keep: Set<string>): void {
  const stale = listRecords(dataDir, network).filter((e) => !keep.has(e.containerID));
  if (stale.length === 0) return;
  const mine = new Map(stale.map((e) => [e.containerID, ownAddresses(e, otherNetworksRecords(dataDir, network, e.containerID))]));
  for (let attempt = 1; ; attempt++) {
    let tables: Map<NftFamily, NftTable | undefined>;
    try {
      tables = readPortmapTables(["ip", "ip6"]);
    } catch (e) {
      if (!(e instanceof NetfilterUnavailableError)) throw e;
      break; // no nftables here: no rules, only the records go
    }
    try {
      applyNftBatch([...mine].map(([id, addresses]) => gcBatch(tables, id, addresses)).join(""));
      break;
    } catch (e) {
      if (!(e instanceof NetfilterBatchError) || attempt >= 3) throw e;
    }
  }
  for (const e of stale) removeRecord(dataDir, network, e.containerID);
}

/**
 * Returns the addresses whose rules a stale record lets this GC delete: the record's own, minus those another
 * network's record of the same container ID also names (an unreadable record there claims them all). An unreadable
 * record of ours proves nothing: none.
 */
export function ownAddresses(entry: RecordEntry, others: (RecordEntry["record"])[]): string[] {
  if (!entry.record) return [];
  if (others.some((o) => o === undefined)) return [];
  const claimed = new Set(others.flatMap((o) => o!.addresses));
  return entry.record.addresses.filter((a) => !claimed.has(a));
}

/** Returns the nft batch deleting a container's rules (comment = its ID) that point at one of `addresses`; "" for none. */
export function gcBatch(tables: Map<NftFamily, NftTable | undefined>, containerId: string, addresses: string[]): string {
  if (addresses.length === 0) return "";
  const wanted = new Set(addresses);
  let out = "";
  for (const [fam, table] of tables) {
    const rules = containerRules(table, containerId).filter((r) => {
      const a = ruleAddress(r);
      return a !== undefined && wanted.has(a);
    });
    out += deleteBatch(fam, rules);
  }
  return out;
}

/**
 * Returns the container address a portmap rule points at, as `nft -j` prints it: the DNAT target of a hostports
 * rule, the destination match of a masquerading rule; undefined for anything else.
 */
export function ruleAddress(rule: NftRule): string | undefined {
  const expr = rule.expr as Record<string, any>[];
  const dnat = expr.find((e) => e?.dnat !== undefined)?.dnat;
  if (dnat !== undefined) return typeof dnat?.addr === "string" ? dnat.addr : undefined;
  if (!expr.some((e) => e !== null && typeof e === "object" && "masquerade" in e)) return undefined;
  const daddr = expr.find((e) => e?.match?.op === "==" && e.match.left?.payload?.field === "daddr")?.match.right;
  return typeof daddr === "string" ? daddr : undefined;
}

function collect(errors: Error[], what: string, fn: () => void): void {
  try {
    fn();
  } catch (e) {
    // A backend this host does not have cannot hold rules (as DEL skips an unusable family).
    if (e instanceof NetfilterUnavailableError) return;
    errors.push(new Error(`${what}: ${(e as Error).message}`, { cause: e }));
  }
}
