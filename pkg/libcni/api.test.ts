// libcni's API over stand-in plugins (test/support/fake-plugins.ts): what each plugin of a list gets on stdin and in
// its env for every verb, the cache, GC and STATUS. No root: the fake plugins only record and answer.
import { afterAll, expect, test } from "bun:test";
import { chmodSync, existsSync, readdirSync, writeFileSync } from "node:fs";
import { fakePlugins, type FakePlugins } from "../../test/support/fake-plugins.ts";
import { tempDir } from "../../test/support/temp-dir.ts";
import { CNIConfig, type RuntimeConf } from "./api.ts";
import { networkConfFromBytes, type NetworkConfigList } from "./conf.ts";
import { cniErrorOf } from "./exec.ts";

const fake = fakePlugins("libcni-api", ["fake-a", "fake-b", "fake-c"]);
const cache = tempDir("libcni-api-cache");
afterAll(() => {
  fake[Symbol.dispose]();
  cache[Symbol.dispose]();
});

const RESULT_A = { cniVersion: "1.1.0", interfaces: [{ name: "eth0", sandbox: "/ns" }], ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }] };
const RESULT_B = { ...RESULT_A, routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }] };
const RESULT_C = { ...RESULT_B, dns: { nameservers: ["10.0.0.1"] } };

function setup(f: FakePlugins = fake): CNIConfig {
  f.clear();
  for (const t of ["fake-a", "fake-b", "fake-c"]) Bun.spawnSync(["rm", "-f", `${f.state}/fail-${t}-ADD.json`, `${f.state}/fail-${t}-DEL.json`, `${f.state}/fail-${t}-STATUS.json`, `${f.state}/versions-${t}.json`]);
  f.result("fake-a", RESULT_A);
  f.result("fake-b", RESULT_B);
  f.result("fake-c", RESULT_C);
  return new CNIConfig({ path: ["/nonexistent", f.bin], cacheDir: cache.path, env: { PATH: process.env.PATH, FAKE_DIR: f.state } });
}

function netList(o: object = {}): NetworkConfigList {
  return networkConfFromBytes(new TextEncoder().encode(JSON.stringify({
    cniVersion: "1.1.0",
    name: "net1",
    plugins: [
      { type: "fake-a", capabilities: { portMappings: true, mac: false } },
      { type: "fake-b", capabilities: { mac: true }, runtimeConfig: { keep: "replaced" } },
      { type: "fake-c" },
    ],
    ...o,
  })));
}

let ids = 0;
function rt(o: Partial<RuntimeConf> = {}): RuntimeConf {
  return { containerId: `ctr${++ids}`, netns: "/run/netns/x", ifname: "eth0", args: [["K8S_POD_NAME", "p1"], ["IgnoreUnknown", "1"]], capabilityArgs: { portMappings: [{ hostPort: 80 }], mac: "0a:00:00:00:00:01" }, ...o };
}

const cacheFiles = () => (existsSync(`${cache.path}/results`) ? readdirSync(`${cache.path}/results`).sort() : []);

test("ADD runs the plugins in order, each with the previous result, its capabilities' runtimeConfig and the CNI_* env", async () => {
  const cni = setup();
  const r = rt();
  const result = await cni.addNetworkList(netList(), r);
  expect(result).toEqual(RESULT_C);
  const calls = fake.calls();
  expect(calls.map((c) => `${c.type} ${c.command}`)).toEqual(["fake-a ADD", "fake-b ADD", "fake-c ADD"]);
  expect(calls[0]!.stdin).toEqual({ capabilities: { mac: false, portMappings: true }, cniVersion: "1.1.0", name: "net1", runtimeConfig: { portMappings: [{ hostPort: 80 }] }, type: "fake-a" });
  // A declared capability replaces the file's own runtimeConfig, as upstream's InjectConf does.
  expect(calls[1]!.stdin).toEqual({ capabilities: { mac: true }, cniVersion: "1.1.0", name: "net1", prevResult: RESULT_A, runtimeConfig: { mac: "0a:00:00:00:00:01" }, type: "fake-b" });
  expect(calls[2]!.stdin).toEqual({ cniVersion: "1.1.0", name: "net1", prevResult: RESULT_B, type: "fake-c" });
  expect(calls[0]!.env).toEqual({
    CNI_COMMAND: "ADD", CNI_CONTAINERID: r.containerId, CNI_NETNS: "/run/netns/x", CNI_IFNAME: "eth0", CNI_ARGS: "K8S_POD_NAME=p1;IgnoreUnknown=1", CNI_PATH: `/nonexistent:${fake.bin}`,
  });
  expect(cni.getNetworkListCachedResult(netList(), r)).toEqual(RESULT_C);
  expect(cni.getNetworkListCachedResult(netList({ cniVersion: "1.0.0" }), r)).toEqual({ ...RESULT_C, cniVersion: "1.0.0" });
});

