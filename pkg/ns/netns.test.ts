// pkg/ns/netns.test.ts: opening needs no root; entering, creating and removing run as root in throwaway
// namespaces named cnits-<pid>-*, removed in afterAll even when a test fails.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import {
  createNetns, currentNetnsPath, isSameNetns, NetNS, NetnsNotExistError, openNetns, removeNetns, withNetns,
} from "./netns.ts";

const isRoot = process.getuid?.() === 0;
const prefix = `cnits-${process.pid}-`;

describe("openNetns", () => {
  test("a missing path throws NetnsNotExistError with upstream's text", () => {
    const path = `/run/netns/${prefix}missing`;
    let err: unknown;
    try { openNetns(path); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NetnsNotExistError);
    expect((err as Error).message).toBe(`failed to Statfs "${path}": no such file or directory`);
    expect((err as NetnsNotExistError).path).toBe(path);
  });

  test("a regular file throws the FS magic error, not NetnsNotExistError", () => {
    const dir = mkdtempSync(join(tmpdir(), "cnits-ns-"));
    const file = join(dir, "not-a-netns");
    writeFileSync(file, "x");
    try {
      let err: unknown;
      try { openNetns(file); } catch (e) { err = e; }
      expect(err).toBeInstanceOf(Error);
      expect(err).not.toBeInstanceOf(NetnsNotExistError);
      expect((err as Error).message).toMatch(new RegExp(`^unknown FS magic on "${file}": [0-9a-f]+$`));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  test("procfs and nsfs paths open; close is idempotent and `using` disposes", () => {
    const ns = openNetns("/proc/self/ns/net");
    expect(ns).toBeInstanceOf(NetNS);
    expect(ns.fd).toBeGreaterThan(2);
    expect(ns.path).toBe("/proc/self/ns/net");
    ns.close();
    ns.close();
    {
      using t = openNetns(currentNetnsPath());
      expect(t.fd).toBeGreaterThan(2);
    }
  });

  test("currentNetnsPath names this thread's netns", () => {
    expect(currentNetnsPath()).toBe("/proc/thread-self/ns/net");
    expect(isSameNetns(currentNetnsPath(), "/proc/self/ns/net")).toBe(true);
  });
});

describe.skipIf(!isRoot)("namespaces (root)", () => {
  const made: string[] = [];
  const make = (suffix: string) => {
    const p = createNetns(prefix + suffix);
    made.push(p);
    return p;
  };
  afterAll(() => {
    for (const p of made) removeNetns(p);
  });

  test("createNetns makes a bind-mounted netns under /run/netns that `ip netns` sees", () => {
    const path = make("a");
    expect(path).toBe(`/run/netns/${prefix}a`);
    expect(isSameNetns(path, currentNetnsPath())).toBe(false);
    const list = Bun.spawnSync(["ip", "-j", "netns", "list"]).stdout.toString();
    expect((JSON.parse(list || "[]") as Array<{ name: string }>).map((n) => n.name)).toContain(`${prefix}a`);
    const links = JSON.parse(Bun.spawnSync(["ip", "-j", "-n", `${prefix}a`, "link", "show"]).stdout.toString()) as Array<{ ifname: string }>;
    expect(links.map((l) => l.ifname)).toEqual(["lo"]);
    // creating it again fails and leaves the first intact
    expect(() => createNetns(`${prefix}a`)).toThrow();
    expect(() => openNetns(path).close()).not.toThrow();
  });

  test("withNetns switches in, returns fn's value, and switches back", () => {
    const path = make("b");
    const host = openNetns(currentNetnsPath());
    try {
      const inside = withNetns(path, () => {
        expect(isSameNetns(currentNetnsPath(), path)).toBe(true);
        // a child forked while switched lives in the target netns too
        return Bun.spawnSync(["readlink", "/proc/self/ns/net"]).stdout.toString().trim();
      });
      expect(inside).toBe(`net:[${statSync(path).ino}]`);
      expect(isSameNetns(currentNetnsPath(), path)).toBe(false);
      expect(isSameNetns(currentNetnsPath(), `/proc/${process.pid}/ns/net`)).toBe(true);
      // an open NetNS works too and stays open afterwards
      using ns = openNetns(path);
      expect(withNetns(ns, () => 42)).toBe(42);
      expect(withNetns(ns, () => isSameNetns(currentNetnsPath(), path))).toBe(true);
      expect(withNetns(ns, () => 1)).toBe(1); // still open after use
    } finally {
      host.close();
    }
  });

  test("withNetns switches back when fn throws", () => {
    const path = make("c");
    expect(() => withNetns(path, () => { throw new Error("boom"); })).toThrow("boom");
    expect(isSameNetns(currentNetnsPath(), path)).toBe(false);
  });

  test("withNetns refuses an async fn and still switches back", () => {
    const path = make("d");
    expect(() => withNetns(path, async () => 1)).toThrow("withNetns callback returned a promise; work inside a netns must be synchronous");
    expect(isSameNetns(currentNetnsPath(), path)).toBe(false);
  });

  test("withNetns on a missing path throws NetnsNotExistError without switching", () => {
    expect(() => withNetns(`/run/netns/${prefix}nope`, () => 1)).toThrow(NetnsNotExistError);
  });

  test("removeNetns unmounts and deletes; a second remove is fine", () => {
    const path = createNetns(`${prefix}e`);
    removeNetns(path);
    expect(existsSync(path)).toBe(false);
    expect(Bun.spawnSync(["grep", "-c", path, "/proc/self/mountinfo"]).stdout.toString().trim()).toBe("0");
    expect(() => removeNetns(path)).not.toThrow();
    expect(() => removeNetns(`${prefix}never-made`)).not.toThrow();
    expect(() => openNetns(path)).toThrow(NetnsNotExistError);
  });
});
