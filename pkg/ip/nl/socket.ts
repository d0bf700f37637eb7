// pkg/ip/nl/socket.ts: an rtnetlink socket through bun:ffi: send a request, wait for its ACK, reply or dump.
// A socket belongs to the netns it was opened in, whichever thread uses it later (BUN-NOTES §1), so open one
// per netns up front (openRouteSocket) and use it from anywhere, without staying switched.
import { getU16le, getU32le, setU16le, setU32le } from "../../sys/bytes.ts";
import { withNetns, type NetNS } from "../../ns/netns.ts";
import { describeErrno, EINTR, ENODEV, ENOENT, errno, ESRCH, sys, SyscallError } from "../../sys/libc.ts";
import {
  AF_NETLINK, MSG_PEEK, MSG_TRUNC, NETLINK_CAP_ACK, NETLINK_EXT_ACK, NETLINK_ROUTE, NLM_F_ACK, NLM_F_DUMP_INTR,
  NLMSG_DONE, NLMSG_ERROR, NLMSG_NOOP, NLMSG_OVERRUN, RTM_NAMES, SO_RCVTIMEO, SOCK_CLOEXEC, SOCK_RAW, SOL_NETLINK,
  SOL_SOCKET,
} from "./consts.ts";
import { parseDone, parseError, parseMessages, type NlMessage } from "./reader.ts";
import { withSeq } from "./writer.ts";
import { totalLength } from "../../sys/lists.ts";

/** The kernel refused a request: op names it ("RTM_NEWLINK"), errno is positive, extAck is the kernel's own words. */
export class NetlinkError extends Error {
  constructor(readonly op: string, readonly errno: number, readonly extAck?: string, message?: string) {
    super(message ?? `${op}: ${describeErrno(errno)}${extAck ? `: ${extAck}` : ""}`);
    this.name = "NetlinkError";
  }
}

/** Returns whether err is a NetlinkError with one of the given errnos. */
export function hasErrno(err: unknown, ...codes: number[]): boolean {
  return err instanceof NetlinkError && codes.includes(err.errno);
}

/** Returns whether err says the object is not there (ENODEV, ENOENT, ESRCH): DEL's "already gone". */
export function isNotFound(err: unknown): boolean {
  return hasErrno(err, ENODEV, ENOENT, ESRCH);
}

// Retrying a dump more often than this means the table churns faster than we can read it.
const MAX_DUMP_ATTEMPTS = 10;
const SOCKADDR_NL_LEN = 12;
// errno for a reply that breaks the netlink protocol (an ACK without the reply, an overrun).
const EPROTO = 71;

function seqOf(msg: Uint8Array): number {
  return getU32le(msg, 8);
}

function opOf(msg: Uint8Array): string {
  const type = getU16le(msg, 4);
  return RTM_NAMES[type] ?? `netlink message type ${type}`;
}

/** Moves whole datagrams between us and the kernel; the FFI one below, or a scripted one in unit tests. */
export interface NetlinkTransport {
  /** nl_pid of our end. */
  readonly portId: number;
  send(msg: Uint8Array): void;
  /** Returns the next datagram the kernel sent us (blocking), in a buffer the caller may keep. */
  recv(): Uint8Array;
  close(): void;
}

/** An AF_NETLINK/NETLINK_ROUTE socket through bun:ffi, bound to a kernel-assigned port in the current netns. */
export class FfiNetlinkTransport implements NetlinkTransport {
  readonly fd: number;
  readonly portId: number;
  private rbuf = new Uint8Array(32768);
  private readonly kernel = new Uint8Array(SOCKADDR_NL_LEN);
  private readonly from = new Uint8Array(SOCKADDR_NL_LEN);
  private readonly fromLen = new Uint32Array(1);
  private closed = false;

