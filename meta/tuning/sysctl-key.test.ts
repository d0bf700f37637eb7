// meta/tuning/sysctl-key.test.ts: sysctl keys become /proc/sys/net files and nothing else; the allowlist.
// Runs anywhere, no root.
import { expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { checkAllowlist, readAllowlist, sysctlFileName, validateAllowlists } from "./sysctl-key.ts";

test("dots become slashes, then IFNAME the interface (whose own dots survive)", () => {
  expect(sysctlFileName("net.ipv4.conf.IFNAME.arp_notify", "eth0")).toBe("/proc/sys/net/ipv4/conf/eth0/arp_notify");
  expect(sysctlFileName("net.ipv4.conf.IFNAME.arp_notify", "eth0.100")).toBe("/proc/sys/net/ipv4/conf/eth0.100/arp_notify");
  expect(sysctlFileName("net/ipv6/conf/IFNAME/mtu", "net1")).toBe("/proc/sys/net/ipv6/conf/net1/mtu");
  // only the first IFNAME is replaced
  expect(sysctlFileName("net.IFNAME.IFNAME", "e0")).toBe("/proc/sys/net/e0/IFNAME");
  // "$&" in a name is text, not a replacement pattern
  expect(sysctlFileName("net.core.IFNAME", "a$&b")).toBe("/proc/sys/net/core/a$&b");
  expect(sysctlFileName("net.core.somaxconn", "eth0")).toBe("/proc/sys/net/core/somaxconn");
});

test("anything outside /proc/sys/net/ is refused, with the converted key quoted", () => {
  const refused: [key: string, ifname: string, quoted: string][] = [
    ["kernel.x", "eth0", '"kernel/x"'],
    ["kernel/x", "eth0", '"kernel/x"'],
    ["../../etc/passwd", "eth0", '"//////etc/passwd"'],
    ["net", "eth0", '"net"'],
    ["net.", "eth0", '"net/"'],
    ["net/ipv4/IFNAME/x", "../../../kernel", '"net/ipv4/../../../kernel/x"'], // the skel refuses such names first
    ["net.IFNAME", "..", '"net/.."'],
    // our addition: a ".." path element is a traversal, refused by name even though upstream's dot conversion
    // would make it /proc/sys/net/kernel/x and fail only on the missing file
    ["net/../../kernel/x", "eth0", '"net///////kernel/x"'],
    ["net/ipv4/../..", "eth0", '"net/ipv4//////"'],
  ];
  for (const [key, ifname, quoted] of refused) expect(() => sysctlFileName(key, ifname)).toThrow(`invalid net sysctl key: ${quoted}`);
});

test("odd spellings that stay inside net/ are cleaned as upstream's filepath.Join does", () => {
  expect(sysctlFileName("net..core..somaxconn", "eth0")).toBe("/proc/sys/net/core/somaxconn");
  expect(sysctlFileName("net.ipv4.conf.IFNAME....arp_notify", "eth0")).toBe("/proc/sys/net/ipv4/conf/eth0/arp_notify");
  expect(sysctlFileName("/net/core/somaxconn/", "eth0")).toBe("/proc/sys/net/core/somaxconn");
});

test("the allowlist is searched unanchored against the raw key; every key must match one pattern", () => {
  const list = ["^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$", "somaxconn"];
  expect(() => checkAllowlist(["net.ipv4.conf.IFNAME.arp_notify", "net.core.somaxconn"], list)).not.toThrow();
  expect(() => checkAllowlist(["net.ipv4.conf.eth0.arp_notify"], list)).toThrow(
    "Sysctl net.ipv4.conf.eth0.arp_notify is not allowed. Only the following sysctls are allowed: [^net\\.ipv4\\.conf\\.IFNAME\\.[a-z_]+$ somaxconn]",
  );
  expect(() => checkAllowlist([], [])).not.toThrow();
  expect(() => checkAllowlist(["net.a"], [])).toThrow("Sysctl net.a is not allowed. Only the following sysctls are allowed: []");
  expect(() => checkAllowlist(["net.a"], ["("])).toThrow(/^error parsing regexp: /);
  // a broken pattern after the matching one is never compiled, as upstream
  expect(() => checkAllowlist(["net.a"], ["net", "("])).not.toThrow();
});

test("the allowlist file: trimmed non-empty lines; absent means no list", () => {
  const dir = mkdtempSync("/tmp/tuning-unit-");
  try {
    writeFileSync(`${dir}/allow.conf`, "  ^net\\.core\\.  \n\n\t\nsomaxconn\r\n");
    expect(readAllowlist(`${dir}/allow.conf`)).toEqual(["^net\\.core\\.", "somaxconn"]);
    expect(readAllowlist(`${dir}/missing.conf`)).toBeUndefined();
    expect(() => readAllowlist(dir)).toThrow(`read ${dir}: is a directory`);
    // the test hook adds a list; a missing hook file is no list
    const env = { CNI_TUNING_TEST_ALLOWLIST: `${dir}/allow.conf` };
    expect(() => validateAllowlists(["net.core.somaxconn"], env)).not.toThrow();
    expect(() => validateAllowlists(["net.ipv4.ip_forward"], env)).toThrow("Sysctl net.ipv4.ip_forward is not allowed");
    expect(() => validateAllowlists(["net.ipv4.ip_forward"], { CNI_TUNING_TEST_ALLOWLIST: `${dir}/missing.conf` })).not.toThrow();
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
