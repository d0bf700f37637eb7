// pkg/cni/json.ts: JSON text as Go's encoding/json writes it, so our stdout matches the Go plugins' byte for byte.

const GO_ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

/** Returns v as json.MarshalIndent(v, "", "    ") prints it: Go escapes <, > and & (HTML safety) and U+2028/9. */
export function marshalIndent(v: unknown): string {
  const text = JSON.stringify(v, null, 4);
  // Most results have none of these: a scan spares every plugin call the regular expression engine's start-up.
  let out = "";
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c !== 0x3c && c !== 0x3e && c !== 0x26 && c !== 0x2028 && c !== 0x2029) continue;
    out += text.slice(from, i) + GO_ESCAPES[text[i]!];
    from = i + 1;
  }
  return from === 0 ? text : out + text.slice(from);
}
