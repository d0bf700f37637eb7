// pkg/libcni/api.ts: what a runtime calls (libcni v1.3.0 CNIConfig, libcni/api.go): ADD runs a network's plugins
// in order, each getting the previous one's result as prevResult, and caches the last result; CHECK and DEL get
// the cached result as prevResult, DEL in reverse order; GC DELs the cached attachments the runtime no longer
// holds and then asks every plugin to collect the rest, passing the valid attachments; STATUS asks each plugin
// whether it can serve ADD. Plugins are found on the configured path and run as child processes.
import { goQuote } from "../cni/args.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG, ERR_UNKNOWN_CONTAINER } from "../cni/errors.ts";
import type { Result } from "../cni/types.ts";
import { validateContainerId, validateIfname, validateNetworkName } from "../cni/validate.ts";
import { versionAtLeast } from "../cni/version.ts";
import {
  DEFAULT_CACHE_DIR, deleteCache, listCachedAttachments, readCachedConfig, readCachedResult, writeCache, type NetworkAttachment,
} from "./cache.ts";
import type { NetworkConfigList, PluginConf, PluginConfig } from "./conf.ts";
import { cniEnv, getVersionInfo, parsePluginResult, RawExec, type Exec, type ExecOptions, type PluginInfo, type TraceContext } from "./exec.ts";
import { buildOneConfig, injectConf, type RuntimeConf } from "./inject.ts";

export type { RuntimeConf } from "./inject.ts";

/** How a CNIConfig finds, runs and remembers plugins. */
export interface CNIConfigOptions {
  /** Directories searched for plugin binaries, in order (CNI_PATH). */
  path: string[];
  /** Where attachments are cached (`<cacheDir>/results/…`); default /var/lib/cni, as upstream. */
  cacheDir?: string;
  /** How plugins run; default: child processes of this one. */
  exec?: Exec;
  /** The env plugins inherit before the CNI_* variables go over it; default process.env, as upstream's os.Environ(). */
  env?: Record<string, string | undefined>;
  /** A deadline for each API call (every plugin it runs together); none by default, as upstream's context.TODO(). */
  timeoutMs?: number;
}

/** Per call: a cancellation signal (upstream's context), a deadline, and the caller's trace context. */
export interface CallOptions {
  signal?: AbortSignal;
  timeoutMs?: number;
  trace?: TraceContext;
}

/** An attachment the runtime still holds: its container ID and interface name. */
export interface GCAttachment {
  containerID: string;
  ifname: string;
}

/** What GC keeps. */
export interface GCArgs {
  validAttachments: GCAttachment[];
}

/** The runtime side of CNI: loads nothing itself (see conf.ts), runs a network's plugins for one attachment. */
export class CNIConfig {
  readonly path: string[];
  private readonly exec: Exec;
  private readonly cacheDir: string;
  private readonly env: Record<string, string | undefined>;
  private readonly timeoutMs?: number;

  constructor(opts: CNIConfigOptions) {
    this.path = opts.path;
    this.exec = opts.exec ?? new RawExec();
    this.cacheDir = opts.cacheDir ?? "";
    this.env = opts.env ?? process.env;
    this.timeoutMs = opts.timeoutMs;
  }

  /** Returns the last plugin's result (in its own cniVersion) after running every plugin's ADD; caches it. */
  async addNetworkList(list: NetworkConfigList, rt: RuntimeConf, o: CallOptions = {}): Promise<Result | undefined> {
    const x = this.execOptions(o);
    let result: Result | undefined;
    for (const net of list.plugins) {
      try {
        result = await this.addOne(list.name, list.cniVersion, net, result, rt, x);
      } catch (e) {
        throw wrap(`plugin ${pluginDescription(net.network)} failed (add): `, e); // upstream text
      }
    }
    this.cacheAdd(result, list.bytes, list.name, rt);
    return result;
  }

  /** Runs every plugin's CHECK with the cached result as prevResult; throws the first failure as the plugin gave it. */
  async checkNetworkList(list: NetworkConfigList, rt: RuntimeConf, o: CallOptions = {}): Promise<void> {
    requireCheck(list.cniVersion);
    if (list.disableCheck) return;
    const cached = this.cachedResultOrThrow(list.name, list.cniVersion, rt);
    const x = this.execOptions(o);
    for (const net of list.plugins) await this.runOne("CHECK", list.name, list.cniVersion, net, cached, rt, x);
  }

  /**
   * Runs every plugin's DEL in reverse order (from 0.4.0 on with the cached result as prevResult; a cache that does
   * not read is dropped and DEL goes on without it), then removes the cache entry.
   */
  async delNetworkList(list: NetworkConfigList, rt: RuntimeConf, o: CallOptions = {}): Promise<void> {
    await this.delList(list, rt, this.execOptions(o));
  }

