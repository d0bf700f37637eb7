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
  ptp: { summary: "a routed veth pair per container", versions: ALL, load: () => import("./plugins/ptp/main.ts") },
  "host-local": { summary: "IPAM from address ranges, reservations on local disk", versions: ALL, load: () => import("./ipam/host-local/main.ts") },
};

