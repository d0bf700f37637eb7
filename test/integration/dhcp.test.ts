// dhcp IPAM as a runtime runs it, against a real DHCP server (dnsmasq) in a throwaway "network" netns whose bridge
// the pods' veths join: ADD/CHECK/DEL/DEL for every spec version, renewal at T1, expiry (busybox udhcpd, since
// dnsmasq will not lease for less than 2 minutes), release on DEL, options 121/33/3 and `provide`, two pods at
// once, a daemon restart (clean and killed) that keeps the lease, the link disappearing, GC, STATUS, systemd socket
// activation, our bridge plugin with dhcp IPAM, and bad configs / an unreachable daemon failing clearly
// (SPEC-DIGEST §2.3). Every process runs under `timeout` and is killed when its test ends.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import {
  addrsOf, dnsmasqClientId, dnsmasqLeases, dnsmasqNetwork, linkOf, logCount, SERVER_IP, startDaemon, startProcess,
  udhcpd, udhcpdNetwork, type Daemon, type DhcpNetwork,
} from "../support/dhcp.ts";
import { expectSilentSuccess } from "../support/expect-run.ts";
import { ipIn } from "../support/ns-exec.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipamResult, printed } from "../support/result.ts";
import { mustSkip, OURS, runPlugin, runtimeEnv, spawnPlugin, type CallOptions, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";
import { waitFor } from "../support/wait.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "dhc"; // every netns and /tmp dir of this file starts with `<RUN_PREFIX>-dhc-`
const NET = "dhcpnet";
const skip = mustSkip("dhcp integration", { tools: ["dnsmasq", "timeout"], ours: ["dhcp", "bridge"] });

const host = skip ? undefined : tempNetns(`${TAG}-host`);
const dir = skip ? undefined : tempDir(TAG);
// One daemon and one dnsmasq network serve most tests; tests about the daemon's life start their own.
const daemon = skip ? undefined : startDaemon(host!, dir!.path, ["-timeout", "1s", "-resendtimeout", "4s"]);
const net = skip ? undefined : dnsmasqNetwork(TAG, [
  "--dhcp-vendorclass=set:r121,r121", "--dhcp-vendorclass=set:r33,r33",
  "--dhcp-option=tag:r121,option:classless-static-route,192.168.5.0/24,10.77.0.9,10.99.0.1/32,0.0.0.0",
  "--dhcp-option=tag:r33,option:static-route,172.16.4.0,10.77.0.6,10.1.2.3,10.77.0.5",
]);
cleanUpAfterAll(TAG, daemon, net, host, dir);

/** Returns a network config with dhcp IPAM talking to `d`; `ipam` adds to the ipam section. */
function conf(cniVersion: string, d: Daemon = daemon!, ipam: object = {}, top: object = {}): Record<string, unknown> {
  return { cniVersion, name: NET, type: "bridge", ipam: { type: "dhcp", daemonSocketPath: d.socket, ...ipam }, ...top };
}

function call(verb: string, ctr: TempNetns, stdin: object | string, o: CallOptions = {}): Run {
  return runPlugin("dhcp", { hostNetns: host!.name, env: runtimeEnv(verb, ctr.path, o), stdin });
}

/** Puts the leased address on the pod's link, as the main plugin would (dnsmasq answers renewals by unicast ARP). */
function applyAddress(ctr: TempNetns, add: Run, ifname = "eth0"): string {
  const address = add.json.ips?.[0]?.address ?? add.json.ip4.ip;
  ipIn(ctr, ["addr", "add", address, "dev", ifname]);
  return address;
}

/** Returns dnsmasq's lease of a MAC, failing the test when there is none. */
function leaseOf(n: DhcpNetwork, mac: string) {
  const l = dnsmasqLeases(n).find((x) => x.mac === mac);
  if (!l) throw new Error(`dnsmasq has no lease for ${mac}: ${JSON.stringify(dnsmasqLeases(n))}`);
  return l;
}

function leaseFiles(d: Daemon): string[] {
  return existsSync(d.leaseDir) ? readdirSync(d.leaseDir) : [];
}

const DEFAULT_ROUTE = { dst: "0.0.0.0/0", gw: SERVER_IP };

describe.skipIf(skip).each(ALL_VERSIONS)("dhcp %s", (version) => {
  test("ADD takes a lease on the pod's link (brought up), CHECK finds it, DEL releases it, DEL again", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const { mac } = net!.attach(ctr);
    const id = `c${version.replaceAll(".", "")}`;
    expect(linkOf(ctr, "eth0").flags).not.toContain("UP");
    const add = call("ADD", ctr, conf(version), { id });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    const lease = leaseOf(net!, mac);
    expect(add.stdout).toBe(printed(ipamResult(version, [{ address: `${lease.ip}/24`, gateway: SERVER_IP }], [DEFAULT_ROUTE])));
    // Option 61 is type 0 + `<containerID>/<network>/<ifname>`; the link is up; the plugin itself configures nothing.
    expect(lease.clientId).toBe(dnsmasqClientId(`${id}/${NET}/eth0`));
    expect(linkOf(ctr, "eth0").flags).toContain("UP");
    expect(addrsOf(ctr, "eth0")).toEqual([]);
    expect(leaseFiles(daemon!)).toHaveLength(1);

    // A first DISCOVER can be lost while the new bridge port comes up, and sent again: count from here on.
    const discovers = logCount(net!, "DHCPDISCOVER", mac);
    if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(call("CHECK", ctr, conf(version, daemon, {}, { prevResult: add.json }), { id }));
    expect(logCount(net!, "DHCPDISCOVER", mac)).toBe(discovers); // CHECK answered from the held lease

    expectSilentSuccess(call("DEL", ctr, conf(version), { id }));
    waitFor(() => logCount(net!, "DHCPRELEASE", mac) === 1, "dnsmasq to log the DHCPRELEASE");
    waitFor(() => !dnsmasqLeases(net!).some((l) => l.mac === mac), "dnsmasq to drop the lease");
    expect(leaseFiles(daemon!)).toEqual([]);
    expectSilentSuccess(call("DEL", ctr, conf(version), { id }));
  });
});

