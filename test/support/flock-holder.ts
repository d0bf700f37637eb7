// test/support/flock-holder.ts: another process holding flock(LOCK_EX) on a file, and /proc/locks to see who holds
// or waits for it. Used to show that a plugin waits on a lock (sbr's netns lock, the netfilter shared-chains lock).
import { readFileSync, statSync } from "node:fs";
import { waitFor } from "./wait.ts";

export interface FlockHolder extends AsyncDisposable {
  /** Whether /proc/locks lists a holder of the file's lock (waiting=false) or a waiter for it (waiting=true). */
  listed(waiting: boolean): boolean;
  /** Lets go of the lock: the holder process ends. */
  release(): Promise<void>;
}

/** Starts `flock -x path sleep 60` and returns once it holds the lock. */
export function holdFlock(path: string): FlockHolder {
  // --no-fork: flock(1) becomes `sleep`, so killing it lets go of the lock (a forked sleep would keep it)
  const holder = Bun.spawn(["flock", "--no-fork", "-x", path, "sleep", "60"], { stdout: "ignore", stderr: "ignore" });
  const ino = statSync(path).ino;
  // /proc/locks: `N: FLOCK ADVISORY WRITE <pid> <maj>:<min>:<ino> 0 EOF`, a waiter's line with `->` after N:
  const listed = (waiting: boolean) =>
    readFileSync("/proc/locks", "utf8").split("\n").some((l) => l.includes(`:${ino} `) && l.includes("->") === waiting);
  const release = async () => {
    holder.kill();
    await holder.exited;
  };
  try {
    waitFor(() => listed(false), `flock(1) to hold ${path}`);
  } catch (e) {
    holder.kill();
    throw e;
  }
  return { listed, release, [Symbol.asyncDispose]: release };
}
