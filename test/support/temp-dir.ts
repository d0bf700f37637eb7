// test/support/temp-dir.ts: throwaway directories under /tmp named with the per-run prefix and removed even when a
// test fails (`using`), a sweep for the ones a crashed run left behind, and a snapshot of a directory tree (names,
// modes, contents) that a test compares whole with `toEqual`.
import { lstatSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { join } from "node:path";
import { RUN_PREFIX } from "./netns.ts";

export interface TempDir {
  path: string;
  [Symbol.dispose](): void;
}

/** Returns a new empty directory `/tmp/<RUN_PREFIX>-<role>-XXXXXX`; disposing removes it and everything in it. */
export function tempDir(role: string): TempDir {
  const path = mkdtempSync(`/tmp/${RUN_PREFIX}-${role}-`);
  return {
    path,
    [Symbol.dispose]() {
      rmSync(path, { recursive: true, force: true });
    },
  };
}

/** Removes every /tmp directory this run created whose name starts with `<prefix>` (afterAll safety net). */
export function sweepTempDirs(prefix = RUN_PREFIX): void {
  for (const n of readdirSync("/tmp")) if (n.startsWith(prefix)) rmSync(join("/tmp", n), { recursive: true, force: true });
}

/** One entry of a snapshot: permission bits (already umask-free, as read back), and a file's bytes as latin1 text. */
export type Entry = { type: "dir"; mode: number } | { type: "file"; mode: number; content: string } | { type: "other"; mode: number };

/** Returns every entry below dir keyed by its path relative to dir (dir itself not included), in name order. */
export function snapshotDir(dir: string): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  const visit = (rel: string) => {
    for (const name of readdirSync(join(dir, rel)).sort()) {
      const relPath = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, relPath));
      const mode = st.mode & 0o7777;
      if (st.isDirectory()) {
        out[relPath] = { type: "dir", mode };
        visit(relPath);
      } else if (st.isFile()) {
        out[relPath] = { type: "file", mode, content: readFileSync(join(dir, relPath), "latin1") };
      } else {
        out[relPath] = { type: "other", mode };
      }
    }
  };
  visit("");
  return out;
}

/** Returns the snapshot reduced to what two implementations must agree on byte for byte: names and file contents. */
export function namesAndContents(snap: Record<string, Entry>): Record<string, string | null> {
  return Object.fromEntries(Object.entries(snap).map(([k, e]) => [k, e.type === "file" ? e.content : null]));
}

/** Returns mode as created by a process running with this process's umask (plugins inherit it from the test). */
export function underUmask(mode: number): number {
  return mode & ~process.umask();
}
