// meta/flannel/scratch.ts: the rendered delegate config kept on disk between ADD and DEL (SPEC-DIGEST §4 "Scratch
// file"): `<dataDir>/<containerID>`, the directory made 0700 and the file 0600 and fsync'd as upstream's
// saveScratchNetConf does, so a DEL (ours or upstream's) replays exactly what ADD sent.
import { closeSync, constants, fsyncSync, lstatSync, mkdirSync, openSync, readFileSync, statSync, unlinkSync, writeSync, type Stats } from "node:fs";
import { join } from "node:path";
import { goErrnoText, goPathError, hasCode } from "../../pkg/sys/go-path-error.ts";

export const DEFAULT_DATA_DIR = "/var/lib/cni/flannel";
const ENOTDIR = 20;

/** Returns the scratch file's path, joined and cleaned as Go's filepath.Join does. */
export function scratchPath(dataDir: string, containerId: string): string {
  return join(dataDir, containerId);
}

/**
 * Writes bytes to `<dataDir>/<containerId>` and returns how to put back what the file held before (its old bytes,
 * or no file), for an ADD that fails later; a write that fails puts it back itself. Something there that cannot be
 * read is never removed. Throws Go-worded errors ("mkdir …", "open …", "write …", "sync …").
 */
export function saveScratch(dataDir: string, containerId: string, bytes: Uint8Array): () => void {
  mkdirAll(dataDir, 0o700);
  const path = scratchPath(dataDir, containerId);
  const found = lstatOrUndefined(path);
  const existed = found !== undefined;
  // Only a regular file is read back (never a FIFO or a device someone put there).
  const before = found?.isFile() ? readIfPresent(path) : undefined;
  const restore = () => {
    if (before) writeAndSync(path, before, 0o600);
    else if (!existed) unlinkSync(path);
  };
  try {
    writeAndSync(path, bytes, 0o600);
  } catch (e) {
    // A write that failed half way (a full disk) must not leave a truncated file behind.
    try {
      restore();
    } catch {
      // the write's error is the one to report
    }
    throw e;
  }
  return restore;
}

/** Returns the scratch file's bytes, or undefined when there is none; throws Go-worded errors for anything else. */
export function readScratch(dataDir: string, containerId: string): Uint8Array | undefined {
  const path = scratchPath(dataDir, containerId);
  try {
    return readFileSync(path);
  } catch (e) {
    if (hasCode(e, "ENOENT")) return undefined;
    throw goPathError(path, e);
  }
}

/** Removes the scratch file, ignoring errors (upstream: "per spec safe to continue during DEL"). */
export function removeScratch(dataDir: string, containerId: string): void {
  try {
    unlinkSync(scratchPath(dataDir, containerId));
  } catch {
    // already gone, or not ours to remove: DEL goes on
  }
}

function lstatOrUndefined(path: string): Stats | undefined {
  try {
    return lstatSync(path);
  } catch {
    return undefined;
  }
}

function readIfPresent(path: string): Uint8Array | undefined {
  try {
    return readFileSync(path);
  } catch {
    return undefined;
  }
}

/** upstream's writeAndSyncFile: open O_WRONLY|O_CREAT|O_TRUNC with perm (an existing file keeps its mode), write, fsync, close. */
function writeAndSync(path: string, bytes: Uint8Array, perm: number): void {
  let fd: number;
  try {
    fd = openSync(path, constants.O_WRONLY | constants.O_CREAT | constants.O_TRUNC, perm);
  } catch (e) {
    throw goPathError(path, e, "open");
  }
  try {
    try {
      let done = 0;
      while (done < bytes.length) done += writeSync(fd, bytes, done, bytes.length - done);
    } catch (e) {
      throw goPathError(path, e, "write");
    }
    try {
      fsyncSync(fd);
    } catch (e) {
      throw goPathError(path, e, "sync");
    }
  } finally {
    closeSync(fd);
  }
}

/** os.MkdirAll: each missing directory from the top down, with Go's errors (the failing component named). */
function mkdirAll(dir: string, mode: number): void {
  let existing;
  try {
    existing = statSync(dir);
  } catch {
    existing = undefined; // any stat error: try to make it
  }
  if (existing?.isDirectory()) return;
  if (existing) throw new Error(`mkdir ${dir}: ${goErrnoText(ENOTDIR)}`); // upstream text (&PathError{"mkdir", path, ENOTDIR})
  let i = dir.length - 1;
  while (i >= 0 && dir[i] === "/") i--;
  while (i >= 0 && dir[i] !== "/") i--;
  const parent = dir.slice(0, Math.max(i, 0));
  if (parent.length > 0) mkdirAll(parent, mode);
  try {
    mkdirSync(dir, mode);
  } catch (e) {
    // "foo/." and a racing creator: fine when a directory is there now.
    try {
      if (lstatSync(dir).isDirectory()) return;
    } catch {
      // not there: the mkdir error stands
    }
    throw goPathError(dir, e, "mkdir");
  }
}
