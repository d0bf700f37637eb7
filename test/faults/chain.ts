// test/faults/chain.ts: the chain the fault tests break, as a runtime runs it through our pkg/libcni: bridge
// (isGateway, ipMasq) with host-local, then portmap, then tuning (MTU, promiscuous mode, MAC from the capability,
// a sysctl: so it writes a backup), in a throwaway host netns for a throwaway container netns, every file (IPAM
// store, portmap records, tuning backups, libcni's cache) in one temp dir. `snapshot` reads what a leak would show.
import { CNIConfig, type RuntimeConf } from "../../pkg/libcni/api.ts";
import { networkConfFromBytes, type NetworkConfigList } from "../../pkg/libcni/conf.ts";
import { FaultExec } from "../support/fault-exec.ts";
import { netState, newLines, treeOf, type NetState } from "../support/net-state.ts";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { OURS } from "../support/run-plugin.ts";
import { tempDir, type TempDir } from "../support/temp-dir.ts";

export const NET = "faultnet";
export const BRIDGE = "cnifault0";
export type Backend = "iptables" | "nftables";

/** What a leak shows: the host's and the container's netns state and the files of the temp dir (names only). */
export interface Snapshot {
  host: NetState;
  ctr: NetState;
  files: string[];
}

/** A host and container netns, the temp dir, the chain and a libcni running it through a FaultExec. */
export interface Chain extends Disposable {
  host: TempNetns;
  ctr: TempNetns;
  dir: TempDir;
  list: NetworkConfigList;
  exec: FaultExec;
  lib: CNIConfig;
  rt(id: string): RuntimeConf;
  snapshot(): Snapshot;
}

/** Returns a new chain world for one backend (ipMasq and portmap both use it); `tag` prefixes the netns names. */
export function chainWorld(tag: string, backend: Backend, subnet = "10.99.0.0/16"): Chain {
  const host = tempNetns(`${tag}-host`);
  const ctr = tempNetns(`${tag}-ctr`);
  const dir = tempDir(`${tag}-files`);
  ipIn(host, ["link", "set", "lo", "up"]);
  const conf = {
    cniVersion: "1.0.0",
    name: NET,
    plugins: [
      {
        type: "bridge", bridge: BRIDGE, isGateway: true, ipMasq: true, ipMasqBackend: backend,
        ipam: { type: "host-local", dataDir: `${dir.path}/ipam`, ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }] },
      },
      { type: "portmap", capabilities: { portMappings: true }, snat: true, backend, dataDir: `${dir.path}/portmap` },
      {
        type: "tuning", capabilities: { mac: true }, mtu: 1400, promisc: true,
        sysctl: { "net.ipv4.conf.IFNAME.log_martians": "1" }, dataDir: `${dir.path}/tuning`,
      },
    ],
  };
  const exec = new FaultExec(host.name, dir.path);
  const lib = new CNIConfig({ path: [OURS], cacheDir: `${dir.path}/cache`, exec, env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin" } });
  return {
    host, ctr, dir, exec, lib,
    list: networkConfFromBytes(new TextEncoder().encode(JSON.stringify(conf))),
    rt: (id) => ({
      containerId: id, netns: ctr.path, ifname: "eth0",
      capabilityArgs: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }], mac: "02:42:0a:63:00:63" },
    }),
    snapshot: () => ({ host: netState(host), ctr: netState(ctr), files: treeOf(dir.path).filter((f) => !f.startsWith("trace-")) }),
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      dir[Symbol.dispose]();
    },
  };
}

/** Returns what `now` has that `before` had not (netns lines and file names); {} when nothing was left. */
export function leftOver(before: Snapshot, now: Snapshot): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const h = newLines(before.host, now.host);
  const c = newLines(before.ctr, now.ctr);
  if (Object.keys(h).length) out.host = h;
  if (Object.keys(c).length) out.ctr = c;
  const had = new Set(before.files);
  const files = now.files.filter((f) => !had.has(f));
  if (files.length) out.files = files;
  return out;
}
