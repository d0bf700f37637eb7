// meta/tuning/mac.ts: MAC text as Go's net.ParseMAC reads it, so the config values the Go plugin accepts are the
// ones we accept: 6, 8 or 20 bytes written `aa:bb:…`, `aa-bb-…` (one separator throughout) or `aabb.ccdd.eeff`.

const HEX2 = /^[0-9a-fA-F]{2}$/;

/** Returns the bytes of a MAC address; throws `address <s>: invalid MAC address` (net.AddrError) otherwise. */
export function parseHardwareAddr(s: string): Uint8Array {
  const bytes = parse(s);
  if (!bytes) throw new Error(`address ${s}: invalid MAC address`); // upstream text
  return bytes;
}

function parse(s: string): Uint8Array | undefined {
  if (s.length < 14) return undefined;
  const sep = s[2];
  if (sep === ":" || sep === "-") {
    if ((s.length + 1) % 3 !== 0) return undefined;
    const n = (s.length + 1) / 3;
    if (n !== 6 && n !== 8 && n !== 20) return undefined;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i++) {
      const pair = s.slice(3 * i, 3 * i + 2);
      if (!HEX2.test(pair) || (i < n - 1 && s[3 * i + 2] !== sep)) return undefined;
      out[i] = parseInt(pair, 16);
    }
    return out;
  }
  if (s[4] === ".") {
    if ((s.length + 1) % 5 !== 0) return undefined;
    const n = (2 * (s.length + 1)) / 5;
    if (n !== 6 && n !== 8 && n !== 20) return undefined;
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 2) {
      const x = (5 * i) / 2;
      const a = s.slice(x, x + 2);
      const b = s.slice(x + 2, x + 4);
      if (!HEX2.test(a) || !HEX2.test(b) || (i < n - 2 && s[x + 4] !== ".")) return undefined;
      out[i] = parseInt(a, 16);
      out[i + 1] = parseInt(b, 16);
    }
    return out;
  }
  return undefined;
}
