// plugins/host-device/move.ts: moving a device between the host netns and the container's, through a temporary
// netns in both directions (upstream moveLinkIn/moveLinkOut, v1.9.1). The rename happens where nobody watches: a
// rename in the host netns races with udev and NetworkManager, and a rename in the container could clash with its
// own devices. The original host name travels in the device's alias (IFLA_IFALIAS) so DEL can restore it.
// Every step is undone, newest first, when a later one fails; the device keeps its name and up state.
import { Undo } from "../../pkg/cni/undo.ts";
import { getLinkByName, setLinkAlias, setLinkName, setLinkNetnsFd, setLinkUp, type Link } from "../../pkg/ip/link.ts";
import { IFF_UP } from "../../pkg/ip/nl/consts.ts";
import { isNotFound, NetlinkError, openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { openNetns, type NetNS } from "../../pkg/ns/netns.ts";
import { createTempNetns } from "../../pkg/ns/temp-netns.ts";
import { describeErrno } from "../../pkg/sys/libc.ts";

const q = JSON.stringify;

/** Returns an error's text as the Go plugin words it: vishvananda's "Link not found", syscall errnos in lower case. */
export function goText(e: unknown): string {
  if (e instanceof NetlinkError) {
    if (e.name === "LinkNotFoundError") return "Link not found";
    const s = describeErrno(e.errno);
    return s.charAt(0).toLowerCase() + s.slice(1) + (e.extAck ? `: ${e.extAck}` : "");
  }
  return (e as Error).message;
}

function wrap(what: string, e: unknown): Error {
  return new Error(`${what}: ${goText(e)}`, { cause: e });
}

/**
 * The three network namespaces of a move and one netlink socket in each (a socket acts in the netns it was opened
 * in, BUN-NOTES §1), so no step needs to switch the thread. The temporary netns is made on first use and lives
 * until close(): an undo step may still need it.
 */
export class DeviceMover {
  private readonly hostNs: NetNS;
  readonly host: NetlinkSocket;
  readonly ctr: NetlinkSocket;
  private tempNs?: NetNS;
  private tempSock?: NetlinkSocket;

  /** Opens sockets in the calling thread's netns (the host) and in ctrNs; ctrNs stays the caller's to close. */
  constructor(private readonly ctrNs: NetNS) {
    this.hostNs = openNetns("/proc/thread-self/ns/net");
    try {
      this.host = openRouteSocket();
      this.ctr = openRouteSocket(ctrNs);
    } catch (e) {
      this.close();
      throw e;
    }
  }

  private temp(): { ns: NetNS; sock: NetlinkSocket } {
    if (!this.tempNs) {
      try {
        this.tempNs = createTempNetns();
      } catch (e) {
        throw new Error(`failed to create tempNS: ${(e as Error).message}`, { cause: e }); // upstream text
      }
      this.tempSock = openRouteSocket(this.tempNs);
    }
    return { ns: this.tempNs, sock: this.tempSock! };
  }

  /**
   * Moves hostDev into the container as ifname, with its host name as alias, and sets it up there; returns it as the
   * container sees it. Each step's undo goes onto `undo` (the caller runs it if anything later fails, IPAM
   * included). Throws upstream's texts, the device back where it was.
   */
  moveIn(hostDev: Link, ifname: string, undo: Undo): Link {
    const name = hostDev.name;
    const temp = this.temp();
    // Moving a device to another netns takes it down; only the host netns can bring it back up.
    if (hostDev.flags & IFF_UP) undo.push(`set ${q(name)} up`, () => setLinkUp(this.host, getLinkByName(this.host, name).index));
    try {
      setLinkNetnsFd(this.host, hostDev.index, temp.ns.fd);
    } catch (e) {
      throw wrap(`failed to move ${q(name)} to tempNS`, e); // upstream text
    }
    // Closing the temporary netns would not bring the device back here (a physical one goes to the initial netns,
    // a virtual one is destroyed), so it is moved back by hand. Its index may change on each move: look it up by name.
    undo.push(`move ${q(name)} back to the host netns`, () => setLinkNetnsFd(temp.sock, getLinkByName(temp.sock, name).index, this.hostNs.fd));

    let dev: Link;
    try {
      dev = getLinkByName(temp.sock, name);
    } catch (e) {
      throw wrap(`failed to find ${q(name)} in tempNS`, e); // upstream text
    }
    try {
      setLinkName(temp.sock, dev.index, ifname);
    } catch (e) {
      throw wrap(`failed to rename host device ${q(name)} to ${q(ifname)}`, e); // upstream text
    }
    undo.push(`rename ${q(ifname)} back to ${q(name)}`, () => setLinkName(temp.sock, getLinkByName(temp.sock, ifname).index, name));
    try {
      setLinkAlias(temp.sock, dev.index, name);
    } catch (e) {
      throw wrap(`failed to set alias to ${q(name)}`, e); // upstream text
    }
    // Upstream clears the alias here; putting back what the device had is kinder to an alias set by hand.
    undo.push(`restore the alias of ${q(ifname)}`, () => setLinkAlias(temp.sock, getLinkByName(temp.sock, ifname).index, hostDev.alias ?? ""));
    try {
      setLinkNetnsFd(temp.sock, dev.index, this.ctrNs.fd);
    } catch (e) {
      // EEXIST: the container already has a device called ifname.
      throw wrap(`failed to move ${q(ifname)} (host: ${q(name)}) to container NS`, e); // upstream text
    }
    undo.push(`move ${q(ifname)} out of the container`, () => setLinkNetnsFd(this.ctr, getLinkByName(this.ctr, ifname).index, temp.ns.fd));

    let contDev: Link;
    try {
      contDev = getLinkByName(this.ctr, ifname);
    } catch (e) {
      throw wrap(`failed to find ${q(ifname)} in container NS`, e); // upstream text
    }
    try {
      setLinkUp(this.ctr, contDev.index);
    } catch (e) {
      throw wrap(`failed to set ${q(ifname)} up`, e); // upstream text
    }
    return getLinkByName(this.ctr, ifname);
  }

  /**
   * Moves the container's ifname back to the host under the name its alias holds, alias cleared, left down (its
   * state before ADD is unknown). Returns false when the container has no such device (DEL already done, or a
   * virtual device died with its netns). Throws upstream's texts with the device back in the container, up again
   * if it was: a clash with a host device of that name (EEXIST) can be cleared and DEL retried.
   */
  async moveOut(ifname: string): Promise<boolean> {
    let dev: Link;
    try {
      dev = getLinkByName(this.ctr, ifname);
    } catch (e) {
      if (isNotFound(e)) return false;
      throw wrap(`failed to find ${q(ifname)} in containerNS`, e); // upstream text
    }
    const name = dev.alias ?? "";
    if (name === "") throw new Error(`failed to find original ifname for ${q(ifname)} (alias is not set)`); // upstream text

    const undo = new Undo();
    try {
      const temp = this.temp();
      if (dev.flags & IFF_UP) undo.push(`set ${q(ifname)} up`, () => setLinkUp(this.ctr, getLinkByName(this.ctr, ifname).index));
      try {
        setLinkNetnsFd(this.ctr, dev.index, temp.ns.fd);
      } catch (e) {
        throw wrap(`failed to move ${q(ifname)} to tempNS`, e); // upstream text
      }
      undo.push(`move ${q(ifname)} back into the container`, () => setLinkNetnsFd(temp.sock, getLinkByName(temp.sock, ifname).index, this.ctrNs.fd));

      let tmp: Link;
      try {
        tmp = getLinkByName(temp.sock, ifname);
      } catch (e) {
        throw wrap(`failed to find ${q(ifname)} in tempNS`, e); // upstream text
      }
      try {
        setLinkName(temp.sock, tmp.index, name);
      } catch (e) {
        throw wrap(`failed to rename device ${q(ifname)} to ${q(name)}`, e); // upstream text
      }
      undo.push(`rename ${q(name)} back to ${q(ifname)}`, () => setLinkName(temp.sock, getLinkByName(temp.sock, name).index, ifname));
      try {
        setLinkAlias(temp.sock, tmp.index, "");
      } catch (e) {
        throw wrap(`failed to unset alias of ${q(name)}`, e); // upstream text
      }
      undo.push(`set the alias of ${q(name)} back`, () => setLinkAlias(temp.sock, getLinkByName(temp.sock, name).index, name));
      try {
        setLinkNetnsFd(temp.sock, tmp.index, this.hostNs.fd);
      } catch (e) {
        // EEXIST: the host has a new device of that name meanwhile.
        throw wrap(`failed to move ${q(name)} to hostNS`, e); // upstream text
      }
      return true;
    } catch (e) {
      await undo.run();
      throw e;
    }
  }

  /** Closes the sockets and both netns handles it opened; the temporary netns goes away with its last fd. */
  close(): void {
    this.tempSock?.close();
    this.tempNs?.close();
    (this.ctr as NetlinkSocket | undefined)?.close();
    (this.host as NetlinkSocket | undefined)?.close();
    this.hostNs.close();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
