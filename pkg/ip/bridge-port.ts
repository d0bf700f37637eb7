// pkg/ip/bridge-port.ts: what a link enslaved to a Linux bridge carries as a bridge port: the hairpin and isolated
// port flags (RTM_SETLINK, AF_BRIDGE, IFLA_PROTINFO, as `bridge link set` and vishvananda's LinkSetHairpin send
// them), the port's VLAN entries (RTM_SETLINK/RTM_DELLINK with IFLA_AF_SPEC, as `bridge vlan add|del`), the VLAN
// dump (`bridge vlan show`), and the port flags read back from a link's IFLA_INFO_SLAVE_DATA. Encoders are pure
// functions, byte-tested against iproute2.
import {
  AF_BRIDGE, IFINFOMSG_LEN, IFLA_EXT_MASK, IFLA_INFO_SLAVE_DATA, IFLA_INFO_SLAVE_KIND, IFLA_LINKINFO,
  NLA_F_NESTED, NLM_F_ACK, NLM_F_DUMP, NLM_F_REQUEST, RTEXT_FILTER_BRVLAN, RTM_DELLINK, RTM_GETLINK, RTM_SETLINK,
} from "./nl/consts.ts";
import { NetlinkParseError, parseAttrList, parseAttrs, readIfInfoMsg, readStrz, readU8 } from "./nl/reader.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";
import { encodeGetLinkByIndex } from "./link.ts";

// enum IFLA_*, <linux/if_link.h>: the bridge-port and per-family attributes of an RTM_*LINK message.
const IFLA_PROTINFO = 12;
const IFLA_AF_SPEC = 26;

// enum IFLA_BRPORT_*, <linux/if_link.h>: inside IFLA_PROTINFO (AF_BRIDGE) and IFLA_INFO_SLAVE_DATA ("bridge").
const IFLA_BRPORT_MODE = 4; // hairpin
const IFLA_BRPORT_ISOLATED = 33;

// <linux/if_bridge.h>: inside IFLA_AF_SPEC of an AF_BRIDGE message.
const IFLA_BRIDGE_FLAGS = 0;
const IFLA_BRIDGE_VLAN_INFO = 2;
const BRIDGE_FLAGS_MASTER = 1;
const BRIDGE_FLAGS_SELF = 2;

/** BRIDGE_VLAN_INFO_*, <linux/if_bridge.h>: struct bridge_vlan_info flags. */
export const BRIDGE_VLAN_INFO_MASTER = 0x1;
export const BRIDGE_VLAN_INFO_PVID = 0x2;
export const BRIDGE_VLAN_INFO_UNTAGGED = 0x4;
export const BRIDGE_VLAN_INFO_RANGE_BEGIN = 0x8;
export const BRIDGE_VLAN_INFO_RANGE_END = 0x10;
export const BRIDGE_VLAN_INFO_BRENTRY = 0x20;

// struct bridge_vlan_info, <linux/if_bridge.h>: 4 bytes (u16 flags, u16 vid)
const BRIDGE_VLAN_INFO_LEN = 4;

// ---- port flags ---------------------------------------------------------------------------------------------

// RTM_SETLINK, AF_BRIDGE, ifindex, IFLA_PROTINFO|NLA_F_NESTED { attr: u8 } (iproute2's `bridge link set` nests
// with NLA_F_NESTED, and so does vishvananda's setProtinfoAttr).
function encodeSetPortFlag(seq: number, index: number, attr: number, on: boolean): Uint8Array {
  const w = new NlWriter(RTM_SETLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_BRIDGE, index });
  const nest = w.beginNest(IFLA_PROTINFO | NLA_F_NESTED);
  w.u8(attr, on ? 1 : 0);
  w.endNest(nest);
  return w.finish();
}

/** Returns RTM_SETLINK turning a bridge port's hairpin mode on or off (`bridge link set dev DEV hairpin on|off`). */
export function encodeSetPortHairpin(seq: number, index: number, on: boolean): Uint8Array {
  return encodeSetPortFlag(seq, index, IFLA_BRPORT_MODE, on);
}

/** Returns RTM_SETLINK turning a bridge port's isolated flag on or off (`bridge link set dev DEV isolated on|off`). */
export function encodeSetPortIsolated(seq: number, index: number, on: boolean): Uint8Array {
  return encodeSetPortFlag(seq, index, IFLA_BRPORT_ISOLATED, on);
}

