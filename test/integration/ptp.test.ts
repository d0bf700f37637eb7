// ptp with host-local IPAM, both ours (CNI_PATH = our bin/), run as a runtime runs them (env + stdin) inside a
// throwaway host netns with a throwaway container netns and a temporary dataDir. For every spec version: the result
// text, then the real kernel state read back with `ip -j` (the veth pair, the ptp route trick, the host side), the
// sysctls, the masquerade rules and the store on disk; CHECK, DEL, DEL again. Then IPv6, dual stack, nftables, MTU,
// dns, the DELs a runtime sends after the netns is gone, STATUS, rollback after a failed ADD, bad input, and two
// containers that reach each other through the host (SPEC-DIGEST §0.8, §0.9, §1.2).
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { expectSilentSuccess } from "../support/expect-run.ts";
import {
  A4, A6, B4, bare, hostLocalConf, ipOf, isV6, NET, RANGE4, RANGE6, storeFreed, storeHolding, storeWith, type Addr,
} from "../support/host-local.ts";
import { linkNames, routesIn, type RouteState } from "../support/link-state.ts";
import { cniNatLines, EMPTY_NAT, natRules, natWith, nftMasqPrefix, nftMasqRules } from "../support/masquerade.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn, sysctlIn } from "../support/ns-exec.ts";
import { addrsOf, linksIn, ptpResult, vethsIn, type PtpLinks } from "../support/ptp.ts";
import { MAC, printed, VETH_NAME } from "../support/result.ts";
import { cniEnv, mustSkip, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { snapshotDir, tempDir, type Entry } from "../support/temp-dir.ts";
import { waitFor } from "../support/wait.ts";
import { ALL_VERSIONS, type Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

// IPv6 DAD makes an ADD with an IPv6 address take 1-2 s; bun's default 5 s per test is too tight under load.
const TIMEOUT_MS = 20_000;
const TAG = "ptpi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-ptpi-`
const skip = mustSkip("ptp integration", { tools: ["ip", "iptables-save", "ip6tables-save", "nft"], ours: ["ptp", "host-local"] });
cleanUpAfterAll(TAG);

const DUAL = { ranges: [RANGE4, RANGE6], routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }] };

/** A ptp network config (network NET) with host-local on dataDir; ipMasq on unless `top` says otherwise. */
function conf(version: string, dataDir: string, ipam: object = {}, top: object = {}): Record<string, unknown> {
  return hostLocalConf(version, dataDir, ipam, { ipMasq: true, ...top });
}

/** Runs our ptp once with a runtime's env inside the host netns. */
function ptp(verb: string, host: TempNetns, netns: string, stdin: object | string, id = "ctr1", env: Record<string, string> = {}): Run {
  return runPlugin("ptp", { hostNetns: host.name, env: { ...cniEnv(verb, netns, "eth0", id), ...env }, stdin });
}

/**
 * Runs ADD and checks its stdout byte for byte against the version's shape, the random veth name and MACs matched
 * by pattern. Returns those random parts (read off the kernel for 0.1/0.2, whose results carry no interfaces) and
 * the parsed result (the prevResult of later calls).
 */
function expectAdd(version: string, host: TempNetns, ctr: TempNetns, c: object, ips: Addr[], routes: Route[] = [], dns = {}, id = "ctr1") {
  const add = ptp("ADD", host, ctr.path, c, id);
  expect(add.stderr).toBe("");
  expect(add.exitCode).toBe(0);
  let links: PtpLinks;
  if (versionAtLeast(version, "0.3.0")) {
    const [h, k] = add.json.interfaces;
    expect([h.name, h.mac, k.mac]).toEqual([expect.stringMatching(VETH_NAME), expect.stringMatching(MAC), expect.stringMatching(MAC)]);
    links = { hostVeth: h.name, hostMac: h.mac, ctrMac: k.mac, sandbox: ctr.path };
  } else {
    const k = linksIn(ctr).find((l) => l.ifname === "eth0")!;
    const h = linksIn(host).find((l) => l.ifindex === k.peerIndex)!;
    links = { hostVeth: h.ifname, hostMac: h.mac, ctrMac: k.mac, sandbox: ctr.path };
  }
  expect(add.stdout).toBe(printed(ptpResult(version, links, ips.map(ipOf), routes, dns)));
  return { links, result: add.json };
}

