// build.ts: compile the one multi-call executable and link every program name to it (DESIGN decision 1).
// Usage: bun build.ts [outdir]   (default bin/). A failed build leaves the previous bin/ untouched.
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { PLUGINS, TOOLS } from "./registry.ts";

export const BINARY = "cni-plugins";
const outdir = process.argv[2] ?? "bin";
const staging = `${outdir}/.${BINARY}.new`;

// The bytecode layout recorded from the hot plugin calls (scripts/bytecode-order.ts), most important first.
const ORDER_DIR = `${import.meta.dir}/scripts/bytecode-order`;
const orderFiles = existsSync(ORDER_DIR) ? readdirSync(ORDER_DIR).filter((f) => f.endsWith(".txt")).sort().map((f) => `${ORDER_DIR}/${f}`) : [];

mkdirSync(outdir, { recursive: true });
const build = Bun.spawnSync(
  [process.execPath, "build", "--compile", "--bytecode", "--minify", "--format=esm", "--splitting",
   // A plugin runs in the runtime's working directory: it must not pick up a .env or bunfig.toml found there (a .env
   // with CNI_NETNS_OVERRIDE=true would silently switch off the own-netns check; test/integration/no-autoload.test.ts).
   "--no-compile-autoload-dotenv", "--no-compile-autoload-bunfig",
   // A plugin process lives 5-50 ms: tiering its code up to the optimizing JITs costs more than it saves. 64× the
   // usual thresholds measured 2-3 MiB less peak RSS per call and no slower (README, Performance).
   "--compile-jit-policy=64",
   ...(orderFiles.length > 0 ? [`--bytecode-order=${orderFiles.join(",")}`] : []),
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
const names = [...Object.keys(PLUGINS), ...Object.keys(TOOLS)];
for (const name of names) symlinkSync(BINARY, `${outdir}/${name}`);
console.log(`built ${outdir}/${BINARY} and ${names.length} links: ${names.join(" ")}`);
