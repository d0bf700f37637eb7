// meta/flannel/flannel.ts: flannel's CNI plugin (flannel-io/cni-plugin, SPEC-DIGEST §4). A meta plugin: ADD reads the
// node's subnet.env, renders a delegate config (bridge + host-local by default), saves it under
// `<dataDir>/<containerID>` and delegates ADD to it; DEL replays the saved config to the delegate, so what ADD set
// up is torn down even after the network config or subnet.env changed. The delegate runs in-process when CNI_PATH
// finds our own executable, and is exec'd like any plugin otherwise.
import { dnsDecoder, parseStdin } from "../../pkg/cni/conf.ts";
import {
  anyObject, array, bool, decodeRoot, DecodeError, GoNumber, goStruct, isJsonObject, map, parseJSON, str, struct,
} from "../../pkg/cni/decode.ts";
import { ALL_VERSIONS, type CmdArgs, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { delegate } from "../../pkg/invoke/delegate.ts";
import { findInPath } from "../../pkg/invoke/find.ts";
import { renderDelegate } from "./delegate-conf.ts";
import { goMarshal } from "./go-marshal.ts";
import { DEFAULT_DATA_DIR, readScratch, removeScratch, saveScratch } from "./scratch.ts";
import { loadSubnetEnv } from "./subnet-env.ts";

export const DEFAULT_SUBNET_FILE = "/run/flannel/subnet.env";

// The fields of types.NetConf (a PluginConf) and flannel's own; its `ipam` map replaces the embedded IPAM struct.
const netConf = struct("NetConf", {
  cniVersion: str,
  name: str,
  type: str,
  capabilities: map(bool, "map[string]bool"),
  ipam: anyObject,
  dns: dnsDecoder,
  prevResult: anyObject,
  "cni.dev/valid-attachments": array(goStruct("GCAttachment", "types.GCAttachment", { containerID: str, ifname: str }), "[]types.GCAttachment"),
  subnetFile: str,
  dataDir: str,
  delegate: anyObject,
  runtimeConfig: anyObject,
});

/** flannel's network config; the maps hold the JSON as Go decodes it into interface{} (numbers as float64). */
export interface FlannelConf {
  cniVersion: string;
  name: string;
  subnetFile: string;
  dataDir: string;
  ipam?: Record<string, unknown>;
  delegate?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
}

/** Returns the config with upstream's defaults; throws `failed to load netconf: <Go's decode error>`. */
export function loadConf(stdin: Uint8Array): FlannelConf {
  const raw = parseStdin(stdin);
  try {
    const c = decodeRoot(raw, netConf, "NetConf");
    rejectUnrepresentable(raw as Record<string, unknown>);
    return {
      cniVersion: c.cniVersion ?? "",
      name: c.name ?? "",
      subnetFile: c.subnetFile ?? DEFAULT_SUBNET_FILE,
      dataDir: c.dataDir ?? DEFAULT_DATA_DIR,
      ipam: c.ipam,
      delegate: c.delegate,
      runtimeConfig: c.runtimeConfig,
    };
  } catch (e) {
    throw new Error(`failed to load netconf: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

/**
 * Go decodes a number inside an interface{} map as float64, and one too big for it (1e400) is a decode error; here
 * it would become Infinity and print as null.
 */
function rejectUnrepresentable(raw: Record<string, unknown>): void {
  const walk = (v: unknown, field: string): void => {
    if (v instanceof GoNumber && !Number.isFinite(v.value)) {
      throw new DecodeError(`json: cannot unmarshal number ${v.source} into Go struct field NetConf.${field} of type float64`);
    }
    if (Array.isArray(v)) for (const x of v) walk(x, field);
    else if (isJsonObject(v)) for (const x of Object.values(v)) walk(x, field);
  };
  for (const [k, v] of Object.entries(raw)) {
    const field = ["ipam", "prevResult", "delegate", "runtimeConfig"].find((f) => f.toLowerCase() === k.toLowerCase());
    if (field) walk(v, field);
  }
}

async function add(args: CmdArgs): Promise<Result> {
  let conf: FlannelConf;
  try {
    conf = loadConf(args.stdin);
  } catch (e) {
    throw new Error(`failed to load flannel netconf file: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  let env;
  try {
    env = loadSubnetEnv(conf.subnetFile);
  } catch (e) {
    // upstream text
    throw new Error(`failed to load flannel 'subnet.env' file: ${(e as Error).message}. Check the flannel pod log for this node.`, { cause: e });
  }
  const rendered = renderDelegate(conf, env);
  const text = goMarshal(rendered);
  console.error(`delegateAdd: netconf sent to delegate plugin:\n${text}`);
  const bytes = new TextEncoder().encode(text);
  const type = rendered.type as string;

  const undo = new Undo();
  try {
    // Saved before the delegate runs, so a DEL after a crash mid-ADD still finds what to undo.
    undo.push("scratch file", saveScratch(conf.dataDir, args.containerId, bytes));
    try {
      findInPath(type, process.env.CNI_PATH ?? "");
    } catch (e) {
      throw new Error(`failed to delegate add: ${(e as Error).message}`, { cause: e }); // upstream text
    }
    // The delegate's own error (a CNI error object) is returned as it is: Go's skel unwraps it from upstream's
    // "failed to delegate add: %w".
    const version = typeof rendered.cniVersion === "string" ? rendered.cniVersion : "";
    return (await delegate("ADD", type, bytes, version))!;
  } catch (e) {
    // upstream keeps the file for the runtime's DEL to replay. A failed ADD leaves no file here: the delegate has
    // rolled back its own work (a Go bridge leaves at most the container's veth, which goes with the netns), and a
    // file an earlier ADD of this container saved is put back, so that attachment's DEL still finds it.
    await undo.run();
    throw e;
  }
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  const bytes = readScratch(conf.dataDir, args.containerId);
  if (!bytes) return; // already deleted, or never added: nothing to do (upstream: per spec)
  const type = delegateType(bytes);
  if (type === undefined) return; // upstream quirk: the unparsable file stays, and so does whatever it set up
  try {
    await delegate("DEL", type, bytes, "");
  } finally {
    // upstream quirk: a file that parsed is removed even when the delegate's DEL failed.
    removeScratch(conf.dataDir, args.containerId);
  }
}

// What DEL decodes the saved file into: upstream's types.NetConf. A file it rejects is left alone.
const savedConf = struct("NetConf", {
  cniVersion: str,
  name: str,
  type: str,
  capabilities: map(bool, "map[string]bool"),
  ipam: goStruct("IPAM", "types.IPAM", { type: str }),
  dns: dnsDecoder,
  prevResult: anyObject,
  "cni.dev/valid-attachments": array(goStruct("GCAttachment", "types.GCAttachment", { containerID: str, ifname: str }), "[]types.GCAttachment"),
});

/** Returns the saved config's `type` ("" when none), or undefined when it does not decode (logged, as upstream). */
function delegateType(bytes: Uint8Array): string | undefined {
  try {
    const v = parseJSON(new TextDecoder().decode(bytes));
    if (v === null) return ""; // Go decodes null into a zero NetConf
    return decodeRoot(v, savedConf, "PluginConf").type ?? "";
  } catch (e) {
    console.error(`failed to parse netconf: ${(e as Error).message}`);
    return undefined;
  }
}

/** upstream's cmdCheck is a TODO that succeeds: CHECK passes once the skel's version gate does. */
function check(): void {}

export const flannel: Plugin = { name: "flannel", versions: ALL_VERSIONS, add, del, check };
