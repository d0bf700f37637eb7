// DESIGN decision 2: when the IPAM plugin found on CNI_PATH is this very executable, it runs in-process (no second
// process start); when it is another binary, it is exec'd exactly as libcni would. Both give the same result.
import { afterAll, expect, test } from "bun:test";
import { copyFileSync, symlinkSync } from "node:fs";
import { OURS, cniEnv, runPlugin } from "../support/run-plugin.ts";
import { tempNetns } from "../support/netns.ts";
import { tempDir } from "../support/temp-dir.ts";

const host = tempNetns("deleg");
afterAll(() => host[Symbol.dispose]());
const hasStrace = Bun.which("strace") !== null;

/** Runs ptp ADD+DEL under strace and returns the programs it exec'd (after its own start) and the ADD result. */
function tracedAdd(cniPath: string, dataDir: string) {
  using ctr = tempNetns("delegctr");
  using trace = tempDir("deleg-trace");
  const conf = { cniVersion: "1.0.0", name: "deleg", type: "ptp", ipam: { type: "host-local", dataDir, subnet: "10.97.0.0/24" } };
  const env = { ...cniEnv("ADD", ctr.path), CNI_PATH: cniPath };
  const r = runPlugin("strace", { dir: "/usr/bin", hostNetns: host.name, env, stdin: conf, args: ["-f", "-qq", "-e", "trace=execve", "-o", `${trace.path}/log`, `${OURS}/ptp`] });
  const execs = (Bun.spawnSync(["cat", `${trace.path}/log`]).stdout.toString().match(/execve\("[^"]+"/g) ?? []).slice(1);
  runPlugin("ptp", { hostNetns: host.name, env: { ...env, CNI_COMMAND: "DEL" }, stdin: conf });
  return { execs, result: r.json };
}

test.skipIf(!hasStrace)("host-local behind our ptp runs in-process when CNI_PATH holds our executable", () => {
  using data = tempDir("deleg-data");
  const { execs, result } = tracedAdd(OURS, data.path);
  expect(result.ips[0].address).toBe("10.97.0.2/24");
  expect(execs.filter((e) => e.includes("host-local"))).toEqual([]);
});

test.skipIf(!hasStrace)("host-local is exec'd when CNI_PATH holds another binary, with the same result", () => {
  using data = tempDir("deleg-data");
  using other = tempDir("deleg-bin");
  // A copy is a different file (another inode): not "our own executable", so it must be exec'd.
  copyFileSync(`${OURS}/cni-plugins`, `${other.path}/cni-plugins`);
  symlinkSync("cni-plugins", `${other.path}/host-local`);
  const { execs, result } = tracedAdd(other.path, data.path);
  expect(result.ips[0].address).toBe("10.97.0.2/24");
  expect(execs.filter((e) => e.includes("host-local"))).toEqual([`execve("${other.path}/host-local"`]);
});
