// pkg/cni/not-implemented.ts: the handler table of a plugin that is registered but not written yet.
import { CniError, ERR_PLUGIN_NOT_AVAILABLE } from "./errors.ts";
import { ALL_VERSIONS, type Plugin } from "./types.ts";

/** Returns a plugin whose every verb fails with code 50 and says it is not implemented yet. */
export function notImplemented(name: string): Plugin {
  const fail = (): never => {
    throw new CniError(ERR_PLUGIN_NOT_AVAILABLE, `${name}: not implemented yet in this release`);
  };
  return { name, versions: ALL_VERSIONS, add: fail, del: fail, check: fail, status: fail };
}
