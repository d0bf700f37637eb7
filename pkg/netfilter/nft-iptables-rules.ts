// pkg/netfilter/nft-iptables-rules.ts: iptables rules read and added in-process over nfnetlink, when the system's
// iptables is the nf_tables variant and every rule is a shape iptables-nft-exprs.ts knows. An ADD that would run
// iptables-save to see whether a rule is there, and iptables-restore to add a new chain and its rules (two processes,
// 2-4 ms each, more as the table grows), asks the kernel about the few chains it needs and commits one transaction.
// The rules stored are byte for byte those iptables-restore stores (pkg/netfilter/nft-iptables-rules.test.ts),
// so iptables-save prints them alike and either implementation's DEL removes them. Anything else: the tools.
import { NLM_F_ACK, NLM_F_APPEND, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST } from "../ip/nl/consts.ts";
import { parseAttrList, parseAttrs, readStrz } from "../ip/nl/reader.ts";
import { hasErrno } from "../ip/nl/socket.ts";
import { NlWriter } from "../ip/nl/writer.ts";
import { ENOENT } from "../sys/libc.ts";
import { noteNetfilterChange } from "./exec.ts";
import { concatBytes } from "../sys/fs.ts";
import { hasNoSpace } from "../text/ascii.ts";
import { appendLine, iptablesRuleExprs, nlAttr, ruleProtocol, sameExprs, strz, type NftExpr } from "./iptables-nft-exprs.ts";
import type { IpFamily } from "./iptables.ts";
import {
  encodeGetRules, header, iptablesIsNft, NFPROTO, nftType, netfilterSocket,
} from "./nft-chains.ts";
import {
  NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE, NFTA_EXPR_DATA,
  NFTA_EXPR_NAME, NFTA_LIST_ELEM, NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_TABLE,
} from "./nfnetlink.ts";
import { anyOf } from "../sys/lists.ts";

const NFT_MSG_NEWCHAIN = 3;
const NFT_MSG_NEWRULE = 6;
const NFTA_RULE_COMPAT = 5;
const NFTA_RULE_COMPAT_PROTO = 1;
const NFTA_RULE_COMPAT_FLAGS = 2;

/** Returns a rule's expressions as the kernel dumps them (NFTA_RULE_EXPRESSIONS). */
export function decodeExprs(list: Uint8Array): NftExpr[] {
  const out: NftExpr[] = [];
  for (const [type, elem] of parseAttrList(list)) {
    if (type !== NFTA_LIST_ELEM) continue;
    const e = parseAttrs(elem);
    const data = e.get(NFTA_EXPR_DATA);
    out.push({ name: readStrz(e.get(NFTA_EXPR_NAME), "NFTA_EXPR_NAME"), data: data ? parseAttrList(data) : [] });
  }
  return out;
}

/** The rules of one chain as the kernel dumps them: each rule's NFTA_RULE_EXPRESSIONS, undecoded. */
export type KernelRules = Uint8Array[];

/**
 * Returns the rules of one chain, null when the chain (or its table) does not exist, or undefined when the kernel
 * cannot be asked this way (iptables-legacy, no nf_tables): read it with iptables-save.
 */
export function chainRulesInKernel(family: IpFamily, table: string, chain: string): KernelRules | null | undefined {
  if (!iptablesIsNft(family)) return undefined;
  const sock = netfilterSocket();
  if (!sock) return undefined;
  try {
    return sock.dump(encodeGetRules(sock.nextSeq(), family, table, chain), "NFT_MSG_GETRULE").map((p) => parseAttrs(p, 4).get(NFTA_RULE_EXPRESSIONS) ?? new Uint8Array());
  } catch (e) {
    return hasErrno(e, ENOENT) ? null : undefined;
  }
}

/**
 * Returns whether the chain's rules hold one iptables-restore would store for `args` (in its table of the family),
 * or undefined when that cannot be told in-process (not iptables-nft, a shape we do not know, no such chain). Only
 * rules of the same encoded length are decoded: a chain of other pods' rules costs a length compare each.
 */
export function ruleInKernel(family: IpFamily, rules: KernelRules | null | undefined, args: string[]): boolean | undefined {
  const want = iptablesRuleExprs(family, args);
  if (!want || !rules) return undefined;
  const size = encodeExprList(want).length;
  return anyOf(rules, (r) => r.length === size && sameExprs(decodeExprs(r), want));
}

