// pkg/netfilter/nft-chains.ts: DEL's iptables teardown (a container's chains and every rule jumping to them) done
// in-process over nfnetlink when the system's iptables is the nf_tables variant. iptables-nft keeps its tables as
// nf_tables tables (`ip nat`, `ip6 nat`), a user chain as an nf_tables chain of the same name, and `-j CHAIN` /
// `-g CHAIN` as an `immediate` verdict naming the chain; that is all a teardown needs to know. One dump of the
// table's chains, one of its rules, then one transaction (delete the jumping rules by handle, flush and delete the
// chains) replace iptables-save and iptables-restore: two processes, ~3-4 ms each plus their share of the table.
// What iptables-save prints afterwards is what the iptables-restore teardown leaves; rules of either implementation
// (Go or ours) go the same way. iptables-legacy, or a tool we cannot identify, keeps the iptables-restore path.
import { NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST } from "../ip/nl/consts.ts";
import { parseAttrList, parseAttrs, readStrz } from "../ip/nl/reader.ts";
import { FfiNetlinkTransport, hasErrno, NetlinkSocket } from "../ip/nl/socket.ts";
import { NlWriter } from "../ip/nl/writer.ts";
import { cstr, EBUSY, ENOENT, sys } from "../sys/libc.ts";
import { fileId } from "../sys/file-id.ts";
import { noteNetfilterChange } from "./exec.ts";
import { findTool } from "../sys/find-tool.ts";
import { nftTableExists } from "./nft-netlink.ts";
import {
  NETLINK_NETFILTER, NFNETLINK_V0, NFNL_MSG_BATCH_BEGIN, NFNL_MSG_BATCH_END, NFNL_SUBSYS_NFTABLES, NFT_GOTO, NFT_JUMP,
  NFTA_CHAIN_NAME, NFTA_CHAIN_TABLE, NFTA_DATA_VERDICT, NFTA_EXPR_DATA, NFTA_EXPR_NAME, NFTA_LIST_ELEM,
  NFTA_RULE_CHAIN, NFTA_RULE_EXPRESSIONS, NFTA_RULE_TABLE, NFTA_VERDICT_CHAIN, NFTA_VERDICT_CODE,
} from "./nfnetlink.ts";
import type { IpFamily } from "./iptables.ts";

const NFT_MSG_GETCHAIN = 4;
const NFT_MSG_DELCHAIN = 5;
const NFT_MSG_GETRULE = 7;
const NFT_MSG_DELRULE = 8;
const NFTA_RULE_HANDLE = 3;
const NFTA_IMMEDIATE_DATA = 2;
export const NFPROTO = { 4: 2, 6: 10 } as const; // NFPROTO_IPV4, NFPROTO_IPV6: the `ip` and `ip6` tables
const MAX_ATTEMPTS = 5;

/** A rule that jumps (or goes) to a chain: where it is and its handle. */
export interface KernelJump {
  chain: string;
  handle: bigint;
  target: string;
}

/** What a teardown needs of one table: its chains and the rules that jump to a chain. */
export interface KernelChains {
  chains: Set<string>;
  jumps: KernelJump[];
}

/** Writes the nfgenmsg header (family, version, big-endian res_id) every nf_tables message starts with. */
export function header(w: NlWriter, family: number, resId = 0): NlWriter {
  const h = new Uint8Array(4);
  h[0] = family;
  h[1] = NFNETLINK_V0;
  new DataView(h.buffer).setUint16(2, resId, false); // nfgenmsg.res_id is big endian
  return w.struct(h);
}

export const nftType = (msg: number) => (NFNL_SUBSYS_NFTABLES << 8) | msg;

/** The dump request for one table's chains (NFT_MSG_GETCHAIN, filtered by table). */
export function encodeGetChains(seq: number, family: IpFamily, table: string): Uint8Array {
  return header(new NlWriter(nftType(NFT_MSG_GETCHAIN), NLM_F_REQUEST | NLM_F_DUMP, seq), NFPROTO[family]).strz(NFTA_CHAIN_TABLE, table).finish();
}

