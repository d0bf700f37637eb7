// flannel with our bridge and host-local behind it (CNI_PATH = our bin/), run as a runtime runs it (env + stdin)
// inside a throwaway host netns with throwaway container netns, a temporary subnet.env, dataDir and IPAM store. For
// every spec version: the printed result (the delegate's), the scratch file's exact bytes and modes, the kernel
// state the delegate made (`ip -j`), the store; CHECK, DEL (which replays the file), DEL again. Then IPv6 and dual
// stack, ipMasq from FLANNEL_IPMASQ, runtimeConfig reaching the delegate, in-process delegation (strace), a Go bridge
// behind our flannel and DELs across the two, DEL with the file missing or corrupt, rollback, bad input, STATUS/GC.
// Debian ships no Go flannel, so there is no conformance file: the rendered config is checked against upstream's
// examples in meta/flannel/delegate-conf.test.ts. SPEC-DIGEST §4.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { addrsOf, bridgeResult, type BridgeLinks } from "../support/bridge.ts";
import { expectError, expectSilentSuccess } from "../support/expect-run.ts";
import { bare, ipOf, NET, storeFreed, storeHolding, type Addr } from "../support/host-local.ts";
import { linkIn, linkNames, linksIn, routesIn, vethsIn } from "../support/link-state.ts";
import { cniNatLines, natRules, natWith } from "../support/masquerade.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { MAC, printed, VETH_NAME } from "../support/result.ts";
import { cniEnv, GO, mustSkip, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { namesAndContents, snapshotDir, tempDir, underUmask, type TempDir } from "../support/temp-dir.ts";
import { ALL_VERSIONS, type Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

// IPv6 DAD on the bridge's gateway address makes some ADDs take 1-2 s.
const TIMEOUT_MS = 30_000;
const TAG = "fla"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-fla-`
const skip = mustSkip("flannel integration", { tools: ["ip", "iptables-save", "ip6tables-save"], ours: ["flannel", "bridge", "host-local"] });
const hasStrace = Bun.which("strace") !== null;
const hasGoBridge = existsSync(`${GO}/bridge`) && existsSync(`${GO}/host-local`);
cleanUpAfterAll(TAG);

const BR = "cni0"; // the bridge's default name: flannel does not set one
const SUBNET_ENV = {
  v4: "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
  v6: "FLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
  dual: "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\nFLANNEL_IPV6_NETWORK=fc00::/48\nFLANNEL_IPV6_SUBNET=fc00::1/64\nFLANNEL_MTU=1472\nFLANNEL_IPMASQ=true\n",
};
const A4: Addr = { address: "10.1.17.2/24", gateway: "10.1.17.1", subnet: "10.1.17.0/24" };
const B4: Addr = { address: "10.1.17.3/24", gateway: "10.1.17.1", subnet: "10.1.17.0/24" };
const A6: Addr = { address: "fc00::2/64", gateway: "fc00::1", subnet: "fc00::/64" };
const ROUTE4: Route = { dst: "10.1.0.0/16" };
const ROUTE6: Route = { dst: "fc00::/48" };

/** One test's files: subnet.env, flannel's dataDir and host-local's store, all under one temporary directory. */
interface Files {
  dir: TempDir;
  subnetFile: string;
  dataDir: string;
  ipamDir: string;
  [Symbol.dispose](): void;
}

function files(env: string = SUBNET_ENV.v4): Files {
  const dir = tempDir(`${TAG}-files`);
  const subnetFile = `${dir.path}/subnet.env`;
  writeFileSync(subnetFile, env);
  return { dir, subnetFile, dataDir: `${dir.path}/flannel`, ipamDir: `${dir.path}/ipam`, [Symbol.dispose]: () => dir[Symbol.dispose]() };
}

/** A flannel network config (network NET) on these files; host-local's store goes to ipamDir through `ipam`. */
function conf(version: string, f: Files, top: object = {}): Record<string, unknown> {
  return { cniVersion: version, name: NET, type: "flannel", subnetFile: f.subnetFile, dataDir: f.dataDir, ipam: { dataDir: f.ipamDir }, ...top };
}

/** Runs our flannel once with a runtime's env inside the host netns; CNI_PATH is our bin/ unless env says otherwise. */
function flannel(verb: string, host: TempNetns, netns: string, stdin: object | string, env: Record<string, string> = {}, id = "ctr1"): Run {
  return runPlugin("flannel", { hostNetns: host.name, env: { ...cniEnv(verb, netns, "eth0", id), ...env }, stdin });
}

/** The scratch file's exact text for the default delegate (bridge, host-local) on `f`, as Go's json.Marshal writes it. */
function scratchText(version: string, f: Files, ranges: string[], routes: string[], ipMasq = false): string {
  const ver = version === "" ? "" : `"cniVersion":"${version}",`;
  const r = ranges.map((s) => `[{"subnet":"${s}"}]`).join(",");
  const rt = routes.map((d) => `{"dst":"${d}"}`).join(",");
  return `{${ver}"ipMasq":${ipMasq},"ipam":{"dataDir":"${f.ipamDir}","ranges":[${r}],"routes":[${rt}],"type":"host-local"},"isGateway":true,"mtu":1472,"name":"${NET}","type":"bridge"}`;
}

/** Returns the scratch file of a container: its text, and its and its directory's permission bits. */
function scratchOf(f: Files, id = "ctr1"): { text: string; mode: number; dirMode: number } | undefined {
  const path = `${f.dataDir}/${id}`;
  if (!existsSync(path)) return undefined;
  return { text: readFileSync(path, "latin1"), mode: statSync(path).mode & 0o7777, dirMode: statSync(f.dataDir).mode & 0o7777 };
}

/** Returns the attachment's random parts as the kernel shows them (0.1/0.2 results carry no interfaces). */
function linksOf(host: TempNetns, ctr: TempNetns): BridgeLinks {
  const k = linkIn(ctr, "eth0")!;
  const h = linksIn(host).find((l) => l.ifindex === k.peerIndex)!;
  return { bridge: BR, bridgeMac: linkIn(host, BR)!.mac, hostVeth: h.ifname, hostMac: h.mac, ctrMac: k.mac, sandbox: ctr.path };
}

/**
 * Runs ADD and checks what it printed: the delegate's result byte for byte in the version's shape (random names and
 * MACs by pattern) and the rendered config on stderr. Returns the random parts and the parsed result.
 */
function expectAdd(version: string, host: TempNetns, ctr: TempNetns, c: object, ips: Addr[], routes: Route[], env: Record<string, string> = {}) {
  const add = flannel("ADD", host, ctr.path, c, env);
  expect(add.exitCode).toBe(0);
  expect(add.stderr).toStartWith("delegateAdd: netconf sent to delegate plugin:\n{");
  let links: BridgeLinks;
  if (versionAtLeast(version, "0.3.0")) {
    const [b, h, k] = add.json.interfaces;
    expect([b.name, b.mac, h.name, h.mac, k.mac]).toEqual([BR, expect.stringMatching(MAC), expect.stringMatching(VETH_NAME), expect.stringMatching(MAC), expect.stringMatching(MAC)]);
    links = { bridge: BR, bridgeMac: b.mac, hostVeth: h.name, hostMac: h.mac, ctrMac: k.mac, sandbox: ctr.path };
  } else {
    links = linksOf(host, ctr);
  }
  expect(add.stdout).toBe(printed(bridgeResult(version, links, ips.map(ipOf), routes)));
  return { links, result: add.json };
}

/** Checks the port the bridge delegate made: flannel's MTU on both veth ends and the bridge, the IPs, the routes. */
function expectPort(host: TempNetns, ctr: TempNetns, links: BridgeLinks, ips: Addr[], routes: Route[]): void {
  expect(linkIn(host, BR)).toMatchObject({ kind: "bridge", up: true, mac: links.bridgeMac, mtu: 1472 });
  expect(linkIn(host, links.hostVeth)).toMatchObject({ kind: "veth", up: true, master: BR, mtu: 1472 });
  expect(linkIn(ctr, "eth0")).toMatchObject({ kind: "veth", up: true, mac: links.ctrMac, mtu: 1472 });
  const v4 = ips.filter((a) => !a.address.includes(":"));
  const v6 = ips.filter((a) => a.address.includes(":"));
  // isGateway: the bridge holds each family's gateway.
  expect(addrsOf(host, BR)).toEqual([
    ...v4.map((a) => ({ family: "inet" as const, local: a.gateway, prefixlen: 24, broadcast: "10.1.17.255" })),
    ...v6.map((a) => ({ family: "inet6" as const, local: a.gateway, prefixlen: 64 })),
  ]);
  expect(addrsOf(ctr, "eth0")).toEqual([
    ...v4.map((a) => ({ family: "inet" as const, local: bare(a), prefixlen: 24, broadcast: "10.1.17.255" })),
    ...v6.map((a) => ({ family: "inet6" as const, local: bare(a), prefixlen: 64 })),
  ]);
  // The cluster networks are reached through the gateway; no default route (isDefaultGateway is not set).
  for (const r of routes) {
    const gw = r.dst.includes(":") ? v6[0]!.gateway : v4[0]!.gateway;
    expect(routesIn(ctr, r.dst.includes(":") ? 6 : 4)).toContainEqual(expect.objectContaining({ dst: r.dst, gateway: gw, dev: "eth0" }));
  }
  expect(routesIn(ctr, 4).some((r) => r.dst === "default")).toBe(false);
}

/** Checks that no attachment is left: no veth on the host, only lo in the container, no CNI nat rule. */
function expectNoPort(host: TempNetns, ctr: TempNetns): void {
  expect(vethsIn(host)).toEqual([]);
  expect(linkNames(ctr)).toEqual(["lo"]);
  expect(cniNatLines(host)).toEqual([]);
}

describe.skipIf(skip)("flannel", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    const withCheck = versionAtLeast(version, "0.4.0");

    test("ADD saves the rendered config and our bridge + host-local wire the port; CHECK; DEL replays it; DEL again", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files();
      const c = conf(version, f);
      const { links, result } = expectAdd(version, host, ctr, c, [A4], [ROUTE4]);
      expect(scratchOf(f)).toEqual({ text: scratchText(version, f, ["10.1.17.0/24"], ["10.1.0.0/16"]), mode: underUmask(0o600), dirMode: underUmask(0o700) });
      expectPort(host, ctr, links, [A4], [ROUTE4]);
      expect(cniNatLines(host)).toEqual([]); // FLANNEL_IPMASQ=true: flanneld masquerades, the bridge must not
      expect(snapshotDir(`${f.ipamDir}`)).toEqual(storeHolding([[A4, "ctr1"]]));

      const withPrev = withCheck ? { ...c, prevResult: result } : c;
      if (withCheck) expectSilentSuccess(flannel("CHECK", host, ctr.path, withPrev));
      else expectError(flannel("CHECK", host, ctr.path, c), { code: 1, msg: "config version does not allow CHECK" });

      expectSilentSuccess(flannel("DEL", host, ctr.path, withPrev));
      expectNoPort(host, ctr);
      expect(scratchOf(f)).toBeUndefined();
      expect(snapshotDir(f.ipamDir)).toEqual(storeFreed([A4]));
      expect(linkNames(host)).toEqual(["lo", BR]); // the bridge is shared: DEL never removes it

      expectSilentSuccess(flannel("DEL", host, ctr.path, withPrev));
      expectNoPort(host, ctr);
      expect(snapshotDir(f.ipamDir)).toEqual(storeFreed([A4]));
    }, TIMEOUT_MS);
  });

  describe("address families and options", () => {
    test("IPv6 only", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files(SUBNET_ENV.v6);
      const { links } = expectAdd("1.1.0", host, ctr, conf("1.1.0", f), [A6], [ROUTE6]);
      expect(scratchOf(f)?.text).toBe(scratchText("1.1.0", f, ["fc00::/64"], ["fc00::/48"]));
      expectPort(host, ctr, links, [A6], [ROUTE6]);
      expectSilentSuccess(flannel("DEL", host, ctr.path, conf("1.1.0", f)));
      expectNoPort(host, ctr);
      expect(scratchOf(f)).toBeUndefined();
    }, TIMEOUT_MS);

    test("dual stack: both subnets as range sets, both networks as routes", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files(SUBNET_ENV.dual);
      const { links } = expectAdd("1.0.0", host, ctr, conf("1.0.0", f), [A4, A6], [ROUTE4, ROUTE6]);
      expect(scratchOf(f)?.text).toBe(scratchText("1.0.0", f, ["10.1.17.0/24", "fc00::/64"], ["10.1.0.0/16", "fc00::/48"]));
      expectPort(host, ctr, links, [A4, A6], [ROUTE4, ROUTE6]);
      expectSilentSuccess(flannel("DEL", host, ctr.path, conf("1.0.0", f)));
      expectNoPort(host, ctr);
    }, TIMEOUT_MS);

    test("FLANNEL_IPMASQ=false: the bridge masquerades (ipMasq true), and DEL removes it", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files(SUBNET_ENV.v4.replace("FLANNEL_IPMASQ=true", "FLANNEL_IPMASQ=false"));
      expectAdd("1.0.0", host, ctr, conf("1.0.0", f), [A4], [ROUTE4]);
      expect(scratchOf(f)?.text).toBe(scratchText("1.0.0", f, ["10.1.17.0/24"], ["10.1.0.0/16"], true));
      expect(natRules(host, 4)).toEqual(natWith(NET, "ctr1", [A4]));
      expectSilentSuccess(flannel("DEL", host, ctr.path, conf("1.0.0", f)));
      expectNoPort(host, ctr);
    }, TIMEOUT_MS);

    test("the delegate dictionary and runtimeConfig reach the bridge: its name, and the MAC the runtime asked for", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files();
      const c = conf("1.0.0", f, { delegate: { bridge: "cnifl9", mtu: 1400, hairpinMode: true }, runtimeConfig: { mac: "02:00:00:00:17:02" } });
      const add = flannel("ADD", host, ctr.path, c);
      expect(add.exitCode).toBe(0);
      expect(add.json.interfaces.map((i: { name: string }) => i.name)).toEqual(["cnifl9", expect.stringMatching(VETH_NAME), "eth0"]);
      expect(linkIn(ctr, "eth0")).toMatchObject({ mac: "02:00:00:00:17:02", mtu: 1400 });
      expect(linkIn(host, add.json.interfaces[1].name)).toMatchObject({ master: "cnifl9", hairpin: true, mtu: 1400 });
      expect(JSON.parse(scratchOf(f)!.text)).toMatchObject({ bridge: "cnifl9", mtu: 1400, hairpinMode: true, runtimeConfig: { mac: "02:00:00:00:17:02" } });
      expectSilentSuccess(flannel("DEL", host, ctr.path, c));
      expectNoPort(host, ctr);
    }, TIMEOUT_MS);

    test("two containers on the node: a file each, the next address, DEL of one leaves the other", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using ctr2 = tempNetns(`${TAG}-ctr`);
      using f = files();
      const c = conf("1.0.0", f);
      expect(flannel("ADD", host, ctr.path, c).exitCode).toBe(0);
      const add2 = flannel("ADD", host, ctr2.path, c, {}, "ctr2");
      expect(add2.json.ips).toEqual([{ address: B4.address, gateway: B4.gateway, interface: 2 }]);
      expect(snapshotDir(f.dataDir)).toEqual({
        ctr1: { type: "file", mode: underUmask(0o600), content: scratchText("1.0.0", f, ["10.1.17.0/24"], ["10.1.0.0/16"]) },
        ctr2: { type: "file", mode: underUmask(0o600), content: scratchText("1.0.0", f, ["10.1.17.0/24"], ["10.1.0.0/16"]) },
      });
      expectSilentSuccess(flannel("DEL", host, ctr.path, c));
      expect(linkNames(ctr2)).toEqual(["lo", "eth0"]);
      expect(Object.keys(snapshotDir(f.dataDir))).toEqual(["ctr2"]);
      expectSilentSuccess(flannel("DEL", host, ctr2.path, c, {}, "ctr2"));
      expect(vethsIn(host)).toEqual([]);
    }, TIMEOUT_MS);
  });

  describe("delegation", () => {
    /** Runs flannel ADD under strace and returns the programs it exec'd after its own start, and the run. */
    function tracedAdd(host: TempNetns, ctr: TempNetns, c: object, cniPath: string) {
      using trace = tempDir(`${TAG}-trace`);
      const env = { ...cniEnv("ADD", ctr.path), CNI_PATH: cniPath };
      const run = runPlugin("strace", { dir: "/usr/bin", hostNetns: host.name, env, stdin: c, args: ["-f", "-qq", "-e", "trace=execve", "-o", `${trace.path}/log`, `${OURS}/flannel`] });
      const execs = (readFileSync(`${trace.path}/log`, "latin1").match(/execve\("[^"]+"/g) ?? []).slice(1).map((e) => e.slice(8, -1));
      return { run, execs };
    }

    test.skipIf(!hasStrace)("our bridge and host-local run in-process: ADD execs no plugin", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files();
      const { run, execs } = tracedAdd(host, ctr, conf("1.0.0", f), OURS);
      expect(run.exitCode).toBe(0);
      expect(run.json.ips[0].address).toBe(A4.address);
      // Nothing at all: no plugin, and (ipMasq off) no iptables either.
      expect(execs).toEqual([]);
      expectSilentSuccess(flannel("DEL", host, ctr.path, conf("1.0.0", f)));
      expectNoPort(host, ctr);
    }, TIMEOUT_MS);

    describe.skipIf(!hasGoBridge)("a Go bridge behind our flannel (CNI_PATH=/usr/lib/cni)", () => {
      // Debian's Go plugins are v1.1.1: cniVersion 1.0.0 at most.
      const GO_PATH = { CNI_PATH: GO };
      // v1.1.1's host-local writes last_reserved_ip 0644 (v1.9.1: 0600): compare names and contents only.
      const sameStore = (f: Files, want: ReturnType<typeof storeFreed>) => {
        expect(namesAndContents(snapshotDir(f.ipamDir))).toEqual(namesAndContents(want));
        return true;
      };

      test.skipIf(!hasStrace)("ADD execs Go's bridge (and it Go's host-local); same result shape and kernel state", () => {
        using host = tempNetns(`${TAG}-host`);
        using ctr = tempNetns(`${TAG}-ctr`);
        using f = files();
        const { run, execs } = tracedAdd(host, ctr, conf("1.0.0", f), GO);
        expect(run.exitCode).toBe(0);
        expect(execs.filter((e) => e.startsWith(GO))).toEqual([`${GO}/bridge`, `${GO}/host-local`]);
        const [b, h, k] = run.json.interfaces;
        const links = { bridge: BR, bridgeMac: b.mac, hostVeth: h.name, hostMac: h.mac, ctrMac: k.mac, sandbox: ctr.path };
        expect(run.stdout).toBe(printed(bridgeResult("1.0.0", links, [ipOf(A4)], [ROUTE4])));
        expectPort(host, ctr, links, [A4], [ROUTE4]);
        expectSilentSuccess(flannel("DEL", host, ctr.path, conf("1.0.0", f), GO_PATH));
        expectNoPort(host, ctr);
        expect(scratchOf(f)).toBeUndefined();
        expect(sameStore(f, storeFreed([A4]))).toBe(true);
      }, TIMEOUT_MS);

      test.each(["0.3.1", "0.4.0", "1.0.0"])("%s: ADD by Go's bridge, DEL by ours (and back): the saved config drives either", (version) => {
        using host = tempNetns(`${TAG}-host`);
        using ctr = tempNetns(`${TAG}-ctr`);
        using f = files();
        const c = conf(version, f);
        expect(flannel("ADD", host, ctr.path, c, GO_PATH).exitCode).toBe(0);
        expectSilentSuccess(flannel("DEL", host, ctr.path, c));
        expectNoPort(host, ctr);
        expect(sameStore(f, storeFreed([A4]))).toBe(true);

        const add = flannel("ADD", host, ctr.path, c);
        expect(add.exitCode).toBe(0);
        expect(add.json.ips[0].address).toBe(B4.address); // host-local's round robin, shared by both
        expectSilentSuccess(flannel("DEL", host, ctr.path, c, GO_PATH));
        expectNoPort(host, ctr);
        expect(sameStore(f, storeFreed([B4]))).toBe(true);
      }, TIMEOUT_MS);
    });
  });

  describe("DEL", () => {
    test("the saved config wins: DEL works with subnet.env gone and another delegate in the config", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files();
      expect(flannel("ADD", host, ctr.path, conf("1.0.0", f)).exitCode).toBe(0);
      writeFileSync(f.subnetFile, "");
      expectSilentSuccess(flannel("DEL", host, ctr.path, conf("1.0.0", f, { delegate: { type: "ptp" }, ipam: { dataDir: "/nonexistent" } })));
      expectNoPort(host, ctr);
      expect(snapshotDir(f.ipamDir)).toEqual(storeFreed([A4]));
    }, TIMEOUT_MS);

    test("no file (never added, or deleted already), an empty CNI_NETNS, a netns that is gone: success, nothing run", () => {
      using host = tempNetns(`${TAG}-host`);
      using f = files();
      expectSilentSuccess(flannel("DEL", host, "", conf("1.0.0", f)));
      expectSilentSuccess(flannel("DEL", host, "/run/netns/nonexistent-fla", conf("1.0.0", f)));
      // Not even the data directory is made.
      expect(existsSync(f.dataDir)).toBe(false);
    });

    test("after the container is gone: the saved config cleans the store, with an empty CNI_NETNS", () => {
      using host = tempNetns(`${TAG}-host`);
      using f = files();
      {
        using ctr = tempNetns(`${TAG}-ctr`);
        expect(flannel("ADD", host, ctr.path, conf("1.0.0", f)).exitCode).toBe(0);
      }
      expectSilentSuccess(flannel("DEL", host, "", conf("1.0.0", f)));
      expect(scratchOf(f)).toBeUndefined();
      expect(snapshotDir(f.ipamDir)).toEqual(storeFreed([A4]));
    }, TIMEOUT_MS);

    const corrupt: [string, string][] = [
      ["not JSON", '{"type":"bridge",'],
      ["empty", ""],
      ["JSON of the wrong shape", '{"type":"bridge","ipam":{"type":5}}'],
      ["not an object", '["bridge"]'],
    ];
    test.each(corrupt)("a corrupt file (%s): success, nothing run, the file kept (upstream quirk)", (_what, text) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files();
      expect(flannel("ADD", host, ctr.path, conf("1.0.0", f)).exitCode).toBe(0);
      writeFileSync(`${f.dataDir}/ctr1`, text);
      const del = flannel("DEL", host, ctr.path, conf("1.0.0", f));
      expect({ exitCode: del.exitCode, stdout: del.stdout }).toEqual({ exitCode: 0, stdout: "" });
      expect(del.stderr).toStartWith("failed to parse netconf: ");
      expect(readFileSync(`${f.dataDir}/ctr1`, "latin1")).toBe(text);
      expect(linkNames(ctr)).toEqual(["lo", "eth0"]); // nothing was torn down
      expect(snapshotDir(f.ipamDir)).toEqual(storeHolding([[A4, "ctr1"]]));
    }, TIMEOUT_MS);

    test("a delegate DEL that fails is reported, and the file is removed all the same (upstream quirk)", () => {
      using host = tempNetns(`${TAG}-host`);
      using f = files();
      mkdirSync(f.dataDir, { recursive: true });
      writeFileSync(`${f.dataDir}/ctr1`, JSON.stringify({ cniVersion: "1.0.0", name: NET, type: "nosuchplugin" }));
      expectError(flannel("DEL", host, "", conf("1.0.0", f)), { code: 999, msg: `failed to find plugin "nosuchplugin" in path [${OURS}]` });
      expect(scratchOf(f)).toBeUndefined();
      writeFileSync(`${f.dataDir}/ctr1`, JSON.stringify({ cniVersion: "1.0.0", name: NET, type: "bridge", ipam: { type: "nosuchipam" } }));
      expectError(flannel("DEL", host, "", conf("1.0.0", f)), { code: 999, msg: `failed to find plugin "nosuchipam" in path [${OURS}]` });
      expect(scratchOf(f)).toBeUndefined();
    });

    test("a file that cannot be read is an error; a bad config is an error before the file is read", () => {
      using host = tempNetns(`${TAG}-host`);
      using f = files();
      mkdirSync(`${f.dataDir}/ctr1`, { recursive: true });
      expectError(flannel("DEL", host, "", conf("1.0.0", f)), { code: 999, msg: `read ${f.dataDir}/ctr1: is a directory` });
      expectError(flannel("DEL", host, "", conf("1.0.0", f, { delegate: "bridge" })), {
        code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.delegate of type map[string]interface {}",
      });
    });
  });

  describe("errors leave nothing behind", () => {
    /** Runs an ADD that must fail and checks that nothing is left: no link, no file, no reservation. */
    function expectFailedAdd(c: (f: Files) => object, want: (f: Files) => { code: number; msg: string | RegExp }, env: string = SUBNET_ENV.v4, extraEnv: Record<string, string> = {}) {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files(env);
      expectError(flannel("ADD", host, ctr.path, c(f), extraEnv), want(f));
      expect(linkNames(ctr)).toEqual(["lo"]);
      expect(vethsIn(host)).toEqual([]);
      expect(existsSync(`${f.dataDir}/ctr1`)).toBe(false);
      expect(existsSync(`${f.ipamDir}/${NET}/${bare(A4)}`)).toBe(false);
    }

    test("subnet.env missing, incomplete or wrong", () => {
      const suffix = ". Check the flannel pod log for this node.";
      expectFailedAdd((f) => conf("1.0.0", f, { subnetFile: `${f.dir.path}/none` }), (f) => ({
        code: 999, msg: `failed to load flannel 'subnet.env' file: open ${f.dir.path}/none: no such file or directory${suffix}`,
      }));
      expectFailedAdd((f) => conf("1.0.0", f), (f) => ({
        code: 999, msg: `failed to load flannel 'subnet.env' file: ${f.subnetFile} is missing FLANNEL_MTU, FLANNEL_IPMASQ${suffix}`,
      }), "FLANNEL_NETWORK=10.1.0.0/16\nFLANNEL_SUBNET=10.1.17.1/24\n");
      expectFailedAdd((f) => conf("1.0.0", f), () => ({
        code: 999, msg: `failed to load flannel 'subnet.env' file: strconv.ParseUint: parsing "jumbo": invalid syntax${suffix}`,
      }), SUBNET_ENV.v4.replace("1472", "jumbo"));
    }, TIMEOUT_MS);

    test("a bad flannel config, a delegate dictionary that sets what flannel sets, bad ipam.routes", () => {
      expectFailedAdd((f) => conf("1.0.0", f, { dataDir: 5 }), () => ({
        code: 999, msg: "failed to load flannel netconf file: failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.dataDir of type string",
      }));
      expectFailedAdd((f) => conf("1.0.0", f, { delegate: { name: "x" } }), () => ({ code: 999, msg: "'delegate' dictionary must not have 'name' field, it'll be set by flannel" }));
      expectFailedAdd((f) => conf("1.0.0", f, { delegate: { type: 1 } }), () => ({ code: 999, msg: "'delegate' dictionary, if present, must have (string) 'type' field" }));
      expectFailedAdd((f) => conf("1.0.0", f, { ipam: { dataDir: f.ipamDir, routes: [{ dst: "10.96.0.0" }] } }), () => ({
        code: 999, msg: "failed to assemble Delegate IPAM: failed to read IPAM routes: failed to parse ipam.routes: invalid CIDR address: 10.96.0.0",
      }));
    }, TIMEOUT_MS);

    test("the delegate is not on CNI_PATH: upstream's wrapped error; the file saved for it is removed again", () => {
      using other = tempDir(`${TAG}-bin`);
      expectFailedAdd((f) => conf("1.0.0", f), () => ({
        code: 999, msg: `failed to delegate add: failed to find plugin "bridge" in path [${other.path}]`,
      }), SUBNET_ENV.v4, { CNI_PATH: other.path });
    });

    test("the delegate fails: its error as it reported it; its own rollback plus ours leave nothing", () => {
      expectFailedAdd((f) => conf("1.0.0", f, { delegate: { mtu: "jumbo" } }), () => ({
        code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.mtu of type int",
      }));
    }, TIMEOUT_MS);

    test("a failed ADD puts back the file an earlier ADD of the same container saved", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using f = files();
      expect(flannel("ADD", host, ctr.path, conf("1.0.0", f)).exitCode).toBe(0);
      const before = scratchOf(f)!.text;
      // Same container, same ifname: the bridge refuses (the link exists); the first attachment's file must survive.
      const again = flannel("ADD", host, ctr.path, conf("1.0.0", f, { delegate: { hairpinMode: true } }));
      expect(again.exitCode).toBe(1);
      expect(scratchOf(f)!.text).toBe(before);
      expectSilentSuccess(flannel("DEL", host, ctr.path, conf("1.0.0", f)));
      expectNoPort(host, ctr);
    }, TIMEOUT_MS);
  });

  test("STATUS and GC: upstream has neither, so both succeed silently (even without subnet.env)", () => {
    using host = tempNetns(`${TAG}-host`);
    using f = files();
    const c = conf("1.1.0", f, { subnetFile: `${f.dir.path}/none` });
    expectSilentSuccess(runPlugin("flannel", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: c }));
    expectSilentSuccess(runPlugin("flannel", { hostNetns: host.name, env: { CNI_COMMAND: "GC" }, stdin: { ...c, "cni.dev/valid-attachments": [] } }));
    expectError(runPlugin("flannel", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.0.0", f) }), { code: 1, msg: "config version does not allow STATUS" });
  });
});
