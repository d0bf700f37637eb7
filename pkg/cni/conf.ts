// pkg/cni/conf.ts: the network config every plugin reads from stdin: parsed once, decoded with Go semantics.
import { CniError, ERR_DECODING_FAILURE } from "./errors.ts";
import { anyObject, array, bool, map, parseJSON, str, struct, decodeRoot, type Decoded, type Decoder } from "./decode.ts";
import { parsePrevResult } from "./result.ts";
import type { NetConf } from "./types.ts";

const parsed = new WeakMap<Uint8Array, unknown>();

/** Returns stdin parsed as JSON (cached per buffer); throws CniError 6 when it is not JSON. */
export function parseStdin(stdin: Uint8Array): unknown {
  if (parsed.has(stdin)) return parsed.get(stdin);
  let v: unknown;
  try {
    v = parseJSON(new TextDecoder().decode(stdin));
  } catch (e) {
    // Nesting deep enough to exhaust the parser's stack (a few thousand levels) gets Go's text for nesting too deep
    // (Go's own limit is 10000 levels) rather than the engine's "Maximum call stack size exceeded".
    const message = e instanceof RangeError ? tooDeep(new TextDecoder().decode(stdin)) : (e as Error).message;
    throw new CniError(ERR_DECODING_FAILURE, `error unmarshall network config: ${message}`);
  }
  parsed.set(stdin, v);
  return v;
}

// Returns Go's error for JSON nested too deep, naming the bracket that went one level too far when there is one
// at Go's limit (`invalid character '[' exceeded max depth`, upstream text).
function tooDeep(text: string): string {
  let depth = 0;
  let inString = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (inString) {
      if (c === "\\") i++;
      else if (c === '"') inString = false;
    } else if (c === '"') inString = true;
    else if (c === "[" || c === "{") {
      if (++depth > 10000) return `invalid character '${c}' exceeded max depth`;
    } else if (c === "]" || c === "}") depth--;
  }
  return "exceeded max depth";
}

export const dnsDecoder = struct("DNS", {
  nameservers: array(str, "[]string"),
  domain: str,
  search: array(str, "[]string"),
  options: array(str, "[]string"),
});

/** The fields of upstream's types.NetConf; a plugin spreads these into its own struct. */
export const netConfFields = {
  cniVersion: str,
  name: str,
  type: str,
  capabilities: map(bool, "map[string]bool"),
  ipam: anyObject,
  dns: dnsDecoder,
  args: anyObject,
  runtimeConfig: anyObject,
  prevResult: anyObject,
};

export type NetConfFields = typeof netConfFields;

/**
 * Returns stdin decoded by `decoder` (a struct spreading netConfFields), with prevResult parsed into the 1.1.0 shape
 * and `raw` set. Decode errors throw plain Errors prefixed as `prefix` (the skel reports them as code 999).
 */
export function loadNetConf<F extends NetConfFields>(
  stdin: Uint8Array,
  decoder: Decoder<Decoded<F>>,
  prefix = "failed to load netconf",
): Omit<Decoded<F>, keyof NetConf> & NetConf {
  const raw = parseStdin(stdin);
  let conf: Record<string, unknown>;
  try {
    conf = decodeRoot(raw, decoder, "NetConf") as Record<string, unknown>;
  } catch (e) {
    throw new Error(`${prefix}: ${(e as Error).message}`);
  }
  conf.cniVersion ??= "";
  conf.name ??= "";
  conf.type ??= "";
  conf.raw = raw;
  if (conf.prevResult) conf.prevResult = parsePrevResult(conf.prevResult as Record<string, unknown>, conf.cniVersion as string);
  return conf as Omit<Decoded<F>, keyof NetConf> & NetConf;
}

/** Returns just the base NetConf of stdin. */
export function loadBaseNetConf(stdin: Uint8Array): NetConf {
  return loadNetConf(stdin, struct("NetConf", netConfFields));
}
