// registry.ts: every program the executable serves, with what VERSION needs to answer before any code loads.
// Loaders must stay literal `import("./…")` calls: a computed path is not bundled (BUN-NOTES §11).
import type { Plugin } from "./pkg/cni/types.ts";

const ALL = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"];

export interface Entry {
  summary: string;
  versions: readonly string[];
  load: () => Promise<{ default: Plugin }>;
}

export const PLUGINS: Record<string, Entry> = {
  loopback: { summary: "brings up lo in the container", versions: ALL, load: () => import("./plugins/loopback/main.ts") },
  bridge: { summary: "a veth per container on a Linux bridge", versions: ALL, load: () => import("./plugins/bridge/main.ts") },
  ptp: { summary: "a routed veth pair per container", versions: ALL, load: () => import("./plugins/ptp/main.ts") },
  "host-local": { summary: "IPAM from address ranges, reservations on local disk", versions: ALL, load: () => import("./ipam/host-local/main.ts") },
  static: { summary: "IPAM from addresses in the config", versions: ALL, load: () => import("./ipam/static/main.ts") },
  tuning: { summary: "sysctls and link settings of an interface a previous plugin made", versions: ALL, load: () => import("./meta/tuning/main.ts") },
};

