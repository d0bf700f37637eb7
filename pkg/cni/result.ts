// pkg/cni/result.ts: results across the seven spec versions (SPEC-DIGEST §0.3). Plugins build the 1.1.0 shape;
// this file reads any version's JSON into that shape and prints it back in the shape of the config's version.
import { formatCIDR, formatIP, parseCIDR, parseIP } from "../ip/cidr.ts";
import { marshalIndent } from "./json.ts";
import { goRoute } from "./route-decode.ts";
import { FAMILY_VERSIONS, familyOf } from "./version.ts";
import type { DNS, IPConfig, Interface, Result, Route } from "./types.ts";

type Json = Record<string, unknown>;

// ---------- reading ----------

function field(o: Json, name: string): unknown {
  // Results are decoded with Go's encoding/json too: exact key first, then case-insensitive.
  if (Object.hasOwn(o, name)) return o[name];
  const lower = name.toLowerCase();
  for (const k of Object.keys(o)) if (k.toLowerCase() === lower) return o[k];
  return undefined;
}

function optString(o: Json, name: string): string | undefined {
  const v = field(o, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "string") throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field .${name} of type string`);
  return v === "" ? undefined : v;
}

function optInt(o: Json, name: string, keepZero: boolean): number | undefined {
  const v = field(o, name);
  if (v === undefined || v === null) return undefined;
  if (typeof v !== "number" || !Number.isInteger(v)) throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field .${name} of type int`);
  return v === 0 && !keepZero ? undefined : v;
}

function objects(o: Json, name: string): Json[] {
  const v = field(o, name);
  if (v === undefined || v === null) return [];
  if (!Array.isArray(v)) throw new Error(`json: cannot unmarshal ${typeof v} into Go struct field .${name} of type []`);
  const out: Json[] = [];
  for (const x of v) {
    if (x === null) continue;
    if (typeof x !== "object" || Array.isArray(x)) throw new Error(`json: cannot unmarshal ${typeof x} into Go struct field .${name}`);
    out.push(x as Json);
  }
  return out;
}

function readCIDR(text: string | undefined): string {
  const n = text === undefined ? undefined : parseCIDR(text);
  if (!n) throw new Error(`invalid CIDR address: ${text ?? ""}`); // upstream text (net.ParseCIDR)
  return formatCIDR(n);
}

function readIP(text: string | undefined): string | undefined {
  if (text === undefined) return undefined;
  const ip = parseIP(text);
  if (!ip) throw new Error(`invalid IP address: ${text}`); // upstream text (net.IP.UnmarshalText)
  return formatIP(ip);
}

function readRoute(o: Json): Route {
  return goRoute(readCIDR(optString(o, "dst")), {
    gw: readIP(optString(o, "gw")),
    mtu: optInt(o, "mtu", false),
    advmss: optInt(o, "advmss", false),
    priority: optInt(o, "priority", false),
    table: optInt(o, "table", true),
    scope: optInt(o, "scope", true),
  });
}

function readDNS(o: unknown): DNS | undefined {
  if (o === undefined || o === null || typeof o !== "object") return undefined;
  const d = o as Json;
  const out: DNS = {};
  const list = (name: string) => {
    const v = field(d, name);
    return Array.isArray(v) && v.length > 0 ? v.map(String) : undefined;
  };
  const ns = list("nameservers");
  if (ns) out.nameservers = ns;
  const domain = optString(d, "domain");
  if (domain) out.domain = domain;
  const search = list("search");
  if (search) out.search = search;
  const options = list("options");
  if (options) out.options = options;
  return Object.keys(out).length > 0 ? out : undefined;
}

function readIPConfig(o: Json): IPConfig {
  const ip: IPConfig = { address: readCIDR(optString(o, "address")) };
  const iface = optInt(o, "interface", true);
  if (iface !== undefined) ip.interface = iface;
  const gw = readIP(optString(o, "gateway"));
  if (gw) ip.gateway = gw;
  return ip;
}

function readInterface(o: Json): Interface {
  const out: Interface = { name: optString(o, "name") ?? "" };
  const mac = optString(o, "mac");
  if (mac) out.mac = mac;
  const mtu = optInt(o, "mtu", false);
  if (mtu !== undefined) out.mtu = mtu;
  for (const k of ["sandbox", "socketPath", "pciID"] as const) {
    const v = optString(o, k);
    if (v) out[k] = v;
  }
  return out;
}

function read020IP(o: unknown, routes: Route[], ips: IPConfig[]): void {
  if (o === undefined || o === null || typeof o !== "object") return;
  const c = o as Json;
  const ip: IPConfig = { address: readCIDR(optString(c, "ip")) };
  const gw = readIP(optString(c, "gateway"));
  if (gw) ip.gateway = gw;
  ips.push(ip);
  // 0.2.0 -> 0.4.0 upconversion copies only dst and gw of each route (upstream convertFrom020).
  for (const r of objects(c, "routes")) {
    const full = readRoute(r);
    routes.push(full.gw ? { dst: full.dst, gw: full.gw } : { dst: full.dst });
  }
}

/** Returns a result JSON object of `version`'s shape read into the 1.1.0 shape; throws on bad addresses. */
export function readResult(o: Json, version: string): Result {
  const result: Result = { cniVersion: version };
  if (familyOf(version) === "020") {
    const ips: IPConfig[] = [];
    const routes: Route[] = [];
    read020IP(field(o, "ip4"), routes, ips);
    read020IP(field(o, "ip6"), routes, ips);
    if (ips.length) result.ips = ips;
    if (routes.length) result.routes = routes;
  } else {
    const interfaces = objects(o, "interfaces").map(readInterface);
    if (interfaces.length) result.interfaces = interfaces;
    const ips = objects(o, "ips").map(readIPConfig);
    if (ips.length) result.ips = ips;
    const routes = objects(o, "routes").map(readRoute);
    if (routes.length) result.routes = routes;
  }
  const dns = readDNS(field(o, "dns"));
  if (dns) result.dns = dns;
  return result;
}

