// test/support/netns.ts: throwaway network namespaces for tests, named with a per-run prefix and removed even when
// a test fails (`using`), plus a sweep for anything a crashed run left behind.
import { existsSync, readdirSync } from "node:fs";

/** Every namespace, link and directory a test run creates starts with this. */
export const RUN_PREFIX = `cnit${process.pid.toString(36)}`;
let counter = 0;

export interface TempNetns {
  name: string;
  path: string;
  [Symbol.dispose](): void;
}

function ip(args: string[]): string {
  const p = Bun.spawnSync(["ip", ...args], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

/** Returns a new namespace under /run/netns with only `lo` (down); disposing deletes it. */
export function tempNetns(role: string): TempNetns {
  const name = `${RUN_PREFIX}-${role}-${++counter}`;
  ip(["netns", "add", name]);
  return {
    name,
    path: `/run/netns/${name}`,
    [Symbol.dispose]() {
      if (existsSync(`/run/netns/${name}`)) ip(["netns", "delete", name]);
    },
  };
}

/** Removes every namespace this run created (afterAll safety net). */
export function sweepNetns(prefix = RUN_PREFIX): void {
  if (!existsSync("/run/netns")) return;
  for (const n of readdirSync("/run/netns")) if (n.startsWith(prefix)) ip(["netns", "delete", n]);
}

/** Returns `ip -j` output of a command run inside the namespace, parsed. */
export function ipJson(ns: TempNetns | string, args: string[]): unknown {
  const name = typeof ns === "string" ? ns : ns.name;
  const out = ip(["-n", name, "-j", ...args]);
  return out.trim() === "" ? [] : JSON.parse(out);
}

/** Returns whether this process can create namespaces (root with `ip netns`). */
export function canUseNetns(): boolean {
  return process.getuid?.() === 0 && Bun.which("ip") !== null;
}
