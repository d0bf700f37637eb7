// test/support/run-plugin.ts: run a plugin binary exactly as a runtime does (env + stdin), inside a throwaway host
// netns so nothing reaches the real host, and capture what it printed.
import { existsSync } from "node:fs";
import { resolve } from "node:path";
import { canUseNetns } from "./netns.ts";

/** Our compiled bin/ (make test sets CNI_TEST_BIN) and the Go reference plugins from Debian. */
export const OURS = process.env.CNI_TEST_BIN ?? resolve(import.meta.dir, "../../bin");
export const GO = "/usr/lib/cni";

export interface Run {
  exitCode: number;
  stdout: string;
  stderr: string;
  /** stdout parsed as JSON, or undefined when empty or not JSON. */
  json: any;
}

export interface RunOptions {
  /** Directory holding the plugin binaries (OURS or GO); also the CNI_PATH unless env says otherwise. */
  dir?: string;
  /** Name of the throwaway host netns to run in; none runs in the caller's netns. */
  hostNetns?: string;
  env: Record<string, string>;
  stdin?: string | object;
  /** Arguments after the program (plugins take none; wrappers such as strace do). */
  args?: string[];
}

/** Returns the outcome of one plugin call. */
export function runPlugin(name: string, opts: RunOptions): Run {
  const { argv, env, stdin } = invocation(name, opts);
  const p = Bun.spawnSync(argv, { env, stdin, stdout: "pipe", stderr: "pipe" });
  return outcome(p.exitCode ?? -1, p.stdout.toString(), p.stderr.toString());
}

/**
 * Starts one plugin call and returns its outcome once it exits. The process is running when this returns, so
 * several calls started in a row really overlap (shared-store races).
 */
export function spawnPlugin(name: string, opts: RunOptions): Promise<Run> {
  const { argv, env, stdin } = invocation(name, opts);
  const p = Bun.spawn(argv, { env, stdin, stdout: "pipe", stderr: "pipe" });
  return Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()])
    .then(([code, stdout, stderr]) => outcome(code, stdout, stderr));
}

function invocation(name: string, opts: RunOptions): { argv: string[]; env: Record<string, string>; stdin: Uint8Array } {
  const dir = opts.dir ?? OURS;
  const bin = `${dir}/${name}`;
  const argv = opts.hostNetns ? ["ip", "netns", "exec", opts.hostNetns, bin, ...(opts.args ?? [])] : [bin, ...(opts.args ?? [])];
  const stdin = opts.stdin === undefined ? "" : typeof opts.stdin === "string" ? opts.stdin : JSON.stringify(opts.stdin);
  const env: Record<string, string> = { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", CNI_PATH: dir, ...opts.env };
  return { argv, env, stdin: new TextEncoder().encode(stdin) };
}

function outcome(exitCode: number, stdout: string, stderr: string): Run {
  let json: unknown;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { exitCode, stdout, stderr, json };
}

/** Returns the CNI_* env of one call. */
export function cniEnv(command: string, netns: string, ifname = "eth0", containerId = "ctr1", extra: Record<string, string> = {}): Record<string, string> {
  const env: Record<string, string> = { CNI_COMMAND: command, CNI_CONTAINERID: containerId, CNI_NETNS: netns, CNI_IFNAME: ifname, ...extra };
  return env;
}

/** What CallOptions add to a call's env. */
export interface CallOptions {
  ifname?: string;
  id?: string;
  /** CNI_ARGS. */
  cniArgs?: string;
  /** More env, last (it may override any CNI_* variable). */
  env?: Record<string, string>;
}

/**
 * Returns the env a runtime sends for `verb`: GC and STATUS get only CNI_COMMAND (and CNI_PATH from runPlugin);
 * the others the full CNI_* set, CNI_IFNAME eth0 and CNI_CONTAINERID ctr1 unless `o` says otherwise.
 */
export function runtimeEnv(verb: string, netns: string, o: CallOptions = {}): Record<string, string> {
  if (verb === "GC" || verb === "STATUS") return { CNI_COMMAND: verb, ...o.env };
  const extra: Record<string, string> = { ...(o.cniArgs === undefined ? {} : { CNI_ARGS: o.cniArgs }), ...o.env };
  return cniEnv(verb, netns, o.ifname ?? "eth0", o.id ?? "ctr1", extra);
}

/** What a test file needs: tools on PATH, our binaries, Go's reference binaries. */
export interface Needs {
  tools?: string[];
  ours?: string[];
  go?: string[];
}

/**
 * Returns why a test file that runs plugins in throwaway netns cannot run here ("needs root and ip netns", or the
 * missing tools and binaries), or "" when it can.
 */
export function unmetNeeds(needs: Needs): string {
  if (!canUseNetns()) return "needs root and ip netns";
  const missing = [
    ...(needs.tools ?? []).filter((t) => Bun.which(t) === null),
    ...[...(needs.ours ?? []).map((p) => `${OURS}/${p}`), ...(needs.go ?? []).map((p) => `${GO}/${p}`)].filter((p) => !existsSync(p)),
  ];
  return missing.length > 0 ? `missing ${missing.join(", ")}` : "";
}

/** Returns whether the file's tests must skip here, saying why on stderr (`<label> skipped: …`) when they must. */
export function mustSkip(label: string, needs: Needs): boolean {
  const why = unmetNeeds(needs);
  if (why !== "") console.warn(`${label} skipped: ${why}`);
  return why !== "";
}
