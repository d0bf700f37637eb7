// pkg/ip/neigh.ts: the neighbour (ARP/NDP) table over rtnetlink, read only. The dump request is byte-tested against
// what `ip [-4|-6] neigh show` sends.
import { afOf, familyOf, readIP } from "./address.ts";
import type { IP } from "./cidr.ts";
import { AF_UNSPEC, NDA_DST, NDA_LLADDR, NDMSG_LEN, NLM_F_DUMP, NLM_F_REQUEST, RTM_GETNEIGH } from "./nl/consts.ts";
import { NetlinkParseError, parseAttrs } from "./nl/reader.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";
import { formatMAC } from "./link.ts";

/** One neighbour entry (RTM_NEWNEIGH). */
export interface Neighbour {
  family: 4 | 6;
  /** ifindex of the link it was learned on. */
  index: number;
  ip: IP;
  /** Lowercase colon hex; absent for entries without one (INCOMPLETE, FAILED). */
  lladdr?: string;
  /** NUD_* bits. */
  state: number;
  /** NTF_* bits. */
  flags: number;
}

/** Returns the RTM_GETNEIGH dump request of `ip [-4|-6] neigh show`. */
export function encodeListNeighbours(seq: number, family?: 4 | 6): Uint8Array {
  const w = new NlWriter(RTM_GETNEIGH, NLM_F_REQUEST | NLM_F_DUMP, seq);
  const hdr = new Uint8Array(NDMSG_LEN);
  hdr[0] = family ? afOf(family) : AF_UNSPEC;
  w.struct(hdr);
  return w.finish();
}

/** Returns the Neighbour in an RTM_NEWNEIGH payload, or undefined for other families (bridge fdb); throws NetlinkParseError. */
export function parseNeighbour(payload: Uint8Array): Neighbour | undefined {
  if (payload.length < NDMSG_LEN) throw new NetlinkParseError(`ndmsg: ${payload.length} bytes, want ${NDMSG_LEN}`);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const family = familyOf(payload[0]!);
  if (family === undefined) return undefined;
  const a = parseAttrs(payload, NDMSG_LEN);
  const ip = readIP(a.get(NDA_DST), "NDA_DST", family);
  const n: Neighbour = { family, index: v.getInt32(4, true), ip, state: v.getUint16(8, true), flags: payload[10]! };
  const ll = a.get(NDA_LLADDR);
  if (ll && ll.length > 0) n.lladdr = formatMAC(ll);
  return n;
}

/** Returns the neighbour entries in the socket's netns, optionally one family's and one link's. */
export function listNeighbours(sock: NetlinkSocket, filter: { family?: 4 | 6; index?: number } = {}): Neighbour[] {
  const out: Neighbour[] = [];
  // Without NETLINK_GET_STRICT_CHK the kernel ignores ndm_ifindex in a dump request, so filter here.
  for (const payload of sock.dump(encodeListNeighbours(sock.nextSeq(), filter.family))) {
    const n = parseNeighbour(payload);
    if (!n) continue;
    if (filter.family !== undefined && n.family !== filter.family) continue;
    if (filter.index !== undefined && n.index !== filter.index) continue;
    out.push(n);
  }
  return out;
}
