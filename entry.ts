// entry.ts: the one executable's main. It dispatches on the name it was run as (bin/<plugin> are links to it),
// answers VERSION and the about banner from this table alone, and only then loads the one plugin it needs.
import { aboutText, versionJSON } from "./pkg/cni/about.ts";
import { PLUGINS, TOOLS, type Entry } from "./registry.ts";

const SELF = "cni-plugins";

function baseName(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

const invokedAs = baseName(process.argv0);
// `dhcp daemon [flags]` is the dhcp plugin's long-running half, not a CNI call (upstream: os.Args[1] == "daemon").
const isDhcpDaemon = invokedAs === "dhcp" && process.argv[2] === "daemon";

async function runAs(name: string, entry: Entry): Promise<number> {
  const env = process.env;
  const command = env.CNI_COMMAND ?? "";
  if (command === "") {
    console.error(aboutText(name, entry.versions));
    return 0;
  }
  const mod = await entry.load();
  // Compiled, the plugin's one chunk carries the skel and its in-process delegates (build.ts). From source, the
  // skel is loaded beside it and every registered plugin may run in-process.
  if (mod.run) return mod.run(env);
  const { runProcess } = await import("./pkg/cni/process.ts");
  return runProcess(mod.default, async (type) => (Object.hasOwn(PLUGINS, type) ? (await PLUGINS[type]!.load()).default : undefined), env);
}

async function main(name: string): Promise<number> {
  const entry = Object.hasOwn(PLUGINS, name) ? PLUGINS[name] : undefined;
  if (isDhcpDaemon) return (await import("./ipam/dhcp/daemon.ts")).runDaemon(process.argv.slice(3));
  if (entry) return runAs(name, entry);
  // Not a plugin: a tool served by the same executable (cnitool), given its arguments after the program name.
  const tool = Object.hasOwn(TOOLS, name) ? TOOLS[name] : undefined;
  if (tool) return (await tool.load()).default(process.argv.slice(2), process.env);
  // Its own name (or one it does not serve): --help lists every program with its doc page, --version says versions.
  return (await import("./help.ts")).runSelf(name === SELF, process.argv.slice(2));
}

// VERSION is answered here, at the top level, with no async function on its path: JSC compiles the code that resumes
// an async function at its first await (0.3-0.4 ms in builds without the bytecode layout; within noise with it), and
// VERSION is the call runtimes make most (podman before every ADD and DEL).
if (process.env.CNI_COMMAND === "VERSION" && Object.hasOwn(PLUGINS, invokedAs) && !isDhcpDaemon) {
  await Bun.write(Bun.stdout, versionJSON(PLUGINS[invokedAs]!.versions));
  process.exit(0);
}
process.exit(await main(invokedAs));
