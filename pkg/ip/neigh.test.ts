// pkg/ip/neigh.test.ts: the neighbour dump request against iproute2's bytes and parsing (no root), then entries made
// with `ip neigh add` read back in a throwaway netns cnid<pid36>-neigh (root only).
import { describe, expect, test } from "bun:test";
import { golden, hex } from "../../test/support/golden.ts";
import { createNetns, removeNetns } from "../ns/netns.ts";
import { parseIP, type IP } from "./cidr.ts";
import { addLink, getLinkByName, setLinkUp } from "./link.ts";
import { encodeListNeighbours, listNeighbours, parseNeighbour } from "./neigh.ts";
import { AF_BRIDGE, AF_INET, AF_INET6, NUD_PERMANENT, NUD_REACHABLE, RTM_NEWNEIGH } from "./nl/consts.ts";
import { parseMessages } from "./nl/reader.ts";
import { openRouteSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";

const ip = (s: string): IP => parseIP(s)!;

// An RTM_NEWNEIGH as the kernel sends it: ndmsg, NDA_DST, NDA_LLADDR.
function reply(family: number, index: number, state: number, dst: number[], lladdr?: number[]): Uint8Array {
  const w = new NlWriter(RTM_NEWNEIGH, 0, 0);
  const hdr = new Uint8Array(12);
  const v = new DataView(hdr.buffer);
  hdr[0] = family;
  v.setInt32(4, index, true);
  v.setUint16(8, state, true);
  w.struct(hdr);
  w.bytes(1, Uint8Array.from(dst));
  if (lladdr) w.bytes(2, Uint8Array.from(lladdr));
  return parseMessages(w.finish())[0]!.payload;
}

describe("encoders match iproute2 byte for byte", () => {
  test("ip neigh show; ip -4 / -6 neigh show", () => {
    expect(hex(encodeListNeighbours(0))).toBe(golden("neigh-dump-all"));
    expect(hex(encodeListNeighbours(0, 4))).toBe(golden("neigh-dump-v4"));
    expect(hex(encodeListNeighbours(0, 6))).toBe(golden("neigh-dump-v6"));
  });
});

describe("parseNeighbour", () => {
  test("reads family, index, ip, lladdr and state", () => {
    expect(parseNeighbour(reply(AF_INET, 3, NUD_REACHABLE, [10, 1, 2, 9], [2, 0, 0, 0, 0, 9]))).toEqual({
      family: 4, index: 3, ip: ip("10.1.2.9"), lladdr: "02:00:00:00:00:09", state: NUD_REACHABLE, flags: 0,
    });
    const v6 = parseNeighbour(reply(AF_INET6, 3, 0x01, [0xfe, 0x80, ...new Array<number>(13).fill(0), 1]))!;
    expect(v6).toEqual({ family: 6, index: 3, ip: ip("fe80::1"), state: 0x01, flags: 0 });
  });

  test("other families are skipped; a wrong-sized address is malformed", () => {
    expect(parseNeighbour(reply(AF_BRIDGE, 3, NUD_PERMANENT, [1, 2, 3, 4, 5, 6]))).toBeUndefined();
    expect(() => parseNeighbour(reply(AF_INET, 3, NUD_PERMANENT, [10, 1, 2]))).toThrow("NDA_DST: 3 bytes, want 4");
  });
});

describe.skipIf(process.getuid?.() !== 0)("real kernel (root)", () => {
  test("permanent entries made by `ip neigh add` read back, filtered by family and link", () => {
    const name = `cnid${process.pid.toString(36)}-neigh`;
    const path = createNetns(name);
    try {
      using sock = openRouteSocket(path);
      addLink(sock, { kind: "veth", name: "cnidn0", peer: { name: "cnidn1" } });
      const n0 = getLinkByName(sock, "cnidn0").index;
      const n1 = getLinkByName(sock, "cnidn1").index;
      setLinkUp(sock, n0);
      setLinkUp(sock, n1);
      const ipn = (...args: string[]) => {
        const r = Bun.spawnSync(["ip", "-n", name, ...args]);
        if (r.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${r.stderr.toString()}`);
      };
      ipn("neigh", "add", "10.1.2.9", "lladdr", "02:00:00:00:00:09", "dev", "cnidn0", "nud", "permanent");
      ipn("-6", "neigh", "add", "2001:db8::9", "lladdr", "02:00:00:00:00:0a", "dev", "cnidn1", "nud", "permanent");

      const v4 = listNeighbours(sock, { family: 4 });
      expect(v4).toEqual([{ family: 4, index: n0, ip: ip("10.1.2.9"), lladdr: "02:00:00:00:00:09", state: NUD_PERMANENT, flags: 0 }]);
      const all = listNeighbours(sock);
      expect(all.find((n) => n.family === 6 && n.index === n1 && n.state === NUD_PERMANENT)).toMatchObject({ ip: ip("2001:db8::9"), lladdr: "02:00:00:00:00:0a" });
      expect(listNeighbours(sock, { index: n0 }).every((n) => n.index === n0)).toBe(true);
      expect(listNeighbours(sock, { family: 6, index: n0 }).some((n) => n.state === NUD_PERMANENT)).toBe(false);
    } finally {
      removeNetns(name);
    }
  });
});