/** The dump request for one table's rules, or one chain's (NFT_MSG_GETRULE, filtered by table and chain). */
export function encodeGetRules(seq: number, family: IpFamily, table: string, chain?: string): Uint8Array {
  const w = header(new NlWriter(nftType(NFT_MSG_GETRULE), NLM_F_REQUEST | NLM_F_DUMP, seq), NFPROTO[family]).strz(NFTA_RULE_TABLE, table);
  if (chain !== undefined) w.strz(NFTA_RULE_CHAIN, chain);
  return w.finish();
}

/** The request for one chain (NFT_MSG_GETCHAIN, no dump): a reply when it exists, ENOENT when it (or the table) does not. */
export function encodeGetChain(seq: number, family: IpFamily, table: string, chain: string): Uint8Array {
  const w = header(new NlWriter(nftType(NFT_MSG_GETCHAIN), NLM_F_REQUEST | NLM_F_ACK, seq), NFPROTO[family]);
  return w.strz(NFTA_CHAIN_TABLE, table).strz(NFTA_CHAIN_NAME, chain).finish();
}

/** Returns the chain an `immediate` jump/goto of a rule's expressions names, or undefined. */
function jumpTarget(expressions: Uint8Array): string | undefined {
  for (const [type, elem] of parseAttrList(expressions)) {
    if (type !== NFTA_LIST_ELEM) continue;
    const expr = parseAttrs(elem);
    if (readStrz(expr.get(NFTA_EXPR_NAME), "NFTA_EXPR_NAME") !== "immediate") continue;
    const data = expr.get(NFTA_EXPR_DATA);
    const value = data && parseAttrs(data).get(NFTA_IMMEDIATE_DATA);
    const verdict = value && parseAttrs(value).get(NFTA_DATA_VERDICT);
    if (!verdict) continue;
    const v = parseAttrs(verdict);
    const code = v.get(NFTA_VERDICT_CODE);
    if (!code || code.length !== 4) continue;
    const n = new DataView(code.buffer, code.byteOffset, 4).getInt32(0, false);
    if (n === NFT_JUMP || n === NFT_GOTO) return readStrz(v.get(NFTA_VERDICT_CHAIN), "NFTA_VERDICT_CHAIN");
  }
  return undefined;
}

/** Returns the chains and jumping rules of the dumps' payloads (each: nfgenmsg, then attributes). */
export function parseKernelChains(chainMsgs: Uint8Array[], ruleMsgs: Uint8Array[]): KernelChains {
  const chains = new Set<string>();
  for (const p of chainMsgs) chains.add(readStrz(parseAttrs(p, 4).get(NFTA_CHAIN_NAME), "NFTA_CHAIN_NAME"));
  const jumps: KernelJump[] = [];
  for (const p of ruleMsgs) {
    const a = parseAttrs(p, 4);
    const exprs = a.get(NFTA_RULE_EXPRESSIONS);
    const target = exprs && jumpTarget(exprs);
    if (target === undefined) continue;
    const h = a.get(NFTA_RULE_HANDLE)!;
    jumps.push({ chain: readStrz(a.get(NFTA_RULE_CHAIN), "NFTA_RULE_CHAIN"), handle: new DataView(h.buffer, h.byteOffset, 8).getBigUint64(0, false), target });
  }
  return { chains, jumps };
}

/** Returns the table's chains and jumping rules as the kernel dumps them; throws NetlinkError (ENOENT: no table). */
function readKernelChains(sock: NetlinkSocket, family: IpFamily, table: string): KernelChains {
  const chains = sock.dump(encodeGetChains(sock.nextSeq(), family, table), "NFT_MSG_GETCHAIN");
  return parseKernelChains(chains, sock.dump(encodeGetRules(sock.nextSeq(), family, table), "NFT_MSG_GETRULE"));
}

/**
 * Returns the transaction that removes `doomed` chains from the table: every rule of another chain jumping to one
 * of them (by handle), then each existing one flushed and deleted; empty when there is nothing to remove. The
 * messages carry seq firstSeq (the batch's begin) onwards; every one but the begin and end asks for an ACK.
 */
