// ipam/dhcp/client.ts: DHCPv4 exchanges on one interface of a container netns, with upstream's timing
// (plugins/ipam/dhcp/lease.go backoffRetry, insomniacslk nclient4 SendAndRead): each message is sent up to 3 times,
// waiting `timeout`, then twice and four times that for a matching reply; a failed exchange is retried after
// 2 s ±1 s four times, then after 8, 16, 32 … s ±1 s (doubling while below resendMax), until a deadline.
// Sockets are opened inside the netns and used from the daemon's one thread, which never blocks on them: it polls
// while it waits, and every wait ends early when the lease is stopped (the AbortSignal).
import { withNetns } from "../../pkg/ns/netns.ts";
import { getLinkByName, parseMAC, setLinkUp } from "../../pkg/ip/link.ts";
import { IFF_UP } from "../../pkg/ip/nl/consts.ts";
import { NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import {
  BOOTREPLY, decodeMessage, decodeUdpFrame, DHCPACK, DHCPNAK, DHCPOFFER, discover, encodeMessage, encodeUdpFrame,
  messageType, OPT_MESSAGE, OPT_SERVER_ID, releaseFromAck, renewFromAck, requestFromOffer, sameOptionalBytes, ZERO_IP,
  type LeaseOptions, type Message,
} from "./packet.ts";
import { PacketSocket } from "./packet-socket.ts";

const CLIENT_PORT = 68;
const SERVER_PORT = 67;
const BROADCAST_IP = Uint8Array.of(255, 255, 255, 255);
const TRIES = 3; // nclient4 DefaultRetries: sends per exchange
const POLL_MS = 10;
const FAST_RETRIES = 4;
const FAST_DELAY_MS = 2000;
const FIRST_BACKOFF_MS = 4000;
const JITTER_MS = 1000;

/** The daemon's `-timeout`, `-resendmax` and `-resendtimeout`, in ms. */
export interface Timing {
  timeoutMs: number;
  resendMaxMs: number;
  resendTimeoutMs: number;
}

/** The lease was stopped (released, or the daemon is shutting down) while an exchange was under way. */
export class StoppedError extends Error {
  constructor() {
    super("lease maintenance stopped");
    this.name = "StoppedError";
  }
}

/** Resolves after ms, or at once when signal aborts (then it rejects with StoppedError). */
export function sleep(ms: number, signal: AbortSignal, wake?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal.aborted) return reject(new StoppedError());
    if (wake?.aborted) return resolve();
    const done = () => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onStop);
      wake?.removeEventListener("abort", onWake);
    };
    const onStop = () => {
      done();
      reject(new StoppedError());
    };
    const onWake = () => {
      done();
      resolve();
    };
    const timer = setTimeout(() => {
      done();
      resolve();
    }, Math.max(0, ms));
    signal.addEventListener("abort", onStop, { once: true });
    wake?.addEventListener("abort", onWake, { once: true });
  });
}

/** Where a lease lives: the netns path the daemon opens (host prefix applied) and the interface name in it. */
export interface Place {
  netns: string;
  ifname: string;
}

/** An open packet socket on the interface, with the interface's index and hardware address. */
interface Conn extends Disposable {
  sock: PacketSocket;
  hw: Uint8Array;
}

/** Returns a socket on the interface, brought up first when `bringUp` and it is down; throws upstream's lookup text. */
export function openConn(place: Place, bringUp: boolean): Conn {
  return withNetns(place.netns, () => {
    using nl = new NetlinkSocket();
    let link;
    try {
      link = getLinkByName(nl, place.ifname);
    } catch (e) {
      throw new Error(`error looking up ${JSON.stringify(place.ifname)}: ${(e as Error).message}`, { cause: e }); // upstream text
    }
    if (bringUp && (link.flags & IFF_UP) === 0) {
      console.error(`Link ${JSON.stringify(place.ifname)} down. Attempting to set up`); // upstream log
      setLinkUp(nl, link.index);
    }
    const sock = PacketSocket.open(link.index);
    return { sock, hw: parseMAC(link.mac), [Symbol.dispose]: () => sock.close() };
  });
}

function randomXid(): number {
  return crypto.getRandomValues(new Uint32Array(1))[0]!;
}

function send(conn: Conn, m: Message, dst: Uint8Array = BROADCAST_IP, src: Uint8Array = ZERO_IP): void {
  conn.sock.sendBroadcast(encodeUdpFrame(encodeMessage(m), { ip: src, port: CLIENT_PORT }, { ip: dst, port: SERVER_PORT }));
}

/** Returns the next reply for us waiting on the socket: a BOOTREPLY to port 68 for our hardware address and xid. */
function nextReply(conn: Conn, xid: number): Message | undefined {
  for (;;) {
    const pkt = conn.sock.tryRecv();
    if (!pkt) return undefined;
    const udp = decodeUdpFrame(pkt);
    if (!udp || udp.dst.port !== CLIENT_PORT) continue;
    const m = decodeMessage(udp.payload);
    if (typeof m === "string" || m.op !== BOOTREPLY || m.xid !== xid || !sameOptionalBytes(m.chaddr, conn.hw)) continue;
    return m;
  }
}

class DeadlineError extends Error {
  constructor() {
    super("context deadline exceeded"); // upstream text (the request's context ran out)
  }
}

/**
 * Returns the first reply to m that `match` accepts: m is sent, and sent again after `timeout` and after twice that
 * without one. Throws `no matching response packet received` (upstream text), DeadlineError or StoppedError.
 */
