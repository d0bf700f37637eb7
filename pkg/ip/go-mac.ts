// pkg/ip/go-mac.ts: hardware address text read as Go's net.ParseMAC reads it, so a MAC a conflist (or CNI_ARGS,
// or runtimeConfig) gave the Go plugins is accepted or refused by ours alike, with the same words.

/**
 * Returns the bytes of a hardware address in any form Go's net.ParseMAC accepts: 6, 8 or 20 octets written as
 * `aa:bb:…`, `aa-bb-…` (one separator throughout) or `aabb.ccdd.…`. Throws Go's `address <s>: invalid MAC address`.
 */
export function parseGoMAC(s: string): Uint8Array {
  const fail = () => new Error(`address ${s}: invalid MAC address`); // Go's net.AddrError text
  const octet = (t: string) => (/^[0-9a-fA-F]{2}$/.test(t) ? parseInt(t, 16) : NaN);
  const okCount = (n: number) => n === 6 || n === 8 || n === 20;
  if (s.length < 14) throw fail();
  let out: number[];
  if (s[2] === ":" || s[2] === "-") {
    const parts = s.split(s[2]);
    if ((s.length + 1) % 3 !== 0 || !okCount(parts.length)) throw fail();
    out = parts.map(octet);
  } else if (s[4] === ".") {
    const groups = s.split(".");
    if ((s.length + 1) % 5 !== 0 || !okCount(groups.length * 2)) throw fail();
    out = groups.flatMap((g) => (g.length === 4 ? [octet(g.slice(0, 2)), octet(g.slice(2))] : [NaN]));
  } else {
    throw fail();
  }
  if (out.some(Number.isNaN)) throw fail();
  return Uint8Array.from(out);
}
