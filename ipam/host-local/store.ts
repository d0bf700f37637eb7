// ipam/host-local/store.ts: the reservation store on disk, file for file what upstream's backend/disk writes, so the
// Go plugin and ours can share a data directory (SPEC-DIGEST §2.1 "Store"):
//   <dataDir>/<network>/             0755
//   <dataDir>/<network>/lock         flock(LOCK_EX) held around each allocation or release
//   <dataDir>/<network>/<ip>         0600, "<containerID>\r\n<ifname>" (older versions wrote "<containerID>")
//   <dataDir>/<network>/last_reserved_ip.<set index>   0600, the IP text
import * as fs from "../../pkg/sys/fs.ts";
import { joinPath } from "../../pkg/sys/path.ts";
import { formatIP, parseIP, type IP } from "../../pkg/ip/cidr.ts";
import { flockRetrying, LOCK_EX, LOCK_UN } from "../../pkg/sys/flock.ts";
import { goPathError, hasCode } from "../../pkg/sys/go-path-error.ts";

export const DEFAULT_DATA_DIR = "/var/lib/cni/networks";
const LOCK_FILE = "lock";
const LAST_RESERVED_PREFIX = "last_reserved_ip.";
const LINE_BREAK = "\r\n";

/** One reservation file as found on disk; `ifname` is undefined for a legacy file holding only the ID. */
export interface Reservation {
  path: string;
  ip: IP;
  containerId: string;
  ifname?: string;
}

/** Returns the store directory for a network: `<dataDir>/<network>`, dataDir defaulting as upstream's. */
export function storeDir(network: string, dataDir: string): string {
  return joinPath(dataDir || DEFAULT_DATA_DIR, network);
}

/** An open store: its directory exists and its lock file is open (not locked). Close it, or hold it with `using`. */
export class Store {
  private constructor(readonly dir: string, private lockFd: number) {}

  /** Returns the store of a network, creating its directory (0755) and lock file (0750); throws Go-worded fs errors. */
  static open(network: string, dataDir: string): Store {
    const dir = storeDir(network, dataDir);
    try {
      fs.mkdirSync(dir, { recursive: true, mode: 0o755 });
    } catch (e) {
      throw goPathError(dir, e, "mkdir");
    }
    const lockPath = joinPath(dir, LOCK_FILE);
    let fd: number;
    try {
      // go-filemutex opens the lock O_CREAT|O_RDONLY with mode 0750.
      fd = fs.openSync(lockPath, fs.constants.O_CREAT | fs.constants.O_RDONLY, 0o750);
    } catch (e) {
      throw goPathError(lockPath, e, "open");
    }
    return new Store(dir, fd);
  }

  /** Returns fn's result, run while holding the exclusive flock on `lock` (blocking, as upstream waits). */
  withLock<T>(fn: () => T): T {
    flockRetrying(this.lockFd, LOCK_EX, "LOCK_EX");
    try {
      return fn();
    } finally {
      flockRetrying(this.lockFd, LOCK_UN, "LOCK_UN");
    }
  }

  /**
   * Returns true when ip's file was created for (id, ifname) and last_reserved_ip.<rangeId> updated, false when
   * another reservation holds ip. Throws Go-worded fs errors, leaving no file of its own behind.
   */
  reserve(id: string, ifname: string, ip: IP, rangeId: number): boolean {
    const file = this.pathOf(formatIP(ip));
    let fd: number;
    try {
      const { O_RDWR, O_EXCL, O_CREAT } = fs.constants;
      fd = fs.openSync(file, O_RDWR | O_EXCL | O_CREAT, 0o600);
    } catch (e) {
      if (hasCode(e, "EEXIST")) return false;
      throw goPathError(file, e, "open");
    }
    try {
      try {
        fs.writeSync(fd, id.trim() + LINE_BREAK + ifname);
      } finally {
        fs.closeSync(fd);
      }
    } catch (e) {
      removeQuietly(file);
      throw goPathError(file, e, "write");
    }
    const last = this.pathOf(LAST_RESERVED_PREFIX + rangeId);
    try {
      fs.overwriteFileSync(last, formatIP(ip), { mode: 0o600 }); // under the store lock
    } catch (e) {
      // upstream leaves the reservation behind here; an ADD that fails must not.
      removeQuietly(file);
      throw goPathError(last, e, "open");
    }
    return true;
  }

  /** Returns the IP in last_reserved_ip.<rangeId>, or undefined when there is none or it does not parse. */
  lastReservedIP(rangeId: number): IP | undefined {
    const file = this.pathOf(LAST_RESERVED_PREFIX + rangeId);
    try {
      return parseIP(fs.readFileSync(file, "latin1"));
    } catch (e) {
      // Losing round-robin once is harmless; upstream logs the error and goes on.
      if (!hasCode(e, "ENOENT")) console.error(`Error retrieving last reserved ip: ${goPathError(file, e).message}`);
      return undefined;
    }
  }

