// meta/bandwidth/shaping.test.ts: upstream's tbf arithmetic and the requests our ADD sends, against what
// /usr/lib/cni/bandwidth (v1.1.1, vishvananda/netlink) sent for the same config (test/golden/bandwidth-go-*.hex,
// captured with strace): the tbf byte for byte, the ingress qdisc and the filter attribute for attribute (tc's
// attribute order and nest flags against vishvananda's). No root.
import { describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { NLA_F_NESTED } from "../../pkg/ip/nl/consts.ts";
import { parseAttrList, parseMessages } from "../../pkg/ip/nl/reader.ts";
import { encodeNewFilter, encodeNewQdisc, parseFilter, TCA_OPTIONS, TCA_U32_ACT, TCA_ACT_OPTIONS, type TbfInfo } from "../../pkg/ip/tc.ts";
import { redirectFilterSpec, tbfMismatch, tbfParams, tbfSpec } from "./shaping.ts";

const TICK = 15.625; // /proc/net/psched on every current kernel
// The capture's host netns: lo 1, the host veth 2, the ifb 3.
const HOST = 2;
const IFB = 3;

describe("upstream's tbf numbers", () => {
  test("8 Mbit/s with 64 Kbit bursts, 4 Mbit/s with 128 Kbit bursts (the captured ADD)", () => {
    expect(tbfParams(8_000_000n, 65536n, TICK)).toEqual({ rate: 1_000_000n, limit: 33192, buffer: 128000 });
    expect(tbfParams(4_000_000n, 131072n, TICK)).toEqual({ rate: 500_000n, limit: 28884, buffer: 512000 });
  });

  test("the wraps Go makes on amd64, as the kernel showed them after a Go ADD (tc -r: burst_raw, limit)", () => {
    expect(tbfParams(8n, 80_000_000n, TICK)).toEqual({ rate: 1n, limit: 10_000_000, buffer: 0xc9bf0400 });
    expect(tbfParams(8n, 34359738352n, TICK)).toEqual({ rate: 1n, limit: 4294967294, buffer: 0x9e2329b0 });
  });

  test("rates of 2^32 bytes/s and more: the low 32 bits in the rate spec (vishvananda), the rate in TCA_TBF_RATE64", () => {
    const p = tbfParams(40_000_000_000n, 8_000_000n, TICK);
    expect(p.rate).toBe(5_000_000_000n);
    const spec = tbfSpec(HOST, p);
    expect([spec.qopt.rate.rate, spec.rate64]).toEqual([705032704, 5_000_000_000n]);
    expect(tbfSpec(HOST, tbfParams(8_000_000n, 65536n, TICK)).rate64).toBeUndefined();
  });

  test("CHECK's comparison, in upstream's order", () => {
    const want = tbfParams(8_000_000n, 65536n, TICK);
    const have: TbfInfo = { rate: want.rate, peakrate: 0n, limit: want.limit, buffer: want.buffer, mtu: 0, linklayer: 0, overhead: 0, mpu: 0 };
    expect(tbfMismatch(have, want)).toBeUndefined();
    expect(tbfMismatch({ ...have, rate: 1n, limit: 1 }, want)).toBe("Rate doesn't match");
    expect(tbfMismatch({ ...have, limit: 1, buffer: 1 }, want)).toBe("Limit doesn't match");
    expect(tbfMismatch({ ...have, buffer: 1 }, want)).toBe("Buffer doesn't match");
  });
});

/** Returns a request's attributes as a tree sorted by type, NLA_F_NESTED dropped and an empty TCA_OPTIONS left out. */
function tree(msg: Uint8Array, nested: (path: number[]) => boolean): unknown {
  const [m] = parseMessages(msg);
  const walk = (b: Uint8Array, path: number[]): unknown[] =>
    parseAttrList(b)
      .map(([type, v]) => {
        const p = [...path, type & ~NLA_F_NESTED];
        return [p.at(-1), nested(p) ? walk(v, p) : hex(v)] as [number, unknown];
      })
      .filter(([type, v]) => !(path.length === 0 && type === TCA_OPTIONS && (Array.isArray(v) ? v.length === 0 : v === "")))
      .sort((a, b) => a[0] - b[0]);
  return { type: m!.type, flags: m!.flags, tcmsg: hex(m!.payload.subarray(0, 20)), attrs: walk(m!.payload.subarray(20), []) };
}

// TCA_OPTIONS > TCA_U32_ACT > <order> > TCA_ACT_OPTIONS
const FILTER_NESTS = (p: number[]) =>
  (p.length === 1 && p[0] === TCA_OPTIONS) || (p.length === 2 && p[1] === TCA_U32_ACT) || p.length === 3 || (p.length === 4 && p[3] === TCA_ACT_OPTIONS);

describe("our ADD's requests against the Go plugin's", () => {
  test("the two tbf qdiscs: byte for byte", () => {
    expect(hex(encodeNewQdisc(0, tbfSpec(HOST, tbfParams(8_000_000n, 65536n, TICK))))).toBe(golden("bandwidth-go-qdisc-add-tbf-ingress"));
    expect(hex(encodeNewQdisc(0, tbfSpec(IFB, tbfParams(4_000_000n, 131072n, TICK))))).toBe(golden("bandwidth-go-qdisc-add-tbf-egress"));
  });

  test("the ingress qdisc: the same but for vishvananda's empty TCA_OPTIONS", () => {
    const ours = encodeNewQdisc(0, { kind: "ingress", index: HOST });
    expect(tree(ours, () => false)).toEqual(tree(goldenBytes("bandwidth-go-qdisc-add-ingress"), () => false));
  });

  test("the redirect filter: the same attributes (both actions, stolen then pass), in tc's order", () => {
    const ours = encodeNewFilter(0, redirectFilterSpec(HOST, IFB));
    const go = goldenBytes("bandwidth-go-filter-add-u32-mirred");
    expect(tree(ours, FILTER_NESTS)).toEqual(tree(go, FILTER_NESTS));
    expect(parseFilter(parseMessages(ours)[0]!.payload)).toEqual(parseFilter(parseMessages(go)[0]!.payload));
    expect(hex(ours)).not.toBe(hex(go)); // the order differs; the kernel does not care
  });
});
