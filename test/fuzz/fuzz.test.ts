// Hostile input: a seeded, deterministic fuzzer feeds every plugin mutated configs, env values, CNI_ARGS and
// prevResults (wrong types, huge numbers, deep nesting, invalid UTF-8, 1 MB strings, path traversal in name, type,
// container ID, ifname, dataDir and sysctl names; see mutate.ts), each run as a runtime runs it, in a throwaway
// host netns against a throwaway container netns (corpus.ts, runner.ts). Every run must exit 0 or 1 and print one
// JSON object (or, for a silent success, nothing), never a stack trace; a successful ADD is DELed with the same
// input, and that DEL must succeed. After each batch nothing may be left: no link, address, route, rule, nft
// object or iptables rule, no file (reservation, backup, record, scratch) below the lane's dirs, and nothing in the
// default data dirs (bind-mounted into the lane for each run). When a batch leaks, its cases are replayed one by one
// in a fresh lane to name the one that leaked.
//
// Scale and replay: CNI_FUZZ_SEED (default below), CNI_FUZZ_CASES per plugin (default 120: about 2,300 cases, 2,600 runs, in
// about a minute on 2 CPUs), CNI_FUZZ_PLUGINS=a,b to narrow. A finding names its plugin and index; the same seed and
// index give the same input.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { RUN_PREFIX } from "../support/netns.ts";
import { seedFrom } from "../support/prng.ts";
import { mustSkip } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { treeOf } from "../support/net-state.ts";
import { makeLane, TARGETS, type Lane } from "./corpus.ts";
import { contractProblems, laneState, leaks, makeCase, prepareRoot, runCase, type FuzzCase } from "./runner.ts";

const TAG = "fuzz";
const ONLY = (process.env.CNI_FUZZ_PLUGINS ?? "").split(",").filter((p) => p !== "");
const PLUGINS = ONLY.length > 0 ? ONLY : Object.keys(TARGETS);
const skip = mustSkip("fuzz", { tools: ["ip", "setsid", "mount", "iptables-save", "nft"], ours: PLUGINS });
cleanUpAfterAll(TAG);

const SEED = seedFrom(process.env.CNI_FUZZ_SEED, 0x00c0ffee);
const CASES = Number(process.env.CNI_FUZZ_CASES || 120);
const BATCH = 30;
const LANES = 4;
const HOST_DIRS = ["/var/lib/cni", "/run/cni", "/etc/cni"];

interface Finding {
  plugin: string;
  index: number;
  ops: string[];
  problems: string[];
  stdout?: string;
  stderr?: string;
  left?: Record<string, unknown>;
}

interface PluginReport {
  findings: Finding[];
  runs: number;
  exits: Record<string, number>;
  addsOk: number;
}

const reports = new Map<string, PluginReport>();
let tmpRoot = "";
let hostBefore: Record<string, string[]> = {};
let tmpBefore = new Set<string>();
let rootBefore = new Set<string>();
let elapsedMs = 0;

