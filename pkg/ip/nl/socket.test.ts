// pkg/ip/nl/socket.test.ts: the request/query/dump logic over a scripted transport (no root), plus one real
// kernel round trip with extended ACK (root only, in a throwaway netns).
import { describe, expect, test } from "bun:test";
import { goldenBytes, unhex } from "../../../test/support/golden.ts";
import { suiteNetns } from "../../../test/support/suite-netns.ts";
import { EEXIST, ENODEV, EOPNOTSUPP } from "../../sys/libc.ts";
import {
  AF_UNSPEC, IFLA_IFNAME, IFLA_INFO_KIND, IFLA_LINKINFO, NLM_F_ACK, NLM_F_ACK_TLVS, NLM_F_CREATE, NLM_F_DUMP,
  NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_MULTI, NLM_F_REQUEST, NLMSG_DONE, NLMSG_ERROR, NLMSGERR_ATTR_MSG, RTM_GETADDR,
  RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK,
} from "./consts.ts";
import { hasErrno, isNotFound, NetlinkError, NetlinkSocket, openRouteSocket, type NetlinkTransport } from "./socket.ts";
import { NlWriter } from "./writer.ts";

/** A transport that answers each sent message with the datagrams a responder returns. */
class Scripted implements NetlinkTransport {
  readonly portId = 4242;
  readonly sent: Uint8Array[] = [];
  private queue: Uint8Array[] = [];
  closed = false;
  constructor(private readonly responder: (msg: Uint8Array, n: number) => Uint8Array[]) {}
  send(msg: Uint8Array): void {
    this.sent.push(msg.slice());
    this.queue.push(...this.responder(msg, this.sent.length));
  }
  recv(): Uint8Array {
    const d = this.queue.shift();
    if (!d) throw new Error("scripted transport: nothing left to receive");
    return d;
  }
  close(): void {
    this.closed = true;
  }
}

const seqOf = (m: Uint8Array) => new DataView(m.buffer, m.byteOffset).getUint32(8, true);

function message(type: number, flags: number, seq: number, payload: Uint8Array): Uint8Array {
  const w = new NlWriter(type, flags, seq);
  w.struct(payload);
  return w.finish();
}

function ack(seq: number, error = 0, extAck?: string): Uint8Array {
  const w = new NlWriter(NLMSG_ERROR, extAck ? NLM_F_ACK_TLVS | 0x100 : 0x100, seq);
  const body = new DataView(new ArrayBuffer(20));
  body.setInt32(0, error, true);
  body.setUint32(4, 16, true);
  w.struct(new Uint8Array(body.buffer));
  if (extAck) w.strz(NLMSGERR_ATTR_MSG, extAck);
  return w.finish();
}

const concat = (...parts: Uint8Array[]) => {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let o = 0;
  for (const p of parts) { out.set(p, o); o += p.length; }
  return out;
};

const getLink = (seq: number) => new NlWriter(RTM_GETLINK, NLM_F_REQUEST, seq).ifinfomsg({ family: AF_UNSPEC }).finish();
const newAddr = (seq: number) => new NlWriter(RTM_NEWADDR, NLM_F_REQUEST | NLM_F_ACK, seq).ifaddrmsg({ family: 2, prefixlen: 8, index: 1 }).finish();
const dumpAddr = (seq: number) => new NlWriter(RTM_GETADDR, NLM_F_REQUEST | NLM_F_DUMP, seq).ifaddrmsg({ family: 0, prefixlen: 0, index: 0 }).finish();

describe("requestBatch", () => {
  // An nfnetlink-like batch: begin (no ACK asked), two requests asking one, end (no ACK asked).
  const batch = (first: number) => [
    new NlWriter(0x10, NLM_F_REQUEST, first).struct(new Uint8Array(4)).finish(),
    new NlWriter((10 << 8) | 8, NLM_F_REQUEST | NLM_F_ACK, first + 1).struct(new Uint8Array(4)).finish(),
    new NlWriter((10 << 8) | 5, NLM_F_REQUEST | NLM_F_ACK, first + 2).struct(new Uint8Array(4)).finish(),
    new NlWriter(0x11, NLM_F_REQUEST, first + 3).struct(new Uint8Array(4)).finish(),
  ];

  test("sends one datagram and returns once every message that asked has its ACK", () => {
    const t = new Scripted(() => [ack(11), concat(ack(99), ack(12))]);
    new NetlinkSocket(t).requestBatch(batch(10), "batch");
    expect(t.sent.length).toBe(1);
    expect(t.sent[0]!.length).toBe(batch(10).reduce((n, m) => n + m.length, 0));
  });

  test("waits for all the answers, then throws the first error", () => {
    const t = new Scripted(() => [ack(11, -ENODEV), ack(12, -EEXIST)]);
    let err: unknown;
    try { new NetlinkSocket(t).requestBatch(batch(10), "batch"); } catch (e) { err = e; }
    expect((err as NetlinkError).errno).toBe(ENODEV);
    expect(() => t.recv()).toThrow("nothing left"); // both answers were read
  });

  test("an error for the batch itself (no ACK asked) ends the wait at once", () => {
    const t = new Scripted(() => [ack(10, -EOPNOTSUPP)]);
    let err: unknown;
    try { new NetlinkSocket(t).requestBatch(batch(10), "batch"); } catch (e) { err = e; }
    expect((err as NetlinkError).errno).toBe(EOPNOTSUPP);
  });
});

