// tuning as a runtime runs it (env + stdin, inside a throwaway host netns), on a veth that stands for the interface a
// main plugin made in a throwaway container netns, for every spec version: ADD sets each sysctl and link setting from
// each of its sources, writes the backup byte for byte (Go's bytes, then our last key "cni.dev/network" naming the
// network), CHECK passes and fails by setting, DEL restores everything and removes the backup, twice over, and with
// the netns gone; bad input fails naming the field and leaves nothing changed, and a change the kernel refuses is
// undone (SPEC-DIGEST §3.4). GC (ours) removes this network's stale backups, and no other network's nor Go's.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { expectError, expectSilentSuccess } from "../support/expect-run.ts";
import { cniEnv, runPlugin, runtimeEnv, type CallOptions, type Run } from "../support/run-plugin.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { snapshotDir, tempDir, underUmask } from "../support/temp-dir.ts";
import {
  expectedResult, FRESH_LINK, linkState, NETWORK, NEW_MAC, OLD_MAC, prevResultFor, sysctlOf, sysctlsOf, tuningConf, vethNetns,
} from "../support/tuning.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "tun"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-tun-`
const host = tempNetns(`${TAG}-host`);
cleanUpAfterAll(TAG, host);

/** Runs our tuning once with a runtime's env (GC gets only CNI_COMMAND, as a runtime sends it). */
function call(verb: string, netns: string, stdin: object | string, o: CallOptions = {}): Run {
  return runPlugin("tuning", { hostNetns: host.name, env: runtimeEnv(verb, netns, o), stdin });
}

const SYSCTLS = {
  "net.ipv4.conf.IFNAME.arp_notify": "1",
  "net/ipv4/conf/IFNAME/arp_ignore": "2",
  "net.core.somaxconn": "1000",
};
const SYSCTL_PATHS = ["net/ipv4/conf/eth0/arp_notify", "net/ipv4/conf/eth0/arp_ignore", "net/core/somaxconn"];
const SYSCTLS_SET = { "net/ipv4/conf/eth0/arp_notify": "1", "net/ipv4/conf/eth0/arp_ignore": "2", "net/core/somaxconn": "1000" };
const ALL_SETTINGS = { sysctl: SYSCTLS, mac: NEW_MAC, mtu: 1400, promisc: true, allmulti: true, txQLen: 500 };
const TUNED = { mac: NEW_MAC, mtu: 1400, promiscuity: 1, promisc: true, allmulti: true, txqlen: 500 };
// The backup we write for ALL_SETTINGS on a fresh link: the old values, in configToRestore's field order (Go's bytes),
// then ours only, the network's name.
const FULL_BACKUP = `{\n "mac": "${OLD_MAC}",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false,\n "txQLen": 1000,\n "cni.dev/network": "${NETWORK}"\n}`;
/** Our backup of an MTU of 1500 (the fresh link's), and Go's, which names no network. */
const MTU_BACKUP = `{\n "mtu": 1500,\n "cni.dev/network": "${NETWORK}"\n}`;
const GO_MTU_BACKUP = '{\n "mtu": 1500\n}';

