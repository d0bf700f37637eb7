// test/support/process.ts: what /proc says about a process the test started, directly or through the product.
import { readdirSync, readFileSync } from "node:fs";

/** Returns whether pid runs (a zombie, exited but not reaped, counts as gone). */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
  } catch {
    return false;
  }
}

/** Returns the pids of this process's running children named `comm` (a child hangs off the thread that forked it). */
export function runningChildren(comm: string): number[] {
  const pids: number[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    const kids = readFileSync(`/proc/self/task/${tid}/children`, "utf8").trim();
    for (const pid of kids ? kids.split(" ").map(Number) : []) {
      if (commOf(pid) === comm && isAlive(pid)) pids.push(pid);
    }
  }
  return pids;
}

function commOf(pid: number): string | undefined {
  try {
    return readFileSync(`/proc/${pid}/comm`, "utf8").trim();
  } catch {
    return undefined; // gone meanwhile
  }
}
