// pkg/libcni/inject.ts: the config each plugin of a list gets on stdin (libcni's buildOneConfig, InjectConf and
// injectRuntimeConfig): the list's name and cniVersion forced in, the previous result as `prevResult`, and the
// runtime's capability arguments filtered through the plugin's `capabilities` into `runtimeConfig`.
import { resultObject } from "../cni/result.ts";
import type { Result } from "../cni/types.ts";
import { networkPluginConfFromBytes, type PluginConfig } from "./conf.ts";
import { goStringify, parseObject } from "./go-json.ts";

/** What a runtime passes for one attachment (upstream's RuntimeConf). */
export interface RuntimeConf {
  containerId: string;
  /** The container's netns path ("" when there is none any more, as some runtimes send on DEL). */
  netns: string;
  ifname: string;
  /** CNI_ARGS as key/value pairs, in order. */
  args?: [string, string][];
  /** Capability arguments by capability name (`portMappings`, `ips`, `mac`, …): only those a plugin declares reach it. */
  capabilityArgs?: Record<string, unknown>;
  /** Deprecated upstream too: a cache directory for this call (the CNIConfig's wins). */
  cacheDir?: string;
}

// A value marshalled by its own Go MarshalJSON (a result struct): its keys keep their order, unlike a map's.
const KEEP_ORDER = Symbol("keepOrder");
type Ordered = Record<string, unknown> & { [KEEP_ORDER]?: true };

function sortMapKeys(v: unknown): unknown {
  if (v !== null && typeof v === "object" && !Array.isArray(v) && (v as Ordered)[KEEP_ORDER]) return v;
  if (Array.isArray(v)) return v.map(sortMapKeys);
  if (v !== null && typeof v === "object") {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(v).sort()) out[k] = sortMapKeys((v as Record<string, unknown>)[k]);
    return out;
  }
  return v;
}

/** Returns a result as its Go type marshals it in its own version (the JSON a plugin printed, compacted). */
export function resultValue(r: Result): Record<string, unknown> {
  const o = resultObject(r, r.cniVersion) as Ordered;
  o[KEEP_ORDER] = true;
  return o;
}

/**
 * Returns the plugin config with `values` set at its top level, re-marshalled as Go marshals a map (keys sorted).
 * Throws upstream's errors for an empty key, a nil value, or bytes that are not a JSON object.
 */
export function injectConf(orig: PluginConfig, values: Record<string, unknown>): PluginConfig {
  let config: Record<string, unknown>;
  try {
    config = parseObject(new TextDecoder().decode(orig.bytes));
  } catch (e) {
    throw new Error(`unmarshal existing network bytes: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  for (const [key, value] of Object.entries(values)) {
    if (key === "") throw new Error("keys cannot be empty"); // upstream text
    if (value === null || value === undefined) throw new Error(`key '${key}' value must not be nil`); // upstream text
    config[key] = value;
  }
  return networkPluginConfFromBytes(new TextEncoder().encode(goStringify(sortMapKeys(config))));
}

/**
 * Returns the config one plugin of a list is run with: the list's name and version, `prevResult` when there is one,
 * and `runtimeConfig` built from the runtime's capability arguments when `rt` is given.
 */
export function buildOneConfig(name: string, cniVersion: string, orig: PluginConfig, prevResult?: Result, rt?: RuntimeConf): PluginConfig {
  const inject: Record<string, unknown> = { name, cniVersion };
  if (prevResult) inject.prevResult = resultValue(prevResult);
  const conf = injectConf(orig, inject);
  return rt ? injectRuntimeConfig(conf, rt) : conf;
}

/**
 * Returns the config with `runtimeConfig` set to the capability arguments the plugin declares (`capabilities`
 * true) and the runtime passed. With none, the config is unchanged; with some, they replace any `runtimeConfig`
 * the file had, as upstream's InjectConf does.
 */
export function injectRuntimeConfig(orig: PluginConfig, rt: RuntimeConf): PluginConfig {
  const rc: Record<string, unknown> = {};
  const caps = rt.capabilityArgs ?? {};
  for (const [capability, supported] of Object.entries(orig.network.capabilities)) {
    if (supported && Object.hasOwn(caps, capability)) rc[capability] = caps[capability];
  }
  if (Object.keys(rc).length === 0) return orig;
  return injectConf(orig, { runtimeConfig: rc });
}