describe.skipIf(skip)("lease life (1.1.0)", () => {
  test("renewal at T1: the daemon renews every 3 s and dnsmasq's expiry moves on", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const { mac } = net!.attach(ctr);
    const add = call("ADD", ctr, conf("1.1.0"), { id: "renew" });
    expect(add.exitCode).toBe(0);
    applyAddress(ctr, add);
    const first = leaseOf(net!, mac).expiry;
    const discovers = logCount(net!, "DHCPDISCOVER", mac);
    waitFor(() => logCount(net!, "DHCPACK", mac) >= 3, "two renewals (DHCPACK)", 15_000);
    expect(logCount(net!, "DHCPDISCOVER", mac)).toBe(discovers); // renewals are REQUESTs, not new leases
    expect(leaseOf(net!, mac).expiry).toBeGreaterThan(first);
    expect(leaseOf(net!, mac).ip).toBe(add.json.ips[0].address.split("/")[0]);
    expectSilentSuccess(call("DEL", ctr, conf("1.1.0"), { id: "renew" }));
  }, 30000);

  test.skipIf(!udhcpd())("expiry: with the server gone, renewing and rebinding fail and the link goes down at expiry", () => {
    using n = udhcpdNetwork(`${TAG}-exp`, udhcpd()!, 4);
    using ctr = tempNetns(`${TAG}-ctr`);
    n.attach(ctr);
    const add = call("ADD", ctr, conf("1.1.0"), { id: "expire" });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(add.json.ips[0].address).toMatch(/^10\.77\.0\.(6[0-9]|70)\/24$/);
    applyAddress(ctr, add);
    const acquired = Date.now();
    n.server.stop("SIGKILL");
    waitFor(() => !linkOf(ctr, "eth0").flags.includes("UP"), "the link to go down at expiry", 15_000);
    // 4 s lease: T1 2 s, T2 3.4 s, expiry 4 s after the ACK; not before.
    expect(Date.now() - acquired).toBeGreaterThanOrEqual(3500);
    const log = daemon!.log();
    expect(log).toContain("expire/dhcpnet/eth0: renewal time expired, rebinding");
    expect(log).toContain("expire/dhcpnet/eth0: lease expired, bringing interface DOWN");
    const check = call("CHECK", ctr, conf("1.1.0", daemon, {}, { prevResult: add.json }), { id: "expire" });
    expect([check.exitCode, check.json?.code]).toEqual([1, 999]);
    expect(check.json.msg).toMatch(/^error calling DHCP\.Allocate: the DHCP lease of expire\/dhcpnet\/eth0 expired at .* and eth0 was set down$/);
    expectSilentSuccess(call("DEL", ctr, conf("1.1.0"), { id: "expire" }));
    expect(leaseFiles(daemon!)).toEqual([]);
  }, 30000);

  test("the link disappearing ends maintenance and the daemon forgets the lease; DEL still succeeds", () => {
    const ctr = tempNetns(`${TAG}-ctr`);
    const { mac } = net!.attach(ctr);
    const add = call("ADD", ctr, conf("1.1.0"), { id: "gone" });
    expect(add.exitCode).toBe(0);
    expect(leaseFiles(daemon!)).toHaveLength(1);
    ctr[Symbol.dispose](); // the pod's netns, and its veth, go away without a DEL
    waitFor(() => daemon!.log().includes("gone/dhcpnet/eth0: interface eth0 no longer exists"), "the daemon to notice", 10_000);
    waitFor(() => leaseFiles(daemon!).length === 0, "the lease file to go");
    expect(logCount(net!, "DHCPRELEASE", mac)).toBe(0);
    expectSilentSuccess(call("DEL", ctr, conf("1.1.0"), { id: "gone" }));
  }, 30000);
});

