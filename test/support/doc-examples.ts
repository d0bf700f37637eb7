// test/support/doc-examples.ts: the example conflists of docs/**/*.md and a small chain runner that runs one as
// libcni runs a network list (ADD in order with prevResult passed along, CHECK and DEL with the final result as
// prevResult, DEL in reverse order, runtimeConfig built from capabilities), each plugin being our compiled binary
// run as a runtime runs it (env + stdin) inside a throwaway host netns.
//
// An example is a ```json block right after a marker comment, optionally carrying the setup it needs as JSON:
//
//   <!-- example -->
//   <!-- example {"hostLinks": [{"name": "eth1"}], "capabilityArgs": {"portMappings": [...]}} -->
//
// A ```json block holding a network list (`"plugins"`) that is not meant to run says why instead:
//
//   <!-- not-example: a fragment of a bigger list -->
import { readdirSync, readFileSync } from "node:fs";
import { join, relative } from "node:path";
import { ipIn } from "./ns-exec.ts";
import { runPlugin, type Run } from "./run-plugin.ts";
import type { TempNetns } from "./netns.ts";

/** A link the example needs before ADD (a stand-in host NIC, a bridge in the container, …). */
export interface LinkSetup {
  name: string;
  /** veth (default: a pair `<name>` + `<name>p`, both up) or bridge (up). */
  kind?: "veth" | "bridge";
  /** An address with prefix put on it ("192.168.1.10/24"). */
  address?: string;
  /** Gateway of a default route through it (needs `address` on its subnet). */
  defaultVia?: string;
  mtu?: number;
  /** Its MAC address. */
  mac?: string;
}

/** What the marker comment may say (every key optional). */
export interface ExampleSetup {
  /** Links made in the throwaway host netns before ADD. */
  hostLinks?: LinkSetup[];
  /** Links made in the container netns before ADD. */
  containerLinks?: LinkSetup[];
  /** The runtime's capability arguments (portMappings, bandwidth, mac, ips, ipRanges, deviceID …). */
  capabilityArgs?: Record<string, unknown>;
  /** CNI_ARGS of every call. */
  cniArgs?: string;
  /** CNI_IFNAME (default eth0). */
  ifname?: string;
  /** A link kind the example makes, so it is skipped (with the kernel's words) where the kernel lacks it. */
  kernelKind?: "ipvlan" | "vlan" | "dummy" | "vrf" | "bridge-vlan";
  /** Files the example reads, by the absolute path the doc names; the runner writes them into its temp dir. */
  files?: Record<string, string>;
  /**
   * A DHCP server (dnsmasq) on a host link of the throwaway host netns, and our `dhcp daemon` there; the example's
   * dhcp IPAM is pointed at that daemon's socket.
   */
  dhcpServer?: DhcpServerSetup;
  /** Why this example cannot run in a throwaway netns at all (firewalld, SR-IOV hardware …). */
  skip?: string;
}

export interface DhcpServerSetup {
  /** The host link dnsmasq serves on (made by hostLinks; for a macvlan master `eth0`, its peer `eth0p`). */
  link: string;
  /** The server's address with prefix, put on that link. */
  address: string;
  /** dnsmasq's --dhcp-range value ("192.168.1.100,192.168.1.199,255.255.255.0,2m"). */
  range: string;
  /** More dnsmasq --dhcp-option values ("option:router,192.168.1.1"). */
  options?: string[];
}

export interface DocExample {
  /** Path relative to the repository root. */
  file: string;
  /** Line of the opening ```json. */
  line: number;
  /** The nearest heading above the block. */
  heading: string;
  setup: ExampleSetup;
  /** The parsed block. */
  conf: Record<string, unknown>;
}

export interface DocScan {
  examples: DocExample[];
  /** ```json blocks holding "plugins" that carry neither marker, as `file:line`. */
  unmarked: string[];
  /** Markers whose JSON or block does not parse, as `file:line: why`. */
  broken: string[];
}

