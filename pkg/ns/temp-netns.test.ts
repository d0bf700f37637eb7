// pkg/ns/temp-netns.test.ts: the unnamed temporary netns (root): a fresh netns with only lo, the thread back home,
// usable through its fd and its /proc/self/fd path, and named nowhere (nothing under /run/netns to clean up).
import { describe, expect, test } from "bun:test";
import { readdirSync, statSync } from "node:fs";
import { listLinks } from "../ip/link.ts";
import { openRouteSocket } from "../ip/nl/socket.ts";
import { withNetns } from "./netns.ts";
import { createTempNetns } from "./temp-netns.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("createTempNetns", () => {
  test("a new netns holding only lo; the thread stays in its own netns", () => {
    const before = statSync("/proc/thread-self/ns/net").ino;
    using tmp = createTempNetns();
    expect(statSync("/proc/thread-self/ns/net").ino).toBe(before);
    expect(tmp.path).toBe(`/proc/self/fd/${tmp.fd}`);
    const ino = statSync(tmp.path).ino;
    expect(ino).not.toBe(before);
    using sock = openRouteSocket(tmp);
    expect(listLinks(sock).map((l) => l.name)).toEqual(["lo"]);
    expect(withNetns(tmp, () => statSync("/proc/thread-self/ns/net").ino)).toBe(ino);
    // Nothing names it (other test runs may be adding their own namespaces meanwhile, so look for this one).
    const named = readdirSync("/run/netns").filter((n) => {
      try {
        return statSync(`/run/netns/${n}`).ino === ino;
      } catch {
        return false;
      }
    });
    expect(named).toEqual([]);
  });

  test("each call makes its own netns", () => {
    using a = createTempNetns();
    using b = createTempNetns();
    expect(statSync(a.path).ino).not.toBe(statSync(b.path).ino);
  });
});
