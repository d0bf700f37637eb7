// pkg/cni/validate.ts: the env and name checks of upstream's skel and utils (SPEC-DIGEST §0.2), in its order.
import { CniError, ERR_INVALID_ENVIRONMENT_VARIABLES, ERR_INVALID_NETWORK_CONFIG } from "./errors.ts";
import type { CmdArgs } from "./types.ts";
import { hasNoSpace, isAlnumCode, isNameCode } from "../text/ascii.ts";

// These checks run on every call: character tests, not regexes (pkg/text/ascii.ts says why).

/** upstream's `^[a-zA-Z0-9][a-zA-Z0-9_.-]*$` for container IDs and network names. */
function isNameText(s: string): boolean {
  if (s === "") return false;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (i === 0 ? !isAlnumCode(c) : !isNameCode(c)) return false;
  }
  return true;
}

/** Go's unicode.IsSpace: the ASCII spaces, U+0085, U+00A0 and the Unicode White_Space set. */
function hasSpace(s: string): boolean {
  return !hasNoSpace(s) || s.includes("\u0085");
}

/** Throws the code-4 error upstream gives for a bad interface name. */
export function validateIfname(name: string): void {
  if (name === "") throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name is empty");
  if (new TextEncoder().encode(name).length > 15) {
    throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name is too long", "interface name should be less than 16 characters");
  }
  if (name === "." || name === "..") throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name is . or ..");
  if (name.includes("/") || name.includes(":") || hasSpace(name)) {
    throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "interface name contains / or : or whitespace characters");
  }
}

/** Throws the code-4 error upstream gives for a container ID with bad characters. */
export function validateContainerId(id: string): void {
  if (!isNameText(id)) throw new CniError(ERR_INVALID_ENVIRONMENT_VARIABLES, "invalid characters in containerID", id);
}

/** Throws the code-7 error upstream gives for a network name with bad characters. */
export function validateNetworkName(name: string): void {
  if (!isNameText(name)) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "invalid characters found in network name", name);
}

// Each variable with the verbs that require it, in upstream's order.
const REQUIRED: readonly (readonly [string, readonly string[]])[] = [
  ["CNI_COMMAND", ["ADD", "CHECK", "DEL", "GC", "STATUS"]],
  ["CNI_CONTAINERID", ["ADD", "CHECK", "DEL"]],
  ["CNI_NETNS", ["ADD", "CHECK"]],
  ["CNI_IFNAME", ["ADD", "CHECK", "DEL"]],
  ["CNI_ARGS", []],
  ["CNI_PATH", ["ADD", "CHECK", "DEL", "GC", "STATUS"]],
  ["CNI_NETNS_OVERRIDE", []],
];

/**
 * Returns the env variables as CmdArgs (stdin empty), checking them in upstream's order: present required ones are
 * validated as they are reached, missing ones are reported together. Throws CniError 4.
 */
export function readEnv(env: Record<string, string | undefined>): CmdArgs {
  const command = env.CNI_COMMAND ?? "";
  const missing: string[] = [];
  for (const [name, verbs] of REQUIRED) {
    const value = env[name] ?? "";
    const required = name === "CNI_COMMAND" || verbs.includes(command);
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
