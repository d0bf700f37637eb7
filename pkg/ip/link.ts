// pkg/ip/link.ts: network links over rtnetlink: read them (by name, by index, all), change them (up/down, master,
// netns, mtu, mac, name, alias, txqlen, promisc, allmulti), create them by kind and delete them. Encoders are pure
// functions, byte-tested against iproute2. The kinds themselves (spec types, IFLA_INFO_DATA encoders and readers)
// live in link-kinds.ts; tun/tap devices are made by ioctl in tuntap.ts (createTunTap) and deleted with delLink.
import { readKindData, writeKindData, type LinkBase, type LinkKindFields, type LinkSpec } from "./link-kinds.ts";
import {
  AF_UNSPEC, IFF_ALLMULTI, IFF_PROMISC, IFF_UP, IFINFOMSG_LEN, IFLA_ADDRESS, IFLA_EXT_MASK, IFLA_IFALIAS, IFLA_IFNAME,
  IFLA_INFO_DATA, IFLA_INFO_KIND, IFLA_LINK, IFLA_LINK_NETNSID, IFLA_LINKINFO, IFLA_MASTER, IFLA_MTU, IFLA_NET_NS_FD,
  IFLA_OPERSTATE, IFLA_PROMISCUITY, IFLA_TXQLEN, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP, NLM_F_EXCL, NLM_F_REQUEST,
  RTEXT_FILTER_SKIP_STATS, RTEXT_FILTER_VF, RTM_DELLINK, RTM_GETLINK, RTM_NEWLINK,
} from "./nl/consts.ts";
import { parseAttrs, readI32, readIfInfoMsg, readStrz, readU32, readU8 } from "./nl/reader.ts";
import { NetlinkError, hasErrno, isNotFound, type NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";
import { hexBytes } from "../sys/bytes.ts";
import { ENODEV } from "../sys/libc.ts";

/** RFC 2863 operational state (IFLA_OPERSTATE), named as vishvananda/netlink prints it. */
export type OperState = "unknown" | "notpresent" | "down" | "lowerlayerdown" | "testing" | "dormant" | "up";
const OPER_STATES: readonly OperState[] = ["unknown", "notpresent", "down", "lowerlayerdown", "testing", "dormant", "up"];

/** A link as the kernel reports it (RTM_NEWLINK), with its kind's fields (link-kinds.ts) where it has any. */
export interface Link extends LinkKindFields {
  index: number;
  name: string;
  /** ifi_flags: IFF_UP, IFF_LOWER_UP, ... */
  flags: number;
  mtu: number;
  /** IFLA_ADDRESS as lowercase colon hex; "" when the link has none. */
  mac: string;
  /** IFLA_INFO_KIND ("veth", "bridge"); absent for physical links and lo. */
  kind?: string;
  masterIndex?: number;
  /** IFLA_LINK: the peer of a veth, the lower device of a vlan/macvlan. */
  parentIndex?: number;
  operState?: OperState;
  alias?: string;
  txqlen?: number;
  /** IFLA_PROMISCUITY: how many holders asked for promiscuous mode (`ip link set promisc on` is one). */
  promiscuity?: number;
  /** IFLA_LINK_NETNSID: the netns id (in this netns) where parentIndex lives, for a veth peer or lower device elsewhere. */
  linkNetnsId?: number;
}

/** Returns whether IFF_PROMISC is set in the link's ifi_flags. */
export function isPromisc(link: Link): boolean {
  return (link.flags & IFF_PROMISC) !== 0;
}

/** Returns whether IFF_ALLMULTI is set in the link's ifi_flags (upstream tuning reads RawFlags the same way). */
export function isAllmulti(link: Link): boolean {
  return (link.flags & IFF_ALLMULTI) !== 0;
}

/** No link by that name or index; a NetlinkError with errno ENODEV, so isNotFound() holds. */
export class LinkNotFoundError extends NetlinkError {
  constructor(what: string) {
    super("RTM_GETLINK", ENODEV, undefined, `link ${what} not found`);
    this.name = "LinkNotFoundError";
  }
}

/** Returns a MAC's bytes as lowercase colon hex ("02:42:ac:11:00:02"), as Go's HardwareAddr.String does. */
export function formatMAC(b: Uint8Array): string {
  return hexBytes(b, ":");
}

/** Returns the bytes of colon (or dash) separated hex MAC text; throws on anything else. */
export function parseMAC(s: string): Uint8Array {
  const parts = s.split(/[:-]/);
  if (parts.length < 6 || !parts.every((p) => /^[0-9a-fA-F]{2}$/.test(p))) throw new Error(`invalid MAC address ${JSON.stringify(s)}`);
  return Uint8Array.from(parts, (p) => parseInt(p, 16));
}

/** Returns the Link in an RTM_NEWLINK payload; throws NetlinkParseError on malformed attributes. */
export function parseLink(payload: Uint8Array): Link {
  const hdr = readIfInfoMsg(payload);
  const a = parseAttrs(payload, IFINFOMSG_LEN);
  const link: Link = {
    index: hdr.index,
    name: readStrz(a.get(IFLA_IFNAME), "IFLA_IFNAME"),
    flags: hdr.flags,
    mtu: a.has(IFLA_MTU) ? readU32(a.get(IFLA_MTU), "IFLA_MTU") : 0,
    mac: a.has(IFLA_ADDRESS) ? formatMAC(a.get(IFLA_ADDRESS)!) : "",
  };
  const info = a.get(IFLA_LINKINFO);
  if (info) {
    const ia = parseAttrs(info);
    if (ia.has(IFLA_INFO_KIND)) link.kind = readStrz(ia.get(IFLA_INFO_KIND), "IFLA_INFO_KIND");
    const data = ia.get(IFLA_INFO_DATA);
    if (data && link.kind !== undefined) readKindData(link.kind, parseAttrs(data), link);
  }
  if (a.has(IFLA_MASTER)) link.masterIndex = readU32(a.get(IFLA_MASTER), "IFLA_MASTER");
  // The kernel sends IFLA_LINK only when it differs from the link's own index; for a veth whose peer sits in
  // another netns it is the peer's index there (with IFLA_LINK_NETNSID).
  if (a.has(IFLA_LINK)) link.parentIndex = readU32(a.get(IFLA_LINK), "IFLA_LINK");
  if (a.has(IFLA_OPERSTATE)) {
    const s = readU8(a.get(IFLA_OPERSTATE), "IFLA_OPERSTATE");
    link.operState = OPER_STATES[s] ?? "unknown";
  }
  if (a.has(IFLA_IFALIAS)) link.alias = readStrz(a.get(IFLA_IFALIAS), "IFLA_IFALIAS");
  if (a.has(IFLA_TXQLEN)) link.txqlen = readU32(a.get(IFLA_TXQLEN), "IFLA_TXQLEN");
  if (a.has(IFLA_PROMISCUITY)) link.promiscuity = readU32(a.get(IFLA_PROMISCUITY), "IFLA_PROMISCUITY");
  if (a.has(IFLA_LINK_NETNSID)) link.linkNetnsId = readI32(a.get(IFLA_LINK_NETNSID), "IFLA_LINK_NETNSID");
  return link;
}

// ---- reading ------------------------------------------------------------------------------------------------

// iproute2's ll_link_get: VF info is cheap to ask for, and skipping stats keeps the reply ~1 KB instead of ~1.5 KB.
const GET_EXT_MASK = RTEXT_FILTER_VF | RTEXT_FILTER_SKIP_STATS;

/** Returns RTM_GETLINK for one link by name (the bytes of iproute2's ll_link_get). */
export function encodeGetLinkByName(seq: number, name: string): Uint8Array {
  const w = new NlWriter(RTM_GETLINK, NLM_F_REQUEST, seq);
  w.ifinfomsg({ family: AF_UNSPEC });
  w.u32(IFLA_EXT_MASK, GET_EXT_MASK);
  w.strz(IFLA_IFNAME, name);
  return w.finish();
}

/** Returns RTM_GETLINK for one link by index (the bytes of iproute2's ll_link_get). */
export function encodeGetLinkByIndex(seq: number, index: number): Uint8Array {
  const w = new NlWriter(RTM_GETLINK, NLM_F_REQUEST, seq);
  w.ifinfomsg({ family: AF_UNSPEC, index });
  w.u32(IFLA_EXT_MASK, GET_EXT_MASK);
  return w.finish();
}

/** Returns the RTM_GETLINK dump request `ip addr show` and vishvananda's LinkList send. */
export function encodeListLinks(seq: number): Uint8Array {
  const w = new NlWriter(RTM_GETLINK, NLM_F_REQUEST | NLM_F_DUMP, seq);
  w.ifinfomsg({ family: AF_UNSPEC });
  w.u32(IFLA_EXT_MASK, RTEXT_FILTER_VF);
  return w.finish();
}

/** Returns every link in the socket's netns, in the kernel's order. */
export function listLinks(sock: NetlinkSocket): Link[] {
  return sock.dump(encodeListLinks(sock.nextSeq())).map(parseLink);
}

/** Returns the link called name; throws LinkNotFoundError when there is none. */
export function getLinkByName(sock: NetlinkSocket, name: string): Link {
  try {
    return parseLink(sock.query(encodeGetLinkByName(sock.nextSeq(), name)));
  } catch (e) {
    if (hasErrno(e, ENODEV)) throw new LinkNotFoundError(JSON.stringify(name));
    throw e;
  }
}

/** Returns whether a link of that name or ifindex exists in the socket's netns; throws netlink errors other than "no such link". */
export function linkExists(sock: NetlinkSocket, link: string | number): boolean {
  try {
    if (typeof link === "number") getLinkByIndex(sock, link);
    else getLinkByName(sock, link);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}

/** Returns the link with that ifindex; throws LinkNotFoundError when there is none. */
export function getLinkByIndex(sock: NetlinkSocket, index: number): Link {
  try {
    return parseLink(sock.query(encodeGetLinkByIndex(sock.nextSeq(), index)));
  } catch (e) {
    if (hasErrno(e, ENODEV)) throw new LinkNotFoundError(`index ${index}`);
    throw e;
  }
}

// ---- changing one link ----------------------------------------------------------------------------------------

/** Returns RTM_NEWLINK setting or clearing IFF_UP only (ifi_change masks the rest), as `ip link set up|down`. */
export function encodeSetLinkFlags(seq: number, index: number, up: boolean): Uint8Array {
  const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_UNSPEC, index, flags: up ? IFF_UP : 0, change: IFF_UP });
  return w.finish();
}

