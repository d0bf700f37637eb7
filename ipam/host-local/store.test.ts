// ipam/host-local/store.test.ts: the on-disk format byte for byte (names, contents, modes), matching rules for
// legacy files, release and its failures, and the flock.
import { afterEach, expect, spyOn, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import * as sysFs from "../../pkg/sys/fs.ts";
import { formatIP, parseIP, type IP } from "../../pkg/ip/cidr.ts";
import { EAGAIN, errno, sys } from "../../pkg/sys/libc.ts";
import { LOCK_EX, LOCK_UN } from "../../pkg/sys/flock.ts";
import { Store, storeDir } from "./store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function tempDataDir(): string {
  const d = fs.mkdtempSync(path.join(os.tmpdir(), "host-local-store-"));
  dirs.push(d);
  return d;
}

function ip(s: string): IP {
  return parseIP(s)!;
}

const umask = process.umask();
const mode = (p: string) => fs.statSync(p).mode & 0o777;

function fill(s: Store, files: Record<string, string>): void {
  for (const [name, content] of Object.entries(files)) fs.writeFileSync(path.join(s.dir, name), content);
}

function names(s: Store): string[] {
  return fs.readdirSync(s.dir).sort();
}

test("open creates <dataDir>/<network> 0755 with a lock file 0750, parents included", () => {
  const root = tempDataDir();
  const dataDir = path.join(root, "a", "b");
  using s = Store.open("mynet", dataDir);
  expect(s.dir).toBe(path.join(dataDir, "mynet"));
  expect(mode(s.dir)).toBe(0o755 & ~umask);
  expect(mode(path.join(root, "a"))).toBe(0o755 & ~umask);
  expect(mode(path.join(s.dir, "lock"))).toBe(0o750 & ~umask);
  expect(fs.readFileSync(path.join(s.dir, "lock")).length).toBe(0);
  expect(storeDir("mynet", "")).toBe("/var/lib/cni/networks/mynet");
});

test("a reservation is <ip> 0600 holding exactly \"<id>\\r\\n<ifname>\"; last_reserved_ip.<n> holds the IP", () => {
  using s = Store.open("net", tempDataDir());
  expect(s.reserve("  abc123 ", "eth0", ip("10.1.2.3"), 0)).toBe(true);
  const file = path.join(s.dir, "10.1.2.3");
  expect([...fs.readFileSync(file)]).toEqual([...Buffer.from("abc123\r\neth0")]);
  expect(mode(file)).toBe(0o600 & ~umask);
  const last = path.join(s.dir, "last_reserved_ip.0");
  expect([...fs.readFileSync(last)]).toEqual([...Buffer.from("10.1.2.3")]);
  expect(mode(last)).toBe(0o600 & ~umask);

  expect(s.reserve("x", "eth1", ip("2001:DB8::0:1"), 3)).toBe(true);
  expect(fs.readFileSync(path.join(s.dir, "2001:db8::1"), "utf8")).toBe("x\r\neth1");
  expect(fs.readFileSync(path.join(s.dir, "last_reserved_ip.3"), "utf8")).toBe("2001:db8::1");
  expect(names(s)).toEqual(["10.1.2.3", "2001:db8::1", "last_reserved_ip.0", "last_reserved_ip.3", "lock"]);
});

test("reserving a taken IP fails without touching the file or last_reserved_ip", () => {
  using s = Store.open("net", tempDataDir());
  fill(s, { "10.0.0.5": "other\r\neth0", "last_reserved_ip.0": "10.0.0.9" });
  expect(s.reserve("me", "eth0", ip("10.0.0.5"), 0)).toBe(false);
  expect(fs.readFileSync(path.join(s.dir, "10.0.0.5"), "utf8")).toBe("other\r\neth0");
  expect(fs.readFileSync(path.join(s.dir, "last_reserved_ip.0"), "utf8")).toBe("10.0.0.9");
});

test("a reservation whose last_reserved_ip cannot be written is taken back", () => {
  using s = Store.open("net", tempDataDir());
  fs.mkdirSync(path.join(s.dir, "last_reserved_ip.0")); // a directory cannot be written as a file
  expect(() => s.reserve("me", "eth0", ip("10.0.0.5"), 0)).toThrow(`open ${path.join(s.dir, "last_reserved_ip.0")}: is a directory`);
  expect(fs.existsSync(path.join(s.dir, "10.0.0.5"))).toBe(false);
});

test("last reserved IP: missing, garbage, IPv4-mapped", () => {
  using s = Store.open("net", tempDataDir());
  expect(s.lastReservedIP(0)).toBeUndefined();
  fill(s, { "last_reserved_ip.0": "garbage", "last_reserved_ip.1": "::ffff:10.0.0.7", "last_reserved_ip.2": "10.0.0.8\n" });
  expect(s.lastReservedIP(0)).toBeUndefined();
  expect(formatIP(s.lastReservedIP(1)!)).toBe("10.0.0.7");
  expect(s.lastReservedIP(2)).toBeUndefined(); // upstream does not trim it either
});

