// pkg/ip/rule.ts: policy routing rules over rtnetlink: add, delete, list. Encoders are pure functions, byte-tested
// against what `ip rule add|del` sends.
import { afOf, familyOf, readIP } from "./address.ts";
import { ipBytes, type IPNet } from "./cidr.ts";
import {
  FIB_RULE_HDR_LEN, FR_ACT_TO_TBL, FR_ACT_UNSPEC, FRA_DST, FRA_FWMARK, FRA_FWMASK, FRA_IIFNAME, FRA_OIFNAME,
  FRA_PRIORITY, FRA_SRC, FRA_TABLE, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST, RT_TABLE_UNSPEC,
  RTM_DELRULE, RTM_GETRULE, RTM_NEWRULE,
} from "./nl/consts.ts";
import { NetlinkParseError, parseAttrs, readStrz, readU32 } from "./nl/reader.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";

/** A rule sending matching traffic to a routing table (FR_ACT_TO_TBL). */
export interface RuleSpec {
  family: 4 | 6;
  /** FRA_PRIORITY; the kernel picks one below the lowest existing when adding without it. */
  priority?: number;
  /** The table to look up; above 255 it goes in FRA_TABLE with the header's table RT_TABLE_UNSPEC, as iproute2. */
  table: number;
  /** `from`: FRA_SRC and src_len. */
  src?: IPNet;
  /** `to`: FRA_DST and dst_len. */
  dst?: IPNet;
  iifname?: string;
  oifname?: string;
  /** `fwmark`: FRA_FWMARK. */
  mark?: number;
  /** `fwmark M/MASK`: FRA_FWMASK (the kernel defaults it to 0xffffffff when a mark comes without one). */
  mask?: number;
}

/** A rule as the kernel reports it (RTM_NEWRULE). */
export interface Rule extends RuleSpec {
  /** 0 for the `local` rule, which carries no FRA_PRIORITY. */
  priority: number;
  /** FR_ACT_*. */
  action: number;
}

function prefixBytes(n: IPNet, family: 4 | 6, what: string): Uint8Array {
  if (n.ip.family !== family) throw new Error(`rule ${what} ${n.ip.family === 4 ? "IPv4" : "IPv6"} prefix in an IPv${family} rule`);
  return ipBytes(n.ip);
}

// The attribute order is iproute2's for `ip rule add from S to D iif I oif O fwmark M/K priority P table T`.
function writeRule(w: NlWriter, spec: RuleSpec, action: number): void {
  const hdr = new Uint8Array(FIB_RULE_HDR_LEN);
  hdr[0] = afOf(spec.family);
  hdr[1] = spec.dst?.prefix ?? 0;
  hdr[2] = spec.src?.prefix ?? 0;
  hdr[4] = spec.table > 255 ? RT_TABLE_UNSPEC : spec.table;
  hdr[7] = action;
  w.struct(hdr);
  if (spec.src) w.bytes(FRA_SRC, prefixBytes(spec.src, spec.family, "src"));
  if (spec.dst) w.bytes(FRA_DST, prefixBytes(spec.dst, spec.family, "dst"));
  if (spec.iifname !== undefined) w.strz(FRA_IIFNAME, spec.iifname);
  if (spec.oifname !== undefined) w.strz(FRA_OIFNAME, spec.oifname);
  if (spec.mark !== undefined) w.u32(FRA_FWMARK, spec.mark);
  if (spec.mask !== undefined) w.u32(FRA_FWMASK, spec.mask);
  if (spec.priority !== undefined) w.u32(FRA_PRIORITY, spec.priority);
  if (spec.table > 255) w.u32(FRA_TABLE, spec.table);
}

/** Returns RTM_NEWRULE (CREATE|EXCL, action FR_ACT_TO_TBL), as `ip rule add`. */
export function encodeNewRule(seq: number, spec: RuleSpec): Uint8Array {
  const w = new NlWriter(RTM_NEWRULE, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  writeRule(w, spec, FR_ACT_TO_TBL);
  return w.finish();
}

/** Returns RTM_DELRULE (action FR_ACT_UNSPEC: any), as `ip rule del`; the kernel deletes the first rule matching. */
export function encodeDelRule(seq: number, spec: RuleSpec): Uint8Array {
  const w = new NlWriter(RTM_DELRULE, NLM_F_REQUEST | NLM_F_ACK, seq);
  writeRule(w, spec, FR_ACT_UNSPEC);
  return w.finish();
}

/** Returns the RTM_GETRULE dump request of `ip -4|-6 rule show`. */
export function encodeListRules(seq: number, family: 4 | 6): Uint8Array {
  const w = new NlWriter(RTM_GETRULE, NLM_F_REQUEST | NLM_F_DUMP, seq);
  const hdr = new Uint8Array(FIB_RULE_HDR_LEN);
  hdr[0] = afOf(family);
  w.struct(hdr);
  return w.finish();
}

/** Returns the Rule in an RTM_NEWRULE payload, or undefined for another family; throws NetlinkParseError. */
export function parseRule(payload: Uint8Array): Rule | undefined {
  if (payload.length < FIB_RULE_HDR_LEN) throw new NetlinkParseError(`fib_rule_hdr: ${payload.length} bytes, want ${FIB_RULE_HDR_LEN}`);
  const family = familyOf(payload[0]!);
  if (family === undefined) return undefined;
  const a = parseAttrs(payload, FIB_RULE_HDR_LEN);
  const rule: Rule = {
    family,
    table: a.has(FRA_TABLE) ? readU32(a.get(FRA_TABLE), "FRA_TABLE") : payload[4]!,
    priority: a.has(FRA_PRIORITY) ? readU32(a.get(FRA_PRIORITY), "FRA_PRIORITY") : 0,
    action: payload[7]!,
  };
  if (a.has(FRA_SRC)) rule.src = { ip: readIP(a.get(FRA_SRC), "FRA_SRC", family), prefix: payload[2]! };
  if (a.has(FRA_DST)) rule.dst = { ip: readIP(a.get(FRA_DST), "FRA_DST", family), prefix: payload[1]! };
  if (a.has(FRA_IIFNAME)) rule.iifname = readStrz(a.get(FRA_IIFNAME), "FRA_IIFNAME");
  if (a.has(FRA_OIFNAME)) rule.oifname = readStrz(a.get(FRA_OIFNAME), "FRA_OIFNAME");
  if (a.has(FRA_FWMARK)) rule.mark = readU32(a.get(FRA_FWMARK), "FRA_FWMARK");
  if (a.has(FRA_FWMASK)) rule.mask = readU32(a.get(FRA_FWMASK), "FRA_FWMASK");
  return rule;
}

/** Returns the rules of one family in the socket's netns, in priority order (the kernel's). */
export function listRules(sock: NetlinkSocket, family: 4 | 6): Rule[] {
  const out: Rule[] = [];
  for (const payload of sock.dump(encodeListRules(sock.nextSeq(), family))) {
    const r = parseRule(payload);
    if (r && r.family === family) out.push(r);
  }
  return out;
}

/** Adds a rule; throws NetlinkError (EEXIST when an identical rule exists). */
export function addRule(sock: NetlinkSocket, spec: RuleSpec): void {
  sock.request(encodeNewRule(sock.nextSeq(), spec));
}

/** Deletes the first rule matching spec; throws NetlinkError (ENOENT, which isNotFound accepts, when none matches). */
export function delRule(sock: NetlinkSocket, spec: RuleSpec): void {
  sock.request(encodeDelRule(sock.nextSeq(), spec));
}
