// meta/tuning/backup.ts: the file in which ADD keeps the link settings it is about to change, so DEL can put them
// back: `<dataDir>/<containerID>_<ifname>.json`, byte for byte what the Go plugin writes (SPEC-DIGEST §3.4) plus one
// last key naming the network (see Backup.network), so a DEL by either implementation restores what the other's ADD
// changed.
import { any, bool, decodeRoot, int, parseJSON, str, struct } from "../../pkg/cni/decode.ts";
import {
  formatMAC, isAllmulti, setLinkAllmulti, setLinkMAC, setLinkMTU, setLinkPromisc, setLinkTxQLen, type Link,
} from "../../pkg/ip/link.ts";
import type { NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { goNetlinkText, goPathError, joinPath } from "./go-compat.ts";
import { parseHardwareAddr } from "./mac.ts";
import * as files from "../../pkg/sys/fs.ts"; // libc: node:fs costs ~2.5 ms and ~3.4 MiB to load (BUN-NOTES §11)

/** The pre-ADD values of the attributes ADD changes (upstream configToRestore); absent ones are not restored. */
export interface Backup {
  mac?: string;
  promisc?: boolean;
  mtu?: number;
  allmulti?: boolean;
  txQLen?: number;
  /**
   * Ours only: the network whose ADD wrote the file. Networks share the dataDir and upstream's format names none,
   * so GC needs it to leave other networks' backups alone. Go's json.Unmarshal ignores the key, and a file Go wrote
   * (without it) is never collected.
   */
  network?: string;
}

/** The key `network` is stored under: namespaced, so it can never clash with a field upstream may add. */
export const NETWORK_KEY = "cni.dev/network";

/** Which attributes an ADD is going to change. */
export interface Changes {
  mac: boolean;
  promisc: boolean;
  mtu: boolean;
  allmulti: boolean;
  txQLen: boolean;
}

/** Returns the backup file of one attachment (path.Join, so a relative or untidy dataDir is cleaned as upstream). */
export function backupPath(dataDir: string, containerId: string, ifname: string): string {
  return joinPath(dataDir, `${containerId}_${ifname}.json`);
}

/** Returns what the link has now for each attribute about to change (upstream createBackup). */
export function backupOf(link: Link, changes: Changes): Backup {
  const b: Backup = {};
  if (changes.mac) b.mac = link.mac;
  // IFLA_PROMISCUITY, a count of holders, as vishvananda's Attrs().Promisc: not the IFF_PROMISC flag.
  if (changes.promisc) b.promisc = (link.promiscuity ?? 0) !== 0;
  if (changes.mtu) b.mtu = link.mtu;
  if (changes.allmulti) b.allmulti = isAllmulti(link);
  if (changes.txQLen) b.txQLen = link.txqlen ?? 0;
  return b;
}

/**
 * Returns the file's bytes as Go's json.MarshalIndent(configToRestore, "", " ") writes them: one-space indent, no
 * trailing newline, fields in struct order; an empty mac and a zero mtu are left out (omitempty on values), the
 * pointer fields promisc, allmulti and txQLen are written whenever set, false and 0 included. Our `network` comes
 * last, under NETWORK_KEY.
 */
export function encodeBackup(b: Backup): string {
  const o: Record<string, unknown> = {};
  if (b.mac) o.mac = b.mac;
  if (b.promisc !== undefined) o.promisc = b.promisc;
  if (b.mtu) o.mtu = b.mtu;
  if (b.allmulti !== undefined) o.allmulti = b.allmulti;
  if (b.txQLen !== undefined) o.txQLen = b.txQLen;
  if (b.network !== undefined) o[NETWORK_KEY] = b.network;
  return JSON.stringify(o, null, 1);
}

const backupDecoder = struct("configToRestore", { mac: str, promisc: bool, mtu: int, allmulti: bool, txQLen: int, [NETWORK_KEY]: any });

/** Returns the backup in a file's text, or undefined when Go's json.Unmarshal would fail (then DEL restores nothing). */
export function decodeBackup(text: string): Backup | undefined {
  try {
    const v = parseJSON(text);
    if (v === null) return {}; // Go leaves the struct as it was
    const { [NETWORK_KEY]: network, ...fields } = decodeRoot(v, backupDecoder, "configToRestore");
    // Go ignores the key; a value that is not a string names no network rather than spoiling the restore.
    return typeof network === "string" ? { ...fields, network } : fields;
  } catch {
    return undefined;
  }
}

/** Returns the file's bytes, or undefined when there is none (nor a directory for it); throws on other errors. */
export function readIfExists(path: string): Uint8Array | undefined {
  try {
    return files.readFileSync(path);
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "ENOTDIR") return undefined;
    throw goPathError(e, path);
  }
}

/**
 * Writes the backup (mode 0600 when new). A missing dataDir is created with mode 0600, parents included.
 * upstream quirk: 0600 on a directory, so only root (CAP_DAC_OVERRIDE) can enter it; kept so both agree.
 */
export function writeBackup(dataDir: string, file: string, ifname: string, b: Backup): void {
  if (!files.existsSync(dataDir)) {
    try {
      files.mkdirSync(dataDir, { recursive: true, mode: 0o600 });
    } catch (e) {
      throw new Error(`failed to create backup directory: ${goPathError(e, (e as NodeJS.ErrnoException).path ?? dataDir, "mkdir").message}`); // upstream text
    }
  }
  try {
    files.writeFileSync(file, encodeBackup(b), { mode: 0o600 });
  } catch (e) {
    throw new Error(`failed to save file ${ifname}.json: ${goPathError(e, file).message}`); // upstream text
  }
}

/**
 * Puts the backup's values back on the link, in upstream's order (MTU, MAC, promisc, allmulti, txqueuelen), going on
 * after a failure. Returns one upstream-worded message per failed attribute (none: everything was restored).
 */
export function restoreLink(sock: NetlinkSocket, index: number, b: Backup): string[] {
  const errors: string[] = [];
  const attempt = (what: string, fn: () => void) => {
    try {
      fn();
    } catch (e) {
      errors.push(`failed to restore ${what}: ${goNetlinkText(e)}`); // upstream text
    }
  };
  if (b.mtu) attempt("MTU", () => setLinkMTU(sock, index, b.mtu!));
  if (b.mac) {
    attempt("MAC address", () => {
      let bytes: Uint8Array;
      try {
        bytes = parseHardwareAddr(b.mac!);
      } catch (e) {
        throw new Error(`invalid args ${b.mac} for MAC addr: ${(e as Error).message}`); // upstream text
      }
      setLinkMAC(sock, index, formatMAC(bytes));
    });
  }
  if (b.promisc !== undefined) attempt("promiscuous mode", () => setLinkPromisc(sock, index, b.promisc!));
  if (b.allmulti !== undefined) attempt("all-multicast mode", () => setLinkAllmulti(sock, index, b.allmulti!));
  if (b.txQLen !== undefined) attempt("transmit queue length", () => setLinkTxQLen(sock, index, b.txQLen!));
  return errors;
}

/** Writes a backup file's earlier bytes back (undoing a failed ADD that overwrote it). */
export function putBack(path: string, bytes: Uint8Array): void {
  try {
    files.writeFileSync(path, bytes);
  } catch (e) {
    throw goPathError(e, path);
  }
}

/** Removes a file; throws upstream's `failed to remove file <path>: …`. A file already gone is no error. */
export function removeBackup(path: string): void {
  try {
    files.unlinkSync(path);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return;
    throw new Error(`failed to remove file ${path}: ${goPathError(e, path, "remove").message}`); // upstream text
  }
}