  private async delList(list: NetworkConfigList, rt: RuntimeConf, x: ExecOptions): Promise<void> {
    const cached = this.cachedResultForDel(list.name, list.cniVersion, rt);
    for (let i = list.plugins.length - 1; i >= 0; i--) {
      const net = list.plugins[i]!;
      try {
        await this.runOne("DEL", list.name, list.cniVersion, net, cached, rt, x);
      } catch (e) {
        throw wrap(`plugin ${pluginDescription(net.network)} failed (delete): `, e); // upstream text
      }
    }
    deleteCache(this.cacheDirFor(rt), list.name, rt);
  }

  /** Returns the cached ADD result of an attachment in the list's version, or undefined when none is cached. */
  getNetworkListCachedResult(list: NetworkConfigList, rt: RuntimeConf): Result | undefined {
    return readCachedResult(this.cacheDirFor(rt), list.name, list.cniVersion, rt);
  }

  /** Returns the cached config bytes and runtime parameters (CNI_ARGS, capability arguments) of an attachment. */
  getNetworkListCachedConfig(list: NetworkConfigList, rt: RuntimeConf): { config: Uint8Array; rt: RuntimeConf } | undefined {
    return readCachedConfig(this.cacheDirFor(rt), list.name, rt);
  }

  /** ADD of a single plugin config (the deprecated `.conf` form), cached under the config's own name. */
  async addNetwork(net: PluginConfig, rt: RuntimeConf, o: CallOptions = {}): Promise<Result> {
    const result = await this.addOne(net.network.name, net.network.cniVersion, net, undefined, rt, this.execOptions(o));
    this.cacheAdd(result, net.bytes, net.network.name, rt);
    return result;
  }

  /** CHECK of a single plugin config. */
  async checkNetwork(net: PluginConfig, rt: RuntimeConf, o: CallOptions = {}): Promise<void> {
    requireCheck(net.network.cniVersion);
    const cached = this.cachedResultOrThrow(net.network.name, net.network.cniVersion, rt);
    await this.runOne("CHECK", net.network.name, net.network.cniVersion, net, cached, rt, this.execOptions(o));
  }

  /** DEL of a single plugin config; a cache that does not read is dropped (as upstream after v1.3.0). */
  async delNetwork(net: PluginConfig, rt: RuntimeConf, o: CallOptions = {}): Promise<void> {
    const cached = this.cachedResultForDel(net.network.name, net.network.cniVersion, rt);
    await this.runOne("DEL", net.network.name, net.network.cniVersion, net, cached, rt, this.execOptions(o));
    deleteCache(this.cacheDirFor(rt), net.network.name, rt);
  }

  /**
   * Returns the capabilities the list's plugins declare (sorted) once every plugin is found and supports the list's
   * cniVersion; throws every problem together, as upstream's `[err1 err2]`.
   */
  async validateNetworkList(list: NetworkConfigList, o: CallOptions = {}): Promise<string[]> {
    const x = this.execOptions(o);
    const caps = new Set<string>();
    const errs: Error[] = [];
    for (const net of list.plugins) {
      try {
        await this.validatePlugin(net.network.type, list.cniVersion, x);
      } catch (e) {
        errs.push(e as Error);
      }
      for (const [c, on] of Object.entries(net.network.capabilities)) if (on) caps.add(c);
    }
    if (errs.length > 0) throw new AggregateError(errs, `[${errs.map((e) => e.message).join(" ")}]`);
    return [...caps].sort();
  }

  /** Returns the capabilities of a single plugin config once its plugin is found and supports its cniVersion. */
  async validateNetwork(net: PluginConfig, o: CallOptions = {}): Promise<string[]> {
    await this.validatePlugin(net.network.type, net.network.cniVersion, this.execOptions(o));
    return Object.entries(net.network.capabilities).filter(([, on]) => on).map(([c]) => c).sort();
  }

  /** Returns a plugin's VERSION answer. */
  async getVersionInfo(pluginType: string, o: CallOptions = {}): Promise<PluginInfo> {
    const path = this.exec.findInPath(pluginType, this.path);
    return getVersionInfo(this.exec, path, this.env, this.execOptions(o));
  }

  /** Returns the VERSION answer of every plugin of the list, in list order (our addition). */
  async getVersionInfoList(list: NetworkConfigList, o: CallOptions = {}): Promise<{ type: string; info: PluginInfo }[]> {
    const out: { type: string; info: PluginInfo }[] = [];
    for (const net of list.plugins) out.push({ type: net.network.type, info: await this.getVersionInfo(net.network.type, o) });
    return out;
  }

