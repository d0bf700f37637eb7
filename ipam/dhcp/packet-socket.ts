// ipam/dhcp/packet-socket.ts: an AF_PACKET socket on one interface, as upstream's DHCP client uses (nclient4's raw
// "broadcast UDP" conn): IPv4 packets in and out with the link header left to the kernel, so the client works on an
// interface that has no address yet and sees replies unicast to an address it does not hold. Non-blocking: the
// daemon polls it while it waits for a reply, so its one JS thread never blocks (BUN-NOTES §8).
// The socket belongs to the netns it is opened in (BUN-NOTES §1): open it inside withNetns, use it from anywhere.
import { check, EAGAIN, EINTR, errno, sys, SyscallError } from "../../pkg/sys/libc.ts";

const AF_PACKET = 17;
const SOCK_DGRAM = 2;
const SOCK_NONBLOCK = 0o4000;
const SOCK_CLOEXEC = 0o2000000;
const ETH_P_IP = 0x0800;
const MSG_DONTWAIT = 0x40;
// struct sockaddr_ll, <linux/if_packet.h>: u16 family, be16 protocol, i32 ifindex, u16 hatype, u8 pkttype,
// u8 halen, u8 addr[8]: 20 bytes.
const SOCKADDR_LL_LEN = 20;
const BROADCAST_MAC = [0xff, 0xff, 0xff, 0xff, 0xff, 0xff];
const RECV_BUF_LEN = 65536;

function sockaddrLL(ifindex: number, mac?: number[]): Uint8Array {
  const sa = new Uint8Array(SOCKADDR_LL_LEN);
  const dv = new DataView(sa.buffer);
  dv.setUint16(0, AF_PACKET, true);
  dv.setUint16(2, ETH_P_IP); // network byte order
  dv.setInt32(4, ifindex, true);
  if (mac) {
    sa[11] = mac.length;
    sa.set(mac, 12);
  }
  return sa;
}

/** An AF_PACKET/SOCK_DGRAM socket for IPv4 on one interface. */
export class PacketSocket {
  private readonly rbuf = new Uint8Array(RECV_BUF_LEN);
  private closed = false;

  private constructor(readonly fd: number, readonly ifindex: number) {}

  /** Returns a socket bound to ifindex in the calling thread's current netns; throws SyscallError. */
  static open(ifindex: number): PacketSocket {
    const libc = sys();
    const fd = check(libc.socket(AF_PACKET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, ((ETH_P_IP & 0xff) << 8) | (ETH_P_IP >> 8)), "socket", "AF_PACKET");
    if (libc.bind(fd, sockaddrLL(ifindex), SOCKADDR_LL_LEN) < 0) {
      const e = errno();
      libc.close(fd);
      throw new SyscallError("bind", e, `AF_PACKET ifindex ${ifindex}`);
    }
    return new PacketSocket(fd, ifindex);
  }

  /** Sends one IPv4 packet to the link's broadcast address; throws SyscallError. */
  sendBroadcast(packet: Uint8Array): void {
    const sa = sockaddrLL(this.ifindex, BROADCAST_MAC);
    for (;;) {
      const n = Number(sys().sendto(this.fd, packet, packet.length, 0, sa, SOCKADDR_LL_LEN));
      if (n >= 0) return;
      const e = errno();
      if (e !== EINTR) throw new SyscallError("sendto", e, `AF_PACKET ifindex ${this.ifindex}`);
    }
  }

  /** Returns the next IPv4 packet waiting on the socket (a copy), or undefined when none is; throws SyscallError. */
  tryRecv(): Uint8Array | undefined {
    for (;;) {
      const n = Number(sys().recvfrom(this.fd, this.rbuf, this.rbuf.length, MSG_DONTWAIT, null, null));
      if (n >= 0) return this.rbuf.slice(0, n);
      const e = errno();
      if (e === EAGAIN) return undefined;
      if (e !== EINTR) throw new SyscallError("recvfrom", e, `AF_PACKET ifindex ${this.ifindex}`);
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    sys().close(this.fd);
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
