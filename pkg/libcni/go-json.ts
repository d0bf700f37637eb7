// pkg/libcni/go-json.ts: JSON as libcni's Go code writes and reads it. libcni keeps configs as
// map[string]interface{} and re-marshals them, so what a plugin gets on stdin (and what the cache file holds) has
// its keys sorted at every level, no spaces, and Go's HTML-safe escapes; a wrong type is named with Go's %T.

const GO_ESCAPES: Record<string, string> = { "<": "\\u003c", ">": "\\u003e", "&": "\\u0026", "\u2028": "\\u2028", "\u2029": "\\u2029" };

/** Returns v as Go's json.Marshal prints it, object keys in the order they are in (see sortKeys). */
export function goStringify(v: unknown): string {
  return JSON.stringify(v).replace(/[<>&\u2028\u2029]/g, (c) => GO_ESCAPES[c]!);
}

/** Returns v with the keys of every object sorted, as a Go map is marshalled. */
export function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Returns json.Marshal of a value decoded into interface{} (maps all the way down): sorted, compact, escaped. */
export function goMarshal(v: unknown): string {
  return goStringify(sortKeys(v));
}

/** Returns Go's %T of a value json.Unmarshal put into an interface{}. */
export function goTypeName(v: unknown): string {
  if (v === null || v === undefined) return "<nil>";
  if (Array.isArray(v)) return "[]interface {}";
  if (typeof v === "number") return "float64";
  if (typeof v === "object") return "map[string]interface {}";
  return typeof v === "boolean" ? "bool" : typeof v;
}

/** Returns the text parsed as a JSON object, as json.Unmarshal into a map[string]interface{} accepts it; throws Go's words for a non-object. */
export function parseObject(text: string): Record<string, unknown> {
  const v: unknown = JSON.parse(text);
  if (v === null) return {}; // Go leaves the map empty (nil) for `null`
  if (typeof v !== "object" || Array.isArray(v)) {
    throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go value of type map[string]interface {}`);
  }
  return v as Record<string, unknown>;
}

/** Returns the JSON kind encoding/json names in an UnmarshalTypeError. */
export function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (typeof v === "boolean") return "bool";
  if (v !== null && typeof v === "object") return "object";
  return typeof v;
}

/** Returns bytes as Go's []byte field marshals them: standard base64 with padding. */
export function goBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString("base64");
}

/** Returns the bytes of a base64 []byte field; throws Go's `illegal base64 data at input byte N`. */
export function goUnbase64(text: string): Uint8Array {
  // encoding/json drops \r and \n before decoding; anything else outside the alphabet is illegal.
  const s = text.replace(/[\r\n]/g, "");
  const bad = s.search(/[^A-Za-z0-9+/=]/);
  if (bad >= 0) throw new Error(`illegal base64 data at input byte ${bad}`);
  const pad = s.indexOf("=");
  if (s.length % 4 !== 0 || (pad >= 0 && (pad < s.length - 2 || /[^=]/.test(s.slice(pad))))) {
    throw new Error(`illegal base64 data at input byte ${pad >= 0 ? pad : s.length - (s.length % 4)}`);
  }
  return new Uint8Array(Buffer.from(s, "base64"));
}