describe("request", () => {
  test("returns on its own ACK, skipping replies to other sequence numbers", () => {
    const t = new Scripted((m) => [ack(seqOf(m) + 7, -EEXIST), concat(ack(seqOf(m) - 1, -ENODEV), ack(seqOf(m)))]);
    const sock = new NetlinkSocket(t);
    sock.request(newAddr(sock.nextSeq()));
    expect(t.sent.length).toBe(1);
  });

  test("throws NetlinkError with op, errno and the kernel's ext-ack text", () => {
    // The captured kernel reply to `ip link add cnitsx type ipvlan` on a kernel without ipvlan.
    const reply = goldenBytes("reply-error-ext-ack");
    const sock = new NetlinkSocket(new Scripted(() => [reply]));
    const msg = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 0x6b035ea2).ifinfomsg({ family: AF_UNSPEC }).finish();
    let err: unknown;
    try { sock.request(msg); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NetlinkError);
    const ne = err as NetlinkError;
    expect([ne.op, ne.errno, ne.extAck]).toEqual(["RTM_NEWLINK", EOPNOTSUPP, "Unknown device type"]);
    expect(ne.message).toBe("RTM_NEWLINK: Operation not supported: Unknown device type");
  });

  test("without ext-ack the message is op and errno text; the op name can be given", () => {
    const sock = new NetlinkSocket(new Scripted((m) => [ack(seqOf(m), -EEXIST)]));
    expect(() => sock.request(newAddr(sock.nextSeq()))).toThrow(new NetlinkError("RTM_NEWADDR", EEXIST));
    expect(() => sock.request(newAddr(sock.nextSeq()), "add 127.0.0.1/8")).toThrow("add 127.0.0.1/8: File exists");
    try { sock.request(newAddr(sock.nextSeq())); } catch (e) {
      expect(hasErrno(e, EEXIST)).toBe(true);
      expect(isNotFound(e)).toBe(false);
    }
  });
});

describe("query", () => {
  test("returns the payload of the reply", () => {
    const payload = unhex("00000403 01000000 49000100 00000000 07000300 6c6f0000");
    const sock = new NetlinkSocket(new Scripted((m) => [message(RTM_NEWLINK, 0, seqOf(m), payload)]));
    expect([...sock.query(getLink(sock.nextSeq()))]).toEqual([...payload]);
  });

  test("throws a not-found NetlinkError for ENODEV (the captured reply to a GETLINK of a missing name)", () => {
    const sock = new NetlinkSocket(new Scripted(() => [goldenBytes("reply-error-enodev")]));
    let err: unknown;
    try { sock.query(getLink(0x6b035ea2)); } catch (e) { err = e; }
    expect(isNotFound(err)).toBe(true);
    expect((err as Error).message).toBe("RTM_GETLINK: No such device");
  });

  test("with NLM_F_ACK it waits for the ACK after the reply", () => {
    const t = new Scripted((m) => [message(RTM_NEWLINK, 0, seqOf(m), unhex("01020304")), ack(seqOf(m))]);
    const sock = new NetlinkSocket(t);
    const msg = new NlWriter(RTM_GETLINK, NLM_F_REQUEST | NLM_F_ACK, sock.nextSeq()).ifinfomsg({ family: 0 }).finish();
    expect([...sock.query(msg)]).toEqual([1, 2, 3, 4]);
    expect(() => t.recv()).toThrow("nothing left");
  });
});

