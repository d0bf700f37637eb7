// bandwidth, Go reference (/usr/lib/cni/bandwidth, Debian's plugins v1.1.1) against ours: the same config and the
// same kind of prevResult (our ptp with our host-local makes the veth on both sides, so only bandwidth differs), each
// in its own throwaway host and container netns; compared on the result, the tc state read back with `tc -j -r`
// (qdiscs with their exact rate, bucket and limit; the redirect filter) and the ifb; each one's CHECK passing on the
// other's ADD; then each one's DEL undoing the other's ADD (with the main plugin's DEL after it, as in a chain) so
// that no ifb and no qdisc is left; and the same error text for bad input (SPEC-DIGEST §3.2).
//
// Masked, each at one place, and nothing else:
//   - the random parts: the host veth name, the MACs, the sandbox path (each side has its own netns);
//   - Go v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 omits an empty dns (maskResult);
//   - our ifb carries an alias recording its owner (GC's record, meta/bandwidth/record.ts); Go's has none;
//   - Go's validation errors are code 999, ours 7 with the fields in `details`: only msg is compared for those.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cniEnv, GO, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { sweepTempDirs, tempDir } from "../support/temp-dir.ts";
import { hostLocalConf, NET } from "../support/host-local.ts";
import { allQdiscs, bandwidthConf, hostVethOf, ifbsIn, qdiscsOf, redirectFiltersOf } from "../support/bandwidth.ts";
import { ifbName } from "../../pkg/netfilter/names.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "bwc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-bwc-`
const hasGo = existsSync(`${GO}/bandwidth`);
const skip = !canUseNetns() || !hasGo || Bun.which("tc") === null || !["bandwidth", "ptp", "host-local"].every((p) => existsSync(`${OURS}/${p}`));
if (skip) console.warn(`bandwidth conformance skipped: needs root, tc, ${GO}/bandwidth and our bin/bandwidth, ptp, host-local`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

type Impl = "go" | "ours";
const DIR: Record<Impl, string> = { go: GO, ours: OURS };
const IFB = ifbName(NET, "ctr1");

/** One side's world: host and container netns and host-local's dataDir, with our ptp's veth in place. */
interface Side {
  host: TempNetns;
  ctr: TempNetns;
  dataDir: string;
  prev: any;
  hostVeth: string;
  [Symbol.dispose](): void;
}

function side(role: string, version: string): Side {
  const host = tempNetns(`${TAG}-${role}host`);
  const ctr = tempNetns(`${TAG}-${role}ctr`);
  const data = tempDir(`${TAG}-${role}data`);
  const s: Side = {
    host, ctr, dataDir: data.path, prev: undefined, hostVeth: "",
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      data[Symbol.dispose]();
    },
  };
  const add = ptp(s, "ADD", version);
  expect([add.exitCode, add.stderr]).toEqual([0, ""]);
  s.prev = add.json;
  s.hostVeth = hostVethOf(host, ctr);
  return s;
}

function ptp(s: Side, verb: string, version: string): Run {
  return runPlugin("ptp", { hostNetns: s.host.name, env: cniEnv(verb, s.ctr.path), stdin: hostLocalConf(version, s.dataDir) });
}

function bw(impl: Impl, verb: string, s: Side, stdin: object): Run {
  return runPlugin("bandwidth", { dir: DIR[impl], hostNetns: s.host.name, env: cniEnv(verb, s.ctr.path), stdin });
}

/** Returns the result with its random parts masked (after checking their form) and Go v1.1.1's empty dns dropped. */
function maskResult(json: any, s: Side): any {
  const out = structuredClone(json);
  if (out && versionAtLeast(out.cniVersion, "1.0.0") && out.dns && Object.keys(out.dns).length === 0) delete out.dns;
  for (const itf of out?.interfaces ?? []) {
    if (itf.name === s.hostVeth) itf.name = "<veth>";
    if (itf.mac !== undefined) {
      expect(itf.mac).toMatch(/^([0-9a-f]{2}:){5}[0-9a-f]{2}$/);
      itf.mac = "<mac>";
    }
    if (itf.sandbox !== undefined) itf.sandbox = "<sandbox>";
  }
  return out;
}

/** The tc and ifb state of one side, with the host veth's name and the ifb's MAC and alias masked. */
function stateOf(s: Side) {
  return {
    hostVeth: qdiscsOf(s.host, s.hostVeth),
    filters: redirectFiltersOf(s.host, s.hostVeth),
    ifbs: ifbsIn(s.host).map(({ mac, alias, ...l }) => l),
    ifbQdiscs: ifbsIn(s.host).map((l) => qdiscsOf(s.host, l.ifname)),
  };
}

// Limits whose numbers are easy; a bucket that wraps Go's uint32 (a burst of hours at 1 byte/s); a rate over 2^32
// bytes/s (TCA_TBF_RATE64); runtimeConfig only; egress only.
const CASES: [string, string, object][] = [
  ["1.0.0", "both directions", { ingressRate: 16_000_000, ingressBurst: 131072, egressRate: 8_000_000, egressBurst: 65536 }],
  ["0.4.0", "a bucket that wraps uint32", { ingressRate: 8, ingressBurst: 80_000_000, egressRate: 8, egressBurst: 34359738352 }],
  ["0.3.1", "40 Gbit/s (TCA_TBF_RATE64)", { ingressRate: 40_000_000_000, ingressBurst: 8_000_000, egressRate: 40_000_000_000, egressBurst: 8_000_000 }],
  ["1.0.0", "runtimeConfig, egress only", { runtimeConfig: { bandwidth: { egressRate: 1_000_000, egressBurst: 100_000 } } }],
];

describe.skipIf(skip)("bandwidth: Go v1.1.1 vs ours", () => {
  test.each(CASES)("%s %s: same result, same tc state, CHECK passes across", (version, _label, limits) => {
    using go = side("go", version);
    using ours = side("ours", version);
    const goAdd = bw("go", "ADD", go, bandwidthConf(version, NET, { ...limits, prevResult: go.prev }));
    const ourAdd = bw("ours", "ADD", ours, bandwidthConf(version, NET, { ...limits, prevResult: ours.prev }));
    expect([goAdd.exitCode, goAdd.stderr]).toEqual([0, ""]);
    expect([ourAdd.exitCode, ourAdd.stderr]).toEqual([0, ""]);
    expect(maskResult(ourAdd.json, ours)).toEqual(maskResult(goAdd.json, go));

    const state = stateOf(ours);
    expect(state).toEqual(stateOf(go));
    expect(state.hostVeth.length + state.ifbQdiscs.length).toBeGreaterThan(1); // the comparison compared something
    expect(ifbsIn(ours.host).map((l) => l.alias)).toEqual(state.ifbs.map(() => `cni-bandwidth network=${NET} containerID=ctr1`));

    if (versionAtLeast(version, "0.4.0")) {
      // Each one's CHECK on the other's ADD, with the other's result as prevResult; and the same complaint on drift.
      for (const [checker, s, r] of [["go", ours, ourAdd], ["ours", go, goAdd]] as const) {
        const c = bandwidthConf(version, NET, { ...limits, prevResult: r.json });
        expect([bw(checker, "CHECK", s, c).exitCode, bw(checker, "CHECK", s, c).stdout]).toEqual([0, ""]);
      }
      if ("egressRate" in limits) {
        const drift = { ...limits, egressRate: (limits as { egressRate: number }).egressRate + 8 };
        const goCheck = bw("go", "CHECK", ours, bandwidthConf(version, NET, { ...drift, prevResult: ourAdd.json }));
        const ourCheck = bw("ours", "CHECK", go, bandwidthConf(version, NET, { ...drift, prevResult: goAdd.json }));
        expect(ourCheck.json).toEqual(goCheck.json);
        expect(ourCheck.json.msg).toBe("Rate doesn't match");
      }
    }
  });

  test.each([["go", "ours"], ["ours", "go"]] as const)("%s ADD, %s DEL (then ptp DEL): no ifb, no qdisc left", (adder, deleter) => {
    using s = side("x", "1.0.0");
    const limits = { ingressRate: 16_000_000, ingressBurst: 131072, egressRate: 8_000_000, egressBurst: 65536 };
    const add = bw(adder, "ADD", s, bandwidthConf("1.0.0", NET, { ...limits, prevResult: s.prev }));
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(ifbsIn(s.host).map((l) => l.ifname)).toEqual([IFB]);
    const del = bw(deleter, "DEL", s, bandwidthConf("1.0.0", NET, { ...limits, prevResult: add.json }));
    expect([del.exitCode, del.stdout, del.stderr]).toEqual([0, "", ""]);
    expect(ifbsIn(s.host)).toEqual([]);
    // Upstream's DEL leaves the host veth's qdiscs to go with the veth; ours removes them itself.
    if (deleter === "ours") expect(allQdiscs(s.host).filter((q) => q.kind !== "noqueue")).toEqual([]);
    expect([bw(deleter, "DEL", s, bandwidthConf("1.0.0", NET, limits)).exitCode]).toEqual([0]);
    expect(ptp(s, "DEL", "1.0.0").exitCode).toBe(0);
    expect(allQdiscs(s.host)).toEqual([]);
    expect(ifbsIn(s.host)).toEqual([]);
  });

  test.each([
    ["rate without burst", { egressRate: 8000 }],
    ["burst without rate", { ingressBurst: 8000 }],
    ["burst over 4 GB", { ingressRate: 8000, ingressBurst: 34359738360 }],
    ["a negative rate", { ingressRate: -1 }],
    ["a string rate", { ingressRate: "5" }],
    ["a fraction in runtimeConfig", { runtimeConfig: { bandwidth: { egressRate: 1.5 } } }],
    ["runtimeConfig.bandwidth not an object", { runtimeConfig: { bandwidth: 5 } }],
  ])("bad input, %s: the same message", (_label, limits) => {
    using s = side("bad", "1.0.0");
    const conf = bandwidthConf("1.0.0", NET, { ...limits, prevResult: s.prev });
    const go = bw("go", "ADD", s, conf);
    const ours = bw("ours", "ADD", s, conf);
    expect([ours.exitCode, go.exitCode]).toEqual([1, 1]);
    expect(ours.json.msg).toBe(go.json.msg);
    expect(ifbsIn(s.host)).toEqual([]);
    expect(qdiscsOf(s.host, s.hostVeth).map((q) => q.kind)).toEqual(["noqueue"]);
  });

  test("no host veth peer: the same texts", () => {
    using s = side("peer", "1.0.0");
    const add = (impl: Impl, prev: object, ifname = "eth0") =>
      runPlugin("bandwidth", {
        dir: DIR[impl], hostNetns: s.host.name, env: cniEnv("ADD", s.ctr.path, ifname),
        stdin: bandwidthConf("1.0.0", NET, { egressRate: 8000, egressBurst: 8000, prevResult: prev }),
      });
    for (const [prev, ifname] of [[{ ...s.prev, interfaces: [] }, "eth0"], [s.prev, "eth9"], [s.prev, "lo"], [{ ...s.prev, interfaces: s.prev.interfaces.slice(1) }, "eth0"]] as const) {
      const go = add("go", prev, ifname);
      const ours = add("ours", prev, ifname);
      expect([ours.exitCode, ours.json.msg]).toEqual([go.exitCode, go.json.msg]);
    }
    expect(ifbsIn(s.host)).toEqual([]);
  });
});
