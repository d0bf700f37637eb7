// meta/portmap/save-form.ts: predicts how iptables-save prints a rule given as iptables arguments, so ADD and CHECK
// can tell from one iptables-save read whether a rule is there. iptables-save (1.8, legacy and nf_tables alike)
// prints the ip header matches first in a fixed order (-s -d -i -o -p, addresses masked and with a prefix length,
// /0 left out), then the matches in the order they were loaded (an implicit `-m tcp` before --dport), then the
// target. Only the vocabulary portmap writes (and header matches in conditions) is predicted; anything else returns
// undefined, and the caller asks iptables itself (`-C`).
import { bitsOf, formatIP, maskOf, parseCIDR, parseIP } from "../../pkg/ip/cidr.ts";
import { saveQuote } from "../../pkg/netfilter/iptables.ts";
import { isDigits, isHexLiteral, isUintLiteral, splitHostPort } from "../../pkg/text/ascii.ts";

const HEADER_OPTS: Record<string, "-s" | "-d" | "-i" | "-o" | "-p"> = {
  "-s": "-s", "--source": "-s", "--src": "-s",
  "-d": "-d", "--destination": "-d", "--dst": "-d",
  "-i": "-i", "--in-interface": "-i",
  "-o": "-o", "--out-interface": "-o",
  "-p": "-p", "--protocol": "-p",
};
const HEADER_ORDER = ["-s", "-d", "-i", "-o", "-p"] as const;
const L4 = ["tcp", "udp", "sctp"];
const PORT_OPTS: Record<string, string> = { "--dport": "--dport", "--destination-port": "--dport", "--sport": "--sport", "--source-port": "--sport" };

/**
 * Returns the line iptables-save prints for `-A <chain> <args>` in the given family, or undefined when the
 * arguments hold something this predictor does not know (then only iptables can say whether the rule exists).
 */
export function saveForm(family: 4 | 6, chain: string, args: string[]): string | undefined {
  const header = new Map<string, string>();
  const matches: string[][] = [];
  let target: string[] | undefined;
  let match: string[] | undefined; // the match whose options follow
  let matchName = "";
  let negate = false;
  const fail = () => undefined;

  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const value = () => args[++i];
    if (a === "!") {
      if (negate) return fail();
      negate = true;
      continue;
    }
    const h = HEADER_OPTS[a];
    if (h !== undefined) {
      if (target || header.has(h)) return fail();
      const v = value();
      if (v === undefined) return fail();
      const printed = h === "-s" || h === "-d" ? saveAddress(family, v) : h === "-p" ? saveProto(v) : saveIface(v);
      if (printed === undefined) return fail();
      if (printed === "" && !negate) { negate = false; continue; } // a /0 address matches everything: not printed
      if (printed === "") return fail();
      header.set(h, `${negate ? "! " : ""}${h} ${printed}`);
      negate = false;
      continue;
    }
    if (a === "-m" || a === "--match") {
      if (target || negate) return fail();
      const name = value();
      if (name === undefined || !KNOWN_MATCHES.has(name)) return fail();
      match = ["-m", name];
      matchName = name;
      matches.push(match);
      continue;
    }
    if (a === "-j" || a === "--jump") {
      if (target || negate) return fail();
      const name = value();
      if (name === undefined) return fail();
      target = ["-j", name];
      continue;
    }
    // An option of the target, of the current match, or a port option that loads the protocol's match.
    if (target) {
      const opt = targetOption(family, target[1]!, a, value());
      if (opt === undefined || negate) return fail();
      target.push(...opt);
      continue;
    }
    if (PORT_OPTS[a] !== undefined && !L4.includes(matchName)) {
      const p = header.get("-p");
      const proto = p?.startsWith("-p ") ? p.slice(3) : p;
      if (proto === undefined || !L4.includes(proto)) return fail();
      match = ["-m", proto];
      matchName = proto;
      matches.push(match);
    }
    if (!match) return fail();
    const opt = matchOption(matchName, a, value());
    if (opt === undefined) return fail();
    if (negate) match.push("!");
    match.push(...opt);
    negate = false;
  }
  if (negate) return fail();
  const parts = ["-A", chain];
  for (const h of HEADER_ORDER) if (header.has(h)) parts.push(header.get(h)!);
  for (const m of matches) parts.push(m.join(" "));
  if (target) parts.push(target.join(" "));
  return parts.join(" ");
}

