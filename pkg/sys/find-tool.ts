// pkg/sys/find-tool.ts: where a system tool is, for the plugins that run one (the netfilter tools, the helpers that
// sit out a kernel wait for a plugin that has returned).

// Runtimes may exec plugins with a short PATH; the sbin directories are where Debian, Fedora and Alpine put the tools.
const FALLBACK_DIRS = ["/usr/sbin", "/sbin", "/usr/bin", "/bin", "/usr/local/sbin"];
const found = new Map<string, string | null>();

/** Returns the absolute path of a tool, from PATH or the usual sbin directories, or null when there is none. */
export function findTool(name: string): string | null {
  let path = found.get(name);
  if (path === undefined) {
    path = Bun.which(name) ?? Bun.which(name, { PATH: FALLBACK_DIRS.join(":") });
    found.set(name, path);
  }
  return path;
}
