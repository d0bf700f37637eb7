// bandwidth chained after our ptp (or bridge) with our host-local, run as a runtime runs them (env + stdin, prevResult
// from the main plugin) inside a throwaway host netns with a throwaway container netns. For every version bandwidth
// supports: the result, the tc state read back with `tc -j -r` (the tbf on the host veth with upstream's exact rate,
// bucket and limit, the ingress qdisc and its u32 redirect, the ifb and its tbf), CHECK, DEL, DEL again. Then the
// shaping measured with a real TCP transfer each way, runtimeConfig, one direction only, a bridge chain, bad input
// (nothing left behind), rollback, DEL without a netns, what DEL must not touch, and GC (SPEC-DIGEST §3.2).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cniEnv, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { sweepTempDirs, tempDir } from "../support/temp-dir.ts";
import { hostLocalConf, NET } from "../support/host-local.ts";
import {
  allQdiscs, bandwidthConf, hostVethOf, ifbsIn, INGRESS_STATE, measureTransfer, NOQUEUE_STATE, qdiscsOf,
  redirectFilterState, redirectFiltersOf, tbfState, tcIn,
} from "../support/bandwidth.ts";
import { ifbName } from "../../pkg/netfilter/names.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "bwi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-bwi-`
const VERSIONS = ["0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
const missing = [
  ...["ip", "tc"].filter((t) => Bun.which(t) === null),
  ...["bandwidth", "ptp", "bridge", "host-local"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`bandwidth integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

// 16 Mbit/s with 128 Kbit bursts in, 8 Mbit/s with 64 Kbit bursts out: whole numbers of bytes and µs all the way.
const LIMITS = { ingressRate: 16_000_000, ingressBurst: 131072, egressRate: 8_000_000, egressBurst: 65536 };
// upstream's numbers for them: rate/8, burst/8, burst/rate in µs × 15.625 ticks, rate × 25 ms + burst.
const INGRESS_TBF = tbfState({ rate: 2_000_000, burst: 16384, bufferTicks: 128000, limit: 66384 });
const EGRESS_TBF = tbfState({ rate: 1_000_000, burst: 8192, bufferTicks: 128000, limit: 33192 });
const IFB = ifbName(NET, "ctr1");
const CTR_IP = "10.1.2.2";
const GW_IP = "10.1.2.1";

/** One attachment's world: host and container netns, host-local's dataDir. */
interface World {
  host: TempNetns;
  ctr: TempNetns;
  dataDir: string;
  [Symbol.dispose](): void;
}
function world(): World {
  const host = tempNetns(`${TAG}-host`);
  const ctr = tempNetns(`${TAG}-ctr`);
  const data = tempDir(`${TAG}-data`);
  return {
    host, ctr, dataDir: data.path,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      data[Symbol.dispose]();
    },
  };
}

function call(plugin: string, verb: string, w: World, stdin: object | string, id = "ctr1", netns = w.ctr.path): Run {
  return runPlugin(plugin, { hostNetns: w.host.name, env: cniEnv(verb, netns, "eth0", id), stdin });
}

/** Runs the main plugin's ADD (ptp by default) and returns its parsed result, the prevResult bandwidth gets. */
function mainAdd(w: World, version: string, type = "ptp", id = "ctr1"): any {
  const c = mainConf(w, version, type);
  const r = call(type, "ADD", w, c, id);
  expect([r.exitCode, r.stderr]).toEqual([0, ""]);
  return r.json;
}

