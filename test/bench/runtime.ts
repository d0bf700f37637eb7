// test/bench/runtime.ts: run a network's plugins for a pod the way libcni does for a conflist: one exec per plugin
// with env + stdin, `name`, `cniVersion`, `runtimeConfig` (capabilities only) and the previous result injected; DEL
// in reverse order with the final ADD result as prevResult. Every exec happens from a thread switched into the
// side's throwaway host netns (setns, then fork/exec; BUN-NOTES §2), so the child starts there with no wrapper
// process (`ip netns exec` would add its own exec and mount work to every figure).
import { withNetns, type NetNS } from "../../pkg/ns/netns.ts";

/** One implementation under test, in its own host netns with its own state directories. */
export interface Side {
  label: string;
  /** Directory holding the plugin binaries; also CNI_PATH. */
  dir: string;
  hostNs: NetNS;
  hostName: string;
  /** host-local's and tuning's dataDir root for this side. */
  stateDir: string;
}

/** One pod: its container ID, netns and the runtime arguments of its network. */
export interface Pod {
  id: string;
  netns: string;
  index: number;
}

/** One plugin exec: what it printed, how long it took (fork to reaped, in the driver) and, when asked, its peak RSS. */
export interface Call {
  plugin: string;
  verb: string;
  ms: number;
  exitCode: number;
  stdout: string;
  stderr: string;
  /** Peak RSS in KiB from wait4's rusage as /usr/bin/time reports it (only with `rss`). */
  rssKiB?: number;
  /** User + system CPU of the process and the children it waited for (wait4's rusage), in ms. */
  cpuMs?: number;
}

export const CNI_VERSION = "1.0.0"; // the highest the Debian Go plugins (v1.1.1) accept
export const NETWORK = "benchnet";
const PATH_ENV = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
export const TIME = "/usr/bin/time";

