// firewall as a runtime runs it (env + stdin, inside a throwaway host netns), for every version it speaks (0.4.0 on):
// the iptables backend's chains and rules read back line by line from iptables-save (FORWARD's jumps at position 1,
// CNI-FORWARD's admin jump first, two rules per address), CHECK, DEL removing only this container's rules, DEL
// again, the admin chain name; a failing IPv6 batch taking back the IPv4 one; concurrent ADDs on a fresh host; the
// ingress policies shown by real pings between containers on two bridges (our bridge + host-local), with the DROP
// counters; bad input refused with code 7 before anything changes; the firewalld backend against a fake firewalld
// on a private dbus-daemon (DBUS_SYSTEM_BUS_ADDRESS), auto-detection and rollback included; STATUS.
//
// Every call that is not about firewalld gets DBUS_SYSTEM_BUS_ADDRESS pointing at a socket that does not exist, so
// auto-detection never reaches the machine's own system bus (or a firewalld on it).
import { describe, expect, test } from "bun:test";
import { readFileSync, writeFileSync } from "node:fs";
import { expectError, expectSilentSuccess } from "../support/expect-run.ts";
import { holdFlock } from "../support/flock-holder.ts";
import {
  addressLines, backendRules, bridgePrevResult, filterRules, filterTable, firewallConf, FORWARD_JUMP,
  FRESH_FILTER, isolationLines, privateBusUnavailable, startFakeFirewalld, startPrivateBus, type PrivateBus,
} from "../support/firewall.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { execIn, succeedsIn } from "../support/ns-exec.ts";
import { printed } from "../support/result.ts";
import { cniEnv, mustSkip, runPlugin, spawnPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir, type TempDir } from "../support/temp-dir.ts";
import { waitFor, waitForAsync } from "../support/wait.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";

const TAG = "fwl"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-fwl-`
const VERSIONS = ALL_VERSIONS.slice(4); // firewall speaks 0.4.0 on
const skip = mustSkip("firewall integration", {
  tools: ["ip", "iptables", "iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore"], ours: ["firewall", "bridge", "host-local"],
});
const hasPing = Bun.which("ping") !== null;
const noBusReason = skip ? "" : privateBusUnavailable();
const NO_BUS = "unix:path=/nonexistent/cni-firewall-test/system_bus_socket";

const V4 = "10.77.0.2";
const V6 = "fd77::2";
const ctrNs = skip ? undefined : tempNetns(`${TAG}-ctr`); // CNI_NETNS of the calls: firewall never enters it
cleanUpAfterAll(TAG, ctrNs);

interface CallOpts {
  id?: string;
  env?: Record<string, string>;
}

function fw(verb: string, host: TempNetns, stdin: object | string, o: CallOpts = {}): Run {
  const env = verb === "STATUS" ? { CNI_COMMAND: "STATUS" } : cniEnv(verb, ctrNs!.path, "eth0", o.id ?? "ctr1");
  return runPlugin("firewall", { hostNetns: host.name, env: { ...env, DBUS_SYSTEM_BUS_ADDRESS: NO_BUS, ...o.env }, stdin });
}

function expectAddPrints(r: Run, prev: object): void {
  expect(r.stderr).toBe("");
  expect(r.exitCode).toBe(0);
  expect(r.stdout).toBe(printed(prev));
}

const both = (ns: TempNetns) => ({ v4: filterRules(ns, 4), v6: filterRules(ns, 6) });

/**
 * Returns a directory holding a `tool` that refuses every batch (put first on PATH, the plugin finds it there); it
 * saves the IPv4 filter table as it is at that moment in `<dir>/seen`.
 */
function failingTool(role: string, tool: string): TempDir {
  const dir = tempDir(role);
  const script = `#!/bin/sh\ncat >/dev/null\niptables-save -t filter > ${dir.path}/seen\necho "${tool}: line 3 failed: refused by the test" >&2\nexit 1\n`;
  writeFileSync(`${dir.path}/${tool}`, script, { mode: 0o755 });
  return dir;
}

