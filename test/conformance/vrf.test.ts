// vrf, Go reference (/usr/lib/cni, Debian's plugins v1.1.1) against ours, for config errors only: the build
// machine's kernel makes no VRFs, so what the two do to a kernel that has them is proven in the kernel VM
// (test/kernel-vm/cases/vrf.sh) on ours alone. The same input to both, in the same throwaway container netns (neither
// gets as far as the kernel), compared on exit status and error JSON; and the DELs that have nothing to do (no VRF,
// the netns gone, an empty CNI_NETNS) succeeding silently in both (SPEC-DIGEST §3.6).
//
// Go v1.1.1 is older than the v1.9.1 behaviour we implement. These differences are known and deliberate, and are
// masked here, each at one place, and nothing else:
//   1. A missing vrfname or prevResult is code 7 here where Go says 999, with the same words (maskCode).
//   2. v1.1.1 knows only 1.0.0 in the 1.x family: "result type supports [1.0.0]" lacks 1.1.0, and the supported
//      versions of an "incompatible CNI versions" error end at 1.0.0 (maskVersions).
import { describe, expect, test } from "bun:test";
import { DIR, goPlugins, IMPLS, type Impl } from "../support/conformance.ts";
import { tempNetns } from "../support/netns.ts";
import { cniEnv, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";

const { hasGo, skipReason } = goPlugins("vrf");
const TAG = "vrfc"; // every netns of this file starts with `<RUN_PREFIX>-vrfc-`
const host = hasGo ? tempNetns(`${TAG}-host`) : undefined;
const ctr = hasGo ? tempNetns(`${TAG}-ctr`) : undefined;
cleanUpAfterAll(TAG, ctr, host);

const V = "1.0.0";
const PREV = { cniVersion: V, interfaces: [{ name: "eth0", sandbox: "/var/run/netns/x" }], ips: [{ interface: 0, address: "10.1.2.3/24" }] };

function call(impl: Impl, verb: string, netns: string, stdin: object | string): Run {
  return runPlugin("vrf", { dir: DIR[impl], hostNetns: host!.name, env: cniEnv(verb, netns), stdin });
}

/** Difference 1. */
function maskCode(json: any): any {
  return json && json.code === 7 ? { ...json, code: 999 } : json;
}
/** Difference 2. */
function maskVersions(json: any): any {
  if (!json) return json;
  const out = { ...json };
  if (typeof out.msg === "string") out.msg = out.msg.replace("[1.0.0 1.1.0]", "[1.0.0]");
  if (typeof out.details === "string") out.details = out.details.replace(' "1.1.0"]', "]");
  return out;
}
const outcome = (r: Run, impl: Impl) => ({ exitCode: r.exitCode, stdout: r.stdout === "" ? "" : impl === "ours" ? maskVersions(maskCode(r.json)) : r.json });

const conf = (extra: object) => ({ cniVersion: V, name: "vrfnet", type: "vrf", ...extra });

describe.skipIf(!hasGo)(`vrf: Go v1.1.1 and ours, config errors${skipReason}`, () => {
  const cases: [string, string, object | string][] = [
    ["ADD without vrfname", "ADD", conf({ prevResult: PREV })],
    ["DEL without vrfname", "DEL", conf({})],
    ["CHECK without vrfname", "CHECK", conf({ prevResult: PREV })],
    ["ADD without prevResult", "ADD", conf({ vrfname: "vrf0" })],
    ["CHECK without prevResult", "CHECK", conf({ vrfname: "vrf0" })],
    ["vrfname a number", "ADD", conf({ vrfname: 5, prevResult: PREV })],
    ["vrfname an object, on DEL", "DEL", conf({ vrfname: {} })],
    ["table a string", "ADD", conf({ vrfname: "vrf0", table: "1", prevResult: PREV })],
    ["table negative", "ADD", conf({ vrfname: "vrf0", table: -1, prevResult: PREV })],
    ["table 1.5", "ADD", conf({ vrfname: "vrf0", table: 1.5, prevResult: PREV })],
    ["table 2^32", "ADD", conf({ vrfname: "vrf0", table: 2 ** 32, prevResult: PREV })],
    ["prevResult a string", "ADD", conf({ vrfname: "vrf0", prevResult: "x" })],
    ["prevResult of another family", "ADD", conf({ vrfname: "vrf0", prevResult: { cniVersion: "0.4.0" } })],
    ["prevResult of another family, on DEL", "DEL", conf({ vrfname: "vrf0", prevResult: { cniVersion: "0.4.0" } })],
    ["prevResult with a bad address", "ADD", conf({ vrfname: "vrf0", prevResult: { cniVersion: V, ips: [{ address: "10.1.2.3" }] } })],
    ["cniVersion 0.3.0 (vrf speaks 0.3.1 on)", "ADD", { ...conf({ vrfname: "vrf0" }), cniVersion: "0.3.0" }],
    ["cniVersion 0.2.0", "DEL", { ...conf({ vrfname: "vrf0" }), cniVersion: "0.2.0" }],
  ];
  test.each(cases)("%s: the same error", (_name, verb, stdin) => {
    const seen = {} as Record<Impl, unknown>;
    for (const impl of IMPLS) seen[impl] = outcome(call(impl, verb, ctr!.path, stdin), impl);
    expect(seen.ours).toEqual(seen.go);
    expect(seen.ours).toMatchObject({ exitCode: 1 });
  });

  const dels: [string, string][] = [
    ["no VRF in the netns", ""],
    ["the netns gone", "/run/netns/cni-vrf-conformance-nonexistent"],
    ["an empty CNI_NETNS", "-"],
  ];
  test.each(dels)("DEL with %s: silent success in both", (_name, netns) => {
    for (const impl of IMPLS) {
      const path = netns === "" ? ctr!.path : netns === "-" ? "" : netns;
      expect(outcome(call(impl, "DEL", path, conf({ vrfname: "vrf0", prevResult: PREV })), impl)).toEqual({ exitCode: 0, stdout: "" });
    }
  });
});
