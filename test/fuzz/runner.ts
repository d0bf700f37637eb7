// test/fuzz/runner.ts: one fuzz case from (seed, plugin, index), its run exactly as a runtime execs a plugin (env +
// stdin, inside the lane's throwaway host netns), the output contract every run must keep, and the state a batch of
// cases may leave. Each plugin process also gets private bind mounts over /var/lib, /run/cni and /etc/cni (inside
// the mount namespace `ip netns exec` makes), pointing into the lane's temp dir: a default data dir the fuzzer
// failed to confine lands there and shows up as a leak instead of on the host.
import { mkdirSync } from "node:fs";
import { OURS } from "../support/run-plugin.ts";
import { Prng } from "../support/prng.ts";
import { netState, newLines, treeOf, type NetState } from "../support/net-state.ts";
import type { Lane, Target } from "./corpus.ts";
import { confine, mutateConfig, nastyCniArgs, nastyString, RAW_ENV_VALUES, serialize } from "./mutate.ts";

/** One input: the env (values that must be raw bytes come as printf formats in rawEnv) and stdin. */
export interface FuzzCase {
  plugin: string;
  index: number;
  env: Record<string, string>;
  rawEnv: Record<string, string>;
  stdin: Uint8Array;
  /** What was mutated, for the report. */
  ops: string[];
}

export interface Outcome {
  exitCode: number | null;
  signal: string | null;
  stdout: string;
  stderr: string;
  timedOut: boolean;
}

const VERBS: [string, number][] = [["ADD", 50], ["DEL", 22], ["CHECK", 10], ["STATUS", 6], ["GC", 6], ["VERSION", 6]];
const VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
const CASE_TIMEOUT_MS = 20_000;

