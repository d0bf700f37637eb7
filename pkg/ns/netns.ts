// pkg/ns/netns.ts: open, enter, create and remove network namespaces, synchronously.
// setns switches only the calling thread, and Bun's async I/O runs on pool threads that stay in the host netns,
// so withNetns takes a synchronous callback and nothing may await inside it (BUN-NOTES §0).
import { check, cstr, describeErrno, ENOENT, EINVAL, errno, sys, SyscallError } from "../sys/libc.ts";
import * as files from "../sys/fs.ts"; // libc: node:fs costs ~2.5 ms and ~3.4 MiB to load (BUN-NOTES §11)

const O_RDONLY = 0;
const O_CLOEXEC = 0o2000000;
const CLONE_NEWNET = 0x40000000;
const MS_BIND = 4096;
const MNT_DETACH = 2;
// statfs f_type values, <linux/magic.h>
const NSFS_MAGIC = 0x6e736673;
const PROC_SUPER_MAGIC = 0x9fa0;
// struct statfs is 120 bytes on x86-64 and arm64; f_type (a long) comes first on both.
const STATFS_SIZE = 128;

const THREAD_NETNS = "/proc/thread-self/ns/net";
const NETNS_RUN_DIR = "/run/netns";

/** The netns path does not exist; DEL treats this as "already gone" (upstream NSPathNotExistErr). */
export class NetnsNotExistError extends Error {
  constructor(readonly path: string, message: string) {
    super(message);
    this.name = "NetnsNotExistError";
  }
}

/** An open network namespace file; close it (or `using` it) when done. */
export class NetNS {
  private open = true;

  constructor(readonly path: string, readonly fd: number) {}

