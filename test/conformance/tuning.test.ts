// tuning, Go reference (/usr/lib/cni, Debian's plugins v1.1.1) against ours, for the fields v1.1.1 knows (sysctl,
// mac, mtu, promisc, allmulti) and every version it speaks: the same input to both, each on its own fresh veth in its
// own container netns and with its own dataDir, compared on exit status, result JSON, the link settings and sysctls
// left behind, and the backup file byte for byte (but for our network key, difference 8); CHECK and DEL the same; then
// crosswise, Go's ADD undone by our DEL and ours by Go's, which works only because the backup files agree
// (SPEC-DIGEST §3.4), and our GC leaving Go's backups alone.
//
// Go v1.1.1 is older than the v1.9.1 behaviour we implement. These differences are known and deliberate, and are
// masked or asserted here, each at one place, and nothing else:
//   1. v1.1.1 prints `"dns": {}` in 1.0.0 results; v1.9.1 omits an empty dns (maskGoResult).
//   2. v1.1.1 quotes a refused sysctl key before turning its dots into slashes (`"kernel.x"`); v1.9.1 after
//      (`"kernel/x"`) (table row "a sysctl outside net").
//   3. A sysctl value of the wrong type: v1.9.1 reports it from its duplicate-key pass (`sysctlCheck.sysctl`), which
//      v1.1.1 does not have (`failed to load netconf: … TuningConf.sysctl …`) (table row).
//   4. A failed ADD: Go leaves what it changed so far and its backup file; ours undoes both (by design, not a
//      version difference), so only the error is compared there.
//   5. CHECK of allmulti: Go prints the address of a *bool in its message; ours prints the value (message masked).
//   6. v1.1.1's CHECK does not replace IFNAME in sysctl keys (fixed upstream in 5b7a263e), so it fails on them; CHECK
//      configs here spell the interface out (forCheck), and one test shows the difference.
//   7. v1.1.1's result library knows only 1.0.0 in the 1.x family, so "result type supports [1.0.0]" lacks 1.1.0.
//   8. Our backup file carries one more key, last: `"cni.dev/network": "<network name>"` (not a version difference:
//      ours on purpose). Networks share the dataDir (default /run/cni/tuning) and upstream's file name names no
//      network, so without it our GC (which upstream lacks) could remove another network's live backups. Go's
//      json.Unmarshal ignores the key when it restores, and its DEL removes the whole file, so a DEL by either still
//      undoes the other's ADD and leaves nothing; a backup Go wrote (no key) is never collected by our GC. Our
//      backup is compared with Go's after removing exactly that key (maskOurBackup), and the crosswise tests assert
//      the rest.
import { describe, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { DIR, GO_VERSIONS as SPOKEN, goPlugins, IMPLS, maskGoResult, type Impl } from "../support/conformance.ts";
import { RUN_PREFIX, tempNetns, type TempNetns } from "../support/netns.ts";
import { cniEnv, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { snapshotDir, tempDir } from "../support/temp-dir.ts";
import { FRESH_LINK, linkState, NETWORK, NEW_MAC, OLD_MAC, prevResultFor, sysctlsOf, tuningConf, vethNetns } from "../support/tuning.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const { hasGo, skipReason } = goPlugins("tuning");
const GO_VERSIONS = ["", ...SPOKEN]; // "": no cniVersion (0.1.0)
const TAG = "tuc"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-tuc-`

const host = hasGo ? tempNetns(`${TAG}-host`) : undefined;
cleanUpAfterAll(TAG, host);

// The prevResult names a sandbox that is the same for both runs, so the results compare as they are; tuning
// never looks at it.
const SANDBOX = "/var/run/netns/tuning-conformance";

function call(impl: Impl, verb: string, ctr: TempNetns | string, stdin: object | string, o: { ifname?: string; cniArgs?: string } = {}): Run {
  const path = typeof ctr === "string" ? ctr : ctr.path;
  const env = cniEnv(verb, path, o.ifname ?? "eth0", "ctr1", o.cniArgs === undefined ? {} : { CNI_ARGS: o.cniArgs });
  return runPlugin("tuning", { dir: DIR[impl], hostNetns: host!.name, env, stdin });
}

/** Returns the config with IFNAME spelled out in sysctl keys, which v1.1.1's CHECK needs (difference 6). */
function forCheck(conf: Record<string, unknown>): Record<string, unknown> {
  const sysctl = conf.sysctl as Record<string, string> | undefined;
  if (!sysctl) return conf;
  return { ...conf, sysctl: Object.fromEntries(Object.entries(sysctl).map(([k, v]) => [k.replace("IFNAME", "eth0"), v])) };
}

/**
 * Masks difference 8: returns our backup's bytes without exactly the last key `"cni.dev/network": "<NETWORK>"`, which
 * must be there (then the rest is Go's MarshalIndent output); throws otherwise.
 */
function maskOurBackup(content: string): string {
  const key = `"cni.dev/network": ${JSON.stringify(NETWORK)}`;
  if (content === `{\n ${key}\n}`) return "{}";
  const tail = `,\n ${key}\n}`;
  if (!content.endsWith(tail)) throw new Error(`our backup does not end with ${key}: ${JSON.stringify(content)}`);
  return `${content.slice(0, -tail.length)}\n}`;
}

const outcome = (r: Run, mask = (j: any) => j) => ({ exitCode: r.exitCode, stdout: r.stdout === "" ? "" : mask(r.json) });

const SYSCTLS = { "net.ipv4.conf.IFNAME.arp_notify": "1", "net.ipv4.conf.eth0.arp_ignore": "2", "net.core.somaxconn": "1000" };
const SYSCTL_PATHS = ["net/ipv4/conf/eth0/arp_notify", "net/ipv4/conf/eth0/arp_ignore", "net/core/somaxconn"];

/** What one implementation did and left behind. */
interface Side {
  impl: Impl;
  ns: TempNetns;
  dataDir: string;
  add: Run;
}

/** Runs ADD of the same config on each implementation, each on its own fresh netns and dataDir. */
function addBoth(version: string, settings: object, disposables: Disposable[], cniArgs?: string): Record<Impl, Side> {
  const out = {} as Record<Impl, Side>;
  for (const impl of IMPLS) {
    const ns = vethNetns(`${TAG}-${impl}`);
    const data = tempDir(`${TAG}-${impl}`);
    disposables.push(ns, data);
    const dataDir = `${data.path}/tuning`;
    const add = call(impl, "ADD", ns, tuningConf(version, { ...settings, dataDir, prevResult: prevResultFor(version, SANDBOX) }), { cniArgs });
    out[impl] = { impl, ns, dataDir, add };
  }
  return out;
}

/** The state a side leaves: link settings, sysctls, and the backup directory (names, modes, bytes; ours masked, difference 8). */
function stateOf(s: Side) {
  let files = existsSync(s.dataDir) ? snapshotDir(s.dataDir) : null;
  if (files && s.impl === "ours") {
    files = Object.fromEntries(Object.entries(files).map(([k, e]) => [k, e.type === "file" ? { ...e, content: maskOurBackup(e.content) } : e]));
  }
  return { link: linkState(s.ns), sysctl: sysctlsOf(s.ns, SYSCTL_PATHS), files };
}

function disposeAll(list: Disposable[]): void {
  for (const d of list.reverse()) d[Symbol.dispose]();
}

describe.skipIf(!hasGo)(`tuning: Go v1.1.1 and ours${skipReason}`, () => {
  const FULL = { sysctl: SYSCTLS, mac: NEW_MAC, mtu: 1400, promisc: true, allmulti: true };

  test.each(GO_VERSIONS)("cniVersion %p: ADD, CHECK, DEL, DEL again: same result, link, sysctls, backup bytes", (version) => {
    const held: Disposable[] = [];
    try {
      const sides = addBoth(version, FULL, held);
      expect(sides.go.add.exitCode).toBe(0);
      expect(outcome(sides.ours.add)).toEqual(outcome(sides.go.add, maskGoResult));
      const go = stateOf(sides.go);
      expect(stateOf(sides.ours)).toEqual(go);
      expect(go.link).toEqual({ mac: NEW_MAC, mtu: 1400, promiscuity: 1, promisc: true, allmulti: true, txqlen: 1000 });
      expect(go.files!["ctr1_eth0.json"]).toMatchObject({
        content: `{\n "mac": "${OLD_MAC}",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false\n}`,
      });
      expect(snapshotDir(sides.ours.dataDir)["ctr1_eth0.json"]).toMatchObject({
        content: `{\n "mac": "${OLD_MAC}",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false,\n "cni.dev/network": "${NETWORK}"\n}`,
      });

      for (const impl of IMPLS) {
        const conf = tuningConf(version, { ...FULL, dataDir: sides[impl].dataDir, prevResult: prevResultFor(version, SANDBOX) });
        if (version !== "" && versionAtLeast(version, "0.4.0")) expect(outcome(call(impl, "CHECK", sides[impl].ns, forCheck(conf)))).toEqual({ exitCode: 0, stdout: "" });
        expect(outcome(call(impl, "DEL", sides[impl].ns, conf))).toEqual({ exitCode: 0, stdout: "" });
      }
      expect(stateOf(sides.ours)).toEqual(stateOf(sides.go));
      expect(linkState(sides.ours.ns)).toEqual(FRESH_LINK);
      expect(Object.keys(stateOf(sides.ours).files!)).toEqual([]);
      for (const impl of IMPLS) {
        const conf = tuningConf(version, { ...FULL, dataDir: sides[impl].dataDir });
        expect(outcome(call(impl, "DEL", sides[impl].ns, conf))).toEqual({ exitCode: 0, stdout: "" });
      }
    } finally {
      disposeAll(held);
    }
  });

  const partial: [string, object, string | undefined][] = [
    ["mtu only", { mtu: 9000 }, undefined],
    ["promisc only", { promisc: true }, undefined],
    ["allmulti false on a link without it", { allmulti: false }, undefined],
    ["MAC from CNI_ARGS over mac", { mac: "02:54:00:00:00:11" }, "IgnoreUnknown=1;MAC=02:54:00:00:00:22"],
    ["MAC from runtimeConfig over CNI_ARGS", { runtimeConfig: { mac: "02:54:00:00:00:33" } }, "MAC=02:54:00:00:00:22"],
    ["MAC from args.cni over runtimeConfig", { runtimeConfig: { mac: "02:54:00:00:00:33" }, args: { cni: { mac: "02:54:00:00:00:44", mtu: 1300 } } }, undefined],
    ["dashed capital MAC (kept as written in the result)", { mac: "02-54-00-00-AB-CD" }, undefined],
    ["sysctls only (no backup, no dataDir)", { sysctl: SYSCTLS }, undefined],
    ["args.cni sysctls merged over the top-level ones", { sysctl: { "net.core.somaxconn": "1000" }, args: { cni: { sysctl: { "net.core.somaxconn": "900" } } } }, undefined],
  ];
  test.each(partial)("%s: same result, link, sysctls and backup; DEL the same", (_name, settings, cniArgs) => {
    const held: Disposable[] = [];
    try {
      const sides = addBoth("1.0.0", settings, held, cniArgs);
      expect(sides.go.add.exitCode).toBe(0);
      expect(outcome(sides.ours.add)).toEqual(outcome(sides.go.add, maskGoResult));
      expect(stateOf(sides.ours)).toEqual(stateOf(sides.go));
      const conf = (impl: Impl) => tuningConf("1.0.0", { ...settings, dataDir: sides[impl].dataDir, prevResult: prevResultFor("1.0.0", SANDBOX) });
      const [goCheck, ourCheck] = IMPLS.map((impl) => call(impl, "CHECK", sides[impl].ns, forCheck(conf(impl)), { cniArgs }));
      expect(outcome(ourCheck!)).toEqual(outcome(goCheck!));
      for (const impl of IMPLS) expect(outcome(call(impl, "DEL", sides[impl].ns, conf(impl), { cniArgs }))).toEqual({ exitCode: 0, stdout: "" });
      expect(stateOf(sides.ours)).toEqual(stateOf(sides.go));
      expect(linkState(sides.ours.ns)).toEqual(FRESH_LINK);
    } finally {
      disposeAll(held);
    }
  });

  test.each([["go", "ours"], ["ours", "go"]] as [Impl, Impl][])("%s ADD, %s DEL: the link is restored and the backup removed", (adder, deleter) => {
    using ns = vethNetns(`${TAG}-x`);
    using data = tempDir(`${TAG}-x`);
    const conf = tuningConf("1.0.0", { ...FULL, dataDir: data.path, prevResult: prevResultFor("1.0.0", SANDBOX) });
    expect(call(adder, "ADD", ns, conf).exitCode).toBe(0);
    expect(linkState(ns)).toMatchObject({ mac: NEW_MAC, mtu: 1400, promisc: true, allmulti: true });
    expect(outcome(call(deleter, "CHECK", ns, forCheck(conf)))).toEqual({ exitCode: 0, stdout: "" });
    expect(outcome(call(deleter, "DEL", ns, conf))).toEqual({ exitCode: 0, stdout: "" });
    expect(linkState(ns)).toEqual(FRESH_LINK);
    expect(snapshotDir(data.path)).toEqual({});
  });

  // Difference 8 across implementations: our key does not stop Go's DEL, and Go's backup (no key) is not our GC's.
  test("the network key: Go ADD then our GC keeps Go's backup, our DEL restores; our ADD then Go DEL restores, no file left", () => {
    using ns = vethNetns(`${TAG}-x`);
    using data = tempDir(`${TAG}-x`);
    const conf = tuningConf("1.0.0", { dataDir: data.path, mtu: 1400, promisc: true, prevResult: prevResultFor("1.0.0", SANDBOX) });
    const goBackup = '{\n "promisc": false,\n "mtu": 1500\n}';

    expect(call("go", "ADD", ns, conf).exitCode).toBe(0);
    expect(snapshotDir(data.path)).toMatchObject({ "ctr1_eth0.json": { type: "file", content: goBackup } });
    const gc = runPlugin("tuning", {
      hostNetns: host!.name, env: { CNI_COMMAND: "GC" }, stdin: tuningConf("1.1.0", { dataDir: data.path, "cni.dev/valid-attachments": [] }),
    });
    expect(outcome(gc)).toEqual({ exitCode: 0, stdout: "" });
    expect(snapshotDir(data.path)).toMatchObject({ "ctr1_eth0.json": { type: "file", content: goBackup } });
    expect(outcome(call("ours", "DEL", ns, conf))).toEqual({ exitCode: 0, stdout: "" });
    expect(linkState(ns)).toEqual(FRESH_LINK);
    expect(snapshotDir(data.path)).toEqual({});

    expect(call("ours", "ADD", ns, conf).exitCode).toBe(0);
    expect(snapshotDir(data.path)).toMatchObject({
      "ctr1_eth0.json": { type: "file", content: `{\n "promisc": false,\n "mtu": 1500,\n "cni.dev/network": "${NETWORK}"\n}` },
    });
    expect(linkState(ns)).toMatchObject({ mtu: 1400, promisc: true });
    expect(outcome(call("go", "DEL", ns, conf))).toEqual({ exitCode: 0, stdout: "" });
    expect(linkState(ns)).toEqual(FRESH_LINK);
    expect(snapshotDir(data.path)).toEqual({});
  });

  test("CHECK failures: the same messages", () => {
    const held: Disposable[] = [];
    try {
      const sides = addBoth("1.0.0", FULL, held);
      const cases: object[] = [
        { sysctl: { "net.core.somaxconn": "999" } },
        { mac: "02:54:00:00:00:98" },
        { mac: NEW_MAC.toUpperCase() },
        { mtu: 1401 },
        { promisc: false },
        { sysctl: { "net.ipv4.nope": "1" } },
      ];
      for (const extra of cases) {
        const [go, ours] = IMPLS.map((impl) =>
          call(impl, "CHECK", sides[impl].ns, forCheck(tuningConf("1.0.0", { ...FULL, dataDir: sides[impl].dataDir, ...extra, prevResult: prevResultFor("1.0.0", SANDBOX) }))));
        expect(go!.exitCode).toBe(1);
        expect(outcome(ours!)).toEqual(outcome(go!));
      }
      // difference 5: Go prints a pointer for the configured value
      const [go, ours] = IMPLS.map((impl) =>
        call(impl, "CHECK", sides[impl].ns, forCheck(tuningConf("1.0.0", { ...FULL, dataDir: sides[impl].dataDir, allmulti: false, prevResult: prevResultFor("1.0.0", SANDBOX) }))));
      expect(go!.json.msg).toMatch(/^Error: Tuning configured all-multicast mode of eth0 is 0x[0-9a-f]+, current value is true$/);
      expect(ours!.json).toEqual({ code: 999, msg: "Error: Tuning configured all-multicast mode of eth0 is false, current value is true" });
      // difference 6: with IFNAME in a key, v1.1.1's CHECK reads a file that does not exist; v1.9.1 (ours) substitutes it
      const withIfname = (impl: Impl) => tuningConf("1.0.0", { ...FULL, dataDir: sides[impl].dataDir, prevResult: prevResultFor("1.0.0", SANDBOX) });
      expect(outcome(call("go", "CHECK", sides.go.ns, withIfname("go")))).toEqual({
        exitCode: 1, stdout: { code: 999, msg: "open /proc/sys/net/ipv4/conf/IFNAME/arp_notify: no such file or directory" },
      });
      expect(outcome(call("ours", "CHECK", sides.ours.ns, withIfname("ours")))).toEqual({ exitCode: 0, stdout: "" });
    } finally {
      disposeAll(held);
    }
  });

  // Errors both give before touching anything, or (difference 4) where Go leaves changes that ours undoes.
  const errors: [string, (dataDir: string) => object | string, { ifname?: string; cniArgs?: string }, ((go: string) => string)?][] = [
    ["no prevResult", (d) => tuningConf("1.0.0", { dataDir: d, mtu: 1400 }), {}],
    ["a string mtu", (d) => tuningConf("1.0.0", { dataDir: d, mtu: "1400", prevResult: prevResultFor("1.0.0", SANDBOX) }), {}],
    ["an args.cni.mac of the wrong type", (d) => tuningConf("1.0.0", { dataDir: d, args: { cni: { mac: 5 } }, prevResult: prevResultFor("1.0.0", SANDBOX) }), {}],
    ["an unknown CNI_ARGS key", (d) => tuningConf("1.0.0", { dataDir: d, mtu: 1400, prevResult: prevResultFor("1.0.0", SANDBOX) }), { cniArgs: "FOO=1" }],
    ["an interface name with /", (d) => tuningConf("1.0.0", { dataDir: d, mtu: 1400, prevResult: prevResultFor("1.0.0", SANDBOX) }), { ifname: "a/b" }],
    ["a bad MAC", (d) => tuningConf("1.0.0", { dataDir: d, mac: "02:54:00:00:00", prevResult: prevResultFor("1.0.0", SANDBOX) }), {}],
    ["a missing sysctl", (d) => tuningConf("1.0.0", { dataDir: d, sysctl: { "net.ipv4.nope": "1" }, prevResult: prevResultFor("1.0.0", SANDBOX) }), {}],
    ["a link that is not there", (d) => tuningConf("1.0.0", { dataDir: d, mtu: 1400, prevResult: prevResultFor("1.0.0", SANDBOX) }), { ifname: "eth9" }],
    ["an MTU the kernel refuses", (d) => tuningConf("1.0.0", { dataDir: d, mtu: 70000, prevResult: prevResultFor("1.0.0", SANDBOX) }), {}],
    // difference 7
    ["a prevResult of another version family", (d) => tuningConf("1.0.0", { dataDir: d, mtu: 1400, prevResult: { cniVersion: "0.4.0" } }), {},
      (go) => go.replace("[1.0.0]", "[1.0.0 1.1.0]")],
    // difference 2
    ["a sysctl outside net", (d) => tuningConf("1.0.0", { dataDir: d, sysctl: { "kernel.hostname": "x" }, prevResult: prevResultFor("1.0.0", SANDBOX) }), {},
      (go) => go.replace('"kernel.hostname"', '"kernel/hostname"')],
    // difference 3
    ["a sysctl value that is not a string", (d) => tuningConf("1.0.0", { dataDir: d, sysctl: { "net.core.somaxconn": 1 }, prevResult: prevResultFor("1.0.0", SANDBOX) }), {},
      (go) => go.replace("failed to load netconf: ", "").replace("TuningConf.sysctl", "sysctlCheck.sysctl")],
  ];
  test.each(errors)("ADD with %s: the same error", (_name, stdin, opts, maskGoMsg = (m) => m) => {
    const runs = IMPLS.map((impl) => {
      using ns = vethNetns(`${TAG}-${impl}`);
      using data = tempDir(`${TAG}-${impl}`);
      return call(impl, "ADD", ns, stdin(`${data.path}/d`), opts);
    });
    const [go, ours] = runs as [Run, Run];
    expect(go.exitCode).toBe(1);
    expect(outcome(ours)).toEqual({ exitCode: 1, stdout: { ...go.json, msg: maskGoMsg(go.json.msg) } });
  });

  test("DEL: netns gone, empty CNI_NETNS, no backup: both succeed silently", () => {
    const gone = `/run/netns/${RUN_PREFIX}-${TAG}-gone`;
    for (const impl of IMPLS) {
      using data = tempDir(`${TAG}-${impl}`);
      const conf = tuningConf("1.0.0", { dataDir: data.path, mtu: 1400 });
      expect(outcome(call(impl, "DEL", gone, conf))).toEqual({ exitCode: 0, stdout: "" });
      expect(outcome(call(impl, "DEL", "", conf))).toEqual({ exitCode: 0, stdout: "" });
      using ns = vethNetns(`${TAG}-${impl}`);
      expect(outcome(call(impl, "DEL", ns, conf))).toEqual({ exitCode: 0, stdout: "" });
    }
  });
});
