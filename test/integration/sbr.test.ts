// sbr as a runtime runs it (env + stdin, inside a throwaway host netns), chained after our ptp + host-local and after
// a hand-made veth standing for a main plugin's interface, for every spec version: ADD prints prevResult unchanged,
// and the rules and routing tables read back with `ip -j` are exactly the expected ones (a rule per address into the
// first free table from 100, the table's default route via the gateway, the interface's main-table routes copied in,
// the originals gone from main); CHECK; DEL removes the rules, DEL again (SPEC-DIGEST §3.5). Then: table choice
// around rules that exist (and the quirk of a table with routes but no rule), `table`, `gateways`, addSourceHints,
// the flock on the netns file (an ADD waits for its holder; two ADDs at once get different tables), the DELs a
// runtime sends once things are gone, and bad input: each fails with its code and text and leaves nothing, including
// an ADD that fails halfway (rules and routes undone, main's routes back).
import { describe, expect, test } from "bun:test";
import { existsSync, writeFileSync } from "node:fs";
import { expectError, expectSilentSuccess } from "../support/expect-run.ts";
import { holdFlock } from "../support/flock-holder.ts";
import { hostLocalConf } from "../support/host-local.ts";
import { tempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { printed, sortKeys } from "../support/result.ts";
import { cniEnv, mustSkip, runPlugin, spawnPlugin, type Run } from "../support/run-plugin.ts";
import {
  addedRules, prevResultFor, routingState, sbrConf, sbrNetns, tableRoutes, V4, V6, type PrevIp,
} from "../support/sbr.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";
import { waitForAsync } from "../support/wait.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "sbri"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-sbri-`
const skip = mustSkip("sbr integration", { tools: ["ip", "flock"], ours: ["sbr", "ptp", "host-local"] });
const host = skip ? undefined : tempNetns(`${TAG}-host`);
cleanUpAfterAll(TAG, host);

/** Runs one of our plugins once with a runtime's env inside the host netns. */
function call(plugin: string, verb: string, netns: string, stdin: object | string, ifname = "eth0"): Run {
  return runPlugin(plugin, { hostNetns: host!.name, env: cniEnv(verb, netns, ifname), stdin });
}
const sbr = (verb: string, netns: string, stdin: object | string, ifname = "eth0") => call("sbr", verb, netns, stdin, ifname);

/** Returns the exact stdout of an ADD that prints prevResult in `version` (0.x print an empty dns; 1.x sort keys). */
function printedPrev(version: string, prev: Record<string, unknown>): string {
  if (versionAtLeast(version || "0.1.0", "1.0.0")) return printed(sortKeys(prev));
  return printed({ ...prev, dns: {} });
}

const DEFAULT_RULES4 = [
  { priority: 0, src: "all", table: "local" },
  { priority: 32766, src: "all", table: "main" },
  { priority: 32767, src: "all", table: "default" },
];
const DEFAULT_RULES6 = [{ priority: 0, src: "all", table: "local" }, { priority: 32766, src: "all", table: "main" }];
/** A rule `from <ip> lookup <table>` at the priority the kernel gives the first rule added (then one lower each). */
const rule = (src: string, table: number, priority = 32765) => ({ priority, src, table: String(table) });
/** The rules of a family with these added, in the kernel's order. */
const rulesWith = (defaults: object[], ...added: object[]) => [defaults[0], ...added, ...defaults.slice(1)];

// Routes as tableRoutes reads them back.
const R = {
  connected4: { dst: "10.1.2.0/24", dev: "eth0", protocol: "kernel", scope: "link", prefsrc: "10.1.2.3" },
  via4: { dst: "10.50.0.0/16", gateway: "10.1.2.1", dev: "eth0" },
  default4: { dst: "default", gateway: "10.1.2.1", dev: "eth0" },
  prefix6: { dst: "fd00:1::/64", dev: "eth0", protocol: "kernel", metric: 256 },
  linkLocal6: { dst: "fe80::/64", dev: "eth0", protocol: "kernel", metric: 256 },
  peerLinkLocal6: { dst: "fe80::/64", dev: "p0", protocol: "kernel", metric: 256 },
  default6: { dst: "default", gateway: "fd00:1::1", dev: "eth0", metric: 1024 },
};

/** The routing state of an sbrNetns with IPv6 and routes, before sbr. */
function untouched(): Record<string, unknown> {
  return {
    rules4: DEFAULT_RULES4, rules6: DEFAULT_RULES6,
    tablemainv4: [R.connected4, R.via4, R.default4], tablemainv6: [R.prefix6, R.linkLocal6, R.peerLinkLocal6, R.default6].sort(byDst),
    table100v4: [], table100v6: [], table101v4: [], table101v6: [], table102v4: [], table102v6: [], table103v4: [], table103v6: [],
    table500v4: [], table500v6: [],
  };
}
function byDst(a: Record<string, unknown>, b: Record<string, unknown>): number {
  return String(a.dst).localeCompare(String(b.dst)) || String(a.gateway).localeCompare(String(b.gateway)) || String(a.dev).localeCompare(String(b.dev));
}

/** The routing state after a plain ADD of V4 and V6 on such a netns: tables 100 (V4) and 101 (V6), main emptied. */
function routedBySource(): Record<string, unknown> {
  return {
    ...untouched(),
    rules4: rulesWith(DEFAULT_RULES4, rule("10.1.2.3", 100)),
    rules6: rulesWith(DEFAULT_RULES6, rule("fd00:1::3", 101)),
    tablemainv4: [],
    tablemainv6: [R.peerLinkLocal6],
    // every route with neither source nor gateway is generic: the IPv4 table gets the IPv6 ones too (upstream)
    table100v4: [R.connected4, R.via4, R.default4],
    table100v6: [R.prefix6, R.linkLocal6],
    table101v6: [R.prefix6, R.linkLocal6, R.default6].sort(byDst),
  };
}

const DUAL: PrevIp[] = [{ ...V4, interface: 0 }, { ...V6, interface: 0 }];

describe.skipIf(skip)("sbr", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    test("after ptp + host-local: a rule into table 100 with the routes ptp made; CHECK; DEL, DEL again", () => {
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const ptpConf = hostLocalConf(version, data.path, { routes: [{ dst: "0.0.0.0/0" }] });
      const ptpAdd = call("ptp", "ADD", ctr.path, ptpConf);
      expect([ptpAdd.exitCode, ptpAdd.stderr]).toEqual([0, ""]);
      const conf = sbrConf(version, { prevResult: ptpAdd.json });

      const add = sbr("ADD", ctr.path, conf);
      expect(add.stderr).toBe("");
      expect(add.exitCode).toBe(0);
      expect(add.stdout).toBe(ptpAdd.stdout); // prevResult, as it came
      expect(addedRules(ctr, 4)).toEqual([rule("10.1.2.2", 100)]);
      expect(addedRules(ctr, 6)).toEqual([]);
      // ptp's container routes: the gateway as a link route, the subnet and the default via it; the table also gets
      // its own default route via the gateway (replaced by the copy of ptp's).
      expect(tableRoutes(ctr, 4, 100)).toEqual([
        { dst: "10.1.2.0/24", gateway: "10.1.2.1", dev: "eth0", prefsrc: "10.1.2.2" },
        { dst: "10.1.2.1", dev: "eth0", scope: "link", prefsrc: "10.1.2.2" },
        { dst: "default", gateway: "10.1.2.1", dev: "eth0" },
      ]);
      expect(tableRoutes(ctr, 4, "main")).toEqual([]);
      expect(tableRoutes(ctr, 6, 100)).toEqual([{ dst: "fe80::/64", dev: "eth0", protocol: "kernel", metric: 256 }]);

      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(sbr("CHECK", ctr.path, conf));
      expectSilentSuccess(sbr("DEL", ctr.path, conf));
      expect(addedRules(ctr, 4)).toEqual([]);
      expectSilentSuccess(sbr("DEL", ctr.path, conf));
      expect(addedRules(ctr, 4)).toEqual([]);
      expectSilentSuccess(call("ptp", "DEL", ctr.path, { ...ptpConf, prevResult: ptpAdd.json }));
    });

    test("a hand-made dual-stack interface: tables 100 (IPv4) and 101 (IPv6), main emptied; CHECK; DEL, DEL again", () => {
      using ctr = sbrNetns(`${TAG}-ctr`, { ipv6: true, routes: true });
      expect(routingState(ctr)).toEqual(untouched());
      const prev = prevResultFor(version, ctr.path, DUAL);
      const conf = sbrConf(version, { prevResult: prev });

      const add = sbr("ADD", ctr.path, conf);
      expect(add.stderr).toBe("");
      expect(add.exitCode).toBe(0);
      expect(add.stdout).toBe(printedPrev(version, prev));
      expect(routingState(ctr)).toEqual(routedBySource());

      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(sbr("CHECK", ctr.path, conf));
      expectSilentSuccess(sbr("DEL", ctr.path, conf));
      // DEL takes the rules; the tables go with the interface, when the netns goes
      const deleted = { ...routedBySource(), rules4: DEFAULT_RULES4, rules6: DEFAULT_RULES6 };
      expect(routingState(ctr)).toEqual(deleted);
      expectSilentSuccess(sbr("DEL", ctr.path, conf));
      expect(routingState(ctr)).toEqual(deleted);
    });
  });

  const V = "1.1.0";

  describe("table choice", () => {
    test("the first table from 100 no rule points to, per address; a table with routes but no rule counts as free (upstream)", () => {
      using ctr = sbrNetns(`${TAG}-ctr`, { ipv6: true });
      ipIn(ctr, ["rule", "add", "from", "192.0.2.1", "table", "100", "priority", "100"]);
      ipIn(ctr, ["-6", "rule", "add", "from", "2001:db8::1", "table", "102", "priority", "100"]);
      ipIn(ctr, ["route", "add", "192.0.2.0/24", "dev", "p0", "table", "101"]);
      const add = sbr("ADD", ctr.path, sbrConf(V, { prevResult: prevResultFor(V, ctr.path, DUAL) }));
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(addedRules(ctr, 4)).toEqual([rule("10.1.2.3", 101, 99), { priority: 100, src: "192.0.2.1", table: "100" }]);
      expect(addedRules(ctr, 6)).toEqual([rule("fd00:1::3", 103, 99), { priority: 100, src: "2001:db8::1", table: "102" }]);
      // table 101 kept its route and got the interface's IPv4 routes beside it
      expect(tableRoutes(ctr, 4, 101)).toEqual([R.connected4, { dst: "192.0.2.0/24", dev: "p0", scope: "link" }, R.default4]);
      expect(tableRoutes(ctr, 6, 103)).toEqual([R.prefix6, R.linkLocal6, R.default6].sort(byDst));
      expect(tableRoutes(ctr, 6, 101)).toEqual([R.prefix6, R.linkLocal6]); // generic routes: every address's table
      expect(tableRoutes(ctr, 6, 102)).toEqual([]);
    });

    test("only the interface's addresses: those of other interfaces in prevResult are left alone", () => {
      using ctr = sbrNetns(`${TAG}-ctr`, { ipv6: true });
      const prev = {
        cniVersion: V,
        interfaces: [{ name: "veth0" }, { name: "eth0", sandbox: ctr.path }],
        ips: [{ interface: 0, address: "10.9.9.9/24" }, { interface: 1, address: V4.address, gateway: V4.gateway }, { address: V6.address }],
      };
      const add = sbr("ADD", ctr.path, sbrConf(V, { prevResult: prev }));
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(addedRules(ctr, 4)).toEqual([rule("10.1.2.3", 100)]);
      expect(addedRules(ctr, 6)).toEqual([rule("fd00:1::3", 101)]);
      // no gateway for the IPv6 address: its table has no default route
      expect(tableRoutes(ctr, 6, 101)).toEqual([R.prefix6, R.linkLocal6]);
      expect(tableRoutes(ctr, 4, 100)).toEqual([R.connected4, R.default4]);
    });
  });

  describe("table", () => {
    test("only the rules, into that table; main untouched; DEL deletes only that table's rules", () => {
      using ctr = sbrNetns(`${TAG}-ctr`, { ipv6: true, routes: true });
      ipIn(ctr, ["rule", "add", "from", "10.1.2.3", "table", "700", "priority", "700"]);
      const conf = sbrConf(V, { table: 500, prevResult: prevResultFor(V, ctr.path, DUAL) });
      const add = sbr("ADD", ctr.path, conf);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(addedRules(ctr, 4)).toEqual([rule("10.1.2.3", 500, 699), { priority: 700, src: "10.1.2.3", table: "700" }]);
      expect(addedRules(ctr, 6)).toEqual([rule("fd00:1::3", 500)]);
      const { rules4: _4, rules6: _6, ...routes } = routingState(ctr);
      const { rules4: _u4, rules6: _u6, ...before } = untouched();
      expect(routes).toEqual(before);

      expectSilentSuccess(sbr("DEL", ctr.path, conf));
      expect(addedRules(ctr, 4)).toEqual([{ priority: 700, src: "10.1.2.3", table: "700" }]);
      expect(addedRules(ctr, 6)).toEqual([]);
      // without `table`, DEL takes every rule from the interface's addresses
      expectSilentSuccess(sbr("DEL", ctr.path, sbrConf(V)));
      expect(addedRules(ctr, 4)).toEqual([]);
    });

    test("a table above 255", () => {
      using ctr = sbrNetns(`${TAG}-ctr`);
      const conf = sbrConf(V, { table: 100000, prevResult: prevResultFor(V, ctr.path, [V4]) });
      expect(sbr("ADD", ctr.path, conf).exitCode).toBe(0);
      expect(addedRules(ctr, 4)).toEqual([rule("10.1.2.3", 100000)]);
      expectSilentSuccess(sbr("DEL", ctr.path, conf));
      expect(addedRules(ctr, 4)).toEqual([]);
    });
  });

  describe("gateways", () => {
    test("a static gateway per family replaces prevResult's in the table's default route", () => {
      using ctr = sbrNetns(`${TAG}-ctr`, { ipv6: true });
      const conf = sbrConf(V, { gateways: ["fd00:1::fe", "10.1.2.254"], prevResult: prevResultFor(V, ctr.path, DUAL) });
      const add = sbr("ADD", ctr.path, conf);
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(tableRoutes(ctr, 4, 100)).toEqual([R.connected4, { ...R.default4, gateway: "10.1.2.254" }]);
      expect(tableRoutes(ctr, 6, 101)).toEqual([R.prefix6, R.linkLocal6, { ...R.default6, gateway: "fd00:1::fe" }].sort(byDst));
    });

    test("an IPv4 one only: the IPv6 address keeps its own gateway", () => {
      using ctr = sbrNetns(`${TAG}-ctr`, { ipv6: true });
      const conf = sbrConf(V, { gateways: ["10.1.2.254"], prevResult: prevResultFor(V, ctr.path, DUAL) });
      expect(sbr("ADD", ctr.path, conf).exitCode).toBe(0);
      expect(tableRoutes(ctr, 4, 100)).toContainEqual({ ...R.default4, gateway: "10.1.2.254" });
      expect(tableRoutes(ctr, 6, 101)).toContainEqual(R.default6);
    });

    test("upstream quirk: a default route the interface has in main is copied over the static one", () => {
      using ctr = sbrNetns(`${TAG}-ctr`, { routes: true });
      const conf = sbrConf(V, { gateways: ["10.1.2.254"], prevResult: prevResultFor(V, ctr.path, [V4]) });
      expect(sbr("ADD", ctr.path, conf).exitCode).toBe(0);
      expect(tableRoutes(ctr, 4, 100)).toEqual([R.connected4, R.via4, R.default4]);
    });
  });

  test("addSourceHints: the subnet routes stay in main with the address as source, everything else leaves main", () => {
    using ctr = sbrNetns(`${TAG}-ctr`, { ipv6: true, routes: true });
    const conf = sbrConf(V, { addSourceHints: true, prevResult: prevResultFor(V, ctr.path, DUAL) });
    const add = sbr("ADD", ctr.path, conf);
    expect([add.exitCode, add.stderr]).toEqual([0, ""]);
    expect(routingState(ctr)).toEqual({
      ...routedBySource(),
      // IPv4: the connected route replaced by one of ours with the source; IPv6: ours beside the kernel's, which
      // (scope global, as every IPv6 route) leaves with the rest
      tablemainv4: [{ dst: "10.1.2.0/24", dev: "eth0", scope: "link", prefsrc: "10.1.2.3" }],
      tablemainv6: [{ dst: "fd00:1::/64", dev: "eth0", prefsrc: "fd00:1::3", metric: 1024 }, R.peerLinkLocal6],
    });
  });

  describe("the flock on the netns file", () => {
    test("ADD waits while another process holds it, then proceeds", async () => {
      using ctr = sbrNetns(`${TAG}-ctr`);
      await using holder = holdFlock(ctr.path);
      const pending = spawnPlugin("sbr", {
        hostNetns: host!.name, env: cniEnv("ADD", ctr.path), stdin: sbrConf(V, { prevResult: prevResultFor(V, ctr.path, [V4]) }),
      });
      // async: the plugin's stdin is written from the event loop, which a synchronous wait would block
      await waitForAsync(() => holder.listed(true), "sbr ADD to wait for the lock");
      expect(addedRules(ctr, 4)).toEqual([]);
      await holder.release();
      const add = await pending;
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(addedRules(ctr, 4)).toEqual([rule("10.1.2.3", 100)]);
    });

    test("two ADDs at once on two interfaces of one netns get different tables", async () => {
      using ctr = sbrNetns(`${TAG}-ctr`);
      ipIn(ctr, ["link", "add", "eth1", "type", "veth", "peer", "name", "p1"]);
      ipIn(ctr, ["link", "set", "eth1", "up"]);
      ipIn(ctr, ["addr", "add", "10.1.3.3/24", "dev", "eth1"]);
      const both = await Promise.all(["eth0", "eth1"].map((ifname) => spawnPlugin("sbr", {
        hostNetns: host!.name,
        env: cniEnv("ADD", ctr.path, ifname),
        stdin: sbrConf(V, { prevResult: prevResultFor(V, ctr.path, [{ address: ifname === "eth0" ? V4.address : "10.1.3.3/24" }], ifname) }),
      })));
      expect(both.map((r) => [r.exitCode, r.stderr])).toEqual([[0, ""], [0, ""]]);
      const tables = addedRules(ctr, 4).map((r) => r.table).sort();
      expect(tables).toEqual(["100", "101"]);
    });
  });

  describe("DEL when things are gone", () => {
    test("the interface gone, the netns gone, an empty CNI_NETNS, no prevResult: success, nothing created", () => {
      using ctr = sbrNetns(`${TAG}-ctr`);
      const conf = sbrConf(V, { prevResult: prevResultFor(V, ctr.path, [V4]) });
      expect(sbr("ADD", ctr.path, conf).exitCode).toBe(0);
      expectSilentSuccess(sbr("DEL", ctr.path, sbrConf(V), "eth9"));
      expect(addedRules(ctr, 4)).toEqual([rule("10.1.2.3", 100)]);
      ipIn(ctr, ["link", "del", "eth0"]);
      expectSilentSuccess(sbr("DEL", ctr.path, conf));
      expectSilentSuccess(sbr("DEL", "", conf));
      const path = ctr.path;
      ctr[Symbol.dispose]();
      expectSilentSuccess(sbr("DEL", path, conf));
      expect(existsSync(path)).toBe(false); // upstream's lock would have created a file there
    });
  });

  describe("bad input fails with its code and text and changes nothing", () => {
    // Each row: name, stdin, code, msg, CNI_IFNAME (bun passes a `done` callback for a parameter a row lacks).
    // Each case gets a fresh netns (the same interface, addresses and routes) at ctr.path: prevResult names it.
    const ctr = { path: "" };
    const prev = () => prevResultFor(V, ctr.path, DUAL);
    const cases: [string, () => object | string, number, string | RegExp, string][] = [
      ["no prevResult", () => sbrConf(V), 7, "This plugin must be called as chained plugin", "eth0"],
      ["prevResult without IPs", () => sbrConf(V, { prevResult: { cniVersion: V } }), 7, "No IP addresses supplied on interface: eth0", "eth0"],
      ["three gateways", () => sbrConf(V, { gateways: ["10.0.0.1", "fd00::1", "10.0.0.2"], prevResult: prev() }), 7,
        "gateways list cannot contain more than 2 entries (one IPv4, one IPv6)", "eth0"],
      ["a gateway that is no IP", () => sbrConf(V, { gateways: ["10.0.0.300"], prevResult: prev() }), 7, "invalid static gateway IP address: 10.0.0.300", "eth0"],
      ["two IPv4 gateways", () => sbrConf(V, { gateways: ["10.0.0.1", "10.0.0.2"], prevResult: prev() }), 7,
        "gateways list contains multiple IPv4 addresses: 10.0.0.1 and 10.0.0.2", "eth0"],
      ["two IPv6 gateways, even with table", () => sbrConf(V, { table: 500, gateways: ["fd00::1", "fd00::2"], prevResult: prev() }), 7,
        "gateways list contains multiple IPv6 addresses: fd00::1 and fd00::2", "eth0"],
      ["table 0", () => sbrConf(V, { table: 0, prevResult: prev() }), 7, "invalid table 0: must be between 1 and 4294967295", "eth0"],
      ["a negative table", () => sbrConf(V, { table: -1, prevResult: prev() }), 7, "invalid table -1: must be between 1 and 4294967295", "eth0"],
      ["table 2^32", () => sbrConf(V, { table: 2 ** 32, prevResult: prev() }), 7, "invalid table 4294967296: must be between 1 and 4294967295", "eth0"],
      ["table as a string", () => sbrConf(V, { table: "100", prevResult: prev() }), 999,
        "failed to parse network configuration: json: cannot unmarshal string into Go struct field PluginConf.table of type int", "eth0"],
      ["table 1.5", () => JSON.stringify(sbrConf(V, { prevResult: prev() })).replace("{", '{"table":1.5,'), 999,
        "failed to parse network configuration: json: cannot unmarshal number 1.5 into Go struct field PluginConf.table of type int", "eth0"],
      ["gateways as a string", () => sbrConf(V, { gateways: "10.0.0.1", prevResult: prev() }), 999,
        "failed to parse network configuration: json: cannot unmarshal string into Go struct field PluginConf.gateways of type []string", "eth0"],
      ["addSourceHints as a string", () => sbrConf(V, { addSourceHints: "yes", prevResult: prev() }), 999,
        "failed to parse network configuration: json: cannot unmarshal string into Go struct field PluginConf.addSourceHints of type bool", "eth0"],
      ["a prevResult of another version family", () => sbrConf(V, { prevResult: { ...prev(), cniVersion: "0.4.0" } }), 999,
        /^could not parse prevResult: /, "eth0"],
      ["an interface that is not there", () => sbrConf(V, { prevResult: prevResultFor(V, ctr.path, [{ address: V4.address }]) }), 999,
        "Cannot find network interface eth9: Link not found", "eth9"],
      ["a static IPv6 gateway off every subnet: the IPv4 table done, then undone", () => sbrConf(V, { gateways: ["fd99::1"], prevResult: prev() }), 999,
        /^Failed to add default route to fd99::1: RTM_NEWROUTE: /, "eth0"],
      ["an IPv4 gateway off every subnet, with addSourceHints", () => sbrConf(V, { addSourceHints: true, gateways: ["10.9.9.9"], prevResult: prev() }), 999,
        /^Failed to add default route to 10\.9\.9\.9: RTM_NEWROUTE: /, "eth0"],
    ];
    test.each(cases)("%s", (_name, stdin, code, msg, ifname) => {
      using ns = sbrNetns(`${TAG}-bad`, { ipv6: true, routes: true });
      ctr.path = ns.path;
      expect(routingState(ns)).toEqual(untouched());
      const add = sbr("ADD", ns.path, stdin(), ifname);
      expectError(add, { code, msg });
      expect(add.stderr).toBe(""); // every undo step worked
      expect(routingState(ns)).toEqual(untouched());
    });

    test("a CNI_NETNS that does not exist, or is not a netns: an error, and no file made there", () => {
      using dir = tempDir(`${TAG}-dir`);
      const missing = `${dir.path}/nonet`;
      const conf = sbrConf(V, { prevResult: prevResultFor(V, missing, [V4]) });
      expectError(sbr("ADD", missing, conf), { code: 999, msg: `failed to open netns "${missing}": failed to Statfs "${missing}": no such file or directory` });
      expect(existsSync(missing)).toBe(false);
      writeFileSync(`${dir.path}/file`, "");
      expectError(sbr("ADD", `${dir.path}/file`, conf), { code: 999, msg: new RegExp(`^failed to open netns "${dir.path}/file": unknown FS magic on `) });
    });
  });
});
