// meta/tuning/config.ts: the tuning network config (SPEC-DIGEST §3.4): decoded with Go's rules and struct names (so
// decode errors read like upstream's), then the MAC and the other settings taken from their sources in upstream's
// order, lowest to highest: `mac`, CNI_ARGS `MAC`, `runtimeConfig.mac`, `args.cni.*`.
import { argString, parseCniArgs } from "../../pkg/cni/args.ts";
import { netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import { bool, decodeRoot, goStruct, int, map, str, struct } from "../../pkg/cni/decode.ts";
import type { NetConf } from "../../pkg/cni/types.ts";
import { scanSysctl } from "./raw-sysctl.ts";

export const DEFAULT_DATA_DIR = "/run/cni/tuning";

export interface TuningConf extends Omit<NetConf, "prevResult"> {
  dataDir: string;
  /** Raw keys (before the IFNAME substitution) to values, in the order written; args.cni.sysctl merged in. */
  sysctl: Map<string, string>;
  /** "" means leave the MAC alone. Kept as written: the result and CHECK compare this text (upstream quirk). */
  mac: string;
  /** Only true does something: ADD never turns promiscuous mode off. */
  promisc: boolean;
  /** 0 means leave the MTU alone. */
  mtu: number;
  txQLen?: number;
  allmulti?: boolean;
  /** prevResult as written; only ADD and CHECK parse it (upstream's DEL never does, so a bad one cannot fail DEL). */
  rawPrevResult?: Record<string, unknown>;
}

export interface LoadOptions {
  /** ADD and CHECK refuse a sysctl key written twice (upstream validateSysctlConflictingKeys); DEL does not look. */
  checkDuplicates: boolean;
}

/**
 * Returns the config of stdin with every source applied. Throws the duplicate-key or sysctl type error first (ADD,
 * CHECK), then `failed to load netconf: <decode error>`, then a CNI_ARGS error, in upstream's order.
 */
export function loadConf(stdin: Uint8Array, cniArgs: string, opts: LoadOptions): TuningConf {
  const scan = scanSysctl(new TextDecoder().decode(stdin));
  if (opts.checkDuplicates && scan.error) throw scan.error;
  const raw = parseStdin(stdin) as Record<string, unknown>;
  let c: ReturnType<typeof tuningDecoder>;
  try {
    c = decodeRoot(raw, tuningDecoder, "TuningConf");
  } catch (e) {
    throw new Error(`failed to load netconf: ${(e as Error).message}`); // upstream text
  }
  const conf: TuningConf = {
    cniVersion: c.cniVersion ?? "",
    name: c.name ?? "",
    type: c.type ?? "",
    capabilities: c.capabilities,
    ipam: c.ipam,
    dns: c.dns,
    raw,
    dataDir: c.dataDir || DEFAULT_DATA_DIR,
    sysctl: scan.entries,
    mac: c.mac ?? "",
    promisc: c.promisc ?? false,
    mtu: c.mtu ?? 0,
    txQLen: c.txQLen,
    allmulti: c.allmulti,
    rawPrevResult: c.prevResult,
  };

  if (cniArgs !== "") {
    const env = parseCniArgs(cniArgs, { MAC: argString });
    if (env.MAC) conf.mac = env.MAC;
  }
  if (c.runtimeConfig?.mac) conf.mac = c.runtimeConfig.mac;
  const a = c.args?.cni;
  if (a) {
    // upstream quirk: Go panics (a nil map) when args.cni.sysctl comes without a top-level sysctl; we merge anyway.
    for (const [k, v] of Object.entries(a.sysctl ?? {})) conf.sysctl.set(k, v);
    if (a.mac !== undefined) conf.mac = a.mac; // even "": a pointer upstream, so an empty string still overrides
    if (a.promisc !== undefined) conf.promisc = a.promisc;
    if (a.mtu !== undefined) conf.mtu = a.mtu;
    if (a.allmulti !== undefined) conf.allmulti = a.allmulti;
    if (a.txQLen !== undefined) conf.txQLen = a.txQLen;
  }
  return conf;
}

/** Returns whether the config changes the link itself (then ADD writes a backup first). */
export function changesLink(conf: TuningConf): boolean {
  return conf.mac !== "" || conf.mtu !== 0 || conf.promisc || conf.allmulti !== undefined || conf.txQLen !== undefined;
}

// ---------- decoders: Go's struct and type names, for error texts ----------

const stringMap = map(str, "map[string]string");

// main.IPAMArgs upstream: every field a pointer, so "set to the zero value" and "absent" differ.
const ipamArgs = goStruct("IPAMArgs", "main.IPAMArgs", {
  sysctl: stringMap, mac: str, promisc: bool, mtu: int, allmulti: bool, txQLen: int,
});

const tuningDecoder = struct("TuningConf", {
  ...netConfFields,
  dataDir: str,
  sysctl: stringMap, // decoded here for its type errors; the entries come from the raw text (raw-sysctl.ts)
  mac: str,
  promisc: bool,
  mtu: int,
  txQLen: int,
  allmulti: bool,
  runtimeConfig: goStruct("", 'struct { Mac string "json:\\"mac,omitempty\\"" }', { mac: str }),
  args: goStruct("", 'struct { A *main.IPAMArgs "json:\\"cni\\"" }', { cni: ipamArgs }),
});