export function encodeTeardownBatch(firstSeq: number, family: IpFamily, table: string, state: KernelChains, doomed: string[]): Uint8Array[] {
  const gone = new Set(doomed);
  const f = NFPROTO[family];
  let seq = firstSeq + 1;
  const msg = (type: number) => header(new NlWriter(nftType(type), NLM_F_REQUEST | NLM_F_ACK, seq++), f);
  const body: Uint8Array[] = [];
  for (const j of state.jumps) {
    if (gone.has(j.chain) || !gone.has(j.target)) continue;
    body.push(handleAttr(msg(NFT_MSG_DELRULE).strz(NFTA_RULE_TABLE, table).strz(NFTA_RULE_CHAIN, j.chain), j.handle).finish());
  }
  for (const c of doomed) {
    if (!state.chains.has(c)) continue;
    // A DELRULE naming only the chain flushes it, as `iptables -F` does; the chain can then go.
    body.push(msg(NFT_MSG_DELRULE).strz(NFTA_RULE_TABLE, table).strz(NFTA_RULE_CHAIN, c).finish());
    body.push(msg(NFT_MSG_DELCHAIN).strz(NFTA_CHAIN_TABLE, table).strz(NFTA_CHAIN_NAME, c).finish());
  }
  if (body.length === 0) return [];
  const begin = header(new NlWriter(NFNL_MSG_BATCH_BEGIN, NLM_F_REQUEST, firstSeq), 0, NFNL_SUBSYS_NFTABLES).finish();
  const end = header(new NlWriter(NFNL_MSG_BATCH_END, NLM_F_REQUEST, seq), 0, NFNL_SUBSYS_NFTABLES).finish();
  return [begin, ...body, end];
}

// NFTA_RULE_HANDLE is a be64.
function handleAttr(w: NlWriter, handle: bigint): NlWriter {
  const b = new Uint8Array(8);
  new DataView(b.buffer).setBigUint64(0, handle, false);
  return w.bytes(NFTA_RULE_HANDLE, b);
}

/**
 * Returns whether the family's iptables tools are the nf_tables variant, from where their restore tool's links
 * lead (Debian: iptables-restore → /etc/alternatives → iptables-nft-restore or iptables-legacy-restore →
 * xtables-nft-multi or xtables-legacy-multi). Unknown (no tool, another layout): false, the tools' own way then.
 */
export function iptablesIsNft(family: IpFamily): boolean {
  let v = nftVariant.get(family);
  if (v === undefined) nftVariant.set(family, (v = resolvesToNft(family)));
  return v;
}
// Asked by the probe, the plan and the teardown of one call: the links are followed once per process and family.
const nftVariant = new Map<IpFamily, boolean>();

function resolvesToNft(family: IpFamily): boolean {
  const tool = findTool(family === 4 ? "iptables-restore" : "ip6tables-restore");
  if (tool === null) return false;
  const buf = new Uint8Array(4097); // PATH_MAX and a NUL
  if (sys().realpath(cstr(tool), buf) === null) return false;
  const target = new TextDecoder().decode(buf.subarray(0, buf.indexOf(0)));
  const base = target.slice(target.lastIndexOf("/") + 1);
  return base === "xtables-nft-multi" || base === "iptables-nft-restore" || base === "ip6tables-nft-restore";
}

// One nfnetlink socket per process serves every in-process question, teardown and rule addition (nft-iptables-rules.ts)
// in a netns; it stays open, reused by the next call in the same netns, until process exit. Closing
// any netfilter socket while the kernel still destroys what a commit deleted waits for that (an RCU grace period,
// ~8-20 ms), so a plugin hands the socket to a helper process that outlives it (handOffTeardownSocket).
// Callers do their other netfilter socket work (conntrack, nft table checks) before the teardown for the same reason.
let lingering: { sock: NetlinkSocket; netns: string | undefined; deleted?: boolean } | undefined;

/** How long handOffTeardownSocket's helper sleeps: hundreds of times what it has to outlast, and no longer. */
export const TEARDOWN_HELPER_SECONDS = "0.5";

/**
 * Lets the process end without waiting for the kernel to destroy what the last teardown deleted: the teardown
 * socket's last reference goes to a short-lived helper (`sleep`, its stdio closed), whose exit then pays that wait
 * (~7 ms here) where no runtime waits for it. The helper only has to outlive this process, which ends a millisecond
 * or two later (were it slower, it would pay the wait itself, as before). For a plugin whose teardown is its last
 * step (portmap DEL); no-op when nothing was deleted or no helper can start.
 */