describe.skipIf(skip)("options and results (1.1.0)", () => {
  test("option 121 (with `request`) replaces 33 and the router's default route; router 0.0.0.0 is scope link", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    net!.attach(ctr);
    const c = conf("1.1.0", daemon, { request: [{ option: "121" }], provide: [{ option: "vendor-class-identifier", value: "r121" }] });
    const add = call("ADD", ctr, c, { id: "o121" });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(add.json.ips).toEqual([{ address: expect.stringMatching(/^10\.77\.0\.\d+\/24$/), gateway: SERVER_IP }]);
    expect(add.json.routes).toEqual([{ dst: "192.168.5.0/24", gw: "10.77.0.9" }, { dst: "10.99.0.1/32", gw: "0.0.0.0", scope: 253 }]);
    expectSilentSuccess(call("DEL", ctr, c, { id: "o121" }));
  });

  test("option 33 routes (classful destinations), then the default route via option 3; `priority` on every route", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    net!.attach(ctr);
    // The vendor class comes from CNI_ARGS through fromArg; the request list asks for 33 alongside the defaults.
    const c = conf("1.1.0", daemon, { priority: 100, request: [{ option: "33" }], provide: [{ option: "60", fromArg: "CLASS" }] });
    const add = call("ADD", ctr, c, { id: "o33", cniArgs: "IgnoreUnknown=1;CLASS=r33" });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(add.json.routes).toEqual([
      { dst: "172.16.4.0/16", gw: "10.77.0.6", priority: 100 },
      { dst: "10.1.2.3/8", gw: "10.77.0.5", priority: 100 },
      { ...DEFAULT_ROUTE, priority: 100 },
    ]);
    expectSilentSuccess(call("DEL", ctr, c, { id: "o33" }));
  });

  test("provide host-name from CNI_ARGS reaches the server; skipDefault leaves routers out of the request", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const { mac } = net!.attach(ctr);
    const c = conf("1.1.0", daemon, { provide: [{ option: "host-name", fromArg: "K8S_POD_NAME" }], request: [{ skipDefault: true }, { option: "subnet-mask" }] });
    const add = call("ADD", ctr, c, { id: "prov", cniArgs: "IgnoreUnknown=1;K8S_POD_NAME=web-1" });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(leaseOf(net!, mac).hostname).toBe("web-1");
    // Not asked for, dnsmasq sends no router: no gateway, no routes.
    expect(add.json).toEqual({ cniVersion: "1.1.0", ips: [{ address: expect.stringMatching(/^10\.77\.0\.\d+\/24$/) }] });
    expectSilentSuccess(call("DEL", ctr, c, { id: "prov" }));
  });

  test("two pods at once get two leases", async () => {
    using a = tempNetns(`${TAG}-ctr`);
    using b = tempNetns(`${TAG}-ctr`);
    const ma = net!.attach(a).mac;
    const mb = net!.attach(b).mac;
    const run = (ctr: TempNetns, id: string) => spawnPlugin("dhcp", { hostNetns: host!.name, env: runtimeEnv("ADD", ctr.path, { id }), stdin: conf("1.1.0") });
    const [ra, rb] = await Promise.all([run(a, "podA"), run(b, "podB")]);
    expect([ra.exitCode, rb.exitCode, ra.stderr, rb.stderr]).toEqual([0, 0, "", ""]);
    expect(ra.json.ips[0].address).toBe(`${leaseOf(net!, ma).ip}/24`);
    expect(rb.json.ips[0].address).toBe(`${leaseOf(net!, mb).ip}/24`);
    expect(ra.json.ips[0].address).not.toBe(rb.json.ips[0].address);
    expect(leaseFiles(daemon!)).toHaveLength(2);
    expectSilentSuccess(call("DEL", a, conf("1.1.0"), { id: "podA" }));
    // containerd's DEL comes with an empty CNI_NETNS: the daemon knows where the lease lives, and still releases it.
    expectSilentSuccess(runPlugin("dhcp", { hostNetns: host!.name, env: runtimeEnv("DEL", "", { id: "podB" }), stdin: conf("1.1.0") }));
    waitFor(() => logCount(net!, "DHCPRELEASE", ma) === 1 && logCount(net!, "DHCPRELEASE", mb) === 1, "both releases");
    expect(leaseFiles(daemon!)).toEqual([]);
  });

  test("GC releases the leases of the network whose attachment is not listed, and keeps the rest", () => {
    using a = tempNetns(`${TAG}-ctr`);
    using b = tempNetns(`${TAG}-ctr`);
    const ma = net!.attach(a).mac;
    const mb = net!.attach(b).mac;
    expect(call("ADD", a, conf("1.1.0"), { id: "gcA" }).exitCode).toBe(0);
    expect(call("ADD", b, conf("1.1.0"), { id: "gcB" }).exitCode).toBe(0);
    expectSilentSuccess(call("GC", a, conf("1.1.0", daemon, {}, { "cni.dev/valid-attachments": [{ containerID: "gcA", ifname: "eth0" }] })));
    waitFor(() => logCount(net!, "DHCPRELEASE", mb) === 1, "gcB's release");
    expect(logCount(net!, "DHCPRELEASE", ma)).toBe(0);
    expect(leaseFiles(daemon!)).toHaveLength(1);
    // Without the list a GC frees nothing.
    expectSilentSuccess(call("GC", a, conf("1.1.0")));
    expect(leaseFiles(daemon!)).toHaveLength(1);
    expectSilentSuccess(call("DEL", a, conf("1.1.0"), { id: "gcA" }));
  });

  test("our bridge plugin with dhcp IPAM: the pod gets its lease on its veth and reaches the server", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const c = { cniVersion: "1.1.0", name: NET, type: "bridge", bridge: "br0", ipam: { type: "dhcp", daemonSocketPath: daemon!.socket } };
    const env = runtimeEnv("ADD", ctr.path, { id: "brpod" });
    const add = runPlugin("bridge", { dir: OURS, hostNetns: net!.ns.name, env, stdin: c });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    const address = add.json.ips[0].address;
    expect(addrsOf(ctr, "eth0")).toEqual([address]);
    expect(Bun.spawnSync(["ip", "netns", "exec", ctr.name, "ping", "-c", "1", "-W", "2", SERVER_IP]).exitCode).toBe(0);
    expect(leaseOf(net!, add.json.interfaces.find((i: { name: string }) => i.name === "eth0").mac).ip).toBe(address.split("/")[0]);
    const del = runPlugin("bridge", { dir: OURS, hostNetns: net!.ns.name, env: runtimeEnv("DEL", ctr.path, { id: "brpod" }), stdin: c });
    expectSilentSuccess(del);
    expect(leaseFiles(daemon!)).toEqual([]);
  });
});

