// pkg/netfilter/nftables.ts: the nftables backend. State is read with `nft -j list table …` and changed with one
// `nft -f -` batch (one kernel transaction) per call. Batch text is written the way sigs.k8s.io/knftables writes it
// for upstream, so the objects and comments in the kernel come out the same.
import { NetfilterBatchError, NetfilterUnavailableError, runTool } from "./exec.ts";
import { goQuote } from "./names.ts";
import { nftTableExists } from "./nft-netlink.ts";

/** One rule of a listed table (`nft -j`), with the fields we act on. */
export interface NftRule {
  chain: string;
  handle: number;
  comment?: string;
  /** The rule's statements as nft's JSON prints them. */
  expr: unknown[];
}

/** One chain of a listed table; base chains carry type, hook, prio and policy. */
export interface NftChain {
  name: string;
  handle: number;
  type?: string;
  hook?: string;
  prio?: number;
  policy?: string;
}

/** One table as `nft -j list table` prints it. */
export interface NftTable {
  family: string;
  name: string;
  chains: Map<string, NftChain>;
  /** Every rule of the table in listed order (grouped by chain, in chain order). */
  rules: NftRule[];
}

/**
 * Returns the table, or undefined when it does not exist (asked of the kernel first, nft only for a table that is
 * there or when the kernel cannot be asked). Throws NetfilterUnavailableError when nft is needed but missing or
 * cannot list tables at all, and an Error when the table exists but cannot be listed.
 */
export function readNftTable(family: string, name: string): NftTable | undefined {
  // Most hosts have none of our tables: the kernel says so in-process, where nft would take two processes.
  if (nftTableExists(family, name) === false) return undefined;
  const p = runTool("nft", ["-j", "list", "table", family, name]);
  if (p.exitCode === 0) return parseNftTable(p.stdout, family, name);
  // A failed listing means "no such table" or "nft does not work"; ask for the table names instead of reading the
  // error text.
  const all = runTool("nft", ["-j", "list", "tables", family]);
  if (all.exitCode !== 0) {
    throw new NetfilterUnavailableError("nft", `failed to run nft: ${all.stderr.trim() || `exit status ${all.exitCode}`}`);
  }
  const exists = nftObjects(all.stdout).some((o) => {
    const t = o.table as { family?: string; name?: string } | undefined;
    return t?.family === family && t?.name === name;
  });
  if (exists) throw new Error(`failed to list table ${family} ${name}: nft: ${p.stderr.trim() || `exit status ${p.exitCode}`}`);
  return undefined;
}

/** Returns whether nftables works here: nft exists and accepts a table in a checked (not committed) batch, as knftables.New checks. */
export function isNftUsable(): boolean {
  try {
    return runTool("nft", ["--check", "-f", "-"], "add table ip supports_nftables_test\n").exitCode === 0;
  } catch (e) {
    if (e instanceof NetfilterUnavailableError) return false;
    throw e;
  }
}

/** Runs one `nft -f -` batch (atomic); does nothing for empty text. Throws when nft is missing or rejects the batch. */
export function applyNftBatch(batch: string): void {
  if (batch === "") return;
  const p = runTool("nft", ["-f", "-"], batch);
  if (p.exitCode !== 0) {
    throw new NetfilterBatchError(`failed to run nft: ${p.stderr.trim() || `exit status ${p.exitCode}`}`, batch);
  }
}

/** Returns a string quoted as knftables writes comments (Go %q); nft keeps the text between the quotes as it is. */
export function nftQuote(s: string): string {
  return goQuote(s);
}

/** Returns the objects of `nft -j` output (`[{table: …}, {chain: …}, …]`). Throws on anything but JSON schema version 1. */
export function nftObjects(text: string): Record<string, unknown>[] {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (e) {
    throw new Error(`failed to parse nft output: ${(e as Error).message}`, { cause: e });
  }
  const list = (doc as { nftables?: unknown }).nftables;
  if (!Array.isArray(list) || list.length === 0) throw new Error(`failed to parse nft output: no "nftables" array`);
  const meta = (list[0] as { metainfo?: { json_schema_version?: unknown } }).metainfo;
  if (meta?.json_schema_version !== 1) throw new Error(`failed to parse nft output: json_schema_version is not 1`);
  return list.slice(1) as Record<string, unknown>[];
}

/** Returns the named table from `nft -j list table|ruleset` output, or undefined when the output does not hold it. */
export function parseNftTable(text: string, family: string, name: string): NftTable | undefined {
  let table: NftTable | undefined;
  for (const o of nftObjects(text)) {
    const t = o.table as { family: string; name: string } | undefined;
    if (t && t.family === family && t.name === name) table ??= { family, name, chains: new Map(), rules: [] };
    const c = o.chain as (NftChain & { family: string; table: string }) | undefined;
    if (c && c.family === family && c.table === name) {
      const chain: NftChain = { name: c.name, handle: c.handle };
      if (c.type !== undefined) chain.type = c.type;
      if (c.hook !== undefined) chain.hook = c.hook;
      if (c.prio !== undefined) chain.prio = c.prio;
      if (c.policy !== undefined) chain.policy = c.policy;
      table?.chains.set(c.name, chain);
    }
    const r = o.rule as { family: string; table: string; chain: string; handle: number; comment?: string; expr?: unknown[] } | undefined;
    if (r && r.family === family && r.table === name) {
      if (typeof r.handle !== "number") throw new Error(`failed to parse nft output: rule in ${r.chain} without a handle`);
      const rule: NftRule = { chain: r.chain, handle: r.handle, expr: r.expr ?? [] };
      if (r.comment !== undefined) rule.comment = r.comment;
      table?.rules.push(rule);
    }
  }
  return table;
}