/** The container routes of the ptp trick for one address: gw as a link route, the subnet via gw, both src = the IP. */
function ptpRoutes(a: Addr): RouteState[] {
  if (isV6(a)) {
    return [
      { dst: a.gateway, dev: "eth0", prefsrc: bare(a), metric: 1024 },
      { dst: a.subnet, gateway: a.gateway, dev: "eth0", prefsrc: bare(a), metric: 1024 },
    ];
  }
  return [{ dst: a.gateway, dev: "eth0", scope: "link", prefsrc: bare(a) }, { dst: a.subnet, gateway: a.gateway, dev: "eth0", prefsrc: bare(a) }];
}
const DEFAULT4: RouteState = { dst: "default", gateway: "10.1.2.1", dev: "eth0" };
const DEFAULT6: RouteState = { dst: "default", gateway: "fd00:1::1", dev: "eth0", metric: 1024 };
const LL6: RouteState = { dst: "fe80::/64", dev: "eth0", protocol: "kernel", metric: 256 };
const byDst = (rs: RouteState[]) => [...rs].sort((a, b) => String(a.dst).localeCompare(String(b.dst)));

/**
 * Checks the kernel state of one attachment: the veth pair (each end the other's peer, named and addressed as
 * reported, up, with the MTU), the container's addresses and routes (no connected subnet route), the host end's
 * gateway addresses and host routes, forwarding and accept_ra. `ipamRoutes` are the container routes IPAM asked for.
 */
function expectWired(host: TempNetns, ctr: TempNetns, links: PtpLinks, ips: Addr[], ipamRoutes: RouteState[], mtu = 1500): void {
  const k = linksIn(ctr).find((l) => l.ifname === "eth0");
  const h = linksIn(host).find((l) => l.ifname === links.hostVeth);
  expect(k).toEqual({ ifindex: expect.any(Number), ifname: "eth0", kind: "veth", mac: links.ctrMac, mtu, up: true, peerIndex: h?.ifindex });
  expect(h).toEqual({ ifindex: expect.any(Number), ifname: links.hostVeth, kind: "veth", mac: links.hostMac, mtu, up: true, peerIndex: k?.ifindex });

  const fam = (a: Addr) => (isV6(a) ? "inet6" : "inet");
  expect(addrsOf(ctr, "eth0")).toEqual(ips.map((a) => ({ family: fam(a), local: bare(a), prefixlen: Number(a.address.split("/")[1]) })));
  const v4 = ips.filter((a) => !isV6(a));
  const v6 = ips.filter(isV6);
  const isV6Route = (r: RouteState) => String(r.gateway ?? r.dst).includes(":");
  expect(routesIn(ctr, 4)).toEqual(byDst([...v4.flatMap(ptpRoutes), ...ipamRoutes.filter((r) => !isV6Route(r))]));
  expect(routesIn(ctr, 6)).toEqual(byDst([...v6.flatMap(ptpRoutes), ...ipamRoutes.filter(isV6Route), LL6]));

  // Host side: the same gateway address sits on every ptp veth, as a /32 (/128); the container's IP is routed to it.
  expect(addrsOf(host, links.hostVeth, false)).toEqual(ips.map((a) => ({ family: fam(a), local: a.gateway, prefixlen: isV6(a) ? 128 : 32 })));
  const onVeth = (rs: RouteState[]) => rs.filter((r) => r.dev === links.hostVeth);
  expect(onVeth(routesIn(host, 4))).toEqual(v4.map((a) => ({ dst: bare(a), dev: links.hostVeth, scope: "host" })));
  expect(onVeth(routesIn(host, 6)).filter((r) => r.dst !== "fe80::/64")).toEqual(byDst(v6.flatMap((a) => [
    { dst: a.gateway, dev: links.hostVeth, protocol: "kernel", metric: 256 }, // the /128 gateway address's own route
    { dst: bare(a), dev: links.hostVeth, metric: 1024 },
  ])));
  if (v4.length) expect(sysctlIn(host, "net/ipv4/ip_forward")).toBe("1");
  if (v6.length) expect(sysctlIn(host, "net/ipv6/conf/all/forwarding")).toBe("1");
  expect(sysctlIn(host, `net/ipv6/conf/${links.hostVeth}/accept_ra`)).toBe("0");
}

