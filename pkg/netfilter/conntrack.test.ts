// pkg/netfilter/conntrack.test.ts: the ctnetlink messages byte for byte against what conntrack-tools 1.4.7 sends for
// `conntrack -D -f ipv4|ipv6 -p udp --dport 5353` (test/golden/conntrack-*.hex), and the dump reply parsed. No root.
import { describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { formatIP } from "../ip/cidr.ts";
import { parseMessages } from "../ip/nl/reader.ts";
import { NetlinkSocket, type NetlinkTransport } from "../ip/nl/socket.ts";
import { createNetns, removeNetns, withNetns } from "../ns/netns.ts";
import {
  deleteConntrackByDstPort, encodeCtDelete, encodeCtDump, formatTuple, IPPROTO_UDP, listConntrack, openConntrackSocket,
  parseCtEntry, parseProcConntrack,
} from "./conntrack.ts";

const FAMILIES = [
  { family: 4 as const, tag: "v4", src: "127.0.0.1" },
  { family: 6 as const, tag: "v6", src: "::1" },
];

function dumpReply(tag: string) {
  const msgs = parseMessages(goldenBytes(`reply-conntrack-dump-${tag}`));
  expect(msgs.length).toBe(1);
  return msgs[0]!;
}

describe.each(FAMILIES)("conntrack $tag", ({ family, tag, src }) => {
  test("the dump request matches conntrack -D -f's", () => {
    expect(hex(encodeCtDump(0, family))).toBe(golden(`conntrack-dump-${tag}`));
  });

  test("a dumped entry parses to its original tuple", () => {
    const e = parseCtEntry(dumpReply(tag).payload);
    expect(e.family).toBe(family);
    expect({ src: formatIP(e.orig.src), dst: formatIP(e.orig.dst), proto: e.orig.proto, dport: e.orig.dstPort }).toEqual({
      src, dst: src, proto: IPPROTO_UDP, dport: 5353,
    });
    expect(formatTuple(e.orig)).toMatch(new RegExp(`^udp src=${src.replace(/\./g, "\\.")} dst=\\S+ sport=\\d+ dport=5353$`));
  });

  test("the delete of that entry matches conntrack's bytes", () => {
    expect(hex(encodeCtDelete(0, parseCtEntry(dumpReply(tag).payload)))).toBe(golden(`conntrack-delete-udp-${tag}`));
  });
});

/** A kernel stand-in: answers the dump with the golden entry, then ACKs (or refuses) each delete. */
class ScriptedKernel implements NetlinkTransport {
  readonly portId = 4242;
  sent: Uint8Array[] = [];
  private queue: Uint8Array[] = [];
  constructor(private readonly entry: Uint8Array, private readonly deleteErrno = 0) {}

  send(msg: Uint8Array): void {
    this.sent.push(msg);
    const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
    const type = v.getUint16(4, true);
    const seq = v.getUint32(8, true);
    if (type === 0x101) {
      this.queue.push(withSeq(this.entry, seq), nlmsg(3, 2, seq, new Uint8Array(4)));
    } else {
      const err = new Uint8Array(20);
      new DataView(err.buffer).setInt32(0, -this.deleteErrno, true);
      err.set(msg.subarray(0, 16), 4);
      this.queue.push(nlmsg(2, 0x100, seq, err));
    }
  }

  recv(): Uint8Array {
    return this.queue.shift()!;
  }

  close(): void {}
}

function nlmsg(type: number, flags: number, seq: number, payload: Uint8Array): Uint8Array {
  const out = new Uint8Array(16 + payload.length);
  const v = new DataView(out.buffer);
  v.setUint32(0, out.length, true);
  v.setUint16(4, type, true);
  v.setUint16(6, flags, true);
  v.setUint32(8, seq, true);
  out.set(payload, 16);
  return out;
}

function withSeq(msg: Uint8Array, seq: number): Uint8Array {
  const out = msg.slice();
  new DataView(out.buffer).setUint32(8, seq, true);
  return out;
}

describe("deleteConntrackByDstPort", () => {
  const entry = goldenBytes("reply-conntrack-dump-v4");

  test("deletes the entries to a listed port, one request each, with the dumped tuples", () => {
    const k = new ScriptedKernel(entry);
    expect(deleteConntrackByDstPort(new NetlinkSocket(k), 4, IPPROTO_UDP, [80, 5353])).toBe(1);
    expect(k.sent.length).toBe(2);
    const del = k.sent[1]!.slice();
    new DataView(del.buffer).setUint32(8, 0, true);
    expect(hex(del)).toBe(golden("conntrack-delete-udp-v4"));
  });

  test("leaves entries of other ports and protocols alone", () => {
    const k = new ScriptedKernel(entry);
    expect(deleteConntrackByDstPort(new NetlinkSocket(k), 4, IPPROTO_UDP, [53])).toBe(0);
    expect(deleteConntrackByDstPort(new NetlinkSocket(k), 4, 6, [5353])).toBe(0);
    expect(k.sent.length).toBe(2); // the two dumps only
  });

  test("an entry already gone (ENOENT) counts as deleted; other errors name the entry", () => {
    expect(deleteConntrackByDstPort(new NetlinkSocket(new ScriptedKernel(entry, 2)), 4, IPPROTO_UDP, [5353])).toBe(1);
    expect(() => deleteConntrackByDstPort(new NetlinkSocket(new ScriptedKernel(entry, 1)), 4, IPPROTO_UDP, [5353])).toThrow(
      /failed to delete conntrack entry udp src=127\.0\.0\.1 dst=127\.0\.0\.1 sport=\d+ dport=5353: IPCTNL_MSG_CT_DELETE: /,
    );
  });

  test("IPv4 then IPv6 on one socket: one dump of every family (AF_UNSPEC), the kernel's table walked once", () => {
    const k = new ScriptedKernel(entry);
    const sock = new NetlinkSocket(k);
    expect(deleteConntrackByDstPort(sock, 4, IPPROTO_UDP, [5353])).toBe(1);
    expect(deleteConntrackByDstPort(sock, 6, IPPROTO_UDP, [5353])).toBe(0); // the golden entry is IPv4
    const dumps = k.sent.filter((m) => new DataView(m.buffer, m.byteOffset).getUint16(4, true) === 0x101);
    expect(dumps.length).toBe(1);
    expect(dumps[0]![16]).toBe(0); // nfgenmsg family AF_UNSPEC
    // The same family again on that socket dumps afresh.
    expect(deleteConntrackByDstPort(sock, 4, IPPROTO_UDP, [5353])).toBe(1);
    expect(k.sent.filter((m) => new DataView(m.buffer, m.byteOffset).getUint16(4, true) === 0x101).length).toBe(2);
  });

  test("the every-family dump differs from conntrack -L -f ipv4's only in the family byte", () => {
    const all = encodeCtDump(0, "all");
    const v4 = goldenBytes("conntrack-dump-v4");
    expect(all[16]).toBe(0);
    expect(hex(all.subarray(0, 16))).toBe(hex(v4.subarray(0, 16)));
    expect(hex(all.subarray(17))).toBe(hex(v4.subarray(17)));
  });

  test("no ports: no dump at all", () => {
    const k = new ScriptedKernel(entry);
    expect(deleteConntrackByDstPort(new NetlinkSocket(k), 4, IPPROTO_UDP, [])).toBe(0);
    expect(k.sent.length).toBe(0);
  });
});

test("parseProcConntrack: family, protocol number and the original direction's dport of each line", () => {
  const text = [
    "ipv4     2 udp      17 29 src=127.0.0.1 dst=127.0.0.1 sport=33250 dport=5353 [UNREPLIED] src=127.0.0.1 dst=127.0.0.1 sport=5353 dport=33250 mark=0 zone=0 use=2",
    "ipv4     2 icmp     1 29 src=127.0.0.1 dst=127.0.0.1 type=8 code=0 id=9568 src=127.0.0.1 dst=127.0.0.1 type=0 code=0 id=9568 mark=0 zone=0 use=2",
    "ipv6     10 udp      17 29 src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=48233 dport=53 [UNREPLIED] src=0000:0000:0000:0000:0000:0000:0000:0001 dst=0000:0000:0000:0000:0000:0000:0000:0001 sport=53 dport=48233 mark=0 zone=0 use=2",
    "ipv4     2 unknown  2 599 src=10.213.0.1 dst=224.0.0.22 [UNREPLIED] src=224.0.0.22 dst=10.213.0.1 mark=0 zone=0 use=2",
    "",
  ].join("\n");
  expect([...parseProcConntrack(text)].sort()).toEqual(["4/17/5353", "6/17/53"]);
});

describe.skipIf(process.getuid?.() !== 0 || Bun.which("iptables") === null)("in a throwaway netns (root)", () => {
  test("a real UDP flow to a mapped port is deleted; a delete for other ports (or none in the table) leaves it", () => {
    const name = `cnid${process.pid.toString(36)}-ct`;
    const path = createNetns(name);
    try {
      withNetns(path, () => {
        const run = (argv: string[]) => expect(Bun.spawnSync(argv, { stderr: "pipe" }).exitCode).toBe(0);
        run(["ip", "link", "set", "lo", "up"]);
        { // an empty table: nothing to delete
          using sock = openConntrackSocket();
          expect(deleteConntrackByDstPort(sock, 4, IPPROTO_UDP, [5353])).toBe(0);
        }
        run(["iptables", "-A", "OUTPUT", "-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"]); // conntrack on
        run(["bash", "-c", "echo x > /dev/udp/127.0.0.1/5353"]);
        const flows = () => {
          using sock = openConntrackSocket();
          return listConntrack(sock, 4).filter((e) => e.orig.proto === IPPROTO_UDP && e.orig.dstPort === 5353).length;
        };
        expect(flows()).toBe(1);
        {
          using sock = openConntrackSocket();
          expect(deleteConntrackByDstPort(sock, 4, IPPROTO_UDP, [5354])).toBe(0);
          expect(deleteConntrackByDstPort(sock, 6, IPPROTO_UDP, [5353])).toBe(0);
        }
        expect(flows()).toBe(1);
        {
          using sock = openConntrackSocket();
          expect(deleteConntrackByDstPort(sock, 4, IPPROTO_UDP, [5353])).toBe(1);
        }
        expect(flows()).toBe(0);
      });
    } finally {
      removeNetns(name);
    }
  });
});