  /**
   * Opens the socket in the calling thread's current netns; `protocol` is NETLINK_ROUTE unless given
   * (NETLINK_NETFILTER for conntrack), `groups` the multicast groups it listens to (RTMGRP_* bits; none unless
   * given). Throws SyscallError when the kernel refuses.
   */
  constructor(protocol = NETLINK_ROUTE, groups = 0) {
    const libc = sys();
    const fd = libc.socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, protocol);
    if (fd < 0) throw new SyscallError("socket", errno(), "AF_NETLINK");
    this.fd = fd;
    try {
      setU16le(this.kernel, 0, AF_NETLINK); // sockaddr_nl {family, pad, pid 0, groups 0}: where requests go
      const local = this.kernel.slice();
      setU32le(local, 8, groups); // ours: the same, listening to `groups`
      const one = new Int32Array([1]);
      // EXT_ACK: errors carry the kernel's text ("Unknown device type"). CAP_ACK: errors do not echo our request back.
      this.sockopt(NETLINK_EXT_ACK, one);
      this.sockopt(NETLINK_CAP_ACK, one);
      if (libc.bind(fd, local, SOCKADDR_NL_LEN) < 0) throw new SyscallError("bind", errno(), "AF_NETLINK");
      const len = new Uint32Array([SOCKADDR_NL_LEN]);
      const addr = new Uint8Array(SOCKADDR_NL_LEN);
      if (libc.getsockname(fd, addr, len) < 0) throw new SyscallError("getsockname", errno());
      this.portId = getU32le(addr, 4);
    } catch (e) {
      libc.close(fd);
      throw e;
    }
  }

  send(msg: Uint8Array): void {
    const libc = sys();
    for (;;) {
      const n = Number(libc.sendto(this.fd, msg, msg.length, 0, this.kernel, SOCKADDR_NL_LEN));
      if (n >= 0) {
        if (n !== msg.length) throw new Error(`netlink sendto sent ${n} of ${msg.length} bytes`);
        return;
      }
      const e = errno();
      if (e !== EINTR) throw new SyscallError("sendto", e, "AF_NETLINK");
    }
  }

  recv(): Uint8Array {
    for (;;) {
      // Peek with MSG_TRUNC first: it returns the datagram's real size, so a big one grows the buffer instead of
      // being cut off (iproute2's rtnl_recvmsg does the same).
      const size = this.recvfrom(MSG_PEEK | MSG_TRUNC);
      if (size < 0) continue;
      if (size > this.rbuf.length) this.rbuf = new Uint8Array(size + 4096);
      const n = this.recvfrom(0);
      if (n < 0) continue;
      // Only the kernel (nl_pid 0) may answer; anything else unicast to our port is not ours to parse.
      if (getU32le(this.from, 4) !== 0) continue;
      return this.rbuf.slice(0, n);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys().close(this.fd);
  }

  /** Makes each later recv give up after ms with SyscallError EAGAIN (SO_RCVTIMEO), instead of blocking for good. */
  setRecvTimeout(ms: number): void {
    const timeval = new BigInt64Array([BigInt(Math.floor(ms / 1000)), BigInt((ms % 1000) * 1000)]);
    if (sys().setsockopt(this.fd, SOL_SOCKET, SO_RCVTIMEO, timeval, timeval.byteLength) < 0) {
      throw new SyscallError("setsockopt", errno(), "SO_RCVTIMEO");
    }
  }

  private sockopt(opt: number, value: Int32Array): void {
    if (sys().setsockopt(this.fd, SOL_NETLINK, opt, value, 4) < 0) throw new SyscallError("setsockopt", errno(), `SOL_NETLINK ${opt}`);
  }

  // Returns recvfrom's result, or -1 after EINTR; throws on other errors.
  private recvfrom(flags: number): number {
    this.fromLen[0] = SOCKADDR_NL_LEN;
    const n = Number(sys().recvfrom(this.fd, this.rbuf, this.rbuf.length, flags, this.from, this.fromLen));
    if (n >= 0) return n;
    const e = errno();
    if (e === EINTR) return -1;
    throw new SyscallError("recvfrom", e, "AF_NETLINK");
  }
}

/** Request/ACK, query and dump over rtnetlink, in the netns the transport's socket was opened in. */
export class NetlinkSocket {
  private seq = 1;

  /** Opens a real socket in the calling thread's current netns unless given a transport; throws SyscallError. */
  constructor(private readonly transport: NetlinkTransport = new FfiNetlinkTransport()) {}

  /** The socket's file descriptor, when the transport is a real socket. */
  get fd(): number | undefined {
    return (this.transport as { fd?: number }).fd;
  }

  /** nl_pid the kernel gave this socket; replies carry it. */
  get portId(): number {
    return this.transport.portId;
  }

  /** Returns a fresh sequence number for the next request's encoder. */
  nextSeq(): number {
    const s = this.seq;
    this.seq = (this.seq + 1) >>> 0 || 1;
    return s;
  }

  /** Sends msg and waits for its ACK; throws NetlinkError when the kernel answers with an error. */
  request(msg: Uint8Array, op: string = opOf(msg)): void {
    const seq = seqOf(msg);
    this.transport.send(msg);
    for (;;) {
      for (const m of this.recv()) {
        if (m.seq !== seq) continue;
        if (m.type !== NLMSG_ERROR) continue; // a reply we did not ask for (NLM_F_ECHO); the ACK follows
        throwIfError(m, op);
        return;
      }
    }
  }

