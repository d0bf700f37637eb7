import { afterAll, expect, test } from "bun:test";
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { thrown } from "../../test/support/thrown.ts";
import { CniError } from "../cni/errors.ts";
import { execPlugin } from "./exec.ts";
import { findInPath } from "./find.ts";

const dir = mkdtempSync(`${tmpdir()}/cnit-invoke-`);
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const p = `${dir}/${name}`;
  writeFileSync(p, `#!/bin/sh\n${body}\n`);
  chmodSync(p, 0o755);
  return p;
}

const errorOf = (f: () => unknown) => thrown(f) as CniError;

test("findInPath takes the first directory holding a regular file of that name", () => {
  mkdirSync(`${dir}/a/x`, { recursive: true }); // a directory named like the plugin does not count
  mkdirSync(`${dir}/b`, { recursive: true });
  writeFileSync(`${dir}/b/x`, "");
  expect(findInPath("x", `${dir}/nope:${dir}/a:${dir}/b`)).toBe(`${dir}/b/x`);
});

test("findInPath refuses empty names, names with a slash, and an empty path", () => {
  expect(() => findInPath("", dir)).toThrow("no plugin name provided");
  expect(() => findInPath("../../bin/sh", dir)).toThrow("invalid plugin name: ../../bin/sh");
  expect(() => findInPath("/bin/sh", dir)).toThrow("invalid plugin name: /bin/sh");
  expect(() => findInPath("x", "")).toThrow("no paths provided");
  expect(() => findInPath("missing", `${dir}/a:${dir}/b`)).toThrow(`failed to find plugin "missing" in path [${dir}/a ${dir}/b]`);
});

test("execPlugin passes stdin and env and returns stdout", () => {
  const p = script("echo", 'printf "%s|" "$CNI_COMMAND"; cat');
  expect(new TextDecoder().decode(execPlugin(p, new TextEncoder().encode("{}"), { CNI_COMMAND: "ADD" }))).toBe("ADD|{}");
});

test("a delegate's error object is re-raised with its code, msg and details", () => {
  const p = script("err", `echo '{"code":7,"msg":"bad range","details":"d"}'; exit 1`);
  const e = errorOf(() => execPlugin(p, new Uint8Array([1]), {}));
  expect(e).toBeInstanceOf(CniError);
  expect(e.toJSON()).toEqual({ code: 7, msg: "bad range", details: "d" });
});

test("a failure without output is described as upstream does", () => {
  expect(errorOf(() => execPlugin(script("silent", "exit 3"), new Uint8Array([1]), {})).toJSON())
    .toEqual({ code: 0, msg: "netplugin failed with no error message: exit status 3" });
  expect(errorOf(() => execPlugin(script("stderr", 'echo "oops \\"x\\"" >&2; exit 1'), new Uint8Array([1]), {})).toJSON())
    .toEqual({ code: 0, msg: 'netplugin failed: "oops \\"x\\"\\n"' });
  expect(errorOf(() => execPlugin(script("garbage", "echo notjson; exit 1"), new Uint8Array([1]), {})).msg)
    .toStartWith('netplugin failed but error parsing its diagnostic message "notjson\\n": ');
});

test("a binary still open for writing (ETXTBSY) is retried", async () => {
  const p = script("busy", "echo done");
  // Another process holds the file open for writing for ~1.2 s; the first exec fails with ETXTBSY.
  const holder = Bun.spawn(["sh", "-c", `exec 3>>${p}; echo ready; sleep 1.2`], { stdout: "pipe" });
  await holder.stdout.getReader().read(); // the file is open for writing once "ready" arrives
  expect(new TextDecoder().decode(execPlugin(p, new Uint8Array([1]), {}))).toBe("done\n");
  holder.kill();
});
