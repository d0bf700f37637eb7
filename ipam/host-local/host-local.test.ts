// ipam/host-local/host-local.test.ts: the handlers called as the skel calls them, on a temp data dir: results, files
// left on disk, rollback of a failed ADD, DEL idempotence and errors, CHECK, STATUS and GC.
import { afterEach, describe, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as sysFs from "../../pkg/sys/fs.ts";
import { CniError } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type Result } from "../../pkg/cni/types.ts";
import { thrown } from "../../test/support/thrown.ts";
import { hostLocal } from "./host-local.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "host-local-"));
  dirs.push(d);
  return d;
}

interface Call { id?: string; ifname?: string; cniArgs?: string }

function cmd(command: string, conf: unknown, { id = "dummy", ifname = "eth0", cniArgs = "" }: Call = {}): CmdArgs {
  return {
    command, containerId: id, netns: "/some/where", ifname, args: cniArgs, path: "/opt/cni/bin", netnsOverride: "",
    stdin: new TextEncoder().encode(JSON.stringify(conf)),
  };
}

const add = (conf: unknown, call?: Call) => hostLocal.add(cmd("ADD", conf, call)) as Result;
const del = (conf: unknown, call?: Call) => hostLocal.del(cmd("DEL", conf, call)) as void;
const check = (conf: unknown, call?: Call) => hostLocal.check!(cmd("CHECK", conf, call)) as void;
const status = (conf: unknown) => hostLocal.status!(cmd("STATUS", conf)) as void;
const gc = (conf: unknown) => hostLocal.gc!(cmd("GC", conf)) as void;

function mkconf(dataDir: string, ipam: Record<string, unknown>, extra: Record<string, unknown> = {}) {
  return { cniVersion: "1.1.0", name: "mynet", type: "ipvlan", master: "foo0", ipam: { type: "host-local", dataDir, ...ipam }, ...extra };
}

function files(dataDir: string): Record<string, string> {
  const dir = path.join(dataDir, "mynet");
  const out: Record<string, string> = {};
  if (!fs.existsSync(dir)) return out;
  for (const name of fs.readdirSync(dir).sort()) if (name !== "lock") out[name] = fs.readFileSync(path.join(dir, name), "utf8");
  return out;
}

const errorOf = (fn: () => unknown) => thrown(fn) as Error;

test("plugin table", () => {
  expect(hostLocal.name).toBe("host-local");
  expect(hostLocal.versions).toEqual(ALL_VERSIONS);
});

describe.each([...ALL_VERSIONS].filter((v) => v >= "0.3.0"))("ADD/DEL %s", (version) => {
  test("allocates from every range set, writes upstream's files, DEL frees them, twice over", () => {
    const dataDir = tempDir();
    fs.writeFileSync(path.join(dataDir, "resolv.conf"), "nameserver 192.0.2.3\nsearch example.com\n");
    const conf = mkconf(dataDir, {
      resolvConf: path.join(dataDir, "resolv.conf"),
      ranges: [[{ subnet: "10.1.2.0/24" }, { subnet: "10.2.2.0/24" }], [{ subnet: "2001:db8:1::0/64" }]],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }, { dst: "192.168.0.0/16", gw: "1.1.1.1" }, { dst: "2001:db8:2::0/64", gw: "2001:db8:3::1" }],
    }, { cniVersion: version });
    expect(add(conf)).toEqual({
      cniVersion: version,
      ips: [{ address: "10.1.2.2/24", gateway: "10.1.2.1" }, { address: "2001:db8:1::2/64", gateway: "2001:db8:1::1" }],
      routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }, { dst: "192.168.0.0/16", gw: "1.1.1.1" }, { dst: "2001:db8:2::/64", gw: "2001:db8:3::1" }],
      dns: { nameservers: ["192.0.2.3"], search: ["example.com"] },
    });
    expect(files(dataDir)).toEqual({
      "10.1.2.2": "dummy\r\neth0",
      "2001:db8:1::2": "dummy\r\neth0",
      "last_reserved_ip.0": "10.1.2.2",
      "last_reserved_ip.1": "2001:db8:1::2",
    });
    check(conf);
    del(conf);
    expect(files(dataDir)).toEqual({ "last_reserved_ip.0": "10.1.2.2", "last_reserved_ip.1": "2001:db8:1::2" });
    del(conf);
    expect(() => check(conf)).toThrow("host-local: Failed to find address added by container dummy");
  });
});

