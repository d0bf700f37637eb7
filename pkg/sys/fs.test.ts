// pkg/sys/fs.test.ts: the libc file calls against node:fs on the same files: same results, same error shape.
import { afterEach, expect, test } from "bun:test";
import * as node from "node:fs";
import * as os from "node:os";
import * as files from "./fs.ts";
import { goPathError } from "./go-path-error.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) node.rmSync(d, { recursive: true, force: true });
});
function tempDir(): string {
  const d = node.mkdtempSync(`${os.tmpdir()}/sys-fs-`);
  dirs.push(d);
  return d;
}

/** The error a call throws, reduced to what callers read from it. */
function failure(fn: () => unknown): { code?: string; errno?: number; syscall?: string; path?: string; message: string } {
  try {
    fn();
  } catch (e) {
    const { code, errno, syscall, path, message } = e as NodeJS.ErrnoException;
    return { code, errno, syscall, path, message };
  }
  throw new Error("did not throw");
}

test("write, read back as bytes, utf8 and latin1; mode before umask; truncating rewrite", () => {
  const d = tempDir();
  files.writeFileSync(`${d}/a`, "héllo\n", { mode: 0o600 });
  expect(node.statSync(`${d}/a`).mode & 0o777).toBe(0o600 & ~process.umask());
  expect(files.readFileSync(`${d}/a`, "utf8")).toBe("héllo\n");
  expect(files.readFileSync(`${d}/a`, "latin1")).toBe(node.readFileSync(`${d}/a`, "latin1"));
  expect([...files.readFileSync(`${d}/a`)]).toEqual([...node.readFileSync(`${d}/a`)]);
  files.writeFileSync(`${d}/a`, "x");
  expect(node.readFileSync(`${d}/a`, "utf8")).toBe("x");
  const big = "y".repeat(200_000);
  files.writeFileSync(`${d}/big`, big);
  expect(files.readFileSync(`${d}/big`, "utf8")).toBe(big);
});

test("overwrite: creates with mode, then leaves exactly the new bytes whether they are shorter or longer", () => {
  const d = tempDir();
  files.overwriteFileSync(`${d}/ip`, "10.213.0.10", { mode: 0o600 });
  expect(node.statSync(`${d}/ip`).mode & 0o777).toBe(0o600 & ~process.umask());
  expect(node.readFileSync(`${d}/ip`, "utf8")).toBe("10.213.0.10");
  files.overwriteFileSync(`${d}/ip`, "10.213.0.9");
  expect(node.readFileSync(`${d}/ip`, "utf8")).toBe("10.213.0.9");
  files.overwriteFileSync(`${d}/ip`, "fd00::1:2:3:4:5");
  expect(node.readFileSync(`${d}/ip`, "utf8")).toBe("fd00::1:2:3:4:5");
  expect(node.statSync(`${d}/ip`).mode & 0o777).toBe(0o600 & ~process.umask()); // an existing file keeps its mode
});

test("errors carry node's code, negative errno, syscall and path, and word as node's", () => {
  const d = tempDir();
  for (const [ours, theirs] of [
    [() => files.readFileSync(`${d}/missing`), () => node.readFileSync(`${d}/missing`)],
    [() => files.unlinkSync(`${d}/missing`), () => node.unlinkSync(`${d}/missing`)],
    [() => files.mkdirSync(`${d}/x/y`), () => node.mkdirSync(`${d}/x/y`)],
    [() => files.readdirSync(`${d}/missing`), () => node.readdirSync(`${d}/missing`)],
  ] as const) {
    expect(failure(ours)).toEqual(failure(theirs));
  }
  expect(failure(() => files.openSync(`${d}/missing`, files.constants.O_RDONLY)).code).toBe("ENOENT");
  expect(goPathError(`${d}/m`, (() => { try { files.unlinkSync(`${d}/m`); } catch (e) { return e; } })()).message)
    .toBe(`remove ${d}/m: no such file or directory`);
});

