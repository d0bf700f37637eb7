// registry.ts: every program the executable serves, with what VERSION needs to answer before any code loads.
// Loaders must stay literal `import("./…")` calls: a computed path is not bundled (BUN-NOTES §11).
import type { Plugin } from "./pkg/cni/types.ts";

const ALL = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];
// Upstream's narrower lists (SPEC-DIGEST §0.2).
const FROM_0_3_0 = ALL.slice(2);
const FROM_0_3_1 = ALL.slice(3);
const FROM_0_4_0 = ALL.slice(4);

// The IPAM plugins a plugin with an `ipam` section may run in-process.
const IPAM = ["host-local", "dhcp", "static"];

/** What loading a plugin gives: the plugin, and from build.ts's one-chunk build, the whole call (`run`). */
export interface PluginModule {
  default: Plugin;
  run?: (env: Record<string, string | undefined>) => Promise<number>;
}

export interface Entry {
  summary: string;
  versions: readonly string[];
  /** The plugins this one may run in-process (delegate.ts); build.ts compiles them into this plugin's chunk. */
  delegates?: readonly string[];
  load: () => Promise<PluginModule>;
}

export const PLUGINS: Record<string, Entry> = {
  loopback: { summary: "brings up lo in the container", versions: ALL, load: () => import("./plugins/loopback/main.ts") },
  bridge: { summary: "a veth per container on a Linux bridge", versions: ALL, delegates: IPAM, load: () => import("./plugins/bridge/main.ts") },
  ptp: { summary: "a routed veth pair per container", versions: ALL, delegates: IPAM, load: () => import("./plugins/ptp/main.ts") },
  macvlan: { summary: "a macvlan device on a host interface", versions: ALL, delegates: IPAM, load: () => import("./plugins/macvlan/main.ts") },
  ipvlan: { summary: "an ipvlan device on a host interface", versions: ALL, delegates: IPAM, load: () => import("./plugins/ipvlan/main.ts") },
  vlan: { summary: "an 802.1q VLAN device on a host interface", versions: ALL, delegates: IPAM, load: () => import("./plugins/vlan/main.ts") },
  "host-device": { summary: "moves an existing host device into the container", versions: ALL, delegates: IPAM, load: () => import("./plugins/host-device/main.ts") },
  dummy: { summary: "a dummy device with IPAM addresses", versions: ALL, delegates: IPAM, load: () => import("./plugins/dummy/main.ts") },
  tap: { summary: "a TAP device in the container", versions: ALL, delegates: IPAM, load: () => import("./plugins/tap/main.ts") },
  portmap: { summary: "forwards host ports to the container (iptables or nftables)", versions: ALL, load: () => import("./meta/portmap/main.ts") },
  bandwidth: { summary: "ingress and egress rate limits with tc", versions: FROM_0_3_0, load: () => import("./meta/bandwidth/main.ts") },
  firewall: { summary: "lets container traffic through the host firewall (iptables or firewalld)", versions: FROM_0_4_0, load: () => import("./meta/firewall/main.ts") },
  sbr: { summary: "source-based routing for the container's addresses", versions: ALL, load: () => import("./meta/sbr/main.ts") },
  vrf: { summary: "puts the container's interface into a VRF", versions: FROM_0_3_1, load: () => import("./meta/vrf/main.ts") },
  flannel: { summary: "renders a bridge (or other) config from flannel's subnet.env", versions: ALL, delegates: ["bridge", ...IPAM], load: () => import("./meta/flannel/main.ts") },
  "host-local": { summary: "IPAM from address ranges, reservations on local disk", versions: ALL, load: () => import("./ipam/host-local/main.ts") },
  dhcp: { summary: "IPAM from a DHCP server, through the dhcp daemon", versions: ALL, load: () => import("./ipam/dhcp/main.ts") },
  static: { summary: "IPAM from addresses in the config", versions: ALL, load: () => import("./ipam/static/main.ts") },
  tuning: { summary: "sysctls and link settings of an interface a previous plugin made", versions: ALL, load: () => import("./meta/tuning/main.ts") },
};

/** A program of the executable that is not a CNI plugin: no VERSION fast path, its module's default runs it. */
export interface Tool {
  summary: string;
  load: () => Promise<{ default: (argv: string[], env: Record<string, string | undefined>) => Promise<number> }>;
}

export const TOOLS: Record<string, Tool> = {
  cnitool: { summary: "runs a network's plugins for a netns, as a runtime does (libcni)", load: () => import("./cnitool/main.ts") },
};