test("result without resolvConf or routes has just the addresses", () => {
  const dataDir = tempDir();
  expect(add(mkconf(dataDir, { subnet: "10.1.2.0/24" }, { cniVersion: "0.2.0" })))
    .toEqual({ cniVersion: "0.2.0", ips: [{ address: "10.1.2.2/24", gateway: "10.1.2.1" }] });
});

test("round robin across ADDs and DELs of different containers", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24" }]] });
  expect(add(conf, { id: "a" }).ips![0]!.address).toBe("10.1.2.2/24");
  del(conf, { id: "a" });
  expect(add(conf, { id: "b" }).ips![0]!.address).toBe("10.1.2.3/24");
  expect(add(conf, { id: "a" }).ips![0]!.address).toBe("10.1.2.4/24");
});

test("one container, two interfaces", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24" }]] });
  add(conf, { ifname: "eth0" });
  add(conf, { ifname: "eth1" });
  expect(files(dataDir)).toEqual({ "10.1.2.2": "dummy\r\neth0", "10.1.2.3": "dummy\r\neth1", "last_reserved_ip.0": "10.1.2.3" });
  del(conf, { ifname: "eth1" });
  expect(files(dataDir)).toEqual({ "10.1.2.2": "dummy\r\neth0", "last_reserved_ip.0": "10.1.2.3" });
});

test("a repeated ADD is a duplicate allocation and leaves the first one alone", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8::/64" }]] });
  add(conf);
  const before = files(dataDir);
  expect(() => add(conf)).toThrow("failed to allocate for range 0: 10.1.2.2 has been allocated to dummy, duplicate allocation is not allowed");
  expect(files(dataDir)).toEqual(before);
});

test("a failing ADD releases what it reserved: later set exhausted", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.9.0.0/30" }]] });
  add(conf, { id: "first" }); // takes 10.9.0.2, the only address of set 1
  const before = files(dataDir);
  const err = errorOf(() => add(conf, { id: "second" }));
  expect(err.message).toBe("failed to allocate for range 1: no IP addresses available in range set: 10.9.0.1-10.9.0.2");
  expect(err).not.toBeInstanceOf(CniError);
  const after = files(dataDir);
  expect(Object.keys(after).filter((n) => !n.startsWith("last_"))).toEqual(Object.keys(before).filter((n) => !n.startsWith("last_")));
  expect(after["10.1.2.3"]).toBeUndefined();
});

