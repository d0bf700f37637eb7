// pkg/ip/link.test.ts: encoders against iproute2's bytes and parsing of a captured reply (no root), then the
// real kernel in throwaway namespaces cnits-<pid>-* (root only), read back through `ip -j` as well.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { createNetns, openNetns, removeNetns } from "../ns/netns.ts";
import { EEXIST, EOPNOTSUPP } from "../sys/libc.ts";
import {
  addLink, delLink, encodeDelLink, encodeGetLinkByIndex, encodeGetLinkByName, encodeListLinks, encodeNewLink,
  encodeSetLinkFlags, encodeSetLinkMaster, encodeSetLinkNetnsFd, formatMAC, getLinkByIndex, getLinkByName,
  LinkNotFoundError, listLinks, parseLink, parseMAC, setLinkDown, setLinkNetnsFd, setLinkUp,
} from "./link.ts";
import { IFF_LOOPBACK, IFF_LOWER_UP, IFF_RUNNING, IFF_UP } from "./nl/consts.ts";
import { parseMessages } from "./nl/reader.ts";
import { hasErrno, isNotFound, NetlinkError, openRouteSocket } from "./nl/socket.ts";

describe("encoders match iproute2 byte for byte", () => {
  test("ip link set lo up / down", () => {
    expect(hex(encodeSetLinkFlags(0, 1, true))).toBe(golden("link-set-up-lo"));
    expect(hex(encodeSetLinkFlags(0, 1, false))).toBe(golden("link-set-down-lo"));
  });

  test("get by name and by index (iproute2's ll_link_get)", () => {
    expect(hex(encodeGetLinkByName(0, "lo"))).toBe(golden("link-get-name-lo"));
    expect(hex(encodeGetLinkByIndex(0, 1))).toBe(golden("link-get-index-1"));
  });

  test("dump", () => {
    expect(hex(encodeListLinks(0))).toBe(golden("link-dump"));
  });

  test("ip link del / set master / set netns", () => {
    expect(hex(encodeDelLink(0, 3))).toBe(golden("link-del-index-3"));
    expect(hex(encodeSetLinkMaster(0, 4, 1))).toBe(golden("link-set-master-index-4"));
    expect(hex(encodeSetLinkNetnsFd(0, 4, 4))).toBe(golden("link-set-netns-fd-index-4"));
  });

  test("ip link add ... type dummy, with and without mtu and address", () => {
    expect(hex(encodeNewLink(0, { kind: "dummy", name: "cnitsd0" }))).toBe(golden("link-add-dummy"));
    expect(hex(encodeNewLink(0, { kind: "dummy", name: "cnitsd1", mtu: 1400, mac: "02:00:00:00:00:01" }))).toBe(golden("link-add-dummy-mtu-mac"));
  });

  test("ip link add ... type veth peer ...", () => {
    expect(hex(encodeNewLink(0, { kind: "veth", name: "cnitsv0", peer: { name: "cnitsv1" } }))).toBe(golden("link-add-veth"));
    expect(hex(encodeNewLink(0, { kind: "veth", name: "cnitsv6", peer: { name: "cnitsv7", mtu: 1300, mac: "02:00:00:00:00:07" } })))
      .toBe(golden("link-add-veth-peer-mtu-mac"));
    const full = encodeNewLink(0, {
      kind: "veth", name: "cnitsv4", mtu: 1400, mac: "02:00:00:00:00:04", parentIndex: 1, peer: { name: "cnitsv5", netnsFd: 4 },
    });
    expect(hex(full)).toBe(golden("link-add-veth-link-mtu-mac-peer-netns"));
  });

  test("the seq argument lands in nlmsg_seq", () => {
    expect(hex(encodeSetLinkFlags(0x6b035ea1, 1, true)).slice(16, 24)).toBe("a15e036b");
  });
});

describe("parseLink", () => {
  test("reads the captured RTM_NEWLINK for lo", () => {
    const [m] = parseMessages(goldenBytes("reply-link-dump"));
    const lo = parseLink(m!.payload);
    expect(lo).toEqual({
      index: 1, name: "lo", flags: IFF_UP | IFF_LOOPBACK | IFF_RUNNING | IFF_LOWER_UP, mtu: 65536,
      mac: "00:00:00:00:00:00", operState: "unknown", txqlen: 1000,
    });
  });

  test("reads kind and peer from a link message with IFLA_LINKINFO", () => {
    // A request and a reply share the layout: the veth create carries IFLA_LINKINFO, IFLA_LINK, IFLA_ADDRESS, IFLA_MTU.
    const [m] = parseMessages(goldenBytes("link-add-veth-link-mtu-mac-peer-netns"));
    expect(parseLink(m!.payload)).toEqual({ index: 0, name: "cnitsv4", flags: 0, mtu: 1400, mac: "02:00:00:00:00:04", kind: "veth", parentIndex: 1 });
  });

  test("a link without IFLA_IFNAME is malformed", () => {
    const [m] = parseMessages(goldenBytes("link-set-up-lo"));
    expect(() => parseLink(m!.payload)).toThrow("IFLA_IFNAME: missing");
  });
});

