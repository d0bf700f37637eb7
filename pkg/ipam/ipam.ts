// pkg/ipam/ipam.ts: run the IPAM plugin named by a config's `ipam.type` for this call (upstream pkg/ipam Exec*).
import { delegate, type DelegateVerb } from "../invoke/delegate.ts";
import type { NetConf, Result } from "../cni/types.ts";

/** Returns `ipam.type`; without one, upstream's words ("no plugin name provided") plus the field that is missing. */
function ipamType(conf: NetConf): string {
  const type = typeof conf.ipam?.type === "string" ? conf.ipam.type : "";
  if (type === "") throw new Error(`no plugin name provided: the config has no "ipam" with a "type"`);
  return type;
}

/** Returns the IPAM plugin's ADD result (1.1.0 shape); throws its error. */
export async function ipamAdd(conf: NetConf, stdin: Uint8Array): Promise<Result> {
  return (await delegate("ADD", ipamType(conf), stdin, conf.cniVersion))!;
}

/** Runs the IPAM plugin for a verb without a result (DEL, CHECK, STATUS, GC); throws its error. */
export async function ipamRun(verb: Exclude<DelegateVerb, "ADD">, conf: NetConf, stdin: Uint8Array): Promise<void> {
  await delegate(verb, ipamType(conf), stdin, conf.cniVersion);
}
