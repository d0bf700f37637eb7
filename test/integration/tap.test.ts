// tap, ours, run as a runtime runs it (env + stdin) inside a throwaway host netns with a throwaway container netns,
// with our host-local as IPAM where a test gives it a dataDir. For every spec version: the result text, the tap read
// back with `ip -j -d link` inside the container netns (tun type tap, pi, vnet_hdr, multi_queue, persist, owner,
// group, MTU, MAC, up), its address, CHECK, DEL, DEL again; layer 2 only. Then the device flags of each of
// upstream's creation paths, a bridge inside the container netns, the MAC's sources, selinuxContext on this
// machine without SELinux and the labelled-helper mechanism, the DELs a runtime sends after the container is gone,
// STATUS, CHECK failures, rollback after a failed ADD, and bad input (SPEC-DIGEST §1.9).
//
// No conformance test: Debian 12's containernetworking-plugins (v1.1.1) ships no tap plugin, so there is no Go
// binary in /usr/lib/cni to compare with; the upstream behaviour these tests pin comes from v1.9.1's tap.go.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { ALL_VERSIONS, type DNS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { withNetns } from "../../pkg/ns/netns.ts";
import { createTapLabelled, isSelinuxEnabled } from "../../plugins/tap/selinux.ts";
import { addrsOf, ipIn, MAC, routesIn, sysctlIn } from "../support/bridge.ts";
import { lastReserved, printed, reservation, storeWith, type Ip } from "../support/host-local.ts";
import { canUseNetns, ipJson, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { cniEnv, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { iptoolTun, netlinkTun, tapConf, tapIn, tapResult } from "../support/tap.ts";
import { snapshotDir, sweepTempDirs, tempDir } from "../support/temp-dir.ts";

const TAG = "tapi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-tapi-`
const missing = [
  ...(Bun.which("ip") === null ? ["ip"] : []),
  ...(existsSync("/dev/net/tun") ? [] : ["/dev/net/tun"]),
  ...["tap", "host-local", "cni-plugins"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`tap integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

// IDs without passwd/group entries, so `ip -d` prints them as numbers.
const OWNER = 424242;
const GROUP = 434343;
const A4: Ip = { address: "10.1.2.2/24", gateway: "10.1.2.1" };
const BR = "br0";

/** Runs our tap once with a runtime's env inside the host netns. */
function tap(verb: string, host: TempNetns, netns: string, stdin: object | string, env: Record<string, string> = {}): Run {
  return runPlugin("tap", { hostNetns: host.name, env: { ...cniEnv(verb, netns, "eth0", "ctr1"), ...env }, stdin });
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

function expectError(r: Run, want: { code: number; msg: string | RegExp }): void {
  expect([r.exitCode, r.json]).toEqual([1, { code: want.code, msg: typeof want.msg === "string" ? want.msg : expect.stringMatching(want.msg) }]);
  expect(r.stdout).toBe(JSON.stringify(r.json, null, 4)); // exactly one object
}

/** Returns the names of every link of the netns. */
function linkNames(ns: TempNetns): string[] {
  return (ipJson(ns, ["link", "show"]) as any[]).map((l) => l.ifname);
}

/**
 * Runs ADD and checks its stdout byte for byte against the version's shape (the kernel's random MAC matched by
 * pattern, or `mac` when the config sets one). Returns the tap's MAC and the parsed result (later prevResult).
 */
function expectAdd(version: string, host: TempNetns, ctr: TempNetns, c: object, ips: Ip[], env: Record<string, string> = {}, mac?: string, dns: DNS = {}) {
  const add = tap("ADD", host, ctr.path, c, env);
  expect(add.stderr).toBe("");
  expect(add.exitCode).toBe(0);
  const actualMac = tapIn(ctr, "eth0")?.mac ?? "";
  expect(actualMac).toMatch(mac ?? MAC);
  expect(add.stdout).toBe(printed(tapResult(version, { mac: actualMac, sandbox: ctr.path }, ips, [], dns)));
  return { mac: actualMac, result: add.json };
}

/** The store after ADD of A4, and after DEL (the round-robin bookmark stays, as upstream's does). */
const STORE_HOLDING = storeWith({ "10.1.2.2": reservation("ctr1"), "last_reserved_ip.0": lastReserved("10.1.2.2") });
const STORE_FREED = storeWith({ "last_reserved_ip.0": lastReserved("10.1.2.2") });

describe.skipIf(skip)("tap", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    const withCheck = versionAtLeast(version, "0.4.0");

    test("ADD with host-local: a tap in the container netns, addressed and up; CHECK; DEL and DEL again leave nothing", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const c = tapConf(version, {}, data.path);
      if (versionAtLeast(version, "1.1.0")) expectSilentSuccess(tap("STATUS", host, ctr.path, c));

      const { mac, result } = expectAdd(version, host, ctr, c, [A4]);
      expect(tapIn(ctr, "eth0")).toEqual({ kind: "tun", tun: iptoolTun(), mac, mtu: 1500, up: true });
      expect(addrsOf(ctr, "eth0")).toEqual([{ family: "inet", local: "10.1.2.2", prefixlen: 24, broadcast: "10.1.2.255" }]);
      // A tap has no carrier until a reader attaches, so the subnet route is there but marked linkdown.
      expect(routesIn(ctr, 4)).toEqual([{ dst: "10.1.2.0/24", dev: "eth0", protocol: "kernel", scope: "link", prefsrc: "10.1.2.2", flags: ["linkdown"] }]);
      expect(sysctlIn(ctr, "net/ipv4/conf/eth0/arp_notify")).toBe("1");
      expect(linkNames(host)).toEqual(["lo"]); // nothing on the host side
      expect(snapshotDir(data.path)).toEqual(STORE_HOLDING);

      const withPrev = withCheck ? { ...c, prevResult: result } : c;
      if (withCheck) expectSilentSuccess(tap("CHECK", host, ctr.path, withPrev));
      expectSilentSuccess(tap("DEL", host, ctr.path, withPrev));
      expect(linkNames(ctr)).toEqual(["lo"]);
      expect(snapshotDir(data.path)).toEqual(STORE_FREED);
      expectSilentSuccess(tap("DEL", host, ctr.path, withPrev));
      expect(linkNames(ctr)).toEqual(["lo"]);
      expect(snapshotDir(data.path)).toEqual(STORE_FREED);
    });

    test("layer 2 only (no IPAM): the tap, up, no address", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const c = tapConf(version);
      if (!versionAtLeast(version, "0.3.0")) {
        // A result without IPs has no 0.1/0.2 form; refused before anything is made (upstream leaves the tap).
        expectError(tap("ADD", host, ctr.path, c), { code: 999, msg: "cannot convert: no valid IP addresses" });
        expect(linkNames(ctr)).toEqual(["lo"]);
      } else {
        const { mac, result } = expectAdd(version, host, ctr, c, []);
        expect(tapIn(ctr, "eth0")).toEqual({ kind: "tun", tun: iptoolTun(), mac, mtu: 1500, up: true });
        expect(addrsOf(ctr, "eth0")).toEqual([]);
        if (withCheck) expectSilentSuccess(tap("CHECK", host, ctr.path, { ...c, prevResult: result }));
      }
      expectSilentSuccess(tap("DEL", host, ctr.path, c));
      expect(linkNames(ctr)).toEqual(["lo"]);
      expectSilentSuccess(tap("DEL", host, ctr.path, c));
    });
  });

  describe("device flags: upstream's two creation paths, matched", () => {
    const cases: [string, object, ReturnType<typeof iptoolTun>][] = [
      ["no owner or group (`ip tuntap add`)", {}, iptoolTun()],
      ["multiQueue (`ip tuntap add … multi_queue`)", { multiQueue: true }, iptoolTun({ multiQueue: true })],
      ["owner only (`ip tuntap add … user N`)", { owner: OWNER }, iptoolTun({ user: OWNER })],
      ["group only (`ip tuntap add … group N`)", { group: GROUP }, iptoolTun({ group: GROUP })],
      ["owner and group (netlink: vnet_hdr, packet info kept)", { owner: OWNER, group: GROUP }, netlinkTun({ user: OWNER, group: GROUP })],
      [
        "owner, group and multiQueue (netlink: vnet_hdr, no packet info)",
        { owner: OWNER, group: GROUP, multiQueue: true },
        netlinkTun({ user: OWNER, group: GROUP, multiQueue: true }),
      ],
      ["owner 0 and group 0 (root, still the netlink path)", { owner: 0, group: 0 }, netlinkTun({ user: 0, group: 0 })],
    ];
    test.each(cases)("%s", (_label, extra, tun) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const c = tapConf("1.1.0", extra);
      const { mac, result } = expectAdd("1.1.0", host, ctr, c, []);
      // ip prints uid/gid 0 as "root".
      const want = { ...tun, ...(tun.user === 0 ? { user: "root" } : {}), ...(tun.group === 0 ? { group: "root" } : {}) };
      expect(tapIn(ctr, "eth0")).toEqual({ kind: "tun", tun: want, mac, mtu: 1500, up: true });
      expectSilentSuccess(tap("CHECK", host, ctr.path, { ...c, prevResult: result }));
      expectSilentSuccess(tap("DEL", host, ctr.path, c));
      expect(linkNames(ctr)).toEqual(["lo"]);
    });

    test("the `ip tuntap add` path makes exactly what iproute2 makes", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      expectAdd("1.1.0", host, ctr, tapConf("1.1.0", { multiQueue: true, owner: OWNER }), []);
      ipIn(ctr, ["tuntap", "add", "mode", "tap", "name", "ref0", "multi_queue", "user", String(OWNER)]);
      expect(tapIn(ctr, "eth0")?.tun).toEqual(tapIn(ctr, "ref0")?.tun);
    });
  });

  test("mtu, mac, dns and a bridge inside the container netns: the tap is a port of it; CHECK; DEL leaves the bridge", () => {
    using host = tempNetns(`${TAG}-host`);
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    ipIn(ctr, ["link", "add", BR, "type", "bridge"]);
    const mac = "02:00:00:12:34:56";
    // Upper case and dashes: normalised as Go's net.ParseMAC reads them.
    const dns = { nameservers: ["10.0.0.53"], search: ["tap.test"] }; // the config's dns is the result's
    const c = tapConf("1.1.0", { mtu: 9000, mac: "02-00-00-12-34-56".toUpperCase(), bridge: BR, owner: OWNER, group: GROUP, multiQueue: true, dns }, data.path);
    const { result } = expectAdd("1.1.0", host, ctr, c, [A4], {}, mac, dns);
    expect(tapIn(ctr, "eth0")).toEqual({
      kind: "tun", tun: netlinkTun({ user: OWNER, group: GROUP, multiQueue: true }), mac, mtu: 9000, up: true, master: BR,
    });
    expect(addrsOf(ctr, "eth0")).toEqual([{ family: "inet", local: "10.1.2.2", prefixlen: 24, broadcast: "10.1.2.255" }]);
    expectSilentSuccess(tap("CHECK", host, ctr.path, { ...c, prevResult: result }));

    // CHECK notices the tap leaving the bridge.
    ipIn(ctr, ["link", "set", "eth0", "nomaster"]);
    expectError(tap("CHECK", host, ctr.path, { ...c, prevResult: result }), { code: 999, msg: `tap: Interface eth0 is not a port of bridge ${BR}` });

    expectSilentSuccess(tap("DEL", host, ctr.path, c));
    expect(linkNames(ctr)).toEqual(["lo", BR]);
    expect(snapshotDir(data.path)).toEqual(STORE_FREED);
    expectSilentSuccess(tap("DEL", host, ctr.path, c));
  });

  test("the MAC's sources: CNI_ARGS MAC over `mac`, runtimeConfig.mac over both", () => {
    using host = tempNetns(`${TAG}-host`);
    using ctr = tempNetns(`${TAG}-ctr`);
    const sources: [object, Record<string, string>, string][] = [
      [{ mac: "02:00:00:00:00:01" }, { CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=p;MAC=02:00:00:00:00:02" }, "02:00:00:00:00:02"],
      [{ mac: "02:00:00:00:00:01", runtimeConfig: { mac: "02:00:00:00:00:03" } }, { CNI_ARGS: "MAC=02:00:00:00:00:02" }, "02:00:00:00:00:03"],
    ];
    for (const [extra, env, mac] of sources) {
      const c = tapConf("1.1.0", extra);
      expectAdd("1.1.0", host, ctr, c, [], env, mac);
      expectSilentSuccess(tap("DEL", host, ctr.path, c, env));
    }
  });

  test("dual stack with default routes: both addresses and routes on the tap (IPv6 stays tentative: no carrier), CHECK, DEL", () => {
    using host = tempNetns(`${TAG}-host`);
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const routes = [{ dst: "0.0.0.0/0" }, { dst: "::/0" }];
    const c = tapConf("1.1.0", {}, data.path, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]], routes });
    // With an IPv6 gateway the address is given up to 5 s to leave DAD; a tap without a reader has no carrier, so
    // it never does, and that is no error while the link is not operationally up (upstream's ConfigureIface too).
    const add = tap("ADD", host, ctr.path, c);
    expect(add.exitCode).toBe(0);
    const mac = tapIn(ctr, "eth0")!.mac;
    expect(add.stdout).toBe(printed(tapResult("1.1.0", { mac, sandbox: ctr.path }, [A4, { address: "fd00:1::2/64", gateway: "fd00:1::1" }], routes)));
    expect(addrsOf(ctr, "eth0")).toEqual([
      { family: "inet", local: "10.1.2.2", prefixlen: 24, broadcast: "10.1.2.255" },
      { family: "inet6", local: "fd00:1::2", prefixlen: 64 },
    ]);
    expect(routesIn(ctr, 4).find((r) => r.dst === "default")).toEqual({ dst: "default", gateway: "10.1.2.1", dev: "eth0", flags: ["linkdown"] });
    expect(routesIn(ctr, 6).find((r) => r.dst === "default")).toEqual({ dst: "default", gateway: "fd00:1::1", dev: "eth0", metric: 1024, flags: ["linkdown"] });
    expectSilentSuccess(tap("CHECK", host, ctr.path, { ...c, prevResult: add.json }));
    expectSilentSuccess(tap("DEL", host, ctr.path, c));
    expect(linkNames(ctr)).toEqual(["lo"]);
  }, 20_000);

  describe("selinuxContext", () => {
    test.skipIf(isSelinuxEnabled())("without SELinux (this machine) the label is ignored; the tap is made as `ip tuntap` makes it", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      // Upstream picks the `ip tuntap` path for a label even with both ids, so no vnet header and no packet info.
      const c = tapConf("1.1.0", { selinuxContext: "system_u:system_r:container_t:s0:c1,c2", owner: OWNER, group: GROUP });
      const { mac, result } = expectAdd("1.1.0", host, ctr, c, []);
      expect(tapIn(ctr, "eth0")).toEqual({ kind: "tun", tun: iptoolTun({ user: OWNER, group: GROUP }), mac, mtu: 1500, up: true });
      expectSilentSuccess(tap("CHECK", host, ctr.path, { ...c, prevResult: result }));
      expectSilentSuccess(tap("DEL", host, ctr.path, c));
      expect(linkNames(ctr)).toEqual(["lo"]);
    });

    test("the labelled path's helper: our executable, spawned from inside the container netns, makes the tap there", () => {
      using ctr = tempNetns(`${TAG}-ctr`);
      const spec = { name: "veth0badc0de", mode: "tap" as const, multiQueue: true, owner: OWNER };
      const ctx = { exe: `${OURS}/cni-plugins`, containerId: "ctr1", netns: ctr.path, cniPath: OURS };
      // "" skips writing attr/exec (which needs SELinux); the rest is the path an SELinux host takes.
      expect(withNetns(ctr.path, () => createTapLabelled(spec, "", ctx))).toBe(spec.name);
      expect(tapIn(ctr, spec.name)?.tun).toEqual(iptoolTun({ multiQueue: true, user: OWNER }));
      expect(() => withNetns(ctr.path, () => createTapLabelled(spec, "", ctx))).toThrow(
        `failed to create tap: TUNSETIFF "${spec.name}": Device or resource busy (the name is taken)`,
      );
      expect(linkNames(ctr)).toEqual(["lo", spec.name]);
    });

    test.skipIf(isSelinuxEnabled())("without SELinux the label cannot be set at all, which is why upstream fails here", () => {
      using ctr = tempNetns(`${TAG}-ctr`);
      const ctx = { exe: `${OURS}/cni-plugins`, containerId: "ctr1", netns: ctr.path, cniPath: OURS };
      expect(() => withNetns(ctr.path, () => createTapLabelled({ name: "veth0badc0de", mode: "tap" }, "system_u:system_r:container_t:s0", ctx))).toThrow(
        'failed set socket label: write /proc/thread-self/attr/exec: Invalid argument',
      );
      expect(linkNames(ctr)).toEqual(["lo"]);
    });
  });

  describe("DEL as runtimes send it after the container is gone", () => {
    test("the netns is already deleted: success, reservation freed", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      const ctr = tempNetns(`${TAG}-ctr`);
      const c = tapConf("1.1.0", {}, data.path);
      const { result } = expectAdd("1.1.0", host, ctr, c, [A4]);
      ctr[Symbol.dispose]();
      expectSilentSuccess(tap("DEL", host, ctr.path, { ...c, prevResult: result }));
      expect(snapshotDir(data.path)).toEqual(STORE_FREED);
      expectSilentSuccess(tap("DEL", host, ctr.path, c));
    });

    test("empty CNI_NETNS (containerd): reservation freed, the netns is not entered", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const c = tapConf("1.1.0", {}, data.path);
      expectAdd("1.1.0", host, ctr, c, [A4]);
      expectSilentSuccess(tap("DEL", host, "", c));
      expect(snapshotDir(data.path)).toEqual(STORE_FREED);
      // Without a netns path the tap cannot be reached: it goes when the runtime deletes the netns.
      expect(linkNames(ctr)).toEqual(["lo", "eth0"]);
    });
  });

  describe("STATUS (1.1.0)", () => {
    test("layer 2 only: success without IPAM", () => {
      using host = tempNetns(`${TAG}-host`);
      expectSilentSuccess(runPlugin("tap", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: tapConf("1.1.0") }));
    });

    test("host-local's answer: a dataDir under a regular file is code 50", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      writeFileSync(`${data.path}/file`, "");
      const r = runPlugin("tap", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: tapConf("1.1.0", {}, `${data.path}/file/sub`) });
      expect([r.exitCode, r.json?.code]).toEqual([1, 50]);
    });
  });

  describe("CHECK failures", () => {
    test("no prevResult, a different sandbox, a MAC that changed, the tap gone", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const c = tapConf("1.1.0");
      const { result } = expectAdd("1.1.0", host, ctr, c, []);
      expectError(tap("CHECK", host, ctr.path, c), { code: 999, msg: "Required prevResult missing" });
      const elsewhere = { ...result, interfaces: [{ ...result.interfaces[0], sandbox: "/run/netns/other" }] };
      expectError(tap("CHECK", host, ctr.path, { ...c, prevResult: elsewhere }), {
        code: 999, msg: `Sandbox in prevResult  doesn't match configured netns: ${ctr.path}`,
      });
      ipIn(ctr, ["link", "set", "eth0", "address", "02:00:00:00:00:99"]);
      expectError(tap("CHECK", host, ctr.path, { ...c, prevResult: result }), {
        code: 999, msg: `tap: Interface eth0 Mac ${result.interfaces[0].mac} doesn't match container Mac: 02:00:00:00:00:99`,
      });
      ipIn(ctr, ["link", "del", "eth0"]);
      expectError(tap("CHECK", host, ctr.path, { ...c, prevResult: result }), { code: 999, msg: "tap: Container Interface name in prevResult: eth0 not found" });
      ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      expectError(tap("CHECK", host, ctr.path, { ...c, prevResult: { ...result, interfaces: [{ ...result.interfaces[0], mac: undefined }] } }), {
        code: 999, msg: "Error: Container interface eth0 not of type tap",
      });
    });
  });

  describe("a failed ADD undoes what it did", () => {
    test("eth0 already exists in the container: error, no tap, no reservation, eth0 untouched", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      const before = ipJson(ctr, ["-d", "link", "show"]);
      expectError(tap("ADD", host, ctr.path, tapConf("1.1.0", {}, data.path)), {
        code: 999, msg: 'failed to create tap "eth0": an interface of that name already exists in the container netns',
      });
      expect(ipJson(ctr, ["-d", "link", "show"])).toEqual(before);
      expect(snapshotDir(data.path)).toEqual({});
    });

    test("IPAM's route cannot be added: the tap is removed and the reservation freed", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const r = tap("ADD", host, ctr.path, tapConf("1.1.0", {}, data.path, { routes: [{ dst: "10.9.0.0/16", gw: "10.99.0.1" }] }));
      expectError(r, { code: 999, msg: /^failed to add route '10\.9\.0\.0\/16 via 10\.99\.0\.1 dev eth0': / });
      expect(linkNames(ctr)).toEqual(["lo"]);
      expect(snapshotDir(data.path)).toEqual(STORE_FREED);
    });

    test("an MTU the tap refuses: the tap is removed (the kernel names the limit)", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      expectError(tap("ADD", host, ctr.path, tapConf("1.1.0", { mtu: 70000 })), { code: 999, msg: /^failed to set MTU 70000 on tap: RTM_NEWLINK: / });
      expect(linkNames(ctr)).toEqual(["lo"]);
    });

    test("`bridge` names something that cannot take ports: the tap is removed", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      expectError(tap("ADD", host, ctr.path, tapConf("1.1.0", { bridge: "lo" }, data.path)), {
        code: 999, msg: /^failed to set tap eth0 as a port of bridge lo: RTM_NEWLINK: /,
      });
      expect(linkNames(ctr)).toEqual(["lo"]);
      expect(snapshotDir(data.path)).toEqual({}); // IPAM comes after the bridge port
    });
  });

  describe("bad input: exit 1, one error object with the right code and text, nothing left", () => {
    const cases: Record<string, { stdin: object; env?: Record<string, string>; want: { code: number; msg: string } }> = {
      "a bridge that is not in the container netns": {
        stdin: tapConf("1.1.0", { bridge: "nosuchbr" }),
        want: { code: 7, msg: 'failed to get bridge nosuchbr: link "nosuchbr" not found (the "bridge" must exist in the container netns)' },
      },
      "a bad mac": {
        stdin: tapConf("1.1.0", { mac: "02:00:00:00:00" }),
        want: { code: 999, msg: "invalid args 02:00:00:00:00 for MAC addr: address 02:00:00:00:00: invalid MAC address" },
      },
      "a multicast mac": {
        stdin: tapConf("1.1.0", { mac: "03:00:00:00:00:01" }),
        want: { code: 999, msg: "invalid args 03:00:00:00:00:01 for MAC addr: not a unicast Ethernet address" },
      },
      "a bad CNI_ARGS MAC": {
        stdin: tapConf("1.1.0"),
        env: { CNI_ARGS: "MAC=nope" },
        want: { code: 999, msg: "invalid args nope for MAC addr: address nope: invalid MAC address" },
      },
      "an unknown CNI_ARGS key": {
        stdin: tapConf("1.1.0"),
        env: { CNI_ARGS: "FOO=1" },
        want: { code: 999, msg: 'ARGS: unknown args ["FOO=1"]' },
      },
      "a negative owner": {
        stdin: tapConf("1.1.0", { owner: -1, group: 0 }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal number -1 into Go struct field NetConf.owner of type uint32" },
      },
      "an owner that is the kernel's 'no id'": {
        stdin: tapConf("1.1.0", { owner: 4294967295, group: 0 }),
        want: { code: 7, msg: 'invalid owner 4294967295: 4294967295 is the kernel\'s "no id"' },
      },
      "a group of the wrong type": {
        stdin: tapConf("1.1.0", { group: "wheel" }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal string into Go struct field NetConf.group of type uint32" },
      },
      "a negative mtu": { stdin: tapConf("1.1.0", { mtu: -1 }), want: { code: 7, msg: "invalid MTU -1" } },
      "args that is not an object": {
        stdin: tapConf("1.1.0", { args: [] }),
        want: { code: 999, msg: "failed to load netconf: json: cannot unmarshal array into Go struct field NetConf.args of type struct {}" },
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const stdin = { ...c.stdin, ipam: { type: "host-local", dataDir: data.path, ranges: [[{ subnet: "10.1.2.0/24" }]] } };
      expectError(tap("ADD", host, ctr.path, stdin, c.env), c.want);
      expect([linkNames(host), linkNames(ctr)]).toEqual([["lo"], ["lo"]]);
      expect(snapshotDir(data.path)).toEqual({});
    });

    test("a netns path that does not exist: upstream's text; DEL of it succeeds", () => {
      using host = tempNetns(`${TAG}-host`);
      const gone = `/run/netns/${RUN_PREFIX}-${TAG}-gone`;
      expectError(tap("ADD", host, gone, tapConf("1.1.0")), {
        code: 999, msg: `failed to open netns ${JSON.stringify(gone)}: failed to Statfs ${JSON.stringify(gone)}: no such file or directory`,
      });
      expectSilentSuccess(tap("DEL", host, gone, tapConf("1.1.0")));
    });
  });
});
