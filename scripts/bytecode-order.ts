// scripts/bytecode-order.ts: `make bytecode-order` (root). Records which bytecode the hot plugin calls run, in the
// order they run it, so build.ts can lay the executable's bytecode out that way (`bun build --bytecode-order`): a
// plugin process then faults in fewer pages of the 110 MB executable. Measured on the benchmark's pod: ~2 ms less
// per pod ADD and ~1 MiB less peak RSS per call (README, Performance).
//
// It runs the benchmark's network (test/bench/runtime.ts: bridge → portmap → bandwidth → tuning) for one pod in a
// throwaway host netns, each call with BUN_BYTECODE_ORDER_OUT, plus a VERSION, and writes one file per call into
// scripts/bytecode-order/. Rerun it after large changes to those plugins or to pkg/; a stale file only lays out less
// well (bun warns and builds anyway), it never changes behaviour.
import { mkdirSync, mkdtempSync, readdirSync, rmSync } from "node:fs";
import { resolve } from "node:path";
import { createNetns, openNetns, removeNetns } from "../pkg/ns/netns.ts";
import { addPod, delPod, execPlugin, type Side } from "../test/bench/runtime.ts";

const ROOT = resolve(import.meta.dir, "..");
const OUT = `${ROOT}/scripts/bytecode-order`;
const BIN = `${ROOT}/bin`;
const tag = `cnibo${process.pid.toString(36)}`;

mkdirSync(OUT, { recursive: true });
for (const f of readdirSync(OUT)) if (f.endsWith(".txt")) rmSync(`${OUT}/${f}`);
const record = (file: string) => () => ["/usr/bin/env", `BUN_BYTECODE_ORDER_OUT=${OUT}/${file}`];

const host = createNetns(`${tag}-host`);
const ctr = createNetns(`${tag}-ctr`);
const stateDir = mkdtempSync(`/tmp/${tag}-`);
const side: Side = { label: "ours", dir: BIN, hostNs: openNetns(host), hostName: `${tag}-host`, stateDir };
try {
  const pod = { id: `${tag}-pod`, netns: ctr, index: 0 };
  const version = execPlugin(side, "bridge", "VERSION", undefined, `{"cniVersion":"1.0.0"}`, { wrap: record("0-VERSION.txt") });
  if (version.exitCode !== 0) throw new Error(`VERSION failed: ${version.stdout}`);
  // Numbered so build.ts passes them most important first: VERSION, then each plugin's ADD, then each DEL.
  let n = 0;
  const add = addPod(side, pod, { wrap: (plugin, verb) => record(`${++n}-${plugin}-${verb}.txt`)() });
  delPod(side, pod, add.result, { wrap: (plugin, verb) => record(`${++n}-${plugin}-${verb}.txt`)() });
  console.log(`recorded ${readdirSync(OUT).length} order files in ${OUT}`);
} finally {
  side.hostNs.close();
  removeNetns(ctr);
  removeNetns(host);
  rmSync(stateDir, { recursive: true, force: true });
}
