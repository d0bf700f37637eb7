// pkg/libcni/cache.ts: the attachment cache, in libcni's own format and place (libcni/api.go cachedInfo):
// `<cacheDir>/results/<network>-<containerID>-<ifname>`, a JSON object of kind "cniCacheV1" holding the network's
// config bytes (base64), the attachment's runtime parameters and the ADD result. Written byte for byte as the Go
// library writes it and read with its rules, so either library can DEL (or GC) what the other ADDed.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { goQuote } from "../cni/args.ts";
import { anyObject, decodeRoot, parseJSON, str, struct, typeError, type Decoder } from "../cni/decode.ts";
import { parseResultAs, readResult, resultObject } from "../cni/result.ts";
import type { Result } from "../cni/types.ts";
import { goBase64, goStringify, goUnbase64, parseObject, sortKeys } from "./go-json.ts";
import { goPathError, isNotExist } from "./fs-error.ts";
import type { RuntimeConf } from "./inject.ts";

export const DEFAULT_CACHE_DIR = "/var/lib/cni";
export const CNI_CACHE_V1 = "cniCacheV1";

/** One cache file's content (upstream's cachedInfo). */
export interface CachedInfo {
  kind: string;
  containerId: string;
  /** The bytes of the network's config as loaded (a conflist file's, or the list built from a `.conf`). */
  config: Uint8Array;
  ifName: string;
  networkName: string;
  netns?: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
  /** The ADD result as a JSON object in its own version. */
  result?: Record<string, unknown>;
}

/** Returns the cache file of one attachment; throws upstream's error when a part is empty. */
export function cacheFilePath(cacheDir: string, netName: string, rt: Pick<RuntimeConf, "containerId" | "ifname">): string {
  if (netName === "" || rt.containerId === "" || rt.ifname === "") {
    throw new Error(`cache file path requires network name (${goQuote(netName)}), container ID (${goQuote(rt.containerId)}), and interface name (${goQuote(rt.ifname)})`); // upstream text
  }
  return join(cacheDir, "results", `${netName}-${rt.containerId}-${rt.ifname}`);
}

/** Returns the file's text exactly as Go's json.Marshal(&cachedInfo) writes it (fields in struct order, omitempty). */
export function encodeCachedInfo(c: CachedInfo): string {
  const o: Record<string, unknown> = {
    kind: c.kind,
    containerId: c.containerId,
    config: goBase64(c.config),
    ifName: c.ifName,
    networkName: c.networkName,
  };
  if (c.netns) o.netns = c.netns;
  if (c.cniArgs?.length) o.cniArgs = c.cniArgs;
  // map[string]interface{} fields: keys sorted at every level; an empty map is omitted.
  if (c.capabilityArgs && Object.keys(c.capabilityArgs).length > 0) o.capabilityArgs = sortKeys(c.capabilityArgs);
  if (c.result && Object.keys(c.result).length > 0) o.result = sortKeys(c.result);
  return goStringify(o);
}

// [2]string: Go fills missing elements with "" and drops extra ones.
const pairDecoder: Decoder<[string, string]> = (v, at) => {
  if (!Array.isArray(v)) throw typeError(v, "[2]string", at);
  return [0, 1].map((i) => (v[i] === undefined || v[i] === null ? "" : str(v[i], at))) as [string, string];
};

const bytesDecoder: Decoder<Uint8Array> = (v, at) => {
  if (typeof v !== "string") throw typeError(v, "[]uint8", at);
  return goUnbase64(v);
};

const cachedInfoDecoder = struct("cachedInfo", {
  kind: str,
  containerId: str,
  config: bytesDecoder,
  ifName: str,
  networkName: str,
  netns: str,
  cniArgs: ((v, at) => {
    if (!Array.isArray(v)) throw typeError(v, "[][2]string", at);
    return v.map((x) => (x === null ? (["", ""] as [string, string]) : pairDecoder(x, at)));
  }) as Decoder<[string, string][]>,
  capabilityArgs: anyObject,
  result: anyObject,
});

/** Returns a cache file's content decoded as Go decodes it (keys case-insensitive); throws on bad JSON or types. */
export function decodeCachedInfo(text: string): CachedInfo {
  const c = decodeRoot(parseJSON(text), cachedInfoDecoder, "cachedInfo");
  return {
    kind: c.kind ?? "",
    containerId: c.containerId ?? "",
    config: c.config ?? new Uint8Array(0),
    ifName: c.ifName ?? "",
    networkName: c.networkName ?? "",
    ...(c.netns ? { netns: c.netns } : {}),
    ...(c.cniArgs ? { cniArgs: c.cniArgs } : {}),
    ...(c.capabilityArgs ? { capabilityArgs: c.capabilityArgs } : {}),
    ...(c.result ? { result: c.result } : {}),
  };
}

/** Writes one attachment's cache file (directory 0700, file 0600), replacing any older one whole. */
export function writeCache(cacheDir: string, result: Result | undefined, config: Uint8Array, netName: string, rt: RuntimeConf): void {
  const file = cacheFilePath(cacheDir, netName, rt);
  const text = encodeCachedInfo({
    kind: CNI_CACHE_V1,
    containerId: rt.containerId,
    config,
    ifName: rt.ifname,
    networkName: netName,
    netns: rt.netns,
    cniArgs: rt.args,
    capabilityArgs: rt.capabilityArgs,
    result: result && resultObject(result, result.cniVersion),
  });
  mkdirSync(dirname(file), { recursive: true, mode: 0o700 });
  // Written aside and renamed, so a reader never sees half a file (upstream writes in place).
  const tmp = `${file}.tmp-${process.pid}`;
  try {
    writeFileSync(tmp, text, { mode: 0o600 });
    renameSync(tmp, file);
  } catch (e) {
    rmSync(tmp, { force: true });
    throw goPathError(file, e);
  }
}

