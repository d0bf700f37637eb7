// Faults under load: 100 pods ADDed, then DELed, 8 at a time on one bridge network (the bridge + host-local,
// portmap, tuning chain of chain.ts, run by our pkg/libcni as a runtime would): every ADD and DEL succeeds (no
// lock error from host-local's flock or the xtables lock), no IP is handed out twice, every pod is wired (its own
// reservation, veth on the bridge, masquerade chain), and after the DELs nothing is left. Then one host-local store
// shared by the Go host-local and ours under the same concurrency: ADDs alternating Go and ours, then DELs of half
// of them (each by the other implementation) racing ADDs of new containers, then every DEL: at each step the store
// holds exactly one reservation per live attachment, no IP twice, and at the end only its bookkeeping.
import { describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { DIR, goPlugins, type Impl } from "../support/conformance.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { mustSkip, spawnPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";
import { BRIDGE, chainWorld, leftOver, NET } from "./chain.ts";

const TAG = "faultc";
const skip = mustSkip("fault concurrency", { tools: ["ip", "setsid", "iptables-save", "nft"], ours: ["bridge", "host-local", "portmap", "tuning"] });
const { hasGo, skipReason } = goPlugins("host-local");
cleanUpAfterAll(TAG);

const PODS = 100;
const PARALLEL = 8;

/** Runs job(0..n-1), at most `parallel` at a time; returns the results in index order. */
async function pool<T>(n: number, parallel: number, job: (i: number) => Promise<T>): Promise<T[]> {
  const out: T[] = new Array(n);
  let next = 0;
  const worker = async () => {
    for (let i = next++; i < n; i = next++) out[i] = await job(i);
  };
  await Promise.all(Array.from({ length: Math.min(parallel, n) }, worker));
  return out;
}

const errorOf = (p: Promise<unknown>) => p.then(() => "", (e: Error) => e.message);

describe.skipIf(skip)("faults: 100 pods, 8 at a time, on one bridge network", () => {
  test("every ADD and DEL succeeds, no IP twice, each pod wired, nothing left", async () => {
    using w = chainWorld(`${TAG}-br`, "iptables", "10.98.0.0/24");
    const pods: TempNetns[] = [];
    try {
      for (let i = 0; i < PODS; i++) pods.push(tempNetns(`${TAG}-pod`));
      await w.lib.addNetworkList(w.list, w.rt("warmup"));
      await w.lib.delNetworkList(w.list, w.rt("warmup"));
      const before = w.snapshot();
      const rt = (i: number) => ({
        ...w.rt(`pod-${i}`),
        netns: pods[i]!.path,
        capabilityArgs: { portMappings: [{ hostPort: 20000 + i, containerPort: 80, protocol: "tcp" }], mac: `02:42:0a:62:00:${i.toString(16).padStart(2, "0")}` },
      });

      const t0 = performance.now();
      const adds = await pool(PODS, PARALLEL, (i) => w.lib.addNetworkList(w.list, rt(i)).then((r) => ({ ip: r?.ips?.[0]?.address ?? "", err: "" }), (e: Error) => ({ ip: "", err: e.message })));
      const tAdd = performance.now() - t0;
      expect(adds.map((a, i) => [i, a.err]).filter(([, e]) => e !== "")).toEqual([]);
      const ips = adds.map((a) => a.ip.replace(/\/24$/, ""));
      expect(new Set(ips).size).toBe(PODS);
      // The store agrees with the results: one reservation per pod, holding that pod's IP.
      const store = `${w.dir.path}/ipam/${NET}`;
      const files = readdirSync(store).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"));
      expect(Object.fromEntries(files.map((f) => [f, readFileSync(`${store}/${f}`, "utf8")])))
        .toEqual(Object.fromEntries(ips.map((ip, i) => [ip, `pod-${i}\r\neth0`])));
      // Every pod's veth is a port of the bridge; every pod has its masquerade chain and its portmap chain.
      const host = w.snapshot().host;
      expect(host.links.filter((l) => l.endsWith(`master ${BRIDGE}`)).length).toBe(PODS);
      expect(host.iptables.filter((l) => /^v4 nat :CNI-[0-9a-f]{24} -$/.test(l)).length).toBe(PODS);
      expect(host.iptables.filter((l) => /^v4 nat :CNI-DN-[0-9a-f]{21} -$/.test(l)).length).toBe(PODS);

      const t1 = performance.now();
      const dels = await pool(PODS, PARALLEL, (i) => errorOf(w.lib.delNetworkList(w.list, rt(i))));
      const tDel = performance.now() - t1;
      expect(dels.map((e, i) => [i, e]).filter(([, e]) => e !== "")).toEqual([]);
      expect(leftOver(before, w.snapshot())).toEqual({});
      for (const p of pods) expect(netLinks(p)).toEqual(["lo"]);
      console.log(`faults concurrency: ${PODS} pods x3 plugins, ${PARALLEL} at a time: ADD ${tAdd.toFixed(0)} ms, DEL ${tDel.toFixed(0)} ms`);
    } finally {
      for (const p of pods) p[Symbol.dispose]();
    }
  }, 180_000);
});

function netLinks(ns: TempNetns): string[] {
  const p = Bun.spawnSync(["ip", "-n", ns.name, "-o", "link", "show"], { stdout: "pipe" });
  return p.stdout.toString().split("\n").filter((l) => l).map((l) => l.split(": ")[1]!.split("@")[0]!);
}

describe.skipIf(skip || !hasGo)(`faults: one host-local store shared by Go and ours, 8 at a time${skipReason}`, () => {
  test("ADDs alternating Go and ours, DELs racing new ADDs, then every DEL: the store stays consistent", async () => {
    using host = tempNetns(`${TAG}-hlhost`);
    using ctr = tempNetns(`${TAG}-hlctr`);
    using data = tempDir(`${TAG}-hl`);
    ipIn(host, ["link", "set", "lo", "up"]);
    const stdin = {
      cniVersion: "1.0.0", name: "shared", type: "host-local",
      ipam: { type: "host-local", dataDir: data.path, ranges: [[{ subnet: "10.97.0.0/24" }]] },
    };
    const impl = (i: number): Impl => (i % 2 === 0 ? "go" : "ours");
    const other = (i: number): Impl => (i % 2 === 0 ? "ours" : "go");
    const call = (who: Impl, verb: string, i: number): Promise<Run> =>
      spawnPlugin("host-local", {
        dir: DIR[who], hostNetns: host.name, stdin,
        env: { CNI_COMMAND: verb, CNI_CONTAINERID: `ctr-${i}`, CNI_NETNS: ctr.path, CNI_IFNAME: "eth0" },
      });
    const live = new Map<number, string>();
    const failures: unknown[] = [];
    const note = (what: string, i: number, r: Run) => {
      if (r.exitCode !== 0) failures.push({ what, i, exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr });
    };
    const add = async (i: number) => {
      const r = await call(impl(i), "ADD", i);
      note(`ADD by ${impl(i)}`, i, r);
      if (r.exitCode === 0) live.set(i, (r.json.ips[0].address as string).replace(/\/24$/, ""));
    };
    const del = async (i: number) => {
      const r = await call(other(i), "DEL", i);
      note(`DEL by ${other(i)}`, i, r);
      if (r.exitCode === 0) live.delete(i);
    };
    /** The store must hold exactly the live attachments, one file each, every IP once. */
    const expectConsistent = (step: string) => {
      const files = readdirSync(`${data.path}/shared`).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip"));
      const owners = Object.fromEntries(files.map((f) => [f, readFileSync(`${data.path}/shared/${f}`, "utf8")]));
      const want = Object.fromEntries([...live].map(([i, ip]) => [ip, `ctr-${i}\r\neth0`]));
      expect({ step, owners }).toEqual({ step, owners: want });
      expect(new Set(live.values()).size).toBe(live.size);
    };

    // 1. PODS ADDs, alternating Go and ours.
    await pool(PODS, PARALLEL, (i) => add(i));
    expect(failures).toEqual([]);
    expect(live.size).toBe(PODS);
    expectConsistent("after the ADDs");
    // 2. The even half DELed (each by the other implementation) while PODS/2 new containers ADD.
    const jobs = Array.from({ length: PODS }, (_, k) => (k % 2 === 0 ? () => del(k) : () => add(PODS + k)));
    await pool(jobs.length, PARALLEL, (k) => jobs[k]!());
    expect(failures).toEqual([]);
    expect(live.size).toBe(PODS);
    expectConsistent("after DELs racing ADDs");
    // 3. Every DEL.
    const rest = [...live.keys()];
    await pool(rest.length, PARALLEL, (k) => del(rest[k]!));
    expect(failures).toEqual([]);
    expect(live.size).toBe(0);
    expectConsistent("after every DEL");
    expect(readdirSync(`${data.path}/shared`).sort()).toEqual(["last_reserved_ip.0", "lock"]);
  }, 120_000);
});
