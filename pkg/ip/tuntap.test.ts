// pkg/ip/tuntap.test.ts: the TUNSETIFF ifreq bytes (no root), then tun/tap devices on the real kernel in a throwaway
// netns cnitt<pid36> (root only), read back through `ip -j -d` and compared with what `ip tuntap add` makes.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { hex } from "../../test/support/golden.ts";
import { createNetns, removeNetns, withNetns } from "../ns/netns.ts";
import { EBUSY, ENODEV, EOPNOTSUPP } from "../sys/libc.ts";
import { delLink, getLinkByName, LinkNotFoundError, listLinks } from "./link.ts";
import {
  AF_UNSPEC, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, NLM_F_ACK, NLM_F_CREATE, NLM_F_EXCL, NLM_F_REQUEST, RTM_NEWLINK,
} from "./nl/consts.ts";
import { openRouteSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";
import { createTunTap, encodeTunSetIff } from "./tuntap.ts";

// Hex of a 40-byte ifreq: the name's bytes NUL-padded to 16, the u16 flags little-endian, then 22 zero bytes.
function ifreqHex(name: string, flags: number): string {
  const nameHex = Buffer.from(name).toString("hex").padEnd(32, "0");
  const flagsHex = (flags & 0xff).toString(16).padStart(2, "0") + (flags >> 8).toString(16).padStart(2, "0");
  return nameHex + flagsHex + "00".repeat(22);
}

describe("encodeTunSetIff", () => {
  test("tap: IFF_TAP | IFF_NO_PI | IFF_TUN_EXCL (0x9002), as `ip tuntap add mode tap`", () => {
    expect(hex(encodeTunSetIff({ name: "cnitt0", mode: "tap" }))).toBe(ifreqHex("cnitt0", 0x9002));
    expect(hex(encodeTunSetIff({ name: "cnitt0", mode: "tap" }))).toBe(
      "636e69747430000000000000000000000290" + "00".repeat(22),
    );
  });

  test("tun with every option: IFF_TUN | IFF_MULTI_QUEUE | IFF_NO_PI | IFF_VNET_HDR | IFF_TUN_EXCL (0xd101)", () => {
    expect(hex(encodeTunSetIff({ name: "cnitt%d", mode: "tun", multiQueue: true, vnetHdr: true }))).toBe(ifreqHex("cnitt%d", 0xd101));
  });

  test("pi keeps the packet-info header (no IFF_NO_PI)", () => {
    expect(hex(encodeTunSetIff({ name: "x", mode: "tap", pi: true, vnetHdr: true }))).toBe(ifreqHex("x", 0xc002));
  });

  test("the name fills at most 15 bytes and the ifreq is always 40", () => {
    expect(encodeTunSetIff({ name: "a".repeat(15), mode: "tap" }).length).toBe(40);
    expect(encodeTunSetIff({ name: "", mode: "tun" }).length).toBe(40);
    expect(() => encodeTunSetIff({ name: "a".repeat(16), mode: "tap" })).toThrow(
      `invalid tap name "${"a".repeat(16)}": longer than 15 bytes`,
    );
  });
});

const isRoot = process.getuid?.() === 0;
const RUN = `cnitt${process.pid.toString(36)}`;
// IDs without passwd/group entries, so `ip -d` prints them as numbers.
const OWNER = 424242;
const GROUP = 434343;

interface TunInfo {
  type: string; pi: boolean; vnet_hdr: boolean; multi_queue: boolean; persist: boolean; user?: number | string; group?: number | string;
  numqueues?: number; numdisabled?: number;
}
interface IpLink { ifname: string; linkinfo?: { info_kind: string; info_data?: TunInfo } }

function ip(ns: string, ...args: string[]): string {
  const r = Bun.spawnSync(["ip", "-n", ns, ...args]);
  if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString().trim()}`);
  return r.stdout.toString();
}

function links(ns: string): IpLink[] {
  return JSON.parse(ip(ns, "-j", "-d", "link", "show")) as IpLink[];
}

function linkinfo(ns: string, dev: string): IpLink["linkinfo"] {
  return links(ns).find((l) => l.ifname === dev)?.linkinfo;
}

describe.skipIf(!isRoot)("real kernel (root)", () => {
  let path = "";
  beforeAll(() => { path = createNetns(RUN); });
  afterAll(() => removeNetns(RUN));

  test("a tap with owner and group persists after the fd is closed, as `ip tuntap add` makes it", () => {
    const name = withNetns(path, () => createTunTap({ name: `${RUN}p0`, mode: "tap", owner: OWNER, group: GROUP }));
    expect(name).toBe(`${RUN}p0`);
    // createTunTap has closed its fd: the device is still here because it is persistent.
    expect(linkinfo(RUN, name)).toEqual({
      info_kind: "tun",
      info_data: { type: "tap", pi: false, vnet_hdr: false, multi_queue: false, persist: true, user: OWNER, group: GROUP },
    });
    ip(RUN, "tuntap", "add", "mode", "tap", "name", `${RUN}r0`, "user", String(OWNER), "group", String(GROUP));
    expect(linkinfo(RUN, name)).toEqual(linkinfo(RUN, `${RUN}r0`));
    // Not in the netns the test runs in.
    expect(Bun.spawnSync(["ip", "link", "show", "dev", name], { stderr: "pipe" }).exitCode).not.toBe(0);
  });

  test("a multi-queue tun from a %d template, with vnet_hdr; read back through getLinkByName too", () => {
    const name = withNetns(path, () => createTunTap({ name: `${RUN}u%d`, mode: "tun", multiQueue: true, vnetHdr: true }));
    expect(name).toBe(`${RUN}u0`);
    expect(linkinfo(RUN, name)).toEqual({
      info_kind: "tun",
      // A multi-queue device reports its queues: none attached once our fd is closed.
      info_data: { type: "tun", pi: false, vnet_hdr: true, multi_queue: true, persist: true, numqueues: 0, numdisabled: 0 },
    });
    ip(RUN, "tuntap", "add", "mode", "tun", "name", `${RUN}r1`, "multi_queue", "vnet_hdr");
    expect(linkinfo(RUN, name)).toEqual(linkinfo(RUN, `${RUN}r1`));
    using sock = openRouteSocket(path);
    expect(getLinkByName(sock, name)).toMatchObject({
      kind: "tun", tunMode: "tun", tunMultiQueue: true, tunVnetHdr: true, tunPi: false, tunPersist: true,
    });
    expect(getLinkByName(sock, name).tunOwner).toBeUndefined();
    expect(getLinkByName(sock, `${RUN}p0`)).toMatchObject({ kind: "tun", tunMode: "tap", tunOwner: OWNER, tunGroup: GROUP });
  });

  test("a taken name fails with EBUSY and leaves the device as it was", () => {
    expect(() => withNetns(path, () => createTunTap({ name: `${RUN}p0`, mode: "tap", multiQueue: true }))).toThrow(
      expect.objectContaining({ name: "SyscallError", errno: EBUSY, message: `TUNSETIFF "${RUN}p0": Device or resource busy` }),
    );
    expect(linkinfo(RUN, `${RUN}p0`)?.info_data?.multi_queue).toBe(false);
    // Another kind of link by that name: EBUSY too (IFF_TUN_EXCL is checked before the kind).
    expect(() => withNetns(path, () => createTunTap({ name: "lo", mode: "tun" }))).toThrow(expect.objectContaining({ errno: EBUSY }));
  });

  test("a failure after TUNSETIFF leaves nothing behind (the device was not persistent yet)", () => {
    // uid 0xffffffff is the invalid uid: TUNSETOWNER says EINVAL, and closing the fd takes the new device with it.
    expect(() => withNetns(path, () => createTunTap({ name: `${RUN}x0`, mode: "tap", owner: 0xffffffff }))).toThrow(
      `TUNSETOWNER "${RUN}x0": Invalid argument`,
    );
    expect(links(RUN).map((l) => l.ifname)).not.toContain(`${RUN}x0`);
    expect(() => createTunTap({ name: `${RUN}x1`, mode: "tap", group: -1 })).toThrow("invalid tap group -1 (must be a uint32)");
  });

  test("delLink deletes them; a second delete is not-found", () => {
    using sock = openRouteSocket(path);
    const tap = getLinkByName(sock, `${RUN}p0`);
    delLink(sock, tap.index);
    expect(() => getLinkByName(sock, `${RUN}p0`)).toThrow(LinkNotFoundError);
    expect(links(RUN).map((l) => l.ifname)).not.toContain(`${RUN}p0`);
    expect(() => delLink(sock, tap.index)).toThrow(expect.objectContaining({ errno: ENODEV })); // isNotFound's case
    for (const l of listLinks(sock)) if (l.kind === "tun") delLink(sock, l.index);
    expect(links(RUN).map((l) => l.ifname)).toEqual(["lo"]);
  });

  test("RTM_NEWLINK of kind tun is refused by the kernel, which is why tuntap.ts uses the ioctl", () => {
    using sock = openRouteSocket(path);
    const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sock.nextSeq());
    w.ifinfomsg({ family: AF_UNSPEC });
    w.strz(IFLA_IFNAME, `${RUN}n0`);
    const info = w.beginNest(IFLA_LINKINFO);
    w.str(IFLA_INFO_KIND, "tun");
    w.endNest(info);
    expect(() => sock.request(w.finish())).toThrow(
      expect.objectContaining({ name: "NetlinkError", errno: EOPNOTSUPP, extAck: "tun/tap creation via rtnetlink is not supported." }),
    );
  });
});
