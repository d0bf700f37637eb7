// test/support/host-local.ts: what host-local tests share: the network config they send, the result text each spec
// version prints (key order included), and the store layout on disk (SPEC-DIGEST §0.3 and §2.1).
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { underUmask, type Entry } from "./temp-dir.ts";

/** The network name every host-local test uses: the store is `<dataDir>/<NET>/`. */
export const NET = "hlnet";

/** Returns a network config for host-local: one IPv4 /24 range set unless `ipam` says otherwise. */
export function hostLocalConf(cniVersion: string, dataDir: string, ipam: object = {}, top: object = {}): Record<string, unknown> {
  return {
    cniVersion,
    name: NET,
    type: "ptp",
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.1.2.0/24" }]], ...ipam },
    ...top,
  };
}

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

function sortKeys(v: unknown): any {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === "object") {
    return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  }
  return v;
}

// ---------- the store on disk, as snapshotDir(dataDir) reads it ----------

/** A reservation file: `<id>\r\n<ifname>`, 0600. */
export function reservation(id: string, ifname = "eth0"): Entry {
  return { type: "file", mode: underUmask(0o600), content: `${id}\r\n${ifname}` };
}

/** A last_reserved_ip.<n> file: the IP text, no newline, 0600. */
export function lastReserved(ip: string): Entry {
  return { type: "file", mode: underUmask(0o600), content: ip };
}

/** Returns the snapshot of a dataDir holding only NET's store: the 0755 directory, `lock` and these files. */
export function storeWith(files: Record<string, Entry>): Record<string, Entry> {
  const out: Record<string, Entry> = {
    [NET]: { type: "dir", mode: underUmask(0o755) },
    // go-filemutex creates it O_CREAT|O_RDONLY with mode 0750; it stays empty.
    [`${NET}/lock`]: { type: "file", mode: underUmask(0o750), content: "" },
  };
  for (const [name, e] of Object.entries(files)) out[`${NET}/${name}`] = e;
  return out;
}
