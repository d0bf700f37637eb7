// bridge, Go reference (/usr/lib/cni/bridge with /usr/lib/cni/host-local, Debian's plugins v1.1.1) against ours (with
// our host-local), for the fields v1.1.1 knows: the same config to both, each in its own throwaway host netns with its
// own container netns and dataDir, compared on the result JSON, the bridge and its port, the container's link,
// addresses, routes and sysctls, the iptables nat rules, the spoof-check ruleset and the store, through ADD, CHECK and
// DEL; then each one's DEL (and CHECK) on the other's ADD in one shared host netns and dataDir, as on a node that
// switches implementations (SPEC-DIGEST §1.1, §1.1.1, §0.9).
//
// Masked, each at one place, and nothing else:
//   - the random parts: the host veth name, the MACs, and the sandbox path (each side has its own container netns);
//   - Go v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 omits an empty dns (maskResult);
//   - keep_addr_on_down is not compared: v1.9.1 (and ours) set it to 1 before the first IPv6 address, v1.1.1 did not;
//   - our pkg/ipam adds words after upstream's "no plugin name provided" (the layer-2 CHECK quirk); only the
//     upstream part is compared (maskCheck).
// Chain names need no masking: both hash network + container ID; the spoof check is named by container ID and ifname.
import { describe, expect, test } from "bun:test";
import { addrsOf, spoofCheckObjects, SPOOFCHK_BASE } from "../support/bridge.ts";
import { DIR, maskAttachmentResult, side, type Impl, type Side } from "../support/conformance.ts";
import { NET } from "../support/host-local.ts";
import { linkIn, linksIn, routesIn, vethsIn } from "../support/link-state.ts";
import { cniNatLines, natRules } from "../support/masquerade.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { sysctlIn, sysfsIn } from "../support/ns-exec.ts";
import { cniEnv, mustSkip, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { namesAndContents, snapshotDir, tempDir } from "../support/temp-dir.ts";
import { waitFor } from "../support/wait.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "brc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-brc-`
const BR = "cnibr0";
const skip = mustSkip("bridge conformance", {
  tools: ["ip", "iptables-save", "ip6tables-save", "nft"], ours: ["bridge"], go: ["bridge", "host-local"],
});
cleanUpAfterAll(TAG);

// IPv6 DAD on the host side of a dual-stack gateway can take a second or two on a loaded machine.
const TIMEOUT_MS = 20_000;

/** Runs one implementation's bridge as a runtime does; CNI_PATH is its own directory, so Go's finds Go's host-local. */
function call(impl: Impl, verb: string, host: TempNetns, netns: string, stdin: object, id = "ctr1"): Run {
  return runPlugin("bridge", { dir: DIR[impl], hostNetns: host.name, env: cniEnv(verb, netns, "eth0", id), stdin });
}

const V4 = [[{ subnet: "10.1.2.0/24" }]];
const DUAL = [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]];

/** The configs compared: each a set of fields v1.1.1 knows, with IPAM ranges (or none: layer 2). */
const CONFIGS: Record<string, { top: object; ranges?: object[] }> = {
  "gateway and masquerade": { top: { isGateway: true, ipMasq: true }, ranges: V4 },
  "default gateway, dual stack, masquerade": { top: { isDefaultGateway: true, ipMasq: true }, ranges: DUAL },
  "spoof check, promisc bridge": { top: { macspoofchk: true, promiscMode: true, isGateway: true }, ranges: V4 },
  "hairpin, mtu 1400, forceAddress": { top: { hairpinMode: true, mtu: 1400, isGateway: true, forceAddress: true }, ranges: V4 },
  "layer 2 only": { top: {} },
};

function conf(version: string, dataDir: string, c: { top: object; ranges?: object[] }): Record<string, unknown> {
  return {
    ...(version ? { cniVersion: version } : {}),
    name: NET,
    type: "bridge",
    bridge: BR,
    ...(c.ranges ? { ipam: { type: "host-local", dataDir, ranges: c.ranges } } : {}),
    ...c.top,
  };
}

/** Returns the result with its random parts masked (the host veth is interface 1) and Go v1.1.1's empty dns dropped. */
const maskResult = (json: any) => maskAttachmentResult(json, 1);

/** Returns a CHECK error with our explanation after upstream's "no plugin name provided" cut off. */
function maskCheck(json: any): any {
  const prefix = "no plugin name provided";
  return typeof json?.msg === "string" && json.msg.startsWith(`${prefix}:`) ? { ...json, msg: prefix } : json;
}

/** Everything the attachment changed in its host and container netns, the random parts masked. */
function stateOf(host: TempNetns, ctr: TempNetns) {
  const veths = vethsIn(host);
  const mask = (s: string) => veths.reduce((t, v) => t.replaceAll(v.ifname, "<veth>").replaceAll(v.mac, "<veth-mac>"), s);
  const ctrLink = linkIn(ctr, "eth0");
  const br = linkIn(host, BR);
  const masked = (o: unknown) => JSON.parse(mask(JSON.stringify(o ?? null)).replaceAll(ctrLink?.mac ?? "<none>", "<ctr-mac>"));
  return {
    bridge: br && {
      kind: br.kind, up: br.up, mtu: br.mtu, promisc: br.promisc, vlanFiltering: br.vlanFiltering,
      addrs: addrsOf(host, BR),
      macPinned: sysfsIn(host, BR, "addr_assign_type") === "3",
      acceptRa: sysctlIn(host, `net/ipv6/conf/${BR}/accept_ra`),
    },
    ports: masked(veths.map(({ ifname, kind, mtu, up, operstate, promisc, master, hairpin, isolated }) => ({
      ifname, kind, mtu, up, operstate, promisc, master, hairpin, isolated, acceptRa: sysctlIn(host, `net/ipv6/conf/${ifname}/accept_ra`),
    }))),
    ctr: ctrLink && {
      kind: ctrLink.kind, mtu: ctrLink.mtu, up: ctrLink.up, operstate: ctrLink.operstate,
      addrs: addrsOf(ctr, "eth0"),
      routes4: routesIn(ctr, 4),
      routes6: routesIn(ctr, 6),
      acceptDad: sysctlIn(ctr, "net/ipv6/conf/eth0/accept_dad"),
      arpNotify: sysctlIn(ctr, "net/ipv4/conf/eth0/arp_notify"),
    },
    ipForward: sysctlIn(host, "net/ipv4/ip_forward"),
    ipv6Forwarding: sysctlIn(host, "net/ipv6/conf/all/forwarding"),
    nat4: natRules(host, 4),
    nat6: natRules(host, 6),
    spoofCheck: masked(spoofCheckObjects(host)),
  };
}

/** What one implementation did through ADD, CHECK and DEL, as comparable data. */
function cycle(impl: Impl, s: Side, version: string, c: { top: object; ranges?: object[] }) {
  const stdin = conf(version, s.data.path, c);
  const add = call(impl, "ADD", s.host, s.ctr.path, stdin);
  const afterAdd = { state: stateOf(s.host, s.ctr), store: namesAndContents(snapshotDir(s.data.path)) };
  const withPrev = versionAtLeast(version || "0.1.0", "0.4.0") && add.exitCode === 0 ? { ...stdin, prevResult: add.json } : stdin;
  const check = versionAtLeast(version || "0.1.0", "0.4.0") ? call(impl, "CHECK", s.host, s.ctr.path, withPrev) : undefined;
  const del = call(impl, "DEL", s.host, s.ctr.path, withPrev);
  const afterDel = { state: stateOf(s.host, s.ctr), store: namesAndContents(snapshotDir(s.data.path)) };
  return {
    add: { exitCode: add.exitCode, json: add.exitCode === 0 ? maskResult(add.json) : add.json },
    afterAdd,
    check: check && { exitCode: check.exitCode, json: maskCheck(check.json) },
    del: { exitCode: del.exitCode, stdout: del.stdout },
    afterDel,
  };
}

describe.skipIf(skip)("bridge: Go v1.1.1 vs ours", () => {
  // "" is a config without cniVersion (results converted to 0.1.0); Go v1.1.1 speaks up to 1.0.0.
  const versions = ["", "0.2.0", "0.3.1", "0.4.0", "1.0.0"];
  const cases = versions.flatMap((v) => Object.keys(CONFIGS).map((name) => [v, name] as const));

  test.each(cases)("cniVersion %p, %s: same result, same kernel and netfilter state, same store, through ADD, CHECK, DEL", (version, name) => {
    using go = side(TAG, "go");
    using ours = side(TAG, "ours");
    const c = CONFIGS[name]!;
    const g = cycle("go", go, version, c);
    const o = cycle("ours", ours, version, c);
    if (c.ranges || versionAtLeast(version || "0.1.0", "0.3.0")) expect(g.add.exitCode).toBe(0);
    // Layer 2 with a 0.1/0.2 result: both fail to convert. Go leaves the work done (upstream quirk); ours undoes
    // it with its own DEL, so after the failed ADD only the bridge is there.
    const failsToConvert = !c.ranges && !versionAtLeast(version || "0.1.0", "0.3.0");
    if (failsToConvert) {
      expect(o.add.json.msg).toBe("cannot convert: no valid IP addresses");
      expect(o.afterAdd.state).toEqual(o.afterDel.state);
      expect({ ...o, afterAdd: g.afterAdd }).toEqual(g);
    } else {
      expect(o).toEqual(g);
    }
    // A DEL takes away the port, the chains and the reservation; the bridge stays.
    expect(o.afterDel.state.ports).toEqual([]);
    expect(o.afterDel.state.bridge).toBeDefined();
    expect(cniNatLines(ours.host)).toEqual([]);
  }, TIMEOUT_MS);

  describe("one node switching implementations: each one's DEL (and CHECK) on the other's ADD", () => {
    const stdinFor = (dataDir: string) => conf("1.0.0", dataDir, { top: { isGateway: true, ipMasq: true, macspoofchk: true, hairpinMode: true }, ranges: DUAL });

    test.each([
      ["go", "ours"],
      ["ours", "go"],
    ] as const)("%s ADD, %s CHECK and DEL: nothing left (no veth, no port, no chain, no spoof check, no reservation)", (adder, other) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const stdin = stdinFor(data.path);
      const add = call(adder, "ADD", host, ctr.path, stdin);
      expect(add.exitCode).toBe(0);
      expect(cniNatLines(host)).not.toEqual([]);
      expect(spoofCheckObjects(host).length).toBeGreaterThan(SPOOFCHK_BASE.length);
      const withPrev = { ...stdin, prevResult: add.json };
      const check = call(other, "CHECK", host, ctr.path, withPrev);
      expect({ exitCode: check.exitCode, stdout: check.stdout }).toEqual({ exitCode: 0, stdout: "" });
      const del = call(other, "DEL", host, ctr.path, withPrev);
      expect({ exitCode: del.exitCode, stdout: del.stdout }).toEqual({ exitCode: 0, stdout: "" });
      expect(vethsIn(host)).toEqual([]);
      expect(linksIn(ctr).map((l) => l.ifname)).toEqual(["lo"]);
      expect(cniNatLines(host)).toEqual([]);
      expect(spoofCheckObjects(host)).toEqual(SPOOFCHK_BASE);
      expect(Object.keys(namesAndContents(snapshotDir(data.path))).filter((k) => /\/(10\.|fd00)/.test(k))).toEqual([]);
    }, TIMEOUT_MS);

    test("Go ADD, then the netns goes away: our DEL with prevResult still removes the chains and the spoof check (Go's leaks them)", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      const ctr = tempNetns(`${TAG}-ctr`);
      const stdin = stdinFor(data.path);
      const add = call("go", "ADD", host, ctr.path, stdin);
      expect(add.exitCode).toBe(0);
      ctr[Symbol.dispose]();
      waitFor(() => vethsIn(host).length === 0, "the veth to go with its netns");
      const del = call("ours", "DEL", host, ctr.path, { ...stdin, prevResult: add.json });
      expect({ exitCode: del.exitCode, stdout: del.stdout }).toEqual({ exitCode: 0, stdout: "" });
      expect(cniNatLines(host)).toEqual([]);
      expect(spoofCheckObjects(host)).toEqual(SPOOFCHK_BASE);
      expect(Object.keys(namesAndContents(snapshotDir(data.path))).filter((k) => /\/(10\.|fd00)/.test(k))).toEqual([]);
    }, TIMEOUT_MS);
  });
});
