// ipam/dhcp/lease-result.test.ts: what an ACK means for the result (address, gateway, routes 121/33/3, priority)
// and for the lease's clock (51/58/59).
import { expect, test } from "bun:test";
import { classlessRoutes, leaseResult, leaseTimes, maskPrefix } from "./lease-result.ts";
import type { Message } from "./packet.ts";

function ack(options: Record<number, number[]>): Message {
  return {
    op: 2, htype: 1, hops: 0, xid: 1, secs: 0, flags: 0, ciaddr: new Uint8Array(4), yiaddr: Uint8Array.of(10, 9, 0, 23),
    siaddr: new Uint8Array(4), giaddr: new Uint8Array(4), chaddr: new Uint8Array(6), sname: "", file: "",
    options: new Map(Object.entries(options).map(([k, v]) => [Number(k), Uint8Array.from(v)])),
  };
}
const MASK24 = { 1: [255, 255, 255, 0] };

test("address with the mask's prefix, gateway and default route from the first router", () => {
  expect(leaseResult(ack({ ...MASK24, 3: [10, 9, 0, 1, 10, 9, 0, 2] }), 0)).toEqual({
    cniVersion: "1.1.0",
    ips: [{ address: "10.9.0.23/24", gateway: "10.9.0.1" }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.9.0.1" }],
  });
  expect(leaseResult(ack(MASK24), 0)).toEqual({ cniVersion: "1.1.0", ips: [{ address: "10.9.0.23/24" }] });
});

test("no subnet mask is upstream's error; a non-contiguous one is refused", () => {
  expect(() => leaseResult(ack({ 3: [10, 9, 0, 1] }), 0)).toThrow("DHCP option Subnet Mask not found in DHCPACK");
  expect(() => leaseResult(ack({ 1: [255, 0, 255, 0] }), 0)).toThrow("DHCP option Subnet Mask 255.0.255.0 is not a contiguous mask");
  expect([[0, 0, 0, 0], [255, 255, 255, 255], [255, 255, 240, 0]].map((m) => maskPrefix(Uint8Array.from(m)))).toEqual([0, 32, 20]);
});

test("option 33 gives classful destinations, then the default route; priority goes on every route", () => {
  const a = ack({ ...MASK24, 3: [10, 9, 0, 1], 33: [10, 1, 2, 3, 10, 9, 0, 5, 172, 16, 4, 0, 10, 9, 0, 6, 192, 168, 7, 0, 10, 9, 0, 7, 1, 2] });
  expect(leaseResult(a, 0).routes).toEqual([
    { dst: "10.1.2.3/8", gw: "10.9.0.5" },
    { dst: "172.16.4.0/16", gw: "10.9.0.6" },
    { dst: "192.168.7.0/24", gw: "10.9.0.7" },
    { dst: "0.0.0.0/0", gw: "10.9.0.1" },
  ]);
  expect(leaseResult(a, 50).routes!.map((r) => r.priority)).toEqual([50, 50, 50, 50]);
});

test("option 121 replaces 33 and the router; router 0.0.0.0 means scope link", () => {
  const a = ack({ ...MASK24, 3: [10, 9, 0, 1], 33: [10, 1, 2, 3, 10, 9, 0, 5], 121: [24, 192, 168, 5, 10, 9, 0, 9, 0, 10, 9, 0, 1, 32, 10, 99, 0, 1, 0, 0, 0, 0] });
  expect(leaseResult(a, 0).routes).toEqual([
    { dst: "192.168.5.0/24", gw: "10.9.0.9" },
    { dst: "0.0.0.0/0", gw: "10.9.0.1" },
    { dst: "10.99.0.1/32", gw: "0.0.0.0", scope: 253 },
  ]);
  // A malformed 121 is ignored as a whole, as the library does.
  expect(classlessRoutes(Uint8Array.of(33, 1, 2, 3, 4, 5, 6, 7, 8, 9))).toBeUndefined();
  expect(classlessRoutes(Uint8Array.of(24, 192, 168))).toBeUndefined();
  expect(leaseResult(ack({ ...MASK24, 3: [10, 9, 0, 1], 121: [40] }), 0).routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.9.0.1" }]);
});

test("lease times: 51, 58, 59, and their defaults (1 h, half, 85 %)", () => {
  expect(leaseTimes(ack({ 51: [0, 0, 0, 120], 58: [0, 0, 0, 3], 59: [0, 0, 0, 5] }), 1000)).toEqual({ renewAt: 4000, rebindAt: 6000, expireAt: 121000 });
  expect(leaseTimes(ack({ 51: [0, 0, 0, 100] }), 0)).toEqual({ renewAt: 50_000, rebindAt: 85_000, expireAt: 100_000 });
  // A value that is not 4 bytes is no value (dnsmasq's forced 51 next to its own makes 8).
  expect(leaseTimes(ack({ 51: [0, 0, 0, 120, 0, 0, 0, 10] }), 0)).toEqual({ renewAt: 1_800_000, rebindAt: 3_060_000, expireAt: 3_600_000 });
});
