// pkg/ip/nl/reader.test.ts: runs anywhere, no root. Replies are bytes the kernel sent iproute2 (test/golden).
import { describe, expect, test } from "bun:test";
import { goldenBytes, unhex } from "../../../test/support/golden.ts";
import {
  IFA_ADDRESS, IFA_CACHEINFO, IFA_FLAGS, IFA_LABEL, IFA_LOCAL, IFADDRMSG_LEN, IFINFOMSG_LEN, IFLA_IFNAME,
  IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINKINFO, IFLA_MTU, NLA_F_NESTED, NLA_F_NET_BYTEORDER, NLM_F_ACK_TLVS,
  NLM_F_CAPPED, NLM_F_MULTI, NLMSG_DONE, NLMSG_ERROR, NLMSGERR_ATTR_MISS_TYPE, NLMSGERR_ATTR_MSG, NLMSGERR_ATTR_OFFS,
  RTM_GETLINK, RTM_NEWADDR, RTM_NEWLINK, VETH_INFO_PEER,
} from "./consts.ts";
import {
  NetlinkParseError, parseAttrList, parseAttrs, parseDone, parseError, parseMessages, readBytes, readI32,
  readIfAddrMsg, readIfInfoMsg, readRtMsg, readStrz, readU16, readU32, readU32be, readU64, readU8,
} from "./reader.ts";
import { NlWriter } from "./writer.ts";

const decode = (b: Uint8Array) => new TextDecoder().decode(b);

describe("parseMessages", () => {
  test("splits a multi-part dump: three RTM_NEWADDR in one datagram, then NLMSG_DONE", () => {
    const msgs = parseMessages(goldenBytes("reply-addr-dump"));
    expect(msgs.map((m) => [m.type, m.len])).toEqual([[RTM_NEWADDR, 76], [RTM_NEWADDR, 72], [RTM_NEWADDR, 80], [NLMSG_DONE, 20]]);
    for (const m of msgs) {
      expect(m.flags).toBe(NLM_F_MULTI);
      expect(m.seq).toBe(0x6b035ea3);
      expect(m.pid).toBe(0x0e45);
      expect(m.payload.length).toBe(m.len - 16);
    }
  });

  test("throws on a message longer than the buffer, and on a short header", () => {
    const buf = goldenBytes("reply-addr-dump");
    expect(() => parseMessages(buf.subarray(0, 70))).toThrow(new NetlinkParseError("bad message at offset 0: nlmsg_len 76, 70 bytes left"));
    expect(() => parseMessages(buf.subarray(0, 76 + 10))).toThrow("truncated message header at offset 76: 10 bytes left, want 16");
    expect(() => parseMessages(unhex("08000000 0200 0000 00000000 00000000"))).toThrow("bad message at offset 0: nlmsg_len 8");
  });
});

