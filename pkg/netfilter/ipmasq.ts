// pkg/netfilter/ipmasq.ts: IP masquerade for bridge and ptp (`ipMasq`, `ipMasqBackend`), SPEC-DIGEST §0.9. Two
// backends with upstream's names, rules and comments, so a DEL by the Go plugins cleans what we made and the other way
// round. Each call reads the state once and writes one batch per family (iptables) or one transaction (nftables).
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../cni/errors.ts";
import { formatIP, networkOf, type IPNet } from "../ip/cidr.ts";
import { NetfilterUnavailableError } from "./exec.ts";
import {
  applyIptablesBatch, deleteLine, isIptablesUsable, readIptablesTable, ruleTarget, saveQuote,
  type IpFamily, type IptablesTable,
} from "./iptables.ts";
import { chainInKernel, teardownChainsInKernel } from "./nft-chains.ts";
import { applyNftBatch, isNftUsable, nftQuote, readNftTable, type NftTable } from "./nftables.ts";
import { chainName, goQuote, ipMasqComment, nftMasqComment, nftMasqCommentPrefix, nftMasqNetworkPrefix } from "./names.ts";
import { filtered } from "../sys/lists.ts";

export type MasqBackend = "iptables" | "nftables";

/** One attachment: the network name, CNI_IFNAME, CNI_CONTAINERID and its addresses (with their prefix lengths). */
export interface MasqAttachment {
  network: string;
  ifname: string;
  containerId: string;
  ips: IPNet[];
}

/** An attachment that is still in use (GC keeps its rules). */
export interface MasqAttachmentRef {
  containerId: string;
  ifname: string;
}

// Upstream's names (pkg/ip/ipmasq_nftables_linux.go); both implementations must agree on them.
export const MASQ_TABLE_FAMILY = "inet";
export const MASQ_TABLE = "cni_plugins_masquerade";
export const MASQ_CHAIN = "masq_checks";
const TABLE_COMMENT = "Masquerading for plugins from github.com/containernetworking/plugins";
const CHAIN_COMMENT = "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet";
const NFT_TABLE = `${MASQ_TABLE_FAMILY} ${MASQ_TABLE}`;

const familyOf = (n: IPNet): IpFamily => n.ip.family;
const emptyTable = (name: string): IptablesTable => ({ name, chains: new Map(), rules: [] });
const multicastNet = (f: IpFamily) => (f === 4 ? "224.0.0.0/4" : "ff00::/8");

/**
 * Returns the backend for a configured `ipMasqBackend`: absent means iptables unless iptables is unusable and
 * nftables works (upstream's default). Throws for any other value than "iptables" or "nftables".
 */
export function selectMasqBackend(configured: string | undefined): MasqBackend {
  if (configured === undefined) return !isIptablesUsable(4) && isNftUsable() ? "nftables" : "iptables";
  if (configured === "iptables" || configured === "nftables") return configured;
  throw new Error(`unknown ipmasq backend ${goQuote(configured)}`); // upstream text (SetupIPMasqForNetworks)
}

/**
 * Returns the backend an ipMasq ADD will use, or undefined when masquerade is off. Judged before anything is created,
 * so a bad `ipMasqBackend` leaves nothing behind: it throws CniError 7 (invalid network config) with upstream's text.
 */
export function configuredMasqBackend(ipMasq: boolean, configured: string | undefined): MasqBackend | undefined {
  if (!ipMasq) return undefined;
  try {
    return selectMasqBackend(configured);
  } catch (e) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, (e as Error).message);
  }
}

/**
 * Installs the masquerade rules of one attachment with the chosen backend (ADD); running it again changes nothing.
 * Throws NetfilterUnavailableError when the backend's tools are missing or unusable, and an Error when a batch fails.
 */
export function setupIPMasq(backend: MasqBackend, a: MasqAttachment): void {
  if (backend === "nftables") {
    applyNftBatch(nftSetupBatch(readNftTable(MASQ_TABLE_FAMILY, MASQ_TABLE), a));
    return;
  }
  for (const family of familiesOf(a.ips)) applyIptablesBatch(family, "nat", planIptablesSetup(a, family));
}

// The restore lines one family needs for the attachment. A chain the kernel has never seen (a new container,
// iptables-nft) needs no iptables-save: the lines planned against an empty table are those planned against the real
// one.
function planIptablesSetup(a: MasqAttachment, family: IpFamily): string[] {
  const chain = chainName(a.network, a.containerId); // upstream quirk: the iptables backend ignores ifname
  const comment = ipMasqComment(a.network, a.containerId);
  const state = chainInKernel(family, "nat", chain) === false ? emptyTable("nat") : readIptablesTable(family, "nat");
  return iptablesSetupLines(state, chain, comment, filtered(a.ips, (n) => familyOf(n) === family));
}