  /**
   * GC of a network: DEL for every cached attachment of this network missing from `args.validAttachments` (every
   * one, without args), then, from cniVersion 1.1.0 on, GC to every plugin with the valid attachments as both
   * `cni.dev/valid-attachments` and `cni.dev/attachments` (the spec's earlier misspelling). Nothing with
   * `disableGC`. Keeps going after a failure and throws every error together.
   */
  async gcNetworkList(list: NetworkConfigList, args?: GCArgs, o: CallOptions = {}): Promise<void> {
    if (list.disableGC) return;
    let cached: NetworkAttachment[];
    try {
      cached = listCachedAttachments(this.cacheDirFor());
    } catch {
      return; // upstream quirk: a cache that cannot be listed ends GC silently
    }
    const valid = new Set((args?.validAttachments ?? []).map((a) => `${a.containerID}\0${a.ifname}`));
    const x = this.execOptions(o); // one deadline for the whole GC, as upstream's one context
    const errs: Error[] = [];
    for (const a of cached) {
      if (a.network !== list.name || valid.has(`${a.containerId}\0${a.ifname}`)) continue;
      const rt: RuntimeConf = { containerId: a.containerId, netns: a.netns, ifname: a.ifname, args: a.cniArgs, capabilityArgs: a.capabilityArgs };
      try {
        await this.delList(list, rt, x);
      } catch (e) {
        errs.push(wrap(`failed to delete stale attachment ${a.containerId} ${a.ifname}: `, e)); // upstream text
      }
    }
    if (atLeast(list.cniVersion, "1.1.0")) {
      const inject: Record<string, unknown> = { name: list.name, cniVersion: list.cniVersion };
      if (args) {
        const attachments = args.validAttachments.map((a) => ({ containerID: a.containerID, ifname: a.ifname }));
        inject["cni.dev/valid-attachments"] = attachments;
        inject["cni.dev/attachments"] = attachments; // the spec's first spelling (containernetworking/cni#1101)
      }
      for (const plugin of list.plugins) {
        let conf: PluginConfig;
        try {
          conf = injectConf(plugin, inject);
        } catch (e) {
          errs.push(wrap(`failed to generate configuration to GC plugin ${plugin.network.type}: `, e)); // upstream text
          continue;
        }
        try {
          await this.runPlain("GC", conf, x);
        } catch (e) {
          errs.push(wrap(`failed to GC plugin ${plugin.network.type}: `, e)); // upstream text
        }
      }
    }
    if (errs.length === 1) throw errs[0];
    if (errs.length > 1) throw new AggregateError(errs, errs.map((e) => e.message).join("\n"));
  }

  /**
   * STATUS of a network (from cniVersion 1.1.0 on; nothing before): every plugin in order; the first failure is
   * thrown as the plugin gave it, so its code (50: cannot serve ADD, 51: limited connectivity) reaches the caller.
   */
  async getStatusNetworkList(list: NetworkConfigList, o: CallOptions = {}): Promise<void> {
    if (!atLeast(list.cniVersion, "1.1.0")) return;
    const x = this.execOptions(o);
    for (const plugin of list.plugins) {
      let conf: PluginConfig;
      try {
        conf = injectConf(plugin, { name: list.name, cniVersion: list.cniVersion });
      } catch (e) {
        throw wrap(`failed to generate configuration to get plugin STATUS ${plugin.network.type}: `, e); // upstream text
      }
      await this.runPlain("STATUS", conf, x);
    }
  }

  /** Returns the cached attachments (of one container when `containerId` is given), in cache file name order. */
  getCachedAttachments(containerId = ""): NetworkAttachment[] {
    return listCachedAttachments(this.cacheDirFor(), containerId);
  }

  // ---------- one plugin ----------

  private async addOne(name: string, cniVersion: string, net: PluginConfig, prev: Result | undefined, rt: RuntimeConf, x: ExecOptions): Promise<Result> {
    const path = this.exec.findInPath(net.network.type, this.path);
    if (rt.containerId === "") throw new CniError(ERR_UNKNOWN_CONTAINER, "missing containerID"); // upstream text
    validateContainerId(rt.containerId);
    if (name === "") throw new CniError(ERR_INVALID_NETWORK_CONFIG, "missing network name:"); // upstream text
    validateNetworkName(name);
    validateIfname(rt.ifname);
    const conf = buildOneConfig(name, cniVersion, net, prev, rt);
    const out = await this.exec.execPlugin(path, conf.bytes, this.envFor("ADD", rt), x);
    return parsePluginResult(conf.bytes, out);
  }

