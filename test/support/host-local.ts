// test/support/host-local.ts: what host-local tests share: the network config they send and the store layout on disk
// (SPEC-DIGEST §2.1). The result text each spec version prints is in result.ts.
import type { Ip } from "./result.ts";
import { underUmask, type Entry } from "./temp-dir.ts";

// The result shapes moved to result.ts; these names stay here for the tests that import them from this file.
export { ipamResult, printed, type Ip } from "./result.ts";

/** The network name every host-local test uses: the store is `<dataDir>/<NET>/`. */
export const NET = "hlnet";

/** Returns a network config for host-local: one IPv4 /24 range set unless `ipam` says otherwise. */
export function hostLocalConf(cniVersion: string, dataDir: string, ipam: object = {}, top: object = {}): Record<string, unknown> {
  return {
    cniVersion,
    name: NET,
    type: "ptp",
    ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.1.2.0/24" }]], ...ipam },
    ...top,
  };
}

// ---------- the addresses host-local hands out, first come first served ----------

/** An address host-local hands out, with its subnet (routes and masquerade rules name it). */
export interface Addr extends Ip {
  gateway: string;
  subnet: string;
}
export const RANGE4 = [{ subnet: "10.1.2.0/24" }];
export const RANGE6 = [{ subnet: "fd00:1::/64" }];
/** The first and second address of RANGE4, and the first of RANGE6. */
export const A4: Addr = { address: "10.1.2.2/24", gateway: "10.1.2.1", subnet: "10.1.2.0/24" };
export const B4: Addr = { address: "10.1.2.3/24", gateway: "10.1.2.1", subnet: "10.1.2.0/24" };
export const A6: Addr = { address: "fd00:1::2/64", gateway: "fd00:1::1", subnet: "fd00:1::/64" };

/** Returns the address as IPAM's result reports it. */
export const ipOf = ({ address, gateway }: Addr): Ip => ({ address, gateway });
/** Returns the address without its prefix length. */
export const bare = (a: Addr | string): string => (typeof a === "string" ? a : a.address).split("/")[0]!;
export const isV6 = (a: Addr): boolean => a.address.includes(":");

// ---------- the store on disk, as snapshotDir(dataDir) reads it ----------

/** A reservation file: `<id>\r\n<ifname>`, 0600. */
export function reservation(id: string, ifname = "eth0"): Entry {
  return { type: "file", mode: underUmask(0o600), content: `${id}\r\n${ifname}` };
}

/** A last_reserved_ip.<n> file: the IP text, no newline, 0600. */
export function lastReserved(ip: string): Entry {
  return { type: "file", mode: underUmask(0o600), content: ip };
}

/** Returns the snapshot of a dataDir holding only NET's store: the 0755 directory, `lock` and these files. */
export function storeWith(files: Record<string, Entry>): Record<string, Entry> {
  const out: Record<string, Entry> = {
    [NET]: { type: "dir", mode: underUmask(0o755) },
    // go-filemutex creates it O_CREAT|O_RDONLY with mode 0750; it stays empty.
    [`${NET}/lock`]: { type: "file", mode: underUmask(0o750), content: "" },
  };
  for (const [name, e] of Object.entries(files)) out[`${NET}/${name}`] = e;
  return out;
}

/** Returns the store after an ADD of each address (by its container ID), one per range set in order. */
export function storeHolding(reserved: Array<[Addr, string]>): Record<string, Entry> {
  return storeWith(Object.fromEntries(reserved.flatMap(([a, id], i) => [[bare(a), reservation(id)], [`last_reserved_ip.${i}`, lastReserved(bare(a))]])));
}

/** Returns the store once those addresses are freed again: the round-robin bookmarks stay, as upstream's do. */
export function storeFreed(ips: Addr[]): Record<string, Entry> {
  return storeWith(Object.fromEntries(ips.map((a, i) => [`last_reserved_ip.${i}`, lastReserved(bare(a))])));
}
