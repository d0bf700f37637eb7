// pkg/ip/renamed-link.ts: a link made on a lower device straight into a container netns under a temporary
// `veth<8 hex>` name and renamed to its final name there (upstream's macvlan and ipvlan createX: "due to kernel bug
// we have to create with tmpName or it might collide with the name on the host"). Errors read like upstream's,
// which prints Go's lower-case errno text.
import { describeErrno, EEXIST } from "../sys/libc.ts";
import { addLink, delLink, getLinkByName, LinkNotFoundError, setLinkName, type Link } from "./link.ts";
import type { LinkSpec } from "./link-kinds.ts";
import { hasErrno, isNotFound, NetlinkError, type NetlinkSocket } from "./nl/socket.ts";
import { randomVethName } from "./veth.ts";

const q = JSON.stringify;
// A clash of a random 32-bit name is already unlikely; ten in a row means something else is wrong.
const NAME_TRIES = 10;

/**
 * Returns a netlink error's text as Go's netlink prints it: `Link not found` for a missing link, else the errno in
 * lower case and the kernel's ext-ack words; any other error's own message.
 */
export function goErrorText(e: unknown): string {
  if (e instanceof LinkNotFoundError) return "Link not found"; // vishvananda's LinkNotFoundError text
  if (!(e instanceof NetlinkError)) return (e as Error).message;
  const text = describeErrno(e.errno);
  return `${text.charAt(0).toLowerCase()}${text.slice(1)}${e.extAck ? `: ${e.extAck}` : ""}`;
}

export interface RenamedLinkOptions {
  /** Where the create request goes: a host socket with the spec's netnsFd set, or the container's own socket. */
  createSock: NetlinkSocket;
  /** A socket in the container netns, where the link ends up. */
  ctrSock: NetlinkSocket;
  /** The final name (CNI_IFNAME). */
  ifname: string;
  /** The kind as messages name it ("macvlan"). */
  what: string;
  /** The link to create, under the temporary name given. */
  spec: (tmpName: string) => LinkSpec;
}

/**
 * Creates the link, renames it to `ifname` inside the container and returns it as read back there. Nothing is left
 * behind when it throws: `failed to rename <what> to "<ifname>": file exists` when the container already has that
 * name (found before anything is made), `failed to create <what>: …` with the kernel's words (EOPNOTSUPP "Unknown
 * device type" for a kind the kernel lacks), `failed to rename …` when the rename fails (the link is deleted again).
 */
export function createRenamedLink(o: RenamedLinkOptions): Link {
  // Upstream finds a clash only when its rename fails; asking first makes nothing at all in that case.
  if (linkExists(o.ctrSock, o.ifname)) throw new Error(`failed to rename ${o.what} to ${q(o.ifname)}: file exists`); // upstream text
  let tmpName = "";
  for (let attempt = 1; ; attempt++) {
    tmpName = randomVethName();
    try {
      addLink(o.createSock, o.spec(tmpName));
      break;
    } catch (e) {
      // EEXIST here can only be the temporary name, taken in the container; a lower device refuses with other errnos.
      if (hasErrno(e, EEXIST) && attempt < NAME_TRIES) continue;
      throw new Error(`failed to create ${o.what}: ${goErrorText(e)}`, { cause: e }); // upstream text
    }
  }
  let index = 0;
  try {
    index = getLinkByName(o.ctrSock, tmpName).index;
    setLinkName(o.ctrSock, index, o.ifname);
    return getLinkByName(o.ctrSock, o.ifname);
  } catch (e) {
    try {
      delLink(o.ctrSock, index || getLinkByName(o.ctrSock, tmpName).index);
    } catch (undoErr) {
      console.error(`failed to delete ${q(tmpName)} after a failed rename: ${(undoErr as Error).message}`);
    }
    throw new Error(`failed to rename ${o.what} to ${q(o.ifname)}: ${goErrorText(e)}`, { cause: e }); // upstream text
  }
}

/** Returns whether a link called name exists in the socket's netns; throws other netlink errors. */
export function linkExists(sock: NetlinkSocket, name: string): boolean {
  try {
    getLinkByName(sock, name);
    return true;
  } catch (e) {
    if (isNotFound(e)) return false;
    throw e;
  }
}
