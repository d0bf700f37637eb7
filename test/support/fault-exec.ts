// test/support/fault-exec.ts: a libcni Exec (pkg/libcni/exec.ts) that runs each plugin inside a throwaway host netns
// under strace, to SIGKILL one plugin call at an exact syscall boundary. A recording run lists the boundaries of a
// call (its netlink requests, file creations and writes, mkdir/unlink/rename, flock, setns, spawns of iptables or
// nft); a kill run delivers SIGKILL on entry to the Nth call of one syscall (strace `-e inject=…:signal=KILL:when=N`,
// counted per syscall and per tracee, as in the recording), so "kill point i" means the same moment on every run.
// Only the plugin's own main thread is traced (no -f): that is where all of its syscalls happen (DESIGN decision 6).
// A killed plugin's children (an iptables-restore, an nft) are left to finish, as they would on a node, and the call
// returns only once its whole process group is gone, so the next call never races an orphan.
import { basename } from "node:path";
import { readFileSync, rmSync } from "node:fs";
import { delegateError } from "../../pkg/invoke/exec.ts";
import { findInPath } from "../../pkg/invoke/find.ts";
import type { Exec, ExecOptions } from "../../pkg/libcni/exec.ts";
import { waitFor } from "./wait.ts";

/** The syscalls strace counts: everything by which a plugin changes state, plus the spawns of netfilter tools. */
export const TRACED = "sendto,sendmsg,openat,write,mkdir,mkdirat,unlink,unlinkat,rename,renameat,renameat2,flock,setns,vfork,wait4";

/** One boundary of a recorded call: the syscall and which call of that syscall it was (1-based), with its line. */
export interface KillPoint {
  syscall: string;
  nth: number;
  line: string;
}

/** Which call to kill: the `call`-th (1-based) run of `plugin` for `verb`, at a boundary. */
export interface KillPlan {
  plugin: string;
  verb: string;
  point: KillPoint;
  call?: number;
}

/** What happened to the planned kill. */
export interface KillOutcome {
  killed: boolean;
  /** The last traced line before the kill (the syscall that was entered). */
  at?: string;
}

/** A libcni Exec running plugins in `hostNetns`, able to record boundaries and to kill one call. */
export class FaultExec implements Exec {
  /** Recorded boundaries per `<plugin> <verb>` (last call recorded wins). */
  readonly recorded = new Map<string, KillPoint[]>();
  record = false;
  plan?: KillPlan;
  outcome?: KillOutcome;
  private calls = new Map<string, number>();
  private seq = 0;

  constructor(private readonly hostNetns: string, private readonly traceDir: string) {}

  /** Arms a kill (or none) and forgets the call counts. */
  arm(plan?: KillPlan): void {
    this.plan = plan;
    this.outcome = undefined;
    this.calls.clear();
  }

  async execPlugin(pluginPath: string, stdin: Uint8Array, env: Record<string, string>, _opts?: ExecOptions): Promise<Uint8Array> {
    const plugin = basename(pluginPath);
    const verb = env.CNI_COMMAND ?? "";
    const key = `${plugin} ${verb}`;
    const callNo = (this.calls.get(key) ?? 0) + 1;
    this.calls.set(key, callNo);
    const plan = this.plan;
    const kill = plan && plan.plugin === plugin && plan.verb === verb && (plan.call ?? 1) === callNo ? plan.point : undefined;
    const traced = this.record || kill !== undefined;
    const trace = `${this.traceDir}/trace-${process.pid}-${++this.seq}`;
    const strace = traced
      ? ["strace", "-qq", "-o", trace, "-e", `trace=${TRACED}`, ...(kill ? ["-e", `inject=${kill.syscall}:signal=KILL:when=${kill.nth}`] : [])]
      : [];
    // setsid: the plugin and every child it spawns share one new process group, which we wait on below.
    const proc = Bun.spawn(["setsid", "ip", "netns", "exec", this.hostNetns, ...strace, pluginPath], {
      stdin, env, stdout: "pipe", stderr: "pipe",
    });
    const timer = setTimeout(() => killGroup(proc.pid), 30_000);
    const [stdout, stderr, exitCode] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text(), proc.exited]);
    clearTimeout(timer);
    waitFor(() => !groupAlive(proc.pid), `the process group of ${key} to end`, 20_000);
    let lines: string[] = [];
    if (traced) {
      lines = readFileSync(trace, "utf8").split("\n").filter((l) => l !== "");
      rmSync(trace, { force: true });
    }
    if (this.record) this.recorded.set(key, killPoints(lines));
    if (kill) {
      const killed = lines.some((l) => l.includes("+++ killed by SIGKILL"));
      const entered = lines.filter((l) => !l.startsWith("+++") && !l.startsWith("---"));
      this.outcome = { killed, at: killed ? entered.at(-1) : undefined };
      if (killed) throw new Error(`${key} was killed (SIGKILL) at ${kill.syscall} #${kill.nth}`);
    }
    if (exitCode === 0) return new TextEncoder().encode(stdout);
    throw delegateError(stdout, stderr, proc.signalCode ? null : exitCode, proc.signalCode ?? null);
  }

  findInPath(plugin: string, paths: string[]): string {
    return findInPath(plugin, paths.join(":"));
  }
}

/**
 * Returns the kill points of a recorded trace: every traced syscall from the first one that touches state (a
 * netlink request, a setns, a spawn, a file created or written, a directory made), except read-only opens and
 * wait4 (killing there is the same as killing at the next boundary). `nth` counts every call of the syscall in the
 * trace, as strace's injection counter does.
 */
export function killPoints(lines: string[]): KillPoint[] {
  const counts = new Map<string, number>();
  const out: KillPoint[] = [];
  let started = false;
  for (const line of lines) {
    const m = /^([a-z0-9_]+)\(/.exec(line);
    if (!m) continue;
    const syscall = m[1]!;
    const nth = (counts.get(syscall) ?? 0) + 1;
    counts.set(syscall, nth);
    const readOnlyOpen = syscall === "openat" && !/O_WRONLY|O_RDWR|O_CREAT/.test(line);
    if (!started && !readOnlyOpen && syscall !== "write" && syscall !== "wait4") started = true;
    if (!started || readOnlyOpen || syscall === "wait4") continue;
    out.push({ syscall, nth, line: line.length > 160 ? `${line.slice(0, 160)}…` : line });
  }
  return out;
}

function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

function killGroup(pgid: number): void {
  try {
    process.kill(-pgid, "SIGKILL");
  } catch {
    // already gone
  }
}