describe("dump", () => {
  // The captured RTM_GETADDR dump, re-stamped with the seq of whatever request was sent.
  function addrDump(seq: number, extraFlags = 0): Uint8Array[] {
    const buf = goldenBytes("reply-addr-dump");
    const v = new DataView(buf.buffer);
    for (let o = 0; o < buf.length; o += v.getUint32(o, true)) {
      v.setUint32(o + 8, seq, true);
      v.setUint16(o + 6, v.getUint16(o + 6, true) | extraFlags, true);
    }
    return [buf.slice(0, 228), buf.slice(228)];
  }

  test("collects payloads across datagrams until NLMSG_DONE", () => {
    const sock = new NetlinkSocket(new Scripted((m) => addrDump(seqOf(m))));
    const payloads = sock.dump(dumpAddr(sock.nextSeq()));
    expect(payloads.map((p) => p.length)).toEqual([60, 56, 64]);
    expect(payloads[0]![0]).toBe(2); // AF_INET first
  });

  test("skips foreign sequence numbers", () => {
    const sock = new NetlinkSocket(new Scripted((m) => [...addrDump(seqOf(m) + 1), ...addrDump(seqOf(m))]));
    expect(sock.dump(dumpAddr(sock.nextSeq())).length).toBe(3);
  });

  test("redoes the whole dump with a fresh seq when the kernel marks it NLM_F_DUMP_INTR", () => {
    const t = new Scripted((m, n) => (n === 1 ? addrDump(seqOf(m), NLM_F_DUMP_INTR) : addrDump(seqOf(m))));
    const sock = new NetlinkSocket(t);
    expect(sock.dump(dumpAddr(sock.nextSeq())).length).toBe(3);
    expect(t.sent.length).toBe(2);
    expect(seqOf(t.sent[1]!)).not.toBe(seqOf(t.sent[0]!));
    expect([...t.sent[1]!.subarray(16)]).toEqual([...t.sent[0]!.subarray(16)]);
  });

  test("gives up after ten interrupted dumps in a row", () => {
    const t = new Scripted((m) => addrDump(seqOf(m), NLM_F_DUMP_INTR));
    const sock = new NetlinkSocket(t);
    expect(() => sock.dump(dumpAddr(sock.nextSeq()))).toThrow("RTM_GETADDR: dump interrupted 10 times in a row");
    expect(t.sent.length).toBe(10);
  });

  test("throws on an NLMSG_ERROR instead of data, and on an NLMSG_DONE carrying an error", () => {
    const s1 = new NetlinkSocket(new Scripted((m) => [ack(seqOf(m), -EOPNOTSUPP, "dump not supported")]));
    expect(() => s1.dump(dumpAddr(s1.nextSeq()))).toThrow("RTM_GETADDR: Operation not supported: dump not supported");
    const s2 = new NetlinkSocket(new Scripted((m) => [message(NLMSG_DONE, NLM_F_MULTI, seqOf(m), unhex("edffffff"))]));
    expect(() => s2.dump(dumpAddr(s2.nextSeq()))).toThrow(new NetlinkError("RTM_GETADDR", ENODEV));
  });
});

test("nextSeq counts up; close and dispose close the transport", () => {
  const t = new Scripted(() => []);
  {
    using sock = new NetlinkSocket(t);
    expect([sock.nextSeq(), sock.nextSeq()]).toEqual([1, 2]);
    expect(sock.portId).toBe(4242);
  }
  expect(t.closed).toBe(true);
});

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("real kernel (root)", () => {
  const ns = suiteNetns({ main: "sock" });

  test("an unknown link kind comes back as EOPNOTSUPP with the kernel's ext-ack text", () => {
    using sock = openRouteSocket(ns.main.path);
    expect(sock.portId).toBeGreaterThan(0);
    const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, sock.nextSeq());
    w.ifinfomsg({ family: AF_UNSPEC });
    w.strz(IFLA_IFNAME, "cnitsx0");
    const info = w.beginNest(IFLA_LINKINFO);
    w.strz(IFLA_INFO_KIND, "cnits-no-such-kind");
    w.endNest(info);
    let err: unknown;
    try { sock.request(w.finish()); } catch (e) { err = e; }
    expect(err).toBeInstanceOf(NetlinkError);
    expect((err as NetlinkError).errno).toBe(EOPNOTSUPP);
    expect((err as NetlinkError).extAck).toBe("Unknown device type");
    expect((err as Error).message).toBe("RTM_NEWLINK: Operation not supported: Unknown device type");
  });

  test("a GETLINK of a missing name is ENODEV, and the socket keeps working after errors", () => {
    using sock = openRouteSocket(ns.main.path);
    const byName = (name: string) =>
      new NlWriter(RTM_GETLINK, NLM_F_REQUEST, sock.nextSeq()).ifinfomsg({ family: AF_UNSPEC }).strz(IFLA_IFNAME, name).finish();
    expect(() => sock.query(byName("cnits-nope"))).toThrow("RTM_GETLINK: No such device");
    expect(sock.query(byName("lo")).length).toBeGreaterThan(16);
  });
});
