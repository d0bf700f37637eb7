// pkg/ipam/ipam.ts: run the IPAM plugin named by a config's `ipam.type` for this call (upstream pkg/ipam Exec*).
import { delegate, type DelegateVerb } from "../invoke/delegate.ts";
import type { CmdArgs, NetConf, Plugin, Result } from "../cni/types.ts";

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

/**
 * STATUS and GC of a plugin whose only state outside the container's netns is its IPAM's (the link goes with the
 * netns): each decodes the config with the plugin's own loader, so a bad config fails as upstream's does, then runs
 * the verb in IPAM when the config has one. Upstream's main plugins have no GC; ours hands it to IPAM (DESIGN
 * decision 9) so host-local frees the reservations of attachments the runtime no longer lists.
 */
export function ipamStatusAndGc<C extends NetConf>(load: (stdin: Uint8Array) => C, hasIpam: (conf: C) => boolean): Required<Pick<Plugin, "status" | "gc">> {
  const forward = (verb: "STATUS" | "GC") => async (args: CmdArgs): Promise<void> => {
    const conf = load(args.stdin);
    if (hasIpam(conf)) await ipamRun(verb, conf, args.stdin);
  };
  return { status: forward("STATUS"), gc: forward("GC") };
}
