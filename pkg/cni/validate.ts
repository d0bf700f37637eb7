// pkg/cni/validate.ts: the env and name checks of upstream's skel and utils (SPEC-DIGEST §0.2), in its order.
import { CniError, ERR_INVALID_ENVIRONMENT_VARIABLES, ERR_INVALID_NETWORK_CONFIG } from "./errors.ts";
import type { CmdArgs } from "./types.ts";

const NAME_CHARS = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
// Go's unicode.IsSpace: the ASCII spaces, U+0085, U+00A0 and the Unicode White_Space set.
const SPACE = /[\s\u0085]/u;

/** Throws the code-4 error upstream gives for a bad interface name. */
export function validateIfname(name: string): void {
  if (name === "") throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name is empty");
  if (new TextEncoder().encode(name).length > 15) {
    throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name is too long", "interface name should be less than 16 characters");
  }
  if (name === "." || name === "..") throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name is . or ..");
  if (/[/:]/.test(name) || SPACE.test(name)) {
    throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name contains / or : or whitespace characters");
  }
}

/** Throws the code-4 error upstream gives for a container ID with bad characters. */
export function validateContainerId(id: string): void {
  if (!NAME_CHARS.test(id)) throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "invalid characters in containerID", id);
}

/** Throws the code-7 error upstream gives for a network name with bad characters. */
export function validateNetworkName(name: string): void {
  if (!NAME_CHARS.test(name)) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "invalid characters found in network name", name);
}

type Verb = "ADD" | "CHECK" | "DEL" | "GC" | "STATUS";
const REQUIRED: Record<string, readonly Verb[]> = {
  CNI_COMMAND: ["ADD", "CHECK", "DEL", "GC", "STATUS"],
  CNI_CONTAINERID: ["ADD", "CHECK", "DEL"],
  CNI_NETNS: ["ADD", "CHECK"],
  CNI_IFNAME: ["ADD", "CHECK", "DEL"],
  CNI_ARGS: [],
  CNI_PATH: ["ADD", "CHECK", "DEL", "GC", "STATUS"],
  CNI_NETNS_OVERRIDE: [],
};

/**
 * Returns the env variables as CmdArgs (stdin empty), checking them in upstream's order: present required ones are
 * validated as they are reached, missing ones are reported together. Throws CniError 4.
 */
export function readEnv(env: Record<string, string | undefined>): CmdArgs {
  const command = env.CNI_COMMAND ?? "";
  const missing: string[] = [];
  for (const [name, verbs] of Object.entries(REQUIRED)) {
    const value = env[name] ?? "";
    const required = name === "CNI_COMMAND" || (verbs as readonly string[]).includes(command);
    if (value === "") {
      if (required) missing.push(name);
      continue;
    }
    if (!required) continue;
    if (name === "CNI_CONTAINERID") validateContainerId(value);
    else if (name === "CNI_IFNAME") validateIfname(value);
  }
  if (missing.length > 0) {
    throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, `required env variables [${missing.join(",")}] missing`);
  }
  return {
    command,
    containerId: env.CNI_CONTAINERID ?? "",
    netns: env.CNI_NETNS ?? "",
    ifname: env.CNI_IFNAME ?? "",
    args: env.CNI_ARGS ?? "",
    path: env.CNI_PATH ?? "",
    netnsOverride: env.CNI_NETNS_OVERRIDE ?? "",
    stdin: new Uint8Array(0),
  };
}
