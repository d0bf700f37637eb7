// pkg/cni/route-decode.ts: the Go types every IPAM config and result shares, decoded as upstream's encoding/json
// decodes them: net.IP and types.Route (with its error texts), and a route printed back as Go marshals a
// types.Route. host-local and static decode their `routes` with these; result.ts prints and reads routes with goRoute.
import { formatCIDR, formatIP, parseCIDR, parseIP, type IP } from "../ip/cidr.ts";
import { DecodeError, int, isJsonObject, str, struct, typeError, type Decoder } from "./decode.ts";
import type { Route } from "./types.ts";

/** net.IP: text only; "" leaves it unset. */
export const netIP: Decoder<IP | undefined> = (v, at) => {
  if (typeof v !== "string") throw typeError(v, "net.IP", at);
  if (v === "") return undefined;
  const ip = parseIP(v);
  if (!ip) throw new DecodeError(`invalid IP address: ${v}`); // upstream text (net.ParseError)
  return ip;
};

/** The fields of a types.Route besides dst, as read (gw as canonical text). */
export type RouteFields = Omit<Route, "dst">;

/**
 * Returns the route as Go marshals a types.Route: fields in the struct's order (dst, gw, mtu, advmss, priority,
 * table, scope), an empty gw and a zero mtu, advmss or priority left out (omitempty), table and scope kept when set.
 */
export function goRoute(dst: string, f: RouteFields): Route {
  const out: Route = { dst };
  if (f.gw) out.gw = f.gw;
  if (f.mtu) out.mtu = f.mtu;
  if (f.advmss) out.advmss = f.advmss;
  if (f.priority) out.priority = f.priority;
  if (f.table !== undefined) out.table = f.table;
  if (f.scope !== undefined) out.scope = f.scope;
  return out;
}

/**
 * types.Route of an IPAM config: its UnmarshalJSON decodes a types.route, so a wrong type names that, and field
 * errors are reported under the outer struct. Returns the route in canonical text as Go prints it back.
 */
export const routeDecoder: Decoder<Route> = (v, at) => {
  if (!isJsonObject(v)) throw typeError(v, "types.route", at);
  const fields = struct(at.struct, {
    dst: str, gw: netIP, mtu: int, advmss: int, priority: int, table: int, scope: int,
  })(v, at);
  let dst = "<nil>"; // upstream quirk: a route without dst comes back with dst "<nil>"
  if (fields.dst !== undefined) {
    const n = parseCIDR(fields.dst);
    if (!n) throw new DecodeError(`invalid CIDR address: ${fields.dst}`); // upstream text
    dst = formatCIDR(n);
  }
  return goRoute(dst, { ...fields, gw: fields.gw ? formatIP(fields.gw) : undefined });
};