test("a result without cniVersion is the config's version; a result in another family is passed on as it is", async () => {
  const cni = setup();
  fake.result("fake-a", { ips: [{ address: "10.0.0.2/24" }] });
  fake.result("fake-b", { cniVersion: "0.4.0", ips: [{ version: "4", address: "10.0.0.3/24" }] });
  const result = await cni.addNetworkList(netList({ cniVersion: "1.0.0" }), rt());
  const [, b, c] = fake.calls();
  expect(b!.stdin.prevResult).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] });
  expect(c!.stdin.prevResult).toEqual({ cniVersion: "0.4.0", ips: [{ version: "4", address: "10.0.0.3/24" }], dns: {} });
  expect(result).toEqual(RESULT_C);
});

test("CHECK passes the cached result; disableCheck skips it; before 0.4.0 it is an error", async () => {
  const cni = setup();
  const r = rt();
  await cni.addNetworkList(netList({ cniVersion: "1.0.0" }), r);
  fake.clear();
  await cni.checkNetworkList(netList({ cniVersion: "1.0.0" }), r);
  expect(fake.calls().map((c) => [c.type, c.command, c.stdin.prevResult])).toEqual(
    ["fake-a", "fake-b", "fake-c"].map((t) => [t, "CHECK", { ...RESULT_C, cniVersion: "1.0.0" }]),
  );
  fake.clear();
  for (const v of [true, "true", "TRUE"]) await cni.checkNetworkList(netList({ cniVersion: "1.0.0", disableCheck: v }), r);
  expect(fake.calls()).toEqual([]);
  await expect(cni.checkNetworkList(netList({ cniVersion: "0.3.1" }), r)).rejects.toThrow('configuration version "0.3.1" does not support the CHECK command');
  // Nothing cached: the plugins get no prevResult.
  await cni.checkNetworkList(netList(), rt());
  expect(fake.calls().map((c) => c.stdin.prevResult)).toEqual([undefined, undefined, undefined]);
});

test("DEL runs in reverse with the cached result and removes the cache; before 0.4.0 without it; a broken cache is dropped", async () => {
  const cni = setup();
  const r = rt();
  await cni.addNetworkList(netList(), r);
  const file = `net1-${r.containerId}-eth0`;
  expect(cacheFiles()).toContain(file);
  fake.clear();
  await cni.delNetworkList(netList(), r);
  expect(fake.calls().map((c) => [c.type, c.command, c.stdin.prevResult])).toEqual(["fake-c", "fake-b", "fake-a"].map((t) => [t, "DEL", RESULT_C]));
  expect(cacheFiles()).not.toContain(file);

  await cni.addNetworkList(netList({ cniVersion: "0.3.1" }), r);
  fake.clear();
  await cni.delNetworkList(netList({ cniVersion: "0.3.1" }), r);
  expect(fake.calls().map((c) => c.stdin.prevResult)).toEqual([undefined, undefined, undefined]);

  writeFileSync(`${cache.path}/results/${file}`, '{"kind":"cniCacheV1","result":{"cniVersion":"1.1.0","ips":[{"address":"bogus"}]}}');
  fake.clear();
  await cni.delNetworkList(netList(), r);
  expect(fake.calls().map((c) => c.stdin.prevResult)).toEqual([undefined, undefined, undefined]);
  expect(cacheFiles()).not.toContain(file);
});

