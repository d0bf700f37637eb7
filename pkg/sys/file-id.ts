// pkg/sys/file-id.ts: which file a path or fd names (device and inode), through libc's statx, so hot paths can
// compare files (is CNI_NETNS our own netns? is this the same netns as before?) without importing node:fs, which
// costs ~1.5-2.5 ms at startup (BUN-NOTES §11). libc's own table (libc.ts) stays as it is; this binds one symbol.
import { dlopen, FFIType as T } from "bun:ffi";
import { cstr } from "./libc.ts";

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const STATX_INO = 0x100;
// struct statx, <linux/stat.h>: 256 bytes; stx_ino is a u64 at 32, stx_dev_major/minor are u32 at 136/140.
const STATX_SIZE = 256;

type Statx = (dirfd: number, path: Uint8Array, flags: number, mask: number, buf: Uint8Array) => number;
let statx: Statx | null | undefined;

function bind(): Statx | null {
  if (statx === undefined) {
    try {
      statx = dlopen("libc.so.6", { statx: { args: [T.i32, T.ptr, T.i32, T.u32, T.ptr], returns: T.i32 } }).symbols.statx as Statx;
    } catch {
      statx = null; // a libc without statx (glibc < 2.28): callers fall back to what they did before
    }
  }
  return statx;
}

function idOf(rc: number, buf: Uint8Array): string | undefined {
  if (rc < 0) return undefined;
  const v = new DataView(buf.buffer, buf.byteOffset, buf.byteLength);
  return `${v.getUint32(136, true)}:${v.getUint32(140, true)}:${v.getBigUint64(32, true)}`;
}

/**
 * Returns "major:minor:inode" of the file at path (links followed), or undefined when it cannot be stat'ed or this
 * libc has no statx. Two paths name the same file exactly when their ids are equal.
 */
export function fileId(path: string): string | undefined {
  const fn = bind();
  if (!fn) return undefined;
  const buf = new Uint8Array(STATX_SIZE);
  return idOf(fn(AT_FDCWD, cstr(path), 0, STATX_INO, buf), buf);
}

/** Returns the id of an open fd (as fileId), or undefined when it cannot be stat'ed. */
export function fdId(fd: number): string | undefined {
  const fn = bind();
  if (!fn) return undefined;
  const buf = new Uint8Array(STATX_SIZE);
  return idOf(fn(fd, cstr(""), AT_EMPTY_PATH, STATX_INO, buf), buf);
}

/** Returns whether fileId can work here (statx is bound). */
export function canIdentifyFiles(): boolean {
  return bind() !== null;
}
