// host-local, Go reference (/usr/lib/cni, Debian's plugins v1.1.1) against ours: the same input to both, each with
// its own dataDir, compared on exit status, stdout JSON and the store on disk; then both on ONE store at once,
// as on a node where some plugins are upstream's and some ours (SPEC-DIGEST §2.1 "Store").
//
// Go v1.1.1 is older than the v1.9.1 behaviour we implement. These differences are known and deliberate, and are
// masked here, each at one place, and nothing else:
//   1. v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 omits an empty dns (maskGoResult).
//   2. v1.1.1 creates reservation and last_reserved_ip files 0644; v1.9.1 creates them 0600 (maskGoStore).
//   3. v1.1.1's route has no `mtu`, so a wrong-typed `mtu` is ignored there; v1.9.1 fails to decode it (table row).
//   4. v1.1.1 does not know spec 1.1.0, so its supported list lacks "1.1.0" (table row "unknown cniVersion").
// Two rows compare looser for reasons that are not version differences: the tail of a JSON syntax error is the
// parser's own text (Go: "unexpected end of JSON input"), so only the code and the upstream prefix are compared;
// and with two requested IPs in one set, Go's choice comes from map order and varies from run to run.
import { describe, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import {
  DIR, GO_VERSIONS, goPlugins, maskGoResult, otherImpl as other, type Impl,
} from "../support/conformance.ts";
import { hostLocalConf as conf, NET } from "../support/host-local.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import type { Ip } from "../support/result.ts";
import { cniEnv, runPlugin, spawnPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { namesAndContents, snapshotDir, tempDir, underUmask, type Entry } from "../support/temp-dir.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const { hasGo, skipReason } = goPlugins("host-local");
const TAG = "hlc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-hlc-`

const host = hasGo ? tempNetns(`${TAG}-host`) : undefined;
cleanUpAfterAll(TAG, host);

interface CallOpts {
  id?: string;
  ifname?: string;
  env?: Record<string, string>;
}

function envOf(verb: string, ctr: TempNetns, o: CallOpts): Record<string, string> {
  return { ...cniEnv(verb, ctr.path, o.ifname ?? "eth0", o.id ?? "ctr1"), ...o.env };
}

/** Runs one implementation's host-local once, as a runtime does. */
function call(impl: Impl, verb: string, ctr: TempNetns, stdin: object | string, o: CallOpts = {}): Run {
  return runPlugin("host-local", { dir: DIR[impl], hostNetns: host!.name, env: envOf(verb, ctr, o), stdin });
}

/** Masks difference 2: v1.1.1 writes reservations and last_reserved_ip files 0644 where v1.9.1 writes 0600. */
function maskGoStore(snap: Record<string, Entry>): Record<string, Entry> {
  const out: Record<string, Entry> = {};
  for (const [name, e] of Object.entries(snap)) {
    const isLock = name.endsWith("/lock");
    out[name] = e.type === "file" && !isLock && e.mode === underUmask(0o644) ? { ...e, mode: underUmask(0o600) } : e;
  }
  return out;
}

/** Both implementations' outcome of one call, each on its own store. */
interface Pair {
  go: Run;
  ours: Run;
}

/** Returns what Go and ours did with the same input, each against its own dataDir. */
function both(verb: string, ctr: TempNetns, dirs: Record<Impl, string>, stdin: (dataDir: string) => object | string, o: CallOpts = {}): Pair {
  return { go: call("go", verb, ctr, stdin(dirs.go), o), ours: call("ours", verb, ctr, stdin(dirs.ours), o) };
}

/** Expects the same exit status and the same stdout JSON (Go's masked), and the same stores. */
function expectSame(p: Pair, dirs: Record<Impl, string>): void {
  expect({ exitCode: p.ours.exitCode, json: p.ours.json }).toEqual({ exitCode: p.go.exitCode, json: maskGoResult(p.go.json) });
  expect(snapshotDir(dirs.ours)).toEqual(maskGoStore(snapshotDir(dirs.go)));
}

/** Two stores for one comparison, removed afterwards. */
function twoDataDirs(): { dirs: Record<Impl, string> } & Disposable {
  const go = tempDir(`${TAG}-go`);
  const ours = tempDir(`${TAG}-ours`);
  return {
    dirs: { go: go.path, ours: ours.path },
    [Symbol.dispose]() {
      go[Symbol.dispose]();
      ours[Symbol.dispose]();
    },
  };
}

describe.skipIf(!hasGo)(`host-local: Go v1.1.1 and ours, each on its own store${skipReason}`, () => {
  describe.each(GO_VERSIONS)("%s", (version) => {
    test("dual-stack ADD with routes and resolvConf, CHECK, DEL, DEL again, CHECK after DEL", () => {
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = twoDataDirs();
      using etc = tempDir(`${TAG}-etc`);
      writeFileSync(`${etc.path}/resolv.conf`, "nameserver 10.0.0.53\nnameserver fd00::53\ndomain example.test\nsearch a.test b.test\noptions ndots:2\n");
      const ipam = {
        ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "fd00:1::/64" }]],
        routes: [{ dst: "0.0.0.0/0", gw: "10.1.2.1" }, { dst: "10.9.0.0/16" }, { dst: "::/0", gw: "fd00:1::1" }],
        resolvConf: `${etc.path}/resolv.conf`,
      };
      const stdin = (d: string) => conf(version, d, ipam);

      const add = both("ADD", ctr, data.dirs, stdin);
      expect(add.ours.exitCode).toBe(0);
      expectSame(add, data.dirs);
      if (versionAtLeast(version, "0.4.0")) expectSame(both("CHECK", ctr, data.dirs, stdin), data.dirs);
      expectSame(both("DEL", ctr, data.dirs, stdin), data.dirs);
      expectSame(both("DEL", ctr, data.dirs, stdin), data.dirs);
      if (versionAtLeast(version, "0.4.0")) {
        const check = both("CHECK", ctr, data.dirs, stdin);
        expect(check.ours.exitCode).toBe(1);
        expectSame(check, data.dirs);
      }
    });
  });

  // Valid configs beyond the plain one: each ADD (1.0.0) must give the same result and the same store.
  const variants: Record<string, { stdin: (d: string) => object; env?: Record<string, string> }> = {
    "rangeStart, rangeEnd, gateway and a second range in one set": {
      stdin: (d) => conf("1.0.0", d, {
        ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.10", rangeEnd: "10.1.2.20", gateway: "10.1.2.254" }, { subnet: "10.1.3.0/24" }]],
      }),
    },
    "legacy subnet inside ipam": {
      stdin: (d) => conf("0.3.1", d, { ranges: undefined, subnet: "10.1.2.0/24", rangeStart: "10.1.2.20", gateway: "10.1.2.254" }),
    },
    "runtimeConfig.ipRanges prepended": { stdin: (d) => conf("1.0.0", d, {}, { runtimeConfig: { ipRanges: [[{ subnet: "10.5.0.0/16" }]] } }) },
    "CNI_ARGS IP with podman's IgnoreUnknown": { stdin: (d) => conf("1.0.0", d), env: { CNI_ARGS: "IgnoreUnknown=1;K8S_POD_NAME=p;IP=10.1.2.50" } },
    "args.cni.ips": { stdin: (d) => conf("1.0.0", d, {}, { args: { cni: { ips: ["10.1.2.51"] } } }) },
    "runtimeConfig.ips with a prefix": { stdin: (d) => conf("1.0.0", d, {}, { runtimeConfig: { ips: ["10.1.2.52/24"] } }) },
    "IPv6 only under 0.2.0": { stdin: (d) => conf("0.2.0", d, { ranges: [[{ subnet: "fd00:1::/120" }]] }) },
    "keys in another case": { stdin: (d) => ({ cniVersion: "1.0.0", name: NET, IPAM: { DataDir: d, Ranges: [[{ Subnet: "10.1.2.0/24" }]] } }) },
    "no cniVersion (0.1.0)": { stdin: (d) => ({ name: NET, ipam: { dataDir: d, ranges: [[{ subnet: "10.1.2.0/24" }]] } }) },
    "a route without dst": { stdin: (d) => conf("1.0.0", d, { routes: [{ gw: "10.1.2.1" }] }) },
  };
  test.each(Object.keys(variants))("ADD: %s", (label) => {
    const v = variants[label]!;
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = twoDataDirs();
    const add = both("ADD", ctr, data.dirs, v.stdin, { env: v.env });
    expect(add.ours.exitCode).toBe(0);
    expectSame(add, data.dirs);
  });

  // Invalid input: the same exit status, code, msg and details, and the same leftovers on disk.
  type Bad = {
    stdin: (d: string) => object | string;
    verb?: string;
    env?: Record<string, string>;
    /** A row-specific comparison, where a plain one cannot hold (each says why). */
    compare?: (p: Pair, dirs: Record<Impl, string>) => void;
  };
  const ok = (d: string) => conf("1.0.0", d);
  const withIpam = (ipam: object, version = "1.0.0") => (d: string) => conf(version, d, ipam);
  /**
   * Requests that can never be met (in no range, a gateway, two in one set) fail with upstream's error, but ours
   * finds that from the config before opening the store, so it writes nothing; Go leaves the store directory, its
   * lock and sometimes a moved last_reserved_ip behind.
   */
  const failsBeforeTheStore = (p: Record<Impl, Run>, dirs: Record<Impl, string>) => {
    expect([p.ours.exitCode, p.ours.json]).toEqual([p.go.exitCode, p.go.json]);
    expect(snapshotDir(dirs.ours)).toEqual({});
    expect(Object.keys(snapshotDir(dirs.go))).toContain(`${NET}/lock`);
  };
  const bad: Record<string, Bad> = {
    "malformed JSON": {
      stdin: () => "{",
      compare: (p) => {
        // Parser text (see the header): same code, same upstream prefix.
        expect(p.go.json).toEqual({ code: 6, msg: "error unmarshall network config: unexpected end of JSON input" });
        expect([p.ours.exitCode, p.ours.json.code]).toEqual([1, 6]);
        expect(p.ours.json.msg).toStartWith("error unmarshall network config: ");
      },
    },
    "missing name": { stdin: (d) => ({ cniVersion: "1.0.0", ipam: { dataDir: d, ranges: [[{ subnet: "10.1.2.0/24" }]] } }) },
    "missing ipam": { stdin: () => ({ cniVersion: "1.0.0", name: NET }) },
    "ipam not an object": { stdin: () => ({ cniVersion: "1.0.0", name: NET, ipam: [] }) },
    "ranges of the wrong type": { stdin: withIpam({ ranges: "10.1.2.0/24" }) },
    "a range set of the wrong type": { stdin: withIpam({ ranges: ["10.1.2.0/24"] }) },
    "subnet of the wrong type": { stdin: withIpam({ ranges: [[{ subnet: 5 }]] }) },
    "bad CIDR": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/33" }]] }) },
    "subnet with host bits": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.5/24" }]] }) },
    "a /31": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/31" }]] }) },
    "rangeStart outside the subnet": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.3.5" }]] }) },
    "rangeEnd before rangeStart": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.50", rangeEnd: "10.1.2.10" }]] }) },
    "gateway of the wrong type": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24", gateway: 1 }]] }) },
    "gateway not an IP": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24", gateway: "x" }]] }) },
    "overlapping range sets": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.2.128/25" }]] }) },
    "overlapping ranges in one set": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24" }, { subnet: "10.1.2.0/25" }]] }) },
    "mixed families in one set": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24" }, { subnet: "fd00:1::/64" }]] }) },
    "no ranges": { stdin: withIpam({ ranges: undefined }) },
    "an empty range set": { stdin: withIpam({ ranges: [[]] }) },
    "two IPv4 range sets under 0.2.0": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.3.0/24" }]] }, "0.2.0") },
    "route dst not a CIDR": { stdin: withIpam({ routes: [{ dst: "x" }] }) },
    "route gw not an IP": { stdin: withIpam({ routes: [{ dst: "0.0.0.0/0", gw: "x" }] }) },
    "route mtu of the wrong type": {
      stdin: withIpam({ routes: [{ dst: "0.0.0.0/0", mtu: "x" }] }),
      compare: (p) => {
        // Difference 3: v1.1.1's route has no mtu field and ignores it; v1.9.1's is an int and fails to decode.
        expect(p.go.exitCode).toBe(0);
        expect([p.ours.exitCode, p.ours.json.code]).toEqual([1, 999]);
        expect(p.ours.json.msg).toStartWith("json: cannot unmarshal string into Go struct field IPAMConfig.ipam.routes");
      },
    },
    "dataDir of the wrong type": { stdin: () => ({ cniVersion: "1.0.0", name: NET, ipam: { dataDir: 5, ranges: [[{ subnet: "10.1.2.0/24" }]] } }) },
    "resolvConf that does not exist": { stdin: withIpam({ resolvConf: "/nonexistent/resolv.conf" }) },
    "args.cni.ips entry not an IP": { stdin: (d) => conf("1.0.0", d, {}, { args: { cni: { ips: ["x"] } } }) },
    "runtimeConfig.ips of the wrong type": { stdin: (d) => conf("1.0.0", d, {}, { runtimeConfig: { ips: "10.1.2.5" } }) },
    "unknown cniVersion": {
      stdin: (d) => conf("9.9.9", d),
      compare: (p) => {
        // Difference 4: the supported list of v1.1.1 ends at 1.0.0.
        const goDetails: string = p.go.json.details;
        expect(goDetails).toEndWith(`"1.0.0"]`);
        expect(p.ours.json).toEqual({ ...p.go.json, details: goDetails.replace(/\]$/, ` "1.1.0"]`) });
        expect(p.ours.exitCode).toBe(p.go.exitCode);
      },
    },
    "bad CNI_ARGS pair": { stdin: ok, env: { CNI_ARGS: "IP" } },
    "CNI_ARGS with a trailing ;": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.9;" } },
    "unknown CNI_ARGS key without IgnoreUnknown": { stdin: ok, env: { CNI_ARGS: "K8S_POD_NAME=p;IP=10.1.2.9" } },
    "CNI_ARGS IP not an IP": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.300" } },
    "requested IP outside every range": { stdin: ok, env: { CNI_ARGS: "IP=10.9.9.9" }, compare: failsBeforeTheStore },
    "requested IP in the subnet, outside the range": {
      stdin: withIpam({ ranges: [[{ subnet: "10.1.2.0/24", rangeStart: "10.1.2.100" }]] }), env: { CNI_ARGS: "IP=10.1.2.50" }, compare: failsBeforeTheStore,
    },
    "requested gateway IP": { stdin: ok, env: { CNI_ARGS: "IP=10.1.2.1" }, compare: failsBeforeTheStore },
    "two requested IPs in one set": {
      stdin: (d) => conf("1.0.0", d, {}, { args: { cni: { ips: ["10.1.2.7", "10.1.2.8"] } } }),
      compare: (p, dirs) => {
        // Upstream keeps pending requests in a Go map, so which of the two the set takes varies from run to run
        // (SPEC-DIGEST §2.1 ADD step 1); ours takes the first. Go must show one of the two outcomes, ours the first.
        const outcomeOf = (taken: string, left: string): { json: unknown; files: Record<string, string | null> } => ({
          json: { code: 999, msg: `failed to allocate all requested IPs: ${left}` },
          files: { [NET]: null, [`${NET}/last_reserved_ip.0`]: taken, [`${NET}/lock`]: "" },
        });
        const seen = (impl: Impl) => ({ json: p[impl].json, files: namesAndContents(snapshotDir(dirs[impl])) });
        expect([outcomeOf("10.1.2.7", "10.1.2.8"), outcomeOf("10.1.2.8", "10.1.2.7")]).toContainEqual(seen("go"));
        // Ours judges the requests before touching the store: the same error, nothing written.
        expect(seen("ours")).toEqual({ json: outcomeOf("10.1.2.7", "10.1.2.8").json, files: {} });
      },
    },
    "ifname too long": { stdin: ok, env: { CNI_IFNAME: "abcdefghijklmnop" } },
    "bad container ID": { stdin: ok, env: { CNI_CONTAINERID: "a/b" } },
    "missing CNI_NETNS for ADD": { stdin: ok, env: { CNI_NETNS: "" } },
    "CHECK under 0.3.1": { stdin: withIpam({}, "0.3.1"), verb: "CHECK" },
    "CHECK of an unknown container": { stdin: ok, verb: "CHECK" },
    "DEL with a bad config": { stdin: withIpam({ ranges: [[{ subnet: "10.1.2.5/24" }]] }), verb: "DEL" },
  };
  test.each(Object.keys(bad))("invalid: %s", (label) => {
    const b = bad[label]!;
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = twoDataDirs();
    const p = both(b.verb ?? "ADD", ctr, data.dirs, b.stdin, { env: b.env });
    if (b.compare) {
      b.compare(p, data.dirs);
      return;
    }
    expect(p.go.exitCode).toBe(1);
    expect(p.ours.stdout).toBe(JSON.stringify(p.ours.json, null, 4));
    expectSame(p, data.dirs);
  });
});

