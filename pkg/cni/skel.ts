// pkg/cni/skel.ts: the protocol around a plugin's handlers (SPEC-DIGEST §0.2): config checks, version gates,
// dispatch by verb, the own-netns check, and the only place that writes results and errors to stdout.
// VERSION and the about banner never get here: the entry answers them before loading any plugin code.
import { parseStdin } from "./conf.ts";
import { GoNumber } from "./decode.ts";
import {
  asCniError, CniError, ERR_DECODING_FAILURE, ERR_INCOMPATIBLE_CNI_VERSION, ERR_INVALID_ENVIRONMENT_VARIABLES,
  ERR_INVALID_NETNS, ERR_INVALID_NETWORK_CONFIG,
} from "./errors.ts";
import { marshalIndent } from "./json.ts";
import { formatResult, resultObject } from "./result.ts";
import type { CmdArgs, Plugin, Result } from "./types.ts";
import { readEnv, validateNetworkName } from "./validate.ts";
import { fileId } from "../sys/file-id.ts";
import { concatBytes, readToEnd } from "../sys/fs.ts";
import { EINTR, errno, sys } from "../sys/libc.ts";
import { versionAtLeast } from "./version.ts";
import { anyOf } from "../sys/lists.ts";

/** Returns the config's cniVersion as written ("" when absent); throws CniError 6 when it is not a string. */
export function declaredVersion(stdin: Uint8Array): string {
  const raw = parseStdin(stdin) as Record<string, unknown>;
  const v = lookupKey(raw, "cniVersion");
  if (v === undefined || v === null) return "";
  if (typeof v !== "string") {
    throw new CniError(ERR_DECODING_FAILURE, `decoding version from network config: json: cannot unmarshal ${jsonKind(v)} into Go struct field .cniVersion of type string`);
  }
  return v;
}

/** Returns the version the config speaks: its cniVersion, or 0.1.0 when it has none. */
export function configVersion(stdin: Uint8Array): string {
  return declaredVersion(stdin) || "0.1.0";
}

function lookupKey(o: Record<string, unknown>, key: string): unknown {
  if (Object.hasOwn(o, key)) return o[key];
  const lower = key.toLowerCase();
  let found: unknown;
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) found = o[k];
  return found;
}

function jsonKind(v: unknown): string {
  if (Array.isArray(v)) return "array";
  if (v instanceof GoNumber) return "number";
  if (v !== null && typeof v === "object") return "object";
  return typeof v === "boolean" ? "bool" : typeof v;
}

/** Throws CniError 6/7 unless stdin is a JSON object with a valid `name` (upstream validateConfig). */
function validateConfig(stdin: Uint8Array): void {
  const raw = parseStdin(stdin);
  if (raw === null || typeof raw !== "object" || Array.isArray(raw) || raw instanceof GoNumber) {
    throw new CniError(ERR_DECODING_FAILURE, `error unmarshall network config: json: cannot unmarshal ${jsonKind(raw)} into Go value of type struct { Name string "json:\\"name\\"" }`);
  }
  const name = lookupKey(raw as Record<string, unknown>, "name");
  if (name !== undefined && name !== null && typeof name !== "string") {
    throw new CniError(ERR_DECODING_FAILURE, `error unmarshall network config: json: cannot unmarshal ${jsonKind(name)} into Go struct field .name of type string`);
  }
  if (!name) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "missing network name");
  validateNetworkName(name);
}

function checkSupported(version: string, plugin: Plugin): void {
  if (plugin.versions.includes(version)) return;
  const list = plugin.versions.map((v) => JSON.stringify(v)).join(" ");
  throw new CniError(ERR_INCOMPATIBLE_CNI_VERSION, "incompatible CNI versions", `config is "${version}", plugin supports [${list}]`);
}

function parseGate(a: string, b: string): boolean {
  try {
    return versionAtLeast(a, b);
  } catch (e) {
    throw new CniError(ERR_DECODING_FAILURE, (e as Error).message);
  }
}

/** CHECK, GC and STATUS need a config version of at least `min`, and a plugin version at least the config's. */
function checkGate(verb: string, min: string, version: string, plugin: Plugin): void {
  if (!parseGate(version, min)) throw new CniError(ERR_INCOMPATIBLE_CNI_VERSION, `config version does not allow ${verb}`);
  if (!anyOf(plugin.versions, (pv) => parseGate(pv, version))) {
    throw new CniError(ERR_INCOMPATIBLE_CNI_VERSION, `plugin version does not allow ${verb}`);
  }
  checkSupported(version, plugin);
}

/** Returns whether CNI_NETNS is this process's own netns (a runtime mistake that would wreck the host). */
function isOwnNetns(netns: string): boolean {
  if (netns === "") return false;
  // statx through FFI: node:fs would cost ~1.5 ms on every ADD and DEL (BUN-NOTES §11).
  const a = fileId(netns);
  return a !== undefined && a === fileId("/proc/self/ns/net"); // a path that does not open is the handler's business
}