describe.skipIf(skip).each(VERSIONS)("firewall %s, iptables backend", (version) => {
  const prev = bridgePrevResult(version, "cnifw0", [`${V4}/24`, `${V6}/64`]);
  const conf = firewallConf(version, { prevResult: prev });

  test("ADD: chains, FORWARD's jump at position 1, admin jump, address rules; CHECK; DEL keeps the chains; DEL again", () => {
    using host = tempNetns(`${TAG}-host`);
    // Someone else's FORWARD rule: our jump goes before it.
    for (const tool of ["iptables", "ip6tables"]) execIn(host, [tool, "-A", "FORWARD", "-i", "eth9", "-j", "DROP"]);
    expectAddPrints(fw("ADD", host, conf), prev);
    const theirs = "-A FORWARD -i eth9 -j DROP";
    expect(both(host)).toEqual({
      v4: filterTable({ ...backendRules([V4]), FORWARD: [FORWARD_JUMP, theirs] }),
      v6: filterTable({ ...backendRules([V6]), FORWARD: [FORWARD_JUMP, theirs] }),
    });
    expectSilentSuccess(fw("CHECK", host, conf));

    // ADD again (a runtime retrying): nothing twice.
    expectAddPrints(fw("ADD", host, conf), prev);
    expect(filterRules(host, 4)).toEqual(filterTable({ ...backendRules([V4]), FORWARD: [FORWARD_JUMP, theirs] }));

    const afterDel = filterTable({ ...backendRules([]), FORWARD: [FORWARD_JUMP, theirs] });
    expectSilentSuccess(fw("DEL", host, conf));
    expect(both(host)).toEqual({ v4: afterDel, v6: afterDel });
    expectSilentSuccess(fw("DEL", host, conf));
    expect(both(host)).toEqual({ v4: afterDel, v6: afterDel });
    // DEL without prevResult (after a failed ADD) changes nothing.
    expectSilentSuccess(fw("DEL", host, firewallConf(version)));
    expect(both(host)).toEqual({ v4: afterDel, v6: afterDel });
  });

  test("two containers: each ADD appends its address rules; DEL removes only its own", () => {
    using host = tempNetns(`${TAG}-host`);
    const prev2 = bridgePrevResult(version, "cnifw0", ["10.77.0.3/24"]);
    const conf2 = firewallConf(version, { prevResult: prev2 });
    expectAddPrints(fw("ADD", host, conf, { id: "ctr1" }), prev);
    expectAddPrints(fw("ADD", host, conf2, { id: "ctr2" }), prev2);
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules([V4, "10.77.0.3"])));
    expect(filterRules(host, 6)).toEqual(filterTable(backendRules([V6])));
    expectSilentSuccess(fw("DEL", host, conf, { id: "ctr1" }));
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules(["10.77.0.3"])));
    expect(filterRules(host, 6)).toEqual(filterTable(backendRules([])));
    expectSilentSuccess(fw("CHECK", host, conf2, { id: "ctr2" }));
    expectSilentSuccess(fw("DEL", host, conf2, { id: "ctr2" }));
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules([])));
  });

  test("iptablesAdminChainName: that chain is jumped to first; its own rules survive ADD and DEL", () => {
    using host = tempNetns(`${TAG}-host`);
    // The admin's chain exists already with an override: ADD must not flush it (`-N` only for missing chains).
    execIn(host, ["iptables", "-N", "MY-ADMIN"]);
    execIn(host, ["iptables", "-A", "MY-ADMIN", "-s", "10.9.9.9/32", "-j", "DROP"]);
    const c = firewallConf(version, { iptablesAdminChainName: "MY-ADMIN", prevResult: prev });
    expectAddPrints(fw("ADD", host, c), prev);
    const override = "-A MY-ADMIN -s 10.9.9.9/32 -j DROP";
    expect(filterRules(host, 4)).toEqual(filterTable({ ...backendRules([V4], "MY-ADMIN"), "MY-ADMIN": [override] }));
    expect(filterRules(host, 6)).toEqual(filterTable(backendRules([V6], "MY-ADMIN")));
    expectSilentSuccess(fw("CHECK", host, c));
    // CHECK with the default admin chain: its jump is not there.
    expectError(fw("CHECK", host, conf), {
      code: 999, msg: "expected CNI-FORWARD rule [-m comment --comment CNI firewall plugin admin overrides -j CNI-ADMIN] not found",
    });
    expectSilentSuccess(fw("DEL", host, c));
    expect(filterRules(host, 4)).toEqual(filterTable({ ...backendRules([], "MY-ADMIN"), "MY-ADMIN": [override] }));
  });

  test("CHECK names the first rule missing: FORWARD's jump, the admin jump, an address rule", () => {
    using host = tempNetns(`${TAG}-host`);
    expectAddPrints(fw("ADD", host, conf), prev);
    execIn(host, ["ip6tables", "-D", "CNI-FORWARD", "-d", `${V6}/128`, "-m", "conntrack", "--ctstate", "RELATED,ESTABLISHED", "-j", "ACCEPT"]);
    expectError(fw("CHECK", host, conf), { code: 999, msg: `expected rule [-d ${V6}/128 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT] not found` });
    execIn(host, ["iptables", "-D", "CNI-FORWARD", "-m", "comment", "--comment", "CNI firewall plugin admin overrides", "-j", "CNI-ADMIN"]);
    expectError(fw("CHECK", host, conf), { code: 999, msg: "expected CNI-FORWARD rule [-m comment --comment CNI firewall plugin admin overrides -j CNI-ADMIN] not found" });
    execIn(host, ["iptables", "-D", "FORWARD", "1"]);
    expectError(fw("CHECK", host, conf), { code: 999, msg: "expected FORWARD rule [-m comment --comment CNI firewall plugin rules -j CNI-FORWARD] not found" });
    // CHECK created nothing on its way (upstream's CHECK creates missing chains).
    expect(filterRules(host, 4)).toEqual(filterTable({ "CNI-FORWARD": addressLines(V4), "CNI-ADMIN": [] }));
  });

  test("ingressPolicy: isolation chains, STAGE-1's jump before CNI-FORWARD's, per-bridge rules in upstream's places", () => {
    using host = tempNetns(`${TAG}-host`);
    const a = firewallConf(version, { ingressPolicy: "same-bridge", prevResult: prev });
    expectAddPrints(fw("ADD", host, a), prev);
    const prevB = bridgePrevResult(version, "cnifw1", ["10.78.0.2/24"]);
    const b = firewallConf(version, { ingressPolicy: "isolated", prevResult: prevB });
    expectAddPrints(fw("ADD", host, b, { id: "ctr2" }), prevB);
    const iso = isolationLines([{ name: "cnifw0", policy: "same-bridge" }, { name: "cnifw1", policy: "isolated" }]);
    expect(filterRules(host, 4)).toEqual(filterTable({
      ...backendRules([V4, "10.78.0.2"]),
      FORWARD: [iso.forward, FORWARD_JUMP],
      "CNI-ISOLATION-STAGE-1": iso.stage1,
      "CNI-ISOLATION-STAGE-2": iso.stage2,
    }));
    expect(iso.stage1[0]).toContain("-i cnifw1 -o cnifw1"); // the isolated bridge's DROP comes first
    const iso6 = isolationLines([{ name: "cnifw0", policy: "same-bridge" }]);
    expect(filterRules(host, 6)).toEqual(filterTable({
      ...backendRules([V6]), FORWARD: [iso6.forward, FORWARD_JUMP], "CNI-ISOLATION-STAGE-1": iso6.stage1, "CNI-ISOLATION-STAGE-2": iso6.stage2,
    }));
    expectSilentSuccess(fw("CHECK", host, a));
    // DEL leaves the isolation rules: other containers may still be on the bridge (upstream).
    expectSilentSuccess(fw("DEL", host, a));
    expectSilentSuccess(fw("DEL", host, b, { id: "ctr2" }));
    expect(filterRules(host, 4)).toEqual(filterTable({
      ...backendRules([]), FORWARD: [iso.forward, FORWARD_JUMP], "CNI-ISOLATION-STAGE-1": iso.stage1, "CNI-ISOLATION-STAGE-2": iso.stage2,
    }));
  });

  test("bad input: code 7 naming the field, nothing created", () => {
    using host = tempNetns(`${TAG}-host`);
    const cases: [string, object, string][] = [
      ["unknown backend", { backend: "nftables", prevResult: prev }, 'unknown firewall backend "nftables"; "backend" must be "iptables" or "firewalld" (or absent: firewalld when it is running, else iptables)'],
      ["unknown ingressPolicy", { ingressPolicy: "closed", prevResult: prev }, 'unknown ingress policy: "closed"; "ingressPolicy" must be "open", "same-bridge" or "isolated"'],
      ["missing prevResult", {}, "missing prevResult from earlier plugin"],
      ["bad iptablesAdminChainName", { iptablesAdminChainName: "has space", prevResult: prev }, 'invalid iptablesAdminChainName "has space": must not contain whitespace, quotes or backslashes'],
      ["too long iptablesAdminChainName", { iptablesAdminChainName: "A".repeat(29), prevResult: prev }, `invalid iptablesAdminChainName "${"A".repeat(29)}": longer than 28 bytes`],
      ["admin chain CNI-FORWARD", { iptablesAdminChainName: "CNI-FORWARD", prevResult: prev }, 'invalid iptablesAdminChainName "CNI-FORWARD": is a built-in chain, a verdict or CNI-FORWARD itself'],
      ["same-bridge without interfaces", { ingressPolicy: "same-bridge", prevResult: { cniVersion: version, ips: [{ address: `${V4}/24` }] } },
        'interface needs to be set for ingress policy "same-bridge", make sure to chain "firewall" plugin with "bridge"'],
      ["same-bridge with an empty bridge name", { ingressPolicy: "isolated", prevResult: { cniVersion: version, interfaces: [{ name: "" }], ips: [{ address: `${V4}/24` }] } },
        "got empty bridge name"],
    ];
    for (const [what, extra, msg] of cases) {
      const r = fw("ADD", host, firewallConf(version, extra));
      expect({ what, exitCode: r.exitCode, code: r.json?.code, msg: r.json?.msg && [r.json.msg, r.json.details].filter(Boolean).join("; ") })
        .toEqual({ what, exitCode: 1, code: 7, msg });
      expect({ what, ...both(host) }).toEqual({ what, v4: FRESH_FILTER, v6: FRESH_FILTER });
    }
    expectError(fw("ADD", host, firewallConf(version, { backend: 5, prevResult: prev })), {
      code: 999, msg: "failed to load netconf: json: cannot unmarshal number into Go struct field FirewallNetConf.backend of type string",
    });
    expectError(fw("ADD", host, firewallConf(version, { prevResult: { cniVersion: "0.2.0", ip4: { ip: "10.1.1.1/24" } } })), {
      code: 999, msg: expect.stringMatching(/^could not parse prevResult: could not parse prevResult: result type supports/) as never,
    });
    expect(both(host)).toEqual({ v4: FRESH_FILTER, v6: FRESH_FILTER });
    const check = fw("CHECK", host, firewallConf(version, { backend: "ipfw", prevResult: prev }));
    expect([check.exitCode, check.json?.code]).toEqual([1, 7]);
  });

  test("a failing IPv6 batch: the IPv4 batch of the same ADD is taken back, chains included", () => {
    using host = tempNetns(`${TAG}-host`);
    using tools = failingTool(`${TAG}-tools`, "ip6tables-restore");
    const c = firewallConf(version, { ingressPolicy: "same-bridge", prevResult: prev });
    const r = fw("ADD", host, c, { env: { PATH: `${tools.path}:${process.env.PATH}` } });
    expectError(r, { code: 999, msg: "failed to apply filter rules with ip6tables-restore: ip6tables-restore: line 3 failed: refused by the test" });
    // The IPv4 batch had gone in when the IPv6 one failed, and is gone again.
    expect(readFileSync(`${tools.path}/seen`, "utf8")).toContain("-A CNI-FORWARD -s 10.77.0.2/32 -j ACCEPT");
    expect(both(host)).toEqual({ v4: FRESH_FILTER, v6: FRESH_FILTER });
  });

  test("DEL with an unknown ingressPolicy removes the rules, then fails as upstream; an unknown backend auto-detects", () => {
    using host = tempNetns(`${TAG}-host`);
    expectAddPrints(fw("ADD", host, conf), prev);
    const r = fw("DEL", host, firewallConf(version, { ingressPolicy: "closed", prevResult: prev }));
    expect([r.exitCode, r.json?.code, r.json?.msg]).toEqual([1, 7, 'unknown ingress policy: "closed"']);
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules([])));
    expectAddPrints(fw("ADD", host, conf), prev);
    // upstream quirk kept for DEL only: a Go ADD with this config used iptables, so this DEL must clean it.
    expectSilentSuccess(fw("DEL", host, firewallConf(version, { backend: "nftables", prevResult: prev })));
    expect(filterRules(host, 6)).toEqual(filterTable(backendRules([])));
  });
});

