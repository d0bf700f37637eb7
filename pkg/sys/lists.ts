// pkg/sys/lists.ts: filter, some, every and find over arrays as plain loops, for the code every plugin call runs.
// JSC implements Array.prototype.filter, some, every, find, forEach, reduce and flatMap in JavaScript and compiles
// each from source on its first call in a process: ~30-60 µs apiece, measured in a compiled Bun 1.4.5 binary, paid
// again by every plugin process. These loops come from the executable's bytecode cache instead. (map is cheap: Bun's
// own startup has already compiled it.)

/** Returns the elements of xs for which keep is true, in order. */
export function filtered<T, S extends T>(xs: readonly T[], keep: (x: T) => x is S): S[];
export function filtered<T>(xs: readonly T[], keep: (x: T) => boolean): T[];
export function filtered<T>(xs: readonly T[], keep: (x: T) => boolean): T[] {
  const out: T[] = [];
  for (let i = 0; i < xs.length; i++) if (keep(xs[i]!)) out.push(xs[i]!);
  return out;
}

/** Returns whether test is true for some element of xs. */
export function anyOf<T>(xs: ArrayLike<T>, test: (x: T) => boolean): boolean {
  for (let i = 0; i < xs.length; i++) if (test(xs[i]!)) return true;
  return false;
}

/** Returns whether test is true for every element of xs (true when xs is empty). */
export function allOf<T>(xs: ArrayLike<T>, test: (x: T) => boolean): boolean {
  for (let i = 0; i < xs.length; i++) if (!test(xs[i]!)) return false;
  return true;
}

/** Returns the first element of xs for which test is true. */
export function firstOf<T>(xs: ArrayLike<T>, test: (x: T) => boolean): T | undefined {
  for (let i = 0; i < xs.length; i++) if (test(xs[i]!)) return xs[i];
  return undefined;
}

/** Returns the sum of the lengths of the chunks. */
export function totalLength(chunks: readonly { length: number }[]): number {
  let n = 0;
  for (let i = 0; i < chunks.length; i++) n += chunks[i]!.length;
  return n;
}
