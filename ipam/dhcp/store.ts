// ipam/dhcp/store.ts: the daemon's leases on disk, one JSON file per lease, so a restarted daemon resumes renewing
// them (upstream keeps leases in memory only and loses them with the process). Files are written to a temporary
// name and renamed, so a crash leaves either the old record or the new one. Nothing else reads them.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { decodeMessage, encodeMessage, type Message } from "./packet.ts";
import type { LeaseTimes } from "./lease-result.ts";

const FORMAT = 1;

/** Everything needed to resume a lease: who it is for, where it lives, what it sends, what the server said. */
export interface LeaseRecord extends LeaseTimes {
  clientID: string;
  containerID: string;
  network: string;
  ifName: string;
  /** The netns path the daemon opens (host prefix applied). */
  netns: string;
  /** `<dev>:<ino>` of that netns when the lease was taken, so a path reused for another netns is not mistaken for it. */
  netnsId: string;
  /** prepareOptions' list. */
  extra: { code: number; value: Uint8Array }[];
  offerServerID?: Uint8Array;
  ack: Message;
  /** Set once the lease ran out and the link was set down. */
  expired?: boolean;
}

/** The on-disk form: bytes as hex, the ACK as message bytes. */
interface StoredLease extends LeaseTimes {
  format: number;
  clientID: string;
  containerID: string;
  network: string;
  ifName: string;
  netns: string;
  netnsId: string;
  extra: [number, string][];
  offerServerID?: string;
  ack: string;
  expired?: boolean;
}

const hex = (b: Uint8Array) => Buffer.from(b).toString("hex");
const unhex = (s: string) => new Uint8Array(Buffer.from(s, "hex"));

/** Returns the file name of a lease: the SHA-256 of its client id (ids hold `/` and run to 254 bytes). */
export function leaseFileName(clientID: string): string {
  return `${new Bun.CryptoHasher("sha256").update(clientID).digest("hex")}.json`;
}

/** A directory of lease records. */
export class LeaseStore {
  constructor(readonly dir: string) {}

  /** Writes the record (replacing any older one); throws when the directory or file cannot be written. */
  save(r: LeaseRecord): void {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    const stored: StoredLease = {
      format: FORMAT,
      clientID: r.clientID,
      containerID: r.containerID,
      network: r.network,
      ifName: r.ifName,
      netns: r.netns,
      netnsId: r.netnsId,
      extra: r.extra.map((o) => [o.code, hex(o.value)]),
      ack: hex(encodeMessage(r.ack)), // decodes to the same options, repeated ones joined
      renewAt: r.renewAt,
      rebindAt: r.rebindAt,
      expireAt: r.expireAt,
    };
    if (r.offerServerID) stored.offerServerID = hex(r.offerServerID);
    if (r.expired) stored.expired = true;
    const path = `${this.dir}/${leaseFileName(r.clientID)}`;
    writeFileSync(`${path}.tmp`, JSON.stringify(stored), { mode: 0o600 });
    renameSync(`${path}.tmp`, path);
  }

  /** Removes the record of a client id; a missing one is fine. */
  remove(clientID: string): void {
    rmSync(`${this.dir}/${leaseFileName(clientID)}`, { force: true });
  }

  /** Returns every readable record; a file that does not parse is reported through `bad` and removed. */
  loadAll(bad: (file: string, why: string) => void): LeaseRecord[] {
    let names: string[];
    try {
      names = readdirSync(this.dir);
    } catch {
      return []; // no directory: no leases yet
    }
    const out: LeaseRecord[] = [];
    for (const name of names) {
      const path = `${this.dir}/${name}`;
      if (name.endsWith(".tmp")) {
        rmSync(path, { force: true }); // a write the daemon did not finish
        continue;
      }
      if (!name.endsWith(".json")) continue;
      try {
        out.push(parseRecord(readFileSync(path, "utf8")));
      } catch (e) {
        bad(path, (e as Error).message);
        rmSync(path, { force: true });
      }
    }
    return out;
  }
}

function parseRecord(text: string): LeaseRecord {
  const s = JSON.parse(text) as StoredLease;
  if (s.format !== FORMAT) throw new Error(`unknown format ${JSON.stringify(s.format)}`);
  for (const k of ["clientID", "containerID", "network", "ifName", "netns", "netnsId", "ack"] as const) {
    if (typeof s[k] !== "string") throw new Error(`field ${k} is not a string`);
  }
  for (const k of ["renewAt", "rebindAt", "expireAt"] as const) {
    if (typeof s[k] !== "number") throw new Error(`field ${k} is not a number`);
  }
  const ack = decodeMessage(unhex(s.ack));
  if (typeof ack === "string") throw new Error(`stored ACK: ${ack}`);
  const r: LeaseRecord = {
    clientID: s.clientID,
    containerID: s.containerID,
    network: s.network,
    ifName: s.ifName,
    netns: s.netns,
    netnsId: s.netnsId,
    extra: (s.extra ?? []).map(([code, value]) => ({ code, value: unhex(value) })),
    ack,
    renewAt: s.renewAt,
    rebindAt: s.rebindAt,
    expireAt: s.expireAt,
  };
  if (s.offerServerID !== undefined) r.offerServerID = unhex(s.offerServerID);
  if (s.expired) r.expired = true;
  return r;
}
