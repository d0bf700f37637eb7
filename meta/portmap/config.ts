// meta/portmap/config.ts: the portmap network config (SPEC-DIGEST §3.1), decoded with Go's rules and judged in
// upstream's order (parseConfig): decode, prevResult, snat default, mark bit, backend, ports; then the checks
// upstream leaves to iptables/nft (port range, protocol, hostIP), so a bad mapping fails before any rule exists.
import { netConfFields, parseStdin } from "../../pkg/cni/conf.ts";
import { array, bool, decodeRoot, int, str, struct } from "../../pkg/cni/decode.ts";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { parsePrevResult } from "../../pkg/cni/result.ts";
import type { Result } from "../../pkg/cni/types.ts";
import { formatIP, parseCIDR, parseIP, type IPNet } from "../../pkg/ip/cidr.ts";
import { goQuote } from "../../pkg/netfilter/names.ts";

export type Backend = "iptables" | "nftables";
export type Protocol = "tcp" | "udp" | "sctp";

/** One entry of `runtimeConfig.portMappings` (CNI CONVENTIONS "portMappings"), checked. */
export interface PortMapping {
  hostPort: number;
  containerPort: number;
  /** Lower case; the runtimes send it so, and iptables-save and nft print it so. */
  protocol: Protocol;
  /** The host address as Go prints it, or undefined for none (also for "" in the config). */
  hostIP?: string;
}

export interface PortMapConf {
  cniVersion: string;
  name: string;
  snat: boolean;
  masqAll: boolean;
  /** 0-31; the default 13 also when externalSetMarkChain is set (then unused). */
  markMasqBit: number;
  externalSetMarkChain?: string;
  /** undefined: not configured; upstream only uses non-empty lists. */
  conditionsV4?: string[];
  conditionsV6?: string[];
  /** Resolved: as configured, else upstream's auto-selection (see chooseBackend). */
  backend: Backend;
  portMappings: PortMapping[];
  /** prevResult in the 1.1.0 shape, or undefined when the config has none. */
  prevResult?: Result;
  /** The container addresses the rules point at: the first IPv4 and IPv6 of prevResult that belong to CNI_IFNAME. */
  contIPv4?: IPNet;
  contIPv6?: IPNet;
  /**
   * Ours (`dataDir`, default DEFAULT_DATA_DIR; Go ignores the key): where the nftables backend records which
   * network's ADD made a container's rules (record.ts), so GC can tell networks apart.
   */
  dataDir: string;
}

/** The default mark bit (Kubernetes uses 14 and 15, Calico 20-31). */
export const DEFAULT_MARK_BIT = 13;

/** Where the nftables backend keeps its records (`dataDir` absent or ""): beside host-local's and libcni's state. */
export const DEFAULT_DATA_DIR = "/var/lib/cni/portmap";

const portMapEntry = struct("PortMapEntry", { hostPort: int, containerPort: int, protocol: str, hostIP: str });

// main.PortMapConf upstream: pointers where "absent" and "zero" differ (snat, markMasqBit, conditions, backend).
const portMapDecoder = struct("PortMapConf", {
  ...netConfFields,
  backend: str,
  snat: bool,
  conditionsV4: array(str, "[]string"),
  conditionsV6: array(str, "[]string"),
  masqAll: bool,
  markMasqBit: int,
  runtimeConfig: struct("", { portMappings: array(portMapEntry, "[]main.PortMapEntry") }),
  externalSetMarkChain: str,
  dataDir: str,
});

/** How loadConf reaches the host's netfilter tools; tests pass fakes. */
export interface BackendProbe {
  iptablesUsable(): boolean;
  nftablesUsable(): boolean;
}

/**
 * Returns the checked config of stdin for CNI_IFNAME `ifname`. Throws, in upstream's order and words, a decode or
 * prevResult error (plain, code 999) and the config errors (code 7); every message is prefixed with `prefix`
 * (ADD and DEL: "failed to parse config: ", CHECK: none).
 */
