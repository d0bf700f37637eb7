// pkg/ip/tuntap.ts: persistent TUN/TAP devices, made without `ip tuntap` (BUN-NOTES §7). The kernel refuses
// RTM_NEWLINK for kind "tun", so a device is made by opening /dev/net/tun and TUNSETIFF, given an owner and group,
// marked persistent, and the fd closed: the device stays, with no queue attached, until it is deleted.
//
// Netns: a tun device is born in the netns of the thread that opened /dev/net/tun (the file's socket takes
// current->nsproxy->net_ns), so call createTunTap inside withNetns for the target netns.
// Reading back: getLinkByName gives kind "tun" with tunMode, tunOwner, ... (link-kinds.ts).
// Deleting: there is no deleteTunTap; delLink (link.ts) deletes a persistent tun/tap like any other link.
import type { Pointer } from "bun:ffi";
import { TUN_MODES, type TunMode } from "./link-kinds.ts";
import { IFF_MULTI_QUEUE, IFF_NO_PI, IFF_TUN_EXCL, IFF_VNET_HDR } from "./nl/consts.ts";
import { check, cstr, sys } from "../sys/libc.ts";

// ioctls of <linux/if_tun.h>: _IOW('T', nr, int), as encoded on x86-64 and arm64 (asm-generic/ioctl.h).
const TUNSETIFF = 0x400454ca;
const TUNSETPERSIST = 0x400454cb;
const TUNSETOWNER = 0x400454cc;
const TUNSETGROUP = 0x400454ce;

const TUN_PATH = "/dev/net/tun";
const O_RDWR = 0o2;
const O_CLOEXEC = 0o2000000;

// struct ifreq, <linux/if.h>: 40 bytes on 64-bit; ifr_name[IFNAMSIZ] at 0, then a union whose ifr_flags (short) is at 16.
const IFREQ_LEN = 40;
const IFNAMSIZ = 16;
const IFR_FLAGS_OFFSET = 16;

/** What createTunTap makes. */
export interface TunTapSpec {
  /** At most 15 bytes; a `%d` template ("tap%d") lets the kernel pick the number, and "" gives "tun%d"/"tap%d". */
  name: string;
  mode: TunMode;
  /** IFF_MULTI_QUEUE: the device takes several queue fds (virtio-net multiqueue). */
  multiQueue?: boolean;
  /** IFF_VNET_HDR: frames carry a struct virtio_net_hdr. */
  vnetHdr?: boolean;
  /**
   * Keep the 4-byte packet-info header on frames (no IFF_NO_PI). Default false, as `ip tuntap add`; upstream's tap
   * plugin leaves it on in its netlink path unless multiQueue is set.
   */
  pi?: boolean;
  /** TUNSETOWNER: the uid allowed to attach to the device besides CAP_NET_ADMIN. */
  owner?: number;
  /** TUNSETGROUP: the gid allowed to attach. */
  group?: number;
}

/**
 * Returns the 40-byte struct ifreq TUNSETIFF takes for spec (name, then the IFF_* flags; IFF_TUN_EXCL always, so an
 * existing name fails instead of attaching to it). Throws on a name longer than 15 bytes.
 */
export function encodeTunSetIff(spec: TunTapSpec): Uint8Array {
  const name = new TextEncoder().encode(spec.name);
  if (name.length >= IFNAMSIZ) throw new Error(`invalid ${spec.mode} name ${JSON.stringify(spec.name)}: longer than ${IFNAMSIZ - 1} bytes`);
  let flags = TUN_MODES[spec.mode] | IFF_TUN_EXCL;
  if (!spec.pi) flags |= IFF_NO_PI;
  if (spec.vnetHdr) flags |= IFF_VNET_HDR;
  if (spec.multiQueue) flags |= IFF_MULTI_QUEUE;
  const ifr = new Uint8Array(IFREQ_LEN);
  ifr.set(name, 0);
  new DataView(ifr.buffer).setUint16(IFR_FLAGS_OFFSET, flags, true); // host order; x86-64 and arm64 are little-endian
  return ifr;
}

// Returns the interface name the kernel wrote back into the ifreq (a `%d` template filled in).
function readIfreqName(ifr: Uint8Array): string {
  const name = ifr.subarray(0, IFNAMSIZ);
  const end = name.indexOf(0);
  return new TextDecoder().decode(end < 0 ? name : name.subarray(0, end));
}

/**
 * Creates a persistent tun or tap device in the calling thread's netns (use withNetns) and returns the kernel's
 * name for it. Throws SyscallError: EBUSY when the name is taken, EPERM without CAP_NET_ADMIN, ENOENT without
 * /dev/net/tun. Nothing is left behind on failure. Delete it with delLink.
 */
export function createTunTap(spec: TunTapSpec): string {
  const ifr = encodeTunSetIff(spec);
  for (const [field, id] of [["owner", spec.owner], ["group", spec.group]] as const) {
    if (id !== undefined && !(Number.isInteger(id) && id >= 0 && id <= 0xffffffff)) {
      throw new Error(`invalid ${spec.mode} ${field} ${id} (must be a uint32)`);
    }
  }
  const libc = sys();
  const what = JSON.stringify(spec.name);
  const fd = check(libc.open(cstr(TUN_PATH), O_RDWR | O_CLOEXEC, 0), "open", TUN_PATH);
  // Until TUNSETPERSIST the device lives only as long as this fd, so a failure below removes it again on close.
  try {
    check(libc.ioctl(fd, TUNSETIFF, ifr), "TUNSETIFF", what);
    // These three take their value as the ioctl argument itself, not a pointer to it.
    if (spec.owner !== undefined) check(libc.ioctl(fd, TUNSETOWNER, spec.owner as Pointer), "TUNSETOWNER", what);
    if (spec.group !== undefined) check(libc.ioctl(fd, TUNSETGROUP, spec.group as Pointer), "TUNSETGROUP", what);
    check(libc.ioctl(fd, TUNSETPERSIST, 1 as Pointer), "TUNSETPERSIST", what);
    return readIfreqName(ifr);
  } finally {
    libc.close(fd);
  }
}