describe.each(ALL_VERSIONS)("tuning %s", (version) => {
  const hasCheck = versionAtLeast(version, "0.4.0");

  test("ADD sets sysctls and every link setting, writes the backup; CHECK; DEL restores and removes it; DEL again", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const dataDir = `${data.path}/tuning`;
    const before = sysctlsOf(ctr, SYSCTL_PATHS);
    const conf = tuningConf(version, { ...ALL_SETTINGS, dataDir, prevResult: prevResultFor(version, ctr.path) });

    const add = call("ADD", ctr.path, conf);
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    expect(add.json).toEqual(expectedResult(version, ctr.path, NEW_MAC));
    expect(linkState(ctr)).toEqual(TUNED);
    expect(sysctlsOf(ctr, SYSCTL_PATHS)).toEqual(SYSCTLS_SET);
    expect(snapshotDir(data.path)).toEqual({
      tuning: { type: "dir", mode: underUmask(0o600) }, // upstream quirk: MkdirAll(dataDir, 0600)
      "tuning/ctr1_eth0.json": { type: "file", mode: underUmask(0o600), content: FULL_BACKUP },
    });

    if (hasCheck) expectSilentSuccess(call("CHECK", ctr.path, conf));

    const del = tuningConf(version, { ...ALL_SETTINGS, dataDir });
    expectSilentSuccess(call("DEL", ctr.path, del));
    expect(linkState(ctr)).toEqual(FRESH_LINK);
    expect(snapshotDir(data.path)).toEqual({ tuning: { type: "dir", mode: underUmask(0o600) } });
    // upstream does not restore sysctls: the netns is about to go anyway
    expect(sysctlsOf(ctr, SYSCTL_PATHS)).toEqual(SYSCTLS_SET);
    expect(before).not.toEqual(SYSCTLS_SET);

    expectSilentSuccess(call("DEL", ctr.path, del));
    expect(linkState(ctr)).toEqual(FRESH_LINK);
  });

  test("args.cni overrides the top-level settings and merges its sysctls", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(version, {
      dataDir: data.path,
      sysctl: { "net.ipv4.conf.IFNAME.arp_notify": "1", "net.core.somaxconn": "1000" },
      mac: "02:54:00:00:00:77", mtu: 9000, promisc: false, allmulti: false, txQLen: 1,
      args: { cni: { sysctl: { "net.core.somaxconn": "900", "net.ipv4.conf.IFNAME.arp_ignore": "1" }, mac: NEW_MAC, mtu: 1400, promisc: true, allmulti: true, txQLen: 500 } },
      prevResult: prevResultFor(version, ctr.path),
    });
    const add = call("ADD", ctr.path, conf);
    expect(add.exitCode).toBe(0);
    expect(add.json).toEqual(expectedResult(version, ctr.path, NEW_MAC));
    expect(linkState(ctr)).toEqual(TUNED);
    expect(sysctlsOf(ctr, SYSCTL_PATHS)).toEqual({
      "net/ipv4/conf/eth0/arp_notify": "1", "net/ipv4/conf/eth0/arp_ignore": "1", "net/core/somaxconn": "900",
    });
    if (hasCheck) expectSilentSuccess(call("CHECK", ctr.path, conf));
    expect(readFileSync(`${data.path}/ctr1_eth0.json`, "utf8")).toBe(FULL_BACKUP);
    expectSilentSuccess(call("DEL", ctr.path, conf));
    expect(linkState(ctr)).toEqual(FRESH_LINK);
    expect(existsSync(`${data.path}/ctr1_eth0.json`)).toBe(false);
  });

  // Precedence, lowest to highest: mac, CNI_ARGS MAC, runtimeConfig.mac, args.cni.mac.
  const macSources: [string, object, string | undefined, string][] = [
    ["mac", { mac: "02:54:00:00:00:11" }, undefined, "02:54:00:00:00:11"],
    ["CNI_ARGS MAC over mac", { mac: "02:54:00:00:00:11" }, "IgnoreUnknown=1;K8S_POD_NAME=p;MAC=02:54:00:00:00:22", "02:54:00:00:00:22"],
    ["runtimeConfig.mac over CNI_ARGS", { mac: "02:54:00:00:00:11", runtimeConfig: { mac: "02:54:00:00:00:33" } }, "MAC=02:54:00:00:00:22", "02:54:00:00:00:33"],
    ["args.cni.mac over runtimeConfig", { runtimeConfig: { mac: "02:54:00:00:00:33" }, args: { cni: { mac: "02:54:00:00:00:44" } } }, "MAC=02:54:00:00:00:22", "02:54:00:00:00:44"],
  ];
  test.each(macSources)("MAC from %s", (_name, extra, cniArgs, want) => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(version, { dataDir: data.path, ...extra, prevResult: prevResultFor(version, ctr.path) });
    const add = call("ADD", ctr.path, conf, { cniArgs });
    expect(add.exitCode).toBe(0);
    expect(add.json).toEqual(expectedResult(version, ctr.path, want));
    expect(linkState(ctr)).toEqual({ ...FRESH_LINK, mac: want });
    expect(readFileSync(`${data.path}/ctr1_eth0.json`, "utf8")).toBe(`{\n "mac": "${OLD_MAC}",\n "cni.dev/network": "${NETWORK}"\n}`);
    if (hasCheck) expectSilentSuccess(call("CHECK", ctr.path, conf, { cniArgs }));
    expectSilentSuccess(call("DEL", ctr.path, conf, { cniArgs }));
    expect(linkState(ctr)).toEqual(FRESH_LINK);
  });

  test("only sysctls: no backup file, no dataDir", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(version, { dataDir: `${data.path}/d`, sysctl: SYSCTLS, prevResult: prevResultFor(version, ctr.path) });
    const add = call("ADD", ctr.path, conf);
    expect(add.exitCode).toBe(0);
    expect(add.json).toEqual(expectedResult(version, ctr.path));
    expect(sysctlsOf(ctr, SYSCTL_PATHS)).toEqual(SYSCTLS_SET);
    expect(linkState(ctr)).toEqual(FRESH_LINK);
    expect(snapshotDir(data.path)).toEqual({});
    if (hasCheck) expectSilentSuccess(call("CHECK", ctr.path, conf));
    expectSilentSuccess(call("DEL", ctr.path, conf));
  });

  test("DEL after the netns is gone succeeds and leaves the backup (as upstream)", () => {
    using data = tempDir(`${TAG}-data`);
    let path: string;
    {
      using ctr = vethNetns(`${TAG}-ctr`);
      path = ctr.path;
      const add = call("ADD", ctr.path, tuningConf(version, { dataDir: data.path, mtu: 1400, prevResult: prevResultFor(version, ctr.path) }));
      expect(add.exitCode).toBe(0);
    }
    expect(existsSync(path)).toBe(false);
    expectSilentSuccess(call("DEL", path, tuningConf(version, { dataDir: data.path, mtu: 1400 })));
    expect(snapshotDir(data.path)).toEqual({ "ctr1_eth0.json": { type: "file", mode: underUmask(0o600), content: MTU_BACKUP } });
  });
});