/** Returns the NFTA_RULE_EXPRESSIONS payload for the expressions, laid out as the kernel dumps it. */
export function encodeExprList(exprs: NftExpr[]): Uint8Array {
  const elems = exprs.map((e) => {
    const data = concatBytes(e.data.map(([type, bytes]) => nlAttr(type, bytes)));
    return nlAttr(NFTA_LIST_ELEM, concatBytes([nlAttr(NFTA_EXPR_NAME, strz(e.name)), nlAttr(NFTA_EXPR_DATA, data)]));
  });
  return concatBytes(elems);
}

/**
 * Applies iptables-restore lines that only create chains (`:NAME - [0:0]` or `-N NAME`) and append rules (`-A …`)
 * in one nf_tables transaction, when iptables is the nf_tables variant and every rule is a known shape. Returns
 * false with nothing changed otherwise, or when the kernel refuses (a chain exists meanwhile, the table or a base
 * chain is missing): the caller then runs iptables-restore, which decides and reports as it always did.
 */
export function applyIptablesLinesInKernel(family: IpFamily, table: string, lines: string[]): boolean {
  if (lines.length === 0 || !iptablesIsNft(family)) return false;
  const newChains: string[] = [];
  const rules: { chain: string; exprs: NftExpr[]; proto?: number }[] = [];
  for (const line of lines) {
    const chain = newChainName(line);
    if (chain !== undefined) {
      newChains.push(chain);
      continue;
    }
    const rule = appendLine(line);
    const exprs = rule && iptablesRuleExprs(family, rule[1]);
    if (!rule || !exprs) return false;
    rules.push({ chain: rule[0], exprs, proto: ruleProtocol(rule[1]) });
  }
  const sock = netfilterSocket();
  if (!sock) return false;
  const f = NFPROTO[family];
  const first = sock.nextSeq();
  const msg = (type: number, flags: number) => header(new NlWriter(nftType(type), NLM_F_REQUEST | NLM_F_ACK | flags, sock.nextSeq()), f);
  const body: Uint8Array[] = [];
  for (const c of newChains) body.push(msg(NFT_MSG_NEWCHAIN, NLM_F_CREATE | NLM_F_EXCL).strz(NFTA_CHAIN_TABLE, table).strz(NFTA_CHAIN_NAME, c).finish());
  for (const r of rules) body.push(encodeNewRule(msg(NFT_MSG_NEWRULE, NLM_F_CREATE | NLM_F_APPEND), table, r.chain, r.exprs, r.proto));
  const begin = header(new NlWriter(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, first), 0, NFNL_SUBSYS_NFTABLES).finish();
  const end = header(new NlWriter(NFNL_MSG_BATCH_END, NLM_F_REQUEST, sock.nextSeq()), 0, NFNL_SUBSYS_NFTABLES).finish();
  try {
    sock.requestBatch([begin, ...body, end], "nf_tables iptables rules");
  } catch {
    return false; // a transaction is all or nothing: the tools start from the same state
  }
  noteNetfilterChange();
  return true;
}

// NFT_MSG_NEWRULE appending the expressions; with a protocol, NFTA_RULE_COMPAT carries it as iptables-nft sends it
// (xt matches such as multiport are checked against it).
function encodeNewRule(w: NlWriter, table: string, chain: string, exprs: NftExpr[], proto: number | undefined): Uint8Array {
  w.strz(NFTA_RULE_TABLE, table).strz(NFTA_RULE_CHAIN, chain).bytes(NFTA_RULE_EXPRESSIONS, encodeExprList(exprs));
  if (proto !== undefined) {
    const compat = w.beginNest(NFTA_RULE_COMPAT);
    w.u32be(NFTA_RULE_COMPAT_PROTO, proto).u32be(NFTA_RULE_COMPAT_FLAGS, 0);
    w.endNest(compat);
  }
  return w.finish();
}

/** Returns the chain a `:NAME - [0:0]` or `-N NAME` restore line makes, or undefined for any other line. */
function newChainName(line: string): string | undefined {
  const name = line.startsWith(":") && line.endsWith(" - [0:0]") ? line.slice(1, -8) : line.startsWith("-N ") ? line.slice(3) : "";
  return name !== "" && hasNoSpace(name) ? name : undefined;
}
