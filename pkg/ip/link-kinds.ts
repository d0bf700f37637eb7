// pkg/ip/link-kinds.ts: the link kinds addLink (link.ts) creates and parseLink reads back: each kind's spec type,
// one small IFLA_INFO_DATA encoder and one reader, in tables keyed by kind (no switch). A new kind adds its spec to
// LinkSpec, its encoder to LINK_KINDS and, when it has options worth reading back, a reader to LINK_KIND_READERS.
//
// TUN/TAP is the exception: the kernel refuses RTM_NEWLINK for kind "tun" (tun_validate answers EOPNOTSUPP, "tun/tap
// creation via rtnetlink is not supported."), so createTunTap in tuntap.ts makes them with the TUNSETIFF ioctl. They
// read back here like any other kind ("tun", with the IFLA_TUN_* fields) and are deleted with delLink.
import {
  AF_UNSPEC, IFLA_BR_VLAN_DEFAULT_PVID, IFLA_BR_VLAN_FILTERING, IFLA_INFO_DATA, IFLA_IPVLAN_FLAGS, IFLA_IPVLAN_MODE,
  IFLA_MACVLAN_BC_QUEUE_LEN, IFLA_MACVLAN_MODE, IFLA_TUN_GROUP, IFLA_TUN_MULTI_QUEUE, IFLA_TUN_OWNER, IFLA_TUN_PERSIST,
  IFLA_TUN_PI, IFLA_TUN_TYPE, IFLA_TUN_VNET_HDR, IFLA_VLAN_ID, IFLA_VRF_TABLE, IFF_TAP, IFF_TUN, IPVLAN_F_PRIVATE, IPVLAN_F_VEPA,
  IPVLAN_MODE_L2, IPVLAN_MODE_L3, IPVLAN_MODE_L3S, MACVLAN_MODE_BRIDGE, MACVLAN_MODE_PASSTHRU, MACVLAN_MODE_PRIVATE,
  MACVLAN_MODE_SOURCE, MACVLAN_MODE_VEPA, VETH_INFO_PEER,
} from "./nl/consts.ts";
import { readU16, readU32, readU8 } from "./nl/reader.ts";
import type { NlWriter } from "./nl/writer.ts";

/** macvlan/macvtap modes, <linux/if_link.h> MACVLAN_MODE_*. */
export type MacvlanMode = "private" | "vepa" | "bridge" | "passthru" | "source";
const MACVLAN_MODES: Readonly<Record<MacvlanMode, number>> = {
  private: MACVLAN_MODE_PRIVATE, vepa: MACVLAN_MODE_VEPA, bridge: MACVLAN_MODE_BRIDGE, passthru: MACVLAN_MODE_PASSTHRU,
  source: MACVLAN_MODE_SOURCE,
};

/** ipvlan modes and flags, <linux/if_link.h> IPVLAN_MODE_* and IPVLAN_F_* ("bridge" is no flag bit, i.e. 0). */
export type IpvlanMode = "l2" | "l3" | "l3s";
export type IpvlanFlag = "bridge" | "private" | "vepa";
const IPVLAN_MODES: Readonly<Record<IpvlanMode, number>> = { l2: IPVLAN_MODE_L2, l3: IPVLAN_MODE_L3, l3s: IPVLAN_MODE_L3S };
const IPVLAN_FLAGS: Readonly<Record<IpvlanFlag, number>> = { bridge: 0, private: IPVLAN_F_PRIVATE, vepa: IPVLAN_F_VEPA };

/** A tun device carries IP packets (IFF_TUN), a tap device Ethernet frames (IFF_TAP), <linux/if_tun.h>. */
export type TunMode = "tun" | "tap";
/** IFLA_TUN_TYPE's value, and TUNSETIFF's type bit, for each mode. */
export const TUN_MODES: Readonly<Record<TunMode, number>> = { tun: IFF_TUN, tap: IFF_TAP };

// ---- creating ---------------------------------------------------------------------------------------------------