describe("CHECK", () => {
  const V = "1.0.0";

  function tuned(ctr: TempNetns, data: string) {
    const conf = tuningConf(V, { ...ALL_SETTINGS, dataDir: data, prevResult: prevResultFor(V, ctr.path) });
    expect(call("ADD", ctr.path, conf).exitCode).toBe(0);
    return conf;
  }

  test("each setting that differs fails, naming it", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuned(ctr, data.path);
    const cases: [object, string][] = [
      [{ sysctl: { "net.core.somaxconn": "999" } }, "Error: Tuning configured value of /proc/sys/net/core/somaxconn is 999, current value is 1000"],
      [{ mac: "02:54:00:00:00:98" }, `Error: Tuning configured Ethernet of eth0 is 02:54:00:00:00:98, current value is ${NEW_MAC}`],
      // upstream quirk: compared as text, so the same MAC in capitals fails
      [{ mac: NEW_MAC.toUpperCase() }, `Error: Tuning configured Ethernet of eth0 is ${NEW_MAC.toUpperCase()}, current value is ${NEW_MAC}`],
      [{ mtu: 1401 }, "Error: Tuning configured MTU of eth0 is 1401, current value is 1400"],
      [{ promisc: false }, "Error: Tuning link eth0 configured promisc is false, current value is 1"],
      [{ allmulti: false }, "Error: Tuning configured all-multicast mode of eth0 is false, current value is true"],
      [{ txQLen: 501 }, "Error: Tuning configured Transmit Queue Length of eth0 is 501, current value is 500"],
      [{ sysctl: { "net.ipv4.nope": "1" } }, "open /proc/sys/net/ipv4/nope: no such file or directory"],
      [{ sysctl: { "kernel.hostname": "x" } }, 'invalid net sysctl key: "kernel/hostname"'],
    ];
    for (const [extra, msg] of cases) expectError(call("CHECK", ctr.path, { ...conf, ...extra }), { code: 999, msg });
    expectSilentSuccess(call("CHECK", ctr.path, conf));
  });

  test("promisc is checked both ways: absent means the link must not be promiscuous", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const plain = tuningConf(V, { dataDir: data.path, prevResult: prevResultFor(V, ctr.path) });
    expectSilentSuccess(call("CHECK", ctr.path, plain));
    expectError(call("CHECK", ctr.path, { ...plain, promisc: true }), { code: 999, msg: "Error: Tuning link eth0 configured promisc is true, current value is 0" });
    Bun.spawnSync(["ip", "-n", ctr.name, "link", "set", "eth0", "promisc", "on"]);
    expectError(call("CHECK", ctr.path, plain), { code: 999, msg: "Error: Tuning link eth0 configured promisc is false, current value is 1" });
    expectSilentSuccess(call("CHECK", ctr.path, { ...plain, promisc: true }));
  });

  test("without prevResult, with duplicate keys, or without the link", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    const conf = tuningConf(V, { prevResult: prevResultFor(V, ctr.path) });
    expectError(call("CHECK", ctr.path, tuningConf(V)), { code: 999, msg: "Required prevResult missing" });
    const dup = JSON.stringify(conf).replace("{", '{"sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"1"},');
    expectError(call("CHECK", ctr.path, dup), { code: 999, msg: "duplicated sysctl keys are not allowed" });
    expectError(call("CHECK", ctr.path, conf, { ifname: "eth9" }), { code: 999, msg: "Cannot find container link eth9" });
  });
});

