// pkg/cni/types.ts: the shapes every plugin shares: the 1.1.0 result it builds, the config it reads, and the
// handler table it exports. Results are always built in the 1.1.0 shape; pkg/cni/result.ts converts on output.

export const ALL_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0"] as const;
export const CURRENT_VERSION = "1.1.0";

/** An interface entry of a 1.x result. */
export interface Interface {
  name: string;
  mac?: string;
  mtu?: number;
  sandbox?: string;
  socketPath?: string;
  pciID?: string;
}

/** An address of a 1.x result; `address` is `ip/prefix` with host bits kept, `interface` indexes `interfaces`. */
export interface IPConfig {
  interface?: number;
  address: string;
  gateway?: string;
}

/** A route of a result (also the shape of `routes` in IPAM config). */
export interface Route {
  dst: string;
  gw?: string;
  mtu?: number;
  advmss?: number;
  priority?: number;
  table?: number;
  scope?: number;
}

export interface DNS {
  nameservers?: string[];
  domain?: string;
  search?: string[];
  options?: string[];
}

/** A result in the 1.1.0 shape; `cniVersion` is the version it will be printed as. */
export interface Result {
  cniVersion: string;
  interfaces?: Interface[];
  ips?: IPConfig[];
  routes?: Route[];
  dns?: DNS;
}

/** What the runtime handed the plugin: the env variables of SPEC-DIGEST §0.2 and all of stdin. */
export interface CmdArgs {
  command: string;
  containerId: string;
  netns: string;
  ifname: string;
  args: string;
  path: string;
  netnsOverride: string;
  stdin: Uint8Array;
}

/** The fields every network config carries (spec "Network configuration"). */
export interface NetConf {
  cniVersion: string;
  name: string;
  type: string;
  capabilities?: Record<string, boolean>;
  ipam?: Record<string, unknown> & { type?: string };
  dns?: DNS;
  args?: Record<string, unknown>;
  runtimeConfig?: Record<string, unknown>;
  prevResult?: Result;
  /** The whole decoded stdin object, for fields a plugin reads by hand. */
  raw: Record<string, unknown>;
}

/** A handler returns its result (ADD) or nothing; it may be async, but never awaits inside withNetns. */
export type Handler<R> = (args: CmdArgs) => R | Promise<R>;

/** One plugin's handler table; the skel validates env and config and calls these. */
export interface Plugin {
  name: string;
  versions: readonly string[];
  add: Handler<Result>;
  del: Handler<void>;
  check?: Handler<void>;
  status?: Handler<void>;
  gc?: Handler<void>;
}
