// pkg/libcni/fs-error.ts: node:fs failures worded as Go's *os.PathError prints them ("open /x: no such file or
// directory"), so libcni's messages read as upstream's for the same failure.

/** Returns whether e is a node:fs "does not exist" error. */
export function isNotExist(e: unknown): boolean {
  return (e as NodeJS.ErrnoException)?.code === "ENOENT";
}

/** Returns an Error reading `<op> <path>: <reason>` (op: the failed call's Go name, "open" by default). */
export function goPathError(path: string, e: unknown, op?: string): Error {
  const err = e as NodeJS.ErrnoException;
  if (typeof err?.code !== "string") return e instanceof Error ? e : new Error(String(e));
  // libuv's text is strerror's, already lower case: "ENOENT: no such file or directory, open '/x'".
  const reason = /^[A-Z0-9_]+: ([^,]+)/.exec(err.message)?.[1] ?? err.code;
  const name = op ?? ({ unlink: "remove", rmdir: "remove", scandir: "open" } as Record<string, string>)[err.syscall ?? ""] ?? err.syscall ?? "open";
  return new Error(`${name} ${path}: ${reason}`, { cause: e });
}