function fnv(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Returns the generator of one case: a pure function of the seed, the plugin and the index. */
export function caseRng(seed: number, plugin: string, index: number): Prng {
  return new Prng((seed ^ fnv(plugin) ^ Math.imul(index + 1, 0x9e3779b1)) >>> 0);
}

function weighted(rng: Prng, xs: [string, number][]): string {
  let r = rng.int(xs.reduce((a, [, w]) => a + w, 0));
  for (const [x, w] of xs) if ((r -= w) < 0) return x;
  return xs[0]![0];
}

/** Returns case `index` of `plugin` for a lane (only the lane's paths enter the input). */
export function makeCase(seed: number, plugin: string, index: number, target: Target, lane: Lane): FuzzCase {
  const rng = caseRng(seed, plugin, index);
  const base = rng.pick(target.seeds(lane));
  const verb = weighted(rng, VERBS);
  const ops: string[] = [verb];
  let conf = structuredClone(base.conf);
  if (rng.chance(0.25)) {
    conf.cniVersion = rng.chance(0.8) ? rng.pick(VERSIONS) : nastyString(rng);
    ops.push(`cniVersion ${JSON.stringify(conf.cniVersion)}`);
    const prev = conf.prevResult as Record<string, unknown> | undefined;
    if (prev && rng.chance(0.5)) prev.cniVersion = conf.cniVersion;
  }
  if (rng.chance(0.65)) {
    const m = mutateConfig(rng, conf, target.fields, rng.range(1, 4));
    conf = m.conf;
    ops.push(...m.ops);
  }
  if (rng.chance(0.2)) ops.push(traverse(rng, conf, lane.root));
  if (conf.prevResult !== undefined && rng.chance(0.12)) {
    conf.prevResult = rng.pick(OTHER_RESULTS);
    ops.push(`prevResult ${JSON.stringify(conf.prevResult).slice(0, 40)}`);
  }
  ensureDataDirs(conf, plugin, lane.root);
  confine(conf, lane.root);
  let ser = serialize(rng, conf, rng.chance(0.12));
  // A mangled byte can land in a dataDir key or value: if what the plugin would decode is no longer confined,
  // the unmangled text goes instead.
  if (ser.ops.length > 0 && !isConfined(ser.bytes, plugin, lane.root)) ser = { bytes: serialize(rng, conf, false).bytes, ops: [`${ser.ops[0]} (reverted)`] };
  ops.push(...ser.ops);

  const env: Record<string, string> = {
    CNI_COMMAND: verb, CNI_CONTAINERID: `fz-${plugin}-${index}`, CNI_NETNS: lane.ctr.path, CNI_IFNAME: base.ifname, CNI_PATH: OURS,
  };
  const rawEnv: Record<string, string> = {};
  if (rng.chance(0.3)) {
    for (let n = rng.range(1, 2); n > 0; n--) {
      const name = rng.pick(["CNI_CONTAINERID", "CNI_NETNS", "CNI_IFNAME", "CNI_ARGS", "CNI_ARGS", "CNI_PATH", "CNI_COMMAND", "CNI_NETNS_OVERRIDE"]);
      if (rng.chance(0.1)) {
        delete env[name];
        ops.push(`unset ${name}`);
        continue;
      }
      env[name] = envValue(rng, name, lane).split("\u0000")[0]!; // execve passes C strings: a NUL ends the value
      ops.push(`${name}=${JSON.stringify(env[name]!.slice(0, 40))}`);
    }
  }
  if (rng.chance(0.04)) {
    const name = rng.pick(["CNI_CONTAINERID", "CNI_IFNAME", "CNI_ARGS"]);
    rawEnv[name] = rng.pick(RAW_ENV_VALUES);
    delete env[name];
    ops.push(`${name}=printf ${rawEnv[name]}`);
  }
  // The firewall plugin's firewalld backend must never reach a real bus.
  env.DBUS_SYSTEM_BUS_ADDRESS = `unix:path=${lane.root}/no-bus`;
  return { plugin, index, env, rawEnv, stdin: ser.bytes, ops };
}

function envValue(rng: Prng, name: string, lane: Lane): string {
  switch (name) {
    // Never a path to a real netns: the lane's own, nothing, or paths that are no netns at all.
    case "CNI_NETNS": return rng.pick(["", "/nonexistent/ns", "/dev/null", "/", `${lane.root}`, "/proc/self/ns/net", "/proc/thread-self/ns/net", "ns", `${lane.ctr.path}/..`, `${lane.ctr.path}/../${lane.ctr.name}`, "/run/netns/cnifz-no-such-netns", `${lane.ctr.path}\u0000x`]);
    case "CNI_PATH": return rng.pick(["", "/nonexistent", "/", lane.root, `${lane.root}:${OURS}`, `:${OURS}:`, nastyString(rng)]);
    case "CNI_COMMAND": return rng.pick(["", "add", "Add", "DELETE", "BOGUS", "VERSION", "GC", "STATUS", "CHECK", "DEL", "ADD", nastyString(rng)]);
    case "CNI_ARGS": return nastyCniArgs(rng);
    case "CNI_NETNS_OVERRIDE": return rng.pick(["1", "true", "TRUE", "0", "", nastyString(rng)]);
    default: return nastyString(rng);
  }
}

const TRAVERSALS = ["../../etc", "..", ".", "../x", "a/../../b", "/etc/cni", "x/..", "../../../../../../tmp/x", "a/b", "%2e%2e", "..\u0000x"];

// Puts a path traversal where the issue names it: the network name, a plugin or IPAM type, a data dir (kept
// below root: the dir is the admin's, its confinement is what is tested), a sysctl key.
function traverse(rng: Prng, conf: Record<string, unknown>, root: string): string {
  const t = rng.pick(TRAVERSALS);
  const ipam = conf.ipam && typeof conf.ipam === "object" && !Array.isArray(conf.ipam) ? (conf.ipam as Record<string, unknown>) : undefined;
  switch (rng.int(5)) {
    case 0: {
      const name = rng.chance(0.5) ? t : `${typeof conf.name === "string" ? conf.name.slice(0, 64) : "net"}/${t}`;
      conf.name = name;
      return `traversal in name: ${JSON.stringify(name)}`;
    }
    case 1: conf.type = t; return `traversal in type: ${JSON.stringify(t)}`;
    case 2:
      if (!ipam) return "traversal skipped (no ipam)";
      const type = typeof ipam.type === "string" ? ipam.type.slice(0, 64) : "host-local";
      ipam.type = rng.pick([t, `../${type}`, `/usr/lib/cni/${type}`, `./${type}`]);
      return `traversal in ipam.type: ${JSON.stringify(ipam.type)}`;
    case 3: {
      const dir = `${root}/dd/${rng.pick(["a/../b", "a/./b", "a//b", "a/b/../../c", "x/../../dd2", "a/b/c/../../.."])}`;
      if (ipam) ipam.dataDir = dir;
      conf.dataDir = dir;
      return `dataDir ${dir.slice(root.length)}`;
    }
    default: {
      const key = rng.pick(["net/../kernel/hostname", "net.ipv4.conf.IFNAME/../../../../kernel/hostname", "../../etc/hostname", "kernel.hostname", "net/./ipv4/../../x", "net.ipv4.conf.IFNAME.rp_filter", "net/ipv4/conf/IFNAME/../../../../../proc/sys/kernel/hostname"]);
      conf.sysctl = { ...(conf.sysctl && typeof conf.sysctl === "object" ? (conf.sysctl as object) : {}), [key]: "1" };
      return `sysctl key ${JSON.stringify(key)}`;
    }
  }
}

// prevResults of other versions and shapes than the config's.
const OTHER_RESULTS: unknown[] = [
  { cniVersion: "0.2.0", ip4: { ip: "10.77.1.2/24", gateway: "10.77.1.1" } },
  { cniVersion: "0.4.0", interfaces: [{ name: "eth0" }], ips: [{ version: "4", address: "10.77.1.2/24", interface: 0 }] },
  { cniVersion: "1.1.0", interfaces: [{ name: "eth0" }], ips: [{ address: "10.77.1.2/24", interface: 7 }] },
  { cniVersion: "1.0.0", interfaces: [], ips: [] },
  { cniVersion: "1.0.0", ips: [{ address: "fd77::2/64", interface: 0 }], interfaces: [{ name: "eth0" }] },
  { cniVersion: "9.9.9" }, {}, [], "x", 0, null,
];

// Returns whether the config the plugin would decode from bytes (invalid UTF-8 replaced, as the plugins' decoder
// does) already has every data dir and socket path below root: confining it again changes nothing.
function isConfined(bytes: Uint8Array, plugin: string, root: string): boolean {
  let v: unknown;
  try {
    v = JSON.parse(new TextDecoder().decode(bytes));
  } catch {
    return true; // the plugin cannot decode it either
  }
  const before = JSON.stringify(v);
  ensureDataDirs(v, plugin, root);
  confine(v, root);
  return JSON.stringify(v) === before;
}

// An absent or empty dataDir means the host's default directory: every object that may carry one gets one.
function ensureDataDirs(conf: unknown, plugin: string, root: string): void {
  if (!conf || typeof conf !== "object" || Array.isArray(conf)) return;
  const o = conf as Record<string, unknown>;
  const has = (x: Record<string, unknown>) => Object.keys(x).some((k) => k.toLowerCase() === "datadir" && x[k]);
  if (["tuning", "portmap", "flannel"].includes(plugin) && !has(o)) o.dataDir = `${root}/forced-datadir`;
  // flannel hands its delegate `ipam` (or {}) as the IPAM config: without one, host-local would use its default.
  if (plugin === "flannel" && !Object.keys(o).some((k) => k.toLowerCase() === "ipam" && o[k] !== null)) o.ipam = { dataDir: `${root}/forced-datadir` };
  for (const k of Object.keys(o)) {
    const v = o[k];
    if (k.toLowerCase() === "ipam" && v && typeof v === "object" && !Array.isArray(v) && !has(v as Record<string, unknown>)) {
      (v as Record<string, unknown>).dataDir = `${root}/forced-datadir`;
    }
  }
}

// $1: the lane root; then NAME FORMAT pairs up to "--" (env values printf decodes); then the program.
const WRAPPER = [
  'root=$1; shift',
  'mount --bind "$root/var-lib" /var/lib || exit 97',
  'for d in run etc; do if [ -d /$d/cni ]; then mount --bind "$root/$d-cni" /$d/cni || exit 97; fi; done',
  'while [ "$1" != "--" ]; do export "$1=$(printf "$2")"; shift 2; done; shift',
  'exec "$@"',
].join("\n");

/** Makes the directories the wrapper binds (call once per lane root). */
export function prepareRoot(root: string): void {
  for (const d of ["var-lib", "run-cni", "etc-cni", "dd"]) mkdirSync(`${root}/${d}`, { recursive: true });
}

/** Runs one plugin call of a case; kills it (and its children) after CASE_TIMEOUT_MS. */
export async function runCase(c: FuzzCase, lane: Lane, env = c.env): Promise<Outcome> {
  const raw = Object.entries(c.rawEnv).flat();
  const argv = ["setsid", "ip", "netns", "exec", lane.host.name, "sh", "-c", WRAPPER, "sh", lane.root, ...raw, "--", `${OURS}/${c.plugin}`];
  const p = Bun.spawn(argv, { env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env }, stdin: c.stdin, stdout: "pipe", stderr: "pipe" });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    try {
      process.kill(-p.pid, "SIGKILL");
    } catch {
      // gone
    }
  }, CASE_TIMEOUT_MS);
  const [stdout, stderr, exitCode] = await Promise.all([new Response(p.stdout).text(), new Response(p.stderr).text(), p.exited]);
  clearTimeout(timer);
  return { exitCode: p.signalCode ? null : exitCode, signal: p.signalCode ? String(p.signalCode) : null, stdout, stderr, timedOut };
}