test("getById and findById match id+ifname and legacy id-only files, trimmed, in name order", () => {
  using s = Store.open("net", tempDataDir());
  fill(s, {
    "10.0.0.9": "c1\r\neth0",
    "10.0.0.10": "c1\r\neth0\n",
    "10.0.0.11": "c1",
    "10.0.0.12": "c1\r\neth1",
    "10.0.0.13": "c2\r\neth0",
    "not-an-ip": "c1\r\neth0",
    "last_reserved_ip.0": "c1",
  });
  expect(s.getById("c1", "eth0").map(formatIP)).toEqual(["10.0.0.10", "10.0.0.11", "10.0.0.9"]);
  expect(s.findById("c1", "eth0")).toBe(true);
  expect(s.findById("c2", "eth0")).toBe(true);
  expect(s.findById("c2", "eth1")).toBe(false);
  expect(s.findById("c3", "eth0")).toBe(false);
  fill(s, { "10.0.0.14": " c3 \n" });
  expect(s.findById("c3", "eth9")).toBe(true); // legacy file of the bare id
});

test("release also removes empty reservations (a writer killed between create and write), nothing else", () => {
  using s = Store.open("net", tempDataDir());
  fill(s, { "10.0.0.2": "", "10.0.0.3": "c2\r\neth0", "not-an-ip": "", "last_reserved_ip.0": "" });
  expect(s.releaseById("c1", "eth0")).toEqual([]);
  expect(names(s)).toEqual(["10.0.0.3", "last_reserved_ip.0", "lock", "not-an-ip"]);
});

test("release by id+ifname leaves legacy files, other attachments and bookkeeping alone", () => {
  using s = Store.open("net", tempDataDir());
  fill(s, {
    "10.0.0.2": "c1\r\neth0",
    "2001:db8::2": "c1\r\neth0",
    "10.0.0.3": "c1",
    "10.0.0.4": "c1\r\neth1",
    "10.0.0.5": "c2\r\neth0",
    "last_reserved_ip.0": "c1",
  });
  expect(s.releaseById("c1", "eth0")).toEqual([]);
  expect(names(s)).toEqual(["10.0.0.3", "10.0.0.4", "10.0.0.5", "last_reserved_ip.0", "lock"]);
  // Nothing of (c1, eth0) is left, so the legacy file of c1 goes now.
  expect(s.releaseById("c1", "eth0")).toEqual([]);
  expect(names(s)).toEqual(["10.0.0.4", "10.0.0.5", "last_reserved_ip.0", "lock"]);
  // Unknown IDs are no error.
  expect(s.releaseById("nobody", "eth0")).toEqual([]);
});

test("release walks subdirectories as upstream's filepath.Walk does", () => {
  using s = Store.open("net", tempDataDir());
  fs.mkdirSync(path.join(s.dir, "sub"));
  fs.writeFileSync(path.join(s.dir, "sub", "10.0.0.2"), "c1\r\neth0");
  expect(s.findById("c1", "eth0")).toBe(true);
  expect(s.releaseById("c1", "eth0")).toEqual([]);
  expect(fs.readdirSync(path.join(s.dir, "sub"))).toEqual([]);
});

test("release failures are reported with Go's wording and do not stop the others", () => {
  using s = Store.open("net", tempDataDir());
  fill(s, { "10.0.0.2": "c1\r\neth0", "10.0.0.3": "c1\r\neth0" });
  const real = sysFs.unlinkSync;
  const spy = spyOn(sysFs, "unlinkSync").mockImplementation((p: string) => {
    if (String(p).endsWith("10.0.0.2")) throw Object.assign(new Error("EROFS"), { code: "EROFS", errno: -30, syscall: "unlink" });
    real(p);
  });
  try {
    expect(s.releaseById("c1", "eth0")).toEqual([`remove ${path.join(s.dir, "10.0.0.2")}: read-only file system`]);
  } finally {
    spy.mockRestore();
  }
  expect(names(s)).toEqual(["10.0.0.2", "lock"]);
});

test("reservations lists IP-named files with their owners", () => {
  using s = Store.open("net", tempDataDir());
  fill(s, { "10.0.0.2": "c1\r\neth0", "10.0.0.3": "old\n", "junk": "c1\r\neth0", "last_reserved_ip.0": "10.0.0.3" });
  expect(s.reservations().map(({ ip: a, ...r }) => ({ ip: formatIP(a), ...r }))).toEqual([
    { ip: "10.0.0.2", path: path.join(s.dir, "10.0.0.2"), containerId: "c1", ifname: "eth0" },
    { ip: "10.0.0.3", path: path.join(s.dir, "10.0.0.3"), containerId: "old" },
  ]);
});

test("withLock holds an exclusive flock on the lock file", () => {
  using s = Store.open("net", tempDataDir());
  const LOCK_NB = 4;
  // flock belongs to the open file description: a second open of the file is a competitor, even in-process.
  const other = fs.openSync(path.join(s.dir, "lock"), "r");
  try {
    s.withLock(() => {
      expect(sys().flock(other, LOCK_EX | LOCK_NB)).toBe(-1);
      expect(errno()).toBe(EAGAIN);
    });
    expect(sys().flock(other, LOCK_EX | LOCK_NB)).toBe(0);
    sys().flock(other, LOCK_UN);
  } finally {
    fs.closeSync(other);
  }
});