describe.skipIf(skip)("firewall, concurrent ADDs on a fresh host", () => {
  test("four at once: each address once, the chains and jumps once (a batch that lost the race to -N is planned again)", async () => {
    using host = tempNetns(`${TAG}-host`);
    const ips = ["10.77.1.2", "10.77.1.3", "10.77.1.4", "10.77.1.5"];
    const runs = await Promise.all(ips.map((ip, i) => spawnPlugin("firewall", {
      hostNetns: host.name,
      env: { ...cniEnv("ADD", ctrNs!.path, "eth0", `ctr${i}`), DBUS_SYSTEM_BUS_ADDRESS: NO_BUS },
      stdin: firewallConf("1.1.0", { prevResult: bridgePrevResult("1.1.0", "cnifw0", [`${ip}/24`]) }),
    })));
    expect(runs.map((r) => [r.exitCode, r.stderr])).toEqual(ips.map(() => [0, ""]));
    const got = filterRules(host, 4);
    const sortAddressRules = (lines: string[]) => [...lines].sort();
    expect(sortAddressRules(got)).toEqual(sortAddressRules(filterTable(backendRules(ips))));
    expect(got.filter((l) => l.startsWith("-A FORWARD"))).toEqual([FORWARD_JUMP]);
    expect(filterRules(host, 6)).toEqual(FRESH_FILTER);
  });

  // A race between iptables-nft-restores is too rare to show on demand; that an ADD plans and applies under the lock
  // of the host netns (pkg/netfilter/shared-chains-lock.ts) is not.
  test("an ADD waits while another process holds the host netns's shared-chains lock", async () => {
    using host = tempNetns(`${TAG}-host`);
    await using holder = holdFlock(host.path);
    const pending = spawnPlugin("firewall", {
      hostNetns: host.name,
      env: { ...cniEnv("ADD", ctrNs!.path, "eth0", "ctr0"), DBUS_SYSTEM_BUS_ADDRESS: NO_BUS },
      stdin: firewallConf("1.1.0", { prevResult: bridgePrevResult("1.1.0", "cnifw0", ["10.77.1.2/24"]) }),
    });
    // async: the plugin's stdin is written from the event loop, which a synchronous wait would block
    await waitForAsync(() => holder.listed(true), "firewall ADD to wait for the lock");
    expect(filterRules(host, 4)).toEqual(FRESH_FILTER);
    await holder.release();
    const add = await pending;
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules(["10.77.1.2"])));
  });
});

