// ipam/static/ip-net.test.ts: net.IPNet parsing, printing and Contains as Go's net package does them, for the masks
// static's config can hold (prefix masks from CIDR text, and raw masks from `"Address": {"Mask": …}`).
import { expect, test } from "bun:test";
import { parseIP, type IP } from "../../pkg/ip/cidr.ts";
import { cidrMask, formatGoIPNet, goContains, parseGoCIDR } from "./ip-net.ts";

const ip = (s: string): IP => parseIP(s)!;
const bytes = (...b: number[]) => Uint8Array.from(b);

test("cidrMask", () => {
  expect([...cidrMask(24, 32)]).toEqual([255, 255, 255, 0]);
  expect([...cidrMask(0, 32)]).toEqual([0, 0, 0, 0]);
  expect([...cidrMask(13, 32)]).toEqual([255, 248, 0, 0]);
  expect([...cidrMask(128, 128)]).toEqual(new Array(16).fill(255));
});

test("parseGoCIDR keeps host bits and accepts what Go's ParseCIDR accepts", () => {
  const p = (s: string) => {
    const n = parseGoCIDR(s);
    return n ? formatGoIPNet(n) : undefined;
  };
  expect(p("10.0.0.5/24")).toBe("10.0.0.5/24");
  expect(p("10.0.0.5/0024")).toBe("10.0.0.5/24"); // dtoi takes leading zeros
  expect(p("FD00::0001/64")).toBe("fd00::1/64");
  // An IPv4-mapped address is IPv4 with a 16-byte mask: only its last 32 bits count when printed.
  expect(p("::ffff:10.0.0.1/120")).toBe("10.0.0.1/24");
  expect(p("::ffff:10.0.0.1/64")).toBe("10.0.0.1/0");
  expect(parseGoCIDR("::ffff:10.0.0.1/64")!.ip.family).toBe(4);
  for (const bad of ["10.0.0.5", "10.0.0.5/33", "10.0.0.5/", "10.0.0.5/+1", "10.0.0.5/ 24", "fe80::1%eth0/64", "/24", "", "010.0.0.1/8", "fd00::/129"]) {
    expect(parseGoCIDR(bad)).toBeUndefined();
  }
});

test("formatGoIPNet prints as IPNet.String: prefix, hex for a non-prefix mask, <nil> when they do not fit", () => {
  expect(formatGoIPNet({ ip: ip("10.0.0.5"), mask: bytes(255, 255, 0, 255) })).toBe("10.0.0.5/ffff00ff");
  expect(formatGoIPNet({ ip: ip("10.0.0.5"), mask: cidrMask(120, 128) })).toBe("10.0.0.5/24");
  expect(formatGoIPNet({ ip: ip("fd00::1"), mask: cidrMask(64, 128) })).toBe("fd00::1/64");
  expect(formatGoIPNet({ ip: ip("fd00::1"), mask: cidrMask(24, 32) })).toBe("<nil>");
  expect(formatGoIPNet({ ip: ip("10.0.0.5") })).toBe("<nil>");
  expect(formatGoIPNet({ ip: ip("10.0.0.5"), mask: bytes() })).toBe("<nil>");
  expect(formatGoIPNet({ ip: ip("10.0.0.5"), mask: bytes(255, 255, 255) })).toBe("<nil>");
  expect(formatGoIPNet({ mask: cidrMask(24, 32) })).toBe("<nil>");
});

test("goContains compares under the mask, within one family", () => {
  const n = parseGoCIDR("10.0.0.5/24")!;
  expect(goContains(n, ip("10.0.0.1"))).toBe(true);
  expect(goContains(n, ip("::ffff:10.0.0.200"))).toBe(true);
  expect(goContains(n, ip("10.0.1.1"))).toBe(false);
  expect(goContains(n, ip("fd00::1"))).toBe(false);
  expect(goContains(parseGoCIDR("fd00::1/64")!, ip("fd00::ffff"))).toBe(true);
  expect(goContains(parseGoCIDR("::ffff:10.0.0.1/64")!, ip("192.168.1.1"))).toBe(true); // a /0 once mapped
  expect(goContains({ ip: ip("10.0.0.5"), mask: bytes(255, 255, 0, 255) }, ip("10.0.9.5"))).toBe(true);
  expect(goContains({ ip: ip("10.0.0.5") }, ip("10.0.0.5"))).toBe(false);
  expect(goContains({}, ip("10.0.0.5"))).toBe(false);
});
