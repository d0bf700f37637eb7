// dummy with host-local IPAM, both ours (CNI_PATH = our bin/), run as a runtime runs them (env + stdin) inside a
// throwaway host netns with a throwaway container netns (SPEC-DIGEST §1.8).
//
// Where the kernel makes dummy links: for every spec version the result text, the link read back with `ip -j -d`
// (kind, up, addresses), CHECK, DEL, DEL again; IPv6 with IPAM's routes and dns passed through; CHECK catching the
// link down; a failed route rolled back. Where it does not (the build machines lack it), those tests skip with the
// kernel's own refusal, and test/kernel-vm/cases/dummy.sh covers them in a full kernel; instead, for every version,
// ADD must fail with the kernel's words and leave nothing, and DEL, DEL again succeed.
// Everywhere: a name clash (eth0 already in the container) fails and leaves eth0 alone with no reservation; no ipam
// and wrong types fail with their code and text; DEL with the netns gone or an empty CNI_NETNS frees the
// reservation; CHECK's complaints; STATUS is host-local's.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { cniEnv, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { snapshotDir, sweepTempDirs, tempDir } from "../support/temp-dir.ts";
import { hostLocalConf, lastReserved, NET, printed, reservation, storeWith, type Ip } from "../support/host-local.ts";
import { addrsOf, ipIn, routesIn } from "../support/ptp.ts";
import { linkKindSupport } from "../support/link-kind.ts";
import { linkDetail, oneLinkResult, sortedLinkNames } from "../support/one-link.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