// ---------- real traffic ----------

interface World extends Disposable {
  host: TempNetns;
  ctrs: Record<"a1" | "a2" | "b1", { ns: TempNetns; ip: string }>;
}

/**
 * Returns a host netns with two bridges made by our bridge plugin (host-local addresses, gateway on the bridge):
 * a1 and a2 on cnifwa (10.91.1.0/24), b1 on cnifwb (10.91.2.0/24), each attachment chained into firewall with
 * this ingress policy, prevResult being bridge's result, as a runtime runs a conflist.
 */
function world(version: string, policy: string): World {
  const host = tempNetns(`${TAG}-host`);
  const data = tempDir(`${TAG}-data`);
  const made: TempNetns[] = [];
  const dispose = () => {
    for (const n of made) n[Symbol.dispose]();
    host[Symbol.dispose]();
    data[Symbol.dispose]();
  };
  try {
    const ctrs = {} as World["ctrs"];
    for (const [name, br, net] of [["a1", "cnifwa", 1], ["a2", "cnifwa", 1], ["b1", "cnifwb", 2]] as const) {
      const ns = tempNetns(`${TAG}-${name}`);
      made.push(ns);
      const bridgeConf = {
        cniVersion: version, name: `net${net}`, type: "bridge", bridge: br, isGateway: true,
        ipam: { type: "host-local", dataDir: data.path, ranges: [[{ subnet: `10.91.${net}.0/24` }]], routes: [{ dst: "0.0.0.0/0" }] },
      };
      const env = { ...cniEnv("ADD", ns.path, "eth0", name), DBUS_SYSTEM_BUS_ADDRESS: NO_BUS };
      const add = runPlugin("bridge", { hostNetns: host.name, env, stdin: bridgeConf });
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      const fwAdd = runPlugin("firewall", {
        hostNetns: host.name, env, stdin: { cniVersion: version, name: `net${net}`, type: "firewall", ingressPolicy: policy, prevResult: add.json },
      });
      expect([fwAdd.exitCode, fwAdd.stderr]).toEqual([0, ""]);
      ctrs[name] = { ns, ip: (add.json.ips[0].address as string).split("/")[0]! };
    }
    return { host, ctrs, [Symbol.dispose]: dispose };
  } catch (e) {
    dispose();
    throw e;
  }
}