/** Returns RTM_NEWLINK enslaving a link (`ip link set DEV master M`); masterIndex 0 releases it (nomaster). */
export function encodeSetLinkMaster(seq: number, index: number, masterIndex: number): Uint8Array {
  const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_UNSPEC, index });
  w.u32(IFLA_MASTER, masterIndex);
  return w.finish();
}

/** Returns RTM_NEWLINK moving a link into the netns open at fd (`ip link set DEV netns NAME`). */
export function encodeSetLinkNetnsFd(seq: number, index: number, netnsFd: number): Uint8Array {
  const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_UNSPEC, index });
  w.u32(IFLA_NET_NS_FD, netnsFd);
  return w.finish();
}

// `ip link set DEV <attr>` sends RTM_NEWLINK without CREATE: an ifinfomsg naming the link, then one attribute.
function setLinkWriter(seq: number, index: number): NlWriter {
  const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_UNSPEC, index });
  return w;
}

/** Returns RTM_NEWLINK setting the MTU (`ip link set DEV mtu N`). */
export function encodeSetLinkMTU(seq: number, index: number, mtu: number): Uint8Array {
  return setLinkWriter(seq, index).u32(IFLA_MTU, mtu).finish();
}

/** Returns RTM_NEWLINK setting the hardware address (`ip link set DEV address MAC`); throws on bad MAC text. */
export function encodeSetLinkMAC(seq: number, index: number, mac: string): Uint8Array {
  return setLinkWriter(seq, index).bytes(IFLA_ADDRESS, parseMAC(mac)).finish();
}

