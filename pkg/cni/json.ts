// pkg/cni/json.ts: JSON text as Go's encoding/json writes it, so our stdout matches the Go plugins' byte for byte.

const GO_ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

/** Returns v as json.MarshalIndent(v, "", "    ") prints it: Go escapes <, > and & (HTML safety) and U+2028/9. */
export function marshalIndent(v: unknown): string {
  return JSON.stringify(v, null, 4).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}