  close(): void {
    if (!this.open) return;
    this.open = false;
    sys().close(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}

// Go prints syscall errors in lower case ("no such file or directory"); libc capitalises the first letter.
function goErrno(code: number): string {
  const s = describeErrno(code);
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Returns the netns at path, opened O_RDONLY|O_CLOEXEC. Throws NetnsNotExistError when the path does not exist,
 * and an Error when it is not on nsfs or procfs (upstream ns.GetNS texts).
 */
export function openNetns(path: string): NetNS {
  const libc = sys();
  const fd = libc.open(cstr(path), O_RDONLY | O_CLOEXEC, 0);
  if (fd < 0) {
    const e = errno();
    const message = `failed to Statfs ${JSON.stringify(path)}: ${goErrno(e)}`; // upstream text
    if (e === ENOENT) throw new NetnsNotExistError(path, message);
    throw new Error(message, { cause: new SyscallError("open", e, JSON.stringify(path)) });
  }
  const st = new Uint8Array(STATFS_SIZE);
  if (libc.fstatfs(fd, st) < 0) {
    const e = errno();
    libc.close(fd);
    throw new Error(`failed to Statfs ${JSON.stringify(path)}: ${goErrno(e)}`); // upstream text
  }
  const magic = new DataView(st.buffer).getUint32(0, true);
  if (magic !== NSFS_MAGIC && magic !== PROC_SUPER_MAGIC) {
    libc.close(fd);
    throw new Error(`unknown FS magic on ${JSON.stringify(path)}: ${magic.toString(16)}`); // upstream text
  }
  return new NetNS(path, fd);
}

/** Returns openNetns(path) for CNI_NETNS; throws `failed to open netns "<path>": <why>` (upstream text) when it fails. */
export function openContainerNetns(path: string): NetNS {
  try {
    return openNetns(path);
  } catch (e) {
    throw new Error(`failed to open netns ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

/** Returns the path of the calling thread's netns (`/proc/self` would name the main thread's, see BUN-NOTES §1). */
export function currentNetnsPath(): string {
  return THREAD_NETNS;
}

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { then?: unknown }).then === "function";
}

/**
 * Returns fn's result, with fn run inside the netns (a path or an open NetNS) and the thread switched back after.
 * Throws fn's error, an error when entering or leaving fails, or when fn returns a promise (it must be synchronous).
 */
export function withNetns<T>(ns: string | NetNS, fn: () => T): T {
  const libc = sys();
  const target = typeof ns === "string" ? openNetns(ns) : ns;
  try {
    const orig = libc.open(cstr(THREAD_NETNS), O_RDONLY | O_CLOEXEC, 0);
    check(orig, "open", THREAD_NETNS);
    try {
      if (libc.setns(target.fd, CLONE_NEWNET) < 0) {
        const e = errno();
        throw new Error(`failed to enter netns ${JSON.stringify(target.path)}: ${goErrno(e)}`, { cause: new SyscallError("setns", e) });
      }
      try {
        const result = fn();
        if (isThenable(result)) {
          // The async part would run after we switch back, in the wrong netns; refuse it loudly.
          Promise.resolve(result).catch(() => {});
          throw new Error("withNetns callback returned a promise; work inside a netns must be synchronous");
        }
        return result;
      } finally {
        // Carrying on in the wrong netns would silently act on the wrong interfaces: fail instead.
        if (libc.setns(orig, CLONE_NEWNET) < 0) {
          const e = errno();
          throw new Error(`failed to switch back to the original netns: ${goErrno(e)}`, { cause: new SyscallError("setns", e) });
        }
      }
    } finally {
      libc.close(orig);
    }
  } finally {
    if (typeof ns === "string") target.close();
  }
}

/** Returns whether the two paths name the same netns (same device and inode). Throws when either is missing. */
export function isSameNetns(pathA: string, pathB: string): boolean {
  const a = files.statSync(pathA);
  const b = files.statSync(pathB);
  return a.dev === b.dev && a.ino === b.ino;
}

function netnsPathOf(nameOrPath: string): string {
  return nameOrPath.includes("/") ? nameOrPath : `${NETNS_RUN_DIR}/${nameOrPath}`;
}

/**
 * Returns the path of a new persistent netns (`name` goes under /run/netns, as `ip netns add` puts it): a file
 * bind-mounted over a fresh netns. Throws when the file exists or the kernel refuses; leaves nothing behind then.
 */
export function createNetns(nameOrPath: string): string {
  const libc = sys();
  const path = netnsPathOf(nameOrPath);
  const dir = path.slice(0, path.lastIndexOf("/")) || "/";
  try {
    files.mkdirSync(dir, { recursive: true });
    // O_EXCL: an existing netns of that name is an error, as in `ip netns add`
    const { O_WRONLY, O_CREAT, O_EXCL } = files.constants;
    files.closeSync(files.openSync(path, O_WRONLY | O_CREAT | O_EXCL, 0o444));
  } catch (e) {
    throw new Error(`failed to create netns ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
  const orig = check(libc.open(cstr(THREAD_NETNS), O_RDONLY | O_CLOEXEC, 0), "open", THREAD_NETNS);
  let failure: unknown;
  try {
    // unshare moves only this (the JS) thread into a new netns; the bind mount then pins it to the file.
    check(libc.unshare(CLONE_NEWNET), "unshare", "CLONE_NEWNET");
    check(libc.mount(cstr(THREAD_NETNS), cstr(path), cstr("none"), MS_BIND, null), "mount", `--bind ${path}`);
  } catch (e) {
    failure = e;
  }
  const back = libc.setns(orig, CLONE_NEWNET);
  const backErrno = back < 0 ? errno() : 0;
  libc.close(orig);
  if (back < 0) {
    // Being left in the wrong netns is the worse problem, so it is the error reported.
    removeNetns(path);
    throw new Error(`failed to switch back to the original netns: ${goErrno(backErrno)}`);
  }
  if (failure !== undefined) {
    files.rmSync(path, { force: true });
    throw new Error(`failed to create netns ${JSON.stringify(path)}: ${(failure as Error).message}`, { cause: failure });
  }
  return path;
}

/** Unmounts and deletes a persistent netns (a name under /run/netns or a path); a missing one is not an error. */
export function removeNetns(nameOrPath: string): void {
  const libc = sys();
  const path = netnsPathOf(nameOrPath);
  // MNT_DETACH: processes still inside keep the netns alive; only the name goes away. EINVAL: not a mount point.
  if (libc.umount2(cstr(path), MNT_DETACH) < 0) {
    const e = errno();
    if (e !== ENOENT && e !== EINVAL) throw new Error(`failed to unmount netns ${JSON.stringify(path)}: ${goErrno(e)}`);
  }
  files.rmSync(path, { force: true });
}
