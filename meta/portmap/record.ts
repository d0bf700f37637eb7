// meta/portmap/record.ts: which network's ADD made a container's nftables rules, kept as a small file
// `<dataDir>/<network>/<containerID>` (dataDir: config key `dataDir`, default /var/lib/cni/portmap) holding the
// container addresses the rules point at. Ours only: the Go plugin neither writes nor reads it.
//
// Why a file: upstream's nftables rules carry only the container ID as comment, and Go's DEL deletes by that
// comment, so the comment must stay as it is. But one container ID can be attached to several networks, so the
// comment alone cannot say which network a rule belongs to, and a GC of one network must never touch another's.
// The record says "network N made rules for container C pointing at addresses A": a rule commented C whose DNAT
// target (hostports) or masquerade destination (masquerading) is in A is N's. The iptables backend needs no record:
// its chain name hashes network + container ID and its jumps carry `dnat name: "<net>" id: "<cid>"`.
//
// ADD writes the record before the rules (so no rule of ours ever lacks one; a failed ADD removes it again), DEL
// removes it after the rules. A DEL by the Go plugin leaves the record behind; GC removes it once the runtime no
// longer lists the container. Network names and container IDs are checked by the skel
// (`^[a-zA-Z0-9][a-zA-Z0-9_.-]*$`), so both are safe single path components.
import { formatIP, parseIP } from "../../pkg/ip/cidr.ts";
import type { Undo } from "../../pkg/cni/undo.ts";
import * as files from "../../pkg/sys/fs.ts"; // libc: node:fs costs ~2.5 ms and ~3.4 MiB to load (BUN-NOTES §11)

/** What one record says: network `network` made nftables rules for `containerID` pointing at `addresses`. */
export interface PortmapRecord {
  network: string;
  containerID: string;
  /** Bare container addresses as nft prints them (formatIP), v4 before v6 in ADD order. */
  addresses: string[];
}

// A name the skel lets through as a network or container ID; anything else in the directory is not a record
// (our own temporary files start with ".").
const NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;

/** Returns the directory of one network's records. */
export function networkDir(dataDir: string, network: string): string {
  return `${dataDir.replace(/\/+$/, "")}/${network}`;
}

/** Returns the record file of one network and container. */
export function recordPath(dataDir: string, network: string, containerID: string): string {
  return `${networkDir(dataDir, network)}/${containerID}`;
}

/** Returns the file text of a record: one line of JSON, keys in a fixed order. */
export function encodeRecord(r: PortmapRecord): string {
  return JSON.stringify({ network: r.network, containerID: r.containerID, addresses: r.addresses }) + "\n";
}

/**
 * Returns the record in a file's text, or undefined when the text is not one, or names another network or
 * container than its path does (a file copied or edited by hand proves nothing).
 */
export function decodeRecord(text: string, network: string, containerID: string): PortmapRecord | undefined {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch {
    return undefined;
  }
  if (typeof v !== "object" || v === null || Array.isArray(v)) return undefined;
  const o = v as Record<string, unknown>;
  if (o.network !== network || o.containerID !== containerID || !Array.isArray(o.addresses)) return undefined;
  const addresses: string[] = [];
  for (const a of o.addresses) {
    const ip = typeof a === "string" ? parseIP(a) : undefined;
    if (!ip) return undefined;
    addresses.push(formatIP(ip));
  }
  return { network, containerID, addresses };
}

/**
 * Writes (or widens) the record of one network and container before its rules are added, atomically (a temporary
 * file renamed over it). A record already there keeps its addresses too: its older rules may still point at them.
 * Registers on `undo` the removal of the record, or the old text back. Throws with the path on failure.
 */
