// test/fuzz/replay.ts: replays fuzz cases in a fresh lane, printing each run's outcome and what the lane kept:
//   node_modules/.bin/bun test/fuzz/replay.ts <plugin> <index>[,<index>…] [seed]
// (root, like the fuzz test; CNI_TEST_BIN picks the binaries as in the tests).
import { mkdtempSync, rmSync } from "node:fs";
import { makeLane, TARGETS } from "./corpus.ts";
import { contractProblems, laneState, leaks, makeCase, prepareRoot, runCase } from "./runner.ts";

const [plugin, indexes, seed] = process.argv.slice(2);
if (!plugin || !TARGETS[plugin] || !indexes) {
  console.error("usage: replay.ts <plugin> <index>[,<index>…] [seed]");
  process.exit(2);
}
const root = mkdtempSync("/tmp/cnifz-replay-");
prepareRoot(root);
const lane = makeLane(`replay${process.pid}`, root);
try {
  for (const index of indexes.split(",").map(Number)) {
    const before = laneState(lane);
    const c = makeCase(Number(seed ?? 0x00c0ffee), plugin, index, TARGETS[plugin]!, lane);
    console.log(`--- ${plugin} #${index}: ${c.ops.join("; ")}`);
    const o = await runCase(c, lane);
    console.log(JSON.stringify({ exit: o.exitCode ?? o.signal, stdout: o.stdout.slice(0, 2000), stderr: o.stderr.slice(0, 2000), problems: contractProblems(c.env.CNI_COMMAND, o) }, null, 2));
    if (c.env.CNI_COMMAND === "ADD" && o.exitCode === 0) {
      const d = await runCase(c, lane, { ...c.env, CNI_COMMAND: "DEL" });
      console.log(JSON.stringify({ del: d.exitCode ?? d.signal, stdout: d.stdout.slice(0, 2000), stderr: d.stderr.slice(0, 2000) }, null, 2));
    }
    console.log("left:", JSON.stringify(leaks(before, laneState(lane), plugin), null, 2));
  }
} finally {
  lane.ctr[Symbol.dispose]();
  lane.host[Symbol.dispose]();
  rmSync(root, { recursive: true, force: true });
}
