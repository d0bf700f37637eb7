// pkg/libcni/exec.ts: running a plugin as a runtime does (upstream's pkg/invoke RawExec, Args.AsEnv and
// ExecPluginWithResult): the caller's env plus the CNI_* variables, the config on stdin, a deadline that kills the
// plugin, the OpenTelemetry trace context passed on in TRACEPARENT/TRACESTATE/BAGGAGE, a binary still being written
// (ETXTBSY) retried, and a failure turned into the plugin's own CNI error.
import { CniError } from "../cni/errors.ts";
import { parseResultAs } from "../cni/result.ts";
import { CURRENT_VERSION, type Result } from "../cni/types.ts";
import { delegateError } from "../invoke/exec.ts";
import { findInPath } from "../invoke/find.ts";
import { jsonKind } from "./go-json.ts";

/** The trace context of the caller's span, as the OpenTelemetry env carriers spell it (OTEP 258). */
export interface TraceContext {
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
}

/** How one plugin run may end early and what it carries along. */
export interface ExecOptions {
  /** Aborting kills the plugin (SIGKILL); a TimeoutError reason (AbortSignal.timeout) reads as a timeout. */
  signal?: AbortSignal;
  trace?: TraceContext;
}

/** How libcni finds and runs plugins; tests and embedders may run them elsewhere (another netns, say). */
export interface Exec {
  /** Returns the plugin's stdout; throws its CNI error, or why it could not run. */
  execPlugin(pluginPath: string, stdin: Uint8Array, env: Record<string, string>, opts?: ExecOptions): Promise<Uint8Array>;
  /** Returns the path of `plugin` in the first of `paths` holding it; throws upstream's errors. */
  findInPath(plugin: string, paths: string[]): string;
}

const ETXTBSY_TRIES = 6; // upstream: the first try and up to 5 more, a second apart

/** Runs plugins as child processes; `wrapper` is put before the plugin's path (e.g. `ip netns exec <ns>`). */
export class RawExec implements Exec {
  constructor(private readonly opts: { wrapper?: string[]; stderr?: (text: string) => void } = {}) {}

  async execPlugin(pluginPath: string, stdin: Uint8Array, env: Record<string, string>, opts: ExecOptions = {}): Promise<Uint8Array> {
    const fullEnv = withTrace(env, opts.trace);
    for (let attempt = 1; ; attempt++) {
      if (opts.signal?.aborted) throw abortError(pluginPath, opts.signal);
      let proc;
      try {
        proc = Bun.spawn([...(this.opts.wrapper ?? []), pluginPath], {
          stdin, env: fullEnv, stdout: "pipe", stderr: "pipe", signal: opts.signal, killSignal: "SIGKILL",
        });
      } catch (e) {
        if ((e as { code?: string }).code === "ETXTBSY" && attempt < ETXTBSY_TRIES) {
          await Bun.sleep(1000);
          continue;
        }
        throw e;
      }
      const [stdout, stderr, exitCode] = await Promise.all([
        new Response(proc.stdout).arrayBuffer(),
        new Response(proc.stderr).text(),
        proc.exited,
      ]);
      // The plugin's diagnostics go on to ours, as upstream's RawExec{Stderr: os.Stderr} does.
      if (stderr) (this.opts.stderr ?? console.error)(stderr.replace(/\n$/, ""));
      if (opts.signal?.aborted) throw abortError(pluginPath, opts.signal);
      if (exitCode === 0) return new Uint8Array(stdout);
      throw delegateError(new TextDecoder().decode(stdout), stderr, proc.signalCode ? null : exitCode, proc.signalCode ?? null);
    }
  }

  findInPath(plugin: string, paths: string[]): string {
    return findInPath(plugin, paths.join(":"));
  }
}

function abortError(pluginPath: string, signal: AbortSignal): Error {
  const reason = signal.reason as { name?: string; message?: string } | undefined;
  if (reason?.name === "TimeoutError") return new Error(`plugin ${pluginPath} did not finish in time and was killed`, { cause: reason });
  return new Error(`plugin ${pluginPath} was cancelled: ${reason?.message ?? String(reason)}`, { cause: reason });
}

function withTrace(env: Record<string, string>, trace?: TraceContext): Record<string, string> {
  if (!trace) return env;
  const out = { ...env };
  if (trace.traceparent) out.TRACEPARENT = trace.traceparent;
  if (trace.tracestate) out.TRACESTATE = trace.tracestate;
  if (trace.baggage) out.BAGGAGE = trace.baggage;
  return out;
}

/** The CNI_* variables of one call (upstream's invoke.Args). */
export interface CniArgs {
  command: string;
  containerId?: string;
  netns?: string;
  /** CNI_ARGS as pairs; joined `K=V;K2=V2`. */
  pluginArgs?: [string, string][];
  ifname?: string;
  path: string;
}

