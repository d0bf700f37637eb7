// build.ts: compile the one multi-call executable and link every program name to it (DESIGN decision 1).
// Usage: bun build.ts [outdir]   (default bin/)
import { mkdirSync, rmSync, symlinkSync, readdirSync, lstatSync } from "node:fs";
import { PLUGINS } from "./registry.ts";

export const BINARY = "cni-plugins";
const outdir = process.argv[2] ?? "bin";

mkdirSync(outdir, { recursive: true });
for (const f of readdirSync(outdir)) {
  if (lstatSync(`${outdir}/${f}`).isSymbolicLink()) rmSync(`${outdir}/${f}`);
}

const build = Bun.spawnSync(
  [process.execPath, "build", "--compile", "--bytecode", "--minify", "--format=esm", "--splitting",
   "entry.ts", "--outfile", `${outdir}/${BINARY}`],
  { stdout: "inherit", stderr: "inherit" },
);
if (build.exitCode !== 0) process.exit(build.exitCode ?? 1);

for (const name of Object.keys(PLUGINS)) symlinkSync(BINARY, `${outdir}/${name}`);
console.log(`built ${outdir}/${BINARY} and ${Object.keys(PLUGINS).length} links: ${Object.keys(PLUGINS).join(" ")}`);