describe("bad input fails naming the field, before anything changes", () => {
  const V = "1.1.0";
  const GOOD = { sysctl: { "net.ipv4.conf.IFNAME.arp_notify": "1" }, mtu: 1400, promisc: true };

  const cases: [string, (prev: object) => object | string, CallOptions, number, string][] = [
    ["a sysctl outside net", (prev) => tuningConf(V, { ...GOOD, sysctl: { ...GOOD.sysctl, "kernel.hostname": "x" }, prevResult: prev }), {}, 999,
      'invalid net sysctl key: "kernel/hostname"'],
    ["a path traversal out of net", (prev) => tuningConf(V, { ...GOOD, sysctl: { ...GOOD.sysctl, "net/../../kernel/x": "1" }, prevResult: prev }), {}, 999,
      'invalid net sysctl key: "net///////kernel/x"'],
    ["a path traversal from the start", (prev) => tuningConf(V, { ...GOOD, sysctl: { "../../etc/passwd": "x" }, prevResult: prev }), {}, 999,
      'invalid net sysctl key: "//////etc/passwd"'],
    ["a duplicate sysctl key",
      (prev) => JSON.stringify(tuningConf(V, { ...GOOD, prevResult: prev })).replace('"sysctl":{', '"sysctl":{"net.core.somaxconn":"1","net.core.somaxconn":"2",'),
      {}, 999, "duplicated sysctl keys are not allowed"],
    ["a bad MAC", (prev) => tuningConf(V, { ...GOOD, mac: "02:54:00:00:00", prevResult: prev }), {}, 999,
      "invalid args 02:54:00:00:00 for MAC addr: address 02:54:00:00:00: invalid MAC address"],
    ["a bad MAC from CNI_ARGS", (prev) => tuningConf(V, { ...GOOD, prevResult: prev }), { cniArgs: "MAC=nope" }, 999,
      "invalid args nope for MAC addr: address nope: invalid MAC address"],
    ["an unknown CNI_ARGS key", (prev) => tuningConf(V, { ...GOOD, prevResult: prev }), { cniArgs: "FOO=1" }, 999, 'ARGS: unknown args ["FOO=1"]'],
    ["an interface name with /", (prev) => tuningConf(V, { ...GOOD, prevResult: prev }), { ifname: "eth0/x" }, 4,
      "interface name contains / or : or whitespace characters"],
    ["no prevResult", () => tuningConf(V, GOOD), {}, 999, "Required prevResult missing"],
    ["a prevResult of another version family", () => tuningConf(V, { ...GOOD, prevResult: { cniVersion: "0.4.0" } }), {}, 999,
      'could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"'],
    ["a string MTU", (prev) => tuningConf(V, { ...GOOD, mtu: "1400", prevResult: prev }), {}, 999,
      "failed to load netconf: json: cannot unmarshal string into Go struct field TuningConf.mtu of type int"],
    ["a negative MTU", (prev) => tuningConf(V, { ...GOOD, mtu: -1, prevResult: prev }), {}, 7, "invalid mtu -1: must be between 0 and 4294967295"],
    ["a negative txQLen", (prev) => tuningConf(V, { ...GOOD, txQLen: -1, prevResult: prev }), {}, 7, "invalid txQLen -1: must be between 0 and 4294967295"],
    ["a sysctl value that is not a string", (prev) => tuningConf(V, { ...GOOD, sysctl: { "net.core.somaxconn": 1 }, prevResult: prev }), {}, 999,
      "json: cannot unmarshal number into Go struct field sysctlCheck.sysctl of type string"],
  ];
  test.each(cases)("%s", (_name, stdin, opts, code, msg) => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const before = { link: linkState(ctr), sysctl: sysctlOf(ctr, "net/ipv4/conf/eth0/arp_notify") };
    const input = stdin(prevResultFor(V, ctr.path));
    const withDir = typeof input === "string" ? input.replace("{", `{"dataDir":${JSON.stringify(`${data.path}/d`)},`) : { ...input, dataDir: `${data.path}/d` };
    expectError(call("ADD", ctr.path, withDir, opts), { code, msg });
    expect({ link: linkState(ctr), sysctl: sysctlOf(ctr, "net/ipv4/conf/eth0/arp_notify") }).toEqual(before);
    expect(snapshotDir(data.path)).toEqual({});
  });

  test("the allowlist (test hook CNI_TUNING_TEST_ALLOWLIST) refuses a key it does not list", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    writeFileSync(`${data.path}/allowlist.conf`, "^net\\.ipv4\\.conf\\.IFNAME\\.arp_notify$\n  ^net\\.core\\.  \n");
    const env = { CNI_TUNING_TEST_ALLOWLIST: `${data.path}/allowlist.conf` };
    const dataDir = `${data.path}/d`;
    const refused = tuningConf(V, { dataDir, ...GOOD, sysctl: { "net.ipv4.conf.IFNAME.arp_notify": "1", "net.ipv4.conf.eth0.arp_ignore": "1" }, prevResult: prevResultFor(V, ctr.path) });
    expectError(call("ADD", ctr.path, refused, { env }), {
      code: 999,
      msg: "Sysctl net.ipv4.conf.eth0.arp_ignore is not allowed. Only the following sysctls are allowed: [^net\\.ipv4\\.conf\\.IFNAME\\.arp_notify$ ^net\\.core\\.]",
    });
    expect(linkState(ctr)).toEqual(FRESH_LINK);
    expect(sysctlOf(ctr, "net/ipv4/conf/eth0/arp_notify")).toBe("0");
    expect(existsSync(dataDir)).toBe(false);
    const allowed = tuningConf(V, { dataDir, sysctl: { "net.ipv4.conf.IFNAME.arp_notify": "1", "net.core.somaxconn": "1000" }, prevResult: prevResultFor(V, ctr.path) });
    expect(call("ADD", ctr.path, allowed, { env }).exitCode).toBe(0);
    expect(sysctlOf(ctr, "net/ipv4/conf/eth0/arp_notify")).toBe("1");
  });
});