/** Returns whether each ping (one echo, 1 s) from → to got an answer; all run at once. */
async function pings(w: World, pairs: [keyof World["ctrs"], keyof World["ctrs"] | "gw"][]): Promise<boolean[]> {
  return Promise.all(pairs.map(async ([from, to]) => {
    const dst = to === "gw" ? w.ctrs[from].ip.replace(/\.\d+$/, ".1") : w.ctrs[to].ip;
    const p = Bun.spawn(["ip", "netns", "exec", w.ctrs[from].ns.name, "ping", "-c1", "-W1", dst], { stdout: "ignore", stderr: "ignore" });
    return (await p.exited) === 0;
  }));
}

/** Returns the packet count of the one filter rule whose save line contains `fragment` (IPv4). */
function packetsOf(host: TempNetns, fragment: string): number {
  const lines = execIn(host, ["iptables-save", "-c", "-t", "filter"]).split("\n").filter((l) => l.includes(fragment));
  expect(lines.length).toBe(1);
  return Number(/^\[(\d+):/.exec(lines[0]!)![1]);
}

describe.skipIf(skip || !hasPing).each(VERSIONS)("firewall %s, ingress policy with real traffic (skipped without ping)", (version) => {
  test("open: everyone reaches everyone (the baseline the other policies take away)", async () => {
    using w = world(version, "open");
    waitFor(() => succeedsIn(w.ctrs.a1.ns, ["ping", "-c1", "-W1", w.ctrs.b1.ip]), "a1 to reach b1 across the bridges");
    expect(await pings(w, [["a1", "a2"], ["b1", "a1"], ["a2", "b1"]])).toEqual([true, true, true]);
  });

  test("same-bridge: a1 reaches a2 on its bridge, nobody crosses between the bridges", async () => {
    using w = world(version, "same-bridge");
    waitFor(() => succeedsIn(w.ctrs.a1.ns, ["ping", "-c1", "-W1", w.ctrs.a2.ip]), "a1 to reach a2 on the same bridge");
    expect(await pings(w, [["a1", "b1"], ["b1", "a1"], ["a2", "b1"], ["a1", "gw"]])).toEqual([false, false, false, true]);
    // The drops were STAGE-2's: traffic from one isolated bridge out to another.
    expect(packetsOf(w.host, "-A CNI-ISOLATION-STAGE-2 -o cnifwb")).toBeGreaterThan(0);
    expect(packetsOf(w.host, "-A CNI-ISOLATION-STAGE-2 -o cnifwa")).toBeGreaterThan(0);
  });

  test("isolated: not even a1 and a2 on the same bridge; the gateway still answers", async () => {
    using w = world(version, "isolated");
    // bridged frames go through iptables (br_netfilter, bridge-nf-call-iptables=1 in a new netns)
    expect(execIn(w.host, ["cat", "/proc/sys/net/bridge/bridge-nf-call-iptables"]).trim()).toBe("1");
    waitFor(() => succeedsIn(w.ctrs.a1.ns, ["ping", "-c1", "-W1", w.ctrs.a1.ip.replace(/\.\d+$/, ".1")]), "a1 to reach its gateway");
    expect(await pings(w, [["a1", "a2"], ["a2", "a1"], ["a1", "b1"], ["b1", "a2"], ["b1", "gw"]])).toEqual([false, false, false, false, true]);
    expect(packetsOf(w.host, "-A CNI-ISOLATION-STAGE-1 -i cnifwa -o cnifwa")).toBeGreaterThan(0);
  });
});

// ---------- firewalld ----------

describe.skipIf(skip || noBusReason !== "")(`firewall, firewalld backend on a private bus with a fake firewalld${noBusReason ? ` (skipped: ${noBusReason})` : ""}`, () => {
  const onBus = (bus: PrivateBus) => ({ env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address } });

  test.each(VERSIONS)("%s: auto-detected; ADD binds each address to trusted, CHECK queries, DEL unbinds, DEL again; no iptables rule", (version) => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    using fake = startFakeFirewalld(bus);
    const prev = bridgePrevResult(version, "cnifw0", [`${V4}/24`, `${V6}/64`]);
    const conf = firewallConf(version, { prevResult: prev });
    expectAddPrints(fw("ADD", host, conf, onBus(bus)), prev);
    expect(fake.state().sources).toEqual({ trusted: [`${V4}/32`, `${V6}/128`] });
    expect(both(host)).toEqual({ v4: FRESH_FILTER, v6: FRESH_FILTER });
    expectSilentSuccess(fw("CHECK", host, conf, onBus(bus)));
    expectSilentSuccess(fw("DEL", host, conf, onBus(bus)));
    expect(fake.state().sources).toEqual({});
    expectSilentSuccess(fw("DEL", host, conf, onBus(bus)));
    expect(fake.state().calls.map((c) => `${c.member}(${c.args.join(", ")})`)).toEqual([
      `addSource(trusted, ${V4}/32)`, `addSource(trusted, ${V6}/128)`,
      `querySource(trusted, ${V4}/32)`, `querySource(trusted, ${V6}/128)`,
      `removeSource(trusted, ${V4}/32)`, `removeSource(trusted, ${V6}/128)`,
      `removeSource(trusted, ${V4}/32)`, `removeSource(trusted, ${V6}/128)`,
    ]);
    expect(both(host)).toEqual({ v4: FRESH_FILTER, v6: FRESH_FILTER });
  });

  test("firewalldZone; ADD again meets ZONE_ALREADY_SET and succeeds; another zone's ADD fails on ZONE_CONFLICT", () => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    using fake = startFakeFirewalld(bus);
    const prev = bridgePrevResult("1.1.0", "cnifw0", [`${V4}/24`]);
    const internal = firewallConf("1.1.0", { backend: "firewalld", firewalldZone: "internal", prevResult: prev });
    expectAddPrints(fw("ADD", host, internal, onBus(bus)), prev);
    expectAddPrints(fw("ADD", host, internal, onBus(bus)), prev);
    expect(fake.state().sources).toEqual({ internal: [`${V4}/32`] });
    const pub = firewallConf("1.1.0", { backend: "firewalld", firewalldZone: "public", prevResult: prev });
    expectError(fw("ADD", host, pub, onBus(bus)), {
      code: 999, msg: `failed to add the address ${V4}/32 to public zone: ZONE_CONFLICT: '${V4}/32' already bound to a zone`,
    });
    expect(fake.state().sources).toEqual({ internal: [`${V4}/32`] });
    // CHECK against the wrong zone fails (querySource answers false); the right one passes.
    expectError(fw("CHECK", host, pub, onBus(bus)), { code: 999, msg: `failed to find the address ${V4}/32 in public zone` });
    expectSilentSuccess(fw("CHECK", host, internal, onBus(bus)));
    const unknownZone = firewallConf("1.1.0", { backend: "firewalld", firewalldZone: "nosuch", prevResult: bridgePrevResult("1.1.0", "cnifw0", ["10.77.0.9/24"]) });
    expectError(fw("ADD", host, unknownZone, onBus(bus)), { code: 999, msg: "failed to add the address 10.77.0.9/32 to nosuch zone: INVALID_ZONE: nosuch" });
    expectSilentSuccess(fw("DEL", host, internal, onBus(bus)));
    expect(fake.state().sources).toEqual({});
  });

  test("a refusal half way: the address bound before it is unbound again", () => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    using fake = startFakeFirewalld(bus, [`${V6}/128`]);
    const prev = bridgePrevResult("1.1.0", "cnifw0", [`${V4}/24`, `${V6}/64`]);
    expectError(fw("ADD", host, firewallConf("1.1.0", { prevResult: prev }), onBus(bus)), {
      code: 999, msg: `failed to add the address ${V6}/128 to trusted zone: INVALID_ADDR: ${V6}/128 (refused by the test)`,
    });
    expect(fake.state().sources).toEqual({});
    expect(fake.state().calls.map((c) => c.member)).toEqual(["addSource", "addSource", "removeSource"]);
  });

  test("CHECK fails once a source is gone behind the plugin's back (removed with busctl)", () => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    using fake = startFakeFirewalld(bus);
    const prev = bridgePrevResult("1.1.0", "cnifw0", [`${V4}/24`]);
    const conf = firewallConf("1.1.0", { prevResult: prev });
    expectAddPrints(fw("ADD", host, conf, onBus(bus)), prev);
    const busctl = Bun.spawnSync(["busctl", `--address=${bus.address}`, "call", "org.fedoraproject.FirewallD1", "/org/fedoraproject/FirewallD1",
      "org.fedoraproject.FirewallD1.zone", "removeSource", "ss", "trusted", `${V4}/32`], { stdout: "pipe", stderr: "pipe" });
    expect(busctl.stdout.toString().trim()).toBe('s "trusted"');
    expect(fake.state().sources).toEqual({});
    expectError(fw("CHECK", host, conf, onBus(bus)), { code: 999, msg: `failed to find the address ${V4}/32 in trusted zone` });
  });

  test("auto-detection: a bus without firewalld means iptables; backend firewalld without a bus is an error", () => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    const prev = bridgePrevResult("1.1.0", "cnifw0", [`${V4}/24`]);
    expectAddPrints(fw("ADD", host, firewallConf("1.1.0", { prevResult: prev }), onBus(bus)), prev);
    expect(filterRules(host, 4)).toEqual(filterTable(backendRules([V4])));
    const r = fw("ADD", host, firewallConf("1.1.0", { backend: "firewalld", prevResult: prev }));
    expect([r.exitCode, r.json?.code]).toEqual([1, 999]);
    expect(r.json?.msg).toStartWith(`failed to connect to D-Bus at "${NO_BUS}"`);
    // On the bus but nobody owns firewalld's name: the bus says so.
    const s = fw("ADD", host, firewallConf("1.1.0", { backend: "firewalld", prevResult: prev }), onBus(bus));
    expect(s.json?.msg).toBe(`failed to add the address ${V4}/32 to trusted zone: The name org.fedoraproject.FirewallD1 was not provided by any .service files`);
  });

  test("ingressPolicy with firewalld: sources in firewalld, isolation chains in iptables, no CNI-FORWARD", () => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    using fake = startFakeFirewalld(bus);
    const prev = bridgePrevResult("1.1.0", "cnifw0", [`${V4}/24`]);
    expectAddPrints(fw("ADD", host, firewallConf("1.1.0", { ingressPolicy: "same-bridge", prevResult: prev }), onBus(bus)), prev);
    expect(fake.state().sources).toEqual({ trusted: [`${V4}/32`] });
    const iso = isolationLines([{ name: "cnifw0", policy: "same-bridge" }]);
    expect(filterRules(host, 4)).toEqual(filterTable({ FORWARD: [iso.forward], "CNI-ISOLATION-STAGE-1": iso.stage1, "CNI-ISOLATION-STAGE-2": iso.stage2 }));
    expect(filterRules(host, 6)).toEqual(FRESH_FILTER);
  });

  test("the ingress policy's iptables batch failing unbinds the sources ADD bound", () => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    using fake = startFakeFirewalld(bus);
    using tools = failingTool(`${TAG}-tools`, "iptables-restore");
    const prev = bridgePrevResult("1.1.0", "cnifw0", [`${V4}/24`]);
    const r = fw("ADD", host, firewallConf("1.1.0", { ingressPolicy: "isolated", prevResult: prev }), {
      env: { DBUS_SYSTEM_BUS_ADDRESS: bus.address, PATH: `${tools.path}:${process.env.PATH}` },
    });
    expectError(r, { code: 999, msg: "failed to apply filter rules with iptables-restore: iptables-restore: line 3 failed: refused by the test" });
    expect(fake.state().sources).toEqual({});
    expect(fake.state().calls.map((c) => c.member)).toEqual(["addSource", "removeSource"]);
    expect(filterRules(host, 4)).toEqual(FRESH_FILTER);
  });

  test("STATUS (1.1.0, ours): 50 when the configured backend cannot work", () => {
    using host = tempNetns(`${TAG}-host`);
    using bus = startPrivateBus(`${TAG}-bus`);
    expectSilentSuccess(fw("STATUS", host, firewallConf("1.1.0")));
    expectSilentSuccess(fw("STATUS", host, firewallConf("1.1.0"), onBus(bus)));
    const none = fw("STATUS", host, firewallConf("1.1.0", { backend: "firewalld" }), onBus(bus));
    expect([none.exitCode, none.json?.code]).toEqual([1, 50]);
    const nobus = fw("STATUS", host, firewallConf("1.1.0", { backend: "firewalld" }));
    expect([nobus.exitCode, nobus.json?.code]).toEqual([1, 50]);
    using _fake = startFakeFirewalld(bus);
    expectSilentSuccess(fw("STATUS", host, firewallConf("1.1.0", { backend: "firewalld" }), onBus(bus)));
  });
});
