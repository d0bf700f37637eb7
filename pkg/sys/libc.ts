// pkg/sys/libc.ts: libc through bun:ffi, opened on first use so VERSION and pure-logic paths never pay for it.
import type { Pointer } from "bun:ffi";
import { ffi } from "./ffi.ts";

const SYMBOLS = {
  __errno_location: { args: [], returns: "ptr" },
  strerror: { args: ["i32"], returns: "cstring" },
  close: { args: ["i32"], returns: "i32" },
  open: { args: ["ptr", "i32", "u32"], returns: "i32" },
  read: { args: ["i32", "ptr", "u64"], returns: "i64" },
  write: { args: ["i32", "ptr", "u64"], returns: "i64" },
  flock: { args: ["i32", "i32"], returns: "i32" },
  setns: { args: ["i32", "i32"], returns: "i32" },
  unshare: { args: ["i32"], returns: "i32" },
  mount: { args: ["ptr", "ptr", "ptr", "u64", "ptr"], returns: "i32" },
  umount2: { args: ["ptr", "i32"], returns: "i32" },
  fstatfs: { args: ["i32", "ptr"], returns: "i32" },
  socket: { args: ["i32", "i32", "i32"], returns: "i32" },
  bind: { args: ["i32", "ptr", "u32"], returns: "i32" },
  getsockname: { args: ["i32", "ptr", "ptr"], returns: "i32" },
  setsockopt: { args: ["i32", "i32", "i32", "ptr", "u32"], returns: "i32" },
  sendto: { args: ["i32", "ptr", "u64", "i32", "ptr", "u32"], returns: "i64" },
  recvfrom: { args: ["i32", "ptr", "u64", "i32", "ptr", "ptr"], returns: "i64" },
  ioctl: { args: ["i32", "u64", "ptr"], returns: "i32" },
  if_nametoindex: { args: ["ptr"], returns: "u32" },
  // files (fs.ts); statx needs glibc 2.28 or later
  access: { args: ["ptr", "i32"], returns: "i32" },
  mkdir: { args: ["ptr", "u32"], returns: "i32" },
  unlink: { args: ["ptr"], returns: "i32" },
  rename: { args: ["ptr", "ptr"], returns: "i32" },
  fsync: { args: ["i32"], returns: "i32" },
  ftruncate: { args: ["i32", "i64"], returns: "i32" },
  statx: { args: ["i32", "ptr", "i32", "u32", "ptr"], returns: "i32" },
  fdopendir: { args: ["i32"], returns: "ptr" },
  readdir: { args: ["ptr"], returns: "ptr" },
  closedir: { args: ["ptr"], returns: "i32" },
  realpath: { args: ["ptr", "ptr"], returns: "ptr" },
} as const;

type Libc = ReturnType<typeof import("bun:ffi").dlopen<typeof SYMBOLS>>["symbols"];
let libc: Libc | undefined;

/** Returns the libc symbol table, opening libc.so.6 on the first call. */
export function sys(): Libc {
  libc ??= ffi().dlopen("libc.so.6", SYMBOLS).symbols;
  return libc;
}

/** Returns the calling thread's errno; read it straight after the failing call, before any other FFI call. */
export function errno(): number {
  return ffi().read.i32(errnoLocation(), 0);
}

/** Returns the address of the calling thread's errno (to clear it before a call that only reports through it). */
export function errnoLocation(): Pointer {
  return sys().__errno_location() as Pointer;
}

export const EPERM = 1;
export const ENOENT = 2;
export const EINTR = 4;
export const EBADF = 9;
export const EAGAIN = 11;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const EINVAL = 22;
export const ETXTBSY = 26;
export const ENOTSUP = 95;
export const EOPNOTSUPP = 95;
export const EADDRNOTAVAIL = 99;
export const ENOBUFS = 105;
export const ESRCH = 3;

/** A failed system call: the call's name, errno and libc's text for it. */
export class SyscallError extends Error {
  constructor(readonly call: string, readonly errno: number, detail?: string) {
    super(`${call}${detail ? ` ${detail}` : ""}: ${describeErrno(errno)}`);
    this.name = "SyscallError";
  }
}

/** Returns libc's message for an errno ("No such file or directory"). */
export function describeErrno(code: number): string {
  return String(sys().strerror(code));
}

/** Returns rc when it is >= 0; otherwise throws SyscallError with the errno of that call. */
export function check(rc: number | bigint, call: string, detail?: string): number {
  const n = Number(rc);
  if (n < 0) throw new SyscallError(call, errno(), detail);
  return n;
}

/**
 * Returns a NUL-terminated UTF-8 copy of s for a `ptr` argument (bytes without the NUL are read past their end).
 * TextEncoder, not Buffer: every plugin encodes netlink text with it anyway, and Buffer's first use costs ~0.15 ms.
 */
export function cstr(s: string): Uint8Array {
  const out = new Uint8Array(s.length * 3 + 1); // zeroed: the NUL is there
  const { written } = (utf8 ??= new TextEncoder()).encodeInto(s, out);
  return out.subarray(0, written + 1);
}
let utf8: TextEncoder | undefined;
