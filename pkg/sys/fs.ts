// pkg/sys/fs.ts: the few synchronous file calls the plugins make on every ADD and DEL (host-local's store, tuning's
// backups, portmap's records, CNI_PATH lookups), straight on libc. node:fs costs ~2.5 ms and ~3.4 MiB of RSS to
// load in a compiled binary (BUN-NOTES §11), and bridge, tuning and portmap would each pay it on every call.
//
// The names and shapes follow node:fs, and failures are FsError objects carrying what a node:fs error carries
// (errno, code, syscall, path), so callers' error handling (goPathError, `code === "ENOENT"`) works unchanged.
// Synchronous on purpose: it runs on the calling thread, so it is safe inside withNetns (/proc/sys is per netns).
import type { Pointer } from "bun:ffi";
import { ffi } from "./ffi.ts";
import { cstr, describeErrno, EEXIST, EINTR, ENOENT, errno, errnoLocation, sys } from "./libc.ts";
import { totalLength } from "./lists.ts";

export const constants = {
  O_RDONLY: 0, O_WRONLY: 1, O_RDWR: 2, O_CREAT: 0o100, O_EXCL: 0o200, O_TRUNC: 0o1000, O_APPEND: 0o2000,
  F_OK: 0, X_OK: 1, W_OK: 2, R_OK: 4,
} as const;
const O_CLOEXEC = 0o2000000;
const O_RDONLY_DIRECTORY = 0o200000;

// Node's codes for the errnos file calls give (Linux numbers, the same on x86-64 and arm64).
const CODES: Record<number, string> = {
  1: "EPERM", 2: "ENOENT", 3: "ESRCH", 4: "EINTR", 5: "EIO", 6: "ENXIO", 9: "EBADF", 11: "EAGAIN", 12: "ENOMEM",
  13: "EACCES", 14: "EFAULT", 16: "EBUSY", 17: "EEXIST", 18: "EXDEV", 19: "ENODEV", 20: "ENOTDIR", 21: "EISDIR",
  22: "EINVAL", 23: "ENFILE", 24: "EMFILE", 26: "ETXTBSY", 27: "EFBIG", 28: "ENOSPC", 30: "EROFS", 31: "EMLINK",
  34: "ERANGE", 36: "ENAMETOOLONG", 39: "ENOTEMPTY", 40: "ELOOP", 95: "EOPNOTSUPP", 122: "EDQUOT",
};

/** Returns node's code for an errno ("ENOENT"), or `E<number>` for one it has no name for here. */
export function errnoCode(n: number): string {
  return CODES[n] ?? `E${n}`;
}

/** A failed file call, shaped as node:fs reports one: `ENOENT: no such file or directory, open '/x'`. */
export class FsError extends Error {
  /** Negative, as node:fs has it. */
  readonly errno: number;
  readonly code: string;
  constructor(readonly syscall: string, n: number, readonly path?: string) {
    const text = describeErrno(n);
    super(`${errnoCode(n)}: ${text.charAt(0).toLowerCase()}${text.slice(1)}, ${syscall}${path === undefined ? "" : ` '${path}'`}`);
    this.name = "FsError";
    this.errno = -n;
    this.code = errnoCode(n);
  }
}

function fail(syscall: string, path?: string): FsError {
  return new FsError(syscall, errno(), path);
}

/** Runs a call until it is not interrupted; returns its result, or throws FsError when it is negative. */
function retry(call: () => number | bigint, syscall: string, path?: string): number {
  for (;;) {
    const rc = Number(call());
    if (rc >= 0) return rc;
    if (errno() !== EINTR) throw fail(syscall, path);
  }
}

/** Opens a file (close-on-exec always); returns the fd. */
export function openSync(path: string, flags: number, mode = 0o666): number {
  const p = cstr(path);
  return retry(() => sys().open(p, flags | O_CLOEXEC, mode), "open", path);
}

export function closeSync(fd: number): void {
  sys().close(fd); // as node, an EINTR from close is not retried (the fd is gone either way on Linux)
}

/** Writes all of data at the fd's offset; returns the number of bytes written. */
export function writeSync(fd: number, data: string | Uint8Array): number {
  const bytes = typeof data === "string" ? new TextEncoder().encode(data) : data;
  for (let off = 0; off < bytes.length; ) {
    off += retry(() => sys().write(fd, bytes.subarray(off), bytes.length - off), "write");
  }
  return bytes.length;
}

export function fsyncSync(fd: number): void {
  retry(() => sys().fsync(fd), "fsync");
}

function readAll(fd: number, path: string): Uint8Array {
  return readToEnd((into) => retry(() => sys().read(fd, into, into.length), "read", path));
}

