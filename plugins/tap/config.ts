// plugins/tap/config.ts: the tap plugin's network config (SPEC-DIGEST §1.9), decoded with Go's rules, and the
// checks an ADD makes before it creates anything, so a bad config leaves no device and no reservation behind.
import { argString, parseCniArgs } from "../../pkg/cni/args.ts";
import { loadNetConf, netConfFields } from "../../pkg/cni/conf.ts";
import { bool, goStruct, int, str, uint32 } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import type { NetConf } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { parseGoMAC } from "../../pkg/ip/go-mac.ts";
import { formatMAC } from "../../pkg/ip/link.ts";
import type { TunTapSpec } from "../../pkg/ip/tuntap.ts";

const tapConfDecoder = goStruct("NetConf", "main.NetConf", {
  ...netConfFields,
  multiQueue: bool,
  mtu: int,
  mac: str,
  owner: uint32,
  group: uint32,
  selinuxContext: str,
  bridge: str,
  // upstream: `Args *struct{}`, so any object is accepted and its content ignored, and anything else is an error.
  args: goStruct("NetConf", "struct {}", {}),
  runtimeConfig: goStruct("", 'struct { Mac string "json:\\"mac,omitempty\\"" }', { mac: str }),
});

export interface TapConf extends NetConf {
  multiQueue: boolean;
  /** 0: the kernel's default (1500). */
  mtu: number;
  /** From `mac` < CNI_ARGS `MAC` < `runtimeConfig.mac` (lowest to highest), as written; undefined: the kernel's. */
  mac?: string;
  /** TUNSETOWNER: the uid allowed to attach to the tap without CAP_NET_ADMIN. */
  owner?: number;
  /** TUNSETGROUP: the gid allowed to attach. */
  group?: number;
  /** "": none. The SELinux label the tap is created under (selinux.ts). */
  selinuxContext: string;
  /** "": none. A bridge inside the container netns that the tap becomes a port of. */
  bridge: string;
  /** `ipam.type` is set: the tap gets addresses and routes; otherwise it is layer 2 only. */
  isLayer3: boolean;
}

/**
 * Returns stdin decoded, with the MAC taken from `mac` < CNI_ARGS `MAC` < `runtimeConfig.mac` (upstream's loadConf,
 * for every verb; STATUS passes "" for cniArgs, as upstream's only unmarshals). Throws decode errors
 * (`failed to load netconf: …`) and CNI_ARGS errors, both code 999 as upstream.
 */
export function loadConf(stdin: Uint8Array, cniArgs: string): TapConf {
  const c = loadNetConf(stdin, tapConfDecoder);
  const envMac = parseCniArgs(cniArgs, { MAC: argString }).MAC;
  // An empty value does not count (upstream tests `!= ""`).
  const runtimeMac = (c.runtimeConfig as { mac?: string } | undefined)?.mac;
  const mac = runtimeMac || envMac || c.mac || undefined;
  const { mac: _mac, runtimeConfig: _rc, ...rest } = c;
  const conf: TapConf = {
    ...rest,
    multiQueue: c.multiQueue ?? false,
    mtu: c.mtu ?? 0,
    selinuxContext: c.selinuxContext ?? "",
    bridge: c.bridge ?? "",
    isLayer3: typeof c.ipam?.type === "string" && c.ipam.type !== "",
  };
  if (mac !== undefined) conf.mac = mac;
  return conf;
}

// (uid_t)-1 and (gid_t)-1 mean "no id" to the kernel: TUNSETOWNER/TUNSETGROUP refuse them (EINVAL), and `ip tuntap`
// (upstream's path without both ids) silently leaves them out.
const NO_ID = 0xffffffff;

/**
 * Throws what an ADD would otherwise meet only while creating the tap: a bad MAC (999, upstream's text), a negative
 * MTU or an unusable owner/group (7), and a layer-2-only config under a spec version whose result needs an IP.
 * Normalises conf.mac to lowercase colon hex.
 */
export function validateForAdd(conf: TapConf): void {
  if (conf.mac !== undefined) {
    let bytes: Uint8Array;
    try {
      bytes = parseGoMAC(conf.mac);
    } catch (e) {
      throw new Error(`invalid args ${conf.mac} for MAC addr: ${(e as Error).message}`); // upstream text
    }
    // A tap is Ethernet: Go accepts 8- and 20-byte addresses too, which the kernel would cut to 6 without a word.
    if (bytes.length !== 6) throw new Error(`invalid args ${conf.mac} for MAC addr: a tap takes a 6-byte Ethernet address`);
    if ((bytes[0]! & 1) !== 0 || bytes.every((b) => b === 0)) {
      throw new Error(`invalid args ${conf.mac} for MAC addr: not a unicast Ethernet address`);
    }
    conf.mac = formatMAC(bytes);
  }
  if (conf.mtu < 0) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid MTU ${conf.mtu}`);
  for (const [field, id] of [["owner", conf.owner], ["group", conf.group]] as const) {
    if (id === NO_ID) throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid ${field} ${id}: ${NO_ID} is the kernel's "no id"`);
  }
  // A result without IPs has no 0.1.0/0.2.0 form. Upstream finds that out when it prints, after the tap is made
  // (and leaves the tap behind); refusing first leaves nothing.
  if (!conf.isLayer3 && !versionAtLeast(conf.cniVersion || "0.1.0", "0.3.0")) {
    throw new Error("cannot convert: no valid IP addresses"); // upstream text
  }
}

/**
 * Returns the TUNSETIFF request for the tap, with upstream's resulting device flags. Upstream makes the tap one of
 * two ways: with both `owner` and `group` (and no selinuxContext) through vishvananda/netlink, which asks for
 * IFF_VNET_HDR and, unless multi-queue, keeps the packet-info header (no IFF_NO_PI); otherwise through
 * `ip tuntap add mode tap`, which asks for IFF_NO_PI and no vnet header. A guest reading the tap sees the
 * difference, so ours makes the same device in each case.
 */
export function tapSpec(conf: Pick<TapConf, "multiQueue" | "owner" | "group" | "selinuxContext">, name: string): TunTapSpec {
  const viaNetlink = conf.selinuxContext === "" && conf.owner !== undefined && conf.group !== undefined;
  const spec: TunTapSpec = { name, mode: "tap", multiQueue: conf.multiQueue, vnetHdr: viaNetlink, pi: viaNetlink && !conf.multiQueue };
  if (conf.owner !== undefined) spec.owner = conf.owner;
  if (conf.group !== undefined) spec.group = conf.group;
  return spec;
}