const FENCE = /^```json\s*$/;

/** Returns every marked example, unmarked network list and broken marker of the Markdown files under `docsDir`. */
export function scanDocs(rootDir: string, docsDir: string): DocScan {
  const scan: DocScan = { examples: [], unmarked: [], broken: [] };
  for (const path of markdownFiles(docsDir)) scanFile(relative(rootDir, path), readFileSync(path, "utf8"), scan);
  return scan;
}

function markdownFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
    const p = join(dir, e.name);
    if (e.isDirectory()) out.push(...markdownFiles(p));
    else if (e.isFile() && e.name.endsWith(".md")) out.push(p);
  }
  return out;
}

function scanFile(file: string, text: string, scan: DocScan): void {
  const lines = text.split("\n");
  let heading = "";
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!;
    if (/^#{1,6} /.test(line)) heading = line.replace(/^#+ /, "");
    if (!FENCE.test(line)) continue;
    const end = lines.indexOf("```", i + 1);
    if (end < 0) {
      scan.broken.push(`${file}:${i + 1}: unterminated json block`);
      continue;
    }
    const body = lines.slice(i + 1, end).join("\n");
    const marker = markerBefore(lines, i);
    const where = `${file}:${i + 1}`;
    if (marker?.kind === "example") {
      try {
        const conf = JSON.parse(body) as Record<string, unknown>;
        const setup = marker.json ? (JSON.parse(marker.json) as ExampleSetup) : {};
        scan.examples.push({ file, line: i + 1, heading, setup, conf });
      } catch (e) {
        scan.broken.push(`${where}: ${(e as Error).message}`);
      }
    } else if (marker === undefined && /"plugins"\s*:/.test(body)) {
      scan.unmarked.push(where);
    }
    i = end;
  }
}

/** Returns the marker comment that ends on the line before `fence` (blank lines between are not allowed). */
function markerBefore(lines: string[], fence: number): { kind: "example" | "not-example"; json: string } | undefined {
  // The comment may span lines: walk back to its opening "<!--".
  let j = fence - 1;
  if (j < 0 || !lines[j]!.trimEnd().endsWith("-->")) return undefined;
  while (j >= 0 && !lines[j]!.includes("<!--")) j--;
  if (j < 0) return undefined;
  const comment = lines.slice(j, fence).join("\n");
  const m = /<!--\s*(example|not-example)\b:?([\s\S]*?)-->\s*$/.exec(comment);
  if (!m) return undefined;
  return { kind: m[1] as "example" | "not-example", json: m[1] === "example" ? m[2]!.trim() : "" };
}

/** Makes the links of `setup` in a netns (veth pairs with both ends up, or bridges), with addresses and default routes. */
export function makeLinks(ns: TempNetns, links: LinkSetup[]): void {
  for (const l of links) {
    const mtu = l.mtu ? ["mtu", String(l.mtu)] : [];
    if ((l.kind ?? "veth") === "veth") {
      ipIn(ns, ["link", "add", l.name, ...mtu, "type", "veth", "peer", "name", `${l.name}p`, ...mtu]);
      ipIn(ns, ["link", "set", `${l.name}p`, "up"]);
    } else {
      ipIn(ns, ["link", "add", l.name, ...mtu, "type", "bridge"]);
    }
    if (l.mac) ipIn(ns, ["link", "set", l.name, "address", l.mac]);
    ipIn(ns, ["link", "set", l.name, "up"]);
    if (l.address) ipIn(ns, ["addr", "add", l.address, "dev", l.name]);
    if (l.defaultVia) ipIn(ns, ["route", "add", "default", "via", l.defaultVia, "dev", l.name]);
  }
}

/** A network list as libcni holds it: a single-plugin .conf becomes a list of one (libcni ConfListFromConf). */
export interface NetList {
  name: string;
  cniVersion: string;
  disableCheck: boolean;
  plugins: Record<string, unknown>[];
}

