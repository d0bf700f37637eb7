// meta/flannel/delegate-conf.ts: the config flannel hands its delegate (SPEC-DIGEST §4 "ADD"), rendered as upstream's
// cmdAdd/doCmdAdd/getDelegateIPAM render it: the user's `delegate` dictionary, completed from the network config
// and subnet.env, with an IPAM section whose ranges are this node's subnets and whose routes reach the cluster.
import { DecodeError, isJsonObject, parseJSON, typeError } from "../../pkg/cni/decode.ts";
import { routeDecoder } from "../../pkg/cni/route-decode.ts";
import { formatCIDR, type IPNet } from "../../pkg/ip/cidr.ts";
import { GoStruct, goMarshal } from "./go-marshal.ts";
import type { SubnetEnv } from "./subnet-env.ts";

/** What rendering needs of flannel's own config (the maps exactly as decoded, numbers as float64). */
export interface RenderInput {
  name: string;
  cniVersion: string;
  ipam?: Record<string, unknown>;
  delegate?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
}

/**
 * Returns the delegate's config as a Go map (routes as types.Route structs), ready for goMarshal. Throws upstream's
 * errors for a `delegate` dictionary that sets what flannel sets, or `ipam.routes` that do not decode.
 */
export function renderDelegate(conf: RenderInput, env: SubnetEnv): Record<string, unknown> {
  const d: Record<string, unknown> = { ...conf.delegate };
  // Keys are looked up exactly, as in a Go map: "Type" or "Name" are other keys, passed through untouched.
  if (Object.hasOwn(d, "type") && typeof d.type !== "string") {
    throw new Error("'delegate' dictionary, if present, must have (string) 'type' field"); // upstream text
  }
  if (Object.hasOwn(d, "name")) throw new Error("'delegate' dictionary must not have 'name' field, it'll be set by flannel"); // upstream text
  if (Object.hasOwn(d, "ipam")) throw new Error("'delegate' dictionary must not have 'ipam' field, it'll be set by flannel"); // upstream text
  if (conf.runtimeConfig) d.runtimeConfig = conf.runtimeConfig;

  d.name = conf.name;
  if (!Object.hasOwn(d, "type")) d.type = "bridge";
  // If flanneld does not masquerade, the delegate should.
  if (!Object.hasOwn(d, "ipMasq")) d.ipMasq = !env.ipMasq;
  if (!Object.hasOwn(d, "mtu")) d.mtu = env.mtu;
  if (d.type === "bridge" && !Object.hasOwn(d, "isGateway")) d.isGateway = true;
  if (conf.cniVersion !== "") d.cniVersion = conf.cniVersion;
  try {
    d.ipam = delegateIPAM(conf.ipam, env);
  } catch (e) {
    throw new Error(`failed to assemble Delegate IPAM: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  return d;
}

/** The input `ipam` (or {}) with type defaulting to host-local, `ranges` replaced, the cluster routes appended. */
function delegateIPAM(input: Record<string, unknown> | undefined, env: SubnetEnv): Record<string, unknown> {
  const ipam: Record<string, unknown> = { ...input };
  if (!Object.hasOwn(ipam, "type")) ipam.type = "host-local";
  const ranges: Record<string, string>[][] = [];
  if (env.subnet) ranges.push([{ subnet: formatCIDR(env.subnet) }]);
  if (env.ip6Subnet) ranges.push([{ subnet: formatCIDR(env.ip6Subnet) }]);
  ipam.ranges = ranges;
  let routes: GoStruct[];
  try {
    routes = input && Object.hasOwn(input, "routes") ? decodeRoutes(input.routes) : [];
  } catch (e) {
    throw new Error(`failed to read IPAM routes: failed to parse ipam.routes: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  for (const n of [...env.networks, ...env.ip6Networks]) routes.push(clusterRoute(n));
  ipam.routes = routes;
  return ipam;
}

function clusterRoute(n: IPNet): GoStruct {
  return new GoStruct({ dst: formatCIDR(n) });
}

/**
 * upstream's getIPAMRoutes: the generic value is marshalled and decoded again as []types.Route, so 1500.0 is an
 * integer by then, unknown keys drop out and every route comes back in types.Route's own field order.
 */
function decodeRoutes(v: unknown): GoStruct[] {
  const again = parseJSON(goMarshal(v));
  if (again === null) return [];
  if (!Array.isArray(again)) throw typeError(again, "[]types.Route", { struct: "", fields: [] });
  // Each element goes through Route.UnmarshalJSON: a fresh decode of a types.route, so errors name "route.<field>".
  // upstream quirk: null decodes to a zero route, which prints its dst as "<nil>".
  return again.map((r) => {
    if (r === null) return new GoStruct({ dst: "<nil>" });
    // types.IPNet's UnmarshalJSON is called even for null, and "" is no CIDR.
    if (isJsonObject(r) && Object.entries(r).some(([k, x]) => k.toLowerCase() === "dst" && x === null)) {
      throw new DecodeError("invalid CIDR address: "); // upstream text
    }
    return new GoStruct({ ...routeDecoder(r, { struct: "route", fields: [] }) });
  });
}
