// pkg/ip/tc.test.ts: tc encoders against iproute2 6.1's bytes (test/golden/tc-*.hex, captured with strace), the
// readers against kernel dumps (reply-qdisc-dump, reply-filter-dump), the iproute2 rate arithmetic, and (root only)
// the real kernel in a throwaway netns cnitc<pid36>-*, read back through our readers and `tc -j` alike.
import { describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { createNetns, removeNetns } from "../ns/netns.ts";
import { addLink, getLinkByName, setLinkUp } from "./link.ts";
import { NLMSG_DONE, RTM_NEWQDISC, RTM_NEWTFILTER } from "./nl/consts.ts";
import { parseMessages } from "./nl/reader.ts";
import { hasErrno, openRouteSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";
import {
  addFilter, addQdisc, delQdisc, encodeDelQdisc, encodeListFilters, encodeListQdiscs, encodeNewFilter, encodeNewQdisc,
  ETH_P_ALL, filterInfo, formatHandle, iproute2Tbf, listFilters, listQdiscs, parseFilter, parsePsched, parseQdisc,
  readTickInUsec, tcCalcXmittime, tcHandle, tcRateTable, toU32, TC_ACT_OK, TC_ACT_STOLEN, TC_H_INGRESS, TC_H_ROOT,
  TCA_EGRESS_REDIR, TCA_KIND, TCA_OPTIONS, TCA_TBF_PARMS, type MirredSpec, type U32FilterSpec,
} from "./tc.ts";
import { EEXIST } from "../sys/libc.ts";

// The psched clock of every kernel since 2.6.31 with high-resolution timers: 1 tick = 64 ns.
const PSCHED = "000003e8 00000040 000f4240 3b9aca00\n";
const TICK = 15.625;

// The capture netns: lo 1, cnitsv1 2, its peer cnitsv0 3, the ifb cnitsifb0 4.
const V0 = 3;
const IFB = 4;
const INGRESS = tcHandle(0xffff, 0);
const redirect = (ifindex: number, action = TC_ACT_STOLEN): MirredSpec => ({ kind: "mirred", eaction: TCA_EGRESS_REDIR, ifindex, action });
const MATCH_ALL = [{ mask: 0, val: 0, off: 0 }];

describe("psched clock and iproute2's arithmetic", () => {
  test("tick_in_usec from /proc/net/psched, including the clock_res = 1e9 compatibility rule", () => {
    expect(parsePsched(PSCHED)).toBe(TICK);
    expect(parsePsched("000003e8 00000040 000f4240 3b9aca00")).toBe(TICK);
    // clock_res 1e9 (old kernels printing clock2 as clock1): t2us := us2t, so the ratio is 1, times 1e9 / 1e6
    expect(parsePsched("00000001 00000040 3b9aca00 00000064")).toBe(1000);
    expect(() => parsePsched("garbage")).toThrow("unexpected /proc/net/psched content");
  });

  test("double to u32 as x86-64 truncates (the buffer of a huge burst at a tiny rate wraps, as in Go and tc)", () => {
    expect(toU32(1.9)).toBe(1);
    expect(toU32(2 ** 32 + 5.5)).toBe(5);
    expect(toU32(Infinity)).toBe(0);
    expect(toU32(NaN)).toBe(0);
    expect(toU32(2 ** 64)).toBe(0);
  });

  test("tc_calc_xmittime and the rate table", () => {
    expect(tcCalcXmittime(125000, 32768, TICK)).toBe(0x3e8000);
    const { rtab, cellLog } = tcRateTable(125000, { tickInUsec: TICK });
    expect(cellLog).toBe(3); // 2047 >> 3 = 255 fits in 256 cells
    expect([rtab[0], rtab[1], rtab[255]]).toEqual([1000, 2000, 256000]); // 8, 16 and 2048 bytes at 125000 B/s, in ticks
  });

  test("handles and tcm_info", () => {
    expect(tcHandle(1, 0)).toBe(0x10000);
    expect(tcHandle(0xffff, 0)).toBe(0xffff0000);
    expect(formatHandle(tcHandle(1, 1))).toBe("1:1");
    expect(formatHandle(INGRESS)).toBe("ffff:");
    expect(formatHandle(TC_H_ROOT)).toBe("root");
    expect(filterInfo(1, ETH_P_ALL)).toBe(0x00010300);
  });
});

describe("qdisc encoders match tc byte for byte", () => {
  test("tc qdisc add dev cnitsv0 root handle 1: tbf rate 1mbit burst 32kb latency 25ms", () => {
    const spec = iproute2Tbf({ index: V0, handle: tcHandle(1, 0), rate: 125000n, burst: 32768, latencyUs: 25000, tickInUsec: TICK });
    expect(spec.qopt.limit).toBe(35893);
    expect(hex(encodeNewQdisc(0, spec))).toBe(golden("tc-qdisc-add-tbf-latency"));
  });

  test("tc qdisc add dev cnitsv0 root tbf rate 8000000bit burst 8192 limit 33192", () => {
    const spec = iproute2Tbf({ index: V0, rate: 1_000_000n, burst: 8192, limit: 33192, tickInUsec: TICK });
    expect(hex(encodeNewQdisc(0, spec))).toBe(golden("tc-qdisc-add-tbf-limit"));
  });

  test("tc qdisc add dev cnitsifb0 root handle 1: tbf rate 40gbit burst 1mb limit 6000000 (TCA_TBF_RATE64)", () => {
    const spec = iproute2Tbf({ index: IFB, handle: tcHandle(1, 0), rate: 5_000_000_000n, burst: 1 << 20, limit: 6_000_000, tickInUsec: TICK });
    expect(spec.qopt.rate.rate).toBe(0xffffffff);
    expect(hex(encodeNewQdisc(0, spec))).toBe(golden("tc-qdisc-add-tbf-rate64"));
  });

  test("tc qdisc add dev cnitsv0 root tbf rate 1mbit burst 10kb/8 limit 20000 mpu 64", () => {
    const spec = iproute2Tbf({ index: V0, rate: 125000n, burst: 10240, cellLog: 3, limit: 20000, mpu: 64, tickInUsec: TICK });
    expect(hex(encodeNewQdisc(0, spec))).toBe(golden("tc-qdisc-add-tbf-cell-mpu"));
  });

  test("tc qdisc add dev cnitsv0 ingress", () => {
    expect(hex(encodeNewQdisc(0, { kind: "ingress", index: V0 }))).toBe(golden("tc-qdisc-add-ingress"));
  });

  test("tc qdisc del dev cnitsv0 root | ingress", () => {
    expect(hex(encodeDelQdisc(0, { index: V0, parent: TC_H_ROOT }))).toBe(golden("tc-qdisc-del-root"));
    expect(hex(encodeDelQdisc(0, { index: V0, parent: TC_H_INGRESS, handle: INGRESS, kind: "ingress" }))).toBe(golden("tc-qdisc-del-ingress"));
  });

  test("tc qdisc show dev cnitsv0", () => {
    expect(hex(encodeListQdiscs(0, V0))).toBe(golden("tc-qdisc-dump-dev"));
  });
});

describe("filter encoders match tc byte for byte", () => {
  test("tc filter add dev cnitsv0 parent ffff: protocol all u32 match u32 0 0 action mirred egress redirect dev cnitsifb0", () => {
    const spec: U32FilterSpec = { kind: "u32", index: V0, parent: INGRESS, prio: 0, protocol: ETH_P_ALL, keys: MATCH_ALL, actions: [redirect(IFB)] };
    expect(hex(encodeNewFilter(0, spec))).toBe(golden("tc-filter-add-u32-mirred"));
  });

  test("... prio 1 u32 match u32 0 0 classid 1:1 action mirred egress redirect dev cnitsifb0 (twice)", () => {
    const spec: U32FilterSpec = {
      kind: "u32", index: V0, parent: INGRESS, prio: 1, protocol: ETH_P_ALL, classid: tcHandle(1, 1), keys: MATCH_ALL,
      actions: [redirect(IFB), redirect(IFB)],
    };
    expect(hex(encodeNewFilter(0, spec))).toBe(golden("tc-filter-add-u32-mirred-prio-classid-2"));
  });

  test("tc filter show dev cnitsv0 parent ffff:", () => {
    expect(hex(encodeListFilters(0, V0, INGRESS))).toBe(golden("tc-filter-dump-ingress"));
  });

  test("a filter without keys is refused before it reaches the kernel", () => {
    expect(() => encodeNewFilter(0, { kind: "u32", index: V0, parent: INGRESS, prio: 1, protocol: ETH_P_ALL, keys: [], actions: [] })).toThrow("0 keys");
  });
});

describe("readers", () => {
  test("a qdisc dump: noqueue, the root tbf and ingress of cnitsv0, a 5e9 B/s tbf on cnitsifb0 (RATE64)", () => {
    const msgs = parseMessages(goldenBytes("reply-qdisc-dump"));
    expect(msgs.at(-1)!.type).toBe(NLMSG_DONE);
    const qdiscs = msgs.filter((m) => m.type === RTM_NEWQDISC).map((m) => parseQdisc(m.payload));
    expect(qdiscs).toEqual([
      { index: 2, handle: 0, parent: TC_H_ROOT, kind: "noqueue" },
      {
        index: 3, handle: 0x10000, parent: TC_H_ROOT, kind: "tbf",
        tbf: { rate: 1_000_000n, peakrate: 0n, limit: 33192, buffer: 0x1f400, mtu: 0, linklayer: 1, overhead: 0, mpu: 0 },
      },
      { index: 3, handle: INGRESS, parent: TC_H_INGRESS, kind: "ingress" },
      {
        index: 4, handle: 0x10000, parent: TC_H_ROOT, kind: "tbf",
        tbf: { rate: 5_000_000_000n, peakrate: 0n, limit: 6_000_000, buffer: 0xccc, mtu: 0, linklayer: 1, overhead: 0, mpu: 0 },
      },
    ]);
  });

  test("a filter dump: the u32 hash table, its divisor, then the key node with both mirred actions", () => {
    const msgs = parseMessages(goldenBytes("reply-filter-dump"));
    const filters = msgs.filter((m) => m.type === RTM_NEWTFILTER).map((m) => parseFilter(m.payload));
    const base = { index: V0, parent: INGRESS, prio: 1, protocol: ETH_P_ALL, kind: "u32" };
    expect(filters.map(({ actions, ...f }) => ({ ...f, actions: actions.map((a) => ({ ...a, mirred: a.mirred && { ...a.mirred, index: 0 } })) }))).toEqual([
      { ...base, handle: 0, actions: [] },
      { ...base, handle: 0x80000000, divisor: 1, actions: [] },
      {
        ...base, handle: 0x80000800, classid: tcHandle(1, 1), keys: [{ mask: 0, val: 0, off: 0, offmask: 0 }],
        actions: [1, 2].map((order) => ({ order, kind: "mirred", mirred: { eaction: TCA_EGRESS_REDIR, ifindex: IFB, action: TC_ACT_STOLEN, index: 0 } })),
      },
    ]);
  });

  test("our own requests read back as what they say (a request and a dump entry share the layout)", () => {
    const spec = iproute2Tbf({ index: V0, handle: tcHandle(1, 0), rate: 125000n, burst: 32768, latencyUs: 25000, tickInUsec: TICK });
    const q = parseQdisc(parseMessages(encodeNewQdisc(0, spec))[0]!.payload);
    expect(q.tbf).toEqual({ rate: 125000n, peakrate: 0n, limit: 35893, buffer: 0x3e8000, mtu: 0, linklayer: 1, overhead: 0, mpu: 0 });
    const f = parseFilter(parseMessages(encodeNewFilter(0, {
      kind: "u32", index: V0, parent: INGRESS, prio: 1, protocol: ETH_P_ALL, keys: MATCH_ALL, actions: [redirect(IFB, TC_ACT_OK)],
    }))[0]!.payload);
    expect(f.actions).toEqual([{ order: 1, kind: "mirred", mirred: { eaction: TCA_EGRESS_REDIR, ifindex: IFB, action: TC_ACT_OK, index: 0 } }]);
  });

  test("malformed replies throw naming what is wrong", () => {
    expect(() => parseQdisc(new Uint8Array(8))).toThrow("tcmsg: 8 bytes, want 20");
    const w = new NlWriter(RTM_NEWQDISC, 0, 0);
    w.struct(new Uint8Array(20)).strz(TCA_KIND, "tbf");
    const opts = w.beginNest(TCA_OPTIONS);
    w.bytes(TCA_TBF_PARMS, new Uint8Array(32)).endNest(opts);
    expect(() => parseQdisc(parseMessages(w.finish())[0]!.payload)).toThrow("TCA_TBF_PARMS: 32 bytes, want 36");
  });
});

// ---- the real kernel ----------------------------------------------------------------------------------------------

const isRoot = process.getuid?.() === 0 && Bun.which("tc") !== null;

function tcJson(ns: string, args: string[]): any[] {
  const r = Bun.spawnSync(["ip", "netns", "exec", ns, "tc", "-j", "-r", ...args], { stdout: "pipe", stderr: "pipe" });
  if (r.exitCode !== 0) throw new Error(`tc ${args.join(" ")}: ${r.stderr.toString()}`);
  const out = r.stdout.toString().trim();
  return out ? JSON.parse(out) : [];
}

describe.skipIf(!isRoot)("real kernel (root)", () => {
  test("tbf, ingress and a u32 mirred filter: made through netlink, read back by us and by tc", () => {
    const name = `cnitc${process.pid.toString(36)}-tc`;
    const path = createNetns(name);
    try {
      using sock = openRouteSocket(path);
      addLink(sock, { kind: "veth", name: "cnitcv0", peer: { name: "cnitcv1" } });
      addLink(sock, { kind: "ifb", name: "cnitcifb0" });
      const v0 = getLinkByName(sock, "cnitcv0").index;
      const ifb = getLinkByName(sock, "cnitcifb0").index;
      setLinkUp(sock, v0);
      setLinkUp(sock, ifb);

      // The shape upstream's bandwidth plugin sends: no rate table, no TCA_TBF_BURST, the bucket in ticks.
      addQdisc(sock, { kind: "tbf", index: v0, handle: tcHandle(1, 0), qopt: { rate: { rate: 1_000_000 }, limit: 33192, buffer: 128000 } });
      addQdisc(sock, { kind: "tbf", index: ifb, handle: tcHandle(1, 0), qopt: { rate: { rate: 705032704 }, limit: 6_000_000, buffer: 3200 }, rate64: 5_000_000_000n });
      addQdisc(sock, { kind: "ingress", index: v0 });
      addFilter(sock, {
        kind: "u32", index: v0, parent: INGRESS, prio: 1, protocol: ETH_P_ALL, classid: tcHandle(1, 1), keys: MATCH_ALL,
        actions: [redirect(ifb), redirect(ifb, TC_ACT_OK)],
      });
      let again: unknown;
      try {
        addQdisc(sock, { kind: "ingress", index: v0 });
      } catch (e) {
        again = e;
      }
      expect(hasErrno(again, EEXIST)).toBe(true);

      expect(listQdiscs(sock, v0).map((q) => [q.kind, formatHandle(q.handle), q.tbf?.rate, q.tbf?.limit, q.tbf?.buffer])).toEqual([
        ["tbf", "1:", 1_000_000n, 33192, 128000],
        ["ingress", "ffff:", undefined, undefined, undefined],
      ]);
      expect(listQdiscs(sock, ifb).map((q) => q.tbf?.rate)).toEqual([5_000_000_000n]);
      const filters = listFilters(sock, v0, INGRESS).filter((f) => f.keys);
      expect(filters.map((f) => f.actions.map((a) => [a.mirred?.ifindex, a.mirred?.action]))).toEqual([[[ifb, TC_ACT_STOLEN], [ifb, TC_ACT_OK]]]);

      const shown = tcJson(name, ["qdisc", "show", "dev", "cnitcv0"]);
      expect(shown.map((q) => [q.kind, q.handle, q.options?.rate, q.options?.burst, q.options?.limit])).toEqual([
        ["tbf", "1:", 1_000_000, 8192, 33192],
        ["ingress", "ffff:", undefined, undefined, undefined],
      ]);
      const node = tcJson(name, ["filter", "show", "dev", "cnitcv0", "parent", "ffff:"]).find((f) => f.options?.actions);
      expect(node.options.flowid).toBe("1:1");
      expect(node.options.actions.map((a: any) => [a.kind, a.mirred_action, a.direction, a.to_dev, a.control_action.type])).toEqual([
        ["mirred", "redirect", "egress", "cnitcifb0", "stolen"],
        ["mirred", "redirect", "egress", "cnitcifb0", "pass"],
      ]);

      delQdisc(sock, { index: v0, parent: TC_H_INGRESS, handle: INGRESS, kind: "ingress" });
      delQdisc(sock, { index: v0, parent: TC_H_ROOT, handle: tcHandle(1, 0) });
      expect(listQdiscs(sock, v0).map((q) => q.kind)).toEqual(["noqueue"]);
      expect(listFilters(sock, v0, INGRESS)).toEqual([]);
    } finally {
      removeNetns(name);
    }
  });
});

test("readTickInUsec reads this kernel's psched clock", () => {
  expect(readTickInUsec()).toBe(parsePsched(require("node:fs").readFileSync("/proc/net/psched", "utf8")));
});
