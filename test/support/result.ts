// test/support/result.ts: the exact text of a result as each spec version prints it (key order included): IPAM's,
// and that of a plugin that adds interfaces (SPEC-DIGEST §0.3), so a test compares stdout byte for byte.
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

/** A host-side veth name (SPEC-DIGEST §0.6). */
export const VETH_NAME = /^veth[0-9a-f]{8}$/;
/** A MAC as results print it: lowercase, colon-separated. */
export const MAC = /^([0-9a-f]{2}:){5}[0-9a-f]{2}$/;

/** An address as an IPAM plugin reports it (no `interface`). */
export interface Ip {
  address: string;
  gateway?: string;
}

/**
 * Returns the result object of an IPAM ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: 1.x sorted keys and no empty dns; 0.3/0.4 `version` on each IP
 * and dns always; 0.1/0.2 the first IPv4 and IPv6 with their routes filed by family.
 */
export function ipamResult(version: string, ips: Ip[], routes: Route[] = [], dns: DNS = {}): object {
  if (versionAtLeast(version, "1.0.0")) {
    return sortKeys({
      cniVersion: version,
      ...(Object.keys(dns).length ? { dns } : {}),
      ...(ips.length ? { ips } : {}),
      ...(routes.length ? { routes } : {}),
    });
  }
  if (versionAtLeast(version, "0.3.0")) {
    return {
      cniVersion: version,
      ...(ips.length ? { ips: ips.map((ip) => ({ version: isV6(ip.address) ? "6" : "4", ...ip })) } : {}),
      ...(routes.length ? { routes: routes.map(goRoute) } : {}),
      dns: goDns(dns),
    };
  }
  const family = (want: boolean) => {
    const ip = ips.find((i) => isV6(i.address) === want);
    if (!ip) return undefined;
    const rs = routes.filter((r) => isV6(r.dst) === want).map(goRoute);
    return { ip: ip.address, ...(ip.gateway ? { gateway: ip.gateway } : {}), ...(rs.length ? { routes: rs } : {}) };
  };
  const ip4 = family(false);
  const ip6 = family(true);
  return { cniVersion: version, ...(ip4 ? { ip4 } : {}), ...(ip6 ? { ip6 } : {}), dns: goDns(dns) };
}

/** Returns the exact stdout of a successful ADD: pretty JSON, 4-space indent, no trailing newline. */
export function printed(result: object): string {
  return JSON.stringify(result, null, 4);
}

function isV6(addr: string): boolean {
  return addr.includes(":");
}

/** A route's fields in Go's struct order (types.Route): dst, gw, mtu, advmss, priority, table, scope. */
function goRoute(r: Route): Route {
  const out: Record<string, unknown> = {};
  for (const k of ["dst", "gw", "mtu", "advmss", "priority", "table", "scope"] as const) if (r[k] !== undefined) out[k] = r[k];
  return out as unknown as Route;
}

/** DNS fields in Go's struct order (types.DNS). */
function goDns(d: DNS): DNS {
  const out: Record<string, unknown> = {};
  for (const k of ["nameservers", "domain", "search", "options"] as const) if (d[k] !== undefined) out[k] = d[k];
  return out as DNS;
}

/** Returns v with the keys of every object sorted, as Go marshals 1.x results. */
export function sortKeys(v: unknown): any {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

/** An interface entry of a result. */
export interface ResultInterface {
  name: string;
  mac: string;
  sandbox?: string;
}

/**
 * Returns the result object of a main plugin's ADD as `version` prints it, keys in the printed order: IPAM's result
 * with `interfaces` and `interface: <ipInterface>` on every IP where the version has them (0.3.0 on); 0.1/0.2 are
 * IPAM's shape. `ips` empty is a layer-2 result.
 */
export function attachmentResult(
  version: string, interfaces: ResultInterface[], ipInterface: number, ips: Ip[], routes: Route[] = [], dns: DNS = {},
): object {
  const base = ipamResult(version, ips, routes, dns) as Record<string, any>;
  if (!versionAtLeast(version, "0.3.0")) return base;
  if (versionAtLeast(version, "1.0.0")) {
    return sortKeys({ ...base, interfaces, ...(base.ips ? { ips: base.ips.map((ip: Ip) => ({ ...ip, interface: ipInterface })) } : {}) });
  }
  // 0.3/0.4: cniVersion, interfaces, ips (version, interface, address, gateway), routes, dns.
  const { cniVersion, ips: ipamIps, ...rest } = base;
  return {
    cniVersion,
    interfaces,
    ...(ipamIps ? { ips: ipamIps.map(({ version: v, ...ip }: { version: string }) => ({ version: v, interface: ipInterface, ...ip })) } : {}),
    ...rest,
  };
}
