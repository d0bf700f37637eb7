// pkg/cni/awaited-later.ts: for work started now and awaited after other work (a netfilter commit running while a
// veth is deleted). Bun ends the process with status 1 for a promise that rejected while nothing handled it, even
// when it is awaited (and its error caught) afterwards; a plugin would then fail after printing its result.

/** Returns p, marked as handled from now on; awaiting it later still throws its error. */
export function awaitedLater<T>(p: Promise<T>): Promise<T> {
  p.catch(() => undefined);
  return p;
}