/** Returns RTM_NEWLINK renaming a link (`ip link set DEV name NEW`; the kernel wants it down). */
export function encodeSetLinkName(seq: number, index: number, name: string): Uint8Array {
  return setLinkWriter(seq, index).strz(IFLA_IFNAME, name).finish();
}

/** Returns RTM_NEWLINK setting the alias (`ip link set DEV alias TEXT`); "" clears it. Sent without a NUL, as iproute2. */
export function encodeSetLinkAlias(seq: number, index: number, alias: string): Uint8Array {
  return setLinkWriter(seq, index).str(IFLA_IFALIAS, alias).finish();
}

/** Returns RTM_NEWLINK setting the transmit queue length (`ip link set DEV txqueuelen N`). */
export function encodeSetLinkTxQLen(seq: number, index: number, txqlen: number): Uint8Array {
  return setLinkWriter(seq, index).u32(IFLA_TXQLEN, txqlen).finish();
}

// ifi_change masks which ifi_flags bits the kernel looks at, so one flag changes and the rest stay.
function encodeChangeFlag(seq: number, index: number, flag: number, on: boolean): Uint8Array {
  const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_UNSPEC, index, flags: on ? flag : 0, change: flag });
  return w.finish();
}

/** Returns RTM_NEWLINK turning IFF_PROMISC on or off (`ip link set DEV promisc on|off`). */
export function encodeSetLinkPromisc(seq: number, index: number, on: boolean): Uint8Array {
  return encodeChangeFlag(seq, index, IFF_PROMISC, on);
}

