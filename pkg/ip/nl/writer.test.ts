// pkg/ip/nl/writer.test.ts: runs anywhere, no root.
import { expect, test } from "bun:test";
import { hex } from "../../../test/support/golden.ts";
import { AF_INET, AF_UNSPEC, NLA_F_NESTED, NLM_F_ACK, NLM_F_REQUEST, RTM_NEWLINK, RTM_NEWROUTE } from "./consts.ts";
import { align4, NlWriter, withSeq } from "./writer.ts";

test("header: type, flags and seq land where struct nlmsghdr has them; finish patches nlmsg_len", () => {
  const msg = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, 0x01020304).finish();
  expect(hex(msg)).toBe("10000000" + "1000" + "0500" + "04030201" + "00000000");
});

test("ifinfomsg has a pad byte after the family and a signed index", () => {
  const w = new NlWriter(RTM_NEWLINK, 0, 0);
  w.ifinfomsg({ family: AF_UNSPEC, type: 0x0304, index: 7, flags: 0x10001, change: 0xffffffff });
  expect(hex(w.finish()).slice(32)).toBe("00" + "00" + "0403" + "07000000" + "01000100" + "ffffffff");
});

test("rtmsg is 8 single bytes then u32 flags", () => {
  const w = new NlWriter(RTM_NEWROUTE, 0, 0);
  w.rtmsg({ family: AF_INET, dstLen: 24, table: 254, protocol: 3, scope: 0, type: 1, flags: 0x100 });
  expect(hex(w.finish()).slice(32)).toBe("02180000fe030001" + "00010000");
});

test("attributes are padded to 4 bytes but nla_len excludes the padding", () => {
  const w = new NlWriter(0, 0, 0);
  w.u8(1, 0xab).u16(2, 0x1234).u32(3, 0xdeadbeef).u32be(4, 0x0a000001).u16be(5, 80).strz(6, "lo").str(7, "abc").flag(8);
  w.u64(9, 0x0102030405060708n).i32(10, -2).bytes(11, new Uint8Array([1, 2, 3, 4, 5]));
  expect(hex(w.finish()).slice(32)).toBe(
    "05000100ab000000" + "0600020034120000" + "08000300efbeadde" + "080004000a000001" + "0600050000500000" +
      "070006006c6f0000" + "0700070061626300" + "04000800" + "0c0009000807060504030201" + "08000a00feffffff" +
      "09000b000102030405000000",
  );
});

test("nests cover their children with padding, and keep the type as given (no NLA_F_NESTED unless asked)", () => {
  const w = new NlWriter(0, 0, 0);
  const outer = w.beginNest(18);
  w.strz(1, "veth");
  const inner = w.beginNest(2 | NLA_F_NESTED);
  w.u8(3, 1);
  w.endNest(inner);
  w.endNest(outer);
  expect(hex(w.finish())).toBe(
    "2c000000" + "000000000000000000000000" +
      "1c00" + "1200" + "0900" + "0100" + "7665746800000000" + "0c00" + "0280" + "0500030001000000",
  );
});

test("the buffer grows past its first 256 bytes without losing what came before", () => {
  const w = new NlWriter(0, 0, 0);
  for (let i = 0; i < 100; i++) w.u32(i, i);
  const msg = w.finish();
  expect(msg.length).toBe(16 + 100 * 8);
  const v = new DataView(msg.buffer);
  expect(v.getUint32(0, true)).toBe(816);
  expect(v.getUint32(16 + 99 * 8 + 4, true)).toBe(99);
});

test("struct appends raw bytes, padded", () => {
  const w = new NlWriter(0, 0, 0);
  w.struct(new Uint8Array([1, 2, 3, 4, 5, 6]));
  expect(hex(w.finish()).slice(32)).toBe("0102030405060000");
});

test("align4 and withSeq", () => {
  expect([0, 1, 2, 3, 4, 5, 8].map(align4)).toEqual([0, 4, 4, 4, 4, 8, 8]);
  const msg = new NlWriter(RTM_NEWLINK, 0, 1).finish();
  const again = withSeq(msg, 0xfffffffe);
  expect(hex(again).slice(16, 24)).toBe("feffffff");
  expect(hex(msg).slice(16, 24)).toBe("01000000");
});
