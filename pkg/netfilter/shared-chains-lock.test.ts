// pkg/netfilter/shared-chains-lock.test.ts: the lock is a flock on this netns's nsfs inode, held exactly while fn
// runs, reentrant within the process, and let go when fn throws.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import { EAGAIN, errno, sys } from "../sys/libc.ts";
import { LOCK_EX, LOCK_UN } from "../sys/flock.ts";
import { withSharedChainsLock } from "./shared-chains-lock.ts";

const LOCK_NB = 4;

// flock belongs to the open file description: a second open of the netns file competes, even in-process.
function lockedByOther(): boolean {
  const other = fs.openSync("/proc/thread-self/ns/net", "r");
  try {
    if (sys().flock(other, LOCK_EX | LOCK_NB) === 0) {
      sys().flock(other, LOCK_UN);
      return false;
    }
    expect(errno()).toBe(EAGAIN);
    return true;
  } finally {
    fs.closeSync(other);
  }
}

test("holds the netns file's flock while fn runs, and returns fn's result", () => {
  expect(lockedByOther()).toBe(false);
  expect(withSharedChainsLock(() => lockedByOther())).toBe(true);
  expect(withSharedChainsLock(() => 42)).toBe(42);
  expect(lockedByOther()).toBe(false);
});

test("a nested call runs without waiting on the outer one, which still holds the lock after it", () => {
  withSharedChainsLock(() => {
    expect(withSharedChainsLock(() => lockedByOther())).toBe(true);
    expect(lockedByOther()).toBe(true);
  });
  expect(lockedByOther()).toBe(false);
});

test("lets go when fn throws", () => {
  expect(() => withSharedChainsLock(() => {
    throw new Error("boom");
  })).toThrow("boom");
  expect(lockedByOther()).toBe(false);
  expect(withSharedChainsLock(() => lockedByOther())).toBe(true);
});
