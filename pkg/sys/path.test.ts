// Go's path.Clean/Join/Dir and filepath.Abs rules, checked against node:path's POSIX functions where the two agree
// (node keeps a trailing slash in normalize and join; Go drops it) over many seeded random paths.
import { describe, expect, test } from "bun:test";
import { posix } from "node:path";
import { Prng } from "../../test/support/prng.ts";
import { absPath, cleanPath, dirPath, joinPath } from "./path.ts";

const PARTS = ["a", "bc", ".", "..", "", "..."];

function randomPaths(count: number): string[] {
  const prng = new Prng(11);
  const out = ["", "/", ".", "..", "//", "/..", "a/..", "../a", "/run/netns/x"];
  for (let i = 0; i < count; i++) {
    const n = prng.int(6);
    const parts = Array.from({ length: n }, () => PARTS[prng.int(PARTS.length)]!);
    out.push((prng.int(2) ? "/" : "") + parts.join("/"));
  }
  return out;
}

const withoutTrailingSlash = (p: string) => (p.length > 1 && p.endsWith("/") ? p.slice(0, -1) : p);

describe("pkg/sys/path", () => {
  test("cleanPath is Go's path.Clean", () => {
    expect(["", "a//b/", "/../x", "a/../..", "./a/./b/.."].map(cleanPath)).toEqual([".", "a/b", "/x", "..", "a"]);
    for (const p of randomPaths(5000)) expect([p, cleanPath(p)]).toEqual([p, withoutTrailingSlash(posix.normalize(p === "" ? "." : p))]);
  });

  test("joinPath is Go's path.Join (empty parts skipped, all empty gives empty)", () => {
    expect([joinPath(), joinPath("", ""), joinPath("a", "", "b/"), joinPath("/x", "../y")]).toEqual(["", "", "a/b", "/y"]);
    const paths = randomPaths(2000);
    for (let i = 1; i < paths.length; i++) {
      const [a, b] = [paths[i - 1]!, paths[i]!];
      if (a === "" && b === "") continue;
      expect([a, b, joinPath(a, b)]).toEqual([a, b, withoutTrailingSlash(posix.join(a, b))]);
    }
  });

  test("dirPath is Go's path.Dir", () => {
    expect(["/a/b", "/a", "a", "", "a/b/", "/"].map(dirPath)).toEqual(["/a", "/", ".", ".", "a/b", "/"]);
  });

  test("absPath is Go's filepath.Abs: against the working directory, cleaned", () => {
    expect(absPath("/run/netns/../netns/c1/")).toBe("/run/netns/c1");
    for (const p of randomPaths(2000)) expect([p, absPath(p)]).toEqual([p, posix.resolve(p)]);
  });
});
