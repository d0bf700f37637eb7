// ipam/host-local/allocator.test.ts: which address the allocator picks, on a real store in a temp directory,
// with the cases of upstream's allocator_test.go and the texts of its errors.
import { afterEach, expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { formatIP, parseIP, type IP } from "../../pkg/ip/cidr.ts";
import { allocate, RangeIter } from "./allocator.ts";
import { parseSubnet } from "./config.ts";
import { canonicalizeRangeSet, type RangeSet } from "./range-set.ts";
import { Store } from "./store.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) fs.rmSync(d, { recursive: true, force: true });
});

function ip(s: string): IP {
  return parseIP(s)!;
}

interface Text { subnet: string; rangeStart?: string; rangeEnd?: string; gateway?: string }

function set(...ranges: (Text | string)[]): RangeSet {
  return canonicalizeRangeSet(ranges.map((r) => {
    const t = typeof r === "string" ? { subnet: r } : r;
    return {
      subnet: parseSubnet(t.subnet),
      rangeStart: t.rangeStart ? ip(t.rangeStart) : undefined,
      rangeEnd: t.rangeEnd ? ip(t.rangeEnd) : undefined,
      gateway: t.gateway ? ip(t.gateway) : undefined,
    };
  }));
}

/** A store in a fresh temp dir, pre-filled with reservations (ip -> content) and last_reserved_ip.0. */
function store(taken: Record<string, string> = {}, lastIP?: string): Store {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "host-local-alloc-"));
  dirs.push(dataDir);
  const s = Store.open("net", dataDir);
  for (const [addr, content] of Object.entries(taken)) fs.writeFileSync(path.join(s.dir, addr), content);
  if (lastIP !== undefined) fs.writeFileSync(path.join(s.dir, "last_reserved_ip.0"), lastIP);
  return s;
}

function order(rs: RangeSet, last?: string): string[] {
  const iter = new RangeIter(rs, last ? ip(last) : undefined);
  const out: string[] = [];
  for (let c = iter.next(); c; c = iter.next()) out.push(formatIP(c[0]));
  return out;
}

test("iteration order: from the start, from the end, from the middle", () => {
  const rs = set("192.168.1.0/29");
  const all = ["192.168.1.2", "192.168.1.3", "192.168.1.4", "192.168.1.5", "192.168.1.6"];
  expect(order(rs)).toEqual(all);
  expect(order(rs, "192.168.1.6")).toEqual(all);
  expect(order(rs, "192.168.1.3")).toEqual(["192.168.1.4", "192.168.1.5", "192.168.1.6", "192.168.1.2", "192.168.1.3"]);
  // A last IP outside the set (another set's, or a stale one) restarts at the first range.
  expect(order(rs, "10.0.0.3")).toEqual(all);
});

test("iteration across the ranges of a set, wrapping, skipping each range's gateway", () => {
  const rs = set("10.0.0.0/30", { subnet: "10.0.1.0/29", gateway: "10.0.1.3" });
  expect(order(rs)).toEqual(["10.0.0.2", "10.0.1.1", "10.0.1.2", "10.0.1.4", "10.0.1.5", "10.0.1.6"]);
  expect(order(rs, "10.0.1.6")).toEqual(["10.0.0.2", "10.0.1.1", "10.0.1.2", "10.0.1.4", "10.0.1.5", "10.0.1.6"]);
  expect(order(rs, "10.0.0.2")).toEqual(["10.0.1.1", "10.0.1.2", "10.0.1.4", "10.0.1.5", "10.0.1.6", "10.0.0.2"]);
  // rangeStart/rangeEnd bound the walk; a gateway outside them is never met.
  expect(order(set({ subnet: "10.0.0.0/24", rangeStart: "10.0.0.100", rangeEnd: "10.0.0.102" })))
    .toEqual(["10.0.0.100", "10.0.0.101", "10.0.0.102"]);
});

