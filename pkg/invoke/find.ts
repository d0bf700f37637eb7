// pkg/invoke/find.ts: locate a plugin binary on CNI_PATH the way libcni's invoke.FindInPath does.
import { statSync } from "../sys/fs.ts"; // libc: node:fs costs ~2.5 ms to load, on every delegating call
import { filtered } from "../sys/lists.ts";

/** Returns the first `<dir>/<type>` that is a regular file; throws upstream's errors for bad names or no match. */
export function findInPath(type: string, cniPath: string): string {
  if (type === "") throw new Error("no plugin name provided"); // upstream text
  // A type with a slash could name any binary on the host (CVE-2021-20206).
  if (type.includes("/")) throw new Error(`invalid plugin name: ${type}`); // upstream text
  const dirs = filtered(cniPath.split(":"), (d) => d !== "");
  if (dirs.length === 0) throw new Error("no paths provided"); // upstream text
  for (const dir of dirs) {
    const candidate = `${dir}/${type}`;
    try {
      if (statSync(candidate).isFile()) return candidate;
    } catch {
      // not here: try the next directory
    }
  }
  throw new Error(`failed to find plugin ${JSON.stringify(type)} in path [${dirs.join(" ")}]`); // upstream text
}

/** Returns whether `path` is this very executable (same device and inode once links are followed). */
export function isOwnExecutable(path: string): boolean {
  try {
    const a = statSync(path);
    const b = statSync("/proc/self/exe");
    return a.dev === b.dev && a.ino === b.ino;
  } catch {
    return false;
  }
}
