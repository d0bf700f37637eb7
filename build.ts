// build.ts: compile the one multi-call executable and link every program name to it (DESIGN decision 1).
// Usage: bun build.ts [outdir]   (default bin/). A failed build leaves the previous bin/ untouched.
import { lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { PLUGINS } from "./registry.ts";

export const BINARY = "cni-plugins";
const outdir = process.argv[2] ?? "bin";
const staging = `${outdir}/.${BINARY}.new`;

mkdirSync(outdir, { recursive: true });
const build = Bun.spawnSync(
  [process.execPath, "build", "--compile", "--bytecode", "--minify", "--format=esm", "--splitting",
   "entry.ts", "--outfile", staging],
  { stdout: "inherit", stderr: "inherit" },
);
if (build.exitCode !== 0) {
  rmSync(staging, { force: true });
  process.exit(build.exitCode ?? 1);
}
renameSync(staging, `${outdir}/${BINARY}`);

// Links are remade from the registry, so a plugin dropped from it loses its name too.
for (const f of readdirSync(outdir)) {
  if (lstatSync(`${outdir}/${f}`).isSymbolicLink()) rmSync(`${outdir}/${f}`);
}
for (const name of Object.keys(PLUGINS)) symlinkSync(BINARY, `${outdir}/${name}`);
console.log(`built ${outdir}/${BINARY} and ${Object.keys(PLUGINS).length} links: ${Object.keys(PLUGINS).join(" ")}`);