test("round robin: upstream's table of cases", () => {
  const cases: { subnets: string[]; taken?: Record<string, string>; lastIP?: string; want: string }[] = [
    { subnets: ["10.0.0.0/29"], want: "10.0.0.2" },
    { subnets: ["2001:db8:1::0/64"], want: "2001:db8:1::2" },
    { subnets: ["10.0.0.0/30"], want: "10.0.0.2" },
    { subnets: ["10.0.0.0/29"], taken: { "10.0.0.2": "id" }, want: "10.0.0.3" },
    { subnets: ["10.0.0.0/29"], lastIP: "10.0.0.5", want: "10.0.0.6" },
    { subnets: ["10.0.0.0/29"], taken: { "10.0.0.4": "id", "10.0.0.5": "id" }, lastIP: "10.0.0.3", want: "10.0.0.6" },
    { subnets: ["10.0.0.0/29"], taken: { "10.0.0.6": "id" }, lastIP: "10.0.0.5", want: "10.0.0.2" },
    { subnets: ["10.0.0.0/29"], taken: { "10.0.0.2": "id" }, lastIP: "10.0.0.128", want: "10.0.0.3" },
    { subnets: ["10.0.0.0/29"], taken: { "10.0.0.2": "id", "10.0.0.4": "id", "10.0.0.5": "id", "10.0.0.6": "id" }, lastIP: "10.0.0.3", want: "10.0.0.3" },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30"], want: "10.0.0.2" },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30"], lastIP: "10.0.0.2", want: "10.0.1.2" },
    { subnets: ["10.0.0.0/30", "10.0.1.0/30", "10.0.2.0/30"], lastIP: "10.0.2.2", want: "10.0.0.2" },
    // garbage in last_reserved_ip is ignored
    { subnets: ["10.0.0.0/29"], lastIP: "not an ip", want: "10.0.0.2" },
  ];
  for (const c of cases) {
    using s = store(c.taken, c.lastIP);
    expect(formatIP(allocate(s, set(...c.subnets), 0, "ID", "eth0").ip)).toBe(c.want);
  }
});

test("result entry: address with the subnet's prefix and the range's gateway", () => {
  using s = store();
  expect(allocate(s, set({ subnet: "10.1.2.0/24", gateway: "10.1.2.254" }), 0, "c1", "eth0").config)
    .toEqual({ address: "10.1.2.1/24", gateway: "10.1.2.254" });
  expect(allocate(s, set("2001:db8:1::/64"), 1, "c1", "eth0").config).toEqual({ address: "2001:db8:1::2/64", gateway: "2001:db8:1::1" });
});

test("consecutive allocations never give the broadcast address, then the set is exhausted", () => {
  using s = store();
  const rs = set("192.168.1.0/29");
  for (let i = 2; i < 7; i++) expect(allocate(s, rs, 0, `ID${i}`, "eth0").config.address).toBe(`192.168.1.${i}/29`);
  expect(() => allocate(s, rs, 0, "ID8", "eth0")).toThrow("no IP addresses available in range set: 192.168.1.1-192.168.1.6");
});

test("after a release the next allocation moves on (round robin)", () => {
  using s = store();
  const rs = set("192.168.1.0/29");
  expect(allocate(s, rs, 0, "ID", "eth0").config.address).toBe("192.168.1.2/29");
  expect(s.releaseById("ID", "eth0")).toEqual([]);
  expect(allocate(s, rs, 0, "ID", "eth0").config.address).toBe("192.168.1.3/29");
});

test("exhaustion messages list every range of the set", () => {
  {
    using s = store({ "10.0.0.2": "id" });
    expect(() => allocate(s, set("10.0.0.0/30"), 0, "ID", "eth0")).toThrow("no IP addresses available in range set: 10.0.0.1-10.0.0.2");
  }
  {
    using s = store({ "10.0.0.2": "id", "10.0.1.2": "id" });
    expect(() => allocate(s, set("10.0.0.0/30", "10.0.1.0/30"), 0, "ID", "eth0"))
      .toThrow("no IP addresses available in range set: 10.0.0.1-10.0.0.2,10.0.1.1-10.0.1.2");
  }
});

