// vlan with host-local IPAM, both ours (CNI_PATH = our bin/), run as a runtime runs them (env + stdin) inside a
// throwaway host netns (with a veth as the "host NIC" master) and a throwaway container netns (SPEC-DIGEST §1.5).
//
// Where the kernel makes VLANs: for every spec version the result text, the VLAN read back with `ip -j -d` (id,
// 802.1Q, lower device, MTU, up, address), CHECK, DEL, DEL again; MTU explicit and inherited; linkInContainer; a
// name clash and a failed route rolled back; a ping between two containers over VLAN 100.
// Where it does not (the build machines lack 8021q), those tests skip with the kernel's own refusal, and
// test/kernel-vm/cases/vlan.sh covers them in a full kernel; instead, for every version, ADD must fail with the
// kernel's words and leave nothing, and DEL, DEL again succeed.
// Everywhere: every bad input (vlanId 5000 and -1, MTU above the master's, negative MTU, no master, a master that
// does not exist, wrong types) fails with its code and text and leaves nothing; DEL with the master gone, the netns
// gone or an empty CNI_NETNS frees the reservation; CHECK's complaints; STATUS is host-local's.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { cniEnv, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { snapshotDir, sweepTempDirs, tempDir } from "../support/temp-dir.ts";
import { hostLocalConf, lastReserved, printed, reservation, storeWith, type Ip } from "../support/host-local.ts";
import { addrsOf, ipIn } from "../support/ptp.ts";
import { linkKindSupport } from "../support/link-kind.ts";
import { ifindexOf, linkDetail, oneLinkResult, sortedLinkNames } from "../support/one-link.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "vlani"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-vlani-`
const missing = [
  ...["ip"].filter((t) => Bun.which(t) === null),
  ...["vlan", "host-local"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`vlan integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);
const kernel = skip ? { ok: false, reason: "needs root" } : linkKindSupport("vlan");
/** Appended to the name of every test that needs the kernel to make VLANs, so a skip says why and where it is covered. */
const NEEDS_VLAN = kernel.ok ? "" : ` (skipped: ${kernel.reason}; covered in the kernel VM case test/kernel-vm/cases/vlan.sh)`;

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

const A4: Ip = { address: "10.1.2.2/24", gateway: "10.1.2.1" };
const B4: Ip = { address: "10.1.2.3/24", gateway: "10.1.2.1" };
const bare = (ip: Ip) => ip.address.split("/")[0]!;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** A vlan network config (network NET) on master m0, VLAN 100, with host-local on dataDir. */
function conf(version: string, dataDir: string, top: object = {}, ipam: object = {}): Record<string, unknown> {
  return hostLocalConf(version, dataDir, ipam, { type: "vlan", master: "m0", vlanId: 100, ...top });
}

/** A throwaway host netns whose "NIC" is the veth m0 (peer m0p, both up, MTU mtu), and a container netns. */
interface World {
  host: TempNetns;
  ctr: TempNetns;
  [Symbol.dispose](): void;
}
function world(mtu = 1500): World {
  const host = tempNetns(`${TAG}-host`);
  const ctr = tempNetns(`${TAG}-ctr`);
  ipIn(host, ["link", "add", "m0", "mtu", String(mtu), "type", "veth", "peer", "name", "m0p", "mtu", String(mtu)]);
  ipIn(host, ["link", "set", "m0", "up"]);
  ipIn(host, ["link", "set", "m0p", "up"]);
  return {
    host, ctr,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
    },
  };
}

/** Runs our vlan once with a runtime's env inside the host netns. */
function vlan(verb: string, w: World, stdin: object | string, opts: { netns?: string; id?: string; ifname?: string } = {}): Run {
  const env = cniEnv(verb, opts.netns ?? w.ctr.path, opts.ifname ?? "eth0", opts.id ?? "ctr1");
  return runPlugin("vlan", { hostNetns: w.host.name, env, stdin });
}

/** Runs our host-local ADD as vlan would, so DEL and CHECK have a reservation to find without a VLAN. */
function reserve(w: World, c: object, id = "ctr1"): void {
  const r = runPlugin("host-local", { hostNetns: w.host.name, env: cniEnv("ADD", w.ctr.path, "eth0", id), stdin: c });
  expect([r.exitCode, r.stderr]).toEqual([0, ""]);
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

/** Checks a failure: exit 1, exactly one error object on stdout with this code and msg (a RegExp matches msg). */
function expectError(r: Run, want: { code: number; msg: string | RegExp }): void {
  const msg = typeof want.msg === "string" ? want.msg : expect.stringMatching(want.msg);
  expect([r.exitCode, r.json]).toEqual([1, { code: want.code, msg }]);
  expect(r.stdout).toBe(JSON.stringify(r.json, null, 4));
}

/** Checks that the attachment left nothing: the host has only its master pair, the container only lo. */
function expectNothingLeft(w: World): void {
  expect(sortedLinkNames(w.host)).toEqual(["lo", "m0", "m0p"]);
  expect(sortedLinkNames(w.ctr)).toEqual(["lo"]);
}

const storeHolding = (id: string, ip: Ip) => storeWith({ [bare(ip)]: reservation(id), "last_reserved_ip.0": lastReserved(bare(ip)) });
const storeFreed = (ip: Ip) => storeWith({ "last_reserved_ip.0": lastReserved(bare(ip)) });

/** Runs ADD and checks its stdout byte for byte (the MAC matched by pattern); returns the parsed result. */
function expectAdd(version: string, w: World, c: object, ip: Ip, opts: { ctr?: TempNetns; id?: string } = {}): any {
  const ctr = opts.ctr ?? w.ctr;
  const add = vlan("ADD", w, c, { netns: ctr.path, id: opts.id });
  expect(add.stderr).toBe("");
  expect(add.exitCode).toBe(0);
  const mac = linkDetail(ctr, "eth0")?.mac ?? "";
  expect(mac).toMatch(MAC);
  expect(add.stdout).toBe(printed(oneLinkResult(version, { name: "eth0", mac, sandbox: ctr.path }, [ip])));
  return add.json;
}

describe.skipIf(skip)("vlan", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    test.skipIf(!kernel.ok)(`ADD makes eth0 an 802.1Q VLAN 100 on m0 with host-local's address; CHECK; DEL and DEL again leave nothing${NEEDS_VLAN}`, () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf(version, data.path);
      const result = expectAdd(version, w, c, A4);
      expect(linkDetail(w.ctr, "eth0")).toEqual({
        ifname: "eth0", kind: "vlan", mac: linkDetail(w.host, "m0")!.mac, mtu: 1500, up: true,
        vlanId: 100, vlanProtocol: "802.1Q", lowerIndex: ifindexOf(w.host, "m0"),
      });
      expect(sortedLinkNames(w.ctr)).toEqual(["eth0", "lo"]); // no temporary veth<hex> name left over
      expect(addrsOf(w.ctr, "eth0")).toEqual([{ family: "inet", local: bare(A4), prefixlen: 24 }]);
      expect(snapshotDir(data.path)).toEqual(storeHolding("ctr1", A4));

      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: result } : c;
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(vlan("CHECK", w, withPrev));
      expectSilentSuccess(vlan("DEL", w, withPrev));
      expectNothingLeft(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
      expectSilentSuccess(vlan("DEL", w, withPrev));
      expectNothingLeft(w);
    });

    test.skipIf(kernel.ok)(`ADD where the kernel lacks 8021q: its words (EOPNOTSUPP), nothing left, no reservation; DEL and DEL again succeed`, () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf(version, data.path);
      expectError(vlan("ADD", w, c), { code: 999, msg: /^failed to create vlan: RTM_NEWLINK: Operation not supported: Unknown device type/ });
      expectNothingLeft(w);
      expect(snapshotDir(data.path)).toEqual({}); // the VLAN comes before IPAM (upstream's order)
      expectSilentSuccess(vlan("DEL", w, c));
      expectSilentSuccess(vlan("DEL", w, c));
      expectNothingLeft(w);
    });
  });

  describe("MTU", () => {
    test.skipIf(!kernel.ok)(`mtu 1400 is set on the VLAN (CHECK compares it); without mtu it inherits the master's 9000${NEEDS_VLAN}`, () => {
      using w = world(9000);
      using data = tempDir(`${TAG}-data`);
      const explicit = conf("1.1.0", data.path, { mtu: 1400 });
      const result = expectAdd("1.1.0", w, explicit, A4);
      expect(linkDetail(w.ctr, "eth0")!.mtu).toBe(1400);
      expectSilentSuccess(vlan("CHECK", w, { ...explicit, prevResult: result }));
      expectError(vlan("CHECK", w, { ...explicit, mtu: 1300, prevResult: result }), {
        code: 999, msg: "Error: Tuning configured MTU of eth0 is 1300, current value is 1400", // upstream text
      });
      expectSilentSuccess(vlan("DEL", w, explicit));

      const inherited = conf("1.1.0", data.path);
      expectAdd("1.1.0", w, inherited, B4); // host-local goes round robin
      expect(linkDetail(w.ctr, "eth0")!.mtu).toBe(9000);
      expectSilentSuccess(vlan("DEL", w, inherited));
      expectNothingLeft(w);
    });
  });

  test.skipIf(!kernel.ok)(`linkInContainer: the master is a veth inside the container; the VLAN is made there on it${NEEDS_VLAN}`, () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    ipIn(w.ctr, ["link", "add", "cm0", "type", "veth", "peer", "name", "cm0p"]);
    ipIn(w.ctr, ["link", "set", "cm0", "up"]);
    ipIn(w.ctr, ["link", "set", "cm0p", "up"]);
    const c = conf("1.1.0", data.path, { master: "cm0", vlanId: 300, linkInContainer: true });
    const result = expectAdd("1.1.0", w, c, A4);
    expect(linkDetail(w.ctr, "eth0")).toMatchObject({ kind: "vlan", vlanId: 300, lower: "cm0" });
    expectSilentSuccess(vlan("CHECK", w, { ...c, prevResult: result }));
    expectSilentSuccess(vlan("DEL", w, c));
    expect(sortedLinkNames(w.ctr)).toEqual(["cm0", "cm0p", "lo"]);
    expect(sortedLinkNames(w.host)).toEqual(["lo", "m0", "m0p"]);
  });

  describe("a failed ADD undoes what it did", () => {
    test.skipIf(!kernel.ok)(`eth0 already exists in the container: the rename fails, the VLAN is removed, eth0 untouched${NEEDS_VLAN}`, () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      ipIn(w.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      const before = sortedLinkNames(w.ctr);
      expectError(vlan("ADD", w, conf("1.1.0", data.path)), { code: 999, msg: /^failed to rename vlan to "eth0": RTM_NEWLINK: File exists/ });
      expect(sortedLinkNames(w.ctr)).toEqual(before);
      expect(linkDetail(w.ctr, "eth0")!.kind).toBe("veth");
      expect(snapshotDir(data.path)).toEqual({});
    });

    test.skipIf(!kernel.ok)(`a route IPAM asks for cannot be added: the VLAN and the reservation are removed (upstream leaves the VLAN)${NEEDS_VLAN}`, () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, {}, { routes: [{ dst: "10.9.0.0/16", gw: "10.99.0.1" }] });
      expectError(vlan("ADD", w, c), { code: 999, msg: /^failed to add route '10\.9\.0\.0\/16 via 10\.99\.0\.1 dev eth0': / });
      expectNothingLeft(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
    });
  });

  test.skipIf(!kernel.ok || Bun.which("ping") === null)(`two containers on VLAN 100 over the veth pair m0/m0p ping each other (skipped without ping)${NEEDS_VLAN}`, () => {
    using w = world();
    using b = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    expectAdd("1.1.0", w, conf("1.1.0", data.path), A4, { id: "a" });
    expectAdd("1.1.0", w, conf("1.1.0", data.path, { master: "m0p" }), B4, { ctr: b, id: "b" });
    const ping = (from: string, to: string) =>
      Bun.spawnSync(["ip", "netns", "exec", from, "ping", "-c1", "-W2", to], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
    expect([ping(w.ctr.name, bare(B4)), ping(b.name, bare(A4))]).toEqual([true, true]);
  });

  describe("bad input: exit 1, one error object with the right code and text, nothing left", () => {
    type Case = { stdin: (dataDir: string) => object; want: { code: number; msg: string | RegExp }; verb?: string; netns?: string };
    const cases: Record<string, Case> = {
      "vlanId 5000": { stdin: (d) => conf("1.1.0", d, { vlanId: 5000 }), want: { code: 7, msg: "invalid VLAN ID 5000 (must be between 0 and 4095 inclusive)" } },
      "vlanId 4095 (reserved)": { stdin: (d) => conf("1.1.0", d, { vlanId: 4095 }), want: { code: 7, msg: "invalid VLAN ID 4095 (must be between 0 and 4095 inclusive)" } },
      "a negative vlanId": { stdin: (d) => conf("1.1.0", d, { vlanId: -1 }), want: { code: 7, msg: "invalid VLAN ID -1 (must be between 0 and 4095 inclusive)" } },
      "mtu above the master's": { stdin: (d) => conf("1.1.0", d, { mtu: 1501 }), want: { code: 7, msg: "invalid MTU 1501, must be [0, master MTU(1500)]" } },
      "a negative mtu": { stdin: (d) => conf("1.1.0", d, { mtu: -1 }), want: { code: 7, msg: "invalid MTU -1, must be [0, master MTU(1500)]" } },
      "no master": {
        stdin: (d) => ({ ...conf("1.1.0", d), master: undefined }),
        want: { code: 7, msg: '"master" field is required. It specifies the host interface name to create the VLAN for' },
      },
      "a master that does not exist": {
        stdin: (d) => conf("1.1.0", d, { master: "nosuch0" }),
        want: { code: 7, msg: 'failed to lookup master "nosuch0" in the host netns: link "nosuch0" not found' },
      },
      "linkInContainer with the master only on the host": {
        stdin: (d) => conf("1.1.0", d, { linkInContainer: true }),
        want: { code: 7, msg: 'failed to lookup master "m0" in the container netns: link "m0" not found' },
      },
      "vlanId of the wrong type": {
        stdin: (d) => conf("1.1.0", d, { vlanId: "100" }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.vlanId of type int" },
      },
      "mtu of the wrong type": {
        stdin: (d) => conf("1.1.0", d, { mtu: 1400.5 }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal number 1400.5 into Go struct field NetConf.mtu of type int" },
      },
      "a netns that does not exist": {
        stdin: (d) => conf("1.1.0", d),
        netns: "/run/netns/cnit-no-such-netns",
        want: { code: 999, msg: 'failed to open netns "/run/netns/cnit-no-such-netns": failed to Statfs "/run/netns/cnit-no-such-netns": no such file or directory' },
      },
      "DEL without a master": {
        verb: "DEL",
        stdin: (d) => ({ ...conf("1.1.0", d), master: "" }),
        want: { code: 7, msg: '"master" field is required. It specifies the host interface name to create the VLAN for' },
      },
      "STATUS without ipam": {
        verb: "STATUS",
        stdin: (d) => ({ ...conf("1.1.0", d), ipam: undefined }),
        want: { code: 999, msg: 'no plugin name provided: the config has no "ipam" with a "type"' },
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const env = c.verb === "STATUS" ? { CNI_COMMAND: "STATUS" } : cniEnv(c.verb ?? "ADD", c.netns ?? w.ctr.path);
      expectError(runPlugin("vlan", { hostNetns: w.host.name, env, stdin: c.stdin(data.path) }), c.want);
      expectNothingLeft(w);
      expect(snapshotDir(data.path)).toEqual({});
    });
  });

  describe("DEL is idempotent and frees the reservation whatever is already gone", () => {
    test.each([
      ["the master is gone (upstream fails here: it reloads the config and looks the master up)", "master"],
      ["the netns is gone", "netns"],
      ["CNI_NETNS is empty (containerd)", "empty"],
      ["nothing was ever made in the container", "none"],
    ])("%s", (_label, gone) => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path, { mtu: 1400, linkInContainer: gone === "netns" });
      reserve(w, c);
      expect(snapshotDir(data.path)).toEqual(storeHolding("ctr1", A4));
      if (gone === "master") ipIn(w.host, ["link", "del", "m0"]);
      const netns = gone === "netns" ? `${w.ctr.path}-gone` : gone === "empty" ? "" : w.ctr.path;
      expectSilentSuccess(vlan("DEL", w, c, { netns }));
      expect(snapshotDir(data.path)).toEqual(storeFreed(A4));
      expectSilentSuccess(vlan("DEL", w, c, { netns }));
      expect(sortedLinkNames(w.ctr)).toEqual(["lo"]);
    });
  });

  describe("CHECK", () => {
    /** A prevResult as our ADD would have printed it, for an eth0 made by hand. */
    const prev = (sandbox: string, mac: string) => ({
      cniVersion: "1.1.0",
      interfaces: [{ name: "eth0", mac, sandbox }],
      ips: [{ address: A4.address, gateway: A4.gateway, interface: 0 }],
    });

    test("without prevResult: upstream's complaint, after IPAM's CHECK found the reservation", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      reserve(w, c);
      expectError(vlan("CHECK", w, c), { code: 999, msg: "vlan: Required prevResult missing" });
    });

    test("nothing allocated: host-local's complaint comes first (upstream's order)", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      expectError(vlan("CHECK", w, conf("1.1.0", data.path)), { code: 999, msg: "host-local: Failed to find address added by container ctr1" });
    });

    test("prevResult for another netns, a missing master, or an eth0 that is no VLAN: each says so", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      reserve(w, c);
      ipIn(w.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      ipIn(w.ctr, ["addr", "add", A4.address, "dev", "eth0"]);
      const mac = linkDetail(w.ctr, "eth0")!.mac;
      expectError(vlan("CHECK", w, { ...c, prevResult: prev("/run/netns/elsewhere", mac) }), {
        code: 999, msg: `Sandbox in prevResult  doesn't match configured netns: ${w.ctr.path}`, // upstream text
      });
      expectError(vlan("CHECK", w, { ...c, master: "nosuch0", prevResult: prev(w.ctr.path, mac) }), {
        code: 999, msg: /^failed to lookup master "nosuch0": /,
      });
      expectError(vlan("CHECK", w, { ...c, prevResult: prev(w.ctr.path, mac) }), { code: 999, msg: "Error: Container interface eth0 not of type vlan" });
      const before = { host: sortedLinkNames(w.host), ctr: sortedLinkNames(w.ctr), store: snapshotDir(data.path) };
      expect(before).toEqual({ host: ["lo", "m0", "m0p"], ctr: ["eth0", "lo", "x0"], store: storeHolding("ctr1", A4) });
    });

    test.skipIf(!kernel.ok)(`a VLAN with another id than the config's: says both ids (upstream's text talks of promisc)${NEEDS_VLAN}`, () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      const result = expectAdd("1.1.0", w, c, A4);
      expectError(vlan("CHECK", w, { ...c, vlanId: 101, prevResult: result }), { code: 999, msg: "vlan: Interface eth0 VLAN ID 101 doesn't match container VLAN ID: 100" });
    });
  });

  describe("STATUS (1.1.0) is host-local's", () => {
    test("a writable dataDir: success, nothing printed (the master is not looked at, as upstream)", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      expectSilentSuccess(runPlugin("vlan", { hostNetns: w.host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", data.path, { master: "nosuch0" }) }));
    });

    test("a dataDir under a regular file: code 50 from host-local", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      writeFileSync(`${data.path}/file`, "");
      const r = runPlugin("vlan", { hostNetns: w.host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", `${data.path}/file/sub`) });
      expect([r.exitCode, r.json?.code]).toEqual([1, 50]);
    });
  });
});