/** The network of the benchmark: bridge (gateway, masquerade, host-local /16) → portmap → bandwidth → tuning. */
export function conflist(side: Side): { name: string; cniVersion: string; plugins: Record<string, unknown>[] } {
  return {
    cniVersion: CNI_VERSION,
    name: NETWORK,
    plugins: [
      {
        type: "bridge", bridge: "cnibench0", isGateway: true, ipMasq: true,
        ipam: { type: "host-local", dataDir: `${side.stateDir}/ipam`, ranges: [[{ subnet: "10.213.0.0/16" }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true },
      { type: "bandwidth", capabilities: { bandwidth: true } },
      { type: "tuning", sysctl: { "net.core.somaxconn": "512" }, dataDir: `${side.stateDir}/tuning` },
    ],
  };
}

/** What the runtime knows about a pod (libcni RuntimeConf.CapabilityArgs): two port mappings and both rate limits. */
export function capabilityArgs(pod: Pod): Record<string, unknown> {
  const base = 20000 + 2 * pod.index;
  return {
    portMappings: [
      { hostPort: base, containerPort: 80, protocol: "tcp" },
      { hostPort: base + 1, containerPort: 53, protocol: "udp" },
    ],
    bandwidth: { ingressRate: 100_000_000, ingressBurst: 1_000_000, egressRate: 100_000_000, egressBurst: 1_000_000 },
  };
}

/** Returns one plugin's stdin as libcni builds it (buildOneConfig + injectRuntimeConfig). */
export function pluginConfig(list: ReturnType<typeof conflist>, i: number, pod: Pod, prevResult: unknown): string {
  const plugin = list.plugins[i]!;
  const conf: Record<string, unknown> = { ...plugin, name: list.name, cniVersion: list.cniVersion };
  const caps = (plugin.capabilities ?? {}) as Record<string, boolean>;
  const args = capabilityArgs(pod);
  const rc: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(args)) if (caps[k]) rc[k] = v;
  if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
  if (prevResult !== undefined) conf.prevResult = prevResult;
  return JSON.stringify(conf);
}

function env(side: Side, verb: string, pod: Pod | undefined): Record<string, string> {
  const e: Record<string, string> = { CNI_COMMAND: verb, CNI_PATH: side.dir, PATH: PATH_ENV };
  if (pod) Object.assign(e, { CNI_CONTAINERID: pod.id, CNI_NETNS: pod.netns, CNI_IFNAME: "eth0" });
  return e;
}

/** How to run a plugin besides plainly: under `/usr/bin/time -f %M` (rss) or another wrapper (strace). */
export interface ExecOptions {
  rss?: boolean;
  /** Returns the wrapper argv put in front of the plugin's path. */
  wrap?: (plugin: string, verb: string) => string[];
}

/** Runs one plugin synchronously in the side's host netns and times it. */
export function execPlugin(side: Side, plugin: string, verb: string, pod: Pod | undefined, stdin: string, opts: ExecOptions = {}): Call {
  const rss = opts.rss ?? false;
  const bin = `${side.dir}/${plugin}`;
  const argv = [...(rss ? [TIME, "-f", "%M"] : []), ...(opts.wrap?.(plugin, verb) ?? []), bin];
  const input = new TextEncoder().encode(stdin);
  const e = env(side, verb, pod);
  let t0 = 0;
  let t1 = 0;
  const p = withNetns(side.hostNs, () => {
    t0 = performance.now();
    const r = Bun.spawnSync(argv, { env: e, stdin: input, stdout: "pipe", stderr: "pipe" });
    t1 = performance.now();
    return r;
  });
  let stderr = p.stderr.toString();
  let rssKiB: number | undefined;
  if (rss) {
    // time prints the figure as the last line of stderr, after whatever the plugin wrote there.
    const lines = stderr.trimEnd().split("\n");
    rssKiB = Number(lines.pop());
    stderr = lines.join("\n");
  }
  const cpu = p.resourceUsage?.cpuTime;
  const cpuMs = cpu === undefined ? undefined : Number(cpu.total) / 1000; // µs
  return { plugin, verb, ms: t1 - t0, exitCode: p.exitCode ?? -1, stdout: p.stdout.toString(), stderr, rssKiB, cpuMs };
}

/** Starts one plugin in the side's host netns and returns its outcome when it exits (for concurrent pods). */
export async function spawnPlugin(side: Side, plugin: string, verb: string, pod: Pod, stdin: string): Promise<Call> {
  const input = new TextEncoder().encode(stdin);
  const e = env(side, verb, pod);
  const t0 = performance.now();
  const p = withNetns(side.hostNs, () => Bun.spawn([`${side.dir}/${plugin}`], { env: e, stdin: input, stdout: "pipe", stderr: "pipe" }));
  const [code, stdout, stderr] = await Promise.all([p.exited, new Response(p.stdout).text(), new Response(p.stderr).text()]);
  return { plugin, verb, ms: performance.now() - t0, exitCode: code, stdout, stderr };
}

/** A pod's calls and the result the chain ended with (ADD) or undefined (DEL). */
export interface ChainRun {
  calls: Call[];
  ms: number;
  result?: unknown;
}

/** Returns the CPU time of a pod's calls (user + system, children included), in ms. */
export function cpuOf(r: ChainRun): number {
  return r.calls.reduce((a, c) => a + (c.cpuMs ?? NaN), 0);
}

function failed(side: Side, c: Call, pod: Pod): Error {
  return new Error(`${side.label} ${c.plugin} ${c.verb} of pod ${pod.index} failed (exit ${c.exitCode}): ${c.stdout.trim()} ${c.stderr.trim()}`);
}

/** Runs the network's ADD for one pod: each plugin in order, fed the previous plugin's result. Throws on a failure. */
export function addPod(side: Side, pod: Pod, opts: ExecOptions = {}): ChainRun {
  const list = conflist(side);
  const calls: Call[] = [];
  let prev: unknown;
  for (let i = 0; i < list.plugins.length; i++) {
    const c = execPlugin(side, list.plugins[i]!.type as string, "ADD", pod, pluginConfig(list, i, pod, prev), opts);
    calls.push(c);
    if (c.exitCode !== 0) throw failed(side, c, pod);
    prev = JSON.parse(c.stdout);
  }
  return { calls, ms: calls.reduce((a, c) => a + c.ms, 0), result: prev };
}

/** Runs the network's DEL for one pod: plugins in reverse order, each given the final ADD result. Throws on a failure. */
export function delPod(side: Side, pod: Pod, result: unknown, opts: ExecOptions = {}): ChainRun {
  const list = conflist(side);
  const calls: Call[] = [];
  for (let i = list.plugins.length - 1; i >= 0; i--) {
    const c = execPlugin(side, list.plugins[i]!.type as string, "DEL", pod, pluginConfig(list, i, pod, result), opts);
    calls.push(c);
    if (c.exitCode !== 0) throw failed(side, c, pod);
  }
  return { calls, ms: calls.reduce((a, c) => a + c.ms, 0) };
}

/** The asynchronous addPod, for pods run concurrently. */
export async function addPodAsync(side: Side, pod: Pod): Promise<ChainRun> {
  const list = conflist(side);
  const calls: Call[] = [];
  let prev: unknown;
  for (let i = 0; i < list.plugins.length; i++) {
    const c = await spawnPlugin(side, list.plugins[i]!.type as string, "ADD", pod, pluginConfig(list, i, pod, prev));
    calls.push(c);
    if (c.exitCode !== 0) throw failed(side, c, pod);
    prev = JSON.parse(c.stdout);
  }
  return { calls, ms: calls.reduce((a, c) => a + c.ms, 0), result: prev };
}

/** The asynchronous delPod, for pods run concurrently. */
export async function delPodAsync(side: Side, pod: Pod, result: unknown): Promise<ChainRun> {
  const list = conflist(side);
  const calls: Call[] = [];
  for (let i = list.plugins.length - 1; i >= 0; i--) {
    const c = await spawnPlugin(side, list.plugins[i]!.type as string, "DEL", pod, pluginConfig(list, i, pod, result));
    calls.push(c);
    if (c.exitCode !== 0) throw failed(side, c, pod);
  }
  return { calls, ms: calls.reduce((a, c) => a + c.ms, 0) };
}

/** Returns the container IPs (without prefix) of an ADD result. */
export function resultIPs(result: unknown): string[] {
  const ips = ((result ?? {}) as { ips?: { address?: string }[] }).ips ?? [];
  return ips.map((i) => (i.address ?? "").split("/")[0]!).filter((a) => a !== "");
}
