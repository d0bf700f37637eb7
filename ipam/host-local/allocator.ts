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
  for (const [ip, r] of candidates(set, store.lastReservedIP(setIndex))) {
    if (store.reserve(id, ifname, ip, setIndex)) return allocation(ip, r);
  }
  throw new Error(`no IP addresses available in range set: ${formatRangeSet(set)}`); // upstream text
}

function allocation(ip: IP, r: Range): Allocation {
  return { ip, config: { address: `${formatIP(ip)}/${r.subnet.prefix}`, gateway: formatIP(r.gateway) } };
}

/**
 * Yields every address of the set once with its range, skipping gateways: from just after `lastReserved` when the
 * set holds it, else from the first range's start; past a range's end it moves to the next range's start,
 * wrapping around. This is upstream's RangeIter step for step, so both pick the same address from the same disk.
 */
export function* candidates(set: RangeSet, lastReserved?: IP): Generator<[IP, Range]> {
  let idx = 0;
  let cur: IP | undefined;
  let start: IP | undefined;
  const from = lastReserved && rangeFor(set, lastReserved);
  if (from) {
    idx = set.indexOf(from);
    cur = lastReserved; // the first step moves past it
  }
  for (;;) {
    let r = set[idx]!;
    if (cur === undefined) {
      cur = r.rangeStart;
      start = cur;
    } else {
      if (ipEqual(cur, r.rangeEnd)) {
        idx = (idx + 1) % set.length;
        r = set[idx]!;
        cur = r.rangeStart;
      } else {
        cur = addToIP(cur, 1n);
      }
      if (start === undefined) start = cur;
      else if (ipEqual(cur, start)) return; // back where we began: every address was offered
    }
    if (ipEqual(cur, r.gateway)) continue;
    yield [cur, r];
  }
}