  /** Returns the payload of the single reply to msg (a GET without NLM_F_DUMP); throws NetlinkError on an error. */
  query(msg: Uint8Array, op: string = opOf(msg)): Uint8Array {
    const seq = seqOf(msg);
    const wantsAck = (getU16le(msg, 6) & NLM_F_ACK) !== 0;
    let reply: Uint8Array | undefined;
    this.transport.send(msg);
    for (;;) {
      for (const m of this.recv()) {
        if (m.seq !== seq) continue;
        if (m.type === NLMSG_ERROR) {
          throwIfError(m, op);
          if (reply) return reply;
          throw new NetlinkError(op, EPROTO, undefined, `${op}: kernel sent an ACK but no reply`);
        }
        reply ??= m.payload;
        if (!wantsAck) return reply;
      }
    }
  }

  /**
   * Returns the payloads of every message of a dump (msg has NLM_F_DUMP), in order, up to NLMSG_DONE. A dump the
   * kernel marks NLM_F_DUMP_INTR (the table changed meanwhile) is read to its end and redone with a fresh seq.
   * Throws NetlinkError on an error reply.
   */
  dump(msg: Uint8Array, op: string = opOf(msg)): Uint8Array[] {
    let req = msg;
    for (let attempt = 1; ; attempt++) {
      const seq = seqOf(req);
      this.transport.send(req);
      const out: Uint8Array[] = [];
      let interrupted = false;
      let done = false;
      while (!done) {
        for (const m of this.recv()) {
          if (m.seq !== seq) continue;
          if (m.flags & NLM_F_DUMP_INTR) interrupted = true;
          if (m.type === NLMSG_DONE) {
            const e = parseDone(m);
            if (e.error < 0) throw new NetlinkError(op, -e.error, e.extAck?.msg);
            done = true;
            break;
          }
          if (m.type === NLMSG_ERROR) {
            throwIfError(m, op);
            continue;
          }
          if (m.type === NLMSG_NOOP) continue;
          if (m.type === NLMSG_OVERRUN) throw new NetlinkError(op, EPROTO, undefined, `${op}: netlink overrun`);
          out.push(m.payload);
        }
      }
      if (!interrupted) return out;
      if (attempt >= MAX_DUMP_ATTEMPTS) {
        throw new NetlinkError(op, EINTR, undefined, `${op}: dump interrupted ${attempt} times in a row`);
      }
      req = withSeq(msg, this.nextSeq());
    }
  }

  /**
   * Sends the messages as one datagram (an nfnetlink batch: begin, requests, end) and waits for the reply of every
   * message that asked for an ACK; throws NetlinkError with the first error once all have answered. An error for a
   * message that asked for none (the kernel refusing the batch itself) ends the wait at once.
   */
  requestBatch(msgs: Uint8Array[], op: string): void {
    const buf = new Uint8Array(totalLength(msgs));
    const awaited = new Set<number>();
    const all = new Set<number>();
    let off = 0;
    for (const m of msgs) {
      buf.set(m, off);
      off += m.length;
      all.add(seqOf(m));
      if (getU16le(m, 6) & NLM_F_ACK) awaited.add(seqOf(m));
    }
    this.transport.send(buf);
    let failure: NetlinkError | undefined;
    while (awaited.size > 0) {
      for (const m of this.recv()) {
        if (m.type !== NLMSG_ERROR || !all.has(m.seq)) continue;
        const e = parseError(m);
        if (e.error !== 0) failure ??= new NetlinkError(op, -e.error, e.extAck?.msg);
        if (!awaited.delete(m.seq) && e.error !== 0) awaited.clear();
      }
    }
    if (failure) throw failure;
  }

  close(): void {
    this.transport.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }

  private recv(): NlMessage[] {
    return parseMessages(this.transport.recv());
  }
}

function throwIfError(m: NlMessage, op: string): void {
  const e = parseError(m);
  if (e.error !== 0) throw new NetlinkError(op, -e.error, e.extAck?.msg);
}

/** Returns a route socket opened in the given netns (path or NetNS), or in the current one when none is given. */
export function openRouteSocket(netns?: string | NetNS): NetlinkSocket {
  if (netns === undefined) return new NetlinkSocket();
  return withNetns(netns, () => new NetlinkSocket());
}