export function loadConf(stdin: Uint8Array, ifname: string, probe: BackendProbe, prefix: string): PortMapConf {
  const raw = parseStdin(stdin);
  let c: ReturnType<typeof portMapDecoder>;
  try {
    c = decodeRoot(raw, portMapDecoder, "PortMapConf");
  } catch (e) {
    throw new Error(`${prefix}failed to parse network configuration: ${(e as Error).message}`); // upstream text
  }
  const bad = (msg: string) => new CniError(ERR_INVALID_NETWORK_CONFIG, prefix + msg);
  const cniVersion = c.cniVersion ?? "";
  let prevResult: Result | undefined;
  if (c.prevResult) {
    try {
      prevResult = parsePrevResult(c.prevResult, cniVersion);
    } catch (e) {
      throw new Error(prefix + (e as Error).message);
    }
  }

  if (c.markMasqBit !== undefined && c.externalSetMarkChain !== undefined) {
    throw bad("Cannot specify externalSetMarkChain and markMasqBit"); // upstream text
  }
  const markMasqBit = c.markMasqBit ?? DEFAULT_MARK_BIT;
  if (markMasqBit < 0 || markMasqBit > 31) throw bad("MasqMarkBit must be between 0 and 31"); // upstream text

  const backend = chooseBackend(c, probe, bad);

  const portMappings: PortMapping[] = [];
  const entries = c.runtimeConfig?.portMappings ?? [];
  for (let i = 0; i < entries.length; i++) portMappings.push(checkMapping(entries[i] ?? {}, i, bad));

  const conf: PortMapConf = {
    cniVersion,
    name: c.name ?? "",
    snat: c.snat ?? true,
    masqAll: c.masqAll ?? false,
    markMasqBit,
    backend,
    portMappings,
    dataDir: c.dataDir || DEFAULT_DATA_DIR,
  };
  if (c.externalSetMarkChain !== undefined) conf.externalSetMarkChain = c.externalSetMarkChain;
  if (c.conditionsV4 !== undefined) conf.conditionsV4 = c.conditionsV4.map((s) => s ?? "");
  if (c.conditionsV6 !== undefined) conf.conditionsV6 = c.conditionsV6.map((s) => s ?? "");
  if (prevResult) {
    conf.prevResult = prevResult;
    Object.assign(conf, containerIPs(prevResult, ifname));
  }
  return conf;
}

type Decoded = ReturnType<typeof portMapDecoder>;

/** What GC needs of the config: the network name and the record directory. */
export interface GcConf {
  name: string;
  dataDir: string;
}

/**
 * Returns the GC view of stdin: decoded with the same rules as loadConf (a wrong type is the same error), but the
 * ADD-time checks (mark bit, backend, mappings) are not judged: GC works on what earlier calls left, whatever the
 * config says now, and probes no backend.
 */
export function loadGcConf(stdin: Uint8Array): GcConf {
  let c: Decoded;
  try {
    c = decodeRoot(parseStdin(stdin), portMapDecoder, "PortMapConf");
  } catch (e) {
    throw new Error(`failed to parse network configuration: ${(e as Error).message}`); // upstream text
  }
  return { name: c.name ?? "", dataDir: c.dataDir || DEFAULT_DATA_DIR };
}

/**
 * Returns the backend (upstream ensureBackend): `backend` as configured, else iptables unless iptables is unusable
 * and nftables works. Options of the other backend are an error: externalSetMarkChain is iptables-only, and
 * conditions are iptables-style when their first element starts with "-" or "!", nft-style otherwise.
 */
export function chooseBackend(c: Pick<Decoded, "backend" | "externalSetMarkChain" | "conditionsV4" | "conditionsV6">, probe: BackendProbe, bad: (msg: string) => Error): Backend {
  const options: Record<Backend, string[]> = { iptables: [], nftables: [] };
  if (c.externalSetMarkChain !== undefined) options.iptables.push("externalSetMarkChain");
  const v4 = backendOfConditions(c.conditionsV4);
  if (v4) options[v4].push("conditionsV4");
  const v6 = backendOfConditions(c.conditionsV6);
  if (v6) options[v6].push("conditionsV6");

  // Probing runs a process or two, so only when the config leaves the choice to us.
  const backend = c.backend ?? (!probe.iptablesUsable() && probe.nftablesUsable() ? "nftables" : "iptables");
  const wrong: Backend = backend === "iptables" ? "nftables" : "iptables";
  if (options[wrong].length > 0) {
    throw bad(`${backend} backend was requested but configuration contains ${wrong}-specific options [${options[wrong].join(" ")}]`); // upstream text
  }
  if (backend !== "iptables" && backend !== "nftables") throw bad(`unrecognized backend ${goQuote(backend)}`); // upstream text
  return backend;
}

