// pkg/libcni driving real plugins as a runtime does, each plugin exec'd inside a throwaway host netns for a throwaway
// container netns: a conflist of ptp (host-local IPAM, ipMasq) and tuning (the `mac` capability, a sysctl), with our
// plugins for 0.4.0, 1.0.0 and 1.1.0 and with Debian's Go plugins (v1.1.1, up to 1.0.0, chosen through cniVersions).
// ADD chains prevResult from ptp to tuning and caches the result; CHECK and DEL get it back from the cache; DEL
// leaves nothing (veth, masquerade, reservation, tuning backup, cache entry); a DEL by one implementation undoes an
// ADD by the other; disableCheck in its forms; GC with a stale and a valid attachment; validation against each
// implementation's VERSION answers (SPEC-DIGEST §0, DESIGN decision 8).
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync } from "node:fs";
import type { CNIConfig, RuntimeConf } from "../../pkg/libcni/api.ts";
import { loadNetworkConf, type NetworkConfigList } from "../../pkg/libcni/conf.ts";
import { cacheEntries, hostCniState, libcniIn, reservations, writeConfs } from "../support/libcni.ts";
import { linkIn } from "../support/link-state.ts";
import { masqChain } from "../support/masquerade.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn, sysctlIn } from "../support/ns-exec.ts";
import { GO, mustSkip, OURS } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir, type TempDir } from "../support/temp-dir.ts";
import { goPlugins } from "../support/conformance.ts";

const TAG = "libcnii";
const skip = mustSkip("libcni integration", { tools: ["ip", "iptables-save", "ip6tables-save", "nft"], ours: ["ptp", "tuning", "host-local"] });
const { hasGo, skipReason } = goPlugins("ptp", "tuning", "host-local");
cleanUpAfterAll(TAG);

const NET = "libnet";
const CAP_MAC = "02:42:0a:4d:00:63";
const EMPTY = { veths: [], nat: [], nft: [] };

/** One world: host and container netns, the conflist directory, host-local's and tuning's data, the cache. */
interface World extends Disposable {
  host: TempNetns;
  ctr: TempNetns;
  dirs: TempDir;
  conf: string;
  data: string;
  tuning: string;
  cache: string;
  lib(dirs?: string[]): CNIConfig;
  list(top?: object): NetworkConfigList;
  rt(o?: Partial<RuntimeConf>): RuntimeConf;
}

function world(role: string): World {
  const host = tempNetns(`${TAG}-${role}host`);
  const ctr = tempNetns(`${TAG}-${role}ctr`);
  const dirs = tempDir(`${TAG}-${role}`);
  ipIn(host, ["link", "set", "lo", "up"]);
  const w: World = {
    host, ctr, dirs,
    conf: `${dirs.path}/net.d`,
    data: `${dirs.path}/ipam`,
    tuning: `${dirs.path}/tuning`,
    cache: `${dirs.path}/cache`,
    lib: (d = [OURS]) => libcniIn(host, d, w.cache),
    list(top = {}) {
      Bun.spawnSync(["mkdir", "-p", w.conf]);
      writeConfs(w.conf, {
        "10-libnet.conflist": {
          cniVersion: "1.1.0",
          name: NET,
          plugins: [
            { type: "ptp", ipMasq: true, ipam: { type: "host-local", dataDir: w.data, ranges: [[{ subnet: "10.77.0.0/24" }]], routes: [{ dst: "0.0.0.0/0" }] } },
            { type: "tuning", capabilities: { mac: true }, sysctl: { "net.ipv4.conf.eth0.log_martians": "1" }, dataDir: w.tuning },
          ],
          ...top,
        },
      });
      return loadNetworkConf(w.conf, NET);
    },
    rt: (o = {}) => ({ containerId: "ctr-a", netns: ctr.path, ifname: "eth0", capabilityArgs: { mac: CAP_MAC }, args: [["IgnoreUnknown", "1"]], ...o }),
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      dirs[Symbol.dispose]();
    },
  };
  return w;
}

/** Checks the attachment of container `id` is wired: eth0 with the capability's MAC and tuning's sysctl, masquerade, a reservation. */
function expectAttached(w: World, ctr: TempNetns, id: string, address: string): void {
  const eth0 = linkIn(ctr, "eth0");
  expect(eth0?.mac).toBe(CAP_MAC);
  expect(sysctlIn(ctr, "net/ipv4/conf/eth0/log_martians")).toBe("1");
  expect(hostCniState(w.host).nat).toContain(`:${masqChain(NET, id)} - [0:0]`);
  expect(reservations(w.data, NET)).toContain(address.split("/")[0]);
}

/** Checks nothing of any attachment is left: no veth, no masquerade, no reservation, no tuning backup, no cache entry. */
function expectNothingLeft(w: World): void {
  expect(hostCniState(w.host)).toEqual(EMPTY);
  expect(reservations(w.data, NET)).toEqual([]);
  expect(existsSync(w.tuning) ? readdirSync(w.tuning) : []).toEqual([]);
  expect(cacheEntries(w.cache)).toEqual([]);
}

