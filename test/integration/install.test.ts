// `make install` puts the one executable and a link per plugin under DESTDIR/PREFIX; `make uninstall` removes
// exactly those and nothing else.
import { expect, test } from "bun:test";
import { existsSync, readdirSync, readlinkSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { PLUGINS, TOOLS } from "../../registry.ts";
import { tempDir } from "../support/temp-dir.ts";

const ROOT = resolve(import.meta.dir, "../..");
const hasMake = Bun.which("make") !== null;

function make(...args: string[]) {
  const p = Bun.spawnSync(["make", "-s", "-C", ROOT, ...args], { stdout: "pipe", stderr: "pipe" });
  expect(p.stderr.toString()).toBe("");
  expect(p.exitCode).toBe(0);
}

test.skipIf(!hasMake)("make install DESTDIR= PREFIX= installs the executable and its links; uninstall removes just those", () => {
  using dest = tempDir("install");
  const dir = `${dest.path}/opt/cni/bin`;
  make("install", `DESTDIR=${dest.path}`, "PREFIX=/opt/cni/bin");
  const names = [...Object.keys(PLUGINS), ...Object.keys(TOOLS)];
  expect(readdirSync(dir).sort()).toEqual(["cni-plugins", ...names].sort());
  for (const n of names) expect(readlinkSync(`${dir}/${n}`)).toBe("cni-plugins");
  const v = Bun.spawnSync([`${dir}/loopback`], { env: { CNI_COMMAND: "VERSION" } });
  expect(JSON.parse(v.stdout.toString()).supportedVersions).toContain("1.1.0");

  writeFileSync(`${dir}/someone-elses-plugin`, "");
  make("uninstall", `DESTDIR=${dest.path}`, "PREFIX=/opt/cni/bin");
  expect(readdirSync(dir)).toEqual(["someone-elses-plugin"]);
  expect(existsSync(`${dir}/cni-plugins`)).toBe(false);
});