test("requested IPs: taken, in use, the gateway, outside the ranges", () => {
  using s = store();
  const rs = set("192.168.1.0/29");
  expect(allocate(s, rs, 0, "ID", "eth0", ip("192.168.1.5")).config).toEqual({ address: "192.168.1.5/29", gateway: "192.168.1.1" });
  expect(fs.readFileSync(path.join(s.dir, "last_reserved_ip.0"), "utf8")).toBe("192.168.1.5");
  // Asking again, even for the same attachment, finds it taken.
  expect(() => allocate(s, rs, 0, "ID", "eth0", ip("192.168.1.5")))
    .toThrow("requested IP address 192.168.1.5 is not available in range set 192.168.1.1-192.168.1.6");
  expect(() => allocate(s, rs, 0, "ID2", "eth0", ip("192.168.1.1"))).toThrow("requested ip 192.168.1.1 is subnet's gateway");
  const bounded = set({ subnet: "192.168.1.0/29", rangeStart: "192.168.1.3", rangeEnd: "192.168.1.4" });
  expect(() => allocate(s, bounded, 0, "ID3", "eth0", ip("192.168.1.6"))).toThrow("192.168.1.6 not in range set 192.168.1.3-192.168.1.4");
  expect(() => allocate(s, bounded, 0, "ID3", "eth0", ip("192.168.1.2"))).toThrow("192.168.1.2 not in range set 192.168.1.3-192.168.1.4");
  // A requested IP does not go through the duplicate check (upstream neither).
  expect(allocate(s, rs, 0, "ID", "eth0", ip("192.168.1.6")).config.address).toBe("192.168.1.6/29");
});

test("a second address for the same attachment in the same set is refused, also for legacy files", () => {
  {
    using s = store({ "10.0.0.4": "ID\r\neth0" });
    expect(() => allocate(s, set("10.0.0.0/29"), 0, "ID", "eth0")).toThrow("10.0.0.4 has been allocated to ID, duplicate allocation is not allowed");
    // Another ifname of the same container is another attachment.
    expect(allocate(s, set("10.0.0.0/29"), 0, "ID", "eth1").config.address).toBe("10.0.0.2/29");
    // An address in another set does not count.
    expect(allocate(s, set("10.0.1.0/29"), 1, "ID", "eth0").config.address).toBe("10.0.1.2/29");
  }
  {
    using s = store({ "10.0.0.4": "ID" });
    expect(() => allocate(s, set("10.0.0.0/29"), 0, "ID", "eth0")).toThrow("10.0.0.4 has been allocated to ID, duplicate allocation is not allowed");
  }
});

test("IPv6 allocation and file names in canonical text", () => {
  using s = store({ "2001:db8::2": "other\r\neth0" });
  const a = allocate(s, set("2001:DB8::/120"), 0, "ID", "eth0");
  expect(a.config).toEqual({ address: "2001:db8::3/120", gateway: "2001:db8::1" });
  expect(fs.readFileSync(path.join(s.dir, "2001:db8::3"), "utf8")).toBe("ID\r\neth0");
  expect(fs.readFileSync(path.join(s.dir, "last_reserved_ip.0"), "utf8")).toBe("2001:db8::3");
});

test("each set keeps its own last_reserved_ip", () => {
  using s = store();
  allocate(s, set("10.0.0.0/24"), 0, "A", "eth0");
  allocate(s, set("2001:db8::/64"), 1, "A", "eth0");
  allocate(s, set("10.0.0.0/24"), 0, "B", "eth0");
  expect(fs.readFileSync(path.join(s.dir, "last_reserved_ip.0"), "utf8")).toBe("10.0.0.3");
  expect(fs.readFileSync(path.join(s.dir, "last_reserved_ip.1"), "utf8")).toBe("2001:db8::2");
});