/** Sets hairpin mode on a bridge port; throws NetlinkError (EOPNOTSUPP when the link is no bridge port). */
export function setPortHairpin(sock: NetlinkSocket, index: number, on: boolean): void {
  sock.request(encodeSetPortHairpin(sock.nextSeq(), index, on));
}

/** Sets the isolated flag on a bridge port; throws NetlinkError (EOPNOTSUPP when the link is no bridge port). */
export function setPortIsolated(sock: NetlinkSocket, index: number, on: boolean): void {
  sock.request(encodeSetPortIsolated(sock.nextSeq(), index, on));
}

/** A bridge port's flags as the kernel reports them in IFLA_INFO_SLAVE_DATA. */
export interface BridgePortFlags {
  hairpin: boolean;
  isolated: boolean;
}

/**
 * Returns the bridge-port flags in an RTM_NEWLINK payload, or undefined when the link is not a bridge port (no
 * IFLA_INFO_SLAVE_KIND "bridge"); throws NetlinkParseError on malformed attributes.
 */
export function parseBridgePortFlags(payload: Uint8Array): BridgePortFlags | undefined {
  const info = parseAttrs(payload, IFINFOMSG_LEN).get(IFLA_LINKINFO);
  if (!info) return undefined;
  const ia = parseAttrs(info);
  if (!ia.has(IFLA_INFO_SLAVE_KIND) || readStrz(ia.get(IFLA_INFO_SLAVE_KIND), "IFLA_INFO_SLAVE_KIND") !== "bridge") return undefined;
  const data = parseAttrs(ia.get(IFLA_INFO_SLAVE_DATA) ?? new Uint8Array(0));
  const flag = (type: number, name: string) => data.has(type) && readU8(data.get(type), name) !== 0;
  return { hairpin: flag(IFLA_BRPORT_MODE, "IFLA_BRPORT_MODE"), isolated: flag(IFLA_BRPORT_ISOLATED, "IFLA_BRPORT_ISOLATED") };
}

/** Returns a link's bridge-port flags, or undefined when it is not a bridge port; throws NetlinkError (ENODEV). */
export function getPortFlags(sock: NetlinkSocket, index: number): BridgePortFlags | undefined {
  return parseBridgePortFlags(sock.query(encodeGetLinkByIndex(sock.nextSeq(), index)));
}

// ---- VLAN entries -------------------------------------------------------------------------------------------

/** One VLAN entry of a bridge port (or of the bridge itself). */
export interface BridgeVlan {
  vid: number;
  /** This VLAN is the port's PVID: untagged ingress goes to it. */
  pvid?: boolean;
  /** Egress leaves untagged. */
  untagged?: boolean;
}

/** Where a VLAN entry lives: on the bridge port (`master`, the usual case) or on the device itself (`self`). */
export type VlanTarget = "master" | "self";

function vlanFlags(v: BridgeVlan): number {
  return (v.pvid ? BRIDGE_VLAN_INFO_PVID : 0) | (v.untagged ? BRIDGE_VLAN_INFO_UNTAGGED : 0);
}

// RTM_SETLINK (add) or RTM_DELLINK (del), AF_BRIDGE, ifindex, IFLA_AF_SPEC { IFLA_BRIDGE_FLAGS u16,
// IFLA_BRIDGE_VLAN_INFO {u16 flags, u16 vid} }. iproute2's nest has no NLA_F_NESTED here, nor has vishvananda's.
function encodeVlan(type: number, seq: number, index: number, vlan: BridgeVlan, target: VlanTarget): Uint8Array {
  if (!Number.isInteger(vlan.vid) || vlan.vid < 1 || vlan.vid > 4094) throw new RangeError(`invalid VLAN ID ${vlan.vid}`);
  const w = new NlWriter(type, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_BRIDGE, index });
  const spec = w.beginNest(IFLA_AF_SPEC);
  w.u16(IFLA_BRIDGE_FLAGS, target === "master" ? BRIDGE_FLAGS_MASTER : BRIDGE_FLAGS_SELF);
  const info = new Uint8Array(BRIDGE_VLAN_INFO_LEN);
  const v = new DataView(info.buffer);
  v.setUint16(0, vlanFlags(vlan), true);
  v.setUint16(2, vlan.vid, true);
  w.bytes(IFLA_BRIDGE_VLAN_INFO, info);
  w.endNest(spec);
  return w.finish();
}

/** Returns RTM_SETLINK adding a VLAN entry (`bridge vlan add dev DEV vid N [pvid] [untagged] master|self`). */
export function encodeAddBridgeVlan(seq: number, index: number, vlan: BridgeVlan, target: VlanTarget = "master"): Uint8Array {
  return encodeVlan(RTM_SETLINK, seq, index, vlan, target);
}

