// bin/cnitool end to end, run as a user runs it inside a throwaway host netns for throwaway container netns, with
// upstream's environment (NETCONFPATH, CNI_PATH, CNI_ARGS, CAP_ARGS, CNI_IFNAME, plus our CNI_CACHE_DIR): a conflist
// of bridge (host-local, ipMasq) and tuning, and a deprecated single-plugin `.conf` (ptp) upconverted to a list.
// add prints the result as upstream's cnitool does; check, status and del print nothing; del twice; gc deletes every
// cached attachment of the network (no valid list, as upstream's); version; the errors a user meets.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { formatResult, parsePrevResult } from "../../pkg/cni/result.ts";
import { cacheEntries, cnitool, cnitoolId, hostCniState, reservations, writeConfs } from "../support/libcni.ts";
import { linkIn } from "../support/link-state.ts";
import { masqChain } from "../support/masquerade.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { mustSkip, OURS } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir, type TempDir } from "../support/temp-dir.ts";

const TAG = "cnitooli";
const skip = mustSkip("cnitool integration", { tools: ["ip", "iptables-save", "nft"], ours: ["cnitool", "bridge", "ptp", "tuning", "host-local"] });
cleanUpAfterAll(TAG);

const BR = `${TAG.slice(0, 6)}0`;
const CAP_MAC = "02:42:0a:58:00:63";

interface World extends Disposable {
  host: TempNetns;
  dirs: TempDir;
  netconf: string;
  data: string;
  cache: string;
  run(args: string[], env?: Record<string, string>): ReturnType<typeof cnitool>;
}

function world(role: string): World {
  const host = tempNetns(`${TAG}-${role}host`);
  const dirs = tempDir(`${TAG}-${role}`);
  ipIn(host, ["link", "set", "lo", "up"]);
  const netconf = `${dirs.path}/net.d`;
  const data = `${dirs.path}/ipam`;
  mkdirSync(netconf);
  writeConfs(netconf, {
    "10-brnet.conflist": {
      cniVersion: "1.1.0",
      name: "brnet",
      plugins: [
        { type: "bridge", bridge: BR, isGateway: true, ipMasq: true, ipam: { type: "host-local", dataDir: data, subnet: "10.88.7.0/24", routes: [{ dst: "0.0.0.0/0" }] } },
        { type: "tuning", capabilities: { mac: true }, dataDir: `${dirs.path}/tuning` },
      ],
    },
  });
  writeFileSync(`${netconf}/20-single.conf`, JSON.stringify({ cniVersion: "1.0.0", name: "single", type: "ptp", ipam: { type: "host-local", dataDir: data, subnet: "10.88.8.0/24" } }));
  const w: World = {
    host, dirs, netconf, data,
    cache: `${dirs.path}/cache`,
    run: (args, env = {}) => cnitool(args, { host, netconf, cacheDir: w.cache, env }),
    [Symbol.dispose]() {
      host[Symbol.dispose]();
      dirs[Symbol.dispose]();
    },
  };
  return w;
}

const silent = { exitCode: 0, stdout: "", stderr: "" };
const outcome = (r: { exitCode: number; stdout: string; stderr: string }) => ({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });

