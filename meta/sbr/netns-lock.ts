// meta/sbr/netns-lock.ts: upstream's lock around sbr's work in a netns: flock(LOCK_EX) on the CNI_NETNS file
// (go-filemutex on the same path), so two sbr instances, Go's or ours, never choose the same free table at once.
import type { NetNS } from "../../pkg/ns/netns.ts";
import { EINTR, errno, sys, SyscallError } from "../../pkg/sys/libc.ts";

const LOCK_EX = 2;

/**
 * Takes the exclusive flock on the netns file open as `ns` (blocking until the holder lets go); it lasts until ns is
 * closed. The lock belongs to the inode, the nsfs file itself, which every open of the same path reaches. Throws
 * SyscallError.
 */
export function lockNetns(ns: NetNS): void {
  for (;;) {
    if (sys().flock(ns.fd, LOCK_EX) === 0) return;
    const err = errno();
    if (err !== EINTR) throw new SyscallError("flock", err, `LOCK_EX ${JSON.stringify(ns.path)}`);
  }
}
