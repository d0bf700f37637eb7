// test/support/write-trace.ts: runs a plugin exactly as runPlugin does, under `strace -f`, and returns every path it
// (or any child: iptables, nft, an exec'd delegate) opened for writing, created, renamed, linked or removed, so a
// test can prove the writes stay inside the directories the input may name. The run also gets its own UTS
// namespace (`unshare -u`): if a traversal ever reached /proc/sys/kernel/hostname, the host's name stays as it is.
import { readFileSync, rmSync } from "node:fs";
import { OURS, type Run } from "./run-plugin.ts";

/** One path-changing syscall: its name and the (absolute, as passed) path; `to` for renames and links. */
export interface Write {
  syscall: string;
  path: string;
  to?: string;
}

const SYSCALLS = "open,openat,creat,mkdir,mkdirat,rename,renameat,renameat2,unlink,unlinkat,rmdir,link,linkat,symlink,symlinkat,truncate";
const WRITE_FLAGS = /O_WRONLY|O_RDWR|O_CREAT|O_TRUNC|O_APPEND/;

/** Runs `plugin` from `dir` in `hostNetns` with env and stdin; returns its outcome and its writes. */
export function tracedRun(plugin: string, opts: { hostNetns: string; env: Record<string, string>; stdin: string | object; dir?: string; traceFile: string }): Run & { writes: Write[] } {
  const dir = opts.dir ?? OURS;
  const stdin = typeof opts.stdin === "string" ? opts.stdin : JSON.stringify(opts.stdin);
  const p = Bun.spawnSync(
    ["ip", "netns", "exec", opts.hostNetns, "unshare", "-u", "strace", "-f", "-qq", "-s", "4096", "-o", opts.traceFile, "-e", `trace=${SYSCALLS}`, `${dir}/${plugin}`],
    { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", CNI_PATH: dir, ...opts.env }, stdin: new TextEncoder().encode(stdin), stdout: "pipe", stderr: "pipe" },
  );
  const lines = readFileSync(opts.traceFile, "utf8").split("\n");
  rmSync(opts.traceFile, { force: true });
  const stdout = p.stdout.toString();
  let json: unknown;
  try {
    json = stdout.trim() ? JSON.parse(stdout) : undefined;
  } catch {
    json = undefined;
  }
  return { exitCode: p.exitCode ?? -1, stdout, stderr: p.stderr.toString(), json, writes: parseWrites(lines) };
}

/** Returns the writes of strace lines (`pid syscall(args) = ret`); failed calls count too: they were attempted. */
export function parseWrites(lines: string[]): Write[] {
  const out: Write[] = [];
  for (const line of lines) {
    const m = /^(?:\d+ +)?([a-z0-9]+)\((.*)\) += /.exec(line);
    if (!m) continue;
    const [, syscall, args] = m as unknown as [string, string, string];
    const paths = [...args.matchAll(/"((?:[^"\\]|\\.)*)"/g)].map((x) => unescapeC(x[1]!));
    if (syscall === "open" || syscall === "openat" || syscall === "creat") {
      if (syscall !== "creat" && !WRITE_FLAGS.test(args)) continue;
      out.push({ syscall, path: dirfdPath(args, paths[0]!) });
    } else if (/^(rename|link|symlink)/.test(syscall)) {
      out.push({ syscall, path: paths[0] ?? "", to: paths[1] ?? "" });
    } else {
      out.push({ syscall, path: dirfdPath(args, paths[0] ?? "") });
    }
  }
  return out;
}

// A path relative to a directory fd other than the cwd cannot be judged from the trace: mark it so it fails any check.
function dirfdPath(args: string, path: string): string {
  if (path.startsWith("/")) return path;
  return args.startsWith("AT_FDCWD") || !/^\d+,/.test(args) ? `<cwd>/${path}` : `<dirfd>/${path}`;
}

function unescapeC(s: string): string {
  return s.replace(/\\(x[0-9a-f]{2}|[0-7]{1,3}|.)/g, (_, e: string) => {
    if (e.startsWith("x")) return String.fromCharCode(parseInt(e.slice(1), 16));
    if (/^[0-7]+$/.test(e)) return String.fromCharCode(parseInt(e, 8));
    return ({ n: "\n", t: "\t", r: "\r", v: "\v", f: "\f" } as Record<string, string>)[e] ?? e;
  });
}

/** Paths every run may write whatever the input: the xtables lock, /dev/null, and the netns's own net sysctls. */
export const ALWAYS_ALLOWED = [/^\/run\/xtables\.lock$/, /^\/dev\/null$/, /^\/proc\/sys\/net\//];

/** Returns the writes outside `roots` (directories, with or without trailing slash) and ALWAYS_ALLOWED. */
export function outside(writes: Write[], roots: string[]): Write[] {
  const under = (p: string) => ALWAYS_ALLOWED.some((r) => r.test(p)) || roots.some((r) => p === r.replace(/\/$/, "") || p.startsWith(r.endsWith("/") ? r : `${r}/`));
  return writes.filter((w) => !under(w.path) || (w.to !== undefined && !under(w.to)));
}