/** Returns RTM_NEWLINK turning IFF_ALLMULTI on or off (`ip link set DEV allmulticast on|off`). */
export function encodeSetLinkAllmulti(seq: number, index: number, on: boolean): Uint8Array {
  return encodeChangeFlag(seq, index, IFF_ALLMULTI, on);
}

/** Returns RTM_DELLINK for an ifindex (`ip link del`). */
export function encodeDelLink(seq: number, index: number): Uint8Array {
  const w = new NlWriter(RTM_DELLINK, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.ifinfomsg({ family: AF_UNSPEC, index });
  return w.finish();
}

/** Brings a link up; throws NetlinkError (isNotFound when the index is gone). */
export function setLinkUp(sock: NetlinkSocket, index: number): void {
  sock.request(encodeSetLinkFlags(sock.nextSeq(), index, true));
}

/** Takes a link down; throws NetlinkError (isNotFound when the index is gone). */
export function setLinkDown(sock: NetlinkSocket, index: number): void {
  sock.request(encodeSetLinkFlags(sock.nextSeq(), index, false));
}

/** Enslaves a link to a bridge or vrf (0 releases it); throws NetlinkError. */
export function setLinkMaster(sock: NetlinkSocket, index: number, masterIndex: number): void {
  sock.request(encodeSetLinkMaster(sock.nextSeq(), index, masterIndex));
}

/** Moves a link into the netns open at netnsFd; the socket's netns loses it. Throws NetlinkError. */
export function setLinkNetnsFd(sock: NetlinkSocket, index: number, netnsFd: number): void {
  sock.request(encodeSetLinkNetnsFd(sock.nextSeq(), index, netnsFd));
}

/** Sets a link's MTU; throws NetlinkError (EINVAL outside the device's min/max MTU). */
export function setLinkMTU(sock: NetlinkSocket, index: number, mtu: number): void {
  sock.request(encodeSetLinkMTU(sock.nextSeq(), index, mtu));
}

/** Sets a link's hardware address (colon hex); throws on bad text, NetlinkError when the kernel refuses. */
export function setLinkMAC(sock: NetlinkSocket, index: number, mac: string): void {
  sock.request(encodeSetLinkMAC(sock.nextSeq(), index, mac));
}

/** Renames a link; throws NetlinkError (EBUSY while it is up, EEXIST when the name is taken). */
export function setLinkName(sock: NetlinkSocket, index: number, name: string): void {
  sock.request(encodeSetLinkName(sock.nextSeq(), index, name));
}

/** Sets (or with "" clears) a link's alias; throws NetlinkError. */
export function setLinkAlias(sock: NetlinkSocket, index: number, alias: string): void {
  sock.request(encodeSetLinkAlias(sock.nextSeq(), index, alias));
}

/** Sets a link's transmit queue length; throws NetlinkError. */
export function setLinkTxQLen(sock: NetlinkSocket, index: number, txqlen: number): void {
  sock.request(encodeSetLinkTxQLen(sock.nextSeq(), index, txqlen));
}

/** Turns promiscuous mode on or off; throws NetlinkError. */
export function setLinkPromisc(sock: NetlinkSocket, index: number, on: boolean): void {
  sock.request(encodeSetLinkPromisc(sock.nextSeq(), index, on));
}

/** Turns all-multicast mode on or off; throws NetlinkError. */
export function setLinkAllmulti(sock: NetlinkSocket, index: number, on: boolean): void {
  sock.request(encodeSetLinkAllmulti(sock.nextSeq(), index, on));
}

/** Deletes a link (a veth takes its peer with it; also a tun/tap from createTunTap); throws NetlinkError (isNotFound when already gone). */
export function delLink(sock: NetlinkSocket, index: number): void {
  sock.request(encodeDelLink(sock.nextSeq(), index));
}

// ---- creating links by kind -----------------------------------------------------------------------------------

// The order is iproute2's for `ip link add [link P] NAME [mtu] [address] [txqueuelen] [master] [netns] type ...`:
// the options as given, then IFLA_LINK and IFLA_IFNAME (golden-tested for mtu, address, netns, link and name).
function writeLinkBase(w: NlWriter, b: LinkBase): void {
  if (b.mtu !== undefined) w.u32(IFLA_MTU, b.mtu);
  if (b.mac !== undefined) w.bytes(IFLA_ADDRESS, parseMAC(b.mac));
  if (b.txqlen !== undefined) w.u32(IFLA_TXQLEN, b.txqlen);
  if (b.masterIndex !== undefined) w.u32(IFLA_MASTER, b.masterIndex);
  if (b.netnsFd !== undefined) w.u32(IFLA_NET_NS_FD, b.netnsFd);
  if (b.parentIndex !== undefined) w.u32(IFLA_LINK, b.parentIndex);
  w.strz(IFLA_IFNAME, b.name);
}

/** Returns RTM_NEWLINK creating a link of spec.kind (CREATE|EXCL: an existing name fails with EEXIST). */
export function encodeNewLink(seq: number, spec: LinkSpec): Uint8Array {
  const w = new NlWriter(RTM_NEWLINK, NLM_F_REQUEST | NLM_F_ACK | NLM_F_CREATE | NLM_F_EXCL, seq);
  w.ifinfomsg({ family: AF_UNSPEC });
  writeLinkBase(w, spec);
  const info = w.beginNest(IFLA_LINKINFO);
  w.str(IFLA_INFO_KIND, spec.kind); // iproute2 sends the kind without its NUL (STYLE.md's example has strz)
  writeKindData(w, spec, writeLinkBase);
  w.endNest(info);
  return w.finish();
}

/**
 * Creates a link; throws NetlinkError (EEXIST for a taken name, EOPNOTSUPP with "Unknown device type" when the
 * kernel lacks the kind). For tun/tap, which the kernel will not create this way, see createTunTap in tuntap.ts.
 */
export function addLink(sock: NetlinkSocket, spec: LinkSpec): void {
  sock.request(encodeNewLink(sock.nextSeq(), spec));
}