async function sendAndRead(conn: Conn, m: Message, match: (r: Message) => boolean, timing: Timing, deadline: number, signal: AbortSignal): Promise<Message> {
  let timeout = timing.timeoutMs;
  for (let i = 0; i < TRIES; i++) {
    send(conn, m);
    const until = Date.now() + timeout;
    for (;;) {
      for (let r = nextReply(conn, m.xid); r; r = nextReply(conn, m.xid)) if (match(r)) return r;
      const now = Date.now();
      if (now >= deadline) throw new DeadlineError();
      if (now >= until) break;
      await sleep(Math.min(POLL_MS, until - now, deadline - now), signal);
    }
    timeout *= 2;
  }
  throw new Error("no matching response packet received"); // upstream text
}

/**
 * Returns f's result, calling it again after upstream's backoff while it fails, until the deadline: then throws
 * `no more tries` with the last failure. A StoppedError ends it at once.
 */
async function backoffRetry<T>(what: string, f: () => Promise<T>, timing: Timing, deadline: number, signal: AbortSignal): Promise<T> {
  let base = FIRST_BACKOFF_MS;
  let fast = FAST_RETRIES;
  for (;;) {
    let failure: Error;
    try {
      return await f();
    } catch (e) {
      if (e instanceof StoppedError) throw e;
      failure = e as Error;
    }
    console.error(`${what}: ${failure.message}`);
    let delay: number;
    if (fast === 0) {
      delay = base + jitter();
    } else {
      delay = FAST_DELAY_MS + jitter();
      fast--;
    }
    if (Date.now() + delay >= deadline) {
      await sleep(deadline - Date.now(), signal);
      throw new Error(`no more tries: ${failure.message}`, { cause: failure }); // upstream's errNoMoreTries, with why
    }
    console.error(`${what}: retrying in ${(delay / 1000).toFixed(6)} seconds`); // upstream log
    await sleep(delay, signal);
    if (base < timing.resendMaxMs && fast === 0) base *= 2;
  }
}

/** Returns a value in [-1 s, 1 s). */
function jitter(): number {
  return Math.floor(JITTER_MS * (2 * Math.random() - 1));
}

/** An acquired lease: the offer (its server id is what renewals must come from) and the ACK. */
export interface Acquired {
  offerServerID?: Uint8Array;
  ack: Message;
}

function serverID(m: Message): Uint8Array | undefined {
  return m.options.get(OPT_SERVER_ID);
}

function nakError(nak: Message): Error {
  const msg = nak.options.get(OPT_MESSAGE);
  // upstream text (nclient4 ErrNak)
  return new Error(msg && msg.length > 0 ? `server rejected request with Nak (msg: ${new TextDecoder().decode(msg)})` : "server rejected request with Nak");
}

/**
 * Returns a new lease from DISCOVER/OFFER/REQUEST/ACK on the interface (brought up first if it is down), retried
 * with backoff until the deadline. Throws the last failure (`no more tries: …`) or StoppedError.
 */
export function acquire(place: Place, lo: LeaseOptions, broadcast: boolean, timing: Timing, deadline: number, signal: AbortSignal): Promise<Acquired> {
  return backoffRetry(`${lo.clientID}: acquiring lease`, async () => {
    using conn = openConn(place, true);
    const disc = discover(randomXid(), conn.hw, lo, broadcast);
    let offer: Message;
    try {
      offer = await sendAndRead(conn, disc, (r) => messageType(r) === DHCPOFFER, timing, deadline, signal);
    } catch (e) {
      if (e instanceof StoppedError) throw e;
      throw new Error(`unable to receive an offer: got an error while the discovery request: ${(e as Error).message}`); // upstream text
    }
    const req = requestFromOffer(offer, lo);
    const sid = serverID(offer);
    let ack: Message;
    try {
      ack = await sendAndRead(conn, req, (r) => sameOptionalBytes(serverID(r), sid) && [DHCPACK, DHCPNAK].includes(messageType(r)), timing, deadline, signal);
    } catch (e) {
      if (e instanceof StoppedError) throw e;
      throw new Error(`got an error while processing the request: ${(e as Error).message}`); // upstream text
    }
    if (messageType(ack) === DHCPNAK) throw nakError(ack);
    return { offerServerID: sid, ack };
  }, timing, deadline, signal);
}

/** Returns the ACK of a RENEWING request for the lease, retried with backoff until the deadline. Throws as acquire. */
export function renew(place: Place, lo: LeaseOptions, lease: Acquired, timing: Timing, deadline: number, signal: AbortSignal): Promise<Message> {
  return backoffRetry(`${lo.clientID}: renewing lease`, async () => {
    using conn = openConn(place, false);
    const req = renewFromAck(lease.ack, lo);
    let ack: Message;
    try {
      ack = await sendAndRead(conn, req, (r) => sameOptionalBytes(serverID(r), lease.offerServerID) && [DHCPACK, DHCPNAK].includes(messageType(r)), timing, deadline, signal);
    } catch (e) {
      if (e instanceof StoppedError) throw e;
      throw new Error(`got an error while processing the request: ${(e as Error).message}`); // upstream text
    }
    if (messageType(ack) === DHCPNAK) throw nakError(ack);
    return ack;
  }, timing, deadline, signal);
}

/**
 * Sends a DHCPRELEASE for the lease to its server (once, no reply expected); throws when the interface is unusable.
 * It comes from the leased address, as RFC 2131 has it: upstream sends it from 0.0.0.0 to the server's address,
 * which a Linux server drops as a martian source, so its releases never arrive.
 */
export function release(place: Place, clientID: string, ack: Message): void {
  using conn = openConn(place, false);
  const sid = ack.options.get(OPT_SERVER_ID);
  send(conn, releaseFromAck(randomXid(), ack, clientID), sid && sid.length === 4 ? sid : BROADCAST_IP, ack.yiaddr);
}
