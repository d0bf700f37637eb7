// ipam/host-local/range.test.ts: canonicalisation, validation texts and overlap rules of ranges and range sets.
import { expect, test } from "bun:test";
import { formatIP, parseIP, type IP } from "../../pkg/ip/cidr.ts";
import { parseSubnet } from "./config.ts";
import { canonicalizeRange, formatRange, rangesOverlap, type Range, type RangeSpec } from "./range.ts";
import { canonicalizeRangeSet, canonicalizeRangeSets, formatRangeSet, rangeFor } from "./range-set.ts";

interface Text { subnet?: string; rangeStart?: string; rangeEnd?: string; gateway?: string }

function ip(s: string): IP {
  const v = parseIP(s);
  if (!v) throw new Error(`bad test IP ${s}`);
  return v;
}

function spec(t: Text): RangeSpec {
  return {
    subnet: t.subnet === undefined ? undefined : parseSubnet(t.subnet),
    rangeStart: t.rangeStart === undefined ? undefined : ip(t.rangeStart),
    rangeEnd: t.rangeEnd === undefined ? undefined : ip(t.rangeEnd),
    gateway: t.gateway === undefined ? undefined : ip(t.gateway),
  };
}

function text(r: Range): Text {
  return {
    subnet: `${formatIP(r.subnet.ip)}/${r.subnet.prefix}`,
    rangeStart: formatIP(r.rangeStart),
    rangeEnd: formatIP(r.rangeEnd),
    gateway: formatIP(r.gateway),
  };
}

const canon = (t: Text) => text(canonicalizeRange(spec(t)));
const canonErr = (t: Text) => () => canonicalizeRange(spec(t));

test("IPv4 defaults: gateway and start .1, end before the broadcast", () => {
  expect(canon({ subnet: "192.0.2.0/24" })).toEqual({
    subnet: "192.0.2.0/24", rangeStart: "192.0.2.1", rangeEnd: "192.0.2.254", gateway: "192.0.2.1",
  });
  expect(canon({ subnet: "192.0.2.0/25" }).rangeEnd).toBe("192.0.2.126");
  expect(canon({ subnet: "10.0.0.0/30" })).toEqual({
    subnet: "10.0.0.0/30", rangeStart: "10.0.0.1", rangeEnd: "10.0.0.2", gateway: "10.0.0.1",
  });
});

test("IPv6 defaults: the end is the last address of the subnet", () => {
  expect(canon({ subnet: "2001:DB8:1::/64" })).toEqual({
    subnet: "2001:db8:1::/64", rangeStart: "2001:db8:1::1", rangeEnd: "2001:db8:1:0:ffff:ffff:ffff:ffff", gateway: "2001:db8:1::1",
  });
  expect(canon({ subnet: "2001:db8::/126" }).rangeEnd).toBe("2001:db8::3");
});

test("explicit start, end and gateway are kept, gateway outside the range too", () => {
  expect(canon({ subnet: "192.0.2.0/24", rangeStart: "192.0.2.40", rangeEnd: "192.0.2.50", gateway: "192.0.2.254" })).toEqual({
    subnet: "192.0.2.0/24", rangeStart: "192.0.2.40", rangeEnd: "192.0.2.50", gateway: "192.0.2.254",
  });
  // v1.9.1 no longer checks that the gateway lies in the subnet.
  expect(canon({ subnet: "192.0.2.0/24", gateway: "10.9.9.9" }).gateway).toBe("10.9.9.9");
  // IPv4-mapped text is canonicalised to IPv4.
  expect(canon({ subnet: "192.0.2.0/24", gateway: "::ffff:192.0.2.9" }).gateway).toBe("192.0.2.9");
});

test("subnets too small to allocate from", () => {
  expect(canonErr({ subnet: "192.0.2.0/31" })).toThrow("Network 192.0.2.0/31 too small to allocate from");
  expect(canonErr({ subnet: "192.0.2.7/32" })).toThrow("Network 192.0.2.7/32 too small to allocate from");
  expect(canonErr({ subnet: "2001:db8::/127" })).toThrow("Network 2001:db8::/127 too small to allocate from");
  expect(canonErr({ subnet: "2001:db8::1/128" })).toThrow("Network 2001:db8::1/128 too small to allocate from");
});

test("host bits set", () => {
  expect(canonErr({ subnet: "192.0.2.1/24" }))
    .toThrow("Network has host bits set. For a subnet mask of length 24 the network address is 192.0.2.0");
  expect(canonErr({ subnet: "2001:db8:1::1/64" }))
    .toThrow("Network has host bits set. For a subnet mask of length 64 the network address is 2001:db8:1::");
  expect(canonErr({ subnet: "2001:db8:24:19ff::/63" }))
    .toThrow("Network has host bits set. For a subnet mask of length 63 the network address is 2001:db8:24:19fe::");
  expect(canonErr({ subnet: "192.168.127.0/23" }))
    .toThrow("Network has host bits set. For a subnet mask of length 23 the network address is 192.168.126.0");
});

test("missing subnet and IPv4-mapped subnets", () => {
  expect(canonErr({})).toThrow("IP <nil> not v4 nor v6");
  expect(canonErr({ subnet: "::ffff:10.0.0.0/120" })).toThrow("IPNet IP and Mask version mismatch");
  expect(canonErr({ subnet: "::ffff:10.0.0.0/64" })).toThrow("IPNet IP and Mask version mismatch");
  expect(canonErr({ subnet: "::ffff:10.0.0.0/127" })).toThrow("Network 10.0.0.0/31 too small to allocate from");
  expect(() => parseSubnet("10.0.0.0")).toThrow("invalid CIDR address: 10.0.0.0");
  expect(() => parseSubnet("10.0.0.0/33")).toThrow("invalid CIDR address: 10.0.0.0/33");
});