function refuseOwnNetns(args: CmdArgs): void {
  const o = args.netnsOverride;
  if (o === "1" || o.toLowerCase() === "true") return;
  // upstream quirk: it checks after the handler ran and printed; checking first leaves nothing behind.
  if (isOwnNetns(args.netns)) {
    throw new CniError(ERR_INVALID_NETNS, "plugin's netns and netns from CNI_NETNS should not be the same");
  }
}

/**
 * Returns what the verb produced (ADD: the 1.1.0-shaped result; others: undefined) after upstream's checks, in
 * upstream's order. Throws CniError (any other error is the handler's, reported as 999 by the caller).
 */
export async function execute(plugin: Plugin, args: CmdArgs): Promise<Result | undefined> {
  validateConfig(args.stdin);
  const version = () => configVersion(args.stdin);
  switch (args.command) {
    case "ADD": {
      checkSupported(version(), plugin);
      refuseOwnNetns(args);
      return await plugin.add(args);
    }
    case "DEL":
      checkSupported(version(), plugin);
      refuseOwnNetns(args);
      await plugin.del(args);
      return undefined;
    case "CHECK":
      checkGate("CHECK", "0.4.0", version(), plugin);
      await plugin.check?.(args);
      return undefined;
    case "GC":
      checkGate("GC", "1.1.0", version(), plugin);
      await plugin.gc?.(args);
      return undefined;
    case "STATUS":
      checkGate("STATUS", "1.1.0", version(), plugin);
      await plugin.status?.(args);
      return undefined;
    default:
      throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, `unknown CNI_COMMAND: ${args.command}`);
  }
}

/**
 * Returns all of stdin. Read with blocking read(2) calls on this thread: Bun.stdin wakes a pool thread and costs
 * ~0.5 ms more on every call, and every plugin that gets here loads libc anyway. A stdin that is non-blocking and
 * not ready, or that read(2) refuses, is left to Bun.stdin.
 */
async function readStdin(): Promise<Uint8Array> {
  const libc = sys();
  let refused = false;
  const bytes = readToEnd((into) => {
    for (;;) {
      const n = Number(libc.read(0, into, into.length));
      if (n >= 0) return n;
      if (errno() === EINTR) continue;
      refused = true; // EAGAIN, EBADF, …: what is left is read Bun's way
      return 0;
    }
  });
  return refused ? concatBytes([bytes, new Uint8Array(await Bun.stdin.arrayBuffer())]) : bytes;
}

/** Writes text to stdout without touching process.stdout (BUN-NOTES §11: that alone costs ~17 ms). */
export async function writeStdout(text: string): Promise<void> {
  await Bun.write(Bun.stdout, text);
}

/** Returns the error JSON exactly as upstream prints it: 4-space indent, no trailing newline. */
export function formatError(err: unknown): string {
  return marshalIndent(asCniError(err).toJSON());
}

/** Runs a plugin as a process: reads env and stdin, executes, prints, and returns the exit status (0 or 1). */
export async function runPlugin(plugin: Plugin, env: Record<string, string | undefined>): Promise<number> {
  try {
    const args = readEnv(env);
    args.stdin = await readStdin();
    const result = await execute(plugin, args);
    if (result) await writeStdout(await printOrUndo(plugin, args, result));
    return 0;
  } catch (err) {
    await writeStdout(formatError(err));
    return 1;
  }
}

/**
 * Returns the ADD result as the config's version prints it. When it cannot be (a 1.x prevResult under a 0.2.0
 * config has no IP for 0.2.0's shape, say), the ADD is undone with the plugin's own DEL before the conversion error
 * goes out: the runtime sees a failed ADD, so nothing of it may stay (upstream leaves it all in place).
 */
async function printOrUndo(plugin: Plugin, args: CmdArgs, result: Result): Promise<string> {
  try {
    return printResult(result, declaredVersion(args.stdin));
  } catch (e) {
    try {
      await plugin.del({ ...args, command: "DEL" });
    } catch {
      // best effort: the conversion error is what the runtime must see
    }
    throw e;
  }
}

/** Marks a result built already "as" the config's version, which upstream then prints unconverted (loopback). */
export const PRINT_AS_BUILT = Symbol("printAsBuilt");

/** Returns the result printed as the config's version (`declared` is "" when the config has none). */
function printResult(result: Result & { [PRINT_AS_BUILT]?: boolean }, declared: string): string {
  if (result[PRINT_AS_BUILT] && declared !== "") {
    // upstream quirk: a 1.x result struct carrying an older cniVersion is printed as it is, in the 1.x shape.
    const obj = resultObject(result, "1.1.0");
    obj.cniVersion = declared;
    return marshalIndent(obj);
  }
  return formatResult(result, declared || "0.1.0");
}