/**
 * Removes the masquerade rules of one attachment from BOTH backends (DEL), whichever one made them; a backend
 * whose tools are missing or unusable is skipped. Unlike upstream this also works with no addresses (the container
 * netns is gone, as with containerd's DEL): the iptables chain is found by name and every jump to it goes.
 * Keeps going after a failure and throws every error at the end.
 */
export function teardownIPMasq(a: MasqAttachment): void {
  const errors: Error[] = [];
  const chain = chainName(a.network, a.containerId);
  // With addresses, only their families can hold rules (upstream looks nowhere else); without, look in both.
  const families = a.ips.length > 0 ? familiesOf(a.ips) : ([4, 6] as IpFamily[]);
  // nftables first: its table check closes a netfilter socket, which must not come after an in-process commit
  // that deleted rules (nft-chains.ts: the close would wait for the kernel to destroy them).
  collect(errors, () => applyNftBatch(nftTeardownBatch(readNftTable(MASQ_TABLE_FAMILY, MASQ_TABLE), a)));
  for (const family of families) {
    collect(errors, () => {
      if (teardownChainsInKernel(family, "nat", [chain])) return; // iptables-nft: in-process, no tools
      applyIptablesBatch(family, "nat", iptablesTeardownLines(readIptablesTable(family, "nat"), [chain]));
    });
  }
  throwCollected(errors);
}

/**
 * Removes the masquerade rules of every attachment of a network that is not in `valid` (GC), from both backends.
 * Upstream GCs nftables only; iptables chains are recognised here by their rules' comment `name: "<network>" id: …`
 * and kept when the chain name of a valid container ID matches. Throws every error at the end.
 */
export function gcIPMasq(network: string, valid: MasqAttachmentRef[]): void {
  const errors: Error[] = [];
  const keepChains = new Set(valid.map((v) => chainName(network, v.containerId)));
  for (const family of [4, 6] as IpFamily[]) {
    collect(errors, () => {
      const state = readIptablesTable(family, "nat");
      const stale = staleMasqChains(state, network, keepChains);
      applyIptablesBatch(family, "nat", iptablesTeardownLines(state, stale));
    });
  }
  collect(errors, () => {
    const state = readNftTable(MASQ_TABLE_FAMILY, MASQ_TABLE);
    const keep = new Set(valid.map((v) => storedNftComment(nftMasqComment(network, v.ifname, v.containerId))));
    const prefix = nftMasqNetworkPrefix(network) + "-";
    const handles = filtered(masqRules(state), (r) => r.comment!.startsWith(prefix) && !keep.has(r.comment!)).map((r) => r.handle);
    applyNftBatch(nftDeleteBatch(handles));
  });
  throwCollected(errors);
}

/** Returns the iptables-restore lines (nat table) that add what is missing of one attachment's chain and rules. */
export function iptablesSetupLines(state: IptablesTable, chain: string, comment: string, ips: IPNet[]): string[] {
  const lines: string[] = [];
  if (ips.length === 0) return lines;
  // Compared in iptables-save's form: the kernel keeps `-d 10.1.1.2/24` as 10.1.1.0/24 and a bare `-s` as /32.
  const have = new Set(state.rules.map((r) => r.line));
  if (!state.chains.has(chain)) lines.push(`:${chain} - [0:0]`); // only when missing: with --noflush it would flush an existing chain
  const cmt = `-m comment --comment ${saveQuote(comment)}`;
  for (const ipn of ips) {
    const family = familyOf(ipn);
    const dst = ipn.prefix === 0 ? "" : ` -d ${formatIP(networkOf(ipn))}/${ipn.prefix}`; // iptables-save omits a /0 match
    const wanted = [
      `-A ${chain}${dst} ${cmt} -j ACCEPT`, // packets to this network are not touched
      `-A ${chain} ! -d ${multicastNet(family)} ${cmt} -j MASQUERADE`, // multicast stays local
      `-A POSTROUTING -s ${formatIP(ipn.ip)}/${family === 4 ? 32 : 128} ${cmt} -j ${chain}`, // the bare address
    ];
    for (const line of wanted) {
      if (have.has(line)) continue; // AppendUnique
      have.add(line);
      lines.push(line);
    }
  }
  return lines;
}

/**
 * Returns the iptables-restore lines that delete every rule jumping to one of the chains (upstream's bare-address
 * and `addr/prefix` POSTROUTING jumps among them), then flush and delete the chains that exist.
 */