test("rangeStart and rangeEnd must lie in the subnet and in order", () => {
  expect(canonErr({ subnet: "192.0.2.0/24", rangeStart: "192.0.3.0" })).toThrow("RangeStart 192.0.3.0 not in network 192.0.2.0/24");
  expect(canonErr({ subnet: "192.0.2.0/24", rangeEnd: "192.0.4.0" })).toThrow("RangeEnd 192.0.4.0 not in network 192.0.2.0/24");
  // Start after end: the start is checked against the configured end first.
  expect(canonErr({ subnet: "192.0.2.0/24", rangeStart: "192.0.2.50", rangeEnd: "192.0.2.40" }))
    .toThrow("RangeStart 192.0.2.50 not in network 192.0.2.0/24");
  expect(canonErr({ subnet: "192.0.2.0/24", rangeStart: "2001:db8::1" })).toThrow("RangeStart 2001:db8::1 not in network 192.0.2.0/24");
  // The network and broadcast addresses are in the network, so upstream accepts them as bounds.
  expect(canon({ subnet: "192.0.2.0/24", rangeStart: "192.0.2.0", rangeEnd: "192.0.2.255" }).rangeEnd).toBe("192.0.2.255");
});

test("overlap between ranges", () => {
  const r = (t: Text) => canonicalizeRange(spec(t));
  const cases: [Text, Text, boolean][] = [
    [{ subnet: "10.0.0.0/24" }, { subnet: "10.0.1.0/24" }, false],
    [{ subnet: "0.0.0.0/24" }, { subnet: "::/24" }, false],
    [{ subnet: "10.0.0.0/24" }, { subnet: "10.0.0.0/24" }, true],
    [{ subnet: "10.0.0.0/20" }, { subnet: "10.0.1.0/24" }, true],
    [{ subnet: "10.0.0.0/24", rangeEnd: "10.0.0.127" }, { subnet: "10.0.0.0/24", rangeStart: "10.0.0.128" }, false],
    [{ subnet: "10.0.0.0/24", rangeEnd: "10.0.0.127" }, { subnet: "10.0.0.0/24", rangeStart: "10.0.0.127" }, true],
  ];
  for (const [a, b, want] of cases) {
    expect(rangesOverlap(r(a), r(b))).toBe(want);
    expect(rangesOverlap(r(b), r(a))).toBe(want);
  }
});

test("range set: empty, mixed families, overlapping members", () => {
  expect(() => canonicalizeRangeSet([])).toThrow("empty range set");
  expect(() => canonicalizeRangeSet([spec({ subnet: "10.0.0.0/24" }), spec({ subnet: "2001:db8::/64" })]))
    .toThrow("mixed address families");
  expect(() => canonicalizeRangeSet([spec({ subnet: "10.1.0.0/22" }), spec({ subnet: "10.1.2.0/24" })]))
    .toThrow("subnets 10.1.0.1-10.1.3.254 and 10.1.2.1-10.1.2.254 overlap");
  // A JSON null member is a range without a subnet.
  expect(() => canonicalizeRangeSet([undefined])).toThrow("IP <nil> not v4 nor v6");
});

test("range set text and lookup", () => {
  const set = canonicalizeRangeSet([spec({ subnet: "192.168.1.0/24", rangeStart: "192.168.1.10", rangeEnd: "192.168.1.20" }), spec({ subnet: "192.168.2.0/24" })]);
  expect(formatRangeSet(set)).toBe("192.168.1.10-192.168.1.20,192.168.2.1-192.168.2.254");
  expect(formatRange(set[1]!)).toBe("192.168.2.1-192.168.2.254");
  expect(rangeFor(set, ip("192.168.1.15"))).toBe(set[0]);
  expect(rangeFor(set, ip("192.168.1.9"))).toBeUndefined(); // in the subnet, before the start
  expect(rangeFor(set, ip("192.168.2.255"))).toBeUndefined();
  expect(rangeFor(set, ip("::ffff:192.168.2.3"))).toBe(set[1]);
});

test("the list of sets: errors carry the set index; version and cross-set overlap", () => {
  const v4 = [spec({ subnet: "10.0.0.0/24" })];
  const v4b = [spec({ subnet: "10.0.1.0/24" })];
  const v6 = [spec({ subnet: "2001:db8::/64" })];
  expect(() => canonicalizeRangeSets([], "1.0.0")).toThrow("no IP ranges specified");
  expect(() => canonicalizeRangeSets([v4, [spec({ subnet: "10.0.9.1/24" })]], "1.0.0"))
    .toThrow("invalid range set 1: Network has host bits set. For a subnet mask of length 24 the network address is 10.0.9.0");
  expect(() => canonicalizeRangeSets([v4, []], "1.0.0")).toThrow("invalid range set 1: empty range set");
  expect(() => canonicalizeRangeSets([v4, [spec({ subnet: "10.0.0.0/16" })]], "1.0.0")).toThrow("range set 0 overlaps with 1");
  expect(() => canonicalizeRangeSets([v6, v4, [spec({ subnet: "10.0.0.128/25" })]], "1.0.0")).toThrow("range set 1 overlaps with 2");
  // One address per family before 0.3.0; "" means 0.1.0.
  expect(() => canonicalizeRangeSets([v4, v4b], "0.2.0")).toThrow("CNI version 0.2.0 does not support more than 1 address per family");
  expect(() => canonicalizeRangeSets([v4, v4b], "")).toThrow("CNI version  does not support more than 1 address per family");
  expect(canonicalizeRangeSets([v4, v6], "0.2.0")).toHaveLength(2);
  expect(canonicalizeRangeSets([v4, v4b], "0.3.0")).toHaveLength(2);
});