describe.skipIf(skip)("the daemon's life", () => {
  test("a restart keeps the lease: the new daemon resumes renewing, answers CHECK and ADD from it, releases on DEL", () => {
    using d1 = startDaemon(host!, dir!.path, ["-timeout", "1s"], "restart1");
    using ctr = tempNetns(`${TAG}-ctr`);
    const { mac } = net!.attach(ctr);
    const c = { ...conf("1.1.0", d1), ipam: { type: "dhcp", daemonSocketPath: d1.socket } };
    const add = call("ADD", ctr, c, { id: "rs" });
    expect(add.exitCode).toBe(0);
    applyAddress(ctr, add);
    const discovers = logCount(net!, "DHCPDISCOVER", mac);

    d1.proc.stop("SIGTERM");
    expect(existsSync(d1.socket)).toBe(false); // removed on a clean exit
    expect(leaseFiles(d1)).toHaveLength(1); // but the lease is kept
    const acks = logCount(net!, "DHCPACK", mac);

    using d2 = startDaemon(host!, dir!.path, ["-timeout", "1s", "-leasedir", d1.leaseDir, "-socketpath", d1.socket], "restart2");
    expect(d2.log()).toContain("rs/dhcpnet/eth0: resuming lease");
    waitFor(() => logCount(net!, "DHCPACK", mac) > acks, "a renewal by the new daemon", 10_000);
    expectSilentSuccess(call("CHECK", ctr, { ...c, prevResult: add.json }, { id: "rs" }));
    const again = call("ADD", ctr, c, { id: "rs" });
    expect([again.exitCode, again.stdout]).toEqual([0, add.stdout]);
    expect(logCount(net!, "DHCPDISCOVER", mac)).toBe(discovers);

    // Killed outright, it leaves its socket file; the next daemon replaces it and still has the lease.
    d2.proc.stop("SIGKILL");
    expect(existsSync(d1.socket)).toBe(true);
    using d3 = startDaemon(host!, dir!.path, ["-timeout", "1s", "-leasedir", d1.leaseDir, "-socketpath", d1.socket], "restart3");
    expect(d3.log()).toContain("rs/dhcpnet/eth0: resuming lease");
    expectSilentSuccess(call("DEL", ctr, c, { id: "rs" }));
    waitFor(() => logCount(net!, "DHCPRELEASE", mac) === 1, "the release");
    expect(leaseFiles(d1)).toEqual([]);
  }, 40000);

  test("pidfile written and removed; a second daemon on a live socket, a relative pidfile and bad flags fail", () => {
    using d = startDaemon(host!, dir!.path, ["-timeout", "1s", "-pidfile", `${dir!.path}/dhcp.pid`], "pid");
    expect(readFileSync(`${dir!.path}/dhcp.pid`, "utf8")).toMatch(/^\d+$/);
    const run = (args: string[]) => {
      const p = Bun.spawnSync(["timeout", "-s", "KILL", "20", `${OURS}/dhcp`, "daemon", ...args], { stderr: "pipe", stdout: "pipe" });
      return [p.exitCode, p.stderr.toString().split("\n")[0]];
    };
    expect(run(["-socketpath", d.socket, "-leasedir", `${dir!.path}/other`])).toEqual([1, `Error getting listener: listen unix ${d.socket}: bind: address already in use (another dhcp daemon is serving it)`]);
    expect(run(["-pidfile", "rel.pid"])).toEqual([1, 'Error writing pidfile "rel.pid": path not absolute']);
    expect(run(["-nope"])).toEqual([2, "flag provided but not defined: -nope"]);
    expect(run(["-timeout", "ten"])).toEqual([2, 'invalid value "ten" for flag -timeout: parse error']);
    d.proc.stop("SIGTERM");
    expect(existsSync(`${dir!.path}/dhcp.pid`)).toBe(false);
  });

  test("-hostprefix goes in front of the socket, the lease directory and every netns path", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const { mac } = net!.attach(ctr);
    const root = `${dir!.path}/hostroot`;
    // The host's /run/netns as a containerised daemon would see it under its host prefix.
    mkdirSync(`${root}/run/netns`, { recursive: true });
    writeFileSync(`${root}${ctr.path}`, "");
    expect(Bun.spawnSync(["mount", "--bind", ctr.path, `${root}${ctr.path}`]).exitCode).toBe(0);
    try {
      using d = startDaemon(host!, dir!.path, ["-timeout", "1s", "-hostprefix", root, "-socketpath", "/prefixed.sock", "-leasedir", "/leases"], "prefixed");
      const c = { cniVersion: "1.1.0", name: NET, type: "bridge", ipam: { type: "dhcp", daemonSocketPath: `${root}/prefixed.sock` } };
      const add = call("ADD", ctr, c, { id: "pfx" });
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(add.json.ips[0].address).toBe(`${leaseOf(net!, mac).ip}/24`);
      expect(readdirSync(`${root}/leases`)).toHaveLength(1);
      expect(d.log()).toContain(`leases in ${root}/leases`);
      expectSilentSuccess(call("DEL", ctr, c, { id: "pfx" }));
      waitFor(() => logCount(net!, "DHCPRELEASE", mac) === 1, "the release");
    } finally {
      Bun.spawnSync(["umount", `${root}${ctr.path}`]);
    }
  }, 30_000);

  test.skipIf(!Bun.which("systemd-socket-activate"))("systemd socket activation: the daemon serves the socket it is given (LISTEN_FDS)", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    net!.attach(ctr);
    const socket = `${dir!.path}/activated.sock`;
    const log = `${dir!.path}/activated.log`;
    // systemd-socket-activate listens and starts the daemon on the first connection, as systemd's cni-dhcp.socket does.
    using p = startProcess(host, ["systemd-socket-activate", "-l", socket, `${OURS}/dhcp`, "daemon", "-timeout", "1s", "-leasedir", `${dir!.path}/activated-leases`, "-socketpath", "/nonexistent/unused.sock"], log);
    waitFor(() => existsSync(socket), "the activation socket");
    const c = { cniVersion: "1.1.0", name: NET, type: "bridge", ipam: { type: "dhcp", daemonSocketPath: socket } };
    expectSilentSuccess(call("STATUS", ctr, c));
    const add = call("ADD", ctr, c, { id: "act" });
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(readFileSync(log, "utf8")).toContain("dhcp daemon listening on fd 3 (socket activation)");
    expectSilentSuccess(call("DEL", ctr, c, { id: "act" }));
    p.stop("SIGTERM");
  });
});

