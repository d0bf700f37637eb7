// meta/bandwidth/config.ts: the bandwidth network config (SPEC-DIGEST §3.2), decoded with Go's rules and struct
// names so errors read like upstream's: the four uint64 limits at the top level (upstream's embedded
// *BandwidthEntry) or in `runtimeConfig.bandwidth`, the top level winning as soon as any of its four keys is
// written at all (even as null: Go allocates the embedded struct before it looks at the value).
import { netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import { DecodeError, decodeRoot, GoNumber, struct, type DecodePath, type Decoder } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { parsePrevResult } from "../../pkg/cni/result.ts";
import type { Result } from "../../pkg/cni/types.ts";
import { anyOf } from "../../pkg/sys/lists.ts";

/** One set of limits: rates in bits per second, bursts in bits; 0 means none (upstream BandwidthEntry). */
export interface BandwidthEntry {
  ingressRate: bigint;
  ingressBurst: bigint;
  egressRate: bigint;
  egressBurst: bigint;
}

export interface BandwidthConf {
  cniVersion: string;
  name: string;
  /** The limits in force (top level, else runtimeConfig.bandwidth); undefined when neither is written. */
  bandwidth?: BandwidthEntry;
  /** prevResult as written. */
  rawPrevResult?: Record<string, unknown>;
  /** prevResult parsed in the 1.1.0 shape (ADD and CHECK only, see loadConf). */
  prevResult?: Result;
}

const U64_MAX = (1n << 64n) - 1n;

function uint64Error(what: string, at: DecodePath): DecodeError {
  return new DecodeError(`json: cannot unmarshal ${what} into Go struct field ${at.struct}.${at.fields.join(".")} of type uint64`);
}

/** Go's uint64: an integer literal from 0 to 2^64-1, kept exact as a bigint (a GoNumber carries big literals). */
const uint64: Decoder<bigint> = (v, at) => {
  if (typeof v === "number") {
    if (v < 0) throw uint64Error(`number ${v}`, at);
    return BigInt(v);
  }
  if (v instanceof GoNumber) {
    if (/^[0-9]+$/.test(v.source) && BigInt(v.source) <= U64_MAX) return BigInt(v.source);
    throw uint64Error(`number ${v.source}`, at);
  }
  throw uint64Error(typeof v === "string" ? "string" : typeof v === "boolean" ? "bool" : Array.isArray(v) ? "array" : "object", at);
};

const ENTRY_KEYS = ["ingressRate", "ingressBurst", "egressRate", "egressBurst"] as const;
const entryFields = { ingressRate: uint64, ingressBurst: uint64, egressRate: uint64, egressBurst: uint64 };

/** A Go struct whose wrong-type error names `goType`, its fields' errors reported under `structName`. */
function namedStruct<F extends Record<string, Decoder<unknown>>>(structName: string, goType: string, fields: F) {
  const inner = struct(structName, fields);
  const check = struct(goType, {});
  return (v: unknown, at: DecodePath) => {
    check(v, at); // throws Go's "cannot unmarshal <kind> into ... of type <goType>" for anything but an object
    return inner(v, at);
  };
}

const decoder = struct("PluginConf", {
  ...netConfFields,
  ...entryFields,
  // The anonymous struct of upstream's PluginConf.RuntimeConfig: Go names it "" in field errors.
  runtimeConfig: namedStruct("", 'struct { Bandwidth *main.BandwidthEntry "json:\\"bandwidth,omitempty\\"" }', {
    bandwidth: namedStruct("BandwidthEntry", "main.BandwidthEntry", entryFields),
  }),
});

export interface LoadOptions {
  /**
   * ADD and CHECK: refuse limits that cannot work and parse prevResult, as upstream's parseConfig does for every
   * verb. DEL and GC only decode: a DEL that failed on a limit would stop the runtime's DEL of the whole chain.
   */
  strict: boolean;
}

/** Returns the config of stdin; throws the decode error, a CniError for bad limits, or the prevResult error. */
export function loadConf(stdin: Uint8Array, opts: LoadOptions): BandwidthConf {
  const raw = parseStdin(stdin) as Record<string, unknown>;
  let c: ReturnType<typeof decoder>;
  try {
    c = decodeRoot(raw, decoder, "PluginConf");
  } catch (e) {
    throw new Error(`failed to parse network configuration: ${(e as Error).message}`); // upstream text
  }
  const conf: BandwidthConf = { cniVersion: c.cniVersion ?? "", name: c.name ?? "", rawPrevResult: c.prevResult };
  if (hasTopLevelEntry(raw)) conf.bandwidth = entryOf(c);
  else if (c.runtimeConfig?.bandwidth) conf.bandwidth = entryOf(c.runtimeConfig.bandwidth);
  if (!opts.strict) return conf;
  if (conf.bandwidth) validateEntry(conf.bandwidth);
  if (conf.rawPrevResult) {
    try {
      conf.prevResult = parsePrevResult(conf.rawPrevResult, conf.cniVersion);
    } catch (e) {
      throw new Error(`could not parse prevResult: ${(e as Error).message}`); // upstream text (the prefix twice, as upstream)
    }
  }
  return conf;
}

// encoding/json matches keys to fields exactly, then case-insensitively; any match allocates the embedded entry.
function hasTopLevelEntry(raw: Record<string, unknown>): boolean {
  const folded = new Set(ENTRY_KEYS.map((k) => k.toLowerCase()));
  return anyOf(Object.keys(raw), (k) => folded.has(k.toLowerCase()));
}

function entryOf(e: Partial<BandwidthEntry>): BandwidthEntry {
  return { ingressRate: e.ingressRate ?? 0n, ingressBurst: e.ingressBurst ?? 0n, egressRate: e.egressRate ?? 0n, egressBurst: e.egressBurst ?? 0n };
}

/** Returns whether no limit is set at all (upstream isZero). */
export function isZero(e: BandwidthEntry): boolean {
  return e.ingressRate === 0n && e.ingressBurst === 0n && e.egressRate === 0n && e.egressBurst === 0n;
}

const U32_MAX = 0xffffffffn;

/**
 * Throws CniError 7 for the first direction (ingress, then egress) whose limits cannot work: upstream's three rules
 * with upstream's texts (the fields named in the details), then ours: a rate or burst under 8 bits is 0 bytes,
 * which the kernel refuses (EINVAL) only after upstream has already changed things.
 */
export function validateEntry(e: BandwidthEntry): void {
  for (const dir of ["ingress", "egress"] as const) {
    const rate = e[`${dir}Rate`];
    const burst = e[`${dir}Burst`];
    const rateKey = `"${dir}Rate"`;
    const burstKey = `"${dir}Burst"`;
    if (burst === 0n && rate !== 0n) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, "if rate is set, burst must also be set", `${rateKey} is ${rate}, ${burstKey} is 0`); // upstream text
    }
    if (rate === 0n && burst !== 0n) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, "if burst is set, rate must also be set", `${burstKey} is ${burst}, ${rateKey} is 0`); // upstream text
    }
    if (burst / 8n >= U32_MAX) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, "burst cannot be more than 4GB", `${burstKey} is ${burst} bits, the most is ${U32_MAX * 8n - 1n}`); // upstream text
    }
    if (rate !== 0n && rate < 8n) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `${rateKey} is ${rate}: a rate must be at least 8 bits per second`);
    if (burst !== 0n && burst < 8n) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `${burstKey} is ${burst}: a burst must be at least 8 bits`);
  }
}
