// Faults: a plugin SIGKILLed at exact syscall boundaries of ADD (each netlink request, file created or written,
// directory made, flock, setns, spawn of iptables/nft), then the runtime's DEL of the whole list: nothing is left
// (links, addresses, routes, rules, nft objects, iptables chains and rules, reservations, portmap records, tuning
// backups, libcni's cache). Conversely a DEL killed at a boundary, then DEL again, finishes the job. The chain is
// bridge (isGateway, ipMasq) + host-local, portmap, tuning, run by our pkg/libcni exactly as a runtime would (so a
// killed ADD caches nothing and the DEL gets no prevResult; a killed DEL keeps the cache for the next one), once
// with the iptables backends and once with nftables.
//
// Boundaries come from a recorded run of the same call (test/support/fault-exec.ts), so kill point i is the same
// moment on every run. Every boundary is tried (about 170 kills, under a minute); CNI_FAULT_POINTS=N tries a seeded
// sample of N per plugin and verb instead, spread from first to last (CNI_FAULT_SEED picks it).
import { describe, expect, test } from "bun:test";
import type { KillPoint } from "../support/fault-exec.ts";
import { mustSkip } from "../support/run-plugin.ts";
import { Prng, seedFrom } from "../support/prng.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { chainWorld, leftOver, type Backend, type Chain } from "./chain.ts";

const TAG = "faultk";
const skip = mustSkip("fault kill points", { tools: ["ip", "strace", "setsid", "iptables-save", "nft"], ours: ["bridge", "host-local", "portmap", "tuning"] });
cleanUpAfterAll(TAG);

const SEED = seedFrom(process.env.CNI_FAULT_SEED, 0x5eed_f417);
const POINTS_ENV = process.env.CNI_FAULT_POINTS ?? "";
const POINTS = POINTS_ENV === "" || POINTS_ENV === "all" ? Infinity : Number(POINTS_ENV);
const PLUGINS = ["bridge", "portmap", "tuning"];

interface Failure {
  case: string;
  point: string;
  problem: string;
  left?: Record<string, unknown>;
}

/** Records the boundaries of each plugin's ADD and DEL in one clean run, and checks that run leaves the baseline. */
async function record(w: Chain): Promise<Map<string, KillPoint[]>> {
  // A first full cycle makes what stays for good (the bridge and its gateway address, the shared netfilter
  // chains and tables, the store's lock and bookmark); every later snapshot is compared with what came before it.
  await w.lib.addNetworkList(w.list, w.rt("warmup"));
  await w.lib.delNetworkList(w.list, w.rt("warmup"));
  const before = w.snapshot();
  w.exec.record = true;
  await w.lib.addNetworkList(w.list, w.rt("record"));
  await w.lib.delNetworkList(w.list, w.rt("record"));
  w.exec.record = false;
  expect(leftOver(before, w.snapshot())).toEqual({});
  return new Map(w.exec.recorded);
}

function sample(points: KillPoint[], rng: Prng): KillPoint[] {
  return rng.spread(points.length, Math.min(points.length, POINTS)).map((i) => points[i]!);
}

describe.skipIf(skip)("faults: SIGKILL at syscall boundaries", () => {
  for (const backend of ["iptables", "nftables"] as Backend[]) {
    test(`${backend}: ADD killed at boundaries of bridge, portmap and tuning, then DEL of the list, leaves nothing (seed ${SEED})`, async () => {
      using w = chainWorld(`${TAG}-add${backend.slice(0, 3)}`, backend);
      const rng = new Prng(SEED);
      const rec = await record(w);
      const failures: Failure[] = [];
      let cases = 0;
      let killed = 0;
      for (const plugin of PLUGINS) {
        const all = rec.get(`${plugin} ADD`) ?? [];
        expect(all.length).toBeGreaterThan(0);
        for (const point of sample(all, rng)) {
          const id = `k-${plugin}-${point.syscall}-${point.nth}`;
          const label = `${plugin} ADD killed at ${point.syscall} #${point.nth}`;
          const before = w.snapshot();
          w.exec.arm({ plugin, verb: "ADD", point });
          cases++;
          const add = await w.lib.addNetworkList(w.list, w.rt(id)).then(() => undefined, (e: Error) => e);
          const outcome = w.exec.outcome;
          w.exec.arm();
          if (outcome?.killed) killed++;
          else if (add) failures.push({ case: label, point: point.line, problem: `ADD failed without being killed: ${add.message}` });
          // The runtime saw ADD fail (or, if the boundary was never reached, succeed): it DELs the attachment.
          const del = await w.lib.delNetworkList(w.list, w.rt(id)).then(() => undefined, (e: Error) => e);
          if (del) failures.push({ case: label, point: point.line, problem: `DEL failed: ${del.message}` });
          const left = leftOver(before, w.snapshot());
          if (Object.keys(left).length) failures.push({ case: label, point: point.line, problem: "state left after DEL", left });
        }
      }
      console.log(`faults ${backend} ADD: ${cases} kill points (${killed} killed), seed ${SEED}`);
      expect(failures).toEqual([]);
      expect(killed).toBeGreaterThan(cases / 2);
    }, 240_000);

    test(`${backend}: DEL killed at boundaries of tuning, portmap and bridge, then DEL again, leaves nothing (seed ${SEED})`, async () => {
      using w = chainWorld(`${TAG}-del${backend.slice(0, 3)}`, backend);
      const rng = new Prng(SEED ^ 0xde1);
      const rec = await record(w);
      const failures: Failure[] = [];
      let cases = 0;
      let killed = 0;
      for (const plugin of PLUGINS) {
        const all = rec.get(`${plugin} DEL`) ?? [];
        expect(all.length).toBeGreaterThan(0);
        for (const point of sample(all, rng)) {
          const id = `d-${plugin}-${point.syscall}-${point.nth}`;
          const label = `${plugin} DEL killed at ${point.syscall} #${point.nth}`;
          const before = w.snapshot();
          const add = await w.lib.addNetworkList(w.list, w.rt(id)).then(() => undefined, (e: Error) => e);
          if (add) {
            failures.push({ case: label, point: point.line, problem: `ADD failed: ${add.message}` });
            continue;
          }
          w.exec.arm({ plugin, verb: "DEL", point });
          cases++;
          const del1 = await w.lib.delNetworkList(w.list, w.rt(id)).then(() => undefined, (e: Error) => e);
          const outcome = w.exec.outcome;
          w.exec.arm();
          if (outcome?.killed) killed++;
          else if (del1) failures.push({ case: label, point: point.line, problem: `DEL failed without being killed: ${del1.message}` });
          const del2 = await w.lib.delNetworkList(w.list, w.rt(id)).then(() => undefined, (e: Error) => e);
          if (del2) failures.push({ case: label, point: point.line, problem: `second DEL failed: ${del2.message}` });
          const left = leftOver(before, w.snapshot());
          if (Object.keys(left).length) failures.push({ case: label, point: point.line, problem: "state left after the second DEL", left });
        }
      }
      console.log(`faults ${backend} DEL: ${cases} kill points (${killed} killed), seed ${SEED}`);
      expect(failures).toEqual([]);
      expect(killed).toBeGreaterThan(cases / 2);
    }, 240_000);
  }
});