test("a failing plugin stops the list; its error keeps its code under upstream's wrapping", async () => {
  const cni = setup();
  fake.fail("fake-b", "ADD", { code: 7, msg: "bad config", details: "field x" });
  const err = await cni.addNetworkList(netList(), rt()).catch((e) => e);
  expect(err.message).toBe('plugin type="fake-b" failed (add): bad config; field x');
  expect(cniErrorOf(err)?.toJSON()).toEqual({ code: 7, msg: "bad config", details: "field x" });
  expect(fake.calls().map((c) => c.type)).toEqual(["fake-a", "fake-b"]);
  fake.fail("fake-b", "DEL", { code: 11, msg: "busy" });
  expect((await cni.delNetworkList(netList(), rt()).catch((e) => e)).message).toBe('plugin type="fake-b" failed (delete): busy');
});

test("ADD checks the container ID, network name and interface name first, with upstream's codes", async () => {
  const cni = setup();
  const code = async (l: NetworkConfigList, r: RuntimeConf) => cniErrorOf(await cni.addNetworkList(l, r).catch((e) => e))?.toJSON();
  expect(await code(netList(), rt({ containerId: "" }))).toEqual({ code: 3, msg: "missing containerID" });
  expect(await code(netList(), rt({ containerId: "a b" }))).toEqual({ code: 4, msg: "invalid characters in containerID", details: "a b" });
  expect(await code(netList({ name: "" }), rt())).toEqual({ code: 7, msg: "missing network name:" });
  expect(await code(netList({ name: "a/b" }), rt())).toEqual({ code: 7, msg: "invalid characters found in network name", details: "a/b" });
  expect(await code(netList(), rt({ ifname: "a:b" }))).toEqual({ code: 4, msg: "interface name contains / or : or whitespace characters" });
  const missing = await cni.addNetworkList(netList({ plugins: [{ type: "nope" }] }), rt()).catch((e) => e);
  expect(missing.message).toBe(`plugin type="nope" failed (add): failed to find plugin "nope" in path [/nonexistent ${fake.bin}]`);
  expect(fake.calls()).toEqual([]);
});

test("STATUS asks every plugin from 1.1.0 on with no attachment; the first failure comes back with its code", async () => {
  const cni = setup();
  await cni.getStatusNetworkList(netList({ cniVersion: "1.0.0" }));
  expect(fake.calls()).toEqual([]);
  await cni.getStatusNetworkList(netList());
  const calls = fake.calls();
  expect(calls.map((c) => `${c.type} ${c.command}`)).toEqual(["fake-a STATUS", "fake-b STATUS", "fake-c STATUS"]);
  expect(calls[1]!.stdin).toEqual({ capabilities: { mac: true }, cniVersion: "1.1.0", name: "net1", runtimeConfig: { keep: "replaced" }, type: "fake-b" });
  expect(calls[1]!.env).toEqual({ CNI_COMMAND: "STATUS", CNI_CONTAINERID: "", CNI_NETNS: "", CNI_IFNAME: "", CNI_ARGS: "", CNI_PATH: `/nonexistent:${fake.bin}` });
  fake.clear();
  fake.fail("fake-b", "STATUS", { code: 50, msg: "not available" });
  const err = await cni.getStatusNetworkList(netList()).catch((e) => e);
  expect(cniErrorOf(err)?.toJSON()).toEqual({ code: 50, msg: "not available" });
  expect(fake.calls().map((c) => c.type)).toEqual(["fake-a", "fake-b"]);
});

