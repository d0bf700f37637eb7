// pkg/sys/go-path-error.ts: a file failure (from node:fs or pkg/sys/fs, which shape errors alike) worded as Go's
// *os.PathError prints it ("open /x: permission denied"), so a plugin's message reads as the Go plugin's for the same
// failure. (pkg/libcni/fs-error.ts holds an older copy of the same idea, for cnitool, which loads node:fs anyway.)
import { describeErrno } from "./libc.ts";

// Go names the operation after its own function, not the syscall.
const GO_OP: Record<string, string> = { unlink: "remove", rmdir: "remove", scandir: "open", fsync: "sync" };

/** Returns an Error reading `<op> <path>: <errno text>`; `op` defaults to the failed syscall's Go name. */
export function goPathError(path: string, e: unknown, op?: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno !== "number") return e instanceof Error ? e : new Error(String(e));
  const name = op ?? GO_OP[err.syscall ?? ""] ?? err.syscall ?? "open";
  return new Error(`${name} ${path}: ${goErrnoText(Math.abs(err.errno))}`, { cause: e });
}

/** Returns Go's text for an errno: libc's strerror with its first letter lower-cased ("permission denied"). */
export function goErrnoText(errno: number): string {
  const text = describeErrno(errno);
  return text.charAt(0).toLowerCase() + text.slice(1);
}

/** Returns whether e is a node:fs error with the given code ("ENOENT"). */
export function hasCode(e: unknown, code: string): boolean {
  return (e as NodeJS.ErrnoException)?.code === code;
}
