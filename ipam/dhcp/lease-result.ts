// ipam/dhcp/lease-result.ts: what a DHCPACK means for the CNI result and for the lease's clock, as upstream reads it
// (plugins/ipam/dhcp/lease.go IPNet/Gateway/Routes/commit, options.go parseRoutes).
import type { IPConfig, Result, Route } from "../../pkg/cni/types.ts";
import {
  formatIPv4, optionIP, optionIPs, optionSeconds, OPT_CLASSLESS_ROUTES, OPT_LEASE_TIME, OPT_REBINDING_TIME,
  OPT_RENEWAL_TIME, OPT_ROUTER, OPT_STATIC_ROUTES, OPT_SUBNET_MASK, type Message,
} from "./packet.ts";

const DEFAULT_LEASE_SECONDS = 60 * 60;
const RT_SCOPE_LINK = 253;

/** When a lease acquired or renewed at `now` (ms) must be renewed, rebound and given up, in epoch ms. */
export interface LeaseTimes {
  renewAt: number;
  rebindAt: number;
  expireAt: number;
}

/**
 * Returns the lease's times: lease time from option 51 (default 1 h), T1 from 58 (default half the lease), T2 from
 * 59 (default 85 % of it), as upstream's commit computes them.
 */
export function leaseTimes(ack: Message, now: number): LeaseTimes {
  const leaseMs = (optionSeconds(ack, OPT_LEASE_TIME) ?? DEFAULT_LEASE_SECONDS) * 1000;
  const t1 = optionSeconds(ack, OPT_RENEWAL_TIME);
  const t2 = optionSeconds(ack, OPT_REBINDING_TIME);
  return {
    renewAt: now + (t1 !== undefined ? t1 * 1000 : Math.floor(leaseMs / 2)),
    rebindAt: now + (t2 !== undefined ? t2 * 1000 : Math.floor((leaseMs * 85) / 100)),
    expireAt: now + leaseMs,
  };
}

/** Returns the prefix length of a contiguous 4-byte mask, or undefined when its ones are not contiguous. */
export function maskPrefix(mask: Uint8Array): number | undefined {
  const n = ((mask[0]! << 24) | (mask[1]! << 16) | (mask[2]! << 8) | mask[3]!) >>> 0;
  for (let p = 0; p <= 32; p++) if ((p === 0 ? 0 : (0xffffffff << (32 - p)) >>> 0) === n) return p;
  return undefined;
}

/** Returns the leased address as `ip/prefix`; throws upstream's text when the ACK has no subnet mask. */
export function leasedAddress(ack: Message): string {
  const mask = optionIP(ack, OPT_SUBNET_MASK);
  if (!mask) throw new Error("DHCP option Subnet Mask not found in DHCPACK"); // upstream text
  const prefix = maskPrefix(mask);
  if (prefix === undefined) throw new Error(`DHCP option Subnet Mask ${formatIPv4(mask)} is not a contiguous mask`);
  return `${formatIPv4(ack.yiaddr)}/${prefix}`;
}

/** Returns the first router (option 3), or undefined. */
export function gateway(ack: Message): string | undefined {
  const routers = optionIPs(ack, OPT_ROUTER);
  return routers ? formatIPv4(routers[0]!) : undefined;
}

/**
 * Returns the routes of an ACK: the classless static routes (121) alone when there are any (RFC 3442), each with
 * scope link when its router is 0.0.0.0; otherwise the static routes (33, classful destinations) and a default
 * route via the first router.
 */
export function routes(ack: Message): Route[] {
  const classless = classlessRoutes(ack.options.get(OPT_CLASSLESS_ROUTES));
  if (classless && classless.length > 0) {
    return classless.map((r) => (r.gw === "0.0.0.0" ? { ...r, scope: RT_SCOPE_LINK } : r));
  }
  const out: Route[] = [];
  const table = ack.options.get(OPT_STATIC_ROUTES);
  if (table) {
    for (let i = 0; i + 8 <= table.length; i += 8) {
      const dst = table.subarray(i, i + 4);
      out.push({ dst: `${formatIPv4(dst)}/${classfulPrefix(dst)}`, gw: formatIPv4(table.subarray(i + 4, i + 8)) });
    }
  }
  const gw = gateway(ack);
  if (gw !== undefined) out.push({ dst: "0.0.0.0/0", gw });
  return out;
}

/** Returns Go's net.IP.DefaultMask length for an IPv4 address: class A /8, class B /16, anything else /24. */
function classfulPrefix(ip: Uint8Array): number {
  if (ip[0]! < 0x80) return 8;
  if (ip[0]! < 0xc0) return 16;
  return 24;
}

/** Returns RFC 3442 routes, or undefined when the option is absent or malformed (the library then ignores it). */
export function classlessRoutes(v: Uint8Array | undefined): Route[] | undefined {
  if (!v) return undefined;
  const out: Route[] = [];
  let i = 0;
  while (i < v.length) {
    const width = v[i++]!;
    if (width > 32) return undefined;
    const n = Math.ceil(width / 8);
    if (i + n + 4 > v.length) return undefined;
    const dst = new Uint8Array(4);
    dst.set(v.subarray(i, i + n));
    i += n;
    out.push({ dst: `${formatIPv4(dst)}/${width}`, gw: formatIPv4(v.subarray(i, i + 4)) });
    i += 4;
  }
  return out;
}

/** Returns the 1.1.0 result of a lease: its address and gateway, its routes, each with `priority` when not 0. */
export function leaseResult(ack: Message, priority: number): Result {
  const ip: IPConfig = { address: leasedAddress(ack) };
  const gw = gateway(ack);
  if (gw !== undefined) ip.gateway = gw;
  const rs = routes(ack).map((r) => (priority !== 0 ? { ...r, priority } : r));
  const result: Result = { cniVersion: "1.1.0", ips: [ip] };
  if (rs.length > 0) result.routes = rs;
  return result;
}
