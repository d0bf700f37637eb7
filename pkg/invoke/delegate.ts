// pkg/invoke/delegate.ts: run another plugin (IPAM, flannel's delegate) with this call's env and stdin, either
// in-process when CNI_PATH resolves to this executable, or as a child process like libcni's invoke.Delegate*.
import { CniError } from "../cni/errors.ts";
import { parseResultAs, roundTrip } from "../cni/result.ts";
import { execute } from "../cni/skel.ts";
import type { Result } from "../cni/types.ts";
import { readEnv } from "../cni/validate.ts";
import { findInPath, isOwnExecutable } from "./find.ts";
import { execPlugin } from "./exec.ts";
import { loadOwnPlugin } from "./in-process.ts";

export type DelegateVerb = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC";

/**
 * Returns the delegate's result in the 1.1.0 shape for ADD (undefined for other verbs). `confVersion` is the
 * caller's cniVersion, used when the delegate's result names none. Throws the delegate's CniError.
 */
export async function delegate(verb: DelegateVerb, type: string, stdin: Uint8Array, confVersion: string): Promise<Result | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, CNI_COMMAND: verb };
  const path = findInPath(type, env.CNI_PATH ?? "");
  const own = isOwnExecutable(path) ? await loadOwnPlugin(type) : undefined;
  if (own) {
    const args = readEnv(env);
    args.stdin = stdin;
    const result = await execute(own, args);
    // What an exec'd delegate would have printed and we would have parsed back: same conversions, same losses.
    return result && roundTrip(result, confVersion || "0.1.0");
  }
  const out = execPlugin(path, stdin, env);
  if (verb !== "ADD") return undefined;
  let parsed: unknown;
  try {
    parsed = JSON.parse(new TextDecoder().decode(out));
  } catch (e) {
    throw new CniError(0, `failed to parse the result of ${JSON.stringify(type)}: ${(e as Error).message}`);
  }
  return parseResultAs(parsed as Record<string, unknown>, confVersion || "0.1.0");
}
