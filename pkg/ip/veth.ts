// pkg/ip/veth.ts: the veth pair every routed or bridged plugin starts from (SPEC-DIGEST §0.8): the container end
// named CNI_IFNAME, the host end `veth<8 hex>`, both up (the container end optionally left down), accept_ra off on
// the host end.
import { hexBytes } from "../sys/bytes.ts";
import { EEXIST } from "../sys/libc.ts";
import type { NetNS } from "../ns/netns.ts";
import { addLink, getLinkByName, linkExists, setLinkUp, type Link } from "./link.ts";
import { hasErrno, type NetlinkSocket } from "./nl/socket.ts";
import { writeSysctl } from "./sysctl.ts";

const NAME_TRIES = 10;

/** Returns `veth` + 8 random lowercase hex characters, upstream's host-side name pattern. */
export function randomVethName(): string {
  const b = crypto.getRandomValues(new Uint8Array(4));
  return "veth" + hexBytes(b);
}

export interface VethOptions {
  ifname: string;
  mtu?: number;
  /** MAC of the container end. */
  mac?: string;
  /** A fixed host-side name instead of a random one. */
  hostName?: string;
  /**
   * Whether to bring the container end up (default true, as ptp wants). bridge passes false and brings it up once
   * it is configured, as upstream does: IPv6 then starts (and runs DAD) only after accept_dad is set, and a disabled
   * container interface never comes up.
   */
  containerUp?: boolean;
}

/**
 * Creates the pair from the container netns (ctrSock lives there) with the peer placed straight into the host
 * netns, brings both up (the container end unless `containerUp` is false) and returns both links as seen
 * afterwards. Call it from the host netns (hostSock's). Throws upstream's texts on name clashes.
 */
export function setupVeth(ctrSock: NetlinkSocket, hostSock: NetlinkSocket, hostNs: NetNS, opts: VethOptions): { host: Link; container: Link } {
  let hostName = "";
  for (let attempt = 1; ; attempt++) {
    hostName = opts.hostName ?? randomVethName();
    try {
      addLink(ctrSock, {
        kind: "veth",
        name: opts.ifname,
        mtu: opts.mtu || undefined,
        mac: opts.mac,
        peer: { name: hostName, mtu: opts.mtu || undefined, netnsFd: hostNs.fd },
      });
      break;
    } catch (e) {
      if (!hasErrno(e, EEXIST)) throw new Error(`failed to make veth pair: ${(e as Error).message}`, { cause: e });
      // EEXIST names neither side: a clash of the random host name is retried, anything else is the container's.
      if (opts.hostName === undefined && linkExists(hostSock, hostName) && attempt < NAME_TRIES) continue;
      if (attempt >= NAME_TRIES) throw new Error("failed to find a unique veth name"); // upstream text
      throw new Error(`container veth name (${JSON.stringify(opts.ifname)}) peer provided (${JSON.stringify(hostName)}) already exists`); // upstream text
    }
  }
  if (opts.containerUp ?? true) {
    const container = getLinkByName(ctrSock, opts.ifname);
    try {
      setLinkUp(ctrSock, container.index);
    } catch (e) {
      throw new Error(`failed to set ${JSON.stringify(opts.ifname)} up: ${(e as Error).message}`, { cause: e });
    }
  }
  let host = getLinkByName(hostSock, hostName);
  try {
    setLinkUp(hostSock, host.index);
  } catch (e) {
    throw new Error(`failed to set ${JSON.stringify(hostName)} up: ${(e as Error).message}`, { cause: e });
  }
  // We own this interface's routes: no router advertisements on the host end (errors ignored, as upstream).
  // The calling thread is in the host netns (hostSock's), so /proc/sys is the host's here.
  try {
    writeSysctl(`net/ipv6/conf/${hostName}/accept_ra`, "0");
  } catch {
    // IPv6 may be disabled on the host
  }
  host = getLinkByName(hostSock, hostName);
  return { host, container: getLinkByName(ctrSock, opts.ifname) };
}
