// pkg/sys/flock.ts: flock(2) that waits through signals. Used by host-local's store lock, sbr's netns lock and the
// netfilter shared-chains lock; each blocks until the holder lets go, as upstream's go-filemutex does.
import { EINTR, errno, sys, SyscallError } from "./libc.ts";

export const LOCK_EX = 2;
export const LOCK_UN = 8;

/** Applies flock `op` to fd, retrying when a signal interrupts the wait. Throws SyscallError naming `what`. */
export function flockRetrying(fd: number, op: number, what: string): void {
  for (;;) {
    if (sys().flock(fd, op) === 0) return;
    const err = errno();
    if (err !== EINTR) throw new SyscallError("flock", err, what);
  }
}