test("GC deletes the network's stale cached attachments with their cached parameters, then GCs every plugin with the valid list", async () => {
  using gcCache = tempDir("libcni-api-gc");
  setup();
  const gc = new CNIConfig({ path: [fake.bin], cacheDir: gcCache.path, env: { PATH: process.env.PATH, FAKE_DIR: fake.state } });
  const keep = rt({ containerId: "keep" });
  const stale = rt({ containerId: "stale", netns: "/run/netns/gone", args: [["A", "1"]], capabilityArgs: { mac: "0a:00:00:00:00:09" } });
  const otherIf = rt({ containerId: "keep", ifname: "net1" });
  await gc.addNetworkList(netList(), keep);
  await gc.addNetworkList(netList(), stale);
  await gc.addNetworkList(netList(), otherIf);
  await gc.addNetworkList(netList({ name: "other" }), rt({ containerId: "stale" }));
  fake.clear();
  await gc.gcNetworkList(netList(), { validAttachments: [{ containerID: "keep", ifname: "eth0" }] });
  const calls = fake.calls();
  expect(calls.map((c) => `${c.type} ${c.command} ${c.env.CNI_CONTAINERID}/${c.env.CNI_IFNAME}`)).toEqual([
    "fake-c DEL keep/net1", "fake-b DEL keep/net1", "fake-a DEL keep/net1",
    "fake-c DEL stale/eth0", "fake-b DEL stale/eth0", "fake-a DEL stale/eth0",
    "fake-a GC /", "fake-b GC /", "fake-c GC /",
  ]);
  const delB = calls[4]!;
  expect([delB.env.CNI_NETNS, delB.env.CNI_ARGS, delB.stdin.runtimeConfig, delB.stdin.prevResult]).toEqual(["/run/netns/gone", "A=1", { mac: "0a:00:00:00:00:09" }, RESULT_C]);
  const valid = [{ containerID: "keep", ifname: "eth0" }];
  expect(calls[6]!.stdin).toEqual({
    capabilities: { mac: false, portMappings: true }, cniVersion: "1.1.0", name: "net1", type: "fake-a", "cni.dev/valid-attachments": valid, "cni.dev/attachments": valid,
  });
  expect(calls[6]!.text).toContain('"cni.dev/attachments":[{"containerID":"keep","ifname":"eth0"}],"cni.dev/valid-attachments":');
  expect(readdirSync(`${gcCache.path}/results`).sort()).toEqual(["net1-keep-eth0", "other-stale-eth0"]);

  // Before 1.1.0 stale attachments still go, but the plugins get no GC; with disableGC nothing happens.
  await gc.addNetworkList(netList(), stale);
  fake.clear();
  await gc.gcNetworkList(netList({ disableGC: "true" }), { validAttachments: [] });
  expect(fake.calls()).toEqual([]);
  await gc.gcNetworkList(netList({ cniVersion: "1.0.0" }), { validAttachments: valid });
  expect(fake.calls().map((c) => `${c.type} ${c.command}`)).toEqual(["fake-c DEL", "fake-b DEL", "fake-a DEL"]);

  // Without args (cnitool gc): every attachment of the network goes, and GC carries no list.
  fake.clear();
  await gc.gcNetworkList(netList());
  expect(fake.calls().map((c) => `${c.type} ${c.command} ${c.env.CNI_CONTAINERID}`)).toEqual(["fake-c DEL keep", "fake-b DEL keep", "fake-a DEL keep", "fake-a GC ", "fake-b GC ", "fake-c GC "]);
  expect(fake.calls()[3]!.stdin["cni.dev/valid-attachments"]).toBeUndefined();
  expect(readdirSync(`${gcCache.path}/results`)).toEqual(["other-stale-eth0"]);
});

test("GC keeps going after failures and reports them all", async () => {
  using gcCache = tempDir("libcni-api-gcerr");
  setup();
  const gc = new CNIConfig({ path: [fake.bin], cacheDir: gcCache.path, env: { PATH: process.env.PATH, FAKE_DIR: fake.state } });
  await gc.addNetworkList(netList(), rt({ containerId: "s1" }));
  fake.fail("fake-a", "DEL", { code: 11, msg: "busy" });
  fake.fail("fake-b", "GC", { code: 999, msg: "gc broke" });
  const err = await gc.gcNetworkList(netList(), { validAttachments: [] }).catch((e) => e);
  expect(err.message).toBe('failed to delete stale attachment s1 eth0: plugin type="fake-a" failed (delete): busy\nfailed to GC plugin fake-b: gc broke');
  expect(fake.calls().filter((c) => c.command === "GC").map((c) => c.type)).toEqual(["fake-a", "fake-b", "fake-c"]);
  Bun.spawnSync(["rm", "-f", `${fake.state}/fail-fake-b-GC.json`]);
});