describe.skipIf(!hasGo)(`host-local: Go v1.1.1 and ours on one store${skipReason}`, () => {
  const V = "1.0.0"; // the newest version both speak

  test("20 ADDs at once, alternating Go and ours, then each DEL by the other one", async () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-shared`);
    const stdin = conf(V, data.path);
    const impls = Array.from({ length: 20 }, (_, i): Impl => (i % 2 === 0 ? "go" : "ours"));
    const spawn = (impl: Impl, verb: string, i: number) =>
      spawnPlugin("host-local", { dir: DIR[impl], hostNetns: host!.name, env: envOf(verb, ctr, { id: `par-${i}` }), stdin });

    // Every process is started before any is awaited, so they really contend for the lock.
    const adds = await Promise.all(impls.map((impl, i) => spawn(impl, "ADD", i)));
    adds.forEach((r, i) => expect({ i, exitCode: r.exitCode, stderr: r.stderr }).toEqual({ i, exitCode: 0, stderr: "" }));
    const ips = adds.map((r) => ((r.json.ips as Ip[])[0]!.address).replace(/\/24$/, ""));
    expect(new Set(ips).size).toBe(20);
    const reservations = Object.fromEntries(ips.map((ip, i) => [`${NET}/${ip}`, `par-${i}\r\neth0`]));
    const files = namesAndContents(snapshotDir(data.path));
    const { [NET]: _dir, [`${NET}/lock`]: _lock, [`${NET}/last_reserved_ip.0`]: last, ...rest } = files;
    expect(rest).toEqual(reservations);
    expect(ips).toContain(last as string);

    const dels = await Promise.all(impls.map((impl, i) => spawn(other(impl), "DEL", i)));
    dels.forEach((r, i) => expect({ i, exitCode: r.exitCode, stdout: r.stdout }).toEqual({ i, exitCode: 0, stdout: "" }));
    expect(Object.keys(snapshotDir(data.path))).toEqual([NET, `${NET}/last_reserved_ip.0`, `${NET}/lock`]);
  }, 30_000);

  test("CHECK by one sees an ADD by the other", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-shared`);
    const stdin = conf(V, data.path);
    for (const impl of ["go", "ours"] as const) {
      const id = `by-${impl}`;
      expect(call(impl, "ADD", ctr, stdin, { id }).exitCode).toBe(0);
      const check = call(other(impl), "CHECK", ctr, stdin, { id });
      expect([check.exitCode, check.stdout]).toEqual([0, ""]);
    }
  });

  test("round-robin continues from a last_reserved_ip the other one wrote", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-shared`);
    const stdin = conf(V, data.path);
    const last = () => namesAndContents(snapshotDir(data.path))[`${NET}/last_reserved_ip.0`];
    const add = (impl: Impl, id: string) => {
      const r = call(impl, "ADD", ctr, stdin, { id });
      expect(r.exitCode).toBe(0);
      return (r.json.ips as Ip[])[0]!.address;
    };
    expect(add("go", "a")).toBe("10.1.2.2/24");
    expect(add("ours", "b")).toBe("10.1.2.3/24");
    expect(last()).toBe("10.1.2.3");
    expect(add("go", "c")).toBe("10.1.2.4/24");
    // Freeing the first address does not send either back to it: both walk on from the bookmark.
    expect(call("ours", "DEL", ctr, stdin, { id: "a" }).exitCode).toBe(0);
    expect(add("ours", "d")).toBe("10.1.2.5/24");
    expect(add("go", "e")).toBe("10.1.2.6/24");
    expect(last()).toBe("10.1.2.6");
    // With the bookmark moved to the end of the range, Go wraps around to the freed .2, and ours to the freed .3.
    expect(add("ours", "f")).toBe("10.1.2.7/24");
    writeFileSync(`${data.path}/${NET}/last_reserved_ip.0`, "10.1.2.254");
    expect(add("go", "g")).toBe("10.1.2.2/24");
    expect(call("go", "DEL", ctr, stdin, { id: "b" }).exitCode).toBe(0);
    writeFileSync(`${data.path}/${NET}/last_reserved_ip.0`, "10.1.2.254");
    expect(add("ours", "h")).toBe("10.1.2.3/24");
  });
});