const KNOWN_MATCHES = new Set(["comment", "multiport", "addrtype", "mark", "tcp", "udp", "sctp"]);

// Returns the printed option of a known match, or undefined.
function matchOption(match: string, opt: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  switch (match) {
    case "comment":
      return opt === "--comment" ? ["--comment", saveQuote(value)] : undefined;
    case "multiport": {
      const printed = { "--destination-ports": "--dports", "--dports": "--dports", "--source-ports": "--sports", "--sports": "--sports" }[opt];
      const ports = value.split(",");
      for (const port of ports) if (!isDigits(port)) return undefined;
      return printed ? [printed, ports.map(Number).join(",")] : undefined;
    }
    case "addrtype":
      return opt === "--dst-type" || opt === "--src-type" ? [opt, value.toUpperCase()] : undefined;
    case "mark": {
      if (opt !== "--mark") return undefined;
      const [v, maskText, extra] = value.split("/");
      if (extra !== undefined || !isUintLiteral(v!) || (maskText !== undefined && !isUintLiteral(maskText))) return undefined;
      const mask = maskText === undefined ? 0xffffffff : Number(maskText);
      const hex = (n: number) => "0x" + n.toString(16);
      return ["--mark", mask === 0xffffffff ? hex(Number(v)) : `${hex(Number(v))}/${hex(mask)}`];
    }
    default: {
      const printed = PORT_OPTS[opt];
      return printed && isDigits(value) ? [printed, String(Number(value))] : undefined;
    }
  }
}

// Returns the printed option of a target portmap writes, or undefined.
function targetOption(family: 4 | 6, target: string, opt: string, value: string | undefined): string[] | undefined {
  if (value === undefined) return undefined;
  if (target === "MARK" && opt === "--set-xmark") {
    const [v, mask, extra] = value.split("/");
    const ok = extra === undefined && mask !== undefined && isHexLiteral(v!) && isHexLiteral(mask);
    return ok ? ["--set-xmark", `0x${Number(v).toString(16)}/0x${Number(mask).toString(16)}`] : undefined;
  }
  if (target === "DNAT" && opt === "--to-destination") {
    const m = splitHostPort(family, value);
    const ip = m?.port !== undefined ? parseIP(m.addr) : undefined;
    if (!m || !ip || ip.family !== family) return undefined;
    const addr = formatIP(ip);
    return ["--to-destination", family === 4 ? `${addr}:${Number(m.port)}` : `[${addr}]:${Number(m.port)}`];
  }
  return undefined;
}

// `a.b.c.d`, `a.b.c.d/n` → masked `net/n`; "" for /0; undefined for names, lists and masks in dotted form.
function saveAddress(family: 4 | 6, text: string): string | undefined {
  const net = text.includes("/") ? parseCIDR(text) : (() => {
    const ip = parseIP(text);
    return ip ? { ip, prefix: bitsOf(ip.family) } : undefined;
  })();
  if (!net || net.ip.family !== family) return undefined;
  if (net.prefix === 0) return "";
  const masked = { family, value: net.ip.value & maskOf(family, net.prefix) };
  return `${formatIP(masked)}/${net.prefix}`;
}

function saveProto(text: string): string | undefined {
  const p = text.toLowerCase();
  return L4.includes(p) ? p : undefined;
}

function saveIface(text: string): string | undefined {
  return /^[A-Za-z0-9_.:+-]{1,15}$/.test(text) ? text : undefined;
}
