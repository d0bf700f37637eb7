// ptp, Go reference (/usr/lib/cni/ptp with /usr/lib/cni/host-local, Debian's plugins v1.1.1) against ours (with
// our host-local): the same dual-stack ipMasq config to both, each in its own throwaway host netns with its own
// container netns and dataDir, compared on the result JSON, the container's addresses and routes, the host side's
// addresses, routes and sysctls, the iptables nat rules and the store; then each one's DEL undoing the other's ADD on
// one shared host netns and dataDir, as on a node that switches implementations (SPEC-DIGEST §1.2, §0.9).
//
// Masked, each at one place, and nothing else:
//   - the random parts: the host veth name, both MACs, and the sandbox path (each side has its own container netns);
//   - Go v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 omits an empty dns (maskResult).
// Chain names need no masking: both hash network + container ID. Link attributes upstream does not set are not
// compared (v1.1.1 creates the veth with txqueuelen 0, v1.9.1 and ours leave the kernel's 1000).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { DIR, maskAttachmentResult, side, type Impl, type Side } from "../support/conformance.ts";
import { hostLocalConf, NET } from "../support/host-local.ts";
import { linkNames, routesIn, type RouteState } from "../support/link-state.ts";
import { cniNatLines, masqChain, natRules } from "../support/masquerade.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { sysctlIn } from "../support/ns-exec.ts";
import { addrsOf, linksIn } from "../support/ptp.ts";
import { VETH_NAME } from "../support/result.ts";
import { cniEnv, mustSkip, runPlugin, spawnPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { namesAndContents, snapshotDir, tempDir, type TempDir } from "../support/temp-dir.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "ptpc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-ptpc-`
const skip = mustSkip("ptp conformance", { tools: ["ip", "iptables-save", "ip6tables-save"], ours: ["ptp"], go: ["ptp", "host-local"] });
cleanUpAfterAll(TAG);

// IPv6 DAD makes a dual-stack ADD take 1-2 s; bun's default 5 s per test is too tight for a loaded machine.
const TIMEOUT_MS = 20_000;

/** Runs one implementation's ptp as a runtime does; CNI_PATH is its own directory, so Go's finds Go's host-local. */
function call(impl: Impl, verb: string, host: TempNetns, netns: string, stdin: object, id = "ctr1"): Run {
  return runPlugin("ptp", { dir: DIR[impl], hostNetns: host.name, env: cniEnv(verb, netns, "eth0", id), stdin });
}

const DUAL = {
  ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]],
  routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }, { dst: "10.9.0.0/16", gw: "10.1.2.1" }, { dst: "fd00:9::/64", gw: "fd00:1::1" }],
};
const SINGLE = { ranges: [[{ subnet: "10.1.2.0/24" }]], routes: [{ dst: "0.0.0.0/0" }, { dst: "10.9.0.0/16", gw: "10.1.2.1" }] };

function conf(version: string, dataDir: string, ipam: object): Record<string, unknown> {
  return hostLocalConf(version, dataDir, ipam, { ipMasq: true });
}

/** Returns the result with its random parts masked (the host veth is interface 0) and Go v1.1.1's empty dns dropped. */
const maskResult = (json: any) => maskAttachmentResult(json, 0);

/** Everything one attachment changed in its host and container netns, with the host veth's name masked. */
function stateOf(host: TempNetns, ctr: TempNetns) {
  const ctrLinks = linksIn(ctr).map(({ ifname, kind, mtu, up }) => ({ ifname, kind, mtu, up }));
  const veths = linksIn(host).filter((l) => l.kind === "veth");
  expect(veths.map((l) => l.ifname)).toEqual([expect.stringMatching(VETH_NAME)]);
  const veth = veths[0]!;
  const mask = (rs: RouteState[]) => rs.map((r) => (r.dev === veth.ifname ? { ...r, dev: "<veth>" } : r));
  return {
    ctrLinks,
    ctrAddrs: addrsOf(ctr, "eth0"),
    ctrRoutes4: routesIn(ctr, 4),
    ctrRoutes6: routesIn(ctr, 6),
    hostVeth: { kind: veth.kind, mtu: veth.mtu, up: veth.up },
    hostAddrs: addrsOf(host, veth.ifname, false), // DAD on the host side is nobody's to wait for
    hostRoutes4: mask(routesIn(host, 4)),
    hostRoutes6: mask(routesIn(host, 6)),
    ipForward: sysctlIn(host, "net/ipv4/ip_forward"),
    ipv6Forwarding: sysctlIn(host, "net/ipv6/conf/all/forwarding"),
    acceptRa: sysctlIn(host, `net/ipv6/conf/${veth.ifname}/accept_ra`),
    nat4: natRules(host, 4),
    nat6: natRules(host, 6),
  };
}

const CASES: [string, string, object][] = [
  ["0.2.0", "single stack", SINGLE],
  ["0.3.1", "dual stack", DUAL],
  ["0.4.0", "dual stack", DUAL],
  ["1.0.0", "dual stack", DUAL],
];

describe.skipIf(skip)("ptp: Go v1.1.1 vs ours", () => {
  test.each(CASES)("%s %s + ipMasq + routes: same result, same kernel state, same nat rules, same store; DEL undoes all", async (version, _label, ipam) => {
    using go = side(TAG, "go");
    using ours = side(TAG, "ours");
    // Both ADDs at once (separate netns and stores): each waits about a second for IPv6 DAD.
    const add = (impl: Impl, s: Side) =>
      spawnPlugin("ptp", { dir: DIR[impl], hostNetns: s.host.name, env: cniEnv("ADD", s.ctr.path), stdin: conf(version, s.data.path, ipam) });
    const [goAdd, ourAdd] = await Promise.all([add("go", go), add("ours", ours)]);
    expect([ourAdd.exitCode, ourAdd.stderr]).toEqual([0, ""]);
    expect([goAdd.exitCode, goAdd.stderr]).toEqual([0, ""]);
    expect(maskResult(ourAdd.json)).toEqual(maskResult(goAdd.json));

    expect(stateOf(ours.host, ours.ctr)).toEqual(stateOf(go.host, go.ctr));
    expect(namesAndContents(snapshotDir(ours.data.path))).toEqual(namesAndContents(snapshotDir(go.data.path)));
    expect(natRules(ours.host, 4).some((l) => l.includes(masqChain(NET, "ctr1")))).toBe(true); // the comparison compared something

    for (const [impl, s, r] of [["go", go, goAdd], ["ours", ours, ourAdd]] as const) {
      const withPrev = { ...conf(version, s.data.path, ipam), prevResult: r.json };
      if (versionAtLeast(version, "0.4.0")) expect([impl, call(impl, "CHECK", s.host, s.ctr.path, withPrev).stdout]).toEqual([impl, ""]);
      const del = call(impl, "DEL", s.host, s.ctr.path, versionAtLeast(version, "0.4.0") ? withPrev : conf(version, s.data.path, ipam));
      expect([impl, del.exitCode, del.stdout]).toEqual([impl, 0, ""]);
    }
    const after = (s: Side) => ({
      hostLinks: linkNames(s.host),
      ctrLinks: linkNames(s.ctr),
      hostRoutes: [routesIn(s.host, 4), routesIn(s.host, 6)],
      nat: [natRules(s.host, 4), natRules(s.host, 6)],
      store: Object.keys(snapshotDir(s.data.path)),
    });
    expect(after(ours)).toEqual(after(go));
    expect(after(ours).hostLinks).toEqual(["lo"]);
  }, TIMEOUT_MS);

  describe("cross DEL on one host netns and one dataDir", () => {
    let host: TempNetns;
    let data: TempDir;
    beforeAll(() => {
      host = tempNetns(`${TAG}-xhost`);
      data = tempDir(`${TAG}-xdata`);
    });
    afterAll(() => {
      host?.[Symbol.dispose]();
      data?.[Symbol.dispose]();
    });

    /** Checks that nothing of the attachment is left: no veth, no route, no chain or jump, no reservation file. */
    function expectNothingLeft(ctr: TempNetns): void {
      expect(linkNames(host)).toEqual(["lo"]);
      expect(linkNames(ctr)).toEqual(["lo"]);
      expect([routesIn(host, 4), routesIn(host, 6)]).toEqual([[], []]);
      expect(cniNatLines(host)).toEqual([]);
      expect(Object.keys(snapshotDir(data.path)).filter((n) => !/\/(lock|last_reserved_ip\.\d+)$/.test(n))).toEqual([NET]);
    }

    test.each([
      ["go", "ours"],
      ["ours", "go"],
    ] as [Impl, Impl][])("%s ADD, %s DEL (1.0.0 dual stack, ipMasq, prevResult as a runtime sends it)", (adder, deleter) => {
      using ctr = tempNetns(`${TAG}-xctr`);
      const id = `${adder}-added`;
      const c = conf("1.0.0", data.path, DUAL);
      const add = call(adder, "ADD", host, ctr.path, c, id);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(cniNatLines(host).filter((l) => l.includes(masqChain(NET, id)))).toHaveLength(8); // 4 lines per family
      const reserved = (add.json.ips as { address: string }[]).map((i) => `${NET}/${i.address.split("/")[0]}`);
      expect(Object.keys(snapshotDir(data.path))).toEqual(expect.arrayContaining(reserved));

      const withPrev = { ...c, prevResult: add.json };
      let del = call(deleter, "DEL", host, ctr.path, withPrev, id);
      // upstream quirk (Go v1.1.1 on iptables 1.8.9 nf_tables, see pkg/netfilter/ipmasq-conformance.test.ts): its
      // DEL fails once when the chain is already gone; it deletes the link first, so a runtime's retry succeeds.
      if (deleter === "go" && del.exitCode !== 0) {
        expect(del.stdout).toContain(`Chain '${masqChain(NET, id)}' does not exist`);
        del = call(deleter, "DEL", host, ctr.path, withPrev, id);
      }
      expect([del.exitCode, del.stdout, del.stderr]).toEqual([0, "", ""]);
      expectNothingLeft(ctr);
    }, TIMEOUT_MS);
  });
});