test("VERSION of every plugin, and validation against the list's version", async () => {
  const cni = setup();
  fake.versions("fake-b", { cniVersion: "1.1.0", supportedVersions: ["0.4.0", "1.0.0"] });
  expect(await cni.getVersionInfoList(netList())).toEqual([
    { type: "fake-a", info: { cniVersion: "1.1.0", supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] } },
    { type: "fake-b", info: { cniVersion: "1.1.0", supportedVersions: ["0.4.0", "1.0.0"] } },
    { type: "fake-c", info: { cniVersion: "1.1.0", supportedVersions: ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] } },
  ]);
  const [call] = fake.calls();
  expect([call!.text, call!.env]).toEqual(['{"cniVersion":"1.1.0"}', { CNI_COMMAND: "VERSION", CNI_CONTAINERID: "", CNI_NETNS: "dummy", CNI_IFNAME: "dummy", CNI_ARGS: "", CNI_PATH: "dummy" }]);
  expect(await cni.validateNetworkList(netList({ cniVersion: "1.0.0" }))).toEqual(["mac", "portMappings"]);
  await expect(cni.validateNetworkList(netList({ plugins: [{ type: "fake-b" }, { type: "fake-c" }, { type: "nope" }] })))
    .rejects.toThrow(`[plugin fake-b does not support config version "1.1.0" failed to find plugin "nope" in path [/nonexistent ${fake.bin}]]`);
  fake.fail("fake-c", "VERSION", { code: 4, msg: "unknown CNI_COMMAND: VERSION" });
  expect(await cni.getVersionInfo("fake-c")).toEqual({ cniVersion: "0.1.0", supportedVersions: ["0.1.0"] });
  fake.versions("fake-a", { cniVersion: "0.2.0" });
  expect(await cni.getVersionInfo("fake-a")).toEqual({ cniVersion: "0.2.0", supportedVersions: ["0.1.0", "0.2.0"] });
  fake.versions("fake-a", { supportedVersions: ["1.0.0"] });
  await expect(cni.getVersionInfo("fake-a")).rejects.toThrow("decoding version info: missing field cniVersion");
  Bun.spawnSync(["rm", "-f", `${fake.state}/fail-fake-c-VERSION.json`]);
});

test("a plugin past the deadline is killed; the trace context reaches the plugins", async () => {
  using dir = tempDir("libcni-api-slow");
  writeFileSync(`${dir.path}/slow`, "#!/bin/sh\nexec sleep 30\n");
  chmodSync(`${dir.path}/slow`, 0o755);
  const cni = new CNIConfig({ path: [dir.path, fake.bin], cacheDir: cache.path, env: { PATH: process.env.PATH, FAKE_DIR: fake.state }, timeoutMs: 300 });
  const started = Date.now();
  const err = await cni.addNetworkList(netList({ plugins: [{ type: "slow" }] }), rt()).catch((e) => e);
  expect(err.message).toBe(`plugin type="slow" failed (add): plugin ${dir.path}/slow did not finish in time and was killed`);
  expect(Date.now() - started).toBeLessThan(10_000);
  setup();
  const trace = { traceparent: "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01", tracestate: "k=v", baggage: "user=1" };
  await cni.getStatusNetworkList(netList(), { trace });
  expect(fake.calls().map((c) => [c.env.TRACEPARENT, c.env.TRACESTATE, c.env.BAGGAGE])).toEqual(Array(3).fill([trace.traceparent, "k=v", "user=1"]));
  const ac = new AbortController();
  ac.abort(new Error("runtime shutting down"));
  await expect(cni.getStatusNetworkList(netList(), { signal: ac.signal })).rejects.toThrow("runtime shutting down");
});