// What a crash of the runtime or an uncaught exception prints: stack frames, bun's "error:" line with the source
// excerpt, a crash banner.
const CRASH = /^\s+at\s|^error: |^\s*\d+ \| |^panic|Segmentation fault|Bun has crashed|oh no: Bun|RangeError|Maximum call stack|^\s*\^\s*$/m;

/**
 * Returns what is wrong with one run's output (empty: nothing): exit status 0 or 1; on stdout exactly one JSON
 * object (an error with an integer code and a msg on exit 1; a result for ADD and VERSION) or nothing (a silent
 * success, or no CNI_COMMAND at all); no stack trace on stderr or in the message.
 */
export function contractProblems(command: string | undefined, o: Outcome): string[] {
  const problems: string[] = [];
  if (o.timedOut) problems.push(`did not finish in ${CASE_TIMEOUT_MS} ms`);
  if (o.exitCode !== 0 && o.exitCode !== 1) problems.push(`exit status ${o.exitCode ?? `signal ${o.signal}`}`);
  if (o.exitCode === 97) problems.push("the test wrapper could not bind its mounts");
  if (CRASH.test(o.stderr)) problems.push("stack trace or crash text on stderr");
  const text = o.stdout;
  const silentOk = o.exitCode === 0 && (command === undefined || command === "" || ["DEL", "CHECK", "GC", "STATUS"].includes(command));
  if (text === "") {
    if (!silentOk) problems.push("nothing on stdout");
    return problems;
  }
  if (o.exitCode === 0 && (command === undefined || command === "")) problems.push("stdout without a CNI_COMMAND");
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    problems.push(`stdout is not one JSON value: ${(e as Error).message}`);
    return problems;
  }
  if (v === null || typeof v !== "object" || Array.isArray(v)) {
    problems.push("stdout is not a JSON object");
    return problems;
  }
  const obj = v as Record<string, unknown>;
  if (o.exitCode === 1) {
    if (!Number.isInteger(obj.code) || typeof obj.msg !== "string") problems.push("error object without an integer code and a string msg");
    if (CRASH.test(String(obj.msg)) || CRASH.test(String(obj.details ?? ""))) problems.push("stack trace in the error message");
  } else if (o.exitCode === 0 && typeof obj.cniVersion !== "string") {
    problems.push("result without cniVersion");
  }
  return problems;
}