test("requested IPs from CNI_ARGS, args.cni.ips and runtimeConfig.ips", () => {
  const dataDir = tempDir();
  const ranges = [[{ subnet: "172.16.1.0/24" }, { subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8:1::/48" }]];
  expect(add(mkconf(dataDir, { ranges }), { id: "a", cniArgs: "IgnoreUnknown=1;IP=10.1.2.88" }).ips!.map((i) => i.address))
    .toEqual(["10.1.2.88/24", "2001:db8:1::2/48"]);
  expect(add(mkconf(dataDir, { ranges }, { args: { cni: { ips: ["10.1.2.89", "2001:db8:1::999"] } } }), { id: "b" }).ips!.map((i) => i.address))
    .toEqual(["10.1.2.89/24", "2001:db8:1::999/48"]);
  expect(add(mkconf(dataDir, { ranges }, { runtimeConfig: { ips: ["172.16.1.9/24"] } }), { id: "c" }).ips!.map((i) => i.address))
    .toEqual(["172.16.1.9/24", "2001:db8:1::99a/48"]); // round robin goes on after the requested ::999
  expect(files(dataDir)["10.1.2.88"]).toBe("a\r\neth0");
});

test("requested IPs that cannot be served fail the ADD and leave no reservation", () => {
  const dataDir = tempDir();
  const ranges = [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.3.0/24" }]];
  const leftovers = (extra: Record<string, unknown>, cniArgs = "") => {
    const err = errorOf(() => add(mkconf(dataDir, { ranges }, extra), { cniArgs }));
    expect(Object.values(files(dataDir)).filter((c) => c.startsWith("dummy"))).toEqual([]);
    return err.message;
  };
  // Two in the same set: the first is used, the second is left over.
  expect(leftovers({ args: { cni: { ips: ["10.1.2.88", "10.1.2.77"] } } })).toBe("failed to allocate all requested IPs: 10.1.2.77");
  expect(leftovers({ args: { cni: { ips: ["10.1.9.1", "10.1.8.1"] } } })).toBe("failed to allocate all requested IPs: 10.1.9.1 10.1.8.1");
  expect(leftovers({}, "IP=10.1.2.1")).toBe("failed to allocate for range 0: requested ip 10.1.2.1 is subnet's gateway");
  add(mkconf(dataDir, { ranges }), { id: "other", cniArgs: "IP=10.1.3.50" });
  expect(leftovers({ runtimeConfig: { ips: ["10.1.2.5", "10.1.3.50"] } }))
    .toBe("failed to allocate for range 1: requested IP address 10.1.3.50 is not available in range set 10.1.3.1-10.1.3.254");
  // Outside rangeStart..rangeEnd no set takes it.
  expect(errorOf(() => add(mkconf(dataDir, { subnet: "10.5.0.0/24", rangeStart: "10.5.0.10", rangeEnd: "10.5.0.20" }), { cniArgs: "IP=10.5.0.5" })).message)
    .toBe("failed to allocate all requested IPs: 10.5.0.5");
});

test("several sets per family need cniVersion 0.3.0 or later", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "10.1.3.0/24" }]] }, { cniVersion: "0.2.0" });
  expect(() => add(conf)).toThrow("CNI version 0.2.0 does not support more than 1 address per family");
  expect(fs.existsSync(path.join(dataDir, "mynet"))).toBe(false);
});

test("config errors leave nothing on disk", () => {
  const dataDir = tempDir();
  const bad: [unknown, string][] = [
    [{ cniVersion: "1.1.0", name: "mynet" }, "IPAM config missing 'ipam' key"],
    [mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24", rangeStart: 7 }]] }),
      "json: cannot unmarshal number into Go struct field Range.ipam.ranges.rangeStart of type net.IP"],
    [mkconf(dataDir, { subnet: "10.1.2.0/31" }), "invalid range set 0: Network 10.1.2.0/31 too small to allocate from"],
    [mkconf(dataDir, { subnet: "10.1.2.0/24", resolvConf: path.join(dataDir, "missing") }),
      `open ${path.join(dataDir, "missing")}: no such file or directory`],
  ];
  for (const [conf, msg] of bad) {
    expect(() => add(conf)).toThrow(msg);
    // DEL does not read resolvConf, so only the config errors fail it too.
    if (!msg.startsWith("open ")) expect(() => del(conf)).toThrow(msg);
  }
  expect(fs.readdirSync(dataDir)).toEqual([]);
  expect(() => add(mkconf(dataDir, { subnet: "10.1.2.0/24" }), { cniArgs: "IP=10.1.2.5;FOO=1" })).toThrow('ARGS: unknown args ["FOO=1"]');
  expect(fs.readdirSync(dataDir)).toEqual([]);
});

test("DEL of an unknown container succeeds; DEL frees legacy id-only files", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { subnet: "10.1.2.0/24" });
  del(conf, { id: "nobody" });
  const dir = path.join(dataDir, "mynet");
  fs.writeFileSync(path.join(dir, "10.1.2.7"), "dummy");
  fs.writeFileSync(path.join(dir, "10.1.2.8"), "dummy\r\neth1");
  check(conf); // the legacy file counts for any ifname
  del(conf);
  expect(files(dataDir)).toEqual({ "10.1.2.8": "dummy\r\neth1" });
});

