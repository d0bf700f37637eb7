// test/support/ns-exec.ts: commands run inside a throwaway netns (`ip netns exec`, `ip -n`), for test setup and for
// reading back what only a process inside the netns sees (/proc/sys, sysfs, iptables-save, ping).
import type { TempNetns } from "./netns.ts";

/** Returns the netns name of a TempNetns or a name. */
export function nsName(ns: TempNetns | string): string {
  return typeof ns === "string" ? ns : ns.name;
}

/** Returns stdout of a command run inside the netns (`ip netns exec`); throws with its stderr on failure. */
export function execIn(ns: TempNetns | string, argv: string[]): string {
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(ns), ...argv], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} in ${nsName(ns)}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

/** Returns whether a command inside the netns exits 0 (ping, for instance). */
export function succeedsIn(ns: TempNetns | string, argv: string[]): boolean {
  return Bun.spawnSync(["ip", "netns", "exec", nsName(ns), ...argv], { stdout: "ignore", stderr: "ignore" }).exitCode === 0;
}

/** Runs `ip -n <ns> <args>` (test setup such as a pre-existing or conflicting link); throws with ip's stderr. */
export function ipIn(ns: TempNetns | string, args: string[]): void {
  const p = Bun.spawnSync(["ip", "-n", nsName(ns), ...args], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`ip -n ${nsName(ns)} ${args.join(" ")}: ${p.stderr.toString().trim()}`);
}

/** Returns /proc/sys/<path> (`net/ipv4/ip_forward`) read inside the netns, without the newline. */
export function sysctlIn(ns: TempNetns | string, path: string): string {
  return execIn(ns, ["cat", `/proc/sys/${path}`]).replace(/\n$/, "");
}

/** Returns a file of /sys/class/net/<dev> as seen inside the netns (`ip netns exec` mounts the netns's own sysfs). */
export function sysfsIn(ns: TempNetns | string, dev: string, file: string): string {
  return execIn(ns, ["cat", `/sys/class/net/${dev}/${file}`]).trim();
}

/**
 * Returns stdout of a command started from the calling thread, so in whatever netns it is in (inside withNetns),
 * with optional stdin; throws with the command's stderr on failure.
 */
export function execHere(argv: string[], stdin?: string): string {
  const p = Bun.spawnSync(argv, { stdin: stdin === undefined ? "ignore" : new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}
