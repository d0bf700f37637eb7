// loopback, Go reference (/usr/lib/cni, Debian's plugins v1.1.1) against ours, for every version Go speaks: the
// ADD result, the state of lo it leaves, CHECK, DEL, and DEL of a netns that is gone (SPEC-DIGEST §1.7).
// The result carries CNI_NETNS as `sandbox`, so both run on the same netns: Go ADD, CHECK, DEL, then ours.
//
// Go v1.1.1 is older than the v1.9.1 behaviour we implement. One difference is known, deliberate and masked
// (maskGoResult): v1.1.1 prints `"dns": {}` in the 1.x-shaped result; v1.9.1 omits an empty dns. Results converted
// to 0.1.0 (no cniVersion in the config) carry `dns: {}` in both, and are compared unmasked.
import { describe, expect, test } from "bun:test";
import { DIR, goPlugins, type Impl } from "../support/conformance.ts";
import { ipJson, RUN_PREFIX, tempNetns, type TempNetns } from "../support/netns.ts";
import { cniEnv, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

// Debian's package brings host-local and loopback together; its marker is the same as the host-local suite's.
const { hasGo, skipReason } = goPlugins("host-local");
const TAG = "loc"; // every netns of this file starts with `<RUN_PREFIX>-loc-`

const host = hasGo ? tempNetns(`${TAG}-host`) : undefined;
cleanUpAfterAll(TAG, host);

function call(impl: Impl, verb: string, netns: string, stdin: object): Run {
  return runPlugin("loopback", { dir: DIR[impl], hostNetns: host!.name, env: cniEnv(verb, netns, "eth0"), stdin });
}

/** The known difference: v1.1.1 prints an empty `dns` in a 1.x-shaped result, v1.9.1 leaves it out. */
function maskGoResult(json: any, hasVersion: boolean): any {
  if (!hasVersion || !json || typeof json !== "object" || !("interfaces" in json)) return json;
  const { dns, ...rest } = json;
  return dns && Object.keys(dns).length === 0 ? rest : json;
}

/** lo as `ip -j addr` shows it, without counters or lifetimes that differ between two moments. */
function loState(ns: TempNetns): unknown {
  const [lo] = ipJson(ns, ["addr", "show", "lo"]) as any[];
  return {
    flags: lo.flags,
    operstate: lo.operstate,
    address: lo.address,
    addrs: (lo.addr_info ?? []).map((a: any) => ({ family: a.family, local: a.local, prefixlen: a.prefixlen, scope: a.scope })),
  };
}

/** What one implementation did through a whole ADD, CHECK, DEL cycle on a netns. */
interface Cycle {
  add: Run;
  upState: unknown;
  check?: Run;
  del: Run;
  downState: unknown;
}

function cycle(impl: Impl, ns: TempNetns, stdin: object, withCheck: boolean): Cycle {
  const add = call(impl, "ADD", ns.path, stdin);
  const upState = loState(ns);
  const check = withCheck ? call(impl, "CHECK", ns.path, stdin) : undefined;
  const del = call(impl, "DEL", ns.path, stdin);
  return { add, upState, check, del, downState: loState(ns) };
}

const outcome = (r: Run | undefined) => r && { exitCode: r.exitCode, stdout: r.stdout === "" ? "" : r.json };

describe.skipIf(!hasGo)(`loopback: Go v1.1.1 and ours${skipReason}`, () => {
  // "" is a config without cniVersion: the only case the result is converted (to 0.1.0).
  test.each(["", "0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"])("cniVersion %p: ADD, CHECK, DEL on the same netns", (version) => {
    using ns = tempNetns(`${TAG}-ctr`);
    const stdin = version ? { cniVersion: version, name: "lonet", type: "loopback" } : { name: "lonet", type: "loopback" };
    const withCheck = version !== "" && versionAtLeast(version, "0.4.0");
    const go = cycle("go", ns, stdin, withCheck);
    const ours = cycle("ours", ns, stdin, withCheck);

    expect(go.add.exitCode).toBe(0);
    expect(ours.add.exitCode).toBe(0);
    expect(ours.add.json).toEqual(maskGoResult(go.add.json, version !== ""));
    expect(ours.add.json.cniVersion).toBe(version || "0.1.0");
    expect(ours.upState).toEqual(go.upState);
    expect((ours.upState as { flags: string[] }).flags).toContain("UP");
    expect(outcome(ours.check)).toEqual(outcome(go.check));
    expect(outcome(ours.del)).toEqual(outcome(go.del));
    expect(ours.downState).toEqual(go.downState);
    expect((ours.downState as { flags: string[] }).flags).not.toContain("UP");
  });

  test("CHECK with lo down fails the same way", () => {
    using ns = tempNetns(`${TAG}-ctr`);
    const stdin = { cniVersion: "1.0.0", name: "lonet", type: "loopback" };
    const go = call("go", "CHECK", ns.path, stdin);
    const ours = call("ours", "CHECK", ns.path, stdin);
    expect(go.exitCode).toBe(1);
    expect(outcome(ours)).toEqual(outcome(go));
  });

  test.each(["ADD", "CHECK", "DEL"])("%s on a netns that is gone: same outcome", (verb) => {
    const gone = `/run/netns/${RUN_PREFIX}-${TAG}-gone`;
    const stdin = { cniVersion: "1.0.0", name: "lonet", type: "loopback" };
    const go = call("go", verb, gone, stdin);
    const ours = call("ours", verb, gone, stdin);
    expect(go.exitCode).toBe(verb === "DEL" ? 0 : 1);
    expect(outcome(ours)).toEqual(outcome(go));
  });

  test("a prevResult passes through the same", () => {
    using ns = tempNetns(`${TAG}-ctr`);
    const prevResult = { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: ns.path }], ips: [{ interface: 0, address: "10.1.0.2/24", gateway: "10.1.0.1" }] };
    const stdin = { cniVersion: "1.0.0", name: "lonet", type: "loopback", prevResult };
    const go = call("go", "ADD", ns.path, stdin);
    const ours = call("ours", "ADD", ns.path, stdin);
    expect(go.exitCode).toBe(0);
    expect(ours.json).toEqual(maskGoResult(go.json, true));
  });
});
