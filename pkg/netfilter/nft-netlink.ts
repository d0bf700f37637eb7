// pkg/netfilter/nft-netlink.ts: asks the kernel over nfnetlink whether an nftables table exists, in-process. Every
// bridge/ptp DEL cleans the nftables masquerade table even when only iptables is used, and most hosts have no such
// table: one NFT_MSG_GETTABLE (~0.1 ms) answers that where `nft -j list table` and `nft -j list tables` cost two
// processes (~3-4 ms each). Reading a table's contents stays with nft (nftables.ts).
import { NLM_F_ACK, NLM_F_REQUEST } from "../ip/nl/consts.ts";
import { FfiNetlinkTransport, hasErrno, NetlinkSocket } from "../ip/nl/socket.ts";
import { NlWriter } from "../ip/nl/writer.ts";
import { ENOENT } from "../sys/libc.ts";
import { NETLINK_NETFILTER, NFNETLINK_V0, NFNL_SUBSYS_NFTABLES } from "./nfnetlink.ts";

const NFT_MSG_GETTABLE = 1;
const NFTA_TABLE_NAME = 1;

// The nft family names and their NFPROTO_* numbers, <linux/netfilter.h>.
const NFPROTO: Record<string, number> = { inet: 1, ip: 2, arp: 3, netdev: 5, bridge: 7, ip6: 10 };

/** Returns the NFT_MSG_GETTABLE request for one table (as `nft list table <family> <name>` starts with). */
export function encodeGetTable(seq: number, family: string, name: string): Uint8Array {
  const proto = NFPROTO[family];
  if (proto === undefined) throw new Error(`unknown nftables family ${JSON.stringify(family)}`);
  const w = new NlWriter((NFNL_SUBSYS_NFTABLES << 8) | NFT_MSG_GETTABLE, NLM_F_REQUEST | NLM_F_ACK, seq);
  w.struct(Uint8Array.of(proto, NFNETLINK_V0, 0, 0)); // struct nfgenmsg: family, version, be16 res_id
  w.strz(NFTA_TABLE_NAME, name);
  return w.finish();
}

/**
 * Returns whether the table exists in the calling thread's netns: true or false when the kernel said so, undefined
 * when it could not be asked or answered otherwise (no nf_tables, no permission): callers then ask nft. Asks on
 * `shared` (a netfilter socket of that netns the caller keeps open) when given, else on a socket of its own.
 */
export function nftTableExists(family: string, name: string, shared?: NetlinkSocket): boolean | undefined {
  if (NFPROTO[family] === undefined) return undefined;
  let sock: NetlinkSocket;
  try {
    sock = shared ?? new NetlinkSocket(new FfiNetlinkTransport(NETLINK_NETFILTER));
  } catch {
    return undefined;
  }
  try {
    sock.query(encodeGetTable(sock.nextSeq(), family, name), "NFT_MSG_GETTABLE");
    return true;
  } catch (e) {
    return hasErrno(e, ENOENT) ? false : undefined;
  } finally {
    if (sock !== shared) sock.close();
  }
}
