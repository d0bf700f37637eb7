// pkg/invoke/in-process.ts: the entry registers how to load our own plugins, so a delegate that resolves to this
// very executable runs as a function call instead of a second ~12 ms process (DESIGN decision 2).
import type { Plugin } from "../cni/types.ts";

type Loader = (type: string) => Promise<Plugin | undefined>;
let loader: Loader | undefined;

/** Records how to load one of our plugins by its type name (called once by the entry). */
export function registerOwnPlugins(load: Loader): void {
  loader = load;
}

/** Returns our implementation of `type`, or undefined when none is registered (unit tests, other builds). */
export async function loadOwnPlugin(type: string): Promise<Plugin | undefined> {
  return loader ? loader(type) : undefined;
}
