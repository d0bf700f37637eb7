// meta/tuning/backup.test.ts: the backup file's bytes are Go's json.MarshalIndent(configToRestore, "", " ") followed
// by our one addition, the network name as a last key "cni.dev/network" (deliberate: networks share the dataDir and
// upstream's file names no network, so GC needs it; Go's json.Unmarshal ignores it); the directory and file modes are
// upstream's, and a file is read back as Go's json.Unmarshal would. No root needed.
import { expect, test } from "bun:test";
import { chmodSync, existsSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import type { Link } from "../../pkg/ip/link.ts";
import { backupOf, backupPath, decodeBackup, encodeBackup, readIfExists, removeBackup, writeBackup } from "./backup.ts";

const umask = process.umask();

test("bytes as the Go plugin writes them (captured from /usr/lib/cni/tuning)", () => {
  expect(encodeBackup({ mac: "c2:b9:d4:f6:27:5d", promisc: false, mtu: 1500, allmulti: false })).toBe(
    '{\n "mac": "c2:b9:d4:f6:27:5d",\n "promisc": false,\n "mtu": 1500,\n "allmulti": false\n}',
  );
  expect(encodeBackup({ txQLen: 0, allmulti: true, mtu: 9000, promisc: true, mac: "02:00:00:00:00:01" })).toBe(
    '{\n "mac": "02:00:00:00:00:01",\n "promisc": true,\n "mtu": 9000,\n "allmulti": true,\n "txQLen": 0\n}',
  );
  // omitempty: an empty mac and a zero mtu vanish; the pointers (promisc, allmulti, txQLen) stay even when false/0
  expect(encodeBackup({ mac: "", mtu: 0 })).toBe("{}");
  expect(encodeBackup({})).toBe("{}");
  expect(encodeBackup({ promisc: false, txQLen: 0 })).toBe('{\n "promisc": false,\n "txQLen": 0\n}');
});

test("ours: the network name comes last, under cni.dev/network, after Go's bytes", () => {
  expect(encodeBackup({ mtu: 1500, network: "tunnet" })).toBe('{\n "mtu": 1500,\n "cni.dev/network": "tunnet"\n}');
  expect(encodeBackup({ network: "net-a", txQLen: 0, allmulti: true, mtu: 9000, promisc: true, mac: "02:00:00:00:00:01" })).toBe(
    '{\n "mac": "02:00:00:00:00:01",\n "promisc": true,\n "mtu": 9000,\n "allmulti": true,\n "txQLen": 0,\n "cni.dev/network": "net-a"\n}',
  );
  expect(encodeBackup({ network: "n" })).toBe('{\n "cni.dev/network": "n"\n}');
});

test("the backup holds the link's values of exactly the attributes about to change", () => {
  const link: Link = { index: 3, name: "eth0", flags: 0x1002 | 0x200, mtu: 1500, mac: "c2:b9:d4:f6:27:5d", txqlen: 1000, promiscuity: 2 };
  const none = { mac: false, promisc: false, mtu: false, allmulti: false, txQLen: false };
  expect(backupOf(link, none)).toEqual({});
  expect(backupOf(link, { mac: true, promisc: true, mtu: true, allmulti: true, txQLen: true })).toEqual({
    mac: "c2:b9:d4:f6:27:5d", promisc: true, mtu: 1500, allmulti: true, txQLen: 1000,
  });
  // promisc follows IFLA_PROMISCUITY (a count), not IFF_PROMISC, as vishvananda's Attrs().Promisc
  expect(backupOf({ ...link, flags: 0x1002, promiscuity: 0 }, { ...none, promisc: true, allmulti: true })).toEqual({ promisc: false, allmulti: false });
});

test("read back as Go's json.Unmarshal: case-insensitive keys; any type error or bad JSON restores nothing", () => {
  expect(decodeBackup('{\n "mac": "c2:b9:d4:f6:27:5d",\n "mtu": 1500\n}')).toEqual({ mac: "c2:b9:d4:f6:27:5d", mtu: 1500 });
  expect(decodeBackup('{"MTU": 9000, "Promisc": true, "txqlen": 5, "extra": [1]}')).toEqual({ mtu: 9000, promisc: true, txQLen: 5 });
  expect(decodeBackup("null")).toEqual({});
  expect(decodeBackup('{"mtu": "1500"}')).toBeUndefined();
  expect(decodeBackup('{"mtu": 1500.5}')).toBeUndefined();
  expect(decodeBackup("{")).toBeUndefined();
  expect(decodeBackup("[]")).toBeUndefined();
});

test("the network key reads back; a file as Go writes it (no key) names no network", () => {
  expect(decodeBackup('{\n "mtu": 1500,\n "cni.dev/network": "tunnet"\n}')).toEqual({ mtu: 1500, network: "tunnet" });
  expect(decodeBackup(encodeBackup({ mac: "c2:b9:d4:f6:27:5d", promisc: false, network: "n" }))).toEqual({ mac: "c2:b9:d4:f6:27:5d", promisc: false, network: "n" });
  expect(decodeBackup('{\n "mtu": 1500\n}')).toEqual({ mtu: 1500 });
  expect(decodeBackup('{\n "mtu": 1500\n}')!.network).toBeUndefined();
});

test("the file name is <dataDir>/<containerID>_<ifname>.json, path.Join-cleaned", () => {
  expect(backupPath("/run/cni/tuning", "c1", "eth0")).toBe("/run/cni/tuning/c1_eth0.json");
  expect(backupPath("/run/cni/tuning/", "c1", "net1")).toBe("/run/cni/tuning/c1_net1.json");
  expect(backupPath("data/../x/./", "a_b", "e.0")).toBe("x/a_b_e.0.json");
});

test("a missing dataDir is made with mode 0600, parents too (upstream quirk); the file is 0600", () => {
  const root = mkdtempSync("/tmp/tuning-unit-");
  try {
    const dataDir = `${root}/a/b`;
    const file = backupPath(dataDir, "c1", "eth0");
    writeBackup(dataDir, file, "eth0", { mtu: 1500, network: "tunnet" });
    expect(readFileSync(file, "utf8")).toBe('{\n "mtu": 1500,\n "cni.dev/network": "tunnet"\n}');
    expect(statSync(file).mode & 0o7777).toBe(0o600 & ~umask);
    expect(statSync(dataDir).mode & 0o7777).toBe(0o600 & ~umask);
    expect(statSync(`${root}/a`).mode & 0o7777).toBe(0o600 & ~umask);
    // an existing file is overwritten and keeps its mode, as os.WriteFile does
    chmodSync(file, 0o640);
    writeBackup(dataDir, file, "eth0", { promisc: true });
    expect(readFileSync(file, "utf8")).toBe('{\n "promisc": true\n}');
    expect(statSync(file).mode & 0o7777).toBe(0o640);
    expect(readIfExists(file)).toEqual(new TextEncoder().encode('{\n "promisc": true\n}'));
    removeBackup(file);
    expect(existsSync(file)).toBe(false);
    expect(readIfExists(file)).toBeUndefined();
    removeBackup(file); // already gone: fine
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

test("a dataDir that is a file: upstream's error text", () => {
  const root = mkdtempSync("/tmp/tuning-unit-");
  try {
    writeFileSync(`${root}/f`, "");
    const file = backupPath(`${root}/f`, "c1", "eth0");
    expect(() => writeBackup(`${root}/f`, file, "eth0", { mtu: 1 })).toThrow(`failed to save file eth0.json: open ${file}: not a directory`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});