/** What a lane holds that a leak would show: both netns and the files below the lane root. */
export interface LaneState {
  host: NetState;
  ctr: NetState;
  files: string[];
}

export function laneState(lane: Lane): LaneState {
  return { host: netState(lane.host), ctr: netState(lane.ctr), files: treeOf(lane.root) };
}

/**
 * Returns what a batch left (empty: nothing), minus what legitimately stays after a DEL: a bridge and its own
 * addresses and routes (no plugin deletes a bridge), and shared scaffolding no attachment owns (netfilter tables,
 * base chains and their uncommented rules; host-local's lock and bookmark files; directories).
 */
export function leaks(before: LaneState, after: LaneState, plugin = ""): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const side of ["host", "ctr"] as const) {
    const extra = newLines(before[side], after[side]);
    const bridges = new Set(after[side].links.filter((l) => / bridge( |$)/.test(l)).map((l) => l.split(" ")[0]!));
    const onBridge = (l: string) => [...bridges].some((b) => l.startsWith(`${b} `) || l.endsWith(` dev ${b}`));
    const kept: Record<string, string[]> = {};
    for (const [k, lines] of Object.entries(extra) as [keyof NetState, string[]][]) {
      const left = lines.filter((l) => {
        if (k === "links") return !/ bridge( |$)/.test(l);
        if (k === "addrs") return !onBridge(l);
        // upstream quirk: sbr's DEL removes its rules but not the routes ADD moved into its table; they go with the
        // container's interface (SPEC-DIGEST §3.5).
        if (k === "routes") return !onBridge(l) && !(plugin === "sbr" && side === "ctr" && !/^(main|local) /.test(l));
        if (k === "nft") return !isNftScaffolding(l);
        if (k === "iptables") return !isIptScaffolding(l);
        return true;
      });
      if (left.length) kept[k] = left;
    }
    if (Object.keys(kept).length) out[side] = kept;
  }
  const had = new Set(before.files);
  const files = after.files.filter((f) => !had.has(f) && !isFileScaffolding(f));
  if (files.length) out.files = files;
  return out;
}

