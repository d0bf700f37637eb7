// firewall, Go reference (/usr/lib/cni/firewall, Debian's plugins v1.1.1) against ours, iptables backend: the same
// config and prevResult to both, each in its own throwaway host netns, compared on the result and on both filter
// tables line by line; then one host netns where each one's DEL undoes the other's ADD, and where the two ADD side
// by side without doubling the shared jumps. The firewalld backend too, both talking to the same fake firewalld on
// a private bus (godbus honours DBUS_SYSTEM_BUS_ADDRESS as we do): the same D-Bus calls, and cross DELs.
//
// Masked, each at one place, and nothing else:
//   - Go v1.1.1 prints `"dns": {}` in 1.0.0 results (maskGoResult);
//   - v1.1.1 comments every isolation rule `(ingressPolicy: same-bridge)`; v1.9.1 (ours) writes
//     `(ingressPolicy: same-bridge|isolated)` on the rules both policies share (maskPolicyComment);
//   - error codes: Go reports config errors as 999, ours as 7 (same text; ours adds details naming the field).
// Not compared, v1.1.1 lacks it: ingressPolicy "isolated" (v1.1.1: `unknown ingress policy`), tested on ours alone in
// test/integration/firewall.test.ts.
import { describe, expect, test } from "bun:test";
import { DIR, goPlugins, IMPLS, maskGoResult, otherImpl, type Impl } from "../support/conformance.ts";
import {
  backendRules, bridgePrevResult, filterRules, filterTable, firewallConf, privateBusUnavailable, startFakeFirewalld, startPrivateBus,
  type PrivateBus,
} from "../support/firewall.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { cniEnv, mustSkip, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";

const TAG = "fwc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-fwc-`
const skip = mustSkip("firewall conformance", {
  tools: ["ip", "iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore"], ours: ["firewall"], go: ["firewall"],
});
const { skipReason } = goPlugins("firewall");
const noBusReason = skip ? "" : privateBusUnavailable();
const VERSIONS = ["0.4.0", "1.0.0"]; // firewall speaks 0.4.0 on; v1.1.1 stops at 1.0.0
// Keeps both implementations' auto-detection off the machine's own system bus.
const NO_BUS = "unix:path=/nonexistent/cni-firewall-test/system_bus_socket";
const ctrNs = skip ? undefined : tempNetns(`${TAG}-ctr`);
cleanUpAfterAll(TAG, ctrNs);

function call(impl: Impl, verb: string, host: TempNetns, stdin: object, id = "ctr1", bus?: PrivateBus): Run {
  return runPlugin("firewall", {
    dir: DIR[impl], hostNetns: host.name, env: { ...cniEnv(verb, ctrNs!.path, "eth0", id), DBUS_SYSTEM_BUS_ADDRESS: bus?.address ?? NO_BUS }, stdin,
  });
}

const maskPolicyComment = (lines: string[]) =>
  lines.map((l) => l.replaceAll("(ingressPolicy: same-bridge|isolated)", "(ingressPolicy: same-bridge)"));

const tables = (host: TempNetns) => ({ v4: maskPolicyComment(filterRules(host, 4)), v6: maskPolicyComment(filterRules(host, 6)) });