describe("a change the kernel refuses is undone", () => {
  const V = "1.1.0";

  test("an MTU the veth cannot take: sysctls, MAC and promisc back, no backup left", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(V, { dataDir: `${data.path}/d`, sysctl: SYSCTLS, mac: NEW_MAC, promisc: true, mtu: 70000, prevResult: prevResultFor(V, ctr.path) });
    const before = sysctlsOf(ctr, SYSCTL_PATHS);
    expectError(call("ADD", ctr.path, conf), { code: 999, msg: "invalid argument" });
    expect(linkState(ctr)).toEqual(FRESH_LINK);
    expect(sysctlsOf(ctr, SYSCTL_PATHS)).toEqual(before);
    expect(snapshotDir(data.path)).toEqual({ d: { type: "dir", mode: underUmask(0o600) } });
  });

  test("a sysctl that does not exist: the ones written before it get their old values back", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(V, { dataDir: data.path, sysctl: { ...SYSCTLS, "net.ipv4.nope": "1" }, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    const before = sysctlsOf(ctr, SYSCTL_PATHS);
    expectError(call("ADD", ctr.path, conf), { code: 999, msg: "open /proc/sys/net/ipv4/nope: no such file or directory" });
    expect(sysctlsOf(ctr, SYSCTL_PATHS)).toEqual(before);
    expect(linkState(ctr)).toEqual(FRESH_LINK);
    expect(snapshotDir(data.path)).toEqual({});
  });

  test("a failed re-ADD puts the earlier backup back instead of removing it", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const first = tuningConf(V, { dataDir: data.path, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    expect(call("ADD", ctr.path, first).exitCode).toBe(0);
    expectError(call("ADD", ctr.path, { ...first, mtu: 70000 }), { code: 999, msg: "invalid argument" });
    expect(readFileSync(`${data.path}/ctr1_eth0.json`, "utf8")).toBe(MTU_BACKUP);
    expect(linkState(ctr).mtu).toBe(1400);
    expectSilentSuccess(call("DEL", ctr.path, first));
    expect(linkState(ctr)).toEqual(FRESH_LINK);
  });

  test("a dataDir that is a file: upstream's error, the sysctls put back", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    writeFileSync(`${data.path}/f`, "");
    const conf = tuningConf(V, { dataDir: `${data.path}/f`, sysctl: SYSCTLS, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    const before = sysctlsOf(ctr, SYSCTL_PATHS);
    expectError(call("ADD", ctr.path, conf), { code: 999, msg: `failed to save file eth0.json: open ${data.path}/f/ctr1_eth0.json: not a directory` });
    expect(sysctlsOf(ctr, SYSCTL_PATHS)).toEqual(before);
    expect(linkState(ctr)).toEqual(FRESH_LINK);
  });

  test("a link that is not there: nothing written", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(V, { dataDir: data.path, sysctl: { "net.core.somaxconn": "1000" }, mtu: 1400, prevResult: prevResultFor(V, ctr.path, "eth9") });
    const before = sysctlOf(ctr, "net/core/somaxconn");
    expectError(call("ADD", ctr.path, conf, { ifname: "eth9" }), { code: 999, msg: 'failed to get "eth9": Link not found' });
    expect(sysctlOf(ctr, "net/core/somaxconn")).toBe(before);
    expect(snapshotDir(data.path)).toEqual({});
  });
});

describe("more ADD and DEL cases", () => {
  const V = "1.1.0";

  test("IFNAME in a sysctl key takes an interface name with dots as it is", () => {
    using ctr = vethNetns(`${TAG}-ctr`, "e.1");
    const conf = tuningConf(V, { sysctl: { "net.ipv4.conf.IFNAME.arp_notify": "1" }, prevResult: prevResultFor(V, ctr.path, "e.1") });
    const add = call("ADD", ctr.path, conf, { ifname: "e.1" });
    expect(add.exitCode).toBe(0);
    expect(sysctlOf(ctr, "net/ipv4/conf/e.1/arp_notify")).toBe("1");
    expectSilentSuccess(call("CHECK", ctr.path, conf, { ifname: "e.1" }));
  });

  test("the MAC goes into the result as written, on every interface of that name", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const prevResult = {
      cniVersion: V,
      interfaces: [{ name: "veth1234", mac: "02:00:00:00:00:01" }, { name: "eth0", mac: OLD_MAC, sandbox: ctr.path }],
      ips: [{ interface: 1, address: "10.1.2.3/24" }],
    };
    const add = call("ADD", ctr.path, tuningConf(V, { dataDir: data.path, mac: "02-54-00-00-00-AB", prevResult }));
    expect(add.exitCode).toBe(0);
    expect(add.json.interfaces).toEqual([{ name: "veth1234", mac: "02:00:00:00:00:01" }, { name: "eth0", mac: "02-54-00-00-00-AB", sandbox: ctr.path }]);
    expect(linkState(ctr).mac).toBe("02:54:00:00:00:ab");
  });

  test("DEL: an empty CNI_NETNS, a corrupt backup, a missing link: success, the file stays", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(V, { dataDir: data.path, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    expect(call("ADD", ctr.path, conf).exitCode).toBe(0);
    expectSilentSuccess(runPlugin("tuning", { hostNetns: host.name, env: { ...cniEnv("DEL", ""), CNI_NETNS: "" }, stdin: conf }));
    expect(linkState(ctr).mtu).toBe(1400);
    writeFileSync(`${data.path}/ctr1_eth9.json`, '{\n "mtu": 1500\n}');
    expectSilentSuccess(call("DEL", ctr.path, conf, { ifname: "eth9" }));
    expect(existsSync(`${data.path}/ctr1_eth9.json`)).toBe(true);
    writeFileSync(`${data.path}/ctr1_eth0.json`, '{"mtu": "1500"}');
    expectSilentSuccess(call("DEL", ctr.path, conf));
    expect(readFileSync(`${data.path}/ctr1_eth0.json`, "utf8")).toBe('{"mtu": "1500"}');
    expect(linkState(ctr).mtu).toBe(1400);
  });

  test("DEL fails only on a config that does not parse; a duplicate key or bad prevResult does not stop it", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    expectError(call("DEL", ctr.path, tuningConf(V, { mtu: "x" })), {
      code: 999,
      msg: "failed to load netconf: json: cannot unmarshal string into Go struct field TuningConf.mtu of type int",
    });
    expectError(call("DEL", ctr.path, tuningConf(V), { cniArgs: "FOO=1" }), { code: 999, msg: 'ARGS: unknown args ["FOO=1"]' });
    const conf = tuningConf(V, { dataDir: data.path, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    expect(call("ADD", ctr.path, conf).exitCode).toBe(0);
    const odd = JSON.stringify({ ...conf, prevResult: { cniVersion: "0.4.0" } }).replace("{", '{"sysctl":{"net.a":"1","net.a":"2"},');
    expectSilentSuccess(call("DEL", ctr.path, odd));
    expect(linkState(ctr)).toEqual(FRESH_LINK);
  });

  test("a restore the kernel refuses leaves the file for the next DEL", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(V, { dataDir: data.path, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    expect(call("ADD", ctr.path, conf).exitCode).toBe(0);
    writeFileSync(`${data.path}/ctr1_eth0.json`, '{\n "mtu": 70000\n}');
    const del = call("DEL", ctr.path, conf);
    expect({ exitCode: del.exitCode, stdout: del.stdout }).toEqual({ exitCode: 0, stdout: "" });
    expect(del.stderr).toContain("failed to restore MTU: invalid argument");
    expect(existsSync(`${data.path}/ctr1_eth0.json`)).toBe(true);
  });

  test("chained after our ptp: tuning changes the interface ptp made and reports its new MAC", () => {
    using ctr = tempNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const ipam = { type: "host-local", dataDir: `${data.path}/ipam`, ranges: [[{ subnet: "10.1.2.0/24" }]] };
    const ptpConf = { cniVersion: V, name: "tunnet", type: "ptp", ipam };
    const ptp = runPlugin("ptp", { hostNetns: host.name, env: cniEnv("ADD", ctr.path), stdin: ptpConf });
    expect(ptp.exitCode).toBe(0);
    const conf = tuningConf(V, { dataDir: `${data.path}/tuning`, mac: NEW_MAC, mtu: 1400, prevResult: ptp.json });
    const add = call("ADD", ctr.path, conf);
    expect(add.exitCode).toBe(0);
    const want = structuredClone(ptp.json);
    want.interfaces[1].mac = NEW_MAC;
    expect(add.json).toEqual(want);
    expect(linkState(ctr)).toMatchObject({ mac: NEW_MAC, mtu: 1400 });
    expectSilentSuccess(call("CHECK", ctr.path, { ...conf, prevResult: add.json }));
    expectSilentSuccess(call("DEL", ctr.path, conf));
    expect(linkState(ctr)).toMatchObject({ mac: ptp.json.interfaces[1].mac, mtu: 1500 });
    expect(runPlugin("ptp", { hostNetns: host.name, env: cniEnv("DEL", ctr.path), stdin: ptpConf }).exitCode).toBe(0);
  });
});

describe("GC (ours: upstream declares none)", () => {
  const V = "1.1.0";

  // Networks share the dataDir, so only backups naming this network (our last key) are this GC's to remove; one
  // naming another network, or written by Go's tuning (no key), is never collected.
  const OTHER_BACKUP = '{\n "mtu": 1500,\n "cni.dev/network": "othernet"\n}';

  test("removes this network's backups of attachments not in cni.dev/valid-attachments, and nothing else", () => {
    using data = tempDir(`${TAG}-data`);
    const d = `${data.path}/tuning`;
    mkdirSync(d, { mode: 0o600 });
    for (const f of ["keep_eth0.json", "keep_net1.json", "gone_eth0.json", "a_b_eth0.json", "notes.txt", "nounderscore.json"]) writeFileSync(`${d}/${f}`, MTU_BACKUP);
    writeFileSync(`${d}/other_eth0.json`, OTHER_BACKUP);
    writeFileSync(`${d}/go_eth0.json`, GO_MTU_BACKUP);
    mkdirSync(`${d}/sub_dir.json`);
    const valid = [{ containerID: "keep", ifname: "eth0" }, { containerID: "a_b", ifname: "eth0" }];
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: d, "cni.dev/valid-attachments": valid })));
    expect(Object.keys(snapshotDir(d)).sort()).toEqual([
      "a_b_eth0.json", "go_eth0.json", "keep_eth0.json", "notes.txt", "nounderscore.json", "other_eth0.json", "sub_dir.json",
    ]);
    // no list: nothing to go by, nothing removed; an empty list: every backup of this network goes, no other
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: d })));
    expect(Object.keys(snapshotDir(d)).length).toBe(7);
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: d, "cni.dev/valid-attachments": [] })));
    expect(snapshotDir(d)).toEqual({
      "go_eth0.json": { type: "file", mode: underUmask(0o666), content: GO_MTU_BACKUP },
      "notes.txt": { type: "file", mode: underUmask(0o666), content: MTU_BACKUP },
      "nounderscore.json": { type: "file", mode: underUmask(0o666), content: MTU_BACKUP },
      "other_eth0.json": { type: "file", mode: underUmask(0o666), content: OTHER_BACKUP },
      "sub_dir.json": { type: "dir", mode: underUmask(0o777) },
    });
    // the other network's GC removes its own, and still not Go's
    expectSilentSuccess(call("GC", "", tuningConf(V, { name: "othernet", dataDir: d, "cni.dev/valid-attachments": [] })));
    expect(Object.keys(snapshotDir(d)).sort()).toEqual(["go_eth0.json", "notes.txt", "nounderscore.json", "sub_dir.json"]);
  });

  test("networks sharing a dataDir: one network's GC leaves the other's live backup, which its DEL still restores", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const a = tuningConf(V, { dataDir: data.path, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    const b = tuningConf(V, { name: "othernet", dataDir: data.path, mtu: 1300, prevResult: prevResultFor(V, ctr.path, "peer0") });
    expect(call("ADD", ctr.path, a).exitCode).toBe(0);
    expect(call("ADD", ctr.path, b, { ifname: "peer0" }).exitCode).toBe(0);
    expect(readFileSync(`${data.path}/ctr1_eth0.json`, "utf8")).toBe(MTU_BACKUP);
    expect(readFileSync(`${data.path}/ctr1_peer0.json`, "utf8")).toBe('{\n "mtu": 1500,\n "cni.dev/network": "othernet"\n}');
    // the runtime lists only this network's attachments in its GC: the other network's stays
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: data.path, "cni.dev/valid-attachments": [] })));
    expect(Object.keys(snapshotDir(data.path))).toEqual(["ctr1_peer0.json"]);
    expectSilentSuccess(call("DEL", ctr.path, b, { ifname: "peer0" }));
    expect(linkState(ctr, "peer0").mtu).toBe(1500);
    expect(snapshotDir(data.path)).toEqual({});
  });

  test("a dataDir that does not exist is fine; an unreadable one is an error", () => {
    using data = tempDir(`${TAG}-data`);
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: `${data.path}/none`, "cni.dev/valid-attachments": [] })));
    writeFileSync(`${data.path}/file`, "");
    const r = call("GC", "", tuningConf(V, { dataDir: `${data.path}/file`, "cni.dev/valid-attachments": [] }));
    expect(r.exitCode).toBe(1);
    expect(r.json.msg).toStartWith(`failed to read ${data.path}/file`);
  });

  test("an ADD/DEL cycle and GC agree on the file name", () => {
    using ctr = vethNetns(`${TAG}-ctr`);
    using data = tempDir(`${TAG}-data`);
    const conf = tuningConf(V, { dataDir: data.path, mtu: 1400, prevResult: prevResultFor(V, ctr.path) });
    expect(call("ADD", ctr.path, conf, { id: "c-1.x_y" }).exitCode).toBe(0);
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: data.path, "cni.dev/valid-attachments": [{ containerID: "c-1.x_y", ifname: "eth0" }] })));
    expect(existsSync(`${data.path}/c-1.x_y_eth0.json`)).toBe(true);
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: data.path, "cni.dev/valid-attachments": [{ containerID: "c-1.x", ifname: "y_eth0" }] })));
    expect(existsSync(`${data.path}/c-1.x_y_eth0.json`)).toBe(true); // same file name: it cannot tell, so it keeps it
    expectSilentSuccess(call("GC", "", tuningConf(V, { dataDir: data.path, "cni.dev/valid-attachments": [{ containerID: "other", ifname: "eth0" }] })));
    expect(existsSync(`${data.path}/c-1.x_y_eth0.json`)).toBe(false);
  });
});
