// vrf as a runtime runs it (env + stdin, inside a throwaway host netns), chained after a hand-made veth standing for a
// main plugin's interface (SPEC-DIGEST §3.6).
//
// Where the kernel makes VRFs: for every spec version it speaks (0.3.1-1.1.0) ADD prints prevResult, makes the VRF
// (first free table, up), enslaves eth0 and moves its routes into the VRF's table, read back with `ip -j -d`; CHECK;
// DEL removes the VRF with its last member; DEL again. An existing VRF, a table that conflicts with it, an explicit
// table. Where it does not (the build machines lack vrf), those tests skip with the kernel's own refusal, and
// test/kernel-vm/cases/vrf.sh covers them (and more: IPv6 addresses re-added, pings through the VRF) in a full
// kernel; instead, for every version, ADD must fail with the kernel's words and leave nothing, and DEL, DEL again
// succeed.
// Everywhere: bad input (no vrfname, no prevResult, wrong types, a bad prevResult, a missing interface, one enslaved
// elsewhere, a vrfname naming another kind of link) fails with its code and text before any VRF exists and changes
// nothing; CHECK's complaints; DEL with no VRF, the netns gone or an empty CNI_NETNS; STATUS.
import { describe, expect, test } from "bun:test";
import { expectError, expectSilentSuccess } from "../support/expect-run.ts";
import { linkKindSupport } from "../support/link-kind.ts";
import { linksIn, routesIn } from "../support/link-state.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { printed, sortKeys } from "../support/result.ts";
import { cniEnv, mustSkip, runPlugin, type Run } from "../support/run-plugin.ts";
import { prevResultFor, tableRoutes, type PrevIp } from "../support/sbr.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "vrfi"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-vrfi-`
const skip = mustSkip("vrf integration", { tools: ["ip"], ours: ["vrf"] });
const kernel = skip ? { ok: false, reason: "needs root" } : linkKindSupport("vrf");
/** Appended to the name of every test that needs the kernel to make VRFs, so a skip says why and where it is covered. */
const NEEDS_VRF = kernel.ok ? "" : ` (skipped: ${kernel.reason}; covered in the kernel VM case test/kernel-vm/cases/vrf.sh)`;
const host = skip ? undefined : tempNetns(`${TAG}-host`);
cleanUpAfterAll(TAG, host);

/** upstream's VersionsStartingFrom("0.3.1") */
const VERSIONS = ALL_VERSIONS.filter((v) => versionAtLeast(v, "0.3.1"));
const V = "1.1.0";
const ADDR: PrevIp = { address: "10.1.2.3/24", gateway: "10.1.2.1", interface: 0 };

function vrf(verb: string, netns: string, stdin: object | string, ifname = "eth0"): Run {
  return runPlugin("vrf", { hostNetns: host!.name, env: cniEnv(verb, netns, ifname), stdin });
}

/** Returns a vrf network config of that version. */
function vrfConf(version: string, extra: object = {}): Record<string, unknown> {
  return { cniVersion: version, name: "vrfnet", type: "vrf", vrfname: "vrf0", ...extra };
}

/**
 * Returns a new netns holding the veth eth0 (peer p0, both up) with 10.1.2.3/24 and a default route via 10.1.2.1:
 * the interface a main plugin made. Disposing deletes it all.
 */
function ctrNetns(): TempNetns {
  const ns = tempNetns(`${TAG}-ctr`);
  try {
    ipIn(ns, ["link", "add", "eth0", "type", "veth", "peer", "name", "p0"]);
    ipIn(ns, ["link", "set", "eth0", "up"]);
    ipIn(ns, ["link", "set", "p0", "up"]);
    ipIn(ns, ["addr", "add", ADDR.address, "dev", "eth0"]);
    ipIn(ns, ["route", "add", "default", "via", ADDR.gateway!, "dev", "eth0"]);
  } catch (e) {
    ns[Symbol.dispose]();
    throw e;
  }
  return ns;
}