describe.skipIf(skip)("bad input and an unreachable daemon: exit 1, one clear error, nothing held", () => {
  test("no daemon on the socket: ADD, CHECK and DEL fail with the dial error, STATUS with code 50", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const missing = `${dir!.path}/missing.sock`;
    const c = { cniVersion: "1.1.0", name: NET, type: "bridge", ipam: { type: "dhcp", daemonSocketPath: missing } };
    const msg = `error dialing DHCP daemon: dial unix ${missing}: connect: no such file or directory`;
    for (const verb of ["ADD", "CHECK", "DEL"]) {
      const r = call(verb, ctr, verb === "CHECK" ? { ...c, prevResult: { cniVersion: "1.1.0" } } : c);
      expect({ verb, exitCode: r.exitCode, json: r.json }).toEqual({ verb, exitCode: 1, json: { code: 999, msg } });
    }
    const st = call("STATUS", ctr, c);
    expect([st.exitCode, st.json]).toEqual([1, { code: 50, msg }]);
    expectSilentSuccess(call("STATUS", ctr, conf("1.1.0")));
  });

  test("config errors name the field; option errors come back from the daemon; nothing is leased", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    const { mac } = net!.attach(ctr);
    const bad = (stdin: object, o: CallOptions = {}) => {
      const r = call("ADD", ctr, stdin, { id: "bad", ...o });
      return [r.exitCode, r.json];
    };
    expect(bad({ cniVersion: "1.1.0", name: NET, type: "bridge" })).toEqual([1, { code: 999, msg: "IPAM config missing 'ipam' key" }]);
    expect(bad(conf("1.1.0", daemon, { daemonSocketPath: 7 }))).toEqual([1, {
      code: 999,
      msg: "error obtaining socketPath: error parsing socket path conf: json: cannot unmarshal number into Go struct field IPAMConfig.ipam.daemonSocketPath of type string",
    }]);
    expect(bad(conf("1.1.0", daemon, { provide: [{ option: "hostname", value: "x" }] }))).toEqual([1, {
      code: 999,
      msg: 'error calling DHCP.Allocate: Can not parse option "hostname": Can not parse option: strconv.ParseUint: parsing "hostname": invalid syntax',
    }]);
    expect(bad(conf("1.1.0", daemon, { request: [{ option: "300" }] }))).toEqual([1, {
      code: 999,
      msg: 'error calling DHCP.Allocate: Can not parse option "300": Can not parse option: strconv.ParseUint: parsing "300": value out of range',
    }]);
    expect(bad(conf("1.1.0"), { ifname: "nope0" })).toEqual([1, { code: 999, msg: 'error calling DHCP.Allocate: error looking up "nope0": link "nope0" not found' }]);
    const gone = call("ADD", { ...ctr, path: `${ctr.path}-missing` } as TempNetns, conf("1.1.0"), { id: "bad" });
    expect([gone.exitCode, gone.json]).toEqual([1, { code: 999, msg: `error calling DHCP.Allocate: failed to open netns "${ctr.path}-missing": failed to Statfs "${ctr.path}-missing": no such file or directory` }]);
    const gate = call("STATUS", ctr, conf("1.0.0"));
    expect([gate.exitCode, gate.json]).toEqual([1, { code: 1, msg: "config version does not allow STATUS" }]);
    expect(logCount(net!, "DHCPDISCOVER", mac)).toBe(0);
    expect(leaseFiles(daemon!)).toEqual([]);
  });

  test("no server answering: ADD gives up after -resendtimeout with the reason, and holds nothing", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using lonely = tempNetns(`${TAG}-net`);
    ipIn(lonely, ["link", "add", "lonely0", "type", "veth", "peer", "name", "eth0", "netns", ctr.name]);
    const started = Date.now();
    const r = call("ADD", ctr, conf("1.1.0"), { id: "lonely" });
    expect(r.exitCode).toBe(1);
    // -timeout 1s: sent at 0, 1 and 3 s, so the 4 s deadline ends the third wait.
    expect(r.json.msg).toBe("error calling DHCP.Allocate: no more tries: unable to receive an offer: got an error while the discovery request: context deadline exceeded");
    expect(Date.now() - started).toBeLessThan(10_000); // -resendtimeout 4s
    expect(leaseFiles(daemon!)).toEqual([]);
    expectSilentSuccess(call("DEL", ctr, conf("1.1.0"), { id: "lonely" }));
  }, 30000);
});
