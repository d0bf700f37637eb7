// ipam/dhcp/packet.test.ts: DHCP messages and their IPv4/UDP frames as bytes: the options each message of a lease
// carries (as upstream's library builds them), parsing replies (RFC 3396 concatenation, End required), checksums.
import { expect, test } from "bun:test";
import {
  decodeMessage, decodeUdpFrame, discover, encodeMessage, encodeUdpFrame, releaseFromAck, renewFromAck,
  requestFromOffer, type LeaseOptions, type Message,
} from "./packet.ts";

const HW = Uint8Array.of(0x2e, 0x8e, 0xf5, 0x81, 0xf2, 0xf9);
const LO: LeaseOptions = { clientID: "c1/net1/eth0", extra: [{ code: 55, value: Uint8Array.of(3, 1) }] };
const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const id = (s: string) => [0, ...new TextEncoder().encode(s)];

/** Returns the options region (after the cookie) up to and including End, as hex. */
function optionsHex(b: Uint8Array): string {
  const opts = b.subarray(240);
  return hex(opts.subarray(0, opts.indexOf(255, 0) + 1));
}

function optsOf(m: Message): Record<number, number[]> {
  return Object.fromEntries([...m.options].map(([k, v]) => [k, [...v]]));
}

test("DISCOVER: fixed fields, options sorted by code, client id with type 0, padded to 300 bytes", () => {
  const b = encodeMessage(discover(0x11223344, HW, LO, false));
  expect(b.length).toBe(300);
  expect(hex(b.subarray(0, 12))).toBe("01010600" + "11223344" + "0000" + "0000");
  expect(hex(b.subarray(28, 34))).toBe(hex(HW));
  expect(hex(b.subarray(236, 240))).toBe("63825363");
  // 53 DISCOVER, 55 from the config (replacing the library's 1,3,15,6), 57 = 1500, 61 = 0 + id, End
  expect(optionsHex(b)).toBe("350101" + "37020301" + "390205dc" + "3d0d" + hex(Uint8Array.from(id("c1/net1/eth0"))) + "ff");
  expect(hex(encodeMessage(discover(1, HW, LO, true)).subarray(10, 12))).toBe("8000");
  // Without a config list, the library's own stays.
  expect(optsOf(discover(1, HW, { clientID: "x", extra: [] }, false))[55]).toEqual([1, 3, 15, 6]);
});

const offer: Message = {
  op: 2, htype: 1, hops: 0, xid: 7, secs: 0, flags: 0x8000, ciaddr: new Uint8Array(4), yiaddr: Uint8Array.of(10, 77, 0, 38),
  siaddr: Uint8Array.of(10, 77, 0, 1), giaddr: new Uint8Array(4), chaddr: HW, sname: "", file: "",
  options: new Map([[53, Uint8Array.of(2)], [54, Uint8Array.of(10, 77, 0, 1)], [1, Uint8Array.of(255, 255, 255, 0)]]),
};

test("REQUEST from an offer: its xid and flags, option 50 = offered address, 54 copied", () => {
  const m = requestFromOffer(offer, LO);
  expect([m.op, m.xid, m.flags, [...m.ciaddr]]).toEqual([1, 7, 0x8000, [0, 0, 0, 0]]);
  expect(optsOf(m)).toEqual({ 50: [10, 77, 0, 38], 53: [3], 54: [10, 77, 0, 1], 55: [3, 1], 57: [5, 220], 61: id("c1/net1/eth0") });
});

test("RENEW from an ACK: ciaddr = leased address, unicast, no 50/54; RELEASE carries 54 and 61 only", () => {
  const ackMsg = { ...offer, options: new Map([[53, Uint8Array.of(5)], [54, Uint8Array.of(10, 77, 0, 1)]]) };
  const r = renewFromAck(ackMsg, LO);
  expect([r.xid, r.flags, [...r.ciaddr]]).toEqual([7, 0, [10, 77, 0, 38]]);
  expect(optsOf(r)).toEqual({ 53: [3], 55: [3, 1], 57: [5, 220], 61: id("c1/net1/eth0") });
  const rel = releaseFromAck(9, ackMsg, "c1/net1/eth0");
  expect([rel.xid, rel.flags, [...rel.ciaddr], [...rel.chaddr]]).toEqual([9, 0, [10, 77, 0, 38], [...HW]]);
  expect(optsOf(rel)).toEqual({ 53: [7], 54: [10, 77, 0, 1], 61: id("c1/net1/eth0") });
});

test("a provide option can override the client id, as upstream's comment promises", () => {
  const m = discover(1, HW, { clientID: "c", extra: [{ code: 61, value: Uint8Array.of(1, 2) }] }, false);
  expect(optsOf(m)[61]).toEqual([1, 2]);
});

test("decode: round trip, repeated options concatenated, long values split, End required", () => {
  const m = { ...offer, options: new Map([[53, Uint8Array.of(5)], [12, new Uint8Array(300).fill(97)]]) };
  const b = encodeMessage(m);
  const back = decodeMessage(b) as Message;
  expect(back.options.get(12)!.length).toBe(300);
  expect({ ...back, options: undefined }).toEqual({ ...offer, options: undefined });
  const dup = Uint8Array.from([...b.subarray(0, 240), 51, 4, 0, 0, 0, 120, 51, 4, 0, 0, 0, 10, 255]);
  expect([...(decodeMessage(dup) as Message).options.get(51)!]).toEqual([0, 0, 0, 120, 0, 0, 0, 10]);
  expect(decodeMessage(Uint8Array.from([...b.subarray(0, 240), 53, 1, 5]))).toBe("options have no End");
  expect(decodeMessage(Uint8Array.from([...b.subarray(0, 240), 53, 9, 5]))).toBe("option 53 is cut off");
  expect(decodeMessage(b.subarray(0, 200))).toBe("message of 200 bytes is too short");
});

test("UDP frame: header fields and checksums verify; decode takes it back apart", () => {
  const payload = Uint8Array.of(1, 2, 3);
  const f = encodeUdpFrame(payload, { ip: Uint8Array.of(0, 0, 0, 0), port: 68 }, { ip: Uint8Array.of(255, 255, 255, 255), port: 67 });
  expect(hex(f.subarray(0, 12))).toBe("4500001f" + "00000000" + "4011" + hex(f.subarray(10, 12)));
  const sum = (b: Uint8Array) => {
    let s = 0;
    for (let i = 0; i < b.length; i += 2) s += (b[i]! << 8) | (b[i + 1] ?? 0);
    while (s > 0xffff) s = (s & 0xffff) + (s >>> 16);
    return s;
  };
  expect(sum(f.subarray(0, 20))).toBe(0xffff);
  // UDP: pseudo header + segment sums to 0xffff as well.
  const pseudo = Uint8Array.from([...f.subarray(12, 20), 0, 17, 0, 11]);
  expect(sum(Uint8Array.from([...pseudo, ...f.subarray(20)]))).toBe(0xffff);
  expect(decodeUdpFrame(f)).toEqual({ src: { ip: Uint8Array.of(0, 0, 0, 0), port: 68 }, dst: { ip: Uint8Array.of(255, 255, 255, 255), port: 67 }, payload });
  const frag = f.slice();
  frag[6] = 0x20; // MF
  expect(decodeUdpFrame(frag)).toBeUndefined();
  expect(decodeUdpFrame(f.subarray(0, 25))).toBeUndefined();
});
