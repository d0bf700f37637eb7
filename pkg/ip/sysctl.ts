// pkg/ip/sysctl.ts: read and write sysctls as files under /proc/sys, as upstream's pkg/utils/sysctl does. Synchronous
// on purpose: /proc/sys/net/* belongs to the netns of the thread that opens it, so inside withNetns only the calling
// thread's own syscalls see the right values (async fs runs on pool threads in the host netns, BUN-NOTES §0).
import { cstr, describeErrno, EINTR, errno, sys } from "../sys/libc.ts";

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

// Through libc rather than node:fs, which costs ~1.5-2.5 ms to import (BUN-NOTES §11): tuning, portmap and the
// interface plugins touch a sysctl or two on every ADD.
const O_RDONLY = 0;
const O_WRONLY = 1;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;
const O_CLOEXEC = 0o2000000;

// Node's error codes for the errnos a sysctl file can give (Linux numbers, the same on x86-64 and arm64).
const CODES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
  13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR", 22: "EINVAL",
  23: "ENFILE", 24: "EMFILE", 28: "ENOSPC", 30: "EROFS", 34: "ERANGE", 36: "ENAMETOOLONG", 40: "ELOOP", 95: "EOPNOTSUPP",
};

function fail(op: string, path: string): SysctlError {
  const e = errno();
  return new SysctlError(op, path, e, CODES[e] ?? `E${e}`);
}

function openFile(path: string, flags: number): number {
  for (;;) {
    const fd = sys().open(cstr(path), flags | O_CLOEXEC, 0o666);
    if (fd >= 0) return fd;
    if (errno() !== EINTR) throw fail("open", path);
  }
}

/** Returns the value of a sysctl without its last character (the newline), as upstream; throws SysctlError. */
export function readSysctl(name: string): string {
  const path = sysctlPath(name);
  const libc = sys();
  const fd = openFile(path, O_RDONLY);
  try {
    const chunks: Uint8Array[] = [];
    for (;;) {
      const buf = new Uint8Array(4096);
      const n = Number(libc.read(fd, buf, buf.length));
      if (n < 0) {
        if (errno() === EINTR) continue;
        throw fail("read", path);
      }
      if (n === 0) break;
      chunks.push(buf.subarray(0, n));
    }
    const data = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
    return new TextDecoder().decode(data.subarray(0, Math.max(0, data.length - 1)));
  } finally {
    libc.close(fd);
  }
}

/** Writes value (as given, no newline added) to a sysctl; throws SysctlError ("write PATH: invalid argument"). */
export function writeSysctl(name: string, value: string): void {
  const path = sysctlPath(name);
  const libc = sys();
  const fd = openFile(path, O_WRONLY | O_CREAT | O_TRUNC); // what writeFileSync (and Go's os.WriteFile) open with
  try {
    const data = new TextEncoder().encode(value);
    // Nothing to write: no write call, as writeFileSync does.
    for (let off = 0; off < data.length; ) {
      const n = Number(libc.write(fd, data.subarray(off), data.length - off));
      if (n < 0) {
        if (errno() === EINTR) continue;
        throw fail("write", path);
      }
      off += n;
    }
  } finally {
    libc.close(fd);
  }
}
