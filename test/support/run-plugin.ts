// test/support/run-plugin.ts: run a plugin binary exactly as a runtime does (env + stdin), inside a throwaway host
// netns so nothing reaches the real host, and capture what it printed.
import { resolve } from "node:path";

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
