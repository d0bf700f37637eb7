// ipam/host-local/config.ts: the network config as host-local reads it, decoded as Go's encoding/json decodes
// upstream's allocator.Net (backend/allocator/config.go), with its error texts: only `name`, `cniVersion`, `ipam`,
// `runtimeConfig` and `args` are read, and decode errors carry no prefix, as upstream returns them bare.
import { parseCniArgs, argIP } from "../../pkg/cni/args.ts";
import { parseStdin } from "../../pkg/cni/conf.ts";
import { array, decodeRoot, DecodeError, goStruct, str, struct, typeError, type Decoder } from "../../pkg/cni/decode.ts";
import { netIP, routeDecoder } from "../../pkg/cni/route-decode.ts";
import type { Route } from "../../pkg/cni/types.ts";
import { bitsOf, parseCIDR, parseIP, type IP } from "../../pkg/ip/cidr.ts";
import type { RangeSpec, SubnetSpec } from "./range.ts";
import { filtered } from "../../pkg/sys/lists.ts";

/** What host-local takes from the config before range validation. */
export interface NetSpec {
  name: string;
  cniVersion: string;
  dataDir: string;
  resolvConf: string;
  routes: Route[];
  /** runtimeConfig.ipRanges, then the legacy range of `ipam`, then `ipam.ranges`, in that order. */
  rangeSets: (RangeSpec | undefined)[][];
  /** Requested addresses: CNI_ARGS IP, then args.cni.ips, then runtimeConfig.ips. */
  requestedIPs: IP[];
}

/** Returns the config on stdin and CNI_ARGS read as upstream's LoadIPAMConfig reads them (ranges not yet validated). */
export function loadNetSpec(stdin: Uint8Array, cniArgs: string): NetSpec {
  // A DecodeError's message is the json error, bare, as upstream returns it (the skel reports it as 999).
  const net = decodeRoot(parseStdin(stdin), netDecoder, "Net");
  const ipam = net.ipam;
  if (!ipam) throw new Error("IPAM config missing 'ipam' key"); // upstream text
  const requestedIPs = collectRequestedIPs(net, cniArgs);
  const rangeSets = [...(ipam.ranges ?? [])].map((s) => s ?? []);
  // The single range of old configs ("subnet" directly in ipam) counts only when it names a subnet.
  if (ipam.subnet) {
    rangeSets.unshift([{ subnet: ipam.subnet, rangeStart: ipam.rangeStart, rangeEnd: ipam.rangeEnd, gateway: ipam.gateway }]);
  }
  const runtimeRanges = net.runtimeConfig?.ipRanges;
  if (runtimeRanges && runtimeRanges.length > 0) rangeSets.unshift(...runtimeRanges.map((s) => s ?? []));
  return {
    name: net.name ?? "",
    cniVersion: net.cniVersion ?? "",
    dataDir: ipam.dataDir ?? "",
    resolvConf: ipam.resolvConf ?? "",
    routes: filtered(ipam.routes ?? [], (r): r is Route => r !== undefined),
    rangeSets,
    requestedIPs,
  };
}

function collectRequestedIPs(net: DecodedNet, cniArgs: string): IP[] {
  const env = parseCniArgs(cniArgs, { IP: argIP });
  const ips: (IP | undefined)[] = env.IP ? [env.IP] : [];
  ips.push(...(net.args?.cni?.ips ?? []), ...(net.runtimeConfig?.ips ?? []));
  return ips.map((ip) => {
    // A null or "" entry decodes to no address (a nil pointer upstream, which then panics): refuse it clearly.
    if (!ip) throw new Error("cannot understand ip: IP <nil> not v4 nor v6"); // upstream text
    return ip;
  });
}

// ---------- decoders: Go types and struct names as upstream declares them, for error texts ----------

/** An element of []*ip.IP (pkg/ip.IP): `ip` or `ip/prefix`; "" decodes to no address. */
const ipArg: Decoder<IP | undefined> = (v, at) => {
  if (typeof v !== "string") throw typeError(v, "*ip.IP", at);
  if (v === "") return undefined;
  const ip = v.includes("/") ? parseCIDR(v)?.ip : parseIP(v);
  if (!ip) throw new DecodeError(`invalid IP address ${v}`); // upstream text (pkg/ip.IP.UnmarshalText)
  return ip;
};

/** types.IPNet: its UnmarshalJSON decodes a string, so a wrong type reports `of type string`. */
const subnet: Decoder<SubnetSpec> = (v, at) => parseSubnet(str(v, at));

/** Returns a subnet as Go's net.ParseCIDR reads it, host bits kept; throws upstream's text when it is not one. */
export function parseSubnet(s: string): SubnetSpec {
  const slash = s.indexOf("/");
  const addrText = s.slice(0, Math.max(slash, 0));
  const n = parseCIDR(s);
  // "::ffff:a.b.c.d/n" is IPv4 with a 128-bit mask to Go; canonicalisation rejects it, with its own text.
  const mapped = slash >= 0 && addrText.includes(":") && parseIP(addrText)?.family === 4;
  if (n && !mapped) return { ip: n.ip, ones: n.prefix, bits: bitsOf(n.ip.family) };
  const len = s.slice(slash + 1);
  if (mapped && /^[0-9]{1,3}$/.test(len) && Number(len) <= 128) return { ip: parseIP(addrText)!, ones: Number(len), bits: 128 };
  throw new DecodeError(`invalid CIDR address: ${s}`); // upstream text (net.ParseCIDR)
}

const rangeFields = { rangeStart: netIP, rangeEnd: netIP, subnet, gateway: netIP };
const rangeDecoder = goStruct("Range", "allocator.Range", rangeFields);
const rangeSetDecoder = array(rangeDecoder, "allocator.RangeSet");
const rangeSetsDecoder = array(rangeSetDecoder, "[]allocator.RangeSet");

const ipamDecoder = goStruct("IPAMConfig", "allocator.IPAMConfig", {
  ...rangeFields, // the embedded *Range of old single-range configs
  Name: str, // untagged upstream field: "name" inside ipam decodes into it (then gets overwritten)
  type: str,
  routes: array(routeDecoder, "[]*types.Route"),
  dataDir: str,
  resolvConf: str,
  ranges: rangeSetsDecoder,
});

const ipArgs = array(ipArg, "[]*ip.IP");

const netDecoder = struct("Net", {
  name: str,
  cniVersion: str,
  ipam: ipamDecoder,
  runtimeConfig: goStruct(
    "",
    'struct { IPRanges []allocator.RangeSet "json:\\"ipRanges,omitempty\\""; IPs []*ip.IP "json:\\"ips,omitempty\\"" }',
    { ipRanges: rangeSetsDecoder, ips: ipArgs },
  ),
  args: goStruct("", 'struct { A *allocator.IPAMArgs "json:\\"cni\\"" }', {
    cni: goStruct("IPAMArgs", "allocator.IPAMArgs", { ips: ipArgs }),
  }),
});

type DecodedNet = ReturnType<typeof netDecoder>;
