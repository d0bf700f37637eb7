// entry.ts: the one executable's main. It dispatches on the name it was run as (bin/<plugin> are links to it),
// answers VERSION and the about banner from this table alone, and only then loads the one plugin it needs.
import { aboutText, versionJSON } from "./pkg/cni/about.ts";
import { PLUGINS, type Entry } from "./registry.ts";

const SELF = "cni-plugins";

function baseName(p: string): string {
  return p.slice(p.lastIndexOf("/") + 1);
}

async function runAs(name: string, entry: Entry): Promise<number> {
  const env = process.env;
  const command = env.CNI_COMMAND ?? "";
  if (command === "") {
    console.error(aboutText(name, entry.versions));
    return 0;
  }
  if (command === "VERSION") {
    await Bun.write(Bun.stdout, versionJSON(entry.versions));
    return 0;
  }
  const [skel, mod] = await Promise.all([import("./pkg/cni/skel.ts"), entry.load()]);
  const invoke = await import("./pkg/invoke/in-process.ts");
  invoke.registerOwnPlugins(async (type) => (Object.hasOwn(PLUGINS, type) ? (await PLUGINS[type]!.load()).default : undefined));
  return skel.runPlugin(mod.default, env);
}

function listPlugins(): string {
  const width = Math.max(...Object.keys(PLUGINS).map((n) => n.length));
  const lines = Object.entries(PLUGINS).map(([n, e]) => `  ${n.padEnd(width)}  ${e.summary}`);
  return `${SELF}: the CNI plugins in one executable; run it under a plugin's name (a link named after it).\nPlugins:\n${lines.join("\n")}`;
}

async function main(): Promise<number> {
  const name = baseName(process.argv0);
  const entry = Object.hasOwn(PLUGINS, name) ? PLUGINS[name] : undefined;
  if (entry) return runAs(name, entry);
  console.log(listPlugins());
  return name === SELF ? 0 : 1;
}

process.exit(await main());
