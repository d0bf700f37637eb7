// meta/sbr/netns-lock.ts: upstream's lock around sbr's work in a netns: flock(LOCK_EX) on the CNI_NETNS file
// (go-filemutex on the same path), so two sbr instances, Go's or ours, never choose the same free table at once.
import type { NetNS } from "../../pkg/ns/netns.ts";
import { flockRetrying, LOCK_EX } from "../../pkg/sys/flock.ts";

/**
 * Takes the exclusive flock on the netns file open as `ns` (blocking until the holder lets go); it lasts until ns is
 * closed. The lock belongs to the inode, the nsfs file itself, which every open of the same path reaches. Throws
 * SyscallError.
 */
export function lockNetns(ns: NetNS): void {
  flockRetrying(ns.fd, LOCK_EX, `LOCK_EX ${JSON.stringify(ns.path)}`);
}
