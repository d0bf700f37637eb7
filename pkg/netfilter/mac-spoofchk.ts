// pkg/netfilter/mac-spoofchk.ts: the bridge plugin's MAC spoof check (`macspoofchk`, SPEC-DIGEST §1.1.1): frames
// entering the bridge from a container's host veth pass only with the container's MAC as source. Upstream drives nft
// through go-nft's JSON (pkg/link/spoofcheck.go); so do we, with the same table, chains, rule expressions and
// comments, so either implementation's DEL removes the other's rules. JSON also keeps odd characters of a
// container ID or ifname out of nft's text syntax. One `nft -j -f -` transaction for setup, one for teardown.
import { NetfilterBatchError, runTool } from "./exec.ts";
import { readNftTable, type NftTable } from "./nftables.ts";

// Upstream's names (pkg/link/spoofcheck.go); both implementations must agree on them.
export const SPOOFCHK_FAMILY = "bridge";
export const SPOOFCHK_TABLE = "nat";
export const SPOOFCHK_BASE_CHAIN = "PREROUTING";
const BASE_PRIORITY = -300;

/** One attachment's spoof check: the host veth, the container's MAC, and the ID `<containerID>-<ifname>`. */
export interface SpoofCheck {
  iface: string;
  mac: string;
  id: string;
}

/** Returns the reference ID upstream gives an attachment's rules (bridge.go uniqueID). */
export function spoofCheckId(containerId: string, ifname: string): string {
  return `${containerId}-${ifname}`;
}

/** Returns the per-attachment chain names: the iface chain and its `-mac` chain. */
export function spoofCheckChains(id: string): { iface: string; mac: string } {
  const iface = `cni-br-iface-${id}`;
  return { iface, mac: `${iface}-mac` };
}

/** Returns the comment every rule of an attachment carries. */
export function spoofCheckComment(id: string): string {
  return `macspoofchk-${id}`;
}

type NftCommand = Record<string, Record<string, Record<string, unknown>>>;

const at = { family: SPOOFCHK_FAMILY, table: SPOOFCHK_TABLE };
const chainRef = (name: string) => ({ ...at, name });
const rule = (chain: string, expr: unknown[], comment: string): NftCommand => ({ add: { rule: { ...at, chain, expr, comment } } });

/**
 * Returns the `nft -j -f -` document of a setup, in upstream's order: the table and the base chain (added, so
 * existing ones and their other rules stay), the two per-attachment chains, both flushed, then the four rules.
 * Upstream applies it as two transactions (declarations, then rules); one is enough since nft creates the chains
 * before it flushes them within a batch.
 */
export function spoofCheckSetupDoc(sc: SpoofCheck): string {
  const chains = spoofCheckChains(sc.id);
  const comment = spoofCheckComment(sc.id);
  const cmds: NftCommand[] = [
    { add: { table: { family: SPOOFCHK_FAMILY, name: SPOOFCHK_TABLE } } },
    {
      add: {
        chain: { ...chainRef(SPOOFCHK_BASE_CHAIN), type: "filter", hook: "prerouting", prio: BASE_PRIORITY, policy: "accept" },
      },
    },
    { add: { chain: chainRef(chains.iface) } },
    { add: { chain: chainRef(chains.mac) } },
    { flush: { chain: chainRef(chains.iface) } },
    { flush: { chain: chainRef(chains.mac) } },
    rule(SPOOFCHK_BASE_CHAIN, [
      { match: { op: "==", left: { meta: { key: "iifname" } }, right: sc.iface } },
      { jump: { target: chains.iface } },
    ], comment),
    rule(chains.iface, [{ jump: { target: chains.mac } }], comment),
    rule(chains.mac, [
      { match: { op: "==", left: { payload: { protocol: "ether", field: "saddr" } }, right: sc.mac } },
      { return: null },
    ], comment),
    rule(chains.mac, [{ drop: null }], comment),
  ];
  return JSON.stringify({ nftables: cmds });
}

/**
 * Returns the `nft -j -f -` document of a teardown against the table as it is, or "" when nothing of this ID is
 * left: delete the PREROUTING rules carrying the ID's comment (matched on the comment alone, as upstream), then the
 * iface chain (its jump to the mac chain goes with it) and the mac chain, each only when present.
 */
export function spoofCheckTeardownDoc(state: NftTable | undefined, id: string): string {
  if (!state) return "";
  const chains = spoofCheckChains(id);
  const comment = spoofCheckComment(id);
  const cmds: NftCommand[] = state.rules
    .filter((r) => r.chain === SPOOFCHK_BASE_CHAIN && r.comment === comment)
    .map((r) => ({ delete: { rule: { ...at, chain: SPOOFCHK_BASE_CHAIN, handle: r.handle } } }));
  for (const name of [chains.iface, chains.mac]) if (state.chains.has(name)) cmds.push({ delete: { chain: chainRef(name) } });
  return cmds.length ? JSON.stringify({ nftables: cmds }) : "";
}

/** Installs an attachment's spoof check in one transaction; running it again changes nothing. Throws upstream's text. */
export function setupSpoofCheck(sc: SpoofCheck): void {
  try {
    applyNftJson(spoofCheckSetupDoc(sc));
  } catch (e) {
    throw new Error(`failed to setup spoof-check: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

/**
 * Removes an attachment's spoof check (DEL, or undoing a failed ADD), whoever made it; the table and base chain stay
 * for the other attachments. Nothing there is success. Throws `failed to teardown spoof-check: …`.
 */
export function teardownSpoofCheck(id: string): void {
  try {
    applyNftJson(spoofCheckTeardownDoc(readNftTable(SPOOFCHK_FAMILY, SPOOFCHK_TABLE), id));
  } catch (e) {
    throw new Error(`failed to teardown spoof-check: ${(e as Error).message}`, { cause: e });
  }
}

function applyNftJson(doc: string): void {
  if (doc === "") return;
  const p = runTool("nft", ["-j", "-f", "-"], doc);
  if (p.exitCode !== 0) throw new NetfilterBatchError(`failed to run nft: ${p.stderr.trim() || `exit status ${p.exitCode}`}`, doc);
}
