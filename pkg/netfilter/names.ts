// pkg/netfilter/names.ts: upstream's chain, comment and device names, byte for byte (SPEC-DIGEST §0.7), so a DEL by
// either implementation finds what the other one made. Pure code; SHA-512 through Bun.CryptoHasher, which costs
// ~0.2 ms at startup where node:crypto costs ~5.5 ms (BUN-NOTES §11).

/** Returns the lowercase hex SHA-512 of the UTF-8 bytes of s. */
export function sha512Hex(s: string): string {
  return new Bun.CryptoHasher("sha512").update(s).digest("hex");
}

const MAX_HASH_LEN = 128; // sha512.Size * 2

/**
 * Returns prefix + H(toHash), cut to length characters (upstream utils.MustFormatHashWithPrefix).
 * Throws "invalid length" when the prefix leaves no room or length exceeds the hash, where upstream panics.
 */
export function formatHashWithPrefix(length: number, prefix: string, toHash: string): string {
  if (prefix.length >= length || length > MAX_HASH_LEN) throw new Error("invalid length"); // upstream text
  return (prefix + sha512Hex(toHash)).slice(0, length);
}

const MAX_CHAIN_LENGTH = 28;

/** Returns the per-container iptables chain `CNI-<prefix><hex>`, 28 characters (utils.MustFormatChainNameWithPrefix). */
export function chainName(network: string, containerId: string, prefix = ""): string {
  return formatHashWithPrefix(MAX_CHAIN_LENGTH, "CNI-" + prefix, network + containerId);
}

/** Returns the iptables ipMasq comment `name: "<network>" id: "<containerID>"` (utils.FormatComment, Go %q). */
export function ipMasqComment(network: string, containerId: string): string {
  return `name: ${goQuote(network)} id: ${goQuote(containerId)}`;
}

/** Returns the hash that starts every nftables ipMasq comment of one network (ipmasq_nftables hashForNetwork). */
export function nftMasqNetworkPrefix(network: string): string {
  return formatHashWithPrefix(16, "", network);
}

/** Returns the hash that starts the nftables ipMasq comments of one attachment (ipmasq_nftables hashForInstance). */
export function nftMasqCommentPrefix(network: string, ifname: string, containerId: string): string {
  return nftMasqNetworkPrefix(network) + "-" + formatHashWithPrefix(16, "", ifname + ":" + containerId);
}

const NFT_COMMENT_MAX = 128; // knftables.CommentLengthMax

/**
 * Returns the nftables ipMasq rule comment (ipmasq_nftables commentForInstance): the instance hash, then
 * `, net: <network>, if: <ifname>, id: <cid>` with `"` removed, cut to 128 bytes.
 */
export function nftMasqComment(network: string, ifname: string, containerId: string): string {
  const strip = (s: string) => s.replaceAll('"', "");
  const full = `${nftMasqCommentPrefix(network, ifname, containerId)}, net: ${strip(network)}, if: ${strip(ifname)}, id: ${strip(containerId)}`;
  return truncateBytes(full, NFT_COMMENT_MAX);
}

// Go cuts the string at a byte offset. For ASCII (every realistic name) that is the same as cutting characters;
// a cut through a multi-byte character drops the partial character here, where Go would keep its bytes.
function truncateBytes(s: string, max: number): string {
  if (s.length <= max && /^[\x00-\x7f]*$/.test(s)) return s;
  const bytes = new TextEncoder().encode(s);
  if (bytes.length <= max) return s;
  return new TextDecoder().decode(bytes.subarray(0, max)).replace(/\uFFFD+$/, "");
}

const MAX_IFB_LENGTH = 15;

/** Returns the bandwidth plugin's ifb device name `bwp<12hex>` (bandwidth main.go getIfbDeviceName). */
export function ifbName(network: string, containerId: string): string {
  return formatHashWithPrefix(MAX_IFB_LENGTH, "bwp", network + containerId);
}

// Go's unicode.IsPrint: letters, marks, numbers, punctuation, symbols and the ASCII space (no other spaces). Made on
// first use: a Unicode-class regex built at load time costs every bridge and portmap call ~0.1 ms, for names that
// are ASCII all but always.
let printable: RegExp | undefined;

/** Returns s double-quoted with Go's %q rules (strconv.Quote): `"` and `\` escaped, non-printable runes as \n, \x1b, \u00a0. */
export function goQuote(s: string): string {
  let out = '"';
  for (const ch of s) {
    const r = ch.codePointAt(0)!;
    if (ch === '"' || ch === "\\") { out += "\\" + ch; continue; }
    if (r >= 0x20 && r < 0x7f) { out += ch; continue; }
    if (r >= 0xd800 && r <= 0xdfff) { out += "\ufffd"; continue; } // a lone surrogate becomes U+FFFD in UTF-8, as Go decodes JSON
    if (r >= 0x80 && (printable ??= /^[\p{L}\p{M}\p{N}\p{P}\p{S} ]$/u).test(ch)) { out += ch; continue; }
    const named = NAMED_ESCAPES[r];
    if (named) out += named;
    else if (r < 0x20 || r === 0x7f) out += "\\x" + r.toString(16).padStart(2, "0");
    else if (r < 0x10000) out += "\\u" + r.toString(16).padStart(4, "0");
    else out += "\\U" + r.toString(16).padStart(8, "0");
  }
  return out + '"';
}

const NAMED_ESCAPES: Record<number, string> = { 7: "\\a", 8: "\\b", 12: "\\f", 10: "\\n", 13: "\\r", 9: "\\t", 11: "\\v" };