export function writeRecord(dataDir: string, r: PortmapRecord, undo: Undo): void {
  const dir = networkDir(dataDir, r.network);
  const path = recordPath(dataDir, r.network, r.containerID);
  const old = readText(path);
  const before = old === undefined ? undefined : decodeRecord(old, r.network, r.containerID);
  const addresses = [...r.addresses];
  for (const a of before?.addresses ?? []) if (!addresses.includes(a)) addresses.push(a);
  const text = encodeRecord({ ...r, addresses });
  if (text === old) return;
  try {
    files.mkdirSync(dir, { recursive: true, mode: 0o755 });
    replaceFile(path, text);
  } catch (e) {
    throw new Error(`failed to write portmap record ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
  undo.push(`portmap record ${path}`, () => (old === undefined ? files.rmSync(path, { force: true }) : replaceFile(path, old)));
}

/**
 * Removes the record of one network and container, and any temporary file of it an ADD killed mid-write left
 * (`.<containerID>.<pid>.tmp`); a missing one is fine. Throws with the path on failure.
 */
export function removeRecord(dataDir: string, network: string, containerID: string): void {
  const path = recordPath(dataDir, network, containerID);
  try {
    // The network's directory stays: removing it could race with an ADD that has just made it.
    files.rmSync(path, { force: true });
    for (const tmp of leftTemps(networkDir(dataDir, network), containerID)) files.rmSync(tmp, { force: true });
  } catch (e) {
    throw new Error(`failed to remove portmap record ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
}

/** One file in a network's record directory: the container ID it names, and the record, or undefined if unreadable. */
export interface RecordEntry {
  containerID: string;
  record: PortmapRecord | undefined;
}

/** Returns the records of one network (none when its directory does not exist). Throws when the directory cannot be read. */
export function listRecords(dataDir: string, network: string): RecordEntry[] {
  const dir = networkDir(dataDir, network);
  let names: string[];
  try {
    names = files.readdirSync(dir);
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new Error(`failed to read portmap records in ${JSON.stringify(dir)}: ${(e as Error).message}`, { cause: e });
  }
  const out: RecordEntry[] = [];
  for (const name of names.sort()) {
    if (!NAME.test(name)) continue;
    const text = readText(`${dir}/${name}`);
    if (text === undefined) continue; // a directory, or gone meanwhile
    out.push({ containerID: name, record: decodeRecord(text, network, name) });
  }
  return out;
}

/**
 * Returns, for one container ID, the records other networks than `network` hold: a record that cannot be read counts
 * as claiming every address (undefined), so its rules are never taken for ours.
 */
export function otherNetworksRecords(dataDir: string, network: string, containerID: string): (PortmapRecord | undefined)[] {
  let names: string[];
  try {
    names = files.readdirSync(dataDir.replace(/\/+$/, "") || "/");
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw new Error(`failed to read portmap records in ${JSON.stringify(dataDir)}: ${(e as Error).message}`, { cause: e });
  }
  const out: (PortmapRecord | undefined)[] = [];
  for (const other of names.sort()) {
    if (other === network || !NAME.test(other)) continue;
    const text = readText(recordPath(dataDir, other, containerID));
    if (text !== undefined) out.push(decodeRecord(text, other, containerID));
  }
  return out;
}

// Returns a regular file's text, or undefined when there is none (missing, or a directory).
function readText(path: string): string | undefined {
  try {
    return files.readFileSync(path, "utf8");
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    if (code === "ENOENT" || code === "EISDIR" || code === "ENOTDIR") return undefined;
    throw new Error(`failed to read portmap record ${JSON.stringify(path)}: ${(e as Error).message}`, { cause: e });
  }
}

// Returns the temporary files of one container's record in dir (replaceFile's names), none when dir is unreadable.
function leftTemps(dir: string, containerID: string): string[] {
  let names: string[];
  try {
    names = files.readdirSync(dir);
  } catch {
    return [];
  }
  const prefix = `.${containerID}.`;
  return names.filter((n) => n.startsWith(prefix) && /^\d+\.tmp$/.test(n.slice(prefix.length))).map((n) => `${dir}/${n}`);
}

// Writes next to the target and renames, so a concurrent GC never reads half a record.
function replaceFile(path: string, text: string): void {
  const slash = path.lastIndexOf("/");
  const tmp = `${path.slice(0, slash + 1)}.${path.slice(slash + 1)}.${process.pid}.tmp`;
  try {
    files.writeFileSync(tmp, text, { mode: 0o644 });
    files.renameSync(tmp, path);
  } catch (e) {
    files.rmSync(tmp, { force: true });
    throw e;
  }
}
