// pkg/ip/link-handoff.ts: deleting a link without sitting out the kernel's teardown of it.
//
// The kernel answers RTM_DELLINK only once the device is destroyed: after unlisting it and announcing RTM_DELLINK to
// the netns's listeners, rtnl_unlock runs an RCU barrier and waits for the device's last reference (10-25 ms here,
// per veth or ifb), all inside the sendto of whoever asked. A DEL needs the link gone from the namespace, which it is
// by the announcement. So the request is written by a helper process instead: `cat`, its stdin a pipe holding the
// message and its stdout a netlink socket of this netns, blocks in that write through the teardown, and the plugin
// returns as soon as the announcement (or an error) reaches the same socket. The helper ends on its own once the
// kernel answers; it has no stdio of the runtime's, so nothing waits for it.
import { findTool } from "../sys/find-tool.ts";
import { EAGAIN, ENOBUFS, SyscallError } from "../sys/libc.ts";
import { NETLINK_ROUTE, NLMSG_ERROR, RTM_DELLINK, RTMGRP_LINK } from "./nl/consts.ts";
import { parseError, parseMessages, readIfInfoMsg } from "./nl/reader.ts";
import { FfiNetlinkTransport, NetlinkError, openRouteSocket } from "./nl/socket.ts";
import { delLink, encodeDelLink, linkExists } from "./link.ts";

/** How long to wait for the kernel to announce the helper's delete before deleting in-process after all. */
const ANNOUNCE_DEADLINE_MS = 5000;
const SEQ = 1;

/**
 * Deletes link `index` of the calling thread's netns, as delLink does (NetlinkError on failure, isNotFound when it
 * is already gone), but returns once the kernel has unlisted the link rather than once it has destroyed it. `carry`
 * file descriptors are handed to the helper as well (a netfilter socket whose close would wait on the kernel the
 * same way). Without a helper (no `cat`, or it cannot start), or when no answer comes before the deadline, the
 * delete is done in-process. Every socket it uses is its own, opened here: one brought from another netns would
 * name another link by the same index.
 */
export function delLinkHandedOff(index: number, carry: number[] = []): void {
  const cat = findTool("cat");
  if (cat === null) return delLinkHere(index);
  const shared = new FfiNetlinkTransport(NETLINK_ROUTE, RTMGRP_LINK);
  try {
    shared.setRecvTimeout(ANNOUNCE_DEADLINE_MS);
    if (!startHelper(cat, shared.fd, encodeDelLink(SEQ, index), carry)) return delLinkHere(index);
    if (awaitUnlisted(shared, index)) return;
  } finally {
    shared.close(); // the helper holds its own copy until the kernel has answered it
  }
  delLinkHere(index); // no word in time: ours queues behind the helper's, and finds the link gone (isNotFound)
}

function delLinkHere(index: number): void {
  using sock = openRouteSocket();
  delLink(sock, index);
}

/** Starts `cat` writing msg into the socket fd; false when it cannot start. */
function startHelper(cat: string, fd: number, msg: Uint8Array, carry: number[]): boolean {
  try {
    const helper = Bun.spawn([cat], { stdio: ["pipe", fd, "ignore", ...carry] });
    helper.stdin.write(msg); // one datagram: cat reads the pipe's few bytes at once and writes them in one call
    helper.stdin.end();
    helper.unref();
    return true;
  } catch {
    return false;
  }
}

/**
 * Returns true once the kernel announces RTM_DELLINK for index or answers the helper's request with an ACK; throws
 * the NetlinkError it answers with instead; false when neither comes before the deadline.
 */
function awaitUnlisted(shared: FfiNetlinkTransport, index: number): boolean {
  const deadline = performance.now() + ANNOUNCE_DEADLINE_MS;
  while (performance.now() < deadline) {
    let datagram: Uint8Array;
    try {
      datagram = shared.recv();
    } catch (e) {
      if (!(e instanceof SyscallError)) throw e;
      if (e.errno === EAGAIN) return false;
      if (e.errno !== ENOBUFS) throw e;
      using sock = openRouteSocket();
      if (!linkExists(sock, index)) return true; // announcements were dropped: ask instead
      continue;
    }
    for (const m of parseMessages(datagram)) {
      if (m.type === NLMSG_ERROR && m.seq === SEQ) {
        const e = parseError(m);
        if (e.error !== 0) throw new NetlinkError("RTM_DELLINK", -e.error, e.extAck?.msg);
        return true;
      }
      if (m.type === RTM_DELLINK && readIfInfoMsg(m.payload).index === index) return true;
    }
  }
  return false;
}