export function iptablesTeardownLines(state: IptablesTable, chains: string[]): string[] {
  const doomed = new Set(chains);
  const lines = filtered(state.rules, (r) => !doomed.has(r.chain) && doomed.has(ruleTarget(r) ?? "")).map(deleteLine);
  for (const c of chains) if (state.chains.has(c)) lines.push(`-F ${c}`, `-X ${c}`);
  return lines;
}

/** Returns the chains of a network's attachments whose container is not kept: `CNI-<24hex>` with a rule commented for the network. */
export function staleMasqChains(state: IptablesTable, network: string, keep: Set<string>): string[] {
  const commentPrefix = `name: ${goQuote(network)} id: `;
  const stale = new Set<string>();
  for (const r of state.rules) {
    if (!/^CNI-[0-9a-f]{24}$/.test(r.chain) || keep.has(r.chain)) continue;
    const i = r.args.indexOf("--comment");
    if (i >= 0 && r.args[i + 1]?.startsWith(commentPrefix)) stale.add(r.chain);
  }
  return [...stale];
}

/**
 * Returns the nft batch of an ADD, in upstream's order: table and chains (added, so existing ones stay), postrouting
 * flushed and refilled, this attachment's old rules deleted, one rule per address appended.
 */
export function nftSetupBatch(state: NftTable | undefined, a: MasqAttachment): string {
  const comment = nftQuote(nftMasqComment(a.network, a.ifname, a.containerId));
  const prefix = nftMasqCommentPrefix(a.network, a.ifname, a.containerId);
  const lines = [
    `add table ${NFT_TABLE} { comment ${nftQuote(TABLE_COMMENT)} ; }`,
    `add chain ${NFT_TABLE} ${MASQ_CHAIN} { comment ${nftQuote(CHAIN_COMMENT)} ; }`,
    // knftables writes priority "srcnat" as its number for the inet family.
    `add chain ${NFT_TABLE} postrouting { type nat hook postrouting priority 100 ; }`,
    `flush chain ${NFT_TABLE} postrouting`,
    `add rule ${NFT_TABLE} postrouting ip daddr == 224.0.0.0/4  return`, // two spaces: upstream's rule text
    `add rule ${NFT_TABLE} postrouting ip6 daddr == ff00::/8  return`,
    `add rule ${NFT_TABLE} postrouting goto ${MASQ_CHAIN}`,
    ...instanceRules(state, prefix).map((h) => `delete rule ${NFT_TABLE} ${MASQ_CHAIN} handle ${h}`),
  ];
  for (const ipn of a.ips) {
    const ip = familyOf(ipn) === 4 ? "ip" : "ip6";
    const dstNet = `${formatIP(networkOf(ipn))}/${ipn.prefix}`;
    lines.push(`add rule ${NFT_TABLE} ${MASQ_CHAIN} ${ip} saddr == ${formatIP(ipn.ip)} ${ip} daddr != ${dstNet} masquerade comment ${comment}`);
  }
  return lines.join("\n") + "\n";
}

/** Returns the nft batch of a DEL: delete this attachment's `masq_checks` rules by handle; "" when there are none. */
export function nftTeardownBatch(state: NftTable | undefined, a: Pick<MasqAttachment, "network" | "ifname" | "containerId">): string {
  return nftDeleteBatch(instanceRules(state, nftMasqCommentPrefix(a.network, a.ifname, a.containerId)));
}

function nftDeleteBatch(handles: number[]): string {
  return handles.map((h) => `delete rule ${NFT_TABLE} ${MASQ_CHAIN} handle ${h}\n`).join("");
}

function masqRules(state: NftTable | undefined) {
  return filtered(state?.rules ?? [], (r) => r.chain === MASQ_CHAIN && r.comment !== undefined);
}

function instanceRules(state: NftTable | undefined, prefix: string): number[] {
  return filtered(masqRules(state), (r) => r.comment!.startsWith(prefix)).map((r) => r.handle);
}

// nft keeps a comment's text between the quotes as written, so what it stores is Go's %q text without the quotes.
function storedNftComment(comment: string): string {
  return nftQuote(comment).slice(1, -1);
}

function familiesOf(ips: IPNet[]): IpFamily[] {
  const out: IpFamily[] = [];
  for (const n of ips) if (!out.includes(familyOf(n))) out.push(familyOf(n));
  return out;
}

function collect(errors: Error[], fn: () => void): void {
  try {
    fn();
  } catch (e) {
    // A backend this host does not have cannot hold rules; upstream ignores its errors the same way.
    if (e instanceof NetfilterUnavailableError) return;
    errors.push(e instanceof Error ? e : new Error(String(e)));
  }
}

function throwCollected(errors: Error[]): void {
  if (errors.length === 1) throw errors[0];
  if (errors.length > 1) throw new AggregateError(errors, errors.map((e) => e.message).join("\n")); // upstream joins with "\n"
}
