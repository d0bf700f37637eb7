// test/runtimes/sandbox.ts: a private world for a real container runtime (podman, containerd) run on our bin/.
// A holder process sits in a throwaway host netns and in a private mount namespace, and every runtime command runs
// inside both (`nsenter -t <holder> -m -n`), so the bridges, veths and iptables rules they make land in the
// throwaway netns, and what they write under /run, /var, /opt and /etc lands in overlay upper directories of our
// own (the host's /var/lib/cni, /run/containerd, /run/runc, /etc/cni/net.d … never change). /run/netns and /dev/shm
// are private tmpfs (container netns bind mounts, podman's shm lock). Disposing kills, by pid, every process left in
// the private mount namespace (daemons, shims, conmon) and in the cgroups the runtime made (the containers, which
// have mount namespaces of their own), removes those cgroup directories, the netns and the directory.
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmdirSync, statSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { tempDir, type TempDir } from "../support/temp-dir.ts";
import { waitFor } from "../support/wait.ts";

/** The host directories the sandbox sees through an overlay: reads see the host's files, writes stay ours. */
const OVERLAID = ["run", "var", "opt", "etc"] as const;

export interface SandboxOptions {
  /** Names start `<RUN_PREFIX>-<tag>-` (netns, /tmp directory). */
  tag: string;
  /** Cgroup directories (relative to each hierarchy's root) the runtime will create; removed on dispose. */
  cgroups?: string[];
}

/** The outcome of one command run in the sandbox. */
export interface SandboxRun {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export class Sandbox implements Disposable {
  readonly host: TempNetns;
  readonly dir: TempDir;
  private readonly holder: Subprocess;
  private readonly mntNs: string;
  private readonly cgroups: string[];
  private disposed = false;

  /** Returns a ready sandbox (holder in place, mounts made); throws with the failing step's stderr. */
  constructor(opts: SandboxOptions) {
    this.cgroups = opts.cgroups ?? [];
    this.host = tempNetns(`${opts.tag}-host`);
    this.dir = tempDir(opts.tag);
    try {
      ipIn(this.host, ["link", "set", "lo", "up"]);
      // unshare makes the private mount namespace, nsenter moves into the host netns, sleep holds both: the pid
      // stays the same across the two execs, and `sleep` in /proc/<pid>/comm says both steps are done.
      this.holder = Bun.spawn(
        ["unshare", "--mount", "--propagation", "private", "--", "nsenter", `--net=${this.host.path}`, "--", "sleep", "infinity"],
        { stdin: "ignore", stdout: "ignore", stderr: "ignore" },
      );
      waitFor(() => readProc(this.holder.pid, "comm") === "sleep" || !running(this.holder), "the sandbox holder");
      if (!running(this.holder)) throw new Error("the sandbox holder exited (unshare or nsenter failed)");
      this.mntNs = readlinkSync(`/proc/${this.holder.pid}/ns/mnt`);
      this.mount();
    } catch (e) {
      this[Symbol.dispose]();
      throw e;
    }
  }

