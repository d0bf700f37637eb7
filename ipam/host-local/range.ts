// ipam/host-local/range.ts: one address range (subnet, rangeStart..rangeEnd, gateway): canonicalisation with
// upstream's checks and error texts, membership and overlap (upstream backend/allocator/range.go).
import {
  addToIP, bitsOf, compareIP, contains, formatCIDR, formatIP, ipEqual, lastOf, networkOf, type IP, type IPNet,
} from "../../pkg/ip/cidr.ts";

/**
 * A subnet as written in the config. `bits` is the mask width Go saw: "::ffff:10.0.0.0/120" parses to an IPv4
 * address with a 128-bit mask, which canonicalisation then rejects, so it has to be told apart from "10.0.0.0/24".
 */
export interface SubnetSpec {
  ip: IP;
  ones: number;
  bits: 32 | 128;
}

/** A range as configured: everything but the subnet may be left out. */
export interface RangeSpec {
  subnet?: SubnetSpec;
  rangeStart?: IP;
  rangeEnd?: IP;
  gateway?: IP;
}

/** A canonical range: `subnet` has no host bits and every address is filled in. */
export interface Range {
  subnet: IPNet;
  rangeStart: IP;
  rangeEnd: IP;
  gateway: IP;
}

/** Returns the range with defaults filled in; throws upstream's Range.Canonicalize errors. */
export function canonicalizeRange(spec: RangeSpec): Range {
  const sn = spec.subnet;
  if (!sn) throw new Error("IP <nil> not v4 nor v6"); // upstream text: canonicalizeIP of a missing subnet
  const family = sn.ip.family;
  // A /31 or /32 (/127, /128) has nothing to hand out.
  if (sn.ones > sn.bits - 2) {
    const shown = Math.max(0, sn.ones - (sn.bits - bitsOf(family)));
    throw new Error(`Network ${formatIP(sn.ip)}/${shown} too small to allocate from`); // upstream text
  }
  if (sn.bits !== bitsOf(family)) throw new Error("IPNet IP and Mask version mismatch"); // upstream text
  const network = networkOf({ ip: sn.ip, prefix: sn.ones });
  if (!ipEqual(network, sn.ip)) {
    throw new Error( // upstream text
      `Network has host bits set. For a subnet mask of length ${sn.ones} the network address is ${formatIP(network)}`,
    );
  }
  const subnet: IPNet = { ip: network, prefix: sn.ones };
  // upstream quirk: the gateway is not required to lie in the subnet (v1.9.1 dropped that check).
  const gateway = spec.gateway ?? addToIP(network, 1n);

  // Membership checks while filling in honour the bounds known so far, so rangeStart > rangeEnd is reported
  // as "RangeStart ... not in network ...", as upstream does.
  let rangeStart = spec.rangeStart;
  if (rangeStart) {
    if (!rangeContains({ subnet, rangeEnd: spec.rangeEnd }, rangeStart)) {
      throw new Error(`RangeStart ${formatIP(rangeStart)} not in network ${formatCIDR(subnet)}`); // upstream text
    }
  } else {
    rangeStart = addToIP(network, 1n);
  }
  let rangeEnd = spec.rangeEnd;
  if (rangeEnd) {
    if (!rangeContains({ subnet, rangeStart, rangeEnd }, rangeEnd)) {
      throw new Error(`RangeEnd ${formatIP(rangeEnd)} not in network ${formatCIDR(subnet)}`); // upstream text
    }
  } else {
    rangeEnd = defaultRangeEnd(subnet);
  }
  return { subnet, rangeStart, rangeEnd, gateway };
}

/** The last address of the subnet, minus the broadcast address for IPv4. */
function defaultRangeEnd(subnet: IPNet): IP {
  const last = lastOf(subnet);
  return subnet.ip.family === 4 ? addToIP(last, -1n) : last;
}

/** Returns whether addr is in r's subnet and between its start and end (each bound only when known). */
export function rangeContains(r: { subnet: IPNet; rangeStart?: IP; rangeEnd?: IP }, addr: IP): boolean {
  if (!contains(r.subnet, addr)) return false; // also false for the other family
  if (r.rangeStart && compareIP(addr, r.rangeStart) < 0) return false;
  if (r.rangeEnd && compareIP(addr, r.rangeEnd) > 0) return false;
  return true;
}

/** Returns whether two ranges of the same family share an address (an end of one lies in the other). */
export function rangesOverlap(a: Range, b: Range): boolean {
  if (a.subnet.ip.family !== b.subnet.ip.family) return false;
  return rangeContains(a, b.rangeStart) || rangeContains(a, b.rangeEnd) ||
    rangeContains(b, a.rangeStart) || rangeContains(b, a.rangeEnd);
}

/** Returns `start-end`, as upstream's Range.String prints it in error messages. */
export function formatRange(r: Range): string {
  return `${formatIP(r.rangeStart)}-${formatIP(r.rangeEnd)}`;
}
