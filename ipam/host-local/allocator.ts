// ipam/host-local/allocator.ts: takes one address from a range set for a container, round-robin from the last
// reservation of that set, as upstream's backend/allocator/allocator.go does (SPEC-DIGEST §2.1 "ADD").
import type { IPConfig } from "../../pkg/cni/types.ts";
import { addToIP, formatIP, ipEqual, type IP } from "../../pkg/ip/cidr.ts";
import type { Range } from "./range.ts";
import { formatRangeSet, notInRangeSet, rangeFor, type RangeSet } from "./range-set.ts";
import type { Store } from "./store.ts";

/** What one allocation reserved: the address and its result entry. */
export interface Allocation {
  ip: IP;
  config: IPConfig;
}

/**
 * Returns the address reserved for (id, ifname) in set number `setIndex`: `requested` if given, else the next free
 * one. Runs under the store lock. Throws upstream's texts (gateway, not available, duplicate, exhausted).
 */
export function allocate(store: Store, set: RangeSet, setIndex: number, id: string, ifname: string, requested?: IP): Allocation {
  return store.withLock(() => (requested ? takeRequested(store, set, setIndex, id, ifname, requested) : takeNext(store, set, setIndex, id, ifname)));
}

function takeRequested(store: Store, set: RangeSet, setIndex: number, id: string, ifname: string, ip: IP): Allocation {
  const r = rangeFor(set, ip);
  if (!r) throw notInRangeSet(ip, set);
  if (ipEqual(ip, r.gateway)) throw new Error(`requested ip ${formatIP(ip)} is subnet's gateway`); // upstream text
  if (!store.reserve(id, ifname, ip, setIndex)) {
    throw new Error(`requested IP address ${formatIP(ip)} is not available in range set ${formatRangeSet(set)}`); // upstream text
  }
  return allocation(ip, r);
}

function takeNext(store: Store, set: RangeSet, setIndex: number, id: string, ifname: string): Allocation {
  // The spec forbids a second address for the same attachment; a requested IP skips this check upstream too.
  for (const held of store.getById(id, ifname)) {
    if (rangeFor(set, held)) {
      throw new Error(`${formatIP(held)} has been allocated to ${id}, duplicate allocation is not allowed`); // upstream text
    }
  }
  const iter = new RangeIter(set, store.lastReservedIP(setIndex));
  for (let c = iter.next(); c; c = iter.next()) {
    if (store.reserve(id, ifname, c[0], setIndex)) return allocation(c[0], c[1]);
  }
  throw new Error(`no IP addresses available in range set: ${formatRangeSet(set)}`); // upstream text
}

function allocation(ip: IP, r: Range): Allocation {
  return { ip, config: { address: `${formatIP(ip)}/${r.subnet.prefix}`, gateway: formatIP(r.gateway) } };
}

/**
 * Offers every address of the set once with its range, skipping gateways: from just after `lastReserved` when the
 * set holds it, else from the first range's start; past a range's end it moves to the next range's start,
 * wrapping around. This is upstream's RangeIter step for step, so both pick the same address from the same disk.
 * A class, not a generator: a generator's machinery costs ~0.2 ms to set up in each process, and host-local runs
 * once per bridge ADD.
 */
export class RangeIter {
  private idx = 0;
  private cur: IP | undefined;
  private start: IP | undefined;

  constructor(private readonly set: RangeSet, lastReserved?: IP) {
    const from = lastReserved && rangeFor(set, lastReserved);
    if (from) {
      this.idx = set.indexOf(from);
      this.cur = lastReserved; // the first step moves past it
    }
  }

  /** Returns the next address and its range, or undefined once every address has been offered. */
  next(): [IP, Range] | undefined {
    const set = this.set;
    for (;;) {
      let r = set[this.idx]!;
      if (this.cur === undefined) {
        this.cur = r.rangeStart;
        this.start = this.cur;
      } else {
        if (ipEqual(this.cur, r.rangeEnd)) {
          this.idx = (this.idx + 1) % set.length;
          r = set[this.idx]!;
          this.cur = r.rangeStart;
        } else {
          this.cur = addToIP(this.cur, 1n);
        }
        if (this.start === undefined) this.start = this.cur;
        else if (ipEqual(this.cur, this.start)) return undefined; // back where we began: every address was offered
      }
      if (!ipEqual(this.cur, r.gateway)) return [this.cur, r];
    }
  }
}
