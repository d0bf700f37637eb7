// pkg/cni/process.ts: one plugin call as a process: the skel around the plugin, with the plugins it may run
// in-process (its IPAM, flannel's delegate) registered first. build.ts compiles this module into every plugin's
// chunk together with the plugin and those delegates, so a call loads one chunk and all of them share one copy of
// the skel's classes (a delegate's CniError must be the caller's CniError) and of its caches.
import { registerOwnPlugins } from "../invoke/in-process.ts";
import { runPlugin } from "./skel.ts";
import type { Plugin } from "./types.ts";

export type OwnPluginLoader = (type: string) => Promise<Plugin | undefined>;

/** Runs plugin for this process's call (env and stdin) and returns the exit status; delegates resolve own types. */
export function runProcess(plugin: Plugin, delegates: OwnPluginLoader, env: Record<string, string | undefined>): Promise<number> {
  registerOwnPlugins(delegates);
  return runPlugin(plugin, env);
}