/** What the vrf plugin may change: the links (kind, master, VRF table) and the IPv4 main table. */
function state(ns: TempNetns): unknown {
  const links = (JSON.parse(Bun.spawnSync(["ip", "-n", ns.name, "-j", "-d", "link", "show"]).stdout.toString()) as any[])
    .map((l) => ({ name: l.ifname, kind: l.linkinfo?.info_kind, master: l.master, table: l.linkinfo?.info_data?.table }));
  return { links, main: routesIn(ns, 4) };
}

const UNTOUCHED = {
  links: [
    { name: "lo", kind: undefined, master: undefined, table: undefined },
    { name: "p0", kind: "veth", master: undefined, table: undefined },
    { name: "eth0", kind: "veth", master: undefined, table: undefined },
  ],
  main: [
    { dst: "10.1.2.0/24", dev: "eth0", protocol: "kernel", scope: "link", prefsrc: "10.1.2.3" },
    { dst: "default", gateway: "10.1.2.1", dev: "eth0" },
  ],
};

/** Returns the exact stdout of an ADD that prints prevResult in `version`. */
function printedPrev(version: string, prev: Record<string, unknown>): string {
  return versionAtLeast(version, "1.0.0") ? printed(sortKeys(prev)) : printed({ ...prev, dns: {} });
}

