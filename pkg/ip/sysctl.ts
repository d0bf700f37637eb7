// pkg/ip/sysctl.ts: read and write sysctls as files under /proc/sys, as upstream's pkg/utils/sysctl does. Synchronous
// on purpose: /proc/sys/net/* belongs to the netns of the thread that opens it, so inside withNetns only the calling
// thread's own syscalls see the right values (async fs runs on pool threads in the host netns, BUN-NOTES §0).
import { describeErrno } from "../sys/libc.ts";

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
  return cleanRooted(`${PROC_SYS}/${normal}`);
}

// Go's filepath.Clean for a rooted path: no empty or "." parts, ".." takes the previous part away (never past "/").
function cleanRooted(p: string): string {
  const out: string[] = [];
  for (const part of p.split("/")) {
    if (part === "" || part === ".") continue;
    if (part === "..") out.pop();
    else out.push(part);
  }
  return `/${out.join("/")}`;
}

// node:fs costs ~2.5 ms to import (BUN-NOTES §11); only the callers below pay for it.
function nodeFs(): typeof import("node:fs") {
  return require("node:fs") as typeof import("node:fs");
}

function pathError(e: unknown, path: string, op: string): unknown {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno !== "number") return e;
  return new SysctlError(err.syscall ?? op, path, Math.abs(err.errno), err.code ?? "", { cause: e });
}

/** Returns the value of a sysctl without its last character (the newline), as upstream; throws SysctlError. */
export function readSysctl(name: string): string {
  const path = sysctlPath(name);
  let data: Buffer;
  try {
    data = nodeFs().readFileSync(path);
  } catch (e) {
    throw pathError(e, path, "open");
  }
  return data.subarray(0, Math.max(0, data.length - 1)).toString("utf8");
}

/** Writes value (as given, no newline added) to a sysctl; throws SysctlError ("write PATH: invalid argument"). */
export function writeSysctl(name: string, value: string): void {
  const path = sysctlPath(name);
  try {
    nodeFs().writeFileSync(path, value);
  } catch (e) {
    throw pathError(e, path, "open");
  }
}
