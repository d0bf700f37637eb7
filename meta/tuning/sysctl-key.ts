// meta/tuning/sysctl-key.ts: which file a tuning sysctl key names, the confinement to /proc/sys/net/, and the
// allowlist that an administrator can put in /etc/cni/tuning/allowlist.conf (SPEC-DIGEST §3.4).
//
// Test hook: CNI_TUNING_TEST_ALLOWLIST names one more allowlist file. It only ever adds a restriction: a key must
// then match both that file (when it exists) and /etc/cni/tuning/allowlist.conf (when it exists), so the variable
// cannot be used to get around the administrator's list. Tests use it because they must not write to /etc.
import { goQuote } from "../../pkg/cni/args.ts";
import { cleanPath, goPathError } from "./go-compat.ts";
import * as files from "../../pkg/sys/fs.ts"; // libc: node:fs costs ~2.5 ms and ~3.4 MiB to load (BUN-NOTES §11)
import { filtered } from "../../pkg/sys/lists.ts";

const PROC_SYS = "/proc/sys";
const NET_PREFIX = "/proc/sys/net/";
export const ALLOWLIST_FILE = "/etc/cni/tuning/allowlist.conf";
export const TEST_ALLOWLIST_ENV = "CNI_TUNING_TEST_ALLOWLIST";

/**
 * Returns the /proc/sys file a key names for an interface (upstream getSysctlFilename): every "." becomes "/", then
 * the first "IFNAME" becomes ifname (so an interface name with dots survives), then the path is cleaned. Throws
 * `invalid net sysctl key: "<converted key>"` when the result is not below /proc/sys/net/ (`kernel.x`,
 * `../../etc/passwd`), and, our addition, when the key is written as a path with a ".." element
 * (`net/../../kernel/x`): upstream turns those dots into separators too and then fails on the missing file
 * /proc/sys/net/kernel/x, after writing the sysctls before it; we refuse the traversal up front, by name.
 */
export function sysctlFileName(key: string, ifname: string): string {
  const converted = key.replaceAll(".", "/").replace("IFNAME", () => ifname);
  const file = cleanPath(`${PROC_SYS}/${converted}`);
  const traverses = key.split("/").includes("..");
  if (traverses || !file.startsWith(NET_PREFIX)) throw new Error(`invalid net sysctl key: ${goQuote(converted)}`); // upstream text
  return file;
}

/**
 * Returns the patterns of an allowlist file (each non-empty trimmed line), or undefined when the file does not
 * exist. Throws on any other read error, with Go's os.PathError text.
 */
export function readAllowlist(path: string): string[] | undefined {
  let text: string;
  try {
    text = files.readFileSync(path, "utf8");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return undefined;
    throw goPathError(e, path);
  }
  return filtered(text.split("\n").map((l) => l.trim()), (l) => l !== "");
}

/**
 * Throws unless every raw key (before the IFNAME substitution) matches, searched unanchored, one of the patterns
 * (upstream validateSysctlConf). Patterns are tried in order and compiled as they are reached, so a broken one
 * is reported only when a key gets that far, as upstream does.
 */
export function checkAllowlist(keys: Iterable<string>, allowlist: string[]): void {
  for (const key of keys) {
    let match = false;
    for (const pattern of allowlist) {
      let re: RegExp;
      try {
        re = new RegExp(pattern);
      } catch (e) {
        throw new Error(`error parsing regexp: ${(e as Error).message}`);
      }
      if (re.test(key)) {
        match = true;
        break;
      }
    }
    if (!match) throw new Error(`Sysctl ${key} is not allowed. Only the following sysctls are allowed: [${allowlist.join(" ")}]`); // upstream text
  }
}

/** Throws unless the keys pass the administrator's allowlist and, when the test hook names one, that list too. */
export function validateAllowlists(keys: string[], env: Record<string, string | undefined> = process.env): void {
  const files = [ALLOWLIST_FILE];
  const extra = env[TEST_ALLOWLIST_ENV];
  if (extra) files.push(extra);
  for (const file of files) {
    const list = readAllowlist(file);
    if (list) checkAllowlist(keys, list);
  }
}
