// meta/tuning/go-compat.ts: texts and path rules as the Go plugin has them, for what users compare between the two
// implementations: a file error (os.PathError, "open /x: permission denied"), a netlink error (a bare errno,
// "invalid argument": vishvananda/netlink reports no extended ack by default) and path.Clean/path.Join.
import { NetlinkError } from "../../pkg/ip/nl/socket.ts";
import { describeErrno } from "../../pkg/sys/libc.ts";

function goErrno(code: number): string {
  const s = describeErrno(code);
  return s.charAt(0).toLowerCase() + s.slice(1);
}

/**
 * Returns a Node fs error as Go's os.PathError text (`<op> <path>: <errno text>`): op is Go's name for the call
 * ("remove" for unlink), or else the system call that failed ("open", "read"); other errors come back unchanged.
 */
export function goPathError(e: unknown, path: string, op?: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.errno !== "number") return e instanceof Error ? e : new Error(String(e));
  return new Error(`${op ?? err.syscall ?? "open"} ${path}: ${goErrno(Math.abs(err.errno))}`, { cause: e });
}

/** Returns the text Go gives for a failed netlink request: the errno alone, lower case. */
export function goNetlinkText(e: unknown): string {
  if (e instanceof NetlinkError) return goErrno(e.errno);
  return (e as Error).message;
}

export { cleanPath, joinPath } from "../../pkg/sys/path.ts";
