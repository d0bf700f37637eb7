// test/fuzz/show-case.ts: prints one fuzz case (env and stdin) for a human to replay by hand:
//   node_modules/.bin/bun test/fuzz/show-case.ts <plugin> <index> [seed]
// The lane paths in it (netns, temp dir) are placeholders: `/run/netns/HOST`, `/run/netns/CTR` and `/tmp/LANE`.
import { TARGETS, type Lane } from "./corpus.ts";
import { makeCase } from "./runner.ts";

const [plugin, index, seed] = process.argv.slice(2);
if (!plugin || !TARGETS[plugin] || index === undefined) {
  console.error(`usage: show-case.ts <${Object.keys(TARGETS).join("|")}> <index> [seed]`);
  process.exit(2);
}
const fake = (name: string) => ({ name, path: `/run/netns/${name}`, [Symbol.dispose]() {} });
const lane: Lane = { host: fake("HOST"), ctr: fake("CTR"), root: "/tmp/LANE" };
const c = makeCase(Number(seed ?? 0x00c0ffee), plugin, Number(index), TARGETS[plugin]!, lane);
console.log(JSON.stringify({ ops: c.ops, env: c.env, rawEnv: c.rawEnv }, null, 2));
const text = new TextDecoder().decode(c.stdin);
console.log(text.length > 4000 ? `${text.slice(0, 4000)}… (${c.stdin.length} bytes)` : text);