describe.skipIf(skip)("cnitool", () => {
  test("add prints the result; check and status print nothing; del twice leaves nothing", () => {
    using w = world("basic");
    using ctr = tempNetns(`${TAG}-basicctr`);
    const id = cnitoolId(ctr.path);
    const add = w.run(["add", "brnet", ctr.path], { CAP_ARGS: JSON.stringify({ mac: CAP_MAC }), CNI_ARGS: "IgnoreUnknown=1;IP=10.88.7.50" });
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    // Printed as upstream's cnitool prints a result: indented by 4, keys sorted (1.x), no trailing newline.
    expect(add.stdout).toBe(formatResult(parsePrevResult(add.json, "1.1.0"), "1.1.0"));
    expect(add.json.ips).toEqual([{ address: "10.88.7.50/24", gateway: "10.88.7.1", interface: 2 }]);
    expect(linkIn(ctr, "eth0")?.mac).toBe(CAP_MAC);
    expect(hostCniState(w.host).nat).toContain(`:${masqChain("brnet", id)} - [0:0]`);
    expect(cacheEntries(w.cache)).toEqual([`brnet-${id}-eth0`]);

    expect(outcome(w.run(["check", "brnet", ctr.path]))).toEqual(silent);
    expect(outcome(w.run(["status", "brnet", ctr.path]))).toEqual(silent);
    expect(outcome(w.run(["del", "brnet", ctr.path]))).toEqual(silent);
    expect(linkIn(ctr, "eth0")).toBeUndefined();
    expect(hostCniState(w.host)).toEqual({ veths: [], nat: [], nft: [] });
    expect(reservations(w.data, "brnet")).toEqual([]);
    expect(cacheEntries(w.cache)).toEqual([]);
    expect(outcome(w.run(["del", "brnet", ctr.path]))).toEqual(silent);
  });

  test("the interface name comes from -i, else CNI_IFNAME, else eth0; a .conf network works as a list of one", () => {
    using w = world("ifname");
    using c1 = tempNetns(`${TAG}-ifname1`);
    using c2 = tempNetns(`${TAG}-ifname2`);
    using c3 = tempNetns(`${TAG}-ifname3`);
    expect(w.run(["add", "single", c1.path], { CNI_IFNAME: "net1" }).exitCode).toBe(0);
    expect(w.run(["-i", "net2", "add", "single", c2.path], { CNI_IFNAME: "net1" }).exitCode).toBe(0);
    expect(w.run(["add", "single", c3.path], { CNI_IFNAME: "" }).exitCode).toBe(0);
    expect([linkIn(c1, "net1")?.kind, linkIn(c2, "net2")?.kind, linkIn(c3, "eth0")?.kind]).toEqual(["veth", "veth", "veth"]);
    expect(cacheEntries(w.cache)).toEqual([`single-${cnitoolId(c1.path)}-net1`, `single-${cnitoolId(c2.path)}-net2`, `single-${cnitoolId(c3.path)}-eth0`].sort());
    expect(w.run(["del", "single", c1.path], { CNI_IFNAME: "net1" }).exitCode).toBe(0);
    expect(w.run(["--ifname=net2", "del", "single", c2.path]).exitCode).toBe(0);
    expect(w.run(["del", "single", c3.path]).exitCode).toBe(0);
    expect([linkIn(c1, "net1"), linkIn(c2, "net2"), linkIn(c3, "eth0")]).toEqual([undefined, undefined, undefined]);
    expect(reservations(w.data, "single")).toEqual([]);
    expect(cacheEntries(w.cache)).toEqual([]);
  });

  test("gc deletes every cached attachment of the network, and only of that network", () => {
    using w = world("gc");
    using a = tempNetns(`${TAG}-gca`);
    using b = tempNetns(`${TAG}-gcb`);
    expect(w.run(["add", "brnet", a.path]).exitCode).toBe(0);
    expect(w.run(["add", "brnet", b.path]).exitCode).toBe(0);
    expect(w.run(["add", "single", a.path], { CNI_IFNAME: "net9" }).exitCode).toBe(0);
    expect(outcome(w.run(["gc", "brnet", a.path]))).toEqual(silent);
    expect([linkIn(a, "eth0"), linkIn(b, "eth0")]).toEqual([undefined, undefined]);
    expect(reservations(w.data, "brnet")).toEqual([]);
    expect(linkIn(a, "net9")?.kind).toBe("veth");
    expect(cacheEntries(w.cache)).toEqual([`single-${cnitoolId(a.path)}-net9`]);
    expect(w.run(["del", "single", a.path], { CNI_IFNAME: "net9" }).exitCode).toBe(0);
  });

  test("version: ours, and every plugin's VERSION answer for a network", () => {
    using w = world("version");
    const own = w.run(["version"]);
    expect(own.exitCode).toBe(0);
    expect(own.stdout).toMatch(/^cnitool v\S+ /);
    const v = w.run(["version", "brnet"]);
    expect(v.exitCode).toBe(0);
    const all = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
    expect(v.json).toEqual({ bridge: { cniVersion: "1.1.0", supportedVersions: all }, tuning: { cniVersion: "1.1.0", supportedVersions: all } });
  });

  test("errors: usage, an unknown network, bad CNI_ARGS or CAP_ARGS, a failing plugin (nothing left), a STATUS of 50", () => {
    using w = world("errors");
    using ctr = tempNetns(`${TAG}-errctr`);
    const usage = w.run(["add", "brnet"]);
    expect([usage.exitCode, usage.stdout]).toEqual([1, ""]);
    expect(usage.stderr).toStartWith("cnitool: Add, check, remove, gc or status network interfaces from a network namespace\n");
    expect(outcome(w.run(["add", "nope", ctr.path]))).toEqual({ exitCode: 1, stdout: "", stderr: `no net configuration with name "nope" in ${w.netconf}\n` });
    expect(outcome(w.run(["add", "brnet", ctr.path], { CNI_ARGS: "A=1;B" }))).toEqual({ exitCode: 1, stdout: "", stderr: 'invalid CNI_ARGS pair "B"\n' });
    expect(outcome(w.run(["add", "brnet", ctr.path], { CAP_ARGS: "[1]" }))).toEqual({ exitCode: 1, stdout: "", stderr: "json: cannot unmarshal array into Go value of type map[string]interface {}\n" });
    // host-local refuses an IP outside its range: bridge fails, rolls back, and nothing is cached.
    const bad = w.run(["add", "brnet", ctr.path], { CNI_ARGS: "IP=10.99.0.9" });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toStartWith('plugin type="bridge" failed (add): ');
    expect(linkIn(ctr, "eth0")).toBeUndefined();
    expect(cacheEntries(w.cache)).toEqual([]);
    // STATUS: host-local cannot write its store (dataDir lies under a regular file).
    writeFileSync(`${w.dirs.path}/file`, "");
    writeConfs(w.netconf, { "30-broken.conflist": { cniVersion: "1.1.0", name: "broken", plugins: [{ type: "ptp", ipam: { type: "host-local", dataDir: `${w.dirs.path}/file/ipam`, subnet: "10.88.9.0/24" } }] } });
    const status = w.run(["status", "broken", ctr.path]);
    expect([status.exitCode, status.stdout]).toEqual([1, ""]);
    expect(status.stderr).toStartWith(`host-local: cannot store reservations in "${w.dirs.path}/file/ipam/broken"`);
  });
});

test.skipIf(skip)("cnitool is served by the one executable", () => {
  const p = Bun.spawnSync([`${OURS}/cni-plugins`], { stdout: "pipe" });
  expect(p.stdout.toString()).toContain("\nTools:\n  cnitool");
});