  /** Returns the IPs whose files belong to (id, ifname), or to id alone (legacy files), in file name order. */
  getById(id: string, ifname: string): IP[] {
    const match = matchKey(id, ifname);
    const legacy = id.trim();
    const ips: IP[] = [];
    this.walk((file, name, content) => {
      if (content !== match && content !== legacy) return;
      const ip = parseIP(name);
      if (ip) ips.push(ip);
    });
    return ips;
  }

  /** Returns whether any file belongs to (id, ifname), or, failing that, to id alone (legacy files). */
  findById(id: string, ifname: string): boolean {
    return this.findByKey(matchKey(id, ifname)) || this.findByKey(id.trim());
  }

  private findByKey(key: string): boolean {
    let found = false;
    this.walk((_file, _name, content) => {
      if (content === key) found = true;
    });
    return found;
  }

  /**
   * Removes every file of (id, ifname); when none was removed, every legacy file of id. Returns the removal
   * failures as Go-worded messages (empty when all went well); a file that is already gone is no failure.
   */
  releaseById(id: string, ifname: string): string[] {
    this.removeEmpty();
    const first = this.releaseByKey(matchKey(id, ifname));
    if (first.removed > 0) return first.errors;
    return [...first.errors, ...this.releaseByKey(id.trim()).errors];
  }

  private releaseByKey(key: string): { removed: number; errors: string[] } {
    let removed = 0;
    const errors: string[] = [];
    this.walk((file, _name, content) => {
      if (content !== key) return;
      const err = removeFile(file);
      if (err) errors.push(err);
      else removed++;
    });
    return { removed, errors };
  }

  /**
   * Removes the empty reservation files. Call with the lock held: every writer (ours and upstream's) creates and
   * fills a reservation under the lock, so an empty one is what a writer killed in between left. It would hold its
   * IP for good, since no container ID matches it.
   */
  private removeEmpty(): void {
    for (const name of sortedNames(this.dir)) {
      if (isBookkeeping(name) || !parseIP(name)) continue;
      const file = this.pathOf(name);
      try {
        const st = fs.lstatSync(file);
        if (st.isFile() && st.size === 0) fs.unlinkSync(file);
      } catch {
        // gone meanwhile, or unreadable: not ours to judge
      }
    }
  }

  /** Removes the reservation files of these IPs (an ADD undoing itself); failures are ignored, as upstream's are. */
  releaseIPs(ips: IP[]): void {
    for (const ip of ips) removeQuietly(this.pathOf(formatIP(ip)));
  }

  /** Returns the reservation files directly in the store (named by an IP), with their owners. */
  reservations(): Reservation[] {
    const out: Reservation[] = [];
    for (const name of sortedNames(this.dir)) {
      const ip = parseIP(name);
      if (!ip || isBookkeeping(name)) continue;
      const file = this.pathOf(name);
      const content = readTrimmed(file);
      if (content === undefined) continue;
      const cut = content.indexOf(LINE_BREAK);
      out.push(cut < 0
        ? { path: file, ip, containerId: content }
        : { path: file, ip, containerId: content.slice(0, cut), ifname: content.slice(cut + LINE_BREAK.length) });
    }
    return out;
  }

  /** Removes one file; returns a Go-worded failure, or undefined when it is gone (or was already). */
  remove(file: string): string | undefined {
    return removeFile(file);
  }

  /** Closes the lock file, which also drops the flock. */
  close(): void {
    if (this.lockFd < 0) return;
    fs.closeSync(this.lockFd);
    this.lockFd = -1;
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private pathOf(name: string): string {
    return joinPath(this.dir, name);
  }

  /**
   * Calls visit for every regular file below the store, as upstream's filepath.Walk does (recursive, in name order,
   * symlinks not followed into, unreadable entries skipped), with the file's whitespace-trimmed content.
   * `lock` and the last_reserved_ip files never match a container.
   */
  private walk(visit: (file: string, name: string, content: string) => void, dir = this.dir): void {
    let entries: fs.Dirent[];
    try {
      entries = fs.readdirSync(dir, { withFileTypes: true });
    } catch {
      return;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const file = joinPath(dir, entry.name);
      if (entry.isDirectory()) {
        this.walk(visit, file);
        continue;
      }
      if (isBookkeeping(entry.name)) continue;
      const content = readTrimmed(file);
      if (content !== undefined) visit(file, entry.name, content);
    }
  }
}

/** The content a reservation of (id, ifname) has after trimming. */
function matchKey(id: string, ifname: string): string {
  return id.trim() + LINE_BREAK + ifname;
}

function isBookkeeping(name: string): boolean {
  return name === LOCK_FILE || name.startsWith(LAST_RESERVED_PREFIX);
}

function readTrimmed(file: string): string | undefined {
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    return undefined;
  }
}

function sortedNames(dir: string): string[] {
  try {
    return fs.readdirSync(dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
  } catch {
    return [];
  }
}

function removeFile(file: string): string | undefined {
  try {
    fs.unlinkSync(file);
    return undefined;
  } catch (e) {
    if (hasCode(e, "ENOENT")) return undefined;
    return goPathError(file, e, "remove").message;
  }
}

function removeQuietly(file: string): void {
  try {
    fs.unlinkSync(file);
  } catch {
    // best effort: the caller is already reporting a failure
  }
}
