// meta/flannel/scratch.test.ts: the scratch file on disk as upstream's saveScratchNetConf/consumeScratchNetConf
// leave it: modes, bytes, Go's error texts, and putting back what an ADD that failed overwrote. No root needed.
import { expect, test } from "bun:test";
import { chmodSync, existsSync, lstatSync, mkdirSync, readFileSync, statSync, symlinkSync, writeFileSync } from "node:fs";
import { tempDir, underUmask } from "../../test/support/temp-dir.ts";
import { readScratch, removeScratch, saveScratch, scratchPath } from "./scratch.ts";

const bytes = (s: string) => new TextEncoder().encode(s);
const text = (b: Uint8Array | undefined) => (b ? new TextDecoder().decode(b) : undefined);

test("save makes the directories 0700 and the file 0600 with exactly the bytes; read and remove", () => {
  using t = tempDir("flannel-scratch");
  const dataDir = `${t.path}/a/b`;
  saveScratch(dataDir, "ctr1", bytes('{"type":"bridge"}'));
  expect(statSync(`${t.path}/a`).mode & 0o7777).toBe(underUmask(0o700));
  expect(statSync(dataDir).mode & 0o7777).toBe(underUmask(0o700));
  expect(statSync(`${dataDir}/ctr1`).mode & 0o7777).toBe(underUmask(0o600));
  expect(readFileSync(`${dataDir}/ctr1`, "latin1")).toBe('{"type":"bridge"}');
  expect(text(readScratch(dataDir, "ctr1"))).toBe('{"type":"bridge"}');
  removeScratch(dataDir, "ctr1");
  expect(existsSync(`${dataDir}/ctr1`)).toBe(false);
  expect(readScratch(dataDir, "ctr1")).toBeUndefined();
  removeScratch(dataDir, "ctr1"); // gone already: fine
});

test("an existing directory keeps its mode; an existing file is truncated and keeps its mode", () => {
  using t = tempDir("flannel-scratch");
  chmodSync(t.path, 0o755);
  writeFileSync(`${t.path}/ctr1`, "a much longer old content", { mode: 0o644 });
  chmodSync(`${t.path}/ctr1`, 0o644);
  saveScratch(t.path, "ctr1", bytes("new"));
  expect(statSync(t.path).mode & 0o7777).toBe(0o755);
  expect(statSync(`${t.path}/ctr1`).mode & 0o7777).toBe(0o644);
  expect(readFileSync(`${t.path}/ctr1`, "latin1")).toBe("new");
});

test("the undo of a save puts back the old bytes, or removes the file it made", () => {
  using t = tempDir("flannel-scratch");
  saveScratch(t.path, "new", bytes("x"))();
  expect(existsSync(`${t.path}/new`)).toBe(false);
  writeFileSync(`${t.path}/old`, "first attachment");
  saveScratch(t.path, "old", bytes("second"))();
  expect(readFileSync(`${t.path}/old`, "latin1")).toBe("first attachment");
});

test("paths are joined and cleaned as filepath.Join does", () => {
  expect(scratchPath("/var/lib/cni/flannel/", "c1")).toBe("/var/lib/cni/flannel/c1");
  expect(scratchPath("/a//b/../c", "c1")).toBe("/a/c/c1");
  expect(scratchPath("", "c1")).toBe("c1");
});

test("Go's words when the directory cannot be made or the file not read", () => {
  using t = tempDir("flannel-scratch");
  writeFileSync(`${t.path}/file`, "");
  expect(() => saveScratch(`${t.path}/file`, "c1", bytes("x"))).toThrow(`mkdir ${t.path}/file: not a directory`);
  expect(() => saveScratch(`${t.path}/file/sub`, "c1", bytes("x"))).toThrow(`mkdir ${t.path}/file: not a directory`);
  expect(() => saveScratch("", "c1", bytes("x"))).toThrow("mkdir : no such file or directory");
  mkdirSync(`${t.path}/d/c1`, { recursive: true });
  expect(() => saveScratch(`${t.path}/d`, "c1", bytes("x"))).toThrow(`open ${t.path}/d/c1: is a directory`);
  expect(() => readScratch(`${t.path}/d`, "c1")).toThrow(`read ${t.path}/d/c1: is a directory`);
  expect(() => readScratch(`${t.path}/file`, "c1")).toThrow(`open ${t.path}/file/c1: not a directory`);
});

test.skipIf(!existsSync("/dev/full"))("a write that fails is Go's `write` error; what was there is not removed", () => {
  using t = tempDir("flannel-scratch");
  symlinkSync("/dev/full", `${t.path}/c1`);
  expect(() => saveScratch(t.path, "c1", bytes("x"))).toThrow(`write ${t.path}/c1: no space left on device`);
  expect(lstatSync(`${t.path}/c1`).isSymbolicLink()).toBe(true);
});
