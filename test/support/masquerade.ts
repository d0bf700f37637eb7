// test/support/masquerade.ts: the ipMasq rules of a throwaway netns as both backends leave them (iptables-save's nat
// tables, nftables' `inet cni_plugins_masquerade`), and what one attachment's rules must look like (SPEC-DIGEST §0.7,
// §0.9), for the plugins with ipMasq (bridge, ptp).
import { createHash } from "node:crypto";
import type { TempNetns } from "./netns.ts";
import { execIn, nsName } from "./ns-exec.ts";

/** Returns the `iptables-save -t nat` lines (`ip6tables-save` for 6) of the netns, without comments and blanks. */
export function natRules(ns: TempNetns | string, family: 4 | 6): string[] {
  const tool = family === 4 ? "iptables-save" : "ip6tables-save";
  return execIn(ns, [tool, "-t", "nat"]).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** The nat table as iptables-save prints it when no rule is left (the table itself stays once created). */
export const EMPTY_NAT = [
  "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", "COMMIT",
];

/** Returns the lines of both nat tables that mention any CNI chain (empty when everything is gone). */
export function cniNatLines(ns: TempNetns | string): string[] {
  return [...natRules(ns, 4), ...natRules(ns, 6)].filter((l) => l.includes("CNI-"));
}

/** Returns the per-container chain name `CNI-<24hex>` of SHA-512(network + containerID) (SPEC-DIGEST §0.7). */
export function masqChain(network: string, containerId: string): string {
  return `CNI-${createHash("sha512").update(network + containerId).digest("hex").slice(0, 24)}`;
}

/** The nat lines of one attachment's masquerade of one address, in iptables-save's form. */
export interface MasqLines {
  /** The chain's declaration. */
  chain: string;
  /** The POSTROUTING jump from the bare address. */
  jump: string;
  /** ACCEPT to its subnet, then MASQUERADE to all but multicast. */
  rules: string[];
}

/** Returns the nat lines one address of an attachment adds (SPEC-DIGEST §0.9). */
export function masqLines(network: string, containerId: string, address: string, subnet: string): MasqLines {
  const chain = masqChain(network, containerId);
  const v6 = address.includes(":");
  const cmt = `-m comment --comment "name: \\"${network}\\" id: \\"${containerId}\\""`;
  const ip = address.split("/")[0];
  return {
    chain: `:${chain} - [0:0]`,
    jump: `-A POSTROUTING -s ${ip}/${v6 ? 128 : 32} ${cmt} -j ${chain}`,
    rules: [`-A ${chain} -d ${subnet} ${cmt} -j ACCEPT`, `-A ${chain} ! -d ${v6 ? "ff00::/8" : "224.0.0.0/4"} ${cmt} -j MASQUERADE`],
  };
}

/** Returns the nat table of one family holding exactly one attachment's masquerade of these addresses, in iptables-save's order. */
export function natWith(network: string, containerId: string, addrs: { address: string; subnet: string }[]): string[] {
  if (addrs.length === 0) return EMPTY_NAT;
  const parts = addrs.map((a) => masqLines(network, containerId, a.address, a.subnet));
  return [...EMPTY_NAT.slice(0, -1), parts[0]!.chain, ...parts.map((p) => p.jump), ...parts.flatMap((p) => p.rules), "COMMIT"];
}

/** One rule of `inet cni_plugins_masquerade` chain `masq_checks` as `nft -j` shows it. */
export interface NftMasqRule {
  comment?: string;
  expr: unknown[];
}

/** Returns the `masq_checks` rules of the nftables masquerade table, or undefined when the table does not exist. */
export function nftMasqRules(ns: TempNetns | string): NftMasqRule[] | undefined {
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(ns), "nft", "-j", "list", "table", "inet", "cni_plugins_masquerade"], {
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode !== 0) return undefined;
  const items = JSON.parse(p.stdout.toString()).nftables as any[];
  return items
    .filter((i) => i.rule?.chain === "masq_checks")
    .map((i) => ({ ...(i.rule.comment !== undefined ? { comment: i.rule.comment } : {}), expr: i.rule.expr }));
}

/** Returns the nft comment prefix of one attachment: H(network)[:16] + "-" + H(ifname:containerID)[:16]. */
export function nftMasqPrefix(network: string, ifname: string, containerId: string): string {
  const h = (s: string) => createHash("sha512").update(s).digest("hex").slice(0, 16);
  return `${h(network)}-${h(`${ifname}:${containerId}`)}`;
}