describe.skipIf(skip).each(["0.4.0", "1.0.0", "1.1.0"])("libcni with our plugins, %s", (version) => {
  test("ADD chains ptp into tuning and caches the result; CHECK and DEL use the cache; DEL twice leaves nothing", async () => {
    using w = world(`v${version.replaceAll(".", "")}`);
    const list = w.list({ cniVersion: version });
    const lib = w.lib();
    const rt = w.rt();
    const result = await lib.addNetworkList(list, rt);
    expect(result?.cniVersion).toBe(version);
    expect(result?.ips?.map((i) => i.address)).toEqual(["10.77.0.2/24"]);
    // tuning reports the MAC it set from the capability argument (the container's interface).
    expect(result?.interfaces?.find((i) => i.sandbox === w.ctr.path)?.mac).toBe(CAP_MAC);
    expectAttached(w, w.ctr, "ctr-a", "10.77.0.2/24");

    expect(cacheEntries(w.cache)).toEqual([`${NET}-ctr-a-eth0`]);
    expect(lib.getNetworkListCachedResult(list, rt)).toEqual(result);
    expect(lib.getCachedAttachments("ctr-a").map(({ containerId, network, ifname, netns, cniArgs, capabilityArgs }) => ({ containerId, network, ifname, netns, cniArgs, capabilityArgs })))
      .toEqual([{ containerId: "ctr-a", network: NET, ifname: "eth0", netns: w.ctr.path, cniArgs: [["IgnoreUnknown", "1"]], capabilityArgs: { mac: CAP_MAC } }]);
    expect(new TextDecoder().decode(lib.getNetworkListCachedConfig(list, rt)!.config)).toBe(readFileSync(`${w.conf}/10-libnet.conflist`, "utf8"));

    await lib.checkNetworkList(list, rt);
    await lib.delNetworkList(list, rt);
    expectNothingLeft(w);
    expect(linkIn(w.ctr, "eth0")).toBeUndefined();
    await lib.delNetworkList(list, rt);
    expectNothingLeft(w);
  });
});

describe.skipIf(skip)("libcni checks and GC", () => {
  test("disableCheck as true or \"true\" skips CHECK; without it CHECK sees a broken attachment", async () => {
    using w = world("check");
    const lib = w.lib();
    const rt = w.rt();
    await lib.addNetworkList(w.list(), rt);
    ipIn(w.ctr, ["addr", "flush", "dev", "eth0"]);
    const err = await lib.checkNetworkList(w.list(), rt).catch((e) => e);
    expect(err?.message).toContain("10.77.0.2/24");
    for (const v of [true, "true", "True"]) await lib.checkNetworkList(w.list({ disableCheck: v }), rt);
    await expect(lib.checkNetworkList(w.list({ disableCheck: "false" }), rt)).rejects.toThrow();
    await lib.delNetworkList(w.list(), rt);
    expectNothingLeft(w);
  });

  test("GC deletes the stale attachment through its cached parameters and keeps the valid one whole", async () => {
    using w = world("gc");
    using ctrB = tempNetns(`${TAG}-gcctrb`);
    const lib = w.lib();
    const a = w.rt();
    const b = w.rt({ containerId: "ctr-b", netns: ctrB.path });
    await lib.addNetworkList(w.list(), a);
    await lib.addNetworkList(w.list(), b);
    const before = hostCniState(w.host);
    expect(before.veths.length).toBe(2);
    await lib.gcNetworkList(w.list(), { validAttachments: [{ containerID: "ctr-a", ifname: "eth0" }] });
    expect(linkIn(ctrB, "eth0")).toBeUndefined();
    expect(hostCniState(w.host).nat.some((l) => l.includes(masqChain(NET, "ctr-b")))).toBe(false);
    expect(reservations(w.data, NET)).toEqual(["10.77.0.2"]);
    expect(cacheEntries(w.cache)).toEqual([`${NET}-ctr-a-eth0`]);
    expect(readdirSync(w.tuning)).toEqual([`ctr-a_eth0.json`]);
    expectAttached(w, w.ctr, "ctr-a", "10.77.0.2/24");
    await lib.checkNetworkList(w.list(), a);
    await lib.delNetworkList(w.list(), a);
    expectNothingLeft(w);
  });

  test("validation asks each plugin's VERSION: ours speak 1.1.0, and the capabilities come back", async () => {
    using w = world("valid");
    expect(await w.lib().validateNetworkList(w.list())).toEqual(["mac"]);
    expect((await w.lib().getVersionInfo("ptp")).supportedVersions).toContain("1.1.0");
  });
});

describe.skipIf(skip || !hasGo)(`libcni with Debian's Go plugins${skipReason}`, () => {
  const GO_LIST = { cniVersion: "0.3.1", cniVersions: ["0.4.0", "1.0.0", "2.0.0"] }; // negotiates 1.0.0

  test("1.1.0 fails validation against v1.1.1; cniVersions picks 1.0.0, and ADD, CHECK, DEL work", async () => {
    using w = world("go");
    const lib = w.lib([GO]);
    await expect(lib.validateNetworkList(w.list())).rejects.toThrow('[plugin ptp does not support config version "1.1.0" plugin tuning does not support config version "1.1.0"]');
    const list = w.list(GO_LIST);
    expect(list.cniVersion).toBe("1.0.0");
    expect(await lib.validateNetworkList(list)).toEqual(["mac"]);
    const rt = w.rt();
    const result = await lib.addNetworkList(list, rt);
    expect(result?.cniVersion).toBe("1.0.0");
    expectAttached(w, w.ctr, "ctr-a", "10.77.0.2/24");
    await lib.checkNetworkList(list, rt);
    await lib.delNetworkList(list, rt);
    expectNothingLeft(w);
  });

  test("switching implementations: ours DEL what Go ADDed and Go DELs what ours ADDed, prevResult from the cache", async () => {
    using w = world("swap");
    const list = w.list(GO_LIST);
    const rt = w.rt();
    await w.lib([GO]).addNetworkList(list, rt);
    await w.lib([OURS]).checkNetworkList(list, rt);
    await w.lib([OURS]).delNetworkList(list, rt);
    expectNothingLeft(w);
    await w.lib([OURS]).addNetworkList(list, rt);
    await w.lib([GO]).checkNetworkList(list, rt);
    await w.lib([GO]).delNetworkList(list, rt);
    expectNothingLeft(w);
  });
});