function goStringList(list: string[]): string {
  return `[${list.join(" ")}]`;
}

/**
 * Returns a JSON result object parsed with the Go result type of `version` (the one the caller expects): its own
 * cniVersion (or `version` when it has none) must belong to the same family. Throws the Go library's error text.
 */
export function parseResultAs(o: Json, version: string): Result {
  const own = optString(o, "cniVersion") ?? version;
  const family = familyOf(version);
  if (!family) throw new Error(`unsupported CNI result version ${JSON.stringify(version)}`); // upstream text
  if (familyOf(own) !== family) {
    throw new Error(`result type supports ${goStringList(FAMILY_VERSIONS[family])} but unmarshalled CNIVersion is ${JSON.stringify(own)}`);
  }
  const r = readResult(o, own);
  return r;
}

/** Returns the config's prevResult in the 1.1.0 shape; throws `could not parse prevResult: …` as upstream. */
export function parsePrevResult(o: Json, confVersion: string): Result {
  try {
    return parseResultAs(o, confVersion || "0.1.0");
  } catch (e) {
    throw new Error(`could not parse prevResult: ${(e as Error).message}`);
  }
}

// ---------- printing ----------

function familyOf4or6(cidrOrIp: string): "4" | "6" {
  return cidrOrIp.includes(":") ? "6" : "4";
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v !== null && typeof v === "object") {
    const out: Json = {};
    for (const k of Object.keys(v).sort()) out[k] = sortKeys((v as Json)[k]);
    return out;
  }
  return v;
}

function routeTo040(r: Route): Json {
  return { ...goRoute(r.dst, r) };
}

function dnsObject(d: DNS | undefined): Json {
  const out: Json = {};
  if (d?.nameservers?.length) out.nameservers = d.nameservers;
  if (d?.domain) out.domain = d.domain;
  if (d?.search?.length) out.search = d.search;
  if (d?.options?.length) out.options = d.options;
  return out;
}

function to100(r: Result, version: string): Json {
  const out: Json = { cniVersion: version };
  if (r.interfaces?.length) out.interfaces = r.interfaces.map((i) => ({ ...i }));
  if (r.ips?.length) out.ips = r.ips.map((i) => ({ ...i }));
  if (r.routes?.length) out.routes = r.routes.map(routeTo040);
  const dns = dnsObject(r.dns);
  if (Object.keys(dns).length) out.dns = dns;
  return sortKeys(out) as Json;
}

function to040(r: Result, version: string): Json {
  const out: Json = { cniVersion: version };
  if (r.interfaces?.length) {
    out.interfaces = r.interfaces.map((i) => {
      const o: Json = { name: i.name };
      if (i.mac) o.mac = i.mac;
      if (i.sandbox) o.sandbox = i.sandbox;
      return o;
    });
  }
  if (r.ips?.length) {
    out.ips = r.ips.map((ip) => {
      const o: Json = { version: familyOf4or6(ip.address) };
      if (ip.interface !== undefined) o.interface = ip.interface;
      o.address = ip.address;
      if (ip.gateway) o.gateway = ip.gateway;
      return o;
    });
  }
  if (r.routes?.length) out.routes = r.routes.map(routeTo040);
  out.dns = dnsObject(r.dns);
  return out;
}

function to020(r: Result, version: string): Json {
  // Only the first address of each family fits; routes are filed under their family's address (upstream convertTo020).
  const first = (fam: "4" | "6") => r.ips?.find((ip) => familyOf4or6(ip.address) === fam);
  const ip4 = first("4");
  const ip6 = first("6");
  if (!ip4 && !ip6) throw new Error("cannot convert: no valid IP addresses"); // upstream text
  const block = (ip: IPConfig | undefined, fam: "4" | "6") => {
    if (!ip) return undefined;
    const o: Json = { ip: ip.address };
    if (ip.gateway) o.gateway = ip.gateway;
    const routes = (r.routes ?? []).filter((rt) => familyOf4or6(rt.dst) === fam).map((rt) => (rt.gw ? { dst: rt.dst, gw: rt.gw } : { dst: rt.dst }));
    if (routes.length) o.routes = routes;
    return o;
  };
  const out: Json = { cniVersion: version };
  const b4 = block(ip4, "4");
  if (b4) out.ip4 = b4;
  const b6 = block(ip6, "6");
  if (b6) out.ip6 = b6;
  out.dns = dnsObject(r.dns);
  return out;
}

/** Returns the JSON object of r in the shape of `version`; throws when the shape cannot hold it (0.2.0 without IPs). */
export function resultObject(r: Result, version: string): Json {
  switch (familyOf(version)) {
    case "020": return to020(r, version);
    case "040": return to040(r, version);
    case "100": return to100(r, version);
    default: throw new Error(`unsupported CNI result version ${JSON.stringify(version)}`); // upstream text
  }
}

/** Returns r printed as upstream prints results: 4-space indent, no trailing newline. */
export function formatResult(r: Result, version: string): string {
  return marshalIndent(resultObject(r, version));
}

/** Returns r as it would look after a trip through `version`'s shape and back (what an exec'd delegate yields). */
export function roundTrip(r: Result, version: string): Result {
  return readResult(resultObject(r, version), version);
}