export function handOffTeardownSocket(): void {
  const fd = teardownSocketToHandOff();
  if (fd === undefined) return;
  const sleep = findTool("sleep");
  if (sleep === null) return;
  try {
    Bun.spawn([sleep, TEARDOWN_HELPER_SECONDS], { stdio: ["ignore", "ignore", "ignore", fd] }).unref();
  } catch {
    // no helper: the process waits at exit instead
  }
}

/**
 * Returns the teardown socket's fd when the last teardown deleted something, for a helper process to hold past this
 * process's exit (handOffTeardownSocket, or the helper of a link delete: pkg/ip/link-handoff.ts); else undefined.
 */
export function teardownSocketToHandOff(): number | undefined {
  return lingering?.deleted ? lingering.sock.fd : undefined;
}

/** Returns the process's nfnetlink socket for the calling thread's netns (the lingering one), or undefined when none opens. */
export function netfilterSocket(): NetlinkSocket | undefined {
  const netns = fileId(THREAD_NETNS);
  if (lingering && netns !== undefined && lingering.netns === netns) return lingering.sock;
  lingering?.sock.close();
  lingering = undefined;
  try {
    lingering = { sock: new NetlinkSocket(new FfiNetlinkTransport(NETLINK_NETFILTER)), netns };
  } catch {
    return undefined;
  }
  return lingering.sock;
}
const THREAD_NETNS = "/proc/thread-self/ns/net";

/**
 * Returns whether the family's iptables can be used on the table, judged in-process for iptables-nft (nf_tables
 * answers about the table), or undefined when that cannot tell (iptables-legacy, no nf_tables): ask iptables-save.
 */
export function iptablesUsableInKernel(family: IpFamily, table = "nat"): boolean | undefined {
  if (!iptablesIsNft(family)) return undefined;
  return nftTableExists(family === 4 ? "ip" : "ip6", table, netfilterSocket()) === undefined ? undefined : true;
}

/**
 * Returns whether the kernel has the chain in the family's iptables table (false also when the table is missing),
 * or undefined when it cannot be asked this way (iptables-legacy, no nf_tables): read the table with iptables-save.
 * An ADD that creates a chain the kernel does not have, and adds rules only there and in jumps to it, can plan
 * without reading the table: nf_tables keeps no jump to a chain that does not exist. One question, whatever the
 * table holds.
 */
export function chainInKernel(family: IpFamily, table: string, chain: string): boolean | undefined {
  if (!iptablesIsNft(family)) return undefined;
  const sock = netfilterSocket();
  if (!sock) return undefined;
  try {
    sock.query(encodeGetChain(sock.nextSeq(), family, table, chain), "NFT_MSG_GETCHAIN");
    return true;
  } catch (e) {
    return hasErrno(e, ENOENT) ? false : undefined;
  }
}

/**
 * Removes the chains and every rule jumping to them from the family's iptables table in-process, when iptables is
 * the nf_tables variant. Returns false (nothing done) when it is not, or nf_tables cannot be asked; the caller then
 * uses iptables-save/iptables-restore. A transaction that meets a concurrent change (a rule or chain gone, a new
 * jump) is planned again from a fresh read. Throws NetlinkError when the kernel refuses otherwise.
 */
export function teardownChainsInKernel(family: IpFamily, table: string, chains: string[]): boolean {
  if (!iptablesIsNft(family)) return false;
  const sock = netfilterSocket();
  if (!sock) return false;
  for (let attempt = 1; ; attempt++) {
    let state: KernelChains;
    try {
      state = readKernelChains(sock, family, table);
    } catch (e) {
      if (hasErrno(e, ENOENT)) return true; // no such table: nothing of ours in it
      if (attempt === 1) return false; // nf_tables cannot be read here after all: the tools' way
      throw e;
    }
    const batch = encodeTeardownBatch(sock.nextSeq(), family, table, state, chains);
    if (batch.length === 0) return true;
    for (let i = 1; i < batch.length; i++) sock.nextSeq(); // the seqs the batch used
    noteNetfilterChange();
    try {
      lingering!.deleted = true;
      sock.requestBatch(batch, "nf_tables teardown");
      return true;
    } catch (e) {
      if (attempt >= MAX_ATTEMPTS || !hasErrno(e, ENOENT, EBUSY)) throw e;
    }
  }
}