test("DEL keeps going after a failure and joins the errors with ';'", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8::/64" }]] });
  add(conf);
  const dir = path.join(dataDir, "mynet");
  const real = sysFs.unlinkSync;
  const spy = spyOn(sysFs, "unlinkSync").mockImplementation((p: string) => {
    const name = path.basename(String(p));
    if (name === "10.1.2.2" || name === "2001:db8::2") throw Object.assign(new Error("EBUSY"), { code: "EBUSY", errno: -16, syscall: "unlink" });
    real(p);
  });
  let err: Error;
  try {
    err = errorOf(() => del(conf));
  } finally {
    spy.mockRestore();
  }
  expect(err.message).toBe(
    `remove ${path.join(dir, "10.1.2.2")}: device or resource busy;remove ${path.join(dir, "2001:db8::2")}: device or resource busy`,
  );
  del(conf);
  expect(files(dataDir)).toEqual({ "last_reserved_ip.0": "10.1.2.2", "last_reserved_ip.1": "2001:db8::2" });
});

test("STATUS: fine when the store or its nearest existing parent is writable, code 50 otherwise", () => {
  const dataDir = tempDir();
  status(mkconf(path.join(dataDir, "not", "yet"), { subnet: "10.1.2.0/24" }));
  expect(fs.existsSync(path.join(dataDir, "not"))).toBe(false); // STATUS creates nothing
  add(mkconf(dataDir, { subnet: "10.1.2.0/24" }));
  status(mkconf(dataDir, { subnet: "10.1.2.0/24" }));
  fs.writeFileSync(path.join(dataDir, "file"), "");
  const blocked = path.join(dataDir, "file", "sub");
  const err = errorOf(() => status(mkconf(blocked, { subnet: "10.1.2.0/24" })));
  expect(err).toBeInstanceOf(CniError);
  expect((err as CniError).code).toBe(50);
  expect((err as CniError).msg).toBe(`host-local: cannot store reservations in ${JSON.stringify(path.join(blocked, "mynet"))}`);
  expect((err as CniError).details).toBe(`${path.join(dataDir, "file")} is not a directory`);
  expect(() => status(mkconf(dataDir, { subnet: "10.1.2.1/24" }))).toThrow("invalid range set 0");
});

test("GC frees the reservations of attachments not in cni.dev/valid-attachments", () => {
  const dataDir = tempDir();
  const conf = mkconf(dataDir, { ranges: [[{ subnet: "10.1.2.0/24" }], [{ subnet: "2001:db8::/64" }]] });
  add(conf, { id: "keep" });
  add(conf, { id: "keep", ifname: "eth1" });
  add(conf, { id: "gone" });
  const dir = path.join(dataDir, "mynet");
  fs.writeFileSync(path.join(dir, "10.1.2.100"), "legacykeep");
  fs.writeFileSync(path.join(dir, "10.1.2.101"), "legacygone");
  fs.writeFileSync(path.join(dir, "notes"), "gone\r\neth0");
  gc({ ...conf, "cni.dev/valid-attachments": [{ containerID: "keep", ifname: "eth0" }, { containerID: "legacykeep", ifname: "net1" }] });
  expect(files(dataDir)).toEqual({
    "10.1.2.100": "legacykeep",
    "10.1.2.2": "keep\r\neth0",
    "2001:db8::2": "keep\r\neth0",
    "last_reserved_ip.0": "10.1.2.4",
    "last_reserved_ip.1": "2001:db8::4",
    "notes": "gone\r\neth0",
  });
  // Without the list nothing is known to be gone, so nothing is freed; an empty list frees everything.
  gc(conf);
  expect(Object.keys(files(dataDir))).toContain("10.1.2.2");
  gc({ ...conf, "cni.dev/valid-attachments": [] });
  expect(Object.keys(files(dataDir))).toEqual(["last_reserved_ip.0", "last_reserved_ip.1", "notes"]);
  expect(() => gc({ ...conf, "cni.dev/valid-attachments": [{ containerID: 5 }] }))
    .toThrow("json: cannot unmarshal number into Go struct field GCAttachment.cni.dev/valid-attachments.containerID of type string");
});