test("exclusive create, write at the fd, rename, rm with and without force, exists, access", () => {
  const d = tempDir();
  const { O_RDWR, O_CREAT, O_EXCL, W_OK } = files.constants;
  const fd = files.openSync(`${d}/r`, O_RDWR | O_CREAT | O_EXCL, 0o600);
  expect(files.writeSync(fd, "id\r\neth0")).toBe(8);
  files.fsyncSync(fd);
  files.closeSync(fd);
  expect(failure(() => files.openSync(`${d}/r`, O_RDWR | O_CREAT | O_EXCL)).code).toBe("EEXIST");
  files.renameSync(`${d}/r`, `${d}/s`);
  expect([files.existsSync(`${d}/r`), files.existsSync(`${d}/s`)]).toEqual([false, true]);
  expect(node.readFileSync(`${d}/s`, "utf8")).toBe("id\r\neth0");
  files.accessSync(`${d}/s`, W_OK);
  files.rmSync(`${d}/s`);
  files.rmSync(`${d}/s`, { force: true });
  expect(failure(() => files.rmSync(`${d}/s`)).code).toBe("ENOENT");
});

test("mkdir recursive makes parents, accepts an existing directory, refuses a file in the way", () => {
  const d = tempDir();
  files.mkdirSync(`${d}/a/b/c`, { recursive: true, mode: 0o755 });
  files.mkdirSync(`${d}/a/b/c`, { recursive: true });
  expect(node.statSync(`${d}/a/b/c`).isDirectory()).toBe(true);
  expect(failure(() => files.mkdirSync(`${d}/a`)).code).toBe("EEXIST");
  node.writeFileSync(`${d}/f`, "");
  expect(failure(() => files.mkdirSync(`${d}/f`, { recursive: true })).code).toBe("EEXIST");
  expect(failure(() => files.mkdirSync(`${d}/f/g`, { recursive: true })).code).toBe("ENOTDIR");
});

test("stat and lstat: type, size, identity; readdir names and types as node's", () => {
  const d = tempDir();
  node.writeFileSync(`${d}/file`, "12345");
  node.mkdirSync(`${d}/sub`);
  node.symlinkSync("file", `${d}/link`);
  const st = files.statSync(`${d}/link`);
  expect([st.isFile(), st.size]).toEqual([true, 5]);
  expect(files.lstatSync(`${d}/link`).isSymbolicLink()).toBe(true);
  expect(files.statSync(`${d}/sub`).isDirectory()).toBe(true);
  expect(st.ino).toBe(BigInt(node.statSync(`${d}/file`).ino));
  const a = files.statSync(`${d}/file`);
  expect([a.dev, a.ino]).toEqual([st.dev, st.ino]);
  expect(files.readdirSync(d).sort()).toEqual(node.readdirSync(d).sort());
  const typed = files.readdirSync(d, { withFileTypes: true }).map((e) => [e.name, e.isFile(), e.isDirectory()]);
  const theirs = node.readdirSync(d, { withFileTypes: true }).map((e) => [e.name, e.isFile(), e.isDirectory()]);
  expect(typed.sort()).toEqual(theirs.sort());
  expect(files.readdirSync(`${d}/sub`)).toEqual([]);
});

test("files of every size around the read buffer's doublings read back whole", () => {
  const d = tempDir();
  for (const size of [0, 1, 4095, 4096, 4097, 8192, 8193, 70000, 300001]) {
    const data = new Uint8Array(size);
    for (let i = 0; i < size; i++) data[i] = (i * 131 + (i >> 8)) & 0xff;
    node.writeFileSync(`${d}/f`, data);
    expect([size, Buffer.compare(files.readFileSync(`${d}/f`), data)]).toEqual([size, 0]);
  }
});

test("readToEnd keeps every chunk a reader gives, however it splits them", () => {
  const text = "x".repeat(10000);
  for (const step of [1, 7, 4096, 5000, 20000]) {
    let at = 0;
    const got = files.readToEnd((into) => {
      const n = Math.min(step, into.length, text.length - at);
      for (let i = 0; i < n; i++) into[i] = text.charCodeAt(at + i);
      at += n;
      return n;
    }, 16);
    expect([step, new TextDecoder().decode(got)]).toEqual([step, text]);
  }
});