/** Returns RTM_DELLINK deleting a VLAN entry (`bridge vlan del dev DEV vid N master|self`). */
export function encodeDelBridgeVlan(seq: number, index: number, vlan: BridgeVlan, target: VlanTarget = "master"): Uint8Array {
  return encodeVlan(RTM_DELLINK, seq, index, vlan, target);
}

/** Adds a VLAN entry to a port; throws NetlinkError (EOPNOTSUPP on kernels without bridge VLAN filtering). */
export function addBridgeVlan(sock: NetlinkSocket, index: number, vlan: BridgeVlan, target: VlanTarget = "master"): void {
  sock.request(encodeAddBridgeVlan(sock.nextSeq(), index, vlan, target));
}

/** Deletes a VLAN entry from a port; throws NetlinkError. */
export function delBridgeVlan(sock: NetlinkSocket, index: number, vlan: BridgeVlan, target: VlanTarget = "master"): void {
  sock.request(encodeDelBridgeVlan(sock.nextSeq(), index, vlan, target));
}

/** Returns the AF_BRIDGE RTM_GETLINK dump asking for every port's VLANs uncompressed (`bridge vlan show`). */
export function encodeListBridgeVlans(seq: number): Uint8Array {
  const w = new NlWriter(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.ifinfomsg({ family: AF_BRIDGE });
  w.u32(IFLA_EXT_MASK, RTEXT_FILTER_BRVLAN);
  return w.finish();
}

/** A VLAN entry as the kernel reports it: the entry plus its raw BRIDGE_VLAN_INFO_* flags. */
export interface BridgeVlanInfo extends BridgeVlan {
  flags: number;
}

/**
 * Returns the ifindex and VLAN entries in one message of the VLAN dump (AF_BRIDGE RTM_NEWLINK), or undefined for a
 * message of another family. A range (RANGE_BEGIN … RANGE_END) comes back one entry per VID. Throws
 * NetlinkParseError on malformed attributes.
 */
export function parseBridgeVlans(payload: Uint8Array): { index: number; vlans: BridgeVlanInfo[] } | undefined {
  const hdr = readIfInfoMsg(payload);
  if (hdr.family !== AF_BRIDGE) return undefined;
  const spec = parseAttrs(payload, IFINFOMSG_LEN).get(IFLA_AF_SPEC);
  const vlans: BridgeVlanInfo[] = [];
  let rangeStart: { flags: number; vid: number } | undefined;
  for (const [type, value] of spec ? parseAttrList(spec) : []) {
    if (type !== IFLA_BRIDGE_VLAN_INFO) continue;
    if (value.length < BRIDGE_VLAN_INFO_LEN) {
      throw new NetlinkParseError(`IFLA_BRIDGE_VLAN_INFO: ${value.length} bytes, want ${BRIDGE_VLAN_INFO_LEN}`);
    }
    const v = new DataView(value.buffer, value.byteOffset, value.byteLength);
    const flags = v.getUint16(0, true);
    const vid = v.getUint16(2, true);
    if (flags & BRIDGE_VLAN_INFO_RANGE_BEGIN) {
      rangeStart = { flags, vid };
      continue;
    }
    const from = flags & BRIDGE_VLAN_INFO_RANGE_END && rangeStart ? rangeStart.vid : vid;
    rangeStart = undefined;
    const plain = flags & ~(BRIDGE_VLAN_INFO_RANGE_BEGIN | BRIDGE_VLAN_INFO_RANGE_END);
    for (let id = from; id <= vid; id++) {
      vlans.push({
        vid: id,
        flags: plain,
        pvid: (plain & BRIDGE_VLAN_INFO_PVID) !== 0,
        untagged: (plain & BRIDGE_VLAN_INFO_UNTAGGED) !== 0,
      });
    }
  }
  return { index: hdr.index, vlans };
}

/** Returns every link's VLAN entries in the socket's netns, keyed by ifindex (links without any are left out). */
export function listBridgeVlans(sock: NetlinkSocket): Map<number, BridgeVlanInfo[]> {
  const out = new Map<number, BridgeVlanInfo[]>();
  for (const payload of sock.dump(encodeListBridgeVlans(sock.nextSeq()))) {
    const entry = parseBridgeVlans(payload);
    if (!entry || entry.vlans.length === 0) continue;
    out.set(entry.index, [...(out.get(entry.index) ?? []), ...entry.vlans]);
  }
  return out;
}
