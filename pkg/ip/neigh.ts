// pkg/ip/neigh.ts: the neighbour (ARP/NDP) table over rtnetlink, read only. The dump request is byte-tested against
// what `ip [-4|-6] neigh show` sends.
import type { IP } from "./cidr.ts";
import { AF_INET, AF_INET6, AF_UNSPEC, NLM_F_DUMP, NLM_F_REQUEST, RTM_GETNEIGH } from "./nl/consts.ts";
import { NetlinkParseError, parseAttrs } from "./nl/reader.ts";
import type { NetlinkSocket } from "./nl/socket.ts";
import { NlWriter } from "./nl/writer.ts";
import { formatMAC } from "./link.ts";

// struct ndmsg, <linux/neighbour.h>: 12 bytes (u8 family, u8 pad1, u16 pad2, i32 ifindex, u16 state, u8 flags, u8 type).
const NDMSG_LEN = 12;

// enum NDA_*, <linux/neighbour.h>
const NDA_DST = 1;
const NDA_LLADDR = 2;

// NUD_*, <linux/neighbour.h>: ndm_state bits
export const NUD_INCOMPLETE = 0x01;
export const NUD_REACHABLE = 0x02;
export const NUD_STALE = 0x04;
export const NUD_DELAY = 0x08;
export const NUD_PROBE = 0x10;
export const NUD_FAILED = 0x20;
export const NUD_NOARP = 0x40;
export const NUD_PERMANENT = 0x80;

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
  hdr[0] = family === 4 ? AF_INET : family === 6 ? AF_INET6 : AF_UNSPEC;
  w.struct(hdr);
  return w.finish();
}

/** Returns the Neighbour in an RTM_NEWNEIGH payload, or undefined for other families (bridge fdb); throws NetlinkParseError. */
export function parseNeighbour(payload: Uint8Array): Neighbour | undefined {
  if (payload.length < NDMSG_LEN) throw new NetlinkParseError(`ndmsg: ${payload.length} bytes, want ${NDMSG_LEN}`);
  const v = new DataView(payload.buffer, payload.byteOffset, payload.byteLength);
  const family = payload[0] === AF_INET ? 4 : payload[0] === AF_INET6 ? 6 : undefined;
  if (family === undefined) return undefined;
  const a = parseAttrs(payload, NDMSG_LEN);
  const dst = a.get(NDA_DST);
  const want = family === 4 ? 4 : 16;
  if (dst === undefined) throw new NetlinkParseError("NDA_DST: missing");
  if (dst.length !== want) throw new NetlinkParseError(`NDA_DST: ${dst.length} bytes, want ${want}`);
  let value = 0n;
  for (const b of dst) value = (value << 8n) | BigInt(b);
  const n: Neighbour = { family, index: v.getInt32(4, true), ip: { family, value }, state: v.getUint16(8, true), flags: payload[10]! };
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
