// pkg/ip/sysctl.ts: read and write sysctls as files under /proc/sys, as upstream's pkg/utils/sysctl does. Synchronous
// on purpose: /proc/sys/net/* belongs to the netns of the thread that opens it, so inside withNetns only the calling
// thread's own syscalls see the right values (async fs runs on pool threads in the host netns, BUN-NOTES §0).
import { FsError, readFileSync, writeFileSync } from "../sys/fs.ts";
import { describeErrno } from "../sys/libc.ts";
import { cleanPath } from "../sys/path.ts";

const PROC_SYS = "/proc/sys";

/** A sysctl file could not be read or written; the message is Go's os.PathError text ("open PATH: permission denied"). */
export class SysctlError extends Error {
  constructor(readonly op: string, readonly path: string, readonly errno: number, readonly code: string, options?: ErrorOptions) {
    const text = describeErrno(errno);
    super(`${op} ${path}: ${text.charAt(0).toLowerCase()}${text.slice(1)}`, options);
    this.name = "SysctlError";
  }
}

/**
 * Returns the file for a sysctl name (upstream toNormalName + filepath.Join): when a "." comes before any "/", the
 * name uses dots as separators and "." and "/" are swapped (so `net.ipv4.conf.eth0/1.rp_filter` names the interface
 * `eth0.1`); otherwise it is a path as-is (`net/ipv4/conf/eth0.1/rp_filter`). The result is cleaned as Go's Join does.
 */
export function sysctlPath(name: string): string {
  const slash = name.indexOf("/");
  const dot = name.indexOf(".");
  const dotted = dot >= 0 && (slash < 0 || dot < slash);
  const normal = dotted ? name.replace(/[./]/g, (c) => (c === "." ? "/" : ".")) : name;
  return cleanPath(`${PROC_SYS}/${normal}`);
}

// Through pkg/sys/fs (libc) rather than node:fs, which costs ~1.5-2.5 ms to import (BUN-NOTES §11): tuning,
// portmap and the interface plugins touch a sysctl or two on every ADD.
function asSysctlError(e: unknown, path: string): unknown {
  return e instanceof FsError ? new SysctlError(e.syscall, path, -e.errno, e.code, { cause: e }) : e;
}

/** Returns the value of a sysctl without its last character (the newline), as upstream; throws SysctlError. */
export function readSysctl(name: string): string {
  const path = sysctlPath(name);
  let data: Uint8Array;
  try {
    data = readFileSync(path);
  } catch (e) {
    throw asSysctlError(e, path);
  }
  return new TextDecoder().decode(data.subarray(0, Math.max(0, data.length - 1)));
}

/** Writes value (as given, no newline added) to a sysctl; throws SysctlError ("write PATH: invalid argument"). */
export function writeSysctl(name: string, value: string): void {
  const path = sysctlPath(name);
  try {
    writeFileSync(path, value); // O_WRONLY|O_CREAT|O_TRUNC, 0666: what Go's os.WriteFile opens with
  } catch (e) {
    throw asSysctlError(e, path);
  }
}

/**
 * Writes a sysctl that is only nice to have (address announcements, DAD settings), as upstream does them: a failure
 * is ignored (IPv6 may be off in the container, so its files are missing).
 */
export function writeSysctlIfPossible(name: string, value: string): void {
  try {
    writeSysctl(name, value);
  } catch {
    // not fatal
  }
}
