// pkg/sys/file-id.ts: which file a path or fd names (device and inode), through libc's statx, so hot paths can
// compare files (is CNI_NETNS our own netns? is this the same netns as before?) without importing node:fs, which
// costs ~1.5-2.5 ms at startup (BUN-NOTES §11).
import { getU32le } from "./bytes.ts";
import { cstr, sys } from "./libc.ts";

const AT_FDCWD = -100;
const AT_EMPTY_PATH = 0x1000;
const STATX_INO = 0x100;
// struct statx, <linux/stat.h>: 256 bytes; stx_ino is a u64 at 32, stx_dev_major/minor are u32 at 136/140.
const STATX_SIZE = 256;

function idOf(rc: number, buf: Uint8Array): string | undefined {
  if (rc < 0) return undefined;
  // The inode's two 32-bit halves, not a BigInt: the id is only ever compared, and this runs on every call.
  return `${getU32le(buf, 136)}:${getU32le(buf, 140)}:${getU32le(buf, 36)}:${getU32le(buf, 32)}`;
}

/**
 * Returns "major:minor:inode-high:inode-low" of the file at path (links followed), or undefined when it cannot be
 * stat'ed. Two paths name the same file exactly when their ids are equal.
 */
export function fileId(path: string): string | undefined {
  const buf = new Uint8Array(STATX_SIZE);
  return idOf(sys().statx(AT_FDCWD, cstr(path), 0, STATX_INO, buf), buf);
}

/** Returns the id of an open fd (as fileId), or undefined when it cannot be stat'ed. */
export function fdId(fd: number): string | undefined {
  const buf = new Uint8Array(STATX_SIZE);
  return idOf(sys().statx(fd, cstr(""), AT_EMPTY_PATH, STATX_INO, buf), buf);
}
