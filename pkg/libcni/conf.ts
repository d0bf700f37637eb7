// pkg/libcni/conf.ts: network configurations found on disk, as libcni v1.3.0 finds and reads them (libcni/conf.go):
// `.conflist` files first, in name order, then the deprecated single-plugin `.conf`/`.json` files upconverted to a
// list; `cniVersion` negotiated from `cniVersions`; `disableCheck`, `disableGC` and `loadOnlyInlinedPlugins` as a
// bool or the strings "true"/"false"; plugin files in `<confdir>/<network>/*.conf` appended to the inline ones.
import { readdirSync, readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { goQuote } from "../cni/args.ts";
import { dnsDecoder } from "../cni/conf.ts";
import { anyObject, bool, decodeRoot, goStruct, map, parseJSON, str } from "../cni/decode.ts";
import { CURRENT_VERSION } from "../cni/types.ts";
import { validAttachmentsField } from "../cni/valid-attachments.ts";
import { parseVersion, versionAtLeast } from "../cni/version.ts";
import { goMarshal, goTypeName, parseObject } from "./go-json.ts";
import { goPathError, isNotExist } from "./fs-error.ts";

/** The fields of upstream's types.PluginConf that libcni reads from a plugin's config. */
export interface PluginConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities: Record<string, boolean>;
}

/** One plugin's config: its decoded fields, and the bytes it is sent as (before name, version and prevResult go in). */
export interface PluginConfig {
  network: PluginConf;
  bytes: Uint8Array;
}

/** A network: the list of plugins a runtime runs, in order, for every attachment (upstream's NetworkConfigList). */
export interface NetworkConfigList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  disableGC: boolean;
  loadOnlyInlinedPlugins: boolean;
  plugins: PluginConfig[];
  /** The file's bytes (what the attachment cache keeps as `config`). */
  bytes: Uint8Array;
}

/** No file in the directory declares the network. */
export class NotFoundError extends Error {
  constructor(readonly dir: string, readonly network: string) {
    super(`no net configuration with name "${network}" in ${dir}`); // upstream text (plain %s in quotes)
    this.name = "NotFoundError";
  }
}

/** The directory holds no configuration file at all. */
export class NoConfigsFoundError extends Error {
  constructor(readonly dir: string) {
    super(`no net configurations found in ${dir}`); // upstream text
    this.name = "NoConfigsFoundError";
  }
}

const pluginConfDecoder = goStruct("PluginConf", "types.PluginConf", {
  cniVersion: str,
  name: str,
  type: str,
  capabilities: map(bool, "map[string]bool"),
  ipam: goStruct("IPAM", "types.IPAM", { type: str }),
  dns: dnsDecoder,
  prevResult: anyObject,
  "cni.dev/valid-attachments": validAttachmentsField,
});

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/**
 * Returns a plugin config read from its bytes, decoded as Go decodes a types.PluginConf (keys case-insensitive,
 * types checked). Throws `error parsing configuration: …`, also when `type` is missing.
 */