// IPv6 DAD makes an ADD with an IPv6 gateway take 1-2 s; bun's default 5 s per test is too tight under load.
const TIMEOUT_MS = 20_000;
const TAG = "dumi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-dumi-`
const missing = [
  ...["ip"].filter((t) => Bun.which(t) === null),
  ...["dummy", "host-local"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`dummy integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);
const kernel = skip ? { ok: false, reason: "needs root" } : linkKindSupport("dummy");
/** Appended to the name of every test that needs the kernel to make dummy links: why it skips, and where it is covered. */
const NEEDS_DUMMY = kernel.ok ? "" : ` (skipped: ${kernel.reason}; covered in the kernel VM case test/kernel-vm/cases/dummy.sh)`;

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepTempDirs(`${RUN_PREFIX}-${TAG}-`);
});

const A4: Ip = { address: "10.1.2.2/24", gateway: "10.1.2.1" };
const A6: Ip = { address: "fd00:1::2/64", gateway: "fd00:1::1" };
const bare = (ip: Ip) => ip.address.split("/")[0]!;
const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** A dummy network config (network NET) with host-local on dataDir. */
function conf(version: string, dataDir: string, ipam: object = {}, top: object = {}): Record<string, unknown> {
  return hostLocalConf(version, dataDir, ipam, { type: "dummy", ...top });
}

interface World {
  host: TempNetns;
  ctr: TempNetns;
  [Symbol.dispose](): void;
}
function world(): World {
  const host = tempNetns(`${TAG}-host`);
  const ctr = tempNetns(`${TAG}-ctr`);
  return {
    host, ctr,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
    },
  };
}

/** Runs our dummy once with a runtime's env inside the host netns. */
function dummy(verb: string, w: World, stdin: object | string, opts: { netns?: string; id?: string } = {}): Run {
  return runPlugin("dummy", { hostNetns: w.host.name, env: cniEnv(verb, opts.netns ?? w.ctr.path, "eth0", opts.id ?? "ctr1"), stdin });
}

/** Runs our host-local ADD as dummy would, so DEL and CHECK have a reservation to find without a dummy link. */
function reserve(w: World, c: object, id = "ctr1"): void {
  const r = runPlugin("host-local", { hostNetns: w.host.name, env: cniEnv("ADD", w.ctr.path, "eth0", id), stdin: c });
  expect([r.exitCode, r.stderr]).toEqual([0, ""]);
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

function expectError(r: Run, want: { code: number; msg: string | RegExp }): void {
  const msg = typeof want.msg === "string" ? want.msg : expect.stringMatching(want.msg);
  expect([r.exitCode, r.json]).toEqual([1, { code: want.code, msg }]);
  expect(r.stdout).toBe(JSON.stringify(r.json, null, 4));
}

function expectNothingLeft(w: World): void {
  expect(sortedLinkNames(w.host)).toEqual(["lo"]);
  expect(sortedLinkNames(w.ctr)).toEqual(["lo"]);
}

const storeHolding = (id: string, ips: Ip[]) =>
  storeWith(Object.fromEntries(ips.flatMap((ip, i) => [[bare(ip), reservation(id)], [`last_reserved_ip.${i}`, lastReserved(bare(ip))]])));
const storeFreed = (ips: Ip[]) => storeWith(Object.fromEntries(ips.map((ip, i) => [`last_reserved_ip.${i}`, lastReserved(bare(ip))])));

/** Runs ADD and checks its stdout byte for byte (the MAC matched by pattern); returns the parsed result. */
function expectAdd(version: string, w: World, c: object, ips: Ip[], routes: { dst: string; gw?: string }[] = [], dns = {}): any {
  const add = dummy("ADD", w, c);
  expect(add.stderr).toBe("");
  expect(add.exitCode).toBe(0);
  const mac = linkDetail(w.ctr, "eth0")?.mac ?? "";
  expect(mac).toMatch(MAC);
  expect(add.stdout).toBe(printed(oneLinkResult(version, { name: "eth0", mac, sandbox: w.ctr.path }, ips, routes, dns)));
  return add.json;
}

describe.skipIf(skip)("dummy", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    test.skipIf(!kernel.ok)(`ADD makes a dummy eth0 with host-local's address; CHECK; DEL and DEL again leave nothing${NEEDS_DUMMY}`, () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf(version, data.path);
      const result = expectAdd(version, w, c, [A4]);
      expect(linkDetail(w.ctr, "eth0")).toEqual({ ifname: "eth0", kind: "dummy", mac: expect.stringMatching(MAC), mtu: 1500, up: true });
      expect(addrsOf(w.ctr, "eth0")).toEqual([{ family: "inet", local: bare(A4), prefixlen: 24 }]);
      expect(snapshotDir(data.path)).toEqual(storeHolding("ctr1", [A4]));

      const withPrev = versionAtLeast(version, "0.4.0") ? { ...c, prevResult: result } : c;
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(dummy("CHECK", w, withPrev));
      expectSilentSuccess(dummy("DEL", w, withPrev));
      expectNothingLeft(w);
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4]));
      expectSilentSuccess(dummy("DEL", w, withPrev));
      expectNothingLeft(w);
    });

    test.skipIf(kernel.ok)("ADD where the kernel lacks dummy: its words (EOPNOTSUPP), nothing left, no reservation; DEL and DEL again succeed", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf(version, data.path);
      expectError(dummy("ADD", w, c), { code: 999, msg: 'failed to create dummy "eth0": RTM_NEWLINK: Operation not supported: Unknown device type' });
      expectNothingLeft(w);
      expect(snapshotDir(data.path)).toEqual({}); // the link comes before IPAM (upstream's order)
      expectSilentSuccess(dummy("DEL", w, c));
      expectSilentSuccess(dummy("DEL", w, c));
      expectNothingLeft(w);
    });
  });

  test.skipIf(!kernel.ok)(`dual stack: IPAM's routes and dns pass through to the result and the routes are added${NEEDS_DUMMY}`, () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    using etc = tempDir(`${TAG}-etc`);
    writeFileSync(`${etc.path}/resolv.conf`, "nameserver 10.0.0.53\nsearch ipam.test\n");
    const routes = [{ dst: "192.168.50.0/24" }, { dst: "fd00:50::/64" }];
    const c = conf("1.1.0", data.path, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]], routes, resolvConf: `${etc.path}/resolv.conf` });
    const result = expectAdd("1.1.0", w, c, [A4, A6], routes, { nameservers: ["10.0.0.53"], search: ["ipam.test"] });
    expect(routesIn(w.ctr, 4).find((r) => r.dst === "192.168.50.0/24")).toMatchObject({ gateway: A4.gateway, dev: "eth0" });
    expect(routesIn(w.ctr, 6).find((r) => r.dst === "fd00:50::/64")).toMatchObject({ gateway: A6.gateway, dev: "eth0" });
    expectSilentSuccess(dummy("CHECK", w, { ...c, prevResult: result }));
    expectSilentSuccess(dummy("DEL", w, c));
    expectNothingLeft(w);
    expect(snapshotDir(data.path)).toEqual(storeFreed([A4, A6]));
  }, TIMEOUT_MS);

  test.skipIf(!kernel.ok)(`CHECK fails while eth0 is down, and passes again once it is up${NEEDS_DUMMY}`, () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path);
    const withPrev = { ...c, prevResult: expectAdd("1.1.0", w, c, [A4]) };
    ipIn(w.ctr, ["link", "set", "eth0", "down"]);
    expectError(dummy("CHECK", w, withPrev), { code: 999, msg: "Interface eth0 is down" }); // upstream text
    ipIn(w.ctr, ["link", "set", "eth0", "up"]);
    expectSilentSuccess(dummy("CHECK", w, withPrev));
  });

  test.skipIf(!kernel.ok)(`a route IPAM asks for cannot be added: the link and the reservation are removed${NEEDS_DUMMY}`, () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    const c = conf("1.1.0", data.path, { routes: [{ dst: "10.9.0.0/16", gw: "10.99.0.1" }] });
    expectError(dummy("ADD", w, c), { code: 999, msg: /^failed to add route '10\.9\.0\.0\/16 via 10\.99\.0\.1 dev eth0': / });
    expectNothingLeft(w);
    expect(snapshotDir(data.path)).toEqual(storeFreed([A4]));
  });

  test("eth0 already in the container: the ADD fails, eth0 is left alone, nothing is reserved", () => {
    using w = world();
    using data = tempDir(`${TAG}-data`);
    ipIn(w.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
    ipIn(w.ctr, ["addr", "add", "10.7.0.1/24", "dev", "eth0"]);
    const before = { links: sortedLinkNames(w.ctr), eth0: linkDetail(w.ctr, "eth0"), addrs: addrsOf(w.ctr, "eth0") };
    // The kernel finds the name taken before it looks for the kind, so this runs on kernels without dummy too.
    expectError(dummy("ADD", w, conf("1.1.0", data.path)), { code: 999, msg: 'failed to create dummy "eth0": RTM_NEWLINK: File exists' });
    expect({ links: sortedLinkNames(w.ctr), eth0: linkDetail(w.ctr, "eth0"), addrs: addrsOf(w.ctr, "eth0") }).toEqual(before);
    expect(sortedLinkNames(w.host)).toEqual(["lo"]);
    expect(snapshotDir(data.path)).toEqual({});
  });

  describe("bad input: exit 1, one error object with the right code and text, nothing left", () => {
    const noIpam = 'dummy interface requires an IPAM configuration: the config has no "ipam" with a "type"';
    type Case = { stdin: (dataDir: string) => object; want: { code: number; msg: string | RegExp }; verb?: string; netns?: string };
    const cases: Record<string, Case> = {
      "no ipam": { stdin: () => ({ cniVersion: "1.1.0", name: NET, type: "dummy" }), want: { code: 7, msg: noIpam } },
      "ipam without a type": { stdin: (d) => ({ ...conf("1.1.0", d), ipam: { dataDir: d } }), want: { code: 7, msg: noIpam } },
      "CHECK without ipam": { verb: "CHECK", stdin: () => ({ cniVersion: "1.1.0", name: NET, type: "dummy" }), want: { code: 7, msg: noIpam } },
      "ipam of the wrong type": {
        stdin: (d) => ({ ...conf("1.1.0", d), ipam: "host-local" }),
        want: { code: 999, msg: /^failed to parse network config: json: cannot unmarshal string into Go struct field NetConf\.ipam/ },
      },
      "a netns that does not exist": {
        stdin: (d) => conf("1.1.0", d),
        netns: "/run/netns/cnit-no-such-netns",
        want: { code: 999, msg: 'failed to open netns "/run/netns/cnit-no-such-netns": failed to Statfs "/run/netns/cnit-no-such-netns": no such file or directory' },
      },
      // upstream text: DEL runs IPAM DEL, and an empty IPAM type is rejected by the CNI_PATH lookup.
      "DEL without ipam": {
        verb: "DEL",
        stdin: () => ({ cniVersion: "1.1.0", name: NET, type: "dummy" }),
        want: { code: 999, msg: 'no plugin name provided: the config has no "ipam" with a "type"' },
      },
    };

    test.each(Object.keys(cases))("%s", (label) => {
      const c = cases[label]!;
      using w = world();
      using data = tempDir(`${TAG}-data`);
      expectError(dummy(c.verb ?? "ADD", w, c.stdin(data.path), { netns: c.netns }), c.want);
      expectNothingLeft(w);
      expect(snapshotDir(data.path)).toEqual({});
    });
  });

  describe("DEL is idempotent and frees the reservation whatever is already gone", () => {
    test.each([
      ["the netns is gone", "netns"],
      ["CNI_NETNS is empty (containerd)", "empty"],
      ["nothing was ever made in the container", "none"],
    ])("%s", (_label, gone) => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      reserve(w, c);
      expect(snapshotDir(data.path)).toEqual(storeHolding("ctr1", [A4]));
      const netns = gone === "netns" ? `${w.ctr.path}-gone` : gone === "empty" ? "" : w.ctr.path;
      expectSilentSuccess(dummy("DEL", w, c, { netns }));
      expect(snapshotDir(data.path)).toEqual(storeFreed([A4]));
      expectSilentSuccess(dummy("DEL", w, c, { netns }));
      expectNothingLeft(w);
    });

    test("DEL deletes only CNI_IFNAME: another link in the container stays", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      ipIn(w.ctr, ["link", "add", "eth1", "type", "veth", "peer", "name", "x1"]);
      expectSilentSuccess(dummy("DEL", w, conf("1.1.0", data.path)));
      expect(sortedLinkNames(w.ctr)).toEqual(["eth1", "lo", "x1"]);
    });
  });

  describe("CHECK", () => {
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
      expectError(dummy("CHECK", w, c), { code: 999, msg: "dummy: Required prevResult missing" });
    });

    test("prevResult for another netns, or an eth0 that is no dummy: each says so, nothing changes", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      const c = conf("1.1.0", data.path);
      reserve(w, c);
      ipIn(w.ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "x0"]);
      ipIn(w.ctr, ["addr", "add", A4.address, "dev", "eth0"]);
      const mac = linkDetail(w.ctr, "eth0")!.mac;
      expectError(dummy("CHECK", w, { ...c, prevResult: prev("/run/netns/elsewhere", mac) }), {
        code: 999, msg: `Sandbox in prevResult  doesn't match configured netns: ${w.ctr.path}`, // upstream text
      });
      expectError(dummy("CHECK", w, { ...c, prevResult: prev(w.ctr.path, mac) }), { code: 999, msg: "Error: Container interface eth0 not of type dummy" });
      expect({ ctr: sortedLinkNames(w.ctr), store: snapshotDir(data.path) }).toEqual({ ctr: ["eth0", "lo", "x0"], store: storeHolding("ctr1", [A4]) });
    });
  });

  describe("STATUS (1.1.0) is host-local's", () => {
    test("a writable dataDir: success, nothing printed", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      expectSilentSuccess(runPlugin("dummy", { hostNetns: w.host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", data.path) }));
    });

    test("a dataDir under a regular file: code 50 from host-local", () => {
      using w = world();
      using data = tempDir(`${TAG}-data`);
      writeFileSync(`${data.path}/file`, "");
      const r = runPlugin("dummy", { hostNetns: w.host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf("1.1.0", `${data.path}/file/sub`) });
      expect([r.exitCode, r.json?.code]).toEqual([1, 50]);
    });
  });
});