/**
 * Returns everything `read` gives until it returns 0 (end of file), read into one buffer that doubles when full:
 * the final read that finds the end costs no buffer of its own. `read` fills the start of `into` and returns how
 * many bytes it put there; it handles (or throws) its own errors.
 */
export function readToEnd(read: (into: Uint8Array) => number, first = 4096): Uint8Array {
  let buf = new Uint8Array(first);
  let len = 0;
  for (;;) {
    if (len === buf.length) {
      const grown = new Uint8Array(buf.length * 2);
      grown.set(buf);
      buf = grown;
    }
    const n = read(buf.subarray(len));
    if (n === 0) return buf.subarray(0, len);
    len += n;
  }
}

/** Returns the chunks as one array (the one chunk itself when there is only one). */
export function concatBytes(chunks: Uint8Array[]): Uint8Array {
  if (chunks.length === 1) return chunks[0]!;
  const out = new Uint8Array(totalLength(chunks));
  let off = 0;
  for (const c of chunks) {
    out.set(c, off);
    off += c.length;
  }
  return out;
}

/** Returns a file's bytes, or its text when an encoding is given. */
export function readFileSync(path: string): Uint8Array;
export function readFileSync(path: string, encoding: "utf8" | "latin1"): string;
export function readFileSync(path: string, encoding?: "utf8" | "latin1"): Uint8Array | string {
  const fd = openSync(path, constants.O_RDONLY);
  try {
    const data = readAll(fd, path);
    return encoding === undefined ? data : new TextDecoder(encoding === "latin1" ? "latin1" : "utf-8").decode(data);
  } finally {
    closeSync(fd);
  }
}

/** Writes data to a file, creating it with mode (before umask) or truncating it, as node's writeFileSync. */
export function writeFileSync(path: string, data: string | Uint8Array, options: { mode?: number } = {}): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, options.mode ?? 0o666);
  try {
    writeSync(fd, data);
  } finally {
    closeSync(fd);
  }
}

/**
 * Writes data over the start of a file and cuts the file to data's length, creating it with mode (before umask) when
 * missing: the same file as writeFileSync leaves, without O_TRUNC. Truncating to zero frees the file's block and the
 * write allocates one again; on ext4 mounted with `discard` and no journal each free is a synchronous TRIM, ~0.2 ms
 * per rewrite on the build machine. For small files rewritten under a lock, so no reader sees the in-between bytes.
 */
export function overwriteFileSync(path: string, data: string | Uint8Array, options: { mode?: number } = {}): void {
  const fd = openSync(path, constants.O_WRONLY | constants.O_CREAT, options.mode ?? 0o666);
  try {
    const n = writeSync(fd, data);
    retry(() => sys().ftruncate(fd, n), "ftruncate", path);
  } finally {
    closeSync(fd);
  }
}

export function accessSync(path: string, mode: number = constants.F_OK): void {
  const p = cstr(path);
  retry(() => sys().access(p, mode), "access", path);
}

export function existsSync(path: string): boolean {
  return sys().access(cstr(path), constants.F_OK) === 0;
}

export function unlinkSync(path: string): void {
  const p = cstr(path);
  retry(() => sys().unlink(p), "unlink", path);
}

/** Removes a file; with force, a missing one is no error (directories are not removed: nothing here needs that). */
export function rmSync(path: string, options: { force?: boolean } = {}): void {
  try {
    unlinkSync(path);
  } catch (e) {
    if (!(options.force && (e as FsError).code === "ENOENT")) throw e;
  }
}

export function renameSync(from: string, to: string): void {
  const a = cstr(from);
  const b = cstr(to);
  retry(() => sys().rename(a, b), "rename", from);
}

/** Makes a directory; recursive makes the missing parents too and accepts an existing directory, as node does. */
export function mkdirSync(path: string, options: { recursive?: boolean; mode?: number } = {}): void {
  const mode = options.mode ?? 0o777;
  const p = cstr(path);
  if (sys().mkdir(p, mode) === 0) return;
  const e = errno();
  if (!options.recursive) throw new FsError("mkdir", e, path);
  if (e === EEXIST) {
    if (statSync(path).isDirectory()) return;
    throw new FsError("mkdir", e, path);
  }
  if (e !== ENOENT) throw new FsError("mkdir", e, path);
  const parent = dirname(path);
  if (parent === path) throw new FsError("mkdir", e, path);
  mkdirSync(parent, options);
  if (sys().mkdir(p, mode) === 0) return;
  const again = errno();
  if (again === EEXIST && statSync(path).isDirectory()) return; // made meanwhile by someone else
  throw new FsError("mkdir", again, path);
}