function mainConf(w: World, version: string, type: string): Record<string, unknown> {
  return hostLocalConf(version, w.dataDir, {}, type === "bridge" ? { type, bridge: `${RUN_PREFIX}br` } : { type });
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

function expectError(r: Run, code: number, msg: string, details?: string): void {
  expect(r.exitCode).toBe(1);
  expect(r.json).toEqual({ code, msg, ...(details ? { details } : {}) });
}

/** Checks the whole tc state of an attachment with both directions shaped. */
function expectShaped(w: World, hostVeth: string, ifbMac?: string): void {
  expect(qdiscsOf(w.host, hostVeth)).toEqual([INGRESS_TBF, INGRESS_STATE]);
  expect(redirectFiltersOf(w.host, hostVeth)).toEqual([redirectFilterState(IFB)]);
  expect(ifbsIn(w.host)).toEqual([{
    ifname: IFB, mac: ifbMac ?? expect.stringMatching(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/), mtu: 1500, up: true, txqlen: 0,
    alias: `cni-bandwidth network=${NET} containerID=ctr1`,
  }]);
  expect(qdiscsOf(w.host, IFB)).toEqual([EGRESS_TBF]);
}

/** Checks that nothing of bandwidth's is left: no ifb, the host veth (if any) back to noqueue, no filter. */
function expectUnshaped(w: World, hostVeth?: string): void {
  expect(ifbsIn(w.host)).toEqual([]);
  if (hostVeth) {
    expect(qdiscsOf(w.host, hostVeth)).toEqual([NOQUEUE_STATE]);
    expect(redirectFiltersOf(w.host, hostVeth)).toEqual([]);
  }
}

describe.skipIf(skip)("bandwidth", () => {
  describe.each(VERSIONS)("%s", (version) => {
    test("after ptp: tbf on the host veth, ingress + u32 redirect to the ifb, tbf on the ifb; CHECK; DEL and DEL again", () => {
      using w = world();
      const prev = mainAdd(w, version);
      const hostVeth = hostVethOf(w.host, w.ctr);
      const conf = bandwidthConf(version, NET, { ...LIMITS, prevResult: prev });

      const add = call("bandwidth", "ADD", w, conf);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      const ifb = add.json.interfaces.at(-1);
      // The result is prevResult with the ifb appended (name and MAC only), printed in the config's version.
      const want = structuredClone(prev);
      want.interfaces.push(versionAtLeast(version, "1.0.0") ? { mac: ifb.mac, name: IFB } : { name: IFB, mac: ifb.mac });
      expect(add.stdout).toBe(JSON.stringify(want, null, 4));
      expectShaped(w, hostVeth, ifb.mac);

      // CHECK exists from 0.4.0 on; the runtime sends the cached result of the whole chain as prevResult.
      const withResult = { ...conf, prevResult: add.json };
      if (versionAtLeast(version, "0.4.0")) {
        expectSilentSuccess(call("bandwidth", "CHECK", w, withResult));
        expectError(call("bandwidth", "CHECK", w, { ...withResult, egressRate: 8_000_008 }), 999, "Rate doesn't match");
        expectError(call("bandwidth", "CHECK", w, { ...withResult, ingressBurst: 131080 }), 999, "Limit doesn't match");
      }

      expectSilentSuccess(call("bandwidth", "DEL", w, withResult));
      expectUnshaped(w, hostVeth);
      expectSilentSuccess(call("bandwidth", "DEL", w, withResult));
      expectUnshaped(w, hostVeth);
      expectSilentSuccess(call("ptp", "DEL", w, mainConf(w, version, "ptp")));
      expect(allQdiscs(w.host)).toEqual([]);
    });
  });

  test("the shaping is real: a TCP transfer each way runs at the configured rate, far below the unshaped rate", async () => {
    using w = world();
    const prev = mainAdd(w, "1.1.0");
    const bytes = 1_000_000;
    const unshapedIn = await measureTransfer(w.ctr, CTR_IP, w.host, 20 * bytes);
    const unshapedOut = await measureTransfer(w.host, GW_IP, w.ctr, 20 * bytes);
    expect(call("bandwidth", "ADD", w, bandwidthConf("1.1.0", NET, { ...LIMITS, prevResult: prev })).exitCode).toBe(0);
    const shapedIn = await measureTransfer(w.ctr, CTR_IP, w.host, bytes); // host → container: the tbf on the host veth
    const shapedOut = await measureTransfer(w.host, GW_IP, w.ctr, bytes); // container → host: redirected to the ifb's tbf
    const band = (measured: number, rate: number) => measured > 0.5 * rate && measured < 1.15 * rate;
    expect({ shapedIn, inBand: band(shapedIn, LIMITS.ingressRate) }).toEqual({ shapedIn, inBand: true });
    expect({ shapedOut, outBand: band(shapedOut, LIMITS.egressRate) }).toEqual({ shapedOut, outBand: true });
    expect(unshapedIn).toBeGreaterThan(10 * LIMITS.ingressRate);
    expect(unshapedOut).toBeGreaterThan(10 * LIMITS.egressRate);
  }, 60_000);

  describe("where the limits come from, and what each direction makes", () => {
    test("runtimeConfig.bandwidth when the top level has none; the top level wins over it", () => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      const rc = { runtimeConfig: { bandwidth: { ingressRate: 16_000_000, ingressBurst: 131072 } } };
      const add = call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...rc, prevResult: prev }));
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(add.json).toEqual(prev); // ingress only: no ifb, the result unchanged
      expect(qdiscsOf(w.host, hostVeth)).toEqual([INGRESS_TBF]);
      expect(ifbsIn(w.host)).toEqual([]);
      expectSilentSuccess(call("bandwidth", "CHECK", w, bandwidthConf("1.0.0", NET, { ...rc, prevResult: prev })));
      expectSilentSuccess(call("bandwidth", "DEL", w, bandwidthConf("1.0.0", NET, rc)));
      expectUnshaped(w, hostVeth);

      const top = { egressRate: 8_000_000, egressBurst: 65536 };
      const both = call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...rc, ...top, prevResult: prev }));
      expect(both.exitCode).toBe(0);
      expect(qdiscsOf(w.host, hostVeth)).toEqual([NOQUEUE_STATE, INGRESS_STATE]); // egress only: the root stays the kernel's
      expect(qdiscsOf(w.host, IFB)).toEqual([EGRESS_TBF]);
      expectSilentSuccess(call("bandwidth", "DEL", w, bandwidthConf("1.0.0", NET, {})));
      expectUnshaped(w, hostVeth);
    });

    test("no limits at all: prevResult printed as it came, nothing made", () => {
      using w = world();
      const prev = mainAdd(w, "0.4.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      const add = call("bandwidth", "ADD", w, bandwidthConf("0.4.0", NET, { ingressRate: 0, prevResult: prev }));
      expect([add.exitCode, add.stdout]).toEqual([0, JSON.stringify(prev, null, 4)]);
      expectUnshaped(w, hostVeth);
      expectSilentSuccess(call("bandwidth", "CHECK", w, bandwidthConf("0.4.0", NET, { prevResult: prev })));
    });

    test("after bridge: the host veth is found among the bridge and the veths of prevResult", () => {
      using w = world();
      const prev = mainAdd(w, "1.1.0", "bridge");
      expect(prev.interfaces.length).toBe(3);
      const hostVeth = hostVethOf(w.host, w.ctr);
      const add = call("bandwidth", "ADD", w, bandwidthConf("1.1.0", NET, { ...LIMITS, prevResult: prev }));
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expectShaped(w, hostVeth);
      const bridge = prev.interfaces[0].name;
      expect(qdiscsOf(w.host, bridge)).toEqual([NOQUEUE_STATE]);
      expectSilentSuccess(call("bandwidth", "CHECK", w, bandwidthConf("1.1.0", NET, { ...LIMITS, prevResult: add.json })));
      expectSilentSuccess(call("bandwidth", "DEL", w, bandwidthConf("1.1.0", NET, LIMITS)));
      expectUnshaped(w, hostVeth);
      expectSilentSuccess(call("bridge", "DEL", w, mainConf(w, "1.1.0", "bridge")));
    });
  });

  describe("bad input: the right code and text, and nothing left behind", () => {
    test.each([
      ["a burst over 4 GB", { ingressRate: 8000, ingressBurst: 34359738360 }, 7, "burst cannot be more than 4GB",
        `"ingressBurst" is 34359738360 bits, the most is 34359738359`],
      ["a rate without a burst", { egressRate: 8000 }, 7, "if rate is set, burst must also be set", `"egressRate" is 8000, "egressBurst" is 0`],
      ["a burst without a rate", { ingressBurst: 8000 }, 7, "if burst is set, rate must also be set", `"ingressBurst" is 8000, "ingressRate" is 0`],
      ["a negative rate", { ingressRate: -1, ingressBurst: 8000 }, 999,
        "failed to parse network configuration: json: cannot unmarshal number -1 into Go struct field PluginConf.ingressRate of type uint64", undefined],
      ["a fractional burst in runtimeConfig", { runtimeConfig: { bandwidth: { egressRate: 8000, egressBurst: 1.5 } } }, 999,
        "failed to parse network configuration: json: cannot unmarshal number 1.5 into Go struct field BandwidthEntry.runtimeConfig.bandwidth.egressBurst of type uint64", undefined],
      ["a rate under 8 bits per second (0 bytes)", { egressRate: 7, egressBurst: 8000 }, 7, `"egressRate" is 7: a rate must be at least 8 bits per second`, undefined],
    ])("%s", (_label, limits, code, msg, details) => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      expectError(call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...limits, prevResult: prev })), code as number, msg as string, details as string | undefined);
      expectUnshaped(w, hostVeth);
    });

    test("no prevResult: not called as a chained plugin (ADD and CHECK have their own texts)", () => {
      using w = world();
      mainAdd(w, "1.0.0");
      expectError(call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, LIMITS)), 7, "must be called as chained plugin");
      expectError(call("bandwidth", "CHECK", w, bandwidthConf("1.0.0", NET, LIMITS)), 7, "must be called as a chained plugin");
      expectUnshaped(w, hostVethOf(w.host, w.ctr));
    });

    test("no host veth peer: upstream's texts for each step of the lookup, nothing made", () => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      const add = (p: object, ifname = "eth0") =>
        runPlugin("bandwidth", { hostNetns: w.host.name, env: cniEnv("ADD", w.ctr.path, ifname), stdin: bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: p }) });
      expectError(add({ ...prev, interfaces: [] }), 7, "no interfaces provided");
      expectError(add(prev, "eth9"), 999, 'container interface eth9 has no veth peer: could not look up "eth9": Link not found');
      expectError(add(prev, "lo"), 999, 'container interface lo has no veth peer: interface "lo" was not a veth interface');
      // prevResult lists the container's veth but not its host end
      expectError(add({ ...prev, interfaces: prev.interfaces.slice(1) }), 999, "no veth peer of container interface found in host ns");
      // a container veth whose peer sits in a third netns, under an ifindex the host does not have
      using other = tempNetns(`${TAG}-other`);
      Bun.spawnSync(["ip", "-n", other.name, "link", "add", "far", "index", "4000", "type", "veth", "peer", "name", "eth1", "netns", w.ctr.name]);
      const far = add(prev, "eth1");
      expect(far.exitCode).toBe(1);
      expect(far.json.msg).toMatch(/^veth peer with index \d+ is not in host ns$/);
      expectUnshaped(w, hostVeth);
    });

    test("a netns that does not exist", () => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      const r = call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: prev }), "ctr1", `/run/netns/${RUN_PREFIX}-${TAG}-nope`);
      expect(r.exitCode).toBe(1);
      expect(r.json.msg).toBe(`failed to open netns "/run/netns/${RUN_PREFIX}-${TAG}-nope": failed to Statfs "/run/netns/${RUN_PREFIX}-${TAG}-nope": no such file or directory`);
      expectUnshaped(w, hostVethOf(w.host, w.ctr));
    });
  });

  describe("rollback: a step that fails undoes the ones before it, and only those", () => {
    test("an ifb of that name already exists: the ingress tbf goes, the other ifb stays", () => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      Bun.spawnSync(["ip", "-n", w.host.name, "link", "add", IFB, "type", "ifb"]);
      const r = call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: prev }));
      expectError(r, 999, "adding link: file exists");
      expect(qdiscsOf(w.host, hostVeth)).toEqual([NOQUEUE_STATE]);
      expect(ifbsIn(w.host).map((l) => [l.ifname, l.alias])).toEqual([[IFB, undefined]]);
    });

    test("the host veth already has an ingress qdisc: the tbf and the new ifb go, that qdisc stays", () => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      tcIn(w.host, ["qdisc", "add", "dev", hostVeth, "ingress"]);
      const r = call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: prev }));
      expect(r.exitCode).toBe(1);
      expect(r.json.msg).toStartWith("create ingress qdisc: file exists");
      expect(qdiscsOf(w.host, hostVeth)).toEqual([NOQUEUE_STATE, INGRESS_STATE]);
      expect(ifbsIn(w.host)).toEqual([]);
    });
  });

  describe("CHECK", () => {
    test("a missing ifb is named; upstream quirk kept: the tbf walk stops at the first qdisc that is not a tbf", () => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      const add = call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: prev }));
      expect(add.exitCode).toBe(0);
      const conf = bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: add.json });
      // Someone removed the root tbf: the host veth's first qdisc is now noqueue, and upstream's CHECK looks no further.
      tcIn(w.host, ["qdisc", "del", "dev", hostVeth, "root"]);
      expectSilentSuccess(call("bandwidth", "CHECK", w, conf));
      Bun.spawnSync(["ip", "-n", w.host.name, "link", "del", IFB]);
      expectError(call("bandwidth", "CHECK", w, conf), 999, "get ifb device: Link not found");
      // With the ifb gone, nothing proves whose the ingress qdisc is: DEL leaves it to go with the veth.
      expectSilentSuccess(call("bandwidth", "DEL", w, conf));
      expect(qdiscsOf(w.host, hostVeth)).toEqual([NOQUEUE_STATE, INGRESS_STATE]);
    });
  });

  describe("DEL", () => {
    test("without a netns (empty, or gone): the ifb is still deleted", () => {
      using w = world();
      const prev = mainAdd(w, "1.0.0");
      expect(call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: prev })).exitCode).toBe(0);
      expectSilentSuccess(call("bandwidth", "DEL", w, bandwidthConf("1.0.0", NET, {}), "ctr1", ""));
      expect(ifbsIn(w.host)).toEqual([]);
      // the host veth's qdiscs go with the veth, which the main plugin deletes
      expectSilentSuccess(call("ptp", "DEL", w, mainConf(w, "1.0.0", "ptp")));
      expect(allQdiscs(w.host)).toEqual([]);

      const prev2 = mainAdd(w, "1.0.0");
      expect(call("bandwidth", "ADD", w, bandwidthConf("1.0.0", NET, { ...LIMITS, prevResult: prev2 })).exitCode).toBe(0);
      const gone = `/run/netns/${RUN_PREFIX}-${TAG}-gone`;
      expectSilentSuccess(call("bandwidth", "DEL", w, bandwidthConf("1.0.0", NET, {}), "ctr1", gone));
      expect(ifbsIn(w.host)).toEqual([]);
    });

    test("leaves alone what is not provably its own: another root qdisc, an ingress qdisc redirecting elsewhere", () => {
      using w = world();
      mainAdd(w, "1.0.0");
      const hostVeth = hostVethOf(w.host, w.ctr);
      tcIn(w.host, ["qdisc", "add", "dev", hostVeth, "root", "handle", "2:", "tbf", "rate", "1mbit", "burst", "32kb", "latency", "25ms"]);
      tcIn(w.host, ["qdisc", "add", "dev", hostVeth, "ingress"]);
      Bun.spawnSync(["ip", "-n", w.host.name, "link", "add", IFB, "type", "ifb"]);
      Bun.spawnSync(["ip", "-n", w.host.name, "link", "add", "elsewhere", "type", "ifb"]);
      tcIn(w.host, ["filter", "add", "dev", hostVeth, "parent", "ffff:", "protocol", "all", "u32", "match", "u32", "0", "0", "action", "mirred", "egress", "redirect", "dev", "elsewhere"]);
      const before = qdiscsOf(w.host, hostVeth);
      expectSilentSuccess(call("bandwidth", "DEL", w, bandwidthConf("1.0.0", NET, LIMITS)));
      expect(qdiscsOf(w.host, hostVeth)).toEqual(before);
      expect(ifbsIn(w.host).map((l) => l.ifname)).toEqual(["elsewhere"]); // upstream: the ifb of that name goes, whoever made it
    });
  });

  describe("GC (our addition)", () => {
    test("removes this network's ifbs of attachments not listed; never another network's, nor one it cannot place", () => {
      using w = world();
      const mk = (name: string, alias?: string) => {
        Bun.spawnSync(["ip", "-n", w.host.name, "link", "add", name, "type", "ifb"]);
        if (alias) Bun.spawnSync(["ip", "-n", w.host.name, "link", "set", name, "alias", alias]);
      };
      const rec = (net: string, id: string) => `cni-bandwidth network=${net} containerID=${id}`;
      mk(ifbName(NET, "keep"), rec(NET, "keep"));
      mk(ifbName(NET, "gone"), rec(NET, "gone"));
      mk(ifbName("othernet", "gone"), rec("othernet", "gone")); // another network's
      mk(ifbName(NET, "goifb")); // made by the Go plugin: no record
      mk(ifbName(NET, "fake"), rec(NET, "notthisone")); // a record that does not match the name
      const names = () => ifbsIn(w.host).map((l) => l.ifname).sort();
      const all = names();
      const gc = (extra: object) => call("bandwidth", "GC", w, bandwidthConf("1.1.0", NET, extra), "", "");

      expectSilentSuccess(gc({})); // no list: the runtime told us nothing
      expect(names()).toEqual(all);
      expectSilentSuccess(gc({ "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }] }));
      expect(names()).toEqual(all.filter((n) => n !== ifbName(NET, "gone")));
      expectSilentSuccess(gc({ "cni.dev/valid-attachments": [] }));
      expect(names()).toEqual([ifbName("othernet", "gone"), ifbName(NET, "goifb"), ifbName(NET, "fake")].sort());
    });

    test("an ifb ADD made is found by GC once its container is gone", () => {
      using w = world();
      const prev = mainAdd(w, "1.1.0");
      expect(call("bandwidth", "ADD", w, bandwidthConf("1.1.0", NET, { ...LIMITS, prevResult: prev })).exitCode).toBe(0);
      const gc = (ids: string[]) =>
        call("bandwidth", "GC", w, bandwidthConf("1.1.0", NET, { "cni.dev/valid-attachments": ids.map((containerID) => ({ containerID, ifname: "eth0" })) }), "", "");
      expectSilentSuccess(gc(["ctr1"]));
      expect(ifbsIn(w.host).map((l) => l.ifname)).toEqual([IFB]);
      expectSilentSuccess(gc(["other"]));
      expect(ifbsIn(w.host)).toEqual([]);
    });
  });
});
