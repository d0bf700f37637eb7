// meta/bandwidth/shaping.ts: the tc objects upstream's bandwidth plugin makes, with its arithmetic (ifb_creator.go on
// vishvananda/netlink): a root tbf 1: per shaped direction, and for egress an ingress qdisc on the host veth whose
// u32 filter redirects every packet to the ifb. Pure code, byte-tested against what /usr/lib/cni/bandwidth sends.
import {
  ETH_P_ALL, tcHandle, toU32, TC_ACT_OK, TC_ACT_STOLEN, TCA_EGRESS_REDIR, type TbfInfo, type TbfSpec, type U32FilterSpec,
} from "../../pkg/ip/tc.ts";

// upstream: latencyInMillis = 25, and netlink.TIME_UNITS_PER_SEC (microseconds).
const LATENCY_MS = 25;
const TIME_UNITS_PER_SEC = 1_000_000;

/** The three numbers upstream gives a tbf, and the rate they come from. */
export interface TbfParams {
  /** Bytes per second (rate bits / 8). */
  rate: bigint;
  /** Bytes: rate × 25 ms + burst. */
  limit: number;
  /** Psched ticks: the time the burst takes at the rate. */
  buffer: number;
}

/**
 * Returns upstream's tbf numbers for a rate (bits/s) and burst (bits), on a kernel whose psched tick is tickInUsec
 * µs. Go's float64 → uint32 conversions are reproduced as amd64 does them (truncate, keep the low 32 bits), so a
 * burst that takes more than ~4295 s at its rate wraps exactly as it does upstream.
 */
export function tbfParams(rateBits: bigint, burstBits: bigint, tickInUsec: number): TbfParams {
  const rate = rateBits / 8n;
  const burst = toU32(Number(burstBits / 8n)); // validated below 2^32 - 1 by loadConf
  const rateF = Number(rate); // float64(uint64), round to nearest as Go
  // buffer(): time2Tick(uint32(float64(burst) * TIME_UNITS_PER_SEC / float64(rate)))
  const buffer = toU32(toU32((burst * TIME_UNITS_PER_SEC) / rateF) * tickInUsec);
  // limit(): uint32(float64(rate) * latency / TIME_UNITS_PER_SEC) + burst, in uint32 arithmetic
  const latency = TIME_UNITS_PER_SEC * (LATENCY_MS / 1000);
  const limit = (toU32((rateF * latency) / TIME_UNITS_PER_SEC) + burst) >>> 0;
  return { rate, limit, buffer };
}

/** The handle of both tbf qdiscs: 1:. */
export const TBF_HANDLE = tcHandle(1, 0);
/** The ingress qdisc's handle, ffff:, which the redirect filter hangs off. */
export const INGRESS_HANDLE = tcHandle(0xffff, 0);

/**
 * Returns the root tbf 1: for a device as vishvananda/netlink encodes upstream's netlink.Tbf: only TCA_TBF_PARMS
 * (the rate's low 32 bits in the rate spec, link layer unaware, no rate table, no TCA_TBF_BURST, so the kernel takes
 * the bucket from `buffer`), plus TCA_TBF_RATE64 for a rate of 2^32 bytes/s or more.
 */
export function tbfSpec(index: number, p: TbfParams): TbfSpec {
  return {
    kind: "tbf",
    index,
    handle: TBF_HANDLE,
    qopt: { rate: { rate: Number(BigInt.asUintN(32, p.rate)) }, limit: p.limit, buffer: p.buffer },
    rate64: p.rate >= 1n << 32n ? p.rate : undefined,
  };
}

/**
 * Returns the redirect filter on the host veth's ingress qdisc: u32 match-all, prio 1, protocol all, classid 1:1.
 * upstream quirk: vishvananda/netlink turns U32.RedirIndex into a mirred action (TC_ACT_STOLEN) placed before the
 * mirred action upstream lists itself (TC_ACT_OK, "pass"), so the filter carries both; the first one steals every
 * packet and the second never runs. Kept, so `tc filter show` reads the same for both implementations.
 */
export function redirectFilterSpec(hostIndex: number, ifbIndex: number): U32FilterSpec {
  const redirect = (action: number) => ({ kind: "mirred" as const, eaction: TCA_EGRESS_REDIR, ifindex: ifbIndex, action });
  return {
    kind: "u32",
    index: hostIndex,
    parent: INGRESS_HANDLE,
    prio: 1,
    protocol: ETH_P_ALL,
    classid: tcHandle(1, 1),
    keys: [{ mask: 0, val: 0, off: 0 }],
    actions: [redirect(TC_ACT_STOLEN), redirect(TC_ACT_OK)],
  };
}

/** Returns upstream CHECK's complaint about a tbf that does not have these numbers, or undefined when it does. */
export function tbfMismatch(have: TbfInfo, want: TbfParams): string | undefined {
  if (have.rate !== want.rate) return "Rate doesn't match"; // upstream text
  if (have.limit !== want.limit) return "Limit doesn't match"; // upstream text
  if (have.buffer !== want.buffer) return "Buffer doesn't match"; // upstream text
  return undefined;
}
