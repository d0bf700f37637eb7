// pkg/ip/sysctl.test.ts: name → path mapping as upstream's toNormalName + filepath.Join (no root), then reading and
// writing net.ipv4.ip_forward inside a throwaway netns cnid<pid36>-sysctl (root only; the host's values are never written).
import { describe, expect, test } from "bun:test";
import { createNetns, removeNetns, withNetns } from "../ns/netns.ts";
import { readSysctl, SysctlError, sysctlPath, writeSysctl, writeSysctlIfPossible } from "./sysctl.ts";

describe("sysctlPath", () => {
  test("dots before any slash: dots and slashes swap", () => {
    expect(sysctlPath("net.ipv4.ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net.ipv6.conf.all.disable_ipv6")).toBe("/proc/sys/net/ipv6/conf/all/disable_ipv6");
    // a VLAN interface "eth0.1" is written with a slash in dotted names
    expect(sysctlPath("net.ipv4.conf.eth0/1.rp_filter")).toBe("/proc/sys/net/ipv4/conf/eth0.1/rp_filter");
  });

  test("a slash first (or no dot at all): the name is a path, dots kept", () => {
    expect(sysctlPath("net/ipv4/ip_forward")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath("net/ipv4/conf/eth0.1/rp_filter")).toBe("/proc/sys/net/ipv4/conf/eth0.1/rp_filter");
    expect(sysctlPath("kernel")).toBe("/proc/sys/kernel");
  });

  test("cleaned as Go's filepath.Join cleans (callers that take user keys must still validate them)", () => {
    expect(sysctlPath("net//ipv4/./ip_forward/")).toBe("/proc/sys/net/ipv4/ip_forward");
    expect(sysctlPath(".net.core.somaxconn")).toBe("/proc/sys/net/core/somaxconn");
    expect(sysctlPath("net/../../../etc/passwd")).toBe("/etc/passwd");
    expect(sysctlPath("")).toBe("/proc/sys");
  });
});

describe.skipIf(process.getuid?.() !== 0)("inside a throwaway netns (root)", () => {
  test("write net.ipv4.ip_forward there, read it back there and through `ip netns exec`; errors read like Go's", () => {
    const name = `cnid${process.pid.toString(36)}-sysctl`;
    const path = createNetns(name);
    const hostBefore = readSysctl("net.ipv4.ip_forward"); // read only: the host's value is never written
    try {
      withNetns(path, () => {
        expect(readSysctl("net.ipv4.ip_forward")).toBe("0"); // a new netns starts with forwarding off
        writeSysctl("net.ipv4.ip_forward", "1");
        expect(readSysctl("net/ipv4/ip_forward")).toBe("1");
        writeSysctl("net/ipv6/conf/lo/disable_ipv6", "1");
        expect(readSysctl("net.ipv6.conf.lo.disable_ipv6")).toBe("1");
      });
      const cat = Bun.spawnSync(["ip", "netns", "exec", name, "cat", "/proc/sys/net/ipv4/ip_forward"]);
      expect(cat.stdout.toString()).toBe("1\n");
      expect(readSysctl("net.ipv4.ip_forward")).toBe(hostBefore);

      withNetns(path, () => {
        let missing: unknown;
        try { readSysctl("net.ipv4.conf.cnid-nope.rp_filter"); } catch (e) { missing = e; }
        expect(missing).toBeInstanceOf(SysctlError);
        expect((missing as SysctlError).code).toBe("ENOENT");
        expect((missing as Error).message).toBe("open /proc/sys/net/ipv4/conf/cnid-nope/rp_filter: no such file or directory");
        expect(() => writeSysctl("net.ipv4.ip_forward", "banana")).toThrow("write /proc/sys/net/ipv4/ip_forward: invalid argument");
        // The nice-to-have writes: a missing file or a refused value passes quietly, a good one still lands.
        writeSysctlIfPossible("net/ipv6/conf/cnid-nope/ndisc_notify", "1");
        writeSysctlIfPossible("net.ipv4.ip_forward", "banana");
        writeSysctlIfPossible("net/ipv4/conf/lo/arp_notify", "1");
        expect(readSysctl("net/ipv4/conf/lo/arp_notify")).toBe("1");
      });
    } finally {
      removeNetns(name);
    }
  });
});