test("MAC text", () => {
  expect(formatMAC(new Uint8Array([2, 0x42, 0xac, 0x11, 0, 2]))).toBe("02:42:ac:11:00:02");
  expect([...parseMAC("02:42:AC:11:00:02")]).toEqual([2, 0x42, 0xac, 0x11, 0, 2]);
  expect(() => parseMAC("02:42:ac:11:00")).toThrow('invalid MAC address "02:42:ac:11:00"');
  expect(() => parseMAC("zz:42:ac:11:00:02")).toThrow("invalid MAC address");
});

const isRoot = process.getuid?.() === 0;

interface IpLink { ifname: string; flags: string[]; operstate: string; ifindex: number }
function ipLinks(ns: string): IpLink[] {
  const r = Bun.spawnSync(["ip", "-j", "-n", ns, "link", "show"]);
  if (r.exitCode !== 0) throw new Error(`ip link show: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as IpLink[];
}

describe.skipIf(!isRoot)("real kernel (root)", () => {
  const name = `cnits-${process.pid}-link`;
  const other = `cnits-${process.pid}-link2`;
  let path = "";
  let otherPath = "";
  beforeAll(() => {
    path = createNetns(name);
    otherPath = createNetns(other);
  });
  afterAll(() => {
    removeNetns(name);
    removeNetns(other);
  });

  test("a fresh netns has only lo, down", () => {
    using sock = openRouteSocket(path);
    const links = listLinks(sock);
    expect(links.map((l) => l.name)).toEqual(["lo"]);
    expect(links[0]!.index).toBe(1);
    expect(links[0]!.flags & IFF_UP).toBe(0);
    expect(links[0]!.mtu).toBe(65536);
  });

  test("lo up and down, read back via getLinkByName and `ip -j`", () => {
    using sock = openRouteSocket(path);
    const lo = getLinkByName(sock, "lo");
    setLinkUp(sock, lo.index);
    expect(getLinkByName(sock, "lo").flags & IFF_UP).toBe(IFF_UP);
    expect(ipLinks(name).find((l) => l.ifname === "lo")!.flags).toContain("UP");
    setLinkDown(sock, lo.index);
    expect(getLinkByName(sock, "lo").flags & IFF_UP).toBe(0);
    expect(ipLinks(name).find((l) => l.ifname === "lo")!.flags).not.toContain("UP");
    setLinkUp(sock, lo.index); // address tests elsewhere want it up; harmless here
    expect(getLinkByIndex(sock, 1).name).toBe("lo");
  });

  test("missing links throw LinkNotFoundError, which isNotFound recognises", () => {
    using sock = openRouteSocket(path);
    let err: unknown;
    try { getLinkByName(sock, "cnits-nope"); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(LinkNotFoundError);
    expect(err).toBeInstanceOf(NetlinkError);
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toBe('link "cnits-nope" not found');
    expect(() => getLinkByIndex(sock, 9999)).toThrow("link index 9999 not found");
    let upErr: unknown;
    try { setLinkUp(sock, 9999); } catch (e) { upErr = e; }
    expect(isNotFound(upErr)).toBe(true);
  });

  test("a veth pair: create, read kind and peer, move the peer, delete, delete again", () => {
    using sock = openRouteSocket(path);
    using otherSock = openRouteSocket(otherPath);
    addLink(sock, { kind: "veth", name: "cnitsv0", mtu: 1400, mac: "02:00:00:00:00:10", peer: { name: "cnitsv1" } });
    const v0 = getLinkByName(sock, "cnitsv0");
    const v1 = getLinkByName(sock, "cnitsv1");
    expect([v0.kind, v0.mtu, v0.mac, v0.parentIndex]).toEqual(["veth", 1400, "02:00:00:00:00:10", v1.index]);
    expect(listLinks(sock).map((l) => l.name).sort()).toEqual(["cnitsv0", "cnitsv1", "lo"]);

    let dup: unknown;
    try { addLink(sock, { kind: "veth", name: "cnitsv0", peer: { name: "cnitsv9" } }); } catch (e) { dup = e; }
    expect(hasErrno(dup, EEXIST)).toBe(true);

    using target = openNetns(otherPath);
    setLinkNetnsFd(sock, v1.index, target.fd);
    expect(() => getLinkByName(sock, "cnitsv1")).toThrow(LinkNotFoundError);
    expect(getLinkByName(otherSock, "cnitsv1").kind).toBe("veth");
    expect(ipLinks(other).map((l) => l.ifname)).toContain("cnitsv1");

    delLink(sock, v0.index);
    expect(listLinks(sock).map((l) => l.name)).toEqual(["lo"]);
    expect(listLinks(otherSock).map((l) => l.name)).toEqual(["lo"]); // the peer went with it
    let again: unknown;
    try { delLink(sock, v0.index); } catch (e) { again = e; }
    expect(isNotFound(again)).toBe(true);
  });

  test("a kind the kernel lacks fails with EOPNOTSUPP and the kernel's words, or is created", () => {
    using sock = openRouteSocket(path);
    try {
      addLink(sock, { kind: "dummy", name: "cnitsd0" });
      expect(getLinkByName(sock, "cnitsd0").kind).toBe("dummy");
      delLink(sock, getLinkByName(sock, "cnitsd0").index);
    } catch (e) {
      expect(hasErrno(e, EOPNOTSUPP)).toBe(true);
      expect((e as NetlinkError).extAck).toBe("Unknown device type");
    }
  });
});
