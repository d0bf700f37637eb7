// meta/flannel/subnet-env.ts: flannel's subnet.env (SPEC-DIGEST §4), the KEY=VALUE lines flanneld writes for this
// node, read as upstream's loadFlannelSubnetEnv reads them: line by line (bufio.Scanner), exact keys, values taken
// as they are (no trimming), the last line of a key wins, and Go's error texts.
import { readFileSync } from "node:fs";
import { goQuote } from "../../pkg/cni/args.ts";
import { formatCIDR, networkOf, parseCIDR, type IPNet } from "../../pkg/ip/cidr.ts";
import { goPathError } from "../../pkg/sys/go-path-error.ts";

/** What subnet.env says; CIDRs are normalised to their network address, as net.ParseCIDR returns them. */
export interface SubnetEnv {
  /** FLANNEL_NETWORK: the cluster's IPv4 networks, de-duplicated, in file order. */
  networks: IPNet[];
  /** FLANNEL_SUBNET: this node's IPv4 pod subnet. */
  subnet?: IPNet;
  /** FLANNEL_IPV6_NETWORK. */
  ip6Networks: IPNet[];
  /** FLANNEL_IPV6_SUBNET. */
  ip6Subnet?: IPNet;
  /** FLANNEL_MTU. */
  mtu?: number;
  /** FLANNEL_IPMASQ: whether flanneld masquerades itself ("true" and nothing else means yes). */
  ipMasq?: boolean;
}

// bufio.Scanner's default limit: a line of this many bytes (newline excluded) or more is an error.
const MAX_LINE_BYTES = 64 * 1024;

/** Returns subnet.env of `file` parsed; throws Go's text for a file that does not read or parse, or lacks keys. */
export function loadSubnetEnv(file: string): SubnetEnv {
  let bytes: Uint8Array;
  try {
    bytes = readFileSync(file);
  } catch (e) {
    throw goPathError(file, e); // "open <file>: …", or "read <file>: is a directory"
  }
  return parseSubnetEnv(bytes, file);
}

/** Returns the contents of subnet.env parsed (`file` names it in the "is missing" error); throws as upstream. */
export function parseSubnetEnv(bytes: Uint8Array, file: string): SubnetEnv {
  const env: SubnetEnv = { networks: [], ip6Networks: [] };
  const text = new TextDecoder();
  for (const raw of lines(bytes)) {
    if (raw.length >= MAX_LINE_BYTES) throw new Error("bufio.Scanner: token too long"); // upstream text
    const line = text.decode(raw);
    const eq = line.indexOf("=");
    const key = eq < 0 ? line : line.slice(0, eq);
    if (!KEYS.has(key)) continue;
    // upstream panics on a known key without "=" (index out of range); an error says what is wrong instead.
    if (eq < 0) throw new Error(`${file}: line ${goQuote(line)} has no "="`);
    const value = line.slice(eq + 1);
    switch (key) {
      case "FLANNEL_NETWORK": env.networks = parseNetworks(value); break;
      case "FLANNEL_SUBNET": env.subnet = parseNetwork(value); break;
      case "FLANNEL_IPV6_NETWORK": env.ip6Networks = parseNetworks(value); break;
      case "FLANNEL_IPV6_SUBNET": env.ip6Subnet = parseNetwork(value); break;
      case "FLANNEL_MTU": env.mtu = parseUint32(value); break;
      case "FLANNEL_IPMASQ": env.ipMasq = value === "true"; break;
    }
  }
  const missing = missingKeys(env);
  if (missing !== "") throw new Error(`${file} is missing ${missing}`); // upstream text
  return env;
}

const KEYS = new Set(["FLANNEL_NETWORK", "FLANNEL_SUBNET", "FLANNEL_IPV6_NETWORK", "FLANNEL_IPV6_SUBNET", "FLANNEL_MTU", "FLANNEL_IPMASQ"]);

/** Returns the lines as bufio.ScanLines splits them: at "\n", one trailing "\r" dropped, no empty last line. */
function* lines(bytes: Uint8Array): Generator<Uint8Array> {
  let start = 0;
  while (start < bytes.length) {
    let end = bytes.indexOf(0x0a, start);
    const next = end < 0 ? bytes.length : end + 1;
    if (end < 0) end = bytes.length;
    // The limit counts what the scanner must buffer before it finds the newline, the "\r" included.
    if (end - start >= MAX_LINE_BYTES) yield bytes.subarray(start, end);
    else yield bytes.subarray(start, end > start && bytes[end - 1] === 0x0d ? end - 1 : end);
    start = next;
  }
}

/** upstream's missing(): the keys (or key pairs, one of which is enough) that subnet.env lacks, comma-joined. */
function missingKeys(env: SubnetEnv): string {
  const m: string[] = [];
  if (env.networks.length === 0 && env.ip6Networks.length === 0) m.push("FLANNEL_NETWORK", "FLANNEL_IPV6_NETWORK");
  if (!env.subnet && !env.ip6Subnet) m.push("FLANNEL_SUBNET", "FLANNEL_IPV6_SUBNET");
  if (env.mtu === undefined) m.push("FLANNEL_MTU");
  if (env.ipMasq === undefined) m.push("FLANNEL_IPMASQ");
  return m.join(", ");
}

/** net.ParseCIDR's network: the address with its host bits cleared. */
function parseNetwork(s: string): IPNet {
  const n = parseCIDR(s);
  if (!n) throw new Error(`invalid CIDR address: ${s}`); // upstream text
  return { ip: networkOf(n), prefix: n.prefix };
}

/** A comma-separated list of CIDRs, each network once (upstream's isSubnetAlreadyPresent). */
function parseNetworks(s: string): IPNet[] {
  const out: IPNet[] = [];
  for (const part of s.split(",")) {
    const n = parseNetwork(part);
    if (!out.some((o) => formatCIDR(o) === formatCIDR(n))) out.push(n);
  }
  return out;
}

/** strconv.ParseUint(s, 10, 32), its errors included: digits only, checked left to right. */
function parseUint32(s: string): number {
  if (s === "") throw new Error(`strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax`); // upstream text
  let n = 0;
  for (const c of s) {
    if (c < "0" || c > "9") throw new Error(`strconv.ParseUint: parsing ${goQuote(s)}: invalid syntax`); // upstream text
    n = n * 10 + (c.charCodeAt(0) - 48);
    if (n > 0xffffffff) throw new Error(`strconv.ParseUint: parsing ${goQuote(s)}: value out of range`); // upstream text
  }
  return n;
}
