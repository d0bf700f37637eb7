// build.ts: compile the one multi-call executable and link every program name to it (DESIGN decision 1).
// Usage: bun build.ts [outdir]   (default bin/). A failed build leaves the previous bin/ untouched.
//
// Two stages. First each plugin is bundled on its own into one self-contained module: the plugin, the skel
// (pkg/cni/process.ts) and the plugins it may run in-process (registry `delegates`). Then entry.ts is compiled with
// the registry's imports of the plugins pointed at those modules. Bun's code splitting alone would share the skel
// and pkg/ between plugins as many small chunks (26 for bridge), and each chunk is a module the executable must
// load and link on every call: one chunk per plugin measured ~0.3-0.7 ms less per call (README, Performance).
import { existsSync, lstatSync, mkdirSync, readdirSync, renameSync, rmSync, symlinkSync } from "node:fs";
import { PLUGINS, TOOLS, type Entry } from "./registry.ts";

export const BINARY = "cni-plugins";
const ROOT = import.meta.dir;
const outdir = process.argv[2] ?? "bin";
const staging = `${outdir}/.${BINARY}.new`;

// The bytecode layout recorded from the hot plugin calls (scripts/bytecode-order.ts), most important first.
const ORDER_DIR = `${ROOT}/scripts/bytecode-order`;
const orderFiles = existsSync(ORDER_DIR) ? readdirSync(ORDER_DIR).filter((f) => f.endsWith(".txt")).sort().map((f) => `${ORDER_DIR}/${f}`) : [];

/** Returns the absolute path of the module a registry entry loads (its literal `import("./…")`). */
function modulePath(name: string, entry: Entry): string {
  const m = /import\(\s*["'](\.\/[^"']+)["']\s*\)/.exec(entry.load.toString());
  if (!m) throw new Error(`registry entry ${name}: load must be a literal import("./…")`);
  return `${ROOT}/${m[1]!.slice(2)}`;
}

/**
 * Returns the source of a plugin's one-chunk module: the plugin, and `run`, the call with its delegates in-process.
 * The plugin is among them too, so an ipam.type naming it runs in-process, where delegate.ts stops the loop. A
 * delegate of ours that is not compiled in (flannel delegating to ipvlan, say) runs as a process, as upstream's do.
 */
function pluginChunkSource(name: string, entry: Entry): string {
  const delegates = entry.delegates ?? [];
  const imports = delegates.map((d, i) => `import d${i} from ${JSON.stringify(modulePath(d, PLUGINS[d]!))};`);
  const own = [`${JSON.stringify(name)}: plugin`, ...delegates.map((d, i) => `${JSON.stringify(d)}: d${i}`)];
  return [
    `import plugin from ${JSON.stringify(modulePath(name, entry))};`,
    `import { runProcess } from ${JSON.stringify(`${ROOT}/pkg/cni/process.ts`)};`,
    ...imports,
    `const own = { ${own.join(", ")} };`,
    "export default plugin;",
    "export function run(env) {",
    "  return runProcess(plugin, async (type) => (Object.hasOwn(own, type) ? own[type] : undefined), env);",
    "}",
  ].join("\n");
}

function fail(what: string, logs: unknown[]): never {
  console.error(`${what} failed`);
  for (const l of logs) console.error(l);
  rmSync(staging, { force: true });
  process.exit(1);
}

// Stage 1: one self-contained module per plugin, kept in memory.
const chunks = new Map<string, string>(); // plugin module path → its one-chunk module's code
for (const [name, entry] of Object.entries(PLUGINS)) {
  const virtual = `${ROOT}/.plugin-chunk-${name}.ts`;
  const r = await Bun.build({
    entrypoints: [virtual], target: "bun", format: "esm", minify: true, throw: false,
    plugins: [{
      name: "plugin-chunk",
      setup(b) {
        b.onResolve({ filter: /\.plugin-chunk-/ }, (a) => ({ path: a.path, namespace: "plugin-chunk" }));
        b.onLoad({ filter: /.*/, namespace: "plugin-chunk" }, () => ({ contents: pluginChunkSource(name, entry), loader: "js" }));
      },
    }],
  });
  if (!r.success) fail(`bundling ${name}`, r.logs);
  chunks.set(modulePath(name, entry), await r.outputs[0]!.text());
}

// Stage 2: the executable. Only the registry's imports are redirected; a plugin module imported from anywhere else
// (none today) would be bundled as usual.
mkdirSync(outdir, { recursive: true });
const build = await Bun.build({
  entrypoints: [`${ROOT}/entry.ts`],
  target: "bun", format: "esm", minify: true, splitting: true, bytecode: true, throw: false,
  compile: {
    outfile: staging,
    // A plugin runs in the runtime's working directory: it must not pick up a .env or bunfig.toml found there (a .env
    // with CNI_NETNS_OVERRIDE=true would silently switch off the own-netns check; test/integration/no-autoload.test.ts).
    autoloadDotenv: false, autoloadBunfig: false,
    // A plugin process lives 5-50 ms: tiering its code up to the optimizing JITs costs more than it saves. 64× the
    // usual thresholds measured 2-3 MiB less peak RSS per call and no slower (README, Performance).
    jitPolicy: 64,
    ...(orderFiles.length > 0 ? { bytecodeOrder: orderFiles } : {}),
  },
  plugins: [{
    name: "registry-plugin-chunks",
    setup(b) {
      b.onResolve({ filter: /\/main\.ts$/ }, (a) => {
        if (!a.importer.endsWith("/registry.ts")) return undefined;
        const path = `${ROOT}/${a.path.slice(2)}`;
        return chunks.has(path) ? { path, namespace: "plugin-chunk" } : undefined;
      });
      b.onLoad({ filter: /.*/, namespace: "plugin-chunk" }, (a) => ({ contents: chunks.get(a.path)!, loader: "js" }));
    },
  }],
});
if (!build.success) fail("compiling", build.logs);
renameSync(staging, `${outdir}/${BINARY}`);

// Links are remade from the registry, so a plugin dropped from it loses its name too.
for (const f of readdirSync(outdir)) {
  if (lstatSync(`${outdir}/${f}`).isSymbolicLink()) rmSync(`${outdir}/${f}`);
}
const names = [...Object.keys(PLUGINS), ...Object.keys(TOOLS)];
for (const name of names) symlinkSync(BINARY, `${outdir}/${name}`);
console.log(`built ${outdir}/${BINARY} and ${names.length} links: ${names.join(" ")}`);
