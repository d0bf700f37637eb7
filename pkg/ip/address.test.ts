// pkg/ip/address.test.ts: encoders against iproute2's bytes and parsing of a captured dump (no root), then
// addresses on lo in a throwaway netns cnits-<pid>-addr (root only), read back through `ip -j` as well.
import { describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { suiteNetns } from "../../test/support/suite-netns.ts";
import { EADDRNOTAVAIL, EEXIST } from "../sys/libc.ts";
import {
  addAddr, afOf, delAddr, encodeDelAddr, encodeListAddrs, encodeNewAddr, familyOf, listAddrs, parseAddr, readIP, type Addr,
} from "./address.ts";
import { formatIP, parseIP, type IP } from "./cidr.ts";
import { getLinkByName, setLinkUp } from "./link.ts";
import { IFA_F_NODAD, IFA_F_NOPREFIXROUTE, IFA_F_PERMANENT, RT_SCOPE_HOST, RT_SCOPE_UNIVERSE } from "./nl/consts.ts";
import { parseMessages } from "./nl/reader.ts";
import { hasErrno, openRouteSocket } from "./nl/socket.ts";

const ip = (s: string): IP => parseIP(s)!;
const text = (a: Addr) => `${formatIP(a.ip)}/${a.prefix}`;

describe("encoders match iproute2 byte for byte", () => {
  test("ip addr add 10.1.2.3/24 dev lo, and with brd +", () => {
    expect(hex(encodeNewAddr(0, { index: 1, ip: ip("10.1.2.3"), prefix: 24 }))).toBe(golden("addr-add-v4"));
    expect(hex(encodeNewAddr(0, { index: 1, ip: ip("10.1.2.4"), prefix: 24, broadcast: ip("10.1.2.255") }))).toBe(golden("addr-add-v4-brd"));
  });

  test("ip -6 addr add 2001:db8::1/64 dev lo, and with nodad", () => {
    expect(hex(encodeNewAddr(0, { index: 1, ip: ip("2001:db8::1"), prefix: 64 }))).toBe(golden("addr-add-v6"));
    expect(hex(encodeNewAddr(0, { index: 1, ip: ip("2001:db8::2"), prefix: 64, flags: IFA_F_NODAD }))).toBe(golden("addr-add-v6-nodad"));
  });

  test("ip addr del, both families", () => {
    expect(hex(encodeDelAddr(0, { index: 1, ip: ip("10.1.2.3"), prefix: 24 }))).toBe(golden("addr-del-v4"));
    expect(hex(encodeDelAddr(0, { index: 1, ip: ip("2001:db8::1"), prefix: 64 }))).toBe(golden("addr-del-v6"));
  });

  test("dumps: all, -4, -6", () => {
    expect(hex(encodeListAddrs(0))).toBe(golden("addr-dump-all"));
    expect(hex(encodeListAddrs(0, 4))).toBe(golden("addr-dump-v4"));
    expect(hex(encodeListAddrs(0, 6))).toBe(golden("addr-dump-v6"));
  });

  test("flags above 8 bits go into IFA_FLAGS and leave ifa_flags 0 (ip addr add ... brd + noprefixroute)", () => {
    const spec = { index: 1, ip: ip("10.1.2.5"), prefix: 24, broadcast: ip("10.1.2.255"), flags: IFA_F_NOPREFIXROUTE };
    expect(hex(encodeNewAddr(0, spec))).toBe(golden("addr-add-v4-brd-noprefixroute"));
  });
});

describe("parseAddr", () => {
  test("reads the captured dump: 127.0.0.1/8, 2001:db8::2/64 nodad, ::1/128", () => {
    const addrs = parseMessages(goldenBytes("reply-addr-dump")).slice(0, 3).map((m) => parseAddr(m.payload)!);
    expect(addrs.map(text)).toEqual(["127.0.0.1/8", "2001:db8::2/64", "::1/128"]);
    expect(addrs[0]).toMatchObject({ family: 4, index: 1, scope: RT_SCOPE_HOST, flags: IFA_F_PERMANENT, label: "lo" });
    expect(addrs[1]).toMatchObject({ family: 6, index: 1, scope: RT_SCOPE_UNIVERSE, flags: IFA_F_PERMANENT | IFA_F_NODAD });
    expect(addrs[1]!.label).toBeUndefined();
    expect(addrs[0]!.peer).toBeUndefined();
  });

  test("reads IFA_LOCAL as the address and a different IFA_ADDRESS as the peer; broadcast too", () => {
    const [m] = parseMessages(encodeNewAddr(0, { index: 3, ip: ip("10.1.2.4"), prefix: 24, broadcast: ip("10.1.2.255") }));
    expect(parseAddr(m!.payload)).toEqual({ family: 4, ip: ip("10.1.2.4"), prefix: 24, index: 3, scope: 0, flags: 0, broadcast: ip("10.1.2.255") });
    const p = m!.payload.slice();
    p[8 + 8 + 4 + 3] = 9; // IFA_ADDRESS (the second attribute) now 10.1.2.9
    expect(parseAddr(p)!.peer).toEqual(ip("10.1.2.9"));
  });

  test("an address of the wrong size is malformed", () => {
    const [m] = parseMessages(goldenBytes("addr-add-v6"));
    const p = m!.payload.slice();
    p[0] = 2; // claim AF_INET with 16-byte addresses
    expect(() => parseAddr(p)).toThrow("IFA_LOCAL: 16 bytes, want 4");
  });
});

test("readIP: the header's family decides, so a v4-mapped IPv6 address stays IPv6; bad sizes name the attribute", () => {
  const mapped = new Uint8Array([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, 10, 0, 0, 1]);
  expect(readIP(mapped, "RTA_DST", 6)).toEqual({ family: 6, value: 0xffff0a000001n });
  expect(readIP(new Uint8Array([10, 0, 0, 1]), "RTA_DST", 4)).toEqual(ip("10.0.0.1"));
  expect(() => readIP(undefined, "NDA_DST", 4)).toThrow("NDA_DST: missing");
  expect(() => readIP(new Uint8Array(4), "FRA_SRC", 6)).toThrow("FRA_SRC: 4 bytes, want 16");
  expect([familyOf(2), familyOf(10), familyOf(7), afOf(4), afOf(6)]).toEqual([4, 6, undefined, 2, 10]);
});

const isRoot = process.getuid?.() === 0;

interface IpAddr { ifname: string; addr_info: Array<{ family: string; local: string; prefixlen: number }> }
function ipAddrs(ns: string): string[] {
  const r = Bun.spawnSync(["ip", "-j", "-n", ns, "addr", "show", "dev", "lo"]);
  if (r.exitCode !== 0) throw new Error(`ip addr show: ${r.stderr.toString()}`);
  return (JSON.parse(r.stdout.toString()) as IpAddr[]).flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}

describe.skipIf(!isRoot)("real kernel (root)", () => {
  const ns = suiteNetns({ main: "addr" });

  test("lo after up carries 127.0.0.1/8 and ::1/128", () => {
    using sock = openRouteSocket(ns.main.path);
    expect(listAddrs(sock)).toEqual([]);
    setLinkUp(sock, getLinkByName(sock, "lo").index);
    const addrs = listAddrs(sock, { index: 1 });
    expect(addrs.map(text)).toEqual(["127.0.0.1/8", "::1/128"]);
    expect(addrs.every((a) => a.scope === RT_SCOPE_HOST)).toBe(true);
    expect(listAddrs(sock, { family: 6 }).map(text)).toEqual(["::1/128"]);
    expect(listAddrs(sock, { index: 2 })).toEqual([]);
  });

  test("add and delete addresses of both families; duplicates and missing ones fail with the kernel's errno", () => {
    using sock = openRouteSocket(ns.main.path);
    const v4 = { index: 1, ip: ip("10.1.2.3"), prefix: 24, broadcast: ip("10.1.2.255") };
    const v6 = { index: 1, ip: ip("2001:db8::1"), prefix: 64, flags: IFA_F_NODAD };
    addAddr(sock, v4);
    addAddr(sock, v6);
    expect(listAddrs(sock, { index: 1 }).map(text)).toEqual(["127.0.0.1/8", "10.1.2.3/24", "2001:db8::1/64", "::1/128"]);
    expect(ipAddrs(ns.main.name)).toEqual(["127.0.0.1/8", "10.1.2.3/24", "2001:db8::1/64", "::1/128"]);
    const got6 = listAddrs(sock, { family: 6 }).find((a) => formatIP(a.ip) === "2001:db8::1")!;
    expect(got6.flags & IFA_F_NODAD).toBe(IFA_F_NODAD);
    expect(listAddrs(sock, { family: 4 }).find((a) => formatIP(a.ip) === "10.1.2.3")!.broadcast).toEqual(ip("10.1.2.255"));

    let dup: unknown;
    try { addAddr(sock, v4); } catch (e) { dup = e; }
    expect(hasErrno(dup, EEXIST)).toBe(true);

    delAddr(sock, v4);
    delAddr(sock, v6);
    expect(ipAddrs(ns.main.name)).toEqual(["127.0.0.1/8", "::1/128"]);
    let gone: unknown;
    try { delAddr(sock, v4); } catch (e) { gone = e; }
    expect(hasErrno(gone, EADDRNOTAVAIL)).toBe(true);
  });
});