/** Returns the example as a network list. */
export function asNetList(conf: Record<string, unknown>): NetList {
  const plugins = Array.isArray(conf.plugins) ? (conf.plugins as Record<string, unknown>[]) : [conf];
  const disable = conf.disableCheck;
  return {
    name: String(conf.name ?? ""),
    cniVersion: String(conf.cniVersion ?? ""),
    disableCheck: disable === true || disable === "true",
    plugins,
  };
}

/** Returns whether dotted version a ≥ b. */
export function versionGte(a: string, b: string): boolean {
  const pa = a.split(".").map(Number);
  const pb = b.split(".").map(Number);
  for (let i = 0; i < 3; i++) if ((pa[i] ?? 0) !== (pb[i] ?? 0)) return (pa[i] ?? 0) > (pb[i] ?? 0);
  return true;
}

/** Where a chain run keeps state and which attachment it is. */
export interface ChainContext {
  hostNetns: string;
  netns: string;
  ifname: string;
  containerId: string;
  cniArgs: string;
  capabilityArgs: Record<string, unknown>;
  /** The run's temp dir: every plugin's on-disk state (dataDir) goes below it instead of /var/lib/cni or /run/cni. */
  stateDir: string;
  /** Absolute paths the doc names, mapped to the copies the run wrote (setup.files). */
  files: Record<string, string>;
  /** The socket of the run's dhcp daemon (setup.dhcpServer): dhcp IPAM is pointed at it. */
  dhcpSocket?: string;
}

/** One plugin call of a chain run, for failure messages. */
export interface ChainCall {
  verb: string;
  type: string;
  stdin: Record<string, unknown>;
  run: Run;
}

/**
 * Returns the plugin's config with its on-disk state moved below stateDir, whether the example names a `dataDir` or
 * leaves the default (host-local's, tuning's, portmap's, flannel's), and the files of `setup.files` (a resolvConf, a
 * flannel subnetFile) replaced by the run's copies, so a run never reads or writes the host's /var/lib/cni, /run/cni
 * or /etc; the example text itself stays what an operator copies.
 */
export function withPrivateState(plugin: Record<string, unknown>, ctx: ChainContext): Record<string, unknown> {
  const p = replaceStrings(structuredClone(plugin), ctx.files) as Record<string, unknown>;
  const ipam = p.ipam as Record<string, unknown> | undefined;
  if (ipam?.type === "host-local") ipam.dataDir = `${ctx.stateDir}/networks`;
  if (ipam?.type === "dhcp" && ctx.dhcpSocket) ipam.daemonSocketPath = ctx.dhcpSocket;
  if (p.type === "tuning" || p.type === "portmap") p.dataDir = `${ctx.stateDir}/${p.type}`;
  if (p.type === "flannel") {
    p.dataDir = `${ctx.stateDir}/flannel`;
    const subnetFile = String(p.subnetFile ?? "/run/flannel/subnet.env");
    if (ctx.files[subnetFile]) p.subnetFile = ctx.files[subnetFile];
    // flannel's own `ipam` is the base of the delegate's (host-local unless it names another type).
    const fIpam = (p.ipam ??= {}) as Record<string, unknown>;
    if ((fIpam.type ?? "host-local") === "host-local") fIpam.dataDir = `${ctx.stateDir}/networks`;
  }
  return p;
}

/** Returns v with every string that is a key of `map` replaced by its value, at any depth. */
function replaceStrings(v: unknown, map: Record<string, string>): unknown {
  if (typeof v === "string") return Object.hasOwn(map, v) ? map[v] : v;
  if (Array.isArray(v)) return v.map((x) => replaceStrings(x, map));
  if (v !== null && typeof v === "object") {
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, replaceStrings(x, map)]));
  }
  return v;
}

/** Runs a network list's verbs against our binaries, as libcni would. */
export class ChainRunner {
  readonly calls: ChainCall[] = [];