/** Checks that an attachment left nothing: no veth on either side, no host route, no CNI chain or jump. */
function expectNothingWired(host: TempNetns, ctr: TempNetns | undefined): void {
  expect(linkNames(host)).toEqual(["lo"]);
  if (ctr) expect(linkNames(ctr)).toEqual(["lo"]);
  expect(routesIn(host, 4)).toEqual([]);
  expect(routesIn(host, 6)).toEqual([]);
  expect(cniNatLines(host)).toEqual([]);
}

describe.skipIf(skip)("ptp", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    test("ADD wires a routed veth with masquerade; CHECK; DEL and DEL again leave nothing", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const routes = [{ dst: "0.0.0.0/0" }]; // no gw: the container's gateway is used
      const c = conf(version, data.path, { routes });

      const { links, result } = expectAdd(version, host, ctr, c, [A4], routes);
      expectWired(host, ctr, links, [A4], [DEFAULT4]);
      expect(natRules(host, 4)).toEqual(natWith(NET, "ctr1", [A4]));
      expect(snapshotDir(data.path)).toEqual(storeHolding([[A4, "ctr1"]]));

      // A runtime sends the cached result as prevResult from 0.4.0 on (CHECK exists only there).
      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: result } : c;
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(ptp("CHECK", host, ctr.path, withPrev));

      expectSilentSuccess(ptp("DEL", host, ctr.path, withPrev));
      expectNothingWired(host, ctr);
      expect(natRules(host, 4)).toEqual(EMPTY_NAT);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4]));

      expectSilentSuccess(ptp("DEL", host, ctr.path, withPrev));
      expectNothingWired(host, ctr);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4]));
    });
  });

  describe("address families", () => {
    test.each(["0.4.0", "1.1.0"])("%s IPv6 only: /128 gateway, ip6tables masquerade, IPv6 forwarding only", (version) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const routes = [{ dst: "::/0" }];
      const c = conf(version, data.path, { ranges: [RANGE6], routes });
      const { links, result } = expectAdd(version, host, ctr, c, [A6], routes);
      expectWired(host, ctr, links, [A6], [DEFAULT6]);
      expect(sysctlIn(host, "net/ipv4/ip_forward")).toBe("0"); // only the families present are forwarded
      expect(natRules(host, 6)).toEqual(natWith(NET, "ctr1", [A6]));
      expect(natRules(host, 4).filter((l) => l.includes("CNI-"))).toEqual([]);

      const withPrev = { ...c, prevResult: result };
      expectSilentSuccess(ptp("CHECK", host, ctr.path, withPrev));
      expectSilentSuccess(ptp("DEL", host, ctr.path, withPrev));
      expectNothingWired(host, ctr);
      expect(natRules(host, 6)).toEqual(EMPTY_NAT);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A6]));
    }, TIMEOUT_MS);

    test.each(["0.3.1", "1.1.0"])("%s dual stack: both families wired and masqueraded, all gone after DEL", (version) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const c = conf(version, data.path, DUAL);
      const { links, result } = expectAdd(version, host, ctr, c, [A4, A6], DUAL.routes);
      expectWired(host, ctr, links, [A4, A6], [DEFAULT4, DEFAULT6]);
      expect(natRules(host, 4)).toEqual(natWith(NET, "ctr1", [A4]));
      expect(natRules(host, 6)).toEqual(natWith(NET, "ctr1", [A6]));
      expect(snapshotDir(data.path)).toEqual(storeHolding([[A4, "ctr1"], [A6, "ctr1"]]));

      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(ptp("CHECK", host, ctr.path, { ...c, prevResult: result }));
      expectSilentSuccess(ptp("DEL", host, ctr.path, c));
      expectNothingWired(host, ctr);
      expect([natRules(host, 4), natRules(host, 6)]).toEqual([EMPTY_NAT, EMPTY_NAT]);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4, A6]));
    }, TIMEOUT_MS);
  });

  test('ipMasqBackend "nftables": one rule per address in inet cni_plugins_masquerade, none in iptables, gone after DEL', () => {
    using host = tempNetns(`${TAG}-host`);
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path, DUAL, { ipMasqBackend: "nftables" });
    const { links } = expectAdd("1.1.0", host, ctr, c, [A4, A6], DUAL.routes);
    expectWired(host, ctr, links, [A4, A6], [DEFAULT4, DEFAULT6]);
    const match = (proto: string, field: string, op: string, right: unknown) => ({ match: { op, left: { payload: { protocol: proto, field } }, right } });
    const comment = `${nftMasqPrefix(NET, "eth0", "ctr1")}, net: ${NET}, if: eth0, id: ctr1`;
    expect(nftMasqRules(host)).toEqual([
      { comment, expr: [match("ip", "saddr", "==", "10.1.2.2"), match("ip", "daddr", "!=", { prefix: { addr: "10.1.2.0", len: 24 } }), { masquerade: null }] },
      { comment, expr: [match("ip6", "saddr", "==", "fd00:1::2"), match("ip6", "daddr", "!=", { prefix: { addr: "fd00:1::", len: 64 } }), { masquerade: null }] },
    ]);
    expect(cniNatLines(host)).toEqual([]);

    expectSilentSuccess(ptp("DEL", host, ctr.path, c));
    expectNothingWired(host, ctr);
    expect(nftMasqRules(host)).toEqual([]); // the shared table and chains stay, as upstream's do
    expect(snapshotDir(data.path)).toEqual(storeFreed([A4, A6]));
  }, TIMEOUT_MS);

  test("mtu 1400 is set on both ends (and not reported in the result, as upstream)", () => {
    using host = tempNetns(`${TAG}-host`);
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path, {}, { mtu: 1400, ipMasq: false });
    const { links, result } = expectAdd("1.1.0", host, ctr, c, [A4]);
    expectWired(host, ctr, links, [A4], [], 1400);
    expect(cniNatLines(host)).toEqual([]); // ipMasq off: no chain
    expectSilentSuccess(ptp("CHECK", host, ctr.path, { ...c, prevResult: result }));
    expectSilentSuccess(ptp("DEL", host, ctr.path, c));
    expectNothingWired(host, ctr);
  });

  describe("dns", () => {
    const ipamDns = { nameservers: ["10.0.0.53"], domain: "ipam.test", search: ["ipam.test"] };
    const confDns = { nameservers: ["10.9.9.9"], search: ["conf.test"], options: ["ndots:2"] };
    test.each([
      ["IPAM's dns (resolvConf) when the config has none", {}, ipamDns],
      ["the config's dns overrides IPAM's", { dns: confDns }, confDns],
    ])("%s", (_label, top, want) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using etc = tempDir(`${TAG}-etc`);
      writeFileSync(`${etc.path}/resolv.conf`, "nameserver 10.0.0.53\ndomain ipam.test\nsearch ipam.test\n");
      for (const version of ["0.4.0", "1.1.0"]) {
        using data = tempDir(`${TAG}-data`);
        const c = conf(version, data.path, { resolvConf: `${etc.path}/resolv.conf` }, { ipMasq: false, ...top });
        expectAdd(version, host, ctr, c, [A4], [], want);
        expectSilentSuccess(ptp("DEL", host, ctr.path, c));
      }
    });
  });

  describe("DEL as runtimes send it after the container is gone", () => {
    test.each([
      ["with prevResult", true],
      ["without prevResult (the chain is found by name)", false],
    ])("the netns is already deleted, %s: success, reservation freed, chain and jumps removed", (_label, withPrevResult) => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      const ctr = tempNetns(`${TAG}-ctr`);
      const c = conf("1.1.0", data.path, DUAL);
      const { result } = expectAdd("1.1.0", host, ctr, c, [A4, A6], DUAL.routes);
      ctr[Symbol.dispose]();
      // The kernel destroys a netns (and the veth with it) asynchronously once the last reference is gone.
      waitFor(() => vethsIn(host).length === 0, "the veth to go with its netns");
      expect(cniNatLines(host)).not.toEqual([]);

      // Upstream leaks the chain here (its addresses went with the link); ours removes it.
      expectSilentSuccess(ptp("DEL", host, ctr.path, withPrevResult ? { ...c, prevResult: result } : c));
      expectNothingWired(host, undefined);
      expect([natRules(host, 4), natRules(host, 6)]).toEqual([EMPTY_NAT, EMPTY_NAT]);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4, A6]));
    }, TIMEOUT_MS);

    test("empty CNI_NETNS with prevResult (containerd): reservation freed and chain removed; the netns is not entered", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, DUAL);
      const { links, result } = expectAdd("1.1.0", host, ctr, c, [A4, A6], DUAL.routes);
      expectSilentSuccess(ptp("DEL", host, "", { ...c, prevResult: result }));
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4, A6]));
      expect([natRules(host, 4), natRules(host, 6)]).toEqual([EMPTY_NAT, EMPTY_NAT]);
      // Without a netns path the link cannot be reached: it goes when the runtime deletes the netns.
      expect(vethsIn(host).map((l) => l.ifname)).toEqual([links.hostVeth]);
    }, TIMEOUT_MS);
  });

  describe("STATUS (1.1.0) is host-local's", () => {
    test("a writable dataDir: success, nothing printed", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      expectSilentSuccess(runPlugin("ptp", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", data.path) }));
    });

    test("a dataDir under a regular file: code 50 from host-local", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      writeFileSync(`${data.path}/file`, "");
      const r = runPlugin("ptp", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", `${data.path}/file/sub`) });
      expect(r.exitCode).toBe(1);
      expect(r.json).toEqual({
        code: 50,
        msg: `host-local: cannot store reservations in ${JSON.stringify(`${data.path}/file/sub/${NET}`)}`,
        details: `${data.path}/file is not a directory`,
      });
    });
  });

  describe("a failed ADD undoes what it did", () => {
    test("eth0 already exists in the container: error, no new veth, no chain, no reservation, eth0 untouched", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      const before = linksIn(ctr);
      const r = ptp("ADD", host, ctr.path, conf("1.1.0", data.path));
      expect([r.exitCode, r.json]).toEqual([1, {
        code: 999,
        msg: expect.stringMatching(/^container veth name \("eth0"\) peer provided \("veth[0-9a-f]{8}"\) already exists$/),
      }]);
      expectNothingWired(host, undefined);
      expect(linksIn(ctr)).toEqual(before);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4]));
    });

    test("a route IPAM asks for cannot be added: the veth is removed too (upstream leaves it)", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const r = ptp("ADD", host, ctr.path, conf("1.1.0", data.path, { routes: [{ dst: "10.9.0.0/16", gw: "10.99.0.1" }] }));
      expect([r.exitCode, r.json]).toEqual([1, { code: 999, msg: expect.stringMatching(/^failed to add route '10\.9\.0\.0\/16 via 10\.99\.0\.1 dev eth0': /) }]);
      expectNothingWired(host, ctr);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4]));
    });
  });

  describe("bad input: exit 1, one error object with the right code and text, nothing left", () => {
    type Case = { verb?: string; stdin: (dataDir: string) => object; want: object; store?: Record<string, Entry> };
    const cases: Record<string, Case> = {
      "mtu of the wrong type": {
        stdin: (d) => conf("1.1.0", d, {}, { mtu: "1400" }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type int" },
      },
      "negative mtu": { stdin: (d) => conf("1.1.0", d, {}, { mtu: -1 }), want: { code: 7, msg: "invalid MTU -1" } },
      "ipMasq of the wrong type": {
        stdin: (d) => conf("1.1.0", d, {}, { ipMasq: "yes" }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.ipMasq of type bool" },
      },
      "unknown ipMasqBackend": { stdin: (d) => conf("1.1.0", d, {}, { ipMasqBackend: "pf" }), want: { code: 7, msg: 'unknown ipmasq backend "pf"' } },
      // upstream text: an absent ipam is an empty IPAM type, which the CNI_PATH lookup rejects.
      "missing ipam": { stdin: () => ({ cniVersion: "1.1.0", name: NET, type: "ptp" }), want: { code: 999, msg: 'no plugin name provided: the config has no "ipam" with a "type"' } },
      "bad subnet": {
        stdin: (d) => conf("1.1.0", d, { ranges: [[{ subnet: "10.1.2.0/33" }]] }),
        want: { code: 999, msg: "invalid CIDR address: 10.1.2.0/33" },
      },
      // IPAM CHECK runs first (upstream order), so with nothing allocated host-local's complaint comes first; its
      // store directory and lock are all it leaves. The prevResult message itself is checked on a live attachment below.
      "CHECK without prevResult and nothing allocated": {
        verb: "CHECK",
        stdin: (d) => conf("1.1.0", d),
        want: { code: 999, msg: "host-local: Failed to find address added by container ctr1" },
        store: storeWith({}),
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const r = ptp(c.verb ?? "ADD", host, ctr.path, c.stdin(data.path));
      expect([r.exitCode, r.json]).toEqual([1, c.want]);
      expect(r.stdout).toBe(JSON.stringify(r.json, null, 4)); // exactly one object
      expectNothingWired(host, ctr);
      expect(snapshotDir(data.path)).toEqual(c.store ?? {});
    });

    test("CHECK without prevResult on a live attachment: code 999 naming prevResult, nothing changed", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      expectAdd("1.1.0", host, ctr, c, [A4]);
      const before = { host: linksIn(host), ctr: linksIn(ctr), nat: natRules(host, 4), store: snapshotDir(data.path) };
      const r = ptp("CHECK", host, ctr.path, c);
      expect([r.exitCode, r.json]).toEqual([1, { code: 999, msg: "ptp: Required prevResult missing" }]);
      expect({ host: linksIn(host), ctr: linksIn(ctr), nat: natRules(host, 4), store: snapshotDir(data.path) }).toEqual(before);
    });
  });

  test.skipIf(Bun.which("ping") === null)("two containers reach each other and the gateway through the host (skipped without ping)", () => {
    using host = tempNetns(`${TAG}-host`);
    using a = tempNetns(`${TAG}-ctr`);
    using b = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    expectAdd("1.1.0", host, a, c, [A4], [], {}, "a");
    expectAdd("1.1.0", host, b, c, [B4], [], {}, "b");
    const ping = (from: TempNetns, to: string) => {
      const p = Bun.spawnSync(["ip", "netns", "exec", from.name, "ping", "-c1", "-W1", to], { stdout: "pipe", stderr: "pipe" });
      return `${from.name} -> ${to}: ${p.exitCode === 0 ? "ok" : p.stdout.toString() + p.stderr.toString()}`;
    };
    expect([ping(a, bare(B4)), ping(b, bare(A4)), ping(a, "10.1.2.1"), ping(b, "10.1.2.1")]).toEqual([
      `${a.name} -> ${bare(B4)}: ok`, `${b.name} -> ${bare(A4)}: ok`, `${a.name} -> 10.1.2.1: ok`, `${b.name} -> 10.1.2.1: ok`,
    ]);
  });
});
