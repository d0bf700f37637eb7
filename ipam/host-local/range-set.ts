// ipam/host-local/range-set.ts: range sets (one address per set and per ADD): validation of the configured list with
// upstream's error texts, lookup and the text form used in messages (upstream range_set.go and config.go).
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { formatIP, type IP } from "../../pkg/ip/cidr.ts";
import { canonicalizeRange, formatRange, rangeContains, rangesOverlap, type Range, type RangeSpec } from "./range.ts";
import { anyOf, firstOf } from "../../pkg/sys/lists.ts";

/** A canonical, non-empty list of ranges of one family; an ADD takes one address from each set. */
export type RangeSet = Range[];

/**
 * Returns the configured sets canonicalised, in order. Throws upstream's texts: `no IP ranges specified`,
 * `invalid range set <i>: <why>`, `CNI version <v> does not support more than 1 address per family`,
 * `range set <i> overlaps with <j>`.
 */
export function canonicalizeRangeSets(specs: (RangeSpec | undefined)[][], cniVersion: string): RangeSet[] {
  if (specs.length === 0) throw new Error("no IP ranges specified"); // upstream text
  const sets: RangeSet[] = [];
  let v4 = 0;
  let v6 = 0;
  for (let i = 0; i < specs.length; i++) {
    let set: RangeSet;
    try {
      set = canonicalizeRangeSet(specs[i]!);
    } catch (e) {
      throw new Error(`invalid range set ${i}: ${(e as Error).message}`, { cause: e }); // upstream text
    }
    if (set[0]!.subnet.ip.family === 4) v4++;
    else v6++;
    sets.push(set);
  }
  // Results before 0.3.0 hold one address per family.
  if ((v4 > 1 || v6 > 1) && !isAtLeast030(cniVersion)) {
    throw new Error(`CNI version ${cniVersion} does not support more than 1 address per family`); // upstream text
  }
  for (let i = 0; i < sets.length - 1; i++) {
    for (let j = i + 1; j < sets.length; j++) {
      if (rangeSetsOverlap(sets[i]!, sets[j]!)) throw new Error(`range set ${i} overlaps with ${j}`); // upstream text
    }
  }
  return sets;
}

function isAtLeast030(version: string): boolean {
  try {
    return versionAtLeast(version, "0.3.0");
  } catch {
    return false; // upstream ignores the parse error and treats the version as too old
  }
}

/** Returns one set canonicalised; throws `empty range set`, a range's error, `mixed address families` or an overlap. */
export function canonicalizeRangeSet(specs: (RangeSpec | undefined)[]): RangeSet {
  if (specs.length === 0) throw new Error("empty range set"); // upstream text
  // A JSON null inside a set decodes to a zero Range upstream, which then fails like a range without a subnet.
  const set = specs.map((s) => canonicalizeRange(s ?? {}));
  const family = set[0]!.subnet.ip.family;
  if (anyOf(set, (r) => r.subnet.ip.family !== family)) throw new Error("mixed address families"); // upstream text
  for (let i = 0; i < set.length - 1; i++) {
    for (let j = i + 1; j < set.length; j++) {
      if (rangesOverlap(set[i]!, set[j]!)) {
        throw new Error(`subnets ${formatRange(set[i]!)} and ${formatRange(set[j]!)} overlap`); // upstream text
      }
    }
  }
  return set;
}

/** Returns the first range of the set holding ip (between its start and end), or undefined. */
export function rangeFor(set: RangeSet, ip: IP): Range | undefined {
  return firstOf(set, (r) => rangeContains(r, ip));
}

/** Returns whether any range of a overlaps any range of b. */
export function rangeSetsOverlap(a: RangeSet, b: RangeSet): boolean {
  return anyOf(a, (r) => anyOf(b, (r1) => rangesOverlap(r, r1)));
}

/** Returns the set as upstream's RangeSet.String prints it: `start-end,start-end`. */
export function formatRangeSet(set: RangeSet): string {
  return set.map(formatRange).join(",");
}

/** Returns the error upstream's RangeFor gives for an address outside every range of the set. */
export function notInRangeSet(ip: IP, set: RangeSet): Error {
  return new Error(`${formatIP(ip)} not in range set ${formatRangeSet(set)}`); // upstream text
}