describe("parseAttrs", () => {
  test("reads the attributes of a captured RTM_NEWADDR after its ifaddrmsg", () => {
    const [first] = parseMessages(goldenBytes("reply-addr-dump"));
    const hdr = readIfAddrMsg(first!.payload);
    expect(hdr).toEqual({ family: 2, prefixlen: 8, flags: 0x80, scope: 254, index: 1 });
    const a = parseAttrs(first!.payload, IFADDRMSG_LEN);
    expect([...a.keys()]).toEqual([IFA_ADDRESS, IFA_LOCAL, IFA_LABEL, IFA_FLAGS, IFA_CACHEINFO]);
    expect([...a.get(IFA_LOCAL)!]).toEqual([127, 0, 0, 1]);
    expect(readStrz(a.get(IFA_LABEL), "IFA_LABEL")).toBe("lo");
    expect(readU32(a.get(IFA_FLAGS), "IFA_FLAGS")).toBe(0x80);
    expect(a.get(IFA_CACHEINFO)!.length).toBe(16);
  });

  test("walks nested attributes: a veth's IFLA_LINKINFO > IFLA_INFO_DATA > VETH_INFO_PEER > ifinfomsg + attrs", () => {
    const [req] = parseMessages(goldenBytes("link-add-veth"));
    const a = parseAttrs(req!.payload, IFINFOMSG_LEN);
    expect(readStrz(a.get(IFLA_IFNAME), "IFLA_IFNAME")).toBe("cnitsv0");
    const info = parseAttrs(a.get(IFLA_LINKINFO)!);
    expect(readStrz(info.get(IFLA_INFO_KIND), "IFLA_INFO_KIND")).toBe("veth");
    const peer = parseAttrs(info.get(IFLA_INFO_DATA)!).get(VETH_INFO_PEER)!;
    expect(readIfInfoMsg(peer).index).toBe(0);
    expect(readStrz(parseAttrs(peer, IFINFOMSG_LEN).get(IFLA_IFNAME), "IFLA_IFNAME")).toBe("cnitsv1");
  });

  test("strips NLA_F_NESTED and NLA_F_NET_BYTEORDER from types; the first of a repeated type wins", () => {
    const w = new NlWriter(0, 0, 0);
    const n = w.beginNest(IFLA_LINKINFO | NLA_F_NESTED);
    w.endNest(n);
    w.u16be(5 | NLA_F_NET_BYTEORDER, 8080);
    w.strz(IFLA_IFNAME, "first").strz(IFLA_IFNAME, "second");
    const a = parseAttrs(w.finish(), 16);
    expect([...a.keys()]).toEqual([IFLA_LINKINFO, 5, IFLA_IFNAME]);
    expect(readStrz(a.get(IFLA_IFNAME), "IFLA_IFNAME")).toBe("first");
    expect(parseAttrList(w.finish(), 16).filter(([t]) => t === IFLA_IFNAME).map(([, v]) => decode(v))).toEqual(["first\0", "second\0"]);
  });

  test("throws on truncated attributes, naming the offset and sizes", () => {
    // nla_len 12 but only 8 bytes left
    expect(() => parseAttrs(unhex("0c000300 6c6f0000"))).toThrow(new NetlinkParseError("truncated attribute 3 at offset 0: nla_len 12, 8 bytes left"));
    // nla_len below the header size
    expect(() => parseAttrs(unhex("02000300"))).toThrow("truncated attribute 3 at offset 0: nla_len 2, 4 bytes left");
    // two stray bytes after a good attribute
    expect(() => parseAttrs(unhex("08000400 00050000 0100"))).toThrow("truncated attribute header at offset 8: 2 bytes left, want 4");
    // a nest whose child overruns the nest (but not the message)
    const [req] = parseMessages(goldenBytes("link-add-veth"));
    const info = parseAttrs(req!.payload, IFINFOMSG_LEN).get(IFLA_LINKINFO)!;
    expect(() => parseAttrs(info.subarray(0, 20))).toThrow("truncated attribute 2 at offset 8: nla_len 36, 12 bytes left");
  });

  test("an attribute whose padding is missing at the very end still parses", () => {
    expect(decode(parseAttrs(unhex("07000300 6c6f00")).get(3)!)).toBe("lo\0");
  });
});

describe("typed getters", () => {
  test("read values of the right size", () => {
    expect(readU8(unhex("fe"), "x")).toBe(254);
    expect(readU16(unhex("3412"), "x")).toBe(0x1234);
    expect(readU32(unhex("00000100"), "IFLA_MTU")).toBe(65536);
    expect(readI32(unhex("ffffffff"), "x")).toBe(-1);
    expect(readU32be(unhex("0a000001"), "x")).toBe(0x0a000001);
    expect(readU64(unhex("0100000000000080"), "x")).toBe(0x8000000000000001n);
    expect(readStrz(unhex("6c6f00"), "IFLA_IFNAME")).toBe("lo");
    expect(readStrz(unhex("6c6f"), "IFLA_IFNAME")).toBe("lo");
    expect([...readBytes(unhex("0102"), "x")]).toEqual([1, 2]);
  });

  test("throw NetlinkParseError naming the attribute and the sizes", () => {
    expect(() => readU32(unhex("dc05"), "IFLA_MTU")).toThrow(NetlinkParseError);
    expect(() => readU32(unhex("dc05"), "IFLA_MTU")).toThrow(new NetlinkParseError("IFLA_MTU: 2 bytes, want 4"));
    expect(() => readU8(unhex("0102"), "IFLA_OPERSTATE")).toThrow("IFLA_OPERSTATE: 2 bytes, want 1");
    expect(() => readU16(undefined, "IFLA_X")).toThrow("IFLA_X: missing");
    expect(() => readStrz(undefined, "IFLA_IFNAME")).toThrow("IFLA_IFNAME: missing");
    expect(() => readIfInfoMsg(new Uint8Array(15))).toThrow("ifinfomsg: 15 bytes, want 16");
    expect(() => readRtMsg(new Uint8Array(4))).toThrow("rtmsg: 4 bytes, want 12");
  });

  test("readRtMsg reads struct rtmsg", () => {
    expect(readRtMsg(unhex("0a400000fe030001 00010000"))).toEqual({
      family: 10, dstLen: 64, srcLen: 0, tos: 0, table: 254, protocol: 3, scope: 0, type: 1, flags: 0x100,
    });
  });
});