/** What every new link may carry, whatever its kind. */
export interface LinkBase {
  name: string;
  mtu?: number;
  /** Colon hex. */
  mac?: string;
  txqlen?: number;
  masterIndex?: number;
  /** An fd of the netns to create the link in (IFLA_NET_NS_FD). */
  netnsFd?: number;
  /** IFLA_LINK: the lower device (vlan, macvlan, ipvlan). */
  parentIndex?: number;
}

export interface DummySpec extends LinkBase { kind: "dummy" }

export interface IfbSpec extends LinkBase { kind: "ifb" }

export interface VethSpec extends LinkBase {
  kind: "veth";
  /** The peer's own name, mtu, mac and netns; it has no lower device. */
  peer: Omit<LinkBase, "parentIndex">;
}

export interface BridgeSpec extends LinkBase {
  kind: "bridge";
  /** IFLA_BR_VLAN_FILTERING; left out when undefined (kernels without CONFIG_BRIDGE_VLAN_FILTERING refuse it). */
  vlanFiltering?: boolean;
  /** IFLA_BR_VLAN_DEFAULT_PVID. */
  vlanDefaultPvid?: number;
}

interface MacvlanOptions extends LinkBase {
  /** The lower device, in the socket's netns. */
  parentIndex: number;
  mode: MacvlanMode;
  /** IFLA_MACVLAN_BC_QUEUE_LEN: the broadcast/multicast queue length. */
  bcqueuelen?: number;
}
export interface MacvlanSpec extends MacvlanOptions { kind: "macvlan" }
export interface MacvtapSpec extends MacvlanOptions { kind: "macvtap" }

export interface IpvlanSpec extends LinkBase {
  kind: "ipvlan";
  parentIndex: number;
  mode: IpvlanMode;
  /** Default "bridge" (0); IFLA_IPVLAN_FLAGS is always sent, as iproute2 and vishvananda do. */
  flags?: IpvlanFlag;
}

export interface VlanSpec extends LinkBase {
  kind: "vlan";
  parentIndex: number;
  /** 0-4094. */
  vlanId: number;
}

export interface VrfSpec extends LinkBase {
  kind: "vrf";
  /** The routing table the vrf binds its enslaved links to. */
  table: number;
}

/** Every kind encodeNewLink knows; a new kind adds its spec here and its encoder to LINK_KINDS. (tun/tap: tuntap.ts.) */
export type LinkSpec = DummySpec | IfbSpec | VethSpec | BridgeSpec | MacvlanSpec | MacvtapSpec | IpvlanSpec | VlanSpec | VrfSpec;

/**
 * Writes a LinkBase (ifname, mtu, address, ...) after an ifinfomsg. link.ts owns it (it parses MAC text) and hands
 * it in, so a kind whose data holds a whole link (the veth peer) can write one without this file importing link.ts.
 */
export type LinkBaseWriter = (w: NlWriter, base: LinkBase) => void;

type KindEncoder<S> = (w: NlWriter, spec: S, writeBase: LinkBaseWriter) => void;

// Writes IFLA_INFO_DATA around body (iproute2 sends the nest only when the kind has options).
function infoData(w: NlWriter, body: () => void): void {
  const data = w.beginNest(IFLA_INFO_DATA);
  body();
  w.endNest(data);
}

// iproute2 writes bcqueuelen as it parses and the mode after the loop, so BC_QUEUE_LEN comes first.
function writeMacvlan(w: NlWriter, spec: MacvlanOptions): void {
  infoData(w, () => {
    if (spec.bcqueuelen !== undefined) w.u32(IFLA_MACVLAN_BC_QUEUE_LEN, spec.bcqueuelen);
    w.u32(IFLA_MACVLAN_MODE, MACVLAN_MODES[spec.mode]);
  });
}

