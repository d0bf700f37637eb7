import { expect, test } from "bun:test";
import { addToIP, contains, formatCIDR, formatIP, isGlobalUnicast, lastOf, networkOf, parseCIDR, parseIP } from "./cidr.ts";

const fmt = (s: string) => { const ip = parseIP(s); return ip ? formatIP(ip) : undefined; };

test("IPv4 text as Go's net.ParseIP reads it", () => {
  expect(fmt("10.1.2.3")).toBe("10.1.2.3");
  expect(fmt("0.0.0.0")).toBe("0.0.0.0");
  for (const bad of ["10.1.2", "10.1.2.256", "010.1.2.3", "1.2.3.4.5", "a.b.c.d", " 1.2.3.4", ""]) expect(fmt(bad)).toBeUndefined();
});

test("IPv6 prints as RFC 5952, as Go does", () => {
  expect(fmt("2001:DB8:0:0:0:0:0:1")).toBe("2001:db8::1");
  expect(fmt("2001:db8:0:0:1:0:0:1")).toBe("2001:db8::1:0:0:1");
  expect(fmt("2001:db8:0:1:1:1:1:1")).toBe("2001:db8:0:1:1:1:1:1");
  expect(fmt("::")).toBe("::");
  expect(fmt("::1")).toBe("::1");
  expect(fmt("fe80::")).toBe("fe80::");
  expect(fmt("::ffff:10.0.0.1")).toBe("10.0.0.1");
  expect(fmt("64:ff9b::1.2.3.4")).toBe("64:ff9b::102:304");
  for (const bad of ["1::2::3", "12345::", "1:2:3:4:5:6:7:8:9", "1:2:3:4:5:6:7", "::1.2.3", "g::"]) expect(fmt(bad)).toBeUndefined();
});

test("CIDRs keep host bits; network and last address", () => {
  const n = parseCIDR("10.1.0.5/16")!;
  expect(formatCIDR(n)).toBe("10.1.0.5/16");
  expect(formatIP(networkOf(n))).toBe("10.1.0.0");
  expect(formatIP(lastOf(n))).toBe("10.1.255.255");
  expect(contains(n, parseIP("10.1.200.1")!)).toBe(true);
  expect(contains(n, parseIP("10.2.0.1")!)).toBe(false);
  expect(contains(n, parseIP("::1")!)).toBe(false);
  const v6 = parseCIDR("2001:db8::/64")!;
  expect(formatIP(lastOf(v6))).toBe("2001:db8::ffff:ffff:ffff:ffff");
  for (const bad of ["10.1.0.0/33", "10.1.0.0", "10.1.0.0/", "10.1.0.0/a", "::/129", "10.1.0.0/-1"]) expect(parseCIDR(bad)).toBeUndefined();
});

test("arithmetic wraps within the family", () => {
  expect(formatIP(addToIP(parseIP("10.0.0.255")!, 1n))).toBe("10.0.1.0");
  expect(formatIP(addToIP(parseIP("255.255.255.255")!, 1n))).toBe("0.0.0.0");
  expect(formatIP(addToIP(parseIP("::")!, -1n))).toBe("ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff");
});

test("isGlobalUnicast as Go's net.IP.IsGlobalUnicast", () => {
  const g = (s: string) => isGlobalUnicast(parseIP(s)!);
  expect(["10.1.2.3", "192.0.2.1", "223.255.255.254", "fd00:1::2", "2001:db8::1"].map(g)).toEqual([true, true, true, true, true]);
  expect(["0.0.0.0", "127.0.0.1", "169.254.1.1", "224.0.0.1", "255.255.255.255", "::", "::1", "fe80::1", "ff02::1"].map(g))
    .toEqual([false, false, false, false, false, false, false, false, false]);
});