function dirname(path: string): string {
  const trimmed = path.replace(/\/+$/, "");
  const i = trimmed.lastIndexOf("/");
  return i < 0 ? "." : i === 0 ? "/" : trimmed.slice(0, i);
}

const S_IFMT = 0o170000;
const S_IFREG = 0o100000;
const S_IFDIR = 0o040000;
const S_IFLNK = 0o120000;

/** What statSync and lstatSync tell: the file's type, size, mode and identity. */
export class Stats {
  constructor(readonly mode: number, readonly size: number, readonly ino: bigint, readonly dev: string) {}
  isFile(): boolean {
    return (this.mode & S_IFMT) === S_IFREG;
  }
  isDirectory(): boolean {
    return (this.mode & S_IFMT) === S_IFDIR;
  }
  isSymbolicLink(): boolean {
    return (this.mode & S_IFMT) === S_IFLNK;
  }
}

const AT_FDCWD = -100;
const AT_SYMLINK_NOFOLLOW = 0x100;
const STATX_BASIC_STATS = 0x7ff;

// struct statx (<linux/stat.h>, the same on every architecture): stx_mode u16 at 28, stx_ino u64 at 32, stx_size
// u64 at 40, stx_dev_major/minor u32 at 136/140; 256 bytes in all.
function statx(path: string, flags: number, syscall: string): Stats {
  const buf = new Uint8Array(256);
  const p = cstr(path);
  retry(() => sys().statx(AT_FDCWD, p, flags, STATX_BASIC_STATS, buf), syscall, path);
  const v = new DataView(buf.buffer);
  return new Stats(v.getUint16(28, true), Number(v.getBigUint64(40, true)), v.getBigUint64(32, true), `${v.getUint32(136, true)}:${v.getUint32(140, true)}`);
}

/** Stats the file a path names, links followed. */
export function statSync(path: string): Stats {
  return statx(path, 0, "stat");
}

/** Stats a path itself (a link is not followed). */
export function lstatSync(path: string): Stats {
  return statx(path, AT_SYMLINK_NOFOLLOW, "lstat");
}

/** One directory entry, as readdirSync with withFileTypes gives it. */
export class Dirent {
  constructor(readonly name: string, private readonly type: number, private readonly parent: string) {}
  isFile(): boolean {
    return this.kind() === DT_REG;
  }
  isDirectory(): boolean {
    return this.kind() === DT_DIR;
  }
  // Filesystems that leave d_type unknown get an lstat, as node does.
  private kind(): number {
    if (this.type !== DT_UNKNOWN) return this.type;
    const st = lstatSync(`${this.parent}/${this.name}`);
    return st.isFile() ? DT_REG : st.isDirectory() ? DT_DIR : DT_OTHER;
  }
}

const DT_UNKNOWN = 0;
const DT_DIR = 4;
const DT_REG = 8;
const DT_OTHER = 255;
// struct dirent (glibc, 64-bit): d_ino u64, d_off i64, d_reclen u16 at 16, d_type u8 at 18, d_name at 19.
const D_TYPE = 18;
const D_NAME = 19;

/** Returns the names in a directory (without "." and ".."), or Dirents with withFileTypes; in the order readdir gives. */
export function readdirSync(path: string): string[];
export function readdirSync(path: string, options: { withFileTypes: true }): Dirent[];
export function readdirSync(path: string, options?: { withFileTypes: true }): string[] | Dirent[] {
  const p = cstr(path);
  const fd = retry(() => sys().open(p, O_RDONLY_DIRECTORY | O_CLOEXEC, 0), "scandir", path); // node's name for it
  const dir = sys().fdopendir(fd);
  if (dir === null) {
    const e = fail("scandir", path);
    closeSync(fd);
    throw e;
  }
  const names: string[] = [];
  const entries: Dirent[] = [];
  try {
    const { CString, read, toArrayBuffer } = ffi();
    const err = new Int32Array(toArrayBuffer(errnoLocation(), 0, 4));
    for (;;) {
      err[0] = 0; // readdir returns NULL both at the end and on an error; only errno tells them apart
      const ent = sys().readdir(dir) as Pointer | null;
      if (ent === null) {
        if (err[0] !== 0) throw new FsError("scandir", err[0]!, path);
        break;
      }
      const name = new CString(ent, D_NAME).toString();
      if (name === "." || name === "..") continue;
      if (options?.withFileTypes) entries.push(new Dirent(name, read.u8(ent, D_TYPE), path));
      else names.push(name);
    }
  } finally {
    sys().closedir(dir); // closes fd too
  }
  return options?.withFileTypes ? entries : names;
}
