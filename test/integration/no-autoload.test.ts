// The executable runs in whatever working directory the runtime has; Bun's compiled binaries would by default load a
// .env (and bunfig.toml) from there. build.ts turns that off: a .env must change nothing, e.g. it must not be able to
// set CNI_NETNS_OVERRIDE and so switch off the own-netns check.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { OURS } from "../support/run-plugin.ts";
import { tempNetns } from "../support/netns.ts";
import { tempDir } from "../support/temp-dir.ts";

const host = tempNetns("noauto");
afterAll(() => host[Symbol.dispose]());

test("a .env in the working directory is not loaded", () => {
  using cwd = tempDir("noauto");
  writeFileSync(`${cwd.path}/.env`, "CNI_NETNS_OVERRIDE=true\n");
  const p = Bun.spawnSync(["ip", "netns", "exec", host.name, `${OURS}/loopback`], {
    cwd: cwd.path,
    env: { PATH: process.env.PATH!, CNI_COMMAND: "DEL", CNI_CONTAINERID: "c1", CNI_NETNS: "/proc/self/ns/net", CNI_IFNAME: "eth0", CNI_PATH: OURS },
    stdin: new TextEncoder().encode('{"cniVersion":"1.0.0","name":"n","type":"loopback"}'),
    stdout: "pipe",
  });
  expect(p.exitCode).toBe(1);
  expect(JSON.parse(p.stdout.toString()).code).toBe(8);
});
