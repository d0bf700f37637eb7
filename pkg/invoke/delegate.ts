// pkg/invoke/delegate.ts: run another plugin (IPAM, flannel's delegate) with this call's env and stdin, either
// in-process when CNI_PATH resolves to this executable, or as a child process like libcni's invoke.Delegate*.
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../cni/errors.ts";
import { parseResultAs, roundTrip } from "../cni/result.ts";
import { execute } from "../cni/skel.ts";
import type { Result } from "../cni/types.ts";
import { readEnv } from "../cni/validate.ts";
import { findInPath, isOwnExecutable } from "./find.ts";
import { execPlugin } from "./exec.ts";
import { loadOwnPlugin } from "./in-process.ts";

export type DelegateVerb = "ADD" | "DEL" | "CHECK" | "STATUS" | "GC";

// The delegates running in-process right now, outermost first (one process runs one call, so one list).
const running: string[] = [];

/**
 * Returns the delegate's result in the 1.1.0 shape for ADD (undefined for other verbs). `confVersion` is the
 * caller's cniVersion, used when the delegate's result names none. Throws the delegate's CniError.
 */
export async function delegate(verb: DelegateVerb, type: string, stdin: Uint8Array, confVersion: string): Promise<Result | undefined> {
  const env: Record<string, string | undefined> = { ...process.env, CNI_COMMAND: verb };
  const path = findInPath(type, env.CNI_PATH ?? "");
  const own = isOwnExecutable(path) ? await loadOwnPlugin(type) : undefined;
  if (own) {
    // A delegate that names a type already running in-process (a vlan whose ipam.type is "vlan") would call
    // itself forever; upstream execs ever deeper. Refuse it as the config error it is.
    if (running.includes(type)) {
      throw new CniError(ERR_INVALID_NETWORK_CONFIG, `delegation loop: ${JSON.stringify(type)} is already running as a delegate of this call (check the ipam or delegate "type")`);
    }
    const args = readEnv(env);
    args.stdin = stdin;
    running.push(type);
    let result: Result | undefined;
    try {
      result = await execute(own, args);
    } finally {
      running.pop();
    }
    // What an exec'd delegate would have printed and we would have parsed back: same conversions, same losses.
    return await undoUnreadable(type, stdin, confVersion, () => result && roundTrip(result, confVersion || "0.1.0"));
  }
  const out = execPlugin(path, stdin, env);
  if (verb !== "ADD") return undefined;
  return await undoUnreadable(type, stdin, confVersion, () => {
    let parsed: unknown;
    try {
      parsed = JSON.parse(new TextDecoder().decode(out));
    } catch (e) {
      throw new CniError(0, `failed to parse the result of ${JSON.stringify(type)}: ${(e as Error).message}`);
    }
    return parseResultAs(parsed as Record<string, unknown>, confVersion || "0.1.0");
  });
}

/**
 * Returns read() (reading a delegate's successful ADD result). When that throws, the delegate's ADD already took
 * effect (an IPAM reservation, say) but the caller cannot use it and will fail, and its undo list does not hold the
 * delegate yet: the delegate's DEL runs (best effort) before the error goes on.
 */
async function undoUnreadable(type: string, stdin: Uint8Array, confVersion: string, read: () => Result | undefined): Promise<Result | undefined> {
  try {
    return read();
  } catch (e) {
    try {
      await delegate("DEL", type, stdin, confVersion);
    } catch {
      // best effort: the read error is the one to report
    }
    throw e;
  }
}