/** Writes each kind's IFLA_INFO_DATA (nothing for kinds without options), one small encoder per kind. */
const LINK_KINDS: { [K in LinkSpec["kind"]]: KindEncoder<Extract<LinkSpec, { kind: K }>> } = {
  dummy: () => {},
  ifb: () => {},
  veth: (w, spec, writeBase) => {
    infoData(w, () => {
      const peer = w.beginNest(VETH_INFO_PEER);
      w.ifinfomsg({ family: AF_UNSPEC }); // the peer carries its own ifinfomsg header
      writeBase(w, spec.peer);
      w.endNest(peer);
    });
  },
  bridge: (w, spec) => {
    if (spec.vlanFiltering === undefined && spec.vlanDefaultPvid === undefined) return;
    infoData(w, () => {
      if (spec.vlanFiltering !== undefined) w.u8(IFLA_BR_VLAN_FILTERING, spec.vlanFiltering ? 1 : 0);
      if (spec.vlanDefaultPvid !== undefined) w.u16(IFLA_BR_VLAN_DEFAULT_PVID, spec.vlanDefaultPvid);
    });
  },
  macvlan: writeMacvlan,
  macvtap: writeMacvlan,
  ipvlan: (w, spec) => {
    infoData(w, () => {
      w.u16(IFLA_IPVLAN_MODE, IPVLAN_MODES[spec.mode]);
      w.u16(IFLA_IPVLAN_FLAGS, IPVLAN_FLAGS[spec.flags ?? "bridge"]);
    });
  },
  vlan: (w, spec) => infoData(w, () => w.u16(IFLA_VLAN_ID, spec.vlanId)),
  vrf: (w, spec) => infoData(w, () => w.u32(IFLA_VRF_TABLE, spec.table)),
};

/** Writes spec's IFLA_INFO_DATA (if its kind has any) inside an open IFLA_LINKINFO nest. */
export function writeKindData(w: NlWriter, spec: LinkSpec, writeBase: LinkBaseWriter): void {
  (LINK_KINDS[spec.kind] as KindEncoder<LinkSpec>)(w, spec, writeBase);
}

// ---- reading ----------------------------------------------------------------------------------------------------

/** The kind-specific fields of a Link, read from IFLA_INFO_DATA where cheap (LINK_KIND_READERS). */
export interface LinkKindFields {
  /** macvlan and macvtap: IFLA_MACVLAN_MODE. */
  macvlanMode?: MacvlanMode;
  /** ipvlan: IFLA_IPVLAN_MODE. */
  ipvlanMode?: IpvlanMode;
  /** ipvlan: IFLA_IPVLAN_FLAGS. */
  ipvlanFlag?: IpvlanFlag;
  /** vlan: IFLA_VLAN_ID. */
  vlanId?: number;
  /** vrf: IFLA_VRF_TABLE. */
  vrfTable?: number;
  /** bridge: IFLA_BR_VLAN_FILTERING. */
  vlanFiltering?: boolean;
  /** tun: IFLA_TUN_TYPE, whether the kind-"tun" link is a tun or a tap device. */
  tunMode?: TunMode;
  /** tun: IFLA_TUN_OWNER, sent only when an owner was set (TUNSETOWNER). */
  tunOwner?: number;
  /** tun: IFLA_TUN_GROUP, sent only when a group was set (TUNSETGROUP). */
  tunGroup?: number;
  /** tun: IFLA_TUN_MULTI_QUEUE (IFF_MULTI_QUEUE). */
  tunMultiQueue?: boolean;
  /** tun: IFLA_TUN_VNET_HDR (IFF_VNET_HDR). */
  tunVnetHdr?: boolean;
  /** tun: IFLA_TUN_PI (the inverse of IFF_NO_PI: frames carry a 4-byte packet-info header). */
  tunPi?: boolean;
  /** tun: IFLA_TUN_PERSIST (IFF_PERSIST: the device outlives the fd that made it). */
  tunPersist?: boolean;
}

type KindReader = (data: Map<number, Uint8Array>, out: LinkKindFields) => void;

function readMacvlan(d: Map<number, Uint8Array>, out: LinkKindFields): void {
  const mode = d.has(IFLA_MACVLAN_MODE) ? nameOf(MACVLAN_MODES, readU32(d.get(IFLA_MACVLAN_MODE), "IFLA_MACVLAN_MODE")) : undefined;
  if (mode) out.macvlanMode = mode;
}