  constructor(private readonly list: NetList, private readonly ctx: ChainContext) {}

  /** ADD through every plugin in order; returns the last result (the one a runtime caches). */
  add(): Record<string, unknown> | undefined {
    let prev: Record<string, unknown> | undefined;
    for (const plugin of this.list.plugins) {
      const out = this.call("ADD", this.oneConfig(plugin, prev, true));
      prev = out.json as Record<string, unknown>;
    }
    return prev;
  }

  /** CHECK through every plugin in order with the cached result; skipped (false) below 0.4.0 or with disableCheck. */
  check(result: Record<string, unknown> | undefined): boolean {
    if (this.list.disableCheck || !versionGte(this.list.cniVersion || "0.1.0", "0.4.0")) return false;
    for (const plugin of this.list.plugins) this.call("CHECK", this.oneConfig(plugin, result, true));
    return true;
  }

  /** DEL through every plugin in reverse order; prevResult only from 0.4.0 on, as libcni. */
  del(result: Record<string, unknown> | undefined): void {
    const prev = versionGte(this.list.cniVersion || "0.1.0", "0.4.0") ? result : undefined;
    for (const plugin of [...this.list.plugins].reverse()) this.call("DEL", this.oneConfig(plugin, prev, true));
  }

  /** STATUS of every plugin (1.1.0 only); returns false when the list's version has none. */
  status(): boolean {
    if (!versionGte(this.list.cniVersion || "0.1.0", "1.1.0")) return false;
    for (const plugin of this.list.plugins) this.call("STATUS", this.oneConfig(plugin, undefined, false));
    return true;
  }

  /** GC of every plugin with the given valid attachments (1.1.0 only); returns false when the version has none. */
  gc(valid: { containerID: string; ifname: string }[]): boolean {
    if (!versionGte(this.list.cniVersion || "0.1.0", "1.1.0")) return false;
    for (const plugin of this.list.plugins) {
      this.call("GC", { ...this.oneConfig(plugin, undefined, false), "cni.dev/valid-attachments": valid, "cni.dev/attachments": valid });
    }
    return true;
  }

  /** libcni buildOneConfig: the list's name and version, prevResult, runtimeConfig from the declared capabilities. */
  private oneConfig(plugin: Record<string, unknown>, prev: Record<string, unknown> | undefined, withRuntime: boolean): Record<string, unknown> {
    const conf: Record<string, unknown> = { ...withPrivateState(plugin, this.ctx), name: this.list.name, cniVersion: this.list.cniVersion };
    if (prev) conf.prevResult = prev;
    if (withRuntime) {
      const caps = (plugin.capabilities ?? {}) as Record<string, unknown>;
      const rc: Record<string, unknown> = {};
      for (const [cap, on] of Object.entries(caps)) if (on === true && Object.hasOwn(this.ctx.capabilityArgs, cap)) rc[cap] = this.ctx.capabilityArgs[cap];
      if (Object.keys(rc).length > 0) conf.runtimeConfig = rc;
    }
    return conf;
  }

  private call(verb: string, stdin: Record<string, unknown>): Run {
    const type = String(stdin.type);
    const env: Record<string, string> = verb === "GC" || verb === "STATUS"
      ? { CNI_COMMAND: verb }
      : { CNI_COMMAND: verb, CNI_CONTAINERID: this.ctx.containerId, CNI_NETNS: this.ctx.netns, CNI_IFNAME: this.ctx.ifname, CNI_ARGS: this.ctx.cniArgs };
    const run = runPlugin(type, { hostNetns: this.ctx.hostNetns, env, stdin });
    this.calls.push({ verb, type, stdin, run });
    if (run.exitCode !== 0) {
      throw new Error(`${verb} by ${type} failed (exit ${run.exitCode}): ${run.stdout.trim() || run.stderr.trim()}\nstdin: ${JSON.stringify(stdin)}`);
    }
    return run;
  }
}
