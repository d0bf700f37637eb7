// test/support/libcni.ts: what the libcni and cnitool tests share: a libcni whose plugins run inside a throwaway host
// netns, conflist directories, cnitool run as a user runs it, and a digest of one netns pair's CNI state (links,
// masquerade rules, reservations) to compare whole before and after.
import { readdirSync, writeFileSync, existsSync } from "node:fs";
import { CNIConfig } from "../../pkg/libcni/api.ts";
import { RawExec } from "../../pkg/libcni/exec.ts";
import { linksIn } from "./link-state.ts";
import { cniNatLines, nftMasqRules } from "./masquerade.ts";
import { nsName } from "./ns-exec.ts";
import type { TempNetns } from "./netns.ts";
import { OURS, type Run } from "./run-plugin.ts";

/** Returns a libcni that finds plugins in `dirs` and runs them inside the host netns (`ip netns exec`), caching under cacheDir. */
export function libcniIn(host: TempNetns | string, dirs: string[], cacheDir: string): CNIConfig {
  return new CNIConfig({
    path: dirs,
    cacheDir,
    exec: new RawExec({ wrapper: ["ip", "netns", "exec", nsName(host)] }),
    env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" },
  });
}

/** Writes conflist files (name → object) into dir. */
export function writeConfs(dir: string, files: Record<string, object>): void {
  for (const [name, conf] of Object.entries(files)) writeFileSync(`${dir}/${name}`, JSON.stringify(conf, null, 2));
}

export interface CnitoolOptions {
  host: TempNetns | string;
  netconf: string;
  cacheDir: string;
  /** CNI_PATH; our bin/ by default. */
  cniPath?: string;
  env?: Record<string, string>;
}

/** Runs our cnitool inside the host netns as a user would, with NETCONFPATH, CNI_PATH and CNI_CACHE_DIR set. */
export function cnitool(args: string[], o: CnitoolOptions): Run {
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(o.host), `${OURS}/cnitool`, ...args], {
    env: {
      PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin",
      NETCONFPATH: o.netconf,
      CNI_PATH: o.cniPath ?? OURS,
      CNI_CACHE_DIR: o.cacheDir,
      ...o.env,
    },
    stdout: "pipe",
    stderr: "pipe",
  });
  const stdout = p.stdout.toString();
  let json: unknown;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { exitCode: p.exitCode ?? -1, stdout, stderr: p.stderr.toString(), json };
}

/** Returns cnitool's container ID for a netns path ("cnitool-" + 20 hex of SHA-512(path)). */
export function cnitoolId(netnsPath: string): string {
  return `cnitool-${new Bun.CryptoHasher("sha512").update(netnsPath).digest("hex").slice(0, 20)}`;
}

/** What CNI left in a host netns: its veths (names), the CNI nat lines (both families) and the nft masquerade comments. */
export function hostCniState(host: TempNetns | string): { veths: string[]; nat: string[]; nft: string[] } {
  return {
    veths: linksIn(host).filter((l) => l.kind === "veth").map((l) => l.ifname).sort(),
    nat: cniNatLines(host),
    nft: (nftMasqRules(host) ?? []).map((r) => r.comment ?? "").sort(),
  };
}

/** Returns host-local's reservations of a network in dataDir (address files), sorted. */
export function reservations(dataDir: string, network: string): string[] {
  const dir = `${dataDir}/${network}`;
  if (!existsSync(dir)) return [];
  return readdirSync(dir).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip")).sort();
}

/** Returns the cache entries (file names) of a cache directory. */
export function cacheEntries(cacheDir: string): string[] {
  return existsSync(`${cacheDir}/results`) ? readdirSync(`${cacheDir}/results`).sort() : [];
}