describe.skipIf(skip)("vrf", () => {
  describe.each(VERSIONS)("%s", (version) => {
    test.skipIf(!kernel.ok)(`ADD makes VRF vrf0 (table 1, up), enslaves eth0, moves its routes; CHECK; DEL removes it; DEL again${NEEDS_VRF}`, () => {
      using ctr = ctrNetns();
      const prev = prevResultFor(version, ctr.path, [ADDR]);
      const conf = vrfConf(version, { prevResult: prev });
      const add = vrf("ADD", ctr.path, conf);
      expect(add.stderr).toBe("");
      expect(add.exitCode).toBe(0);
      expect(add.stdout).toBe(printedPrev(version, prev));
      expect(linksIn(ctr).find((l) => l.ifname === "vrf0")).toMatchObject({ kind: "vrf", up: true });
      expect(linksIn(ctr).find((l) => l.ifname === "eth0")?.master).toBe("vrf0");
      expect((state(ctr) as any).links.find((l: any) => l.name === "vrf0").table).toBe(1);
      expect(tableRoutes(ctr, 4, 1)).toContainEqual({ dst: "default", gateway: "10.1.2.1", dev: "eth0" });
      expect(routesIn(ctr, 4)).toEqual([]);
      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(vrf("CHECK", ctr.path, conf));
      expectSilentSuccess(vrf("DEL", ctr.path, conf));
      expect(linksIn(ctr).map((l) => [l.ifname, l.master])).toEqual([["lo", undefined], ["p0", undefined], ["eth0", undefined]]);
      expectSilentSuccess(vrf("DEL", ctr.path, conf));
    });

    test.skipIf(kernel.ok)(`ADD where the kernel lacks vrf: its words (EOPNOTSUPP), nothing left; DEL and DEL again succeed`, () => {
      using ctr = ctrNetns();
      const conf = vrfConf(version, { prevResult: prevResultFor(version, ctr.path, [ADDR]) });
      expectError(vrf("ADD", ctr.path, conf), {
        code: 999, msg: "cmdAdd failed: could not add VRF vrf0: RTM_NEWLINK: Operation not supported: Unknown device type",
      });
      expect(state(ctr)).toEqual(UNTOUCHED);
      if (versionAtLeast(version, "0.4.0")) expectError(vrf("CHECK", ctr.path, conf), { code: 999, msg: "failed to find vrf vrf0: Link not found" });
      expectSilentSuccess(vrf("DEL", ctr.path, conf));
      expectSilentSuccess(vrf("DEL", ctr.path, conf));
      expect(state(ctr)).toEqual(UNTOUCHED);
    });
  });

  describe(`an existing VRF${NEEDS_VRF}`, () => {
    test.skipIf(!kernel.ok)("a second member joins it; a different table is refused; the last member's DEL removes it", () => {
      using ctr = ctrNetns();
      ipIn(ctr, ["link", "add", "eth1", "type", "veth", "peer", "name", "p1"]);
      ipIn(ctr, ["link", "set", "eth1", "up"]);
      ipIn(ctr, ["link", "add", "other", "type", "vrf", "table", "1"]);
      const conf0 = vrfConf(V, { prevResult: prevResultFor(V, ctr.path, [ADDR]) });
      expect(vrf("ADD", ctr.path, conf0).exitCode).toBe(0);
      expect((state(ctr) as any).links.find((l: any) => l.name === "vrf0").table).toBe(2); // 1 is other's
      const conf1 = (table?: number) => vrfConf(V, { ...(table ? { table } : {}), prevResult: prevResultFor(V, ctr.path, [], "eth1") });
      expectError(vrf("ADD", ctr.path, conf1(7), "eth1"), { code: 999, msg: "cmdAdd failed: VRF vrf0 already exist with different routing table 2" });
      expect(vrf("ADD", ctr.path, conf1(2), "eth1").exitCode).toBe(0);
      expect(linksIn(ctr).find((l) => l.ifname === "eth1")?.master).toBe("vrf0");
      expectSilentSuccess(vrf("DEL", ctr.path, conf0));
      expect(linksIn(ctr).some((l) => l.ifname === "vrf0")).toBe(true);
      expectSilentSuccess(vrf("DEL", ctr.path, conf1(2), "eth1"));
      expect(linksIn(ctr).map((l) => l.ifname).sort()).toEqual(["eth0", "eth1", "lo", "other", "p0", "p1"]);
    });

    test.skipIf(!kernel.ok)("an explicit table", () => {
      using ctr = ctrNetns();
      const conf = vrfConf(V, { table: 4242, prevResult: prevResultFor(V, ctr.path, [ADDR]) });
      expect(vrf("ADD", ctr.path, conf).exitCode).toBe(0);
      expect((state(ctr) as any).links.find((l: any) => l.name === "vrf0").table).toBe(4242);
      expect(tableRoutes(ctr, 4, 4242)).toContainEqual({ dst: "default", gateway: "10.1.2.1", dev: "eth0" });
      expectSilentSuccess(vrf("DEL", ctr.path, conf));
      expect(linksIn(ctr).some((l) => l.ifname === "vrf0")).toBe(false);
    });
  });

  describe("bad input fails with its code and text before any VRF exists, and changes nothing", () => {
    const prev = (ns: TempNetns, ifname = "eth0") => prevResultFor(V, ns.path, [ADDR], ifname);
    const cases: [string, (ns: TempNetns) => object | string, number, string, string][] = [
      ["no vrfname", (ns) => vrfConf(V, { vrfname: "", prevResult: prev(ns) }), 7, "configuration is expected to have a valid vrf name", "eth0"],
      ["no prevResult", () => vrfConf(V), 7, "missing prevResult from earlier plugin", "eth0"],
      ["vrfname a number", (ns) => vrfConf(V, { vrfname: 5, prevResult: prev(ns) }), 999,
        "failed to load netconf: json: cannot unmarshal number into Go struct field VRFNetConf.vrfname of type string", "eth0"],
      ["a negative table", (ns) => vrfConf(V, { table: -1, prevResult: prev(ns) }), 999,
        "failed to load netconf: json: cannot unmarshal number -1 into Go struct field VRFNetConf.table of type uint32", "eth0"],
      ["table 2^32", (ns) => vrfConf(V, { table: 2 ** 32, prevResult: prev(ns) }), 999,
        "failed to load netconf: json: cannot unmarshal number 4294967296 into Go struct field VRFNetConf.table of type uint32", "eth0"],
      ["a prevResult of another family", () => vrfConf(V, { prevResult: { cniVersion: "0.4.0" } }), 999,
        'could not parse prevResult: could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"', "eth0"],
      ["an interface that is not there", (ns) => vrfConf(V, { prevResult: prev(ns, "eth9") }), 999, "cmdAdd failed: could not get link by name eth9", "eth9"],
      ["an interface enslaved elsewhere", (ns) => vrfConf(V, { prevResult: prev(ns, "p0") }), 999, "cmdAdd failed: interface p0 has already a master set: br9", "p0"],
      ["a vrfname naming a bridge", (ns) => vrfConf(V, { vrfname: "br9", prevResult: prev(ns) }), 999, "cmdAdd failed: Netlink br9 is not a VRF", "eth0"],
    ];
    test.each(cases)("%s", (_name, conf, code, msg, ifname) => {
      using ctr = ctrNetns();
      ipIn(ctr, ["link", "add", "br9", "type", "bridge"]);
      ipIn(ctr, ["link", "set", "p0", "master", "br9"]);
      const before = state(ctr);
      const add = vrf("ADD", ctr.path, conf(ctr), ifname);
      expectError(add, { code, msg });
      expect(add.stderr).toBe("");
      expect(state(ctr)).toEqual(before);
    });

    test("a CNI_NETNS that does not exist", () => {
      expectError(vrf("ADD", "/run/netns/cni-vrf-nonexistent", vrfConf(V, { prevResult: { cniVersion: V, ips: [{ address: ADDR.address }] } })), {
        code: 999, msg: 'cmdAdd failed: failed to Statfs "/run/netns/cni-vrf-nonexistent": no such file or directory',
      });
    });
  });

  test("CHECK: no prevResult, no VRF", () => {
    using ctr = ctrNetns();
    expectError(vrf("CHECK", ctr.path, vrfConf(V)), { code: 7, msg: "missing prevResult from earlier plugin" });
    expectError(vrf("CHECK", ctr.path, vrfConf(V, { prevResult: prevResultFor(V, ctr.path, [ADDR]) })), {
      code: 999, msg: "failed to find vrf vrf0: Link not found",
    });
  });

  test("DEL: no VRF, the netns gone, an empty CNI_NETNS, no prevResult: success, nothing changed; a non-VRF vrfname fails", () => {
    using ctr = ctrNetns();
    expectSilentSuccess(vrf("DEL", ctr.path, vrfConf(V)));
    expectSilentSuccess(vrf("DEL", ctr.path, vrfConf(V), "eth9"));
    expectSilentSuccess(vrf("DEL", "", vrfConf(V)));
    expectSilentSuccess(vrf("DEL", "/run/netns/cni-vrf-nonexistent", vrfConf(V)));
    expect(state(ctr)).toEqual(UNTOUCHED);
    expectError(vrf("DEL", ctr.path, vrfConf(V, { vrfname: "p0" })), { code: 999, msg: "Netlink p0 is not a VRF" });
    expectError(vrf("DEL", ctr.path, { name: "vrfnet", type: "vrf", cniVersion: V }), { code: 7, msg: "configuration is expected to have a valid vrf name" });
  });

  test("STATUS and GC: nothing to do, silent success; VERSION: 0.3.1 on", () => {
    expectSilentSuccess(runPlugin("vrf", { hostNetns: host!.name, env: { CNI_COMMAND: "STATUS" }, stdin: vrfConf(V) }));
    expectSilentSuccess(runPlugin("vrf", { hostNetns: host!.name, env: { CNI_COMMAND: "GC" }, stdin: vrfConf(V) }));
    const version = runPlugin("vrf", { env: { CNI_COMMAND: "VERSION" } });
    expect(version.json).toEqual({ cniVersion: "1.1.0", supportedVersions: ["0.3.1", "0.4.0", "1.0.0", "1.1.0"] });
  });
});
