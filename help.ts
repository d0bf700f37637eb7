// help.ts: what the executable says under its own name (or an unknown one): --help lists every program it serves,
// each with its one-line summary from registry.ts and its doc page, and --version our release, the CNI spec versions
// and the upstream releases we match. Loaded by entry.ts only on that path, so plugin calls never pay for it.
import { RELEASE, UPSTREAM } from "./pkg/cni/about.ts";
import { PLUGINS, TOOLS } from "./registry.ts";

export const SELF = "cni-plugins";

/** Returns the doc page of a program, relative to the source tree (and to /usr/share/doc/cni-plugins-ts/). */
export function docPath(name: string): string {
  return Object.hasOwn(TOOLS, name) ? `docs/${name}.md` : `docs/plugins/${name}.md`;
}

/** Returns the --help text. */
export function helpText(): string {
  const names = [...Object.keys(PLUGINS), ...Object.keys(TOOLS)];
  const width = Math.max(...names.map((n) => n.length));
  const summaryWidth = Math.max(...[...Object.values(PLUGINS), ...Object.values(TOOLS)].map((e) => e.summary.length));
  const row = (name: string, summary: string) => `  ${name.padEnd(width)}  ${summary.padEnd(summaryWidth)}  ${docPath(name)}`;
  return [
    `${SELF} ${RELEASE}: the standard CNI plugins and cnitool in one executable.`,
    "Run it under a program's name: each is a link to it (make install, the Debian package). Container runtimes",
    "run the plugins with CNI_COMMAND and the network config on stdin; see the docs for each one's config.",
    "",
    "Plugins:",
    ...Object.entries(PLUGINS).map(([n, e]) => row(n, e.summary)),
    "Tools:",
    ...Object.entries(TOOLS).map(([n, e]) => row(n, e.summary)),
    "",
    "Docs: in the source tree, or /usr/share/doc/cni-plugins-ts/ from the Debian package (.md.gz when compressed).",
    `Options: --help, --version.`,
  ].join("\n");
}

/** Returns the --version text: our release, the spec versions served, and the releases whose behaviour we match. */
export function versionText(): string {
  const specs = new Set(Object.values(PLUGINS).flatMap((e) => e.versions));
  const sorted = [...specs].sort((a, b) => {
    const pa = a.split(".").map(Number);
    const pb = b.split(".").map(Number);
    return pa[0]! - pb[0]! || pa[1]! - pb[1]! || pa[2]! - pb[2]!;
  });
  return [
    `${SELF} ${RELEASE}`,
    `CNI spec versions: ${sorted.join(", ")}`,
    `matches: ${UPSTREAM}; libcni and cnitool: containernetworking/cni v1.3.0; flannel: flannel-io/cni-plugin v1.9.1-flannel1`,
  ].join("\n");
}

/**
 * Runs the executable as itself (isSelf) or under a name it does not serve, with the arguments after the program
 * name; returns the exit status. No argument: the help (exit 0 as itself, 1 under an unknown name, which is a
 * misinstalled link).
 */
export function runSelf(isSelf: boolean, args: string[]): number {
  const arg = args[0];
  if (arg === "--version" || arg === "-v" || arg === "version") {
    console.log(versionText());
    return 0;
  }
  if (arg === "--help" || arg === "-h" || arg === "help") {
    console.log(helpText());
    return 0;
  }
  if (arg !== undefined) {
    console.error(`${SELF}: unknown argument ${JSON.stringify(arg)}\n\n${helpText()}`);
    return 2;
  }
  console.log(helpText());
  return isSelf ? 0 : 1;
}