// nft: tables and chains (but a spoof-check chain is one attachment's), and rules without a comment (ours carry the
// container's). iptables-nft's rules (`xt` expressions) are judged on their iptables-save form instead.
function isNftScaffolding(line: string): boolean {
  if (line.startsWith("table ")) return true;
  if (line.startsWith("chain ")) return !/"name":"cni-br-iface-/.test(line);
  return line.startsWith("rule ") && (line.includes('"xt":') || !line.includes('"comment":"'));
}

// iptables: the shared chains of portmap and firewall and the jumps into them; a rule naming an attachment (a
// per-container chain, an address, an id comment) is never scaffolding. A table's builtin chains appear with it.
const SHARED_CHAINS = ["CNI-HOSTPORT-DNAT", "CNI-HOSTPORT-SNAT", "CNI-HOSTPORT-MASQ", "CNI-HOSTPORT-SETMARK", "CNI-FORWARD", "CNI-ADMIN"];
function isIptScaffolding(line: string): boolean {
  const rest = line.split(" ").slice(2).join(" ");
  if (rest.startsWith(":")) return SHARED_CHAINS.includes(rest.slice(1).split(" ")[0]!) || /^:[A-Z]+ [A-Z]+$/.test(rest);
  if (/\d+\.\d+\.\d+\.\d+|[0-9a-f]*::|id: |CNI-[0-9a-f]{6,}|CNI-(DN|SN)-/.test(rest)) return false;
  return SHARED_CHAINS.some((c) => rest.includes(c));
}

// Directories come and stay (stores, backup dirs), and so do host-local's lock and bookmarks; files named like
// IPs, backups or records never may, and nothing at all below the bind-mounted default directories.
function isFileScaffolding(path: string): boolean {
  if (/^(var-lib|run-cni|etc-cni)\//.test(path)) return false;
  const name = path.replace(/\/$/, "").split("/").at(-1)!;
  return path.endsWith("/") || name === "lock" || name.startsWith("last_reserved_ip.");
}

export const _internals = { isIptScaffolding, isNftScaffolding, isFileScaffolding };