/** Returns `base` (the caller's env) with the call's CNI_* variables set over it, every one of them, empty or not. */
export function cniEnv(base: Record<string, string | undefined>, a: CniArgs): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [k, v] of Object.entries(base)) if (v !== undefined) env[k] = v;
  env.CNI_COMMAND = a.command;
  env.CNI_CONTAINERID = a.containerId ?? "";
  env.CNI_NETNS = a.netns ?? "";
  env.CNI_ARGS = (a.pluginArgs ?? []).map(([k, v]) => `${k}=${v}`).join(";");
  env.CNI_IFNAME = a.ifname ?? "";
  env.CNI_PATH = a.path;
  return env;
}

/**
 * Returns the result a plugin printed, read in its own cniVersion, or in the config's when it names none (upstream's
 * fixupResultVersion). Throws upstream's errors for output that is not a result.
 */
export function parsePluginResult(netconf: Uint8Array, stdout: Uint8Array): Result {
  const confVersion = decodeVersion(netconf);
  let raw: unknown;
  try {
    raw = JSON.parse(new TextDecoder().decode(stdout));
  } catch (e) {
    throw new Error(`failed to unmarshal raw result: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  if (raw === null) raw = {};
  if (typeof raw !== "object" || Array.isArray(raw)) {
    throw new Error(`failed to unmarshal raw result: json: cannot unmarshal ${jsonKind(raw)} into Go value of type map[string]interface {}`);
  }
  const o = raw as Record<string, unknown>;
  const own = typeof o.cniVersion === "string" && o.cniVersion !== "" ? o.cniVersion : confVersion;
  return parseResultAs({ ...o, cniVersion: own }, own);
}

/** Returns a config's cniVersion ("0.1.0" when it has none), as upstream's version.ConfigDecoder. */
export function decodeVersion(bytes: Uint8Array): string {
  let v: unknown;
  try {
    const o = JSON.parse(new TextDecoder().decode(bytes)) as Record<string, unknown>;
    v = o?.cniVersion;
  } catch (e) {
    throw new Error(`decoding version from network config: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  if (v !== undefined && v !== null && typeof v !== "string") {
    throw new Error(`decoding version from network config: json: cannot unmarshal ${jsonKind(v)} into Go struct field .cniVersion of type string`);
  }
  return (v as string | undefined) || "0.1.0";
}

/** What a plugin's VERSION answer says (upstream's version.PluginInfo). */
export interface PluginInfo {
  cniVersion: string;
  supportedVersions: string[];
}

/**
 * Returns the plugin's VERSION answer, called with upstream's placeholder env; a plugin too old to know VERSION
 * supports 0.1.0. Throws its error, or upstream's `decoding version info: …`.
 */
export async function getVersionInfo(exec: Exec, pluginPath: string, base: Record<string, string | undefined>, opts?: ExecOptions): Promise<PluginInfo> {
  // Placeholders for plugins built against an old skel that wanted them even for VERSION.
  const env = cniEnv(base, { command: "VERSION", netns: "dummy", ifname: "dummy", path: "dummy" });
  const stdin = new TextEncoder().encode(`{"cniVersion":${JSON.stringify(CURRENT_VERSION)}}`);
  let out: Uint8Array;
  try {
    out = await exec.execPlugin(pluginPath, stdin, env, opts);
  } catch (e) {
    if ((e as Error).message === "unknown CNI_COMMAND: VERSION") return { cniVersion: "0.1.0", supportedVersions: ["0.1.0"] };
    throw e;
  }
  return decodePluginInfo(out);
}

function decodePluginInfo(bytes: Uint8Array): PluginInfo {
  let o: Record<string, unknown>;
  try {
    o = JSON.parse(new TextDecoder().decode(bytes)) ?? {};
  } catch (e) {
    throw new Error(`decoding version info: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  const cniVersion = typeof o.cniVersion === "string" ? o.cniVersion : "";
  const versions = Array.isArray(o.supportedVersions) ? o.supportedVersions.filter((v): v is string => typeof v === "string") : [];
  if (cniVersion === "") throw new Error("decoding version info: missing field cniVersion"); // upstream text
  if (versions.length === 0) {
    if (cniVersion === "0.2.0") return { cniVersion, supportedVersions: ["0.1.0", "0.2.0"] };
    throw new Error("decoding version info: missing field supportedVersions"); // upstream text
  }
  return { cniVersion, supportedVersions: versions };
}

/** Returns the CniError a libcni error carries (the plugin's own, under any wrapping), or undefined. */
export function cniErrorOf(e: unknown): CniError | undefined {
  for (let cur = e; cur instanceof Error; cur = cur.cause) if (cur instanceof CniError) return cur;
  return undefined;
}
