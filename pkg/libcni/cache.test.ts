// The cache file against one written by the Go libcni v1.3.0 (test/support/go-libcni/captured, see PROVENANCE.md
// there): decoded with Go's rules, and written back byte for byte.
import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { resolve } from "node:path";
import type { Result } from "../cni/types.ts";
import {
  cacheFilePath, decodeCachedInfo, deleteCache, encodeCachedInfo, listCachedAttachments, readCachedConfig, readCachedResult, writeCache,
} from "./cache.ts";

const FIXTURE = resolve(import.meta.dir, "../../test/support/go-libcni");
const GO_FILE = `${FIXTURE}/captured/cache/results/fixnet-cnitool-a5b65bf04dbf3d610a1b-eth0`;
const goText = readFileSync(GO_FILE, "utf8");
const confBytes = new Uint8Array(readFileSync(`${FIXTURE}/input/netconf/10-fixnet.conflist`));
const RT = {
  containerId: "cnitool-a5b65bf04dbf3d610a1b",
  netns: "/run/netns/fixture-ns",
  ifname: "eth0",
  args: [["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web<1>&x"]] as [string, string][],
  capabilityArgs: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], mac: "0a:58:0a:00:00:09", ips: ["10.0.0.9/24"], unused: true },
};
const RESULT: Result = {
  cniVersion: "1.1.0",
  interfaces: [{ name: "eth0", mac: "0a:58:0a:00:00:02", sandbox: "/run/netns/fixture-ns" }],
  ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }],
  routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "192.168.0.0/16", gw: "10.0.0.1", priority: 10 }],
  dns: { nameservers: ["10.0.0.1"], search: ["example.test"], options: ["ndots:2"] },
};

const root = mkdtempSync(`${tmpdir()}/cnit-libcni-cache-`);
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const newDir = () => `${root}/c${++n}`;

test("a cache file of the Go libcni decodes to what the runtime passed, and encodes back to the same bytes", () => {
  const info = decodeCachedInfo(goText);
  expect({ ...info, config: new TextDecoder().decode(info.config) }).toEqual({
    kind: "cniCacheV1",
    containerId: RT.containerId,
    config: new TextDecoder().decode(confBytes),
    ifName: "eth0",
    networkName: "fixnet",
    netns: RT.netns,
    cniArgs: RT.args,
    capabilityArgs: RT.capabilityArgs,
    result: JSON.parse(JSON.stringify({ ...RESULT })),
  });
  expect(encodeCachedInfo(info)).toBe(goText);
});

test("writeCache writes what the Go libcni writes for the same attachment: bytes, place and modes", () => {
  const dir = newDir();
  writeCache(dir, RESULT, confBytes, "fixnet", RT);
  const file = cacheFilePath(dir, "fixnet", RT);
  expect(file).toBe(`${dir}/results/fixnet-cnitool-a5b65bf04dbf3d610a1b-eth0`);
  expect(readFileSync(file, "utf8")).toBe(goText);
  expect(statSync(file).mode & 0o777).toBe(0o600);
  expect(statSync(`${dir}/results`).mode & 0o777).toBe(0o700);
});

test("the cached result comes back in the version asked for, as prevResult must be", () => {
  const dir = newDir();
  mkdirSync(`${dir}/results`, { recursive: true });
  writeFileSync(`${dir}/results/fixnet-cnitool-a5b65bf04dbf3d610a1b-eth0`, goText);
  expect(readCachedResult(dir, "fixnet", "1.1.0", RT)).toEqual(RESULT);
  expect(readCachedResult(dir, "fixnet", "1.0.0", RT)).toEqual({ ...RESULT, cniVersion: "1.0.0" });
  const v040 = readCachedResult(dir, "fixnet", "0.4.0", RT)!;
  expect(v040.cniVersion).toBe("0.4.0");
  expect(v040.ips).toEqual(RESULT.ips);
  expect(readCachedResult(dir, "fixnet", "0.2.0", RT)).toEqual({
    cniVersion: "0.2.0", ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1" }], routes: [{ dst: "0.0.0.0/0", gw: "10.0.0.1" }, { dst: "192.168.0.0/16", gw: "10.0.0.1" }], dns: RESULT.dns,
  });
  expect(readCachedResult(dir, "fixnet", "1.1.0", { ...RT, ifname: "eth9" })).toBeUndefined();
  expect(readCachedConfig(dir, "fixnet", { containerId: RT.containerId, netns: "", ifname: "eth0" })).toEqual({
    config: confBytes, rt: { containerId: RT.containerId, netns: "", ifname: "eth0", args: RT.args, capabilityArgs: RT.capabilityArgs },
  });
});

test("a legacy cache file (the bare result, before cniCacheV1) is read as the result", () => {
  const dir = newDir();
  mkdirSync(`${dir}/results`, { recursive: true });
  writeFileSync(`${dir}/results/net-c1-eth0`, JSON.stringify({ cniVersion: "0.3.1", ips: [{ version: "4", address: "10.1.0.5/16" }] }));
  const rt = { containerId: "c1", netns: "", ifname: "eth0" };
  expect(readCachedResult(dir, "net", "0.4.0", rt)).toEqual({ cniVersion: "0.4.0", ips: [{ address: "10.1.0.5/16" }] });
  expect(() => readCachedConfig(dir, "net", rt)).toThrow('read cached network "net" config has wrong kind: ');
  writeFileSync(`${dir}/results/net-c1-eth0`, `{"kind":"cniCacheV1","config":5}`);
  expect(() => readCachedConfig(dir, "net", rt)).toThrow('failed to unmarshal cached network "net" config: json: cannot unmarshal number into Go struct field cachedInfo.config of type []uint8');
});

test("the cache file's name needs all three parts; deleting a missing entry is no error", () => {
  expect(() => cacheFilePath("/x", "", { containerId: "c", ifname: "e" }))
    .toThrow('cache file path requires network name (""), container ID ("c"), and interface name ("e")');
  deleteCache(newDir(), "net", { containerId: "c", netns: "", ifname: "eth0" });
  deleteCache(newDir(), "net", { containerId: "", netns: "", ifname: "eth0" });
});

test("cached attachments: complete cniCacheV1 records only, in name order, optionally of one container", () => {
  const dir = newDir();
  const put = (net: string, cid: string, ifname: string) =>
    writeCache(dir, { cniVersion: "1.0.0" }, new TextEncoder().encode("{}"), net, { containerId: cid, netns: `/run/netns/${cid}`, ifname });
  put("b", "c1", "eth0");
  put("a", "c1", "eth1");
  put("a", "c2", "eth0");
  writeFileSync(`${dir}/results/garbage-c1-eth0`, "not json");
  writeFileSync(`${dir}/results/old-c1-eth0`, '{"cniVersion":"0.3.1"}');
  writeFileSync(`${dir}/results/half-c1-eth0`, '{"kind":"cniCacheV1","containerId":"c1","networkName":"half"}');
  const all = listCachedAttachments(dir);
  expect(all.map((a) => `${a.network}/${a.containerId}/${a.ifname}/${a.netns}`)).toEqual(["a/c1/eth1//run/netns/c1", "a/c2/eth0//run/netns/c2", "b/c1/eth0//run/netns/c1"]);
  expect(listCachedAttachments(dir, "c2").map((a) => a.network)).toEqual(["a"]);
  expect(listCachedAttachments(newDir())).toEqual([]);
});