/** Returns the backend a condition list is written for, or undefined for none (absent, empty, or "" first). */
export function backendOfConditions(conditions: (string | undefined)[] | undefined): Backend | undefined {
  const first = conditions?.[0];
  if (!first) return undefined;
  return first[0] === "-" || first[0] === "!" ? "iptables" : "nftables";
}

const PROTOCOLS: readonly string[] = ["tcp", "udp", "sctp"];

/** Returns one mapping checked: upstream's two port checks first (its words), then ours for what iptables would refuse. */
function checkMapping(
  e: { hostPort?: number; containerPort?: number; protocol?: string; hostIP?: string },
  index: number,
  bad: (msg: string) => Error,
): PortMapping {
  const containerPort = e.containerPort ?? 0;
  const hostPort = e.hostPort ?? 0;
  if (containerPort <= 0) throw bad(`Invalid container port number: ${containerPort}`); // upstream text
  if (hostPort <= 0) throw bad(`Invalid host port number: ${hostPort}`); // upstream text
  const field = `runtimeConfig.portMappings[${index}]`;
  if (containerPort > 65535) throw bad(`Invalid container port number: ${containerPort} (${field}.containerPort must be at most 65535)`);
  if (hostPort > 65535) throw bad(`Invalid host port number: ${hostPort} (${field}.hostPort must be at most 65535)`);
  const protocol = (e.protocol ?? "").toLowerCase();
  if (!PROTOCOLS.includes(protocol)) {
    throw bad(`Invalid protocol ${goQuote(e.protocol ?? "")} in ${field}.protocol: must be tcp, udp or sctp`);
  }
  const m: PortMapping = { hostPort, containerPort, protocol: protocol as Protocol };
  if (e.hostIP) {
    const ip = parseIP(e.hostIP);
    if (!ip) throw bad(`Invalid host IP ${goQuote(e.hostIP)} in ${field}.hostIP: not an IP address`);
    m.hostIP = formatIP(ip);
  }
  return m;
}

/**
 * Returns the first IPv4 and first IPv6 address of the result (upstream parseConfig): an IP whose `interface`
 * points at an entry that is not CNI_IFNAME, or has no sandbox, is skipped; one without `interface` is taken.
 */
export function containerIPs(result: Result, ifname: string): { contIPv4?: IPNet; contIPv6?: IPNet } {
  const out: { contIPv4?: IPNet; contIPv6?: IPNet } = {};
  const ifaces = result.interfaces ?? [];
  for (const ipc of result.ips ?? []) {
    const net = parseCIDR(ipc.address);
    if (!net) continue; // parsePrevResult already refused bad text
    if (net.ip.family === 4 ? out.contIPv4 : out.contIPv6) continue;
    const i = ipc.interface;
    if (i !== undefined && i >= 0 && i < ifaces.length && (ifaces[i]!.name !== ifname || !ifaces[i]!.sandbox)) continue;
    if (net.ip.family === 4) out.contIPv4 = net;
    else out.contIPv6 = net;
  }
  return out;
}

/** Returns whether a mapping applies to a container address family: no hostIP, or a hostIP of that family. */
export function mappingApplies(m: PortMapping, family: 4 | 6): boolean {
  return m.hostIP === undefined || m.hostIP.includes(":") === (family === 6);
}

/** Returns whether a mapping's hostIP is a specific address (upstream skips 0.0.0.0 and :: as destinations). */
export function hasSpecificHostIP(m: PortMapping): boolean {
  if (m.hostIP === undefined) return false;
  return parseIP(m.hostIP)!.value !== 0n;
}
