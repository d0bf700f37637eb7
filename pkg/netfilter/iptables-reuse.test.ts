// pkg/netfilter/iptables-reuse.test.ts: a table read right after another read of it (a plugin's backend probe, then
// its plan) costs one iptables-save, never across a tool that may change netfilter state, a second, or another netns.
// Fake iptables-save/iptables-restore count their runs; the reads run in a child bun whose PATH holds only the fakes,
// so no real tool is ever run and this process's tool lookups stay untouched. No root, except for the netns case.
import { expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { tempDir } from "../../test/support/temp-dir.ts";

const HERE = import.meta.dir;

/** Runs `body` (a script body with `ipt`, `ns` and `runs()` in scope) with the fakes on PATH; returns its JSON output. */
function scenario(body: string): unknown {
  using dir = tempDir("ipt-reuse");
  const log = `${dir.path}/runs`;
  const tool = (name: string, script: string) => {
    writeFileSync(`${dir.path}/${name}`, `#!/bin/sh\necho ${name} >> ${log}\n${script}\n`);
    chmodSync(`${dir.path}/${name}`, 0o755);
  };
  tool("iptables-save", "printf '*nat\\n:POSTROUTING ACCEPT [0:0]\\n:CNI-X - [0:0]\\n-A CNI-X -j ACCEPT\\nCOMMIT\\n'");
  tool("iptables-restore", "while IFS= read -r _; do :; done");
  writeFileSync(log, "");
  const script = `${dir.path}/scenario.ts`;
  writeFileSync(script, [
    `import * as ipt from ${JSON.stringify(`${HERE}/iptables.ts`)};`,
    `import * as ns from ${JSON.stringify(`${HERE}/../ns/netns.ts`)};`,
    `import { readFileSync, writeFileSync } from "node:fs";`,
    `const runs = () => readFileSync(${JSON.stringify(log)}, "utf8").split("\\n").filter((l) => l !== "");`,
    `const reset = () => writeFileSync(${JSON.stringify(log)}, "");`,
    body,
  ].join("\n"));
  const p = Bun.spawnSync([process.execPath, script], { env: { PATH: dir.path }, stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`scenario failed: ${p.stderr.toString()}`);
  return JSON.parse(p.stdout.toString());
}

test("probe then plan: one iptables-save; the kept table is used once, then read afresh", () => {
  expect(scenario(`
    const usable = ipt.isIptablesUsable(4);
    const t = ipt.readIptablesTable(4, "nat");
    const first = runs();
    ipt.readIptablesTable(4, "nat");
    console.log(JSON.stringify({ usable, chain: t.chains.has("CNI-X"), first, then: runs() }));
  `)).toEqual({ usable: true, chain: true, first: ["iptables-save"], then: ["iptables-save", "iptables-save"] });
});

test("a batch in between (any tool but a *-save) means the table is read again", () => {
  expect(scenario(`
    ipt.readIptablesTable(4, "nat");
    reset();
    ipt.applyIptablesBatch(4, "nat", ["-A CNI-X -j RETURN"]);
    ipt.readIptablesTable(4, "nat");
    console.log(JSON.stringify(runs()));
  `)).toEqual(["iptables-restore", "iptables-save"]);
});

test("another table, or the same a second later, is read again", () => {
  expect(scenario(`
    ipt.readIptablesTable(4, "nat");
    reset();
    ipt.readIptablesTable(4, "filter");
    const other = runs();
    const now = performance.now.bind(performance);
    performance.now = () => now() + 1500; // a second and a half later, without waiting for it
    ipt.readIptablesTable(4, "filter");
    console.log(JSON.stringify({ other, later: runs() }));
  `)).toEqual({ other: ["iptables-save"], later: ["iptables-save", "iptables-save"] });
});

test.skipIf(process.getuid?.() !== 0)("a read in another netns is read again (root)", () => {
  expect(scenario(`
    const name = "cnid" + process.pid.toString(36) + "-iptreuse";
    const path = ns.createNetns(name);
    try {
      ipt.readIptablesTable(4, "nat");
      reset();
      ns.withNetns(path, () => ipt.readIptablesTable(4, "nat"));
      console.log(JSON.stringify(runs()));
    } finally {
      ns.removeNetns(name);
    }
  `)).toEqual(["iptables-save"]);
});