/** Removes one attachment's cache file; a missing file or an incomplete attachment is no error. */
export function deleteCache(cacheDir: string, netName: string, rt: RuntimeConf): void {
  let file: string;
  try {
    file = cacheFilePath(cacheDir, netName, rt);
  } catch {
    return; // upstream ignores it too
  }
  rmSync(file, { force: true });
}

function readCacheFile(cacheDir: string, netName: string, rt: RuntimeConf): string | undefined {
  const file = cacheFilePath(cacheDir, netName, rt);
  try {
    return readFileSync(file, "utf8");
  } catch {
    return undefined; // no cache (or unreadable): upstream treats both as "nothing cached"
  }
}

/**
 * Returns the cached ADD result of an attachment converted to `cniVersion` (what a plugin expects as prevResult),
 * or undefined when nothing is cached. A file in the pre-cniCacheV1 format (the bare result) is read too. Throws
 * when the result cannot be parsed or converted.
 */
export function readCachedResult(cacheDir: string, netName: string, cniVersion: string, rt: RuntimeConf): Result | undefined {
  const text = readCacheFile(cacheDir, netName, rt);
  if (text === undefined) return undefined;
  let raw: Record<string, unknown>;
  let info: CachedInfo | undefined;
  try {
    info = decodeCachedInfo(text);
  } catch {
    info = undefined;
  }
  if (info && info.kind === CNI_CACHE_V1) {
    raw = info.result ?? {};
  } else {
    // The legacy format: the file is the result itself.
    raw = parseObject(text);
  }
  const own = typeof raw.cniVersion === "string" && raw.cniVersion !== "" ? raw.cniVersion : "0.1.0";
  const result = parseResultAs(raw, own);
  return convertResult(result, cniVersion);
}

/** Returns the result in the shape of another version (upstream's GetAsVersion); throws when that shape cannot hold it. */
export function convertResult(result: Result, version: string): Result {
  if (result.cniVersion === version) return result;
  try {
    return readResult(resultObject(result, version), version);
  } catch (e) {
    throw new Error(`failed to convert cached result to config version ${goQuote(version)}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

/**
 * Returns the cached config bytes and the runtime parameters of an attachment (`rt` with the cached CNI_ARGS and
 * capability arguments), or undefined when nothing is cached. Throws for a file that is not a cniCacheV1 record.
 */
export function readCachedConfig(cacheDir: string, netName: string, rt: RuntimeConf): { config: Uint8Array; rt: RuntimeConf } | undefined {
  const text = readCacheFile(cacheDir, netName, rt);
  if (text === undefined) return undefined;
  let info: CachedInfo;
  try {
    info = decodeCachedInfo(text);
  } catch (e) {
    throw new Error(`failed to unmarshal cached network ${goQuote(netName)} config: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  if (info.kind !== CNI_CACHE_V1) throw new Error(`read cached network ${goQuote(netName)} config has wrong kind: ${info.kind}`); // upstream text
  const out: RuntimeConf = { ...rt, capabilityArgs: info.capabilityArgs };
  if (info.cniArgs) out.args = info.cniArgs;
  return { config: info.config, rt: out };
}

/** One cached attachment (upstream's NetworkAttachment). */
export interface NetworkAttachment {
  containerId: string;
  network: string;
  ifname: string;
  config: Uint8Array;
  netns: string;
  cniArgs?: [string, string][];
  capabilityArgs?: Record<string, unknown>;
}

/**
 * Returns every attachment in the cache (of `containerId` only, when given), in file name order. Files that do not
 * read or decode as complete cniCacheV1 records are skipped. Throws when the directory exists but cannot be read.
 */
export function listCachedAttachments(cacheDir: string, containerId = ""): NetworkAttachment[] {
  const dir = join(cacheDir, "results");
  let names: string[];
  try {
    names = readdirSync(dir).sort();
  } catch (e) {
    if (isNotExist(e)) return [];
    throw goPathError(dir, e, "open");
  }
  const out: NetworkAttachment[] = [];
  for (const name of names) {
    if (containerId !== "") {
      // `<network>-<containerID>-<ifname>`: the ID must sit strictly inside the name.
      const part = `-${containerId}-`;
      const pos = name.indexOf(part);
      if (pos <= 0 || pos + part.length >= name.length) continue;
    }
    let info: CachedInfo;
    try {
      info = decodeCachedInfo(readFileSync(join(dir, name), "utf8"));
    } catch {
      continue;
    }
    if (info.kind !== CNI_CACHE_V1) continue;
    if (containerId !== "" && info.containerId !== containerId) continue;
    if (info.ifName === "" || info.networkName === "") continue;
    out.push({
      containerId: info.containerId,
      network: info.networkName,
      ifname: info.ifName,
      config: info.config,
      netns: info.netns ?? "",
      ...(info.cniArgs ? { cniArgs: info.cniArgs } : {}),
      ...(info.capabilityArgs ? { capabilityArgs: info.capabilityArgs } : {}),
    });
  }
  return out;
}