// Returns the u8 flag attribute as a boolean, or undefined when it is absent.
function readFlag(d: Map<number, Uint8Array>, type: number, name: string): boolean | undefined {
  return d.has(type) ? readU8(d.get(type), name) !== 0 : undefined;
}

/** Reads each kind's IFLA_INFO_DATA into the kind-specific fields; kinds not listed keep only `kind`. */
const LINK_KIND_READERS: Readonly<Record<string, KindReader>> = {
  bridge: (d, out) => {
    const filtering = readFlag(d, IFLA_BR_VLAN_FILTERING, "IFLA_BR_VLAN_FILTERING");
    if (filtering !== undefined) out.vlanFiltering = filtering;
  },
  macvlan: readMacvlan,
  macvtap: readMacvlan,
  ipvlan: (d, out) => {
    const mode = d.has(IFLA_IPVLAN_MODE) ? nameOf(IPVLAN_MODES, readU16(d.get(IFLA_IPVLAN_MODE), "IFLA_IPVLAN_MODE")) : undefined;
    const flag = d.has(IFLA_IPVLAN_FLAGS) ? nameOf(IPVLAN_FLAGS, readU16(d.get(IFLA_IPVLAN_FLAGS), "IFLA_IPVLAN_FLAGS")) : undefined;
    if (mode) out.ipvlanMode = mode;
    if (flag) out.ipvlanFlag = flag;
  },
  vlan: (d, out) => {
    if (d.has(IFLA_VLAN_ID)) out.vlanId = readU16(d.get(IFLA_VLAN_ID), "IFLA_VLAN_ID");
  },
  vrf: (d, out) => {
    if (d.has(IFLA_VRF_TABLE)) out.vrfTable = readU32(d.get(IFLA_VRF_TABLE), "IFLA_VRF_TABLE");
  },
  tun: (d, out) => {
    const mode = d.has(IFLA_TUN_TYPE) ? nameOf(TUN_MODES, readU8(d.get(IFLA_TUN_TYPE), "IFLA_TUN_TYPE")) : undefined;
    if (mode) out.tunMode = mode;
    if (d.has(IFLA_TUN_OWNER)) out.tunOwner = readU32(d.get(IFLA_TUN_OWNER), "IFLA_TUN_OWNER");
    if (d.has(IFLA_TUN_GROUP)) out.tunGroup = readU32(d.get(IFLA_TUN_GROUP), "IFLA_TUN_GROUP");
    // tun_fill_info always sends these four; a field stays unset only if its attribute did not come.
    const multiQueue = readFlag(d, IFLA_TUN_MULTI_QUEUE, "IFLA_TUN_MULTI_QUEUE");
    const vnetHdr = readFlag(d, IFLA_TUN_VNET_HDR, "IFLA_TUN_VNET_HDR");
    const pi = readFlag(d, IFLA_TUN_PI, "IFLA_TUN_PI");
    const persist = readFlag(d, IFLA_TUN_PERSIST, "IFLA_TUN_PERSIST");
    if (multiQueue !== undefined) out.tunMultiQueue = multiQueue;
    if (vnetHdr !== undefined) out.tunVnetHdr = vnetHdr;
    if (pi !== undefined) out.tunPi = pi;
    if (persist !== undefined) out.tunPersist = persist;
  },
};

/** Reads a kind's parsed IFLA_INFO_DATA into out; throws NetlinkParseError on a malformed attribute. */
export function readKindData(kind: string, data: Map<number, Uint8Array>, out: LinkKindFields): void {
  const read = Object.hasOwn(LINK_KIND_READERS, kind) ? LINK_KIND_READERS[kind] : undefined;
  read?.(data, out);
}

// Returns the name whose value is v in a name → value table, or undefined for a value we have no name for.
function nameOf<N extends string>(table: Readonly<Record<N, number>>, v: number): N | undefined {
  for (const [name, value] of Object.entries(table) as Array<[N, number]>) if (value === v) return name;
  return undefined;
}