describe.skipIf(skip).each(VERSIONS)(`firewall %s, Go v1.1.1 vs ours, iptables backend${skipReason}`, (version) => {
  const prev = bridgePrevResult(version, "cnifw0", ["10.66.0.2/24", "fd66::2/64"]);
  const prev2 = bridgePrevResult(version, "cnifw0", ["10.66.0.3/24"]);

  const configs: [string, object][] = [
    ["default", {}],
    ["backend iptables, own admin chain", { backend: "iptables", iptablesAdminChainName: "ADMIN-X" }],
    ["ingressPolicy same-bridge", { ingressPolicy: "same-bridge" }],
  ];

  test.each(configs)("%s: same result, same filter tables after ADD, ADD of a 2nd container, DEL, DEL", (_what, extra) => {
    const seen = {} as Record<Impl, unknown[]>;
    for (const impl of IMPLS) {
      using host = tempNetns(`${TAG}-${impl}host`);
      const c1 = firewallConf(version, { ...extra, prevResult: prev });
      const c2 = firewallConf(version, { ...extra, prevResult: prev2 });
      const add = call(impl, "ADD", host, c1);
      expect([impl, add.exitCode, add.stderr]).toEqual([impl, 0, ""]);
      const afterAdd = tables(host);
      expect([impl, call(impl, "ADD", host, c2, "ctr2").exitCode]).toEqual([impl, 0]);
      const afterAdd2 = tables(host);
      expect([impl, call(impl, "CHECK", host, c1).exitCode]).toEqual([impl, 0]);
      expect([impl, call(impl, "DEL", host, c1).exitCode]).toEqual([impl, 0]);
      const afterDel = tables(host);
      expect([impl, call(impl, "DEL", host, c1).exitCode]).toEqual([impl, 0]);
      seen[impl] = [maskGoResult(add.json), afterAdd, afterAdd2, afterDel, tables(host)];
    }
    expect(seen.ours).toEqual(seen.go);
  });

  test.each(IMPLS)("ADD by %s, CHECK and DEL by the other: the other's CHECK passes, its DEL leaves what a same-side DEL leaves", (adder) => {
    using host = tempNetns(`${TAG}-cross`);
    const other = otherImpl(adder);
    const c = firewallConf(version, { prevResult: prev });
    expect(call(adder, "ADD", host, c).exitCode).toBe(0);
    const check = call(other, "CHECK", host, c);
    expect([check.exitCode, check.stdout]).toEqual([0, ""]);
    expect(call(other, "DEL", host, c).exitCode).toBe(0);
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules([])));
    expect(filterRules(host, 6)).toEqual(filterTable(backendRules([])));
  });

  test("both ADD on one host: the shared jumps and chains once; each DEL removes its container's rules", () => {
    using host = tempNetns(`${TAG}-mixed`);
    // The open policy: v1.1.1 words the isolation comments differently from v1.9.1, so those rules would not be shared.
    const c1 = firewallConf(version, { prevResult: prev });
    const c2 = firewallConf(version, { prevResult: prev2 });
    expect(call("go", "ADD", host, c1, "ctr1").exitCode).toBe(0);
    expect(call("ours", "ADD", host, c2, "ctr2").exitCode).toBe(0);
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules(["10.66.0.2", "10.66.0.3"])));
    expect(call("ours", "DEL", host, c1, "ctr1").exitCode).toBe(0);
    expect(call("go", "DEL", host, c2, "ctr2").exitCode).toBe(0);
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules([])));
    expect(filterRules(host, 6)).toEqual(filterTable(backendRules([])));
  });

  test("config errors: the same text; Go's code 999, ours 7", () => {
    using host = tempNetns(`${TAG}-err`);
    for (const extra of [{}, { ingressPolicy: "closed", prevResult: prev }]) {
      const go = call("go", "ADD", host, firewallConf(version, extra));
      const ours = call("ours", "ADD", host, firewallConf(version, extra));
      expect([go.exitCode, ours.exitCode]).toEqual([1, 1]);
      expect([go.json.code, ours.json.code]).toEqual([999, 7]);
      expect(ours.json.msg).toBe(go.json.msg);
    }
  });
});

describe.skipIf(skip || noBusReason !== "")(`firewall, Go v1.1.1 vs ours, firewalld backend on a fake firewalld${skipReason}${noBusReason ? ` (skipped: ${noBusReason})` : ""}`, () => {
  test.each(VERSIONS)("%s: the same D-Bus calls for ADD, CHECK, DEL; each one's DEL unbinds what the other bound", (version) => {
    using host = tempNetns(`${TAG}-fwd`);
    using bus = startPrivateBus(`${TAG}-bus`);
    using fake = startFakeFirewalld(bus);
    const prev = bridgePrevResult(version, "cnifw0", ["10.66.0.2/24", "fd66::2/64"]);
    const c = firewallConf(version, { firewalldZone: "internal", prevResult: prev });
    const calls = {} as Record<Impl, string[]>;
    for (const impl of IMPLS) {
      const start = fake.state().calls.length;
      const add = call(impl, "ADD", host, c, "ctr1", bus);
      expect([impl, add.exitCode, add.stderr]).toEqual([impl, 0, ""]);
      expect(maskGoResult(add.json)).toEqual(prev);
      expect(fake.state().sources).toEqual({ internal: ["10.66.0.2/32", "fd66::2/128"] });
      expect([impl, call(impl, "CHECK", host, c, "ctr1", bus).exitCode]).toEqual([impl, 0]);
      expect([impl, call(otherImpl(impl), "DEL", host, c, "ctr1", bus).exitCode]).toEqual([impl, 0]);
      expect(fake.state().sources).toEqual({});
      calls[impl] = fake.state().calls.slice(start).map((x) => `${x.member}(${x.args.join(", ")})`);
    }
    expect(calls.ours).toEqual(calls.go);
    expect(filterRules(host, 4)).toEqual(filterTable({}));
  });
});