  private async runOne(verb: "CHECK" | "DEL", name: string, cniVersion: string, net: PluginConfig, prev: Result | undefined, rt: RuntimeConf, x: ExecOptions): Promise<void> {
    const path = this.exec.findInPath(net.network.type, this.path);
    const conf = buildOneConfig(name, cniVersion, net, prev, rt);
    await this.exec.execPlugin(path, conf.bytes, this.envFor(verb, rt), x);
  }

  /** GC and STATUS: no attachment, so every attachment variable is empty. */
  private async runPlain(verb: "GC" | "STATUS", conf: PluginConfig, x: ExecOptions): Promise<void> {
    const path = this.exec.findInPath(conf.network.type, this.path);
    await this.exec.execPlugin(path, conf.bytes, this.envFor(verb, { containerId: "", netns: "", ifname: "" }), x);
  }

  private async validatePlugin(type: string, expected: string, x: ExecOptions): Promise<void> {
    const path = this.exec.findInPath(type, this.path);
    const version = expected || "0.1.0";
    const info = await getVersionInfo(this.exec, path, this.env, x);
    if (!info.supportedVersions.includes(version)) {
      throw new Error(`plugin ${type} does not support config version ${goQuote(version)}`); // upstream text
    }
  }

  // ---------- helpers ----------

  private envFor(command: string, rt: RuntimeConf): Record<string, string> {
    return cniEnv(this.env, {
      command, containerId: rt.containerId, netns: rt.netns, pluginArgs: rt.args, ifname: rt.ifname, path: this.path.join(":"),
    });
  }

  private execOptions(o: CallOptions): ExecOptions {
    const signals: AbortSignal[] = [];
    if (o.signal) signals.push(o.signal);
    const ms = o.timeoutMs ?? this.timeoutMs;
    if (ms !== undefined) signals.push(AbortSignal.timeout(ms));
    const signal = signals.length === 0 ? undefined : signals.length === 1 ? signals[0] : AbortSignal.any(signals);
    return { signal, trace: o.trace };
  }

  /** The cache directory: the CNIConfig's, else the call's (deprecated upstream too), else /var/lib/cni. */
  private cacheDirFor(rt?: RuntimeConf): string {
    return this.cacheDir || rt?.cacheDir || DEFAULT_CACHE_DIR;
  }

  private cacheAdd(result: Result | undefined, config: Uint8Array, netName: string, rt: RuntimeConf): void {
    try {
      writeCache(this.cacheDirFor(rt), result, config, netName, rt);
    } catch (e) {
      throw wrap(`failed to set network ${goQuote(netName)} cached result: `, e); // upstream text
    }
  }

  private cachedResultOrThrow(name: string, cniVersion: string, rt: RuntimeConf): Result | undefined {
    try {
      return readCachedResult(this.cacheDirFor(rt), name, cniVersion, rt);
    } catch (e) {
      throw wrap(`failed to get network ${goQuote(name)} cached result: `, e); // upstream text
    }
  }

  /** DEL's prevResult: the cached result from 0.4.0 on; a cache entry that does not read is removed and ignored. */
  private cachedResultForDel(name: string, cniVersion: string, rt: RuntimeConf): Result | undefined {
    if (!versionAtLeast(cniVersion, "0.4.0")) return undefined;
    try {
      return readCachedResult(this.cacheDirFor(rt), name, cniVersion, rt);
    } catch {
      deleteCache(this.cacheDirFor(rt), name, rt);
      return undefined;
    }
  }
}

/** Throws upstream's error when a version predates CHECK (0.4.0). */
function requireCheck(cniVersion: string): void {
  if (!versionAtLeast(cniVersion, "0.4.0")) {
    throw new Error(`configuration version ${goQuote(cniVersion)} does not support the CHECK command`); // upstream text
  }
}

/** versionAtLeast, false for a version that does not parse (upstream ignores the error there). */
function atLeast(v: string, min: string): boolean {
  try {
    return versionAtLeast(v, min);
  } catch {
    return false;
  }
}

/** Returns `type="x" name="y"` as upstream names a plugin in errors. */
function pluginDescription(net: PluginConf): string {
  return `type=${goQuote(net.type)}${net.name ? ` name=${goQuote(net.name)}` : ""}`;
}

/** Returns an Error reading prefix + the cause's message, the cause kept (so cniErrorOf finds a plugin's code). */
function wrap(prefix: string, e: unknown): Error {
  return new Error(prefix + (e instanceof Error ? e.message : String(e)), { cause: e });
}
