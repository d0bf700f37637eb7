// test/runtimes/host-footprint.ts: what a container runtime could change on the REAL host (the test process's own
// netns and mount namespace), read before and after a runtime test file, which compares the two whole: links,
// iptables and nftables rules, listening sockets, mounts, the runtimes' well-known directories, top-level cgroups and
// runtime processes. The sandbox (sandbox.ts) must keep every one of them unchanged.
import { existsSync, readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

export interface Footprint {
  links: string[];
  iptables: string[];
  ip6tables: string[];
  nftables: string[];
  listeners: string[];
  mounts: string[];
  paths: string[];
  cgroups: string[];
  processes: string[];
}

/** Directories and files podman, containerd, runc and libcni use by default. */
const WELL_KNOWN = [
  "/run/containerd", "/run/runc", "/run/crun", "/run/libpod", "/run/containers", "/run/cni", "/run/podman",
  "/var/lib/cni", "/var/lib/containers", "/var/lib/containerd", "/opt/cni", "/opt/containerd", "/etc/cni/net.d",
  "/dev/shm/libpod_lock",
];
const RUNTIME_PROCESSES = /^(containerd|containerd-shim.*|conmon|runc|crun|podman|catatonit)$/;

/** Returns the real host's footprint now. Names other test files create (`cnit…`, /run/netns/<their ns>) are left out. */
export function hostFootprint(): Footprint {
  return {
    links: (JSON.parse(out(["ip", "-j", "link", "show"])) as { ifname: string }[]).map((l) => l.ifname).filter((n) => !n.startsWith("cnit")).sort(),
    iptables: saved("iptables-save"),
    ip6tables: saved("ip6tables-save"),
    nftables: Bun.which("nft") ? out(["nft", "list", "ruleset"]).split("\n").filter((l) => l.trim() !== "") : [],
    listeners: out(["ss", "-Hltun"]).split("\n").filter((l) => l !== "").map((l) => l.split(/\s+/).slice(0, 5).filter((_, i) => i !== 2 && i !== 3).join(" ")).sort(),
    mounts: readFileSync("/proc/self/mountinfo", "utf8").split("\n").filter((l) => l !== "").map((l) => l.split(" ")[4]!)
      // other suites' throwaway netns come and go; a runtime's would be /run/netns/netns-… or cni-…
      .filter((m) => !m.startsWith("/run/netns/") || /^\/run\/netns\/(netns|cni)-/.test(m)).sort(),
    paths: WELL_KNOWN.map((p) => `${p}: ${listing(p)}`),
    cgroups: cgroupTops(),
    processes: runtimeProcesses(),
  };
}

function out(argv: string[]): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

/** Returns iptables-save's lines without comments and counters. */
function saved(tool: string): string[] {
  if (!Bun.which(tool)) return [];
  return out([tool]).split("\n").filter((l) => l !== "" && !l.startsWith("#")).map((l) => l.replace(/ \[\d+:\d+\]$/, ""));
}

function listing(path: string): string {
  if (!existsSync(path)) return "absent";
  try {
    return `[${readdirSync(path).sort().join(" ")}]`;
  } catch {
    return "present"; // a file
  }
}

/** Returns `<hierarchy>/<dir>` for every directory at the top of every cgroup hierarchy. */
function cgroupTops(): string[] {
  const outList: string[] = [];
  const add = (root: string, label: string) => {
    for (const e of readdirSync(root, { withFileTypes: true })) if (e.isDirectory()) outList.push(`${label}/${e.name}`);
  };
  if (existsSync("/sys/fs/cgroup/cgroup.controllers")) add("/sys/fs/cgroup", "");
  else for (const e of readdirSync("/sys/fs/cgroup", { withFileTypes: true })) if (e.isDirectory()) add(join("/sys/fs/cgroup", e.name), e.name);
  return outList.sort();
}

function runtimeProcesses(): string[] {
  const names: string[] = [];
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      // /proc/<pid>/stat: "pid (comm) state …"; a zombie has exited and only waits for its parent (often init) to reap it
      const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
      const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
      const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
      if (RUNTIME_PROCESSES.test(comm) && state !== "Z") names.push(`${pid} ${comm}`);
    } catch {
      // gone meanwhile
    }
  }
  return names.sort();
}
