// ipam/static/config.ts: the network config as static reads it, decoded as Go's encoding/json decodes upstream's Net
// (plugins/ipam/static/main.go), with LoadIPAMConfig's address sources applied in its order and with its texts.
// Decode errors carry no prefix, as upstream returns them bare.
import { argString, parseCniArgs } from "../../pkg/cni/args.ts";
import { dnsDecoder, netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import {
  array, decodeRoot, goStruct, isJsonObject, str, struct, typeError, uint8, type Decoder,
} from "../../pkg/cni/decode.ts";
import { netIP, routeDecoder } from "../../pkg/cni/route-decode.ts";
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { validAttachmentsField } from "../../pkg/cni/valid-attachments.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { parseIP, type IP } from "../../pkg/ip/cidr.ts";
import { decodeStdBase64 } from "./base64.ts";
import { goContains, parseGoCIDR, type GoIPNet } from "./ip-net.ts";

/** One address static returns: the IP with its mask (printed as Go prints a net.IPNet) and an optional gateway. */
export interface Address {
  net: GoIPNet & { ip: IP };
  gateway?: IP;
}

/** static's config, with every address source applied and every address parsed. */
export interface StaticConf {
  name: string;
  cniVersion: string;
  addresses: Address[];
  routes: Route[];
  dns: DNS;
}

/** An entry of upstream's n.IPAM.Addresses while LoadIPAMConfig works on it: its text, and its net once parsed. */
interface Entry {
  text: string;
  net: GoIPNet;
  gateway?: IP;
}

/**
 * Returns the config on stdin with CNI_ARGS applied, as upstream's LoadIPAMConfig builds it: config `addresses`,
 * then CNI_ARGS `IP` appended and `GATEWAY` assigned, then `args.cni.ips` replacing all, then `runtimeConfig.ips`
 * replacing all; only then are the config's own address texts parsed. Throws upstream's texts.
 */
export function loadConf(stdin: Uint8Array, cniArgs: string): StaticConf {
  const net = decodeRoot(parseStdin(stdin), netDecoder, "Net");
  const ipam = net.ipam;
  if (!ipam) throw new Error("IPAM config missing 'ipam' key"); // upstream text

  // A null entry is a zero Address upstream: no text, so it fails below as an empty CIDR.
  let entries: Entry[] = (ipam.addresses ?? []).map((a) => ({
    text: a?.address ?? "",
    net: { ip: a?.Address?.IP, mask: a?.Address?.Mask },
    gateway: a?.gateway,
  }));
  applyEnvArgs(entries, cniArgs);
  const argIPs = net.args?.cni?.ips ?? [];
  if (argIPs.length > 0) entries = argIPs.map(ipsEntry);
  const runtimeIPs = net.runtimeConfig?.ips ?? [];
  if (runtimeIPs.length > 0) entries = runtimeIPs.map(ipsEntry);

  const addresses = entries.map((e): Address => {
    // Only entries without an IP yet are parsed: the config's own, unless `"Address": {"IP": …}` set one.
    if (e.net.ip) return { net: { ...e.net, ip: e.net.ip }, gateway: e.gateway };
    const parsed = parseGoCIDR(e.text);
    if (!parsed) throw new Error(`the 'address' field is expected to be in CIDR notation, got: '${e.text}'`); // upstream text
    return { net: parsed, gateway: e.gateway };
  });

  const cniVersion = net.cniVersion ?? "";
  const count = (family: 4 | 6) => addresses.filter((a) => a.net.ip.family === family).length;
  if ((count(4) > 1 || count(6) > 1) && !isAtLeast030(cniVersion)) {
    throw new Error(`CNI version ${cniVersion} does not support more than 1 address per family`); // upstream text
  }
  return {
    name: net.name ?? "",
    cniVersion,
    addresses,
    routes: (ipam.routes ?? []).filter((r): r is Route => r !== undefined),
    dns: nonNullDNS(ipam.dns ?? {}),
  };
}

function isAtLeast030(version: string): boolean {
  try {
    return versionAtLeast(version, "0.3.0");
  } catch {
    return false; // upstream ignores the parse error and takes it as "no"
  }
}

/** An entry of `args.cni.ips` or `runtimeConfig.ips` (a null entry is "" upstream). */
function ipsEntry(text: string | undefined): Entry {
  const t = text ?? "";
  const net = parseGoCIDR(t);
  if (!net) throw new Error(`an entry in the 'ips' field is NOT in CIDR notation, got: '${t}'`); // upstream text
  return { text: t, net };
}

// upstream quirk: LoadArgs finds the embedded types.CommonArgs by its field name too, and refuses it at that pair
// with a bare error. Its parser here throws that text; parseCniArgs wraps it as a value error, so it is unwrapped.
const COMMON_ARGS = "ARGS: cannot unmarshal into field 'CommonArgs' - type '*types.CommonArgs' does not implement encoding.TextUnmarshaler"; // upstream text

/** Appends CNI_ARGS `IP` addresses to entries and gives each `GATEWAY` to every entry whose net contains it. */
function applyEnvArgs(entries: Entry[], cniArgs: string): void {
  let env;
  try {
    env = parseCniArgs(cniArgs, { IP: argString, GATEWAY: argString, CommonArgs: () => { throw new Error(COMMON_ARGS); } });
  } catch (e) {
    if ((e as Error).message.endsWith(COMMON_ARGS)) throw new Error(COMMON_ARGS);
    throw e;
  }
  if (env.IP) {
    for (const item of env.IP.split(",")) {
      const text = item.trim();
      const net = parseGoCIDR(text);
      if (!net) throw new Error(`the 'ip' field is expected to be in CIDR notation, got: '${text}'`); // upstream text
      entries.push({ text, net });
    }
  }
  if (env.GATEWAY) {
    for (const item of env.GATEWAY.split(",")) {
      const gw = parseIP(item.trim());
      if (!gw) throw new Error(`invalid gateway address: ${item}`); // upstream text (the item untrimmed)
      // upstream quirk: the config's own addresses are not parsed yet, so only CNI_ARGS IPs (and a config entry
      // given as `"Address": {"IP": …, "Mask": …}`) can take a gateway from here.
      for (const e of entries) if (goContains(e.net, gw)) e.gateway = gw;
    }
  }
}

/** Returns dns with null list entries as "" (Go decodes them as zero strings). */
function nonNullDNS(d: { nameservers?: (string | undefined)[]; domain?: string; search?: (string | undefined)[]; options?: (string | undefined)[] }): DNS {
  const out: DNS = {};
  const list = (l: (string | undefined)[] | undefined) => l?.map((s) => s ?? "");
  if (d.nameservers) out.nameservers = list(d.nameservers);
  if (d.domain !== undefined) out.domain = d.domain;
  if (d.search) out.search = list(d.search);
  if (d.options) out.options = list(d.options);
  return out;
}

// ---------- decoders: Go types and struct names as upstream declares them, for error texts ----------

/** net.IPMask, a []byte: base64 text, or an array of bytes. */
const netIPMask: Decoder<Uint8Array> = (v, at) => {
  if (typeof v === "string") return decodeStdBase64(v); // encoding/json returns base64's error as it is
  if (Array.isArray(v)) return Uint8Array.from(v.map((b) => (b === null ? 0 : uint8(b, at))));
  throw typeError(v, "net.IPMask", at);
};

/** types.DNS, a struct value: a wrong JSON type names the Go type. */
const typesDNS: Decoder<ReturnType<typeof dnsDecoder>> = (v, at) => {
  if (!isJsonObject(v)) throw typeError(v, "types.DNS", at);
  return dnsDecoder(v, at);
};

const addressDecoder = goStruct("Address", "main.Address", {
  address: str,
  gateway: netIP,
  // The untagged net.IPNet field: JSON key "Address" exactly (a case-folded "ADDRESS" goes to "address", first).
  Address: goStruct("IPNet", "net.IPNet", { IP: netIP, Mask: netIPMask }),
  Version: str, // untagged and unused, but still decoded
});

const ipamDecoder = goStruct("IPAMConfig", "main.IPAMConfig", {
  Name: str, // untagged upstream field: "name" inside ipam decodes into it (then gets overwritten)
  type: str,
  routes: array(routeDecoder, "[]*types.Route"),
  addresses: array(addressDecoder, "[]main.Address"),
  dns: typesDNS,
});

const ipList = array(str, "[]string");

const netDecoder = struct("Net", {
  name: str,
  cniVersion: str,
  ipam: ipamDecoder,
  runtimeConfig: goStruct("", 'struct { IPs []string "json:\\"ips,omitempty\\"" }', { ips: ipList }),
  args: goStruct("", 'struct { A *main.IPAMArgs "json:\\"cni\\"" }', {
    cni: goStruct("IPAMArgs", "main.IPAMArgs", { ips: ipList }),
  }),
});

/** types.NetConf of CNI lib 1.3.0, which CHECK decodes a second time to find prevResult. */
export const netConfDecoder = struct("NetConf", {
  ...netConfFields,
  dns: typesDNS,
  "cni.dev/valid-attachments": validAttachmentsField,
});