const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n)}…(${s.length})` : s);

function newLane(plugin: string, batch: number): Lane & Disposable {
  const root = mkdtempSync(`${tmpRoot}/${plugin}-${batch}-`);
  prepareRoot(root);
  const lane = makeLane(`${TAG}-${batch}`, root);
  return {
    ...lane,
    [Symbol.dispose]() {
      lane.ctr[Symbol.dispose]();
      lane.host[Symbol.dispose]();
      rmSync(root, { recursive: true, force: true });
    },
  };
}

/** Runs one case (and the DEL of a successful ADD); returns its problems and counts it. */
async function runOne(c: FuzzCase, lane: Lane, report: PluginReport): Promise<Finding | undefined> {
  const command = "CNI_COMMAND" in c.env ? c.env.CNI_COMMAND : undefined;
  const o = await runCase(c, lane);
  report.runs++;
  const key = String(o.exitCode ?? o.signal);
  report.exits[key] = (report.exits[key] ?? 0) + 1;
  const problems = contractProblems(command, o);
  let del;
  if (command === "ADD" && o.exitCode === 0) {
    report.addsOk++;
    del = await runCase(c, lane, { ...c.env, CNI_COMMAND: "DEL" });
    report.runs++;
    problems.push(...contractProblems("DEL", del).map((p) => `DEL after the ADD: ${p}`));
    if (del.exitCode !== 0) problems.push(`DEL after a successful ADD failed: ${clip(del.stdout, 300)}`);
  }
  if (problems.length === 0) return undefined;
  return { plugin: c.plugin, index: c.index, ops: c.ops, problems, stdout: clip(o.stdout, 400), stderr: clip((o.stderr + (del ? `\n[DEL] ${del.stderr}` : "")).trim(), 600) };
}

/** Runs cases [from, to) of a plugin in one fresh lane; on a leak, replays them one by one to name the leaker. */
async function runBatch(plugin: string, batch: number, from: number, to: number): Promise<void> {
  const report = reports.get(plugin)!;
  {
    using lane = newLane(plugin, batch);
    const before = laneState(lane);
    for (let i = from; i < to; i++) {
      const f = await runOne(makeCase(SEED, plugin, i, TARGETS[plugin]!, lane), lane, report);
      if (f) report.findings.push(f);
    }
    const left = leaks(before, laneState(lane), plugin);
    if (Object.keys(left).length === 0) return;
  }
  using lane = newLane(plugin, batch);
  let named = false;
  for (let i = from; i < to; i++) {
    const before = laneState(lane);
    const c = makeCase(SEED, plugin, i, TARGETS[plugin]!, lane);
    await runOne(c, lane, { findings: [], runs: 0, exits: {}, addsOk: 0 });
    const left = leaks(before, laneState(lane), plugin);
    if (Object.keys(left).length === 0) continue;
    named = true;
    report.findings.push({ plugin, index: i, ops: c.ops, problems: ["state left behind"], left });
  }
  if (!named) report.findings.push({ plugin, index: from, ops: [], problems: [`cases ${from}..${to - 1} leaked together, none alone`] });
}

// Levenshtein distance (UTF-16 units; a mangled byte shows as one or two).
function distance(a: string, b: string): number {
  let prev = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const cur = [i];
    for (let j = 1; j <= b.length; j++) cur[j] = Math.min(prev[j]! + 1, cur[j - 1]! + 1, prev[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    prev = cur;
  }
  return prev[b.length]!;
}

function hostDirs(): Record<string, string[]> {
  return Object.fromEntries(HOST_DIRS.map((d) => [d, treeOf(d)]));
}

beforeAll(async () => {
  if (skip) return;
  tmpRoot = `/tmp/${RUN_PREFIX}-${TAG}-data`;
  mkdirSync(tmpRoot, { recursive: true });
  hostBefore = hostDirs();
  tmpBefore = new Set(readdirSync("/tmp"));
  rootBefore = new Set(readdirSync("/"));
  for (const p of PLUGINS) reports.set(p, { findings: [], runs: 0, exits: {}, addsOk: 0 });
  const jobs: [string, number, number, number][] = [];
  for (const p of PLUGINS) for (let b = 0; b * BATCH < CASES; b++) jobs.push([p, b, b * BATCH, Math.min(CASES, (b + 1) * BATCH)]);
  const t0 = performance.now();
  let next = 0;
  await Promise.all(Array.from({ length: LANES }, async () => {
    for (let j = next++; j < jobs.length; j = next++) await runBatch(...jobs[j]!);
  }));
  elapsedMs = performance.now() - t0;
  const runs = [...reports.values()].reduce((a, r) => a + r.runs, 0);
  console.log(`fuzz: seed ${SEED}, ${CASES} cases x ${PLUGINS.length} plugins, ${runs} plugin runs in ${(elapsedMs / 1000).toFixed(1)} s`);
  for (const [p, r] of reports) console.log(`  ${p.padEnd(12)} runs ${r.runs}, exits ${JSON.stringify(r.exits)}, ADDs that succeeded ${r.addsOk}, findings ${r.findings.length}`);
}, 600_000);

afterAll(() => {
  if (tmpRoot) rmSync(tmpRoot, { recursive: true, force: true });
});

describe.skipIf(skip)(`fuzz (seed ${SEED}, ${CASES} cases per plugin)`, () => {
  test.each(PLUGINS)("%s: one JSON object or nothing, exit 0 or 1, no stack trace, nothing left", (plugin) => {
    const r = reports.get(plugin)!;
    expect(r.runs).toBeGreaterThanOrEqual(CASES);
    expect(r.findings).toEqual([]);
  });

  test("nothing was written to the host's default CNI directories", () => {
    expect(hostDirs()).toEqual(hostBefore);
  });

  test("no byte-mangled data dir escaped the lanes: nothing new in /tmp named like the fuzz root", () => {
    // A config whose data dir a mangled byte turned into "/tmp/cnit1\xffv1-fuzz-data/..." would make that
    // directory on the host; runner.ts reverts such mangling, and this is the check that it does.
    const base = tmpRoot.slice("/tmp/".length);
    const near = [...readdirSync("/tmp")].filter((n) => !tmpBefore.has(n) && n !== base && distance(n, base) <= 4);
    expect(near).toEqual([]);
    expect(readdirSync("/").filter((n) => !rootBefore.has(n))).toEqual([]); // "/tmp" mangled into "/tmq", say
  });
});