export function networkPluginConfFromBytes(bytes: Uint8Array): PluginConfig {
  let c;
  try {
    c = decodeRoot(parseJSON(decoder.decode(bytes)), pluginConfDecoder, "PluginConf");
  } catch (e) {
    throw new Error(`error parsing configuration: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  if (!c.type) throw new Error("error parsing configuration: missing 'type'"); // upstream text
  return {
    network: { cniVersion: c.cniVersion ?? "", name: c.name ?? "", type: c.type, capabilities: c.capabilities ?? {} },
    bytes,
  };
}

/** Returns the plugin configs in `<confDir>/<network>/*.conf`, in name order; none when the directory is missing. */
export function networkPluginConfsFromFiles(confDir: string, network: string): PluginConfig[] {
  const dir = join(confDir, network);
  let files: string[];
  try {
    files = confFiles(dir, [".conf"]);
  } catch (e) {
    throw new Error(`failed to read plugin config files in ${dir}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  return files.map((f) => networkPluginConfFromBytes(readConfFile(f)));
}

/** Returns the network list a conflist's bytes declare; throws upstream's `error parsing configuration list: …`. */
export function networkConfFromBytes(bytes: Uint8Array): NetworkConfigList {
  const fail = (what: string) => new Error(`error parsing configuration list: ${what}`); // upstream text
  let raw: Record<string, unknown>;
  try {
    raw = parseObject(decoder.decode(bytes));
  } catch (e) {
    throw fail((e as Error).message);
  }
  // A map, not a struct: these keys match exactly, unlike a plugin config's.
  if (!Object.hasOwn(raw, "name")) throw fail("no name");
  const name = raw.name;
  if (typeof name !== "string") throw fail(`invalid name type ${goTypeName(name)}`);
  let cniVersion = "";
  if (Object.hasOwn(raw, "cniVersion")) {
    if (typeof raw.cniVersion !== "string") throw fail(`invalid cniVersion type ${goTypeName(raw.cniVersion)}`);
    cniVersion = raw.cniVersion;
  }
  if (Object.hasOwn(raw, "cniVersions")) cniVersion = negotiateVersion(raw.cniVersions, cniVersion, fail);

  const list: NetworkConfigList = {
    name,
    cniVersion,
    disableCheck: readBool(raw, "disableCheck", fail),
    disableGC: readBool(raw, "disableGC", fail),
    loadOnlyInlinedPlugins: readBool(raw, "loadOnlyInlinedPlugins", fail),
    plugins: [],
    bytes,
  };
  if (!Object.hasOwn(raw, "plugins")) {
    if (list.loadOnlyInlinedPlugins) throw fail("`loadOnlyInlinedPlugins` is true, and no 'plugins' key");
    return list;
  }
  const plugins = raw.plugins;
  if (!Array.isArray(plugins)) throw fail(`invalid 'plugins' type ${goTypeName(plugins)}`);
  if (plugins.length === 0) throw fail("no plugins in list");
  plugins.forEach((p, i) => {
    try {
      // Re-marshalled from the decoded map, as upstream does: keys sorted, numbers as float64 prints them.
      list.plugins.push(networkPluginConfFromBytes(encoder.encode(goMarshal(p))));
    } catch (e) {
      throw new Error(`failed to parse plugin config ${i}: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  });
  return list;
}

/**
 * Returns the highest version of `cniVersions` ∪ `cniVersion` that this library implements (≤ 1.1.0); the
 * configured cniVersion when none is. Throws upstream's errors for a bad list or entry.
 */
function negotiateVersion(rawVersions: unknown, cniVersion: string, fail: (what: string) => Error): string {
  // upstream quirk: the %T is of the failed type assertion's zero value, so it always reads []interface {}.
  if (!Array.isArray(rawVersions)) throw fail("invalid type for cniVersions: []interface {}");
  const candidates: string[] = [];
  rawVersions.forEach((v, i) => {
    if (typeof v !== "string") throw fail(`invalid type for cniVersions index ${i}: ${goTypeName(v)}`);
    let newer: boolean;
    try {
      newer = isNewerThanCurrent(v);
    } catch (e) {
      throw fail(`invalid cniVersions entry ${v} at index ${i}: ${(e as Error).message}`);
    }
    if (!newer) candidates.push(v); // a version this library does not implement yet is skipped
  });
  if (cniVersion !== "") {
    let newer: boolean;
    try {
      newer = isNewerThanCurrent(cniVersion);
    } catch (e) {
      throw fail(`invalid cniVersion ${cniVersion}: ${(e as Error).message}`);
    }
    if (!newer) candidates.push(cniVersion);
  }
  if (candidates.length === 0) return cniVersion;
  let best = candidates[0]!;
  for (const v of candidates) if (!versionAtLeast(best, v)) best = v;
  return best;
}

function isNewerThanCurrent(v: string): boolean {
  parseVersion(v);
  return !versionAtLeast(CURRENT_VERSION, v);
}

/** Returns a list-level boolean: absent is false; a bool, or "true"/"false" in any case. */
function readBool(raw: Record<string, unknown>, key: string, fail: (what: string) => Error): boolean {
  if (!Object.hasOwn(raw, key)) return false;
  const v = raw[key];
  if (typeof v === "boolean") return v;
  if (typeof v !== "string") throw fail(`invalid type ${goTypeName(v)} for ${key}`);
  const s = v.toLowerCase();
  if (s === "true") return true;
  if (s === "false") return false;
  throw fail(`invalid value ${goQuote(s)} for ${key}`);
}

/**
 * Returns the network list of a conflist file, with the plugin files of `<dir>/<network>/` appended unless
 * `loadOnlyInlinedPlugins`. Throws on a bad file, and `no plugin configs found` for a list without plugins.
 */
export function networkConfFromFile(filename: string): NetworkConfigList {
  const list = networkConfFromBytes(readConfFile(filename));
  if (!list.loadOnlyInlinedPlugins) list.plugins.push(...networkPluginConfsFromFiles(dirname(filename), list.name));
  if (list.plugins.length === 0) throw new Error("no plugin configs found"); // upstream text
  return list;
}

/** Returns a single-plugin config file (the deprecated `.conf` format). */
export function confFromFile(filename: string): PluginConfig {
  return networkPluginConfFromBytes(readConfFile(filename));
}

function readConfFile(filename: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(filename));
  } catch (e) {
    throw new Error(`error reading ${filename}: ${goPathError(filename, e).message}`, { cause: e }); // upstream text
  }
}

/**
 * Returns the files of `dir` (not directories) whose extension is one of `extensions`, in name order; none when
 * `dir` does not exist. Throws when it cannot be read.
 */
export function confFiles(dir: string, extensions: string[]): string[] {
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch (e) {
    if (isNotExist(e)) return [];
    throw goPathError(dir, e, "open");
  }
  const names = entries.filter((e) => !e.isDirectory()).map((e) => e.name).sort();
  return names.filter((n) => n.includes(".") && extensions.includes(n.slice(n.lastIndexOf(".")))).map((n) => join(dir, n));
}

/** Returns the first `.conf`/`.json` file of `dir` (name order) declaring network `name` (the deprecated format). */
export function loadConf(dir: string, name: string): PluginConfig {
  const files = confFiles(dir, [".conf", ".json"]);
  if (files.length === 0) throw new NoConfigsFoundError(dir);
  for (const f of files) {
    const conf = confFromFile(f);
    if (conf.network.name === name) return conf;
  }
  throw new NotFoundError(dir, name);
}

/**
 * Returns network `name` from `dir` as a runtime finds it: the first `.conflist` (in name order) with that name, else
 * the first `.conf`/`.json` with that name upconverted to a list. A file that does not parse on the way is an error,
 * as upstream's. Throws NotFoundError or NoConfigsFoundError when there is none.
 */
export function loadNetworkConf(dir: string, name: string): NetworkConfigList {
  const lists = confFiles(dir, [".conflist"]);
  for (const f of lists) {
    const list = networkConfFromFile(f);
    if (list.name === name) return list;
  }
  let single: PluginConfig;
  try {
    single = loadConf(dir, name);
  } catch (e) {
    // Lists were found, just none with that name: say so rather than "no configurations".
    if (e instanceof NoConfigsFoundError && lists.length > 0) throw new NotFoundError(dir, name);
    throw e;
  }
  return confListFromConf(single);
}

/** Returns a single-plugin config as a list holding just it, with the plugin's own name and cniVersion. */
export function confListFromConf(conf: PluginConfig): NetworkConfigList {
  const raw = parseObject(decoder.decode(conf.bytes));
  const list = { name: conf.network.name, cniVersion: conf.network.cniVersion, plugins: [raw] };
  return networkConfFromBytes(encoder.encode(goMarshal(list)));
}