describe("nlmsgerr", () => {
  test("an error with ext-ack text after the fully echoed request", () => {
    const [m] = parseMessages(goldenBytes("reply-error-ext-ack"));
    expect(m!.type).toBe(NLMSG_ERROR);
    expect(m!.flags).toBe(NLM_F_ACK_TLVS);
    expect(parseError(m!)).toEqual({ error: -95, echoedType: RTM_NEWLINK, echoedSeq: 0x6b035ea2, extAck: { msg: "Unknown device type" } });
  });

  test("an error without ext-ack (request echoed, flags 0)", () => {
    const [m] = parseMessages(goldenBytes("reply-error-enodev"));
    expect(parseError(m!)).toEqual({ error: -19, echoedType: RTM_GETLINK, echoedSeq: 0x6b035ea2 });
  });

  test("a capped ACK (only the request's header echoed)", () => {
    const [m] = parseMessages(goldenBytes("reply-ack-capped"));
    expect(m!.flags).toBe(NLM_F_CAPPED);
    expect(parseError(m!).error).toBe(0);
  });

  test("a capped error with TLVs right after the echoed header", () => {
    const w = new NlWriter(NLMSG_ERROR, NLM_F_CAPPED | NLM_F_ACK_TLVS, 9);
    w.struct(unhex("eaffffff" + "3c000000 1000 0506 09000000 00000000")); // -EINVAL, echoed nlmsghdr of a 60-byte request
    w.strz(NLMSGERR_ATTR_MSG, "invalid thing").u32(NLMSGERR_ATTR_OFFS, 36).u32(NLMSGERR_ATTR_MISS_TYPE, 3);
    const [m] = parseMessages(w.finish());
    expect(parseError(m!)).toEqual({ error: -22, echoedType: RTM_NEWLINK, echoedSeq: 9, extAck: { msg: "invalid thing", offset: 36, missType: 3 } });
  });

  test("a too-short nlmsgerr throws", () => {
    const w = new NlWriter(NLMSG_ERROR, 0, 1);
    w.struct(unhex("eaffffff"));
    expect(() => parseError(parseMessages(w.finish())[0]!)).toThrow("nlmsgerr: 4 bytes, want 20");
  });

  test("NLMSG_DONE: clean, empty, and carrying an error with ext-ack", () => {
    const msgs = parseMessages(goldenBytes("reply-addr-dump"));
    expect(parseDone(msgs[3]!)).toEqual({ error: 0 });
    expect(parseDone(parseMessages(new NlWriter(NLMSG_DONE, NLM_F_MULTI, 1).finish())[0]!)).toEqual({ error: 0 });
    const w = new NlWriter(NLMSG_DONE, NLM_F_MULTI | NLM_F_ACK_TLVS, 1);
    w.struct(unhex("a1ffffff"));
    w.strz(NLMSGERR_ATTR_MSG, "dump not supported");
    expect(parseDone(parseMessages(w.finish())[0]!)).toEqual({ error: -95, extAck: { msg: "dump not supported" } });
  });
});

test("IFLA_MTU in a captured RTM_NEWLINK is a 4-byte u32", () => {
  const [m] = parseMessages(goldenBytes("reply-link-dump"));
  expect(readU32(parseAttrs(m!.payload, IFINFOMSG_LEN).get(IFLA_MTU), "IFLA_MTU")).toBe(65536);
});