  /** Returns where the sandbox's writes below a host path (`/var/lib/cni`, `/run/cni`) are, seen from outside. */
  written(path: string): string {
    const [top, ...rest] = path.replace(/^\//, "").split("/");
    if (!(OVERLAID as readonly string[]).includes(top!)) throw new Error(`${path} is not under an overlaid directory`);
    return join(this.dir.path, "ovl", top!, "upper", ...rest);
  }

  /** Returns what a command run inside the sandbox did; its env is `env` plus PATH and HOME (the sandbox's dir). */
  run(argv: string[], env: Record<string, string> = {}): SandboxRun {
    const p = Bun.spawnSync(this.argv(argv), { env: this.env(env), stdin: "ignore", stdout: "pipe", stderr: "pipe" });
    return { exitCode: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
  }

  /** Returns stdout of a command run inside the sandbox; throws with its stderr when it fails. */
  must(argv: string[], env: Record<string, string> = {}): string {
    const r = this.run(argv, env);
    if (r.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${r.exitCode}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** Starts a long-running command inside the sandbox (a daemon, a foreground `ctr run`), its output in `log`. */
  spawn(argv: string[], env: Record<string, string>, log: string): Subprocess {
    return Bun.spawn(this.argv(argv), { env: this.env(env), stdin: "ignore", stdout: Bun.file(log), stderr: Bun.file(`${log}.err`) });
  }

  /** Returns the pids of every process in the sandbox's mount namespace (the holder included). */
  processes(): number[] {
    const out: number[] = [];
    for (const name of readdirSync("/proc")) {
      if (!/^\d+$/.test(name)) continue;
      try {
        if (readlinkSync(`/proc/${name}/ns/mnt`) === this.mntNs) out.push(Number(name));
      } catch {
        // gone meanwhile, or a zombie (its namespaces are already released)
      }
    }
    return out;
  }

  [Symbol.dispose](): void {
    if (this.disposed) return;
    this.disposed = true;
    const errors: string[] = [];
    const step = (what: string, fn: () => void) => {
      try {
        fn();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    if (this.mntNs) {
      // The daemons, shims, conmon and spawn()ed commands live in our mount namespace: end them by pid. (The
      // containers have mount namespaces of their own: removeCgroup finds them.)
      step("kill the sandbox's processes", () => {
        for (const pid of this.processes()) killPid(pid);
        waitFor(() => this.processes().length === 0, "the sandbox's processes to exit", 10_000);
      });
    } else if (this.holder && running(this.holder)) {
      this.holder.kill(9);
    }
    for (const name of this.cgroups) step(`remove cgroup ${name}`, () => removeCgroup(name));
    step("remove the host netns", () => this.host?.[Symbol.dispose]());
    step("remove the directory", () => this.dir?.[Symbol.dispose]());
    if (errors.length > 0) throw new Error(`sandbox cleanup: ${errors.join("; ")}`);
  }

  /**
   * Bind-mounts a host path at a path inside the sandbox. A missing mount point is made, which stays private only
   * below /run, /var, /opt and /etc (the overlays): elsewhere, bind only onto what exists.
   */
  bind(inside: string, from: string): void {
    this.must(["sh", "-c", `mkdir -p ${inside} && mount --bind ${from} ${inside}`]);
  }

  private mount(): void {
    const lines = ["set -e"];
    for (const d of OVERLAID) {
      const base = join(this.dir.path, "ovl", d);
      mkdirSync(`${base}/upper`, { recursive: true });
      mkdirSync(`${base}/work`, { recursive: true });
      lines.push(`mount -t overlay overlay -o lowerdir=/${d},upperdir=${base}/upper,workdir=${base}/work /${d}`);
    }
    lines.push("mkdir -p /run/netns", "mount -t tmpfs tmpfs /run/netns", "mount -t tmpfs tmpfs /dev/shm");
    this.must(["sh", "-c", lines.join("\n")]);
  }

  private argv(argv: string[]): string[] {
    return ["nsenter", "-t", String(this.holder.pid), "-m", "-n", "--", ...argv];
  }

  private env(env: Record<string, string>): Record<string, string> {
    return { PATH: "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", HOME: this.dir.path, ...env };
  }
}

/**
 * Returns whether a process we started still runs, read from /proc: a Subprocess's exitCode is only updated by the
 * event loop, which a synchronous wait does not run (until then an exited child is a zombie).
 */
export function running(p: Subprocess): boolean {
  const stat = readProc(p.pid, "stat");
  return stat !== "" && stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3) !== "Z";
}

function readProc(pid: number, file: string): string {
  try {
    return readFileSync(`/proc/${pid}/${file}`, "utf8").trim();
  } catch {
    return "";
  }
}

function killPid(pid: number): void {
  try {
    process.kill(pid, "SIGKILL");
  } catch {
    // already gone
  }
}

/**
 * Ends every process in `<hierarchy>/<name>` (containers live in mount namespaces of their own, so only their cgroup
 * finds them) and removes the directories, deepest first, in every cgroup hierarchy (v1 and v2).
 */
function removeCgroup(name: string): void {
  const roots = ["/sys/fs/cgroup"];
  for (const e of readdirSync("/sys/fs/cgroup", { withFileTypes: true })) if (e.isDirectory()) roots.push(join("/sys/fs/cgroup", e.name));
  const tops = roots.map((r) => join(r, name.replace(/^\//, ""))).filter((t) => existsSync(t) && statSync(t).isDirectory());
  // A killed process leaves its cgroup a moment after it is reaped: kill and retry until the directories go.
  waitFor(() => {
    for (const top of tops) for (const pid of cgroupPids(top)) killPid(pid);
    return tops.map(rmdirTree).every(Boolean);
  }, `cgroup ${name} to be removable`, 10_000);
}

function cgroupPids(dir: string): number[] {
  if (!existsSync(dir)) return [];
  const own = readProcsFile(join(dir, "cgroup.procs"));
  const below = readdirSync(dir, { withFileTypes: true }).filter((e) => e.isDirectory()).flatMap((e) => cgroupPids(join(dir, e.name)));
  return [...own, ...below];
}

function readProcsFile(path: string): number[] {
  try {
    return readFileSync(path, "utf8").split("\n").filter((l) => l !== "").map(Number);
  } catch {
    return [];
  }
}

function rmdirTree(dir: string): boolean {
  if (!existsSync(dir)) return true;
  for (const e of readdirSync(dir, { withFileTypes: true })) if (e.isDirectory() && !rmdirTree(join(dir, e.name))) return false;
  try {
    rmdirSync(dir);
    return true;
  } catch {
    return false;
  }
}
