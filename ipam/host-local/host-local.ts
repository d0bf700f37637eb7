// ipam/host-local/host-local.ts: IPAM from configured address ranges, with reservations kept as files on the local
// disk (SPEC-DIGEST §2.1). ADD takes one address per range set; DEL frees a container's addresses; CHECK looks for
// one; STATUS checks the store can be written; GC frees the reservations of attachments that are gone.
import * as fs from "../../pkg/sys/fs.ts";
import { dirPath } from "../../pkg/sys/path.ts";
import { CniError, ERR_PLUGIN_NOT_AVAILABLE } from "../../pkg/cni/errors.ts";
import { ALL_VERSIONS, type CmdArgs, type IPConfig, type Plugin, type Result, type Route } from "../../pkg/cni/types.ts";
import { loadValidAttachments } from "../../pkg/cni/valid-attachments.ts";
import { formatIP, ipEqual, type IP } from "../../pkg/ip/cidr.ts";
import { allocate } from "./allocator.ts";
import { loadNetSpec } from "./config.ts";
import { goPathError } from "../../pkg/sys/go-path-error.ts";
import { canonicalizeRangeSets, rangeFor, type RangeSet } from "./range-set.ts";
import { readResolvConf } from "./resolv.ts";
import { Store, storeDir } from "./store.ts";

/** host-local's config, validated: the network's name and version plus the `ipam` settings it uses. */
export interface HostLocalConf {
  name: string;
  cniVersion: string;
  dataDir: string;
  resolvConf: string;
  routes: Route[];
  ranges: RangeSet[];
  requestedIPs: IP[];
}

/** Returns the config on stdin with CNI_ARGS applied and every range set canonicalised; throws upstream's texts. */
export function loadConf(args: CmdArgs): HostLocalConf {
  const spec = loadNetSpec(args.stdin, args.args);
  const ranges = canonicalizeRangeSets(spec.rangeSets, spec.cniVersion);
  return { ...spec, ranges };
}

function add(args: CmdArgs): Result {
  const conf = loadConf(args);
  const requested = planRequested(conf);
  const dns = conf.resolvConf ? readResolvConf(conf.resolvConf) : undefined;
  using store = Store.open(conf.name, conf.dataDir);

  const reserved: IP[] = [];
  const ips: IPConfig[] = [];
  try {
    for (let idx = 0; idx < conf.ranges.length; idx++) {
      try {
        const a = allocate(store, conf.ranges[idx]!, idx, args.containerId, args.ifname, requested[idx]);
        reserved.push(a.ip);
        ips.push(a.config);
      } catch (e) {
        throw new Error(`failed to allocate for range ${idx}: ${(e as Error).message}`, { cause: e }); // upstream text
      }
    }
  } catch (e) {
    // Undo exactly what this ADD reserved; an earlier ADD's reservations stay.
    try {
      store.withLock(() => store.releaseIPs(reserved));
    } catch {
      // best effort, as upstream's: the ADD's own failure is what gets reported
    }
    throw e;
  }

  const result: Result = { cniVersion: conf.cniVersion, ips };
  if (conf.routes.length > 0) result.routes = conf.routes;
  if (dns) result.dns = dns;
  return result;
}

/**
 * Returns the requested IP each range set takes (the first pending one it holds), judged from the config alone, so
 * requests that can never be met (in no set, a range's gateway, two in one set) fail before the store is touched.
 * Upstream finds the same errors only after reserving and releasing; the texts are its own.
 */
function planRequested(conf: HostLocalConf): (IP | undefined)[] {
  const pending = new Map<string, IP>(conf.requestedIPs.map((ip) => [formatIP(ip), ip]));
  const plan = conf.ranges.map((set, idx) => {
    for (const [key, ip] of pending) {
      const r = rangeFor(set, ip);
      if (!r) continue;
      pending.delete(key);
      if (ipEqual(ip, r.gateway)) {
        throw new Error(`failed to allocate for range ${idx}: requested ip ${key} is subnet's gateway`); // upstream text
      }
      return ip;
    }
    return undefined;
  });
  if (pending.size > 0) {
    throw new Error(`failed to allocate all requested IPs:${[...pending.keys()].map((k) => ` ${k}`).join("")}`); // upstream text
  }
  return plan;
}

function del(args: CmdArgs): void {
  const conf = loadConf(args);
  using store = Store.open(conf.name, conf.dataDir);
  // upstream releases once per range set, each time across the whole store: a second pass finds nothing of
  // (id, ifname) left and then frees legacy files of the bare id. An unknown ID frees nothing and succeeds.
  const errors: string[] = [];
  for (let i = 0; i < conf.ranges.length; i++) {
    for (const err of store.withLock(() => store.releaseById(args.containerId, args.ifname))) {
      if (!errors.includes(err)) errors.push(err);
    }
  }
  if (errors.length > 0) throw new Error(errors.join(";"));
}

function check(args: CmdArgs): void {
  const conf = loadConf(args);
  using store = Store.open(conf.name, conf.dataDir);
  if (!store.withLock(() => store.findById(args.containerId, args.ifname))) {
    throw new Error(`host-local: Failed to find address added by container ${args.containerId}`); // upstream text
  }
}

function status(args: CmdArgs): void {
  const conf = loadConf(args);
  const dir = storeDir(conf.name, conf.dataDir);
  const problem = storeProblem(dir);
  if (problem) {
    throw new CniError(ERR_PLUGIN_NOT_AVAILABLE, `host-local: cannot store reservations in ${JSON.stringify(dir)}`, problem);
  }
}

/** Returns why reservations cannot be written under dir (judged on dir or its nearest existing ancestor), or undefined. */
function storeProblem(dir: string): string | undefined {
  const existing = nearestExisting(dir);
  try {
    if (!fs.statSync(existing).isDirectory()) return `${existing} is not a directory`;
    fs.accessSync(existing, fs.constants.W_OK | fs.constants.X_OK);
    return undefined;
  } catch (e) {
    return goPathError(existing, e, "access").message;
  }
}

/** Returns p, or its nearest ancestor that exists. */
function nearestExisting(p: string): string {
  for (;;) {
    try {
      fs.statSync(p);
      return p;
    } catch {
      const parent = dirPath(p);
      if (parent === p) return p;
      p = parent;
    }
  }
}

function gc(args: CmdArgs): void {
  const conf = loadConf(args);
  const valid = loadValidAttachments(args.stdin, "PluginConf");
  // Without the list a runtime has told us nothing; freeing everything then would be a disaster.
  if (!valid) return;
  const pairs = new Set(valid.map((a) => `${a.containerID.trim()}\r\n${a.ifname}`));
  const ids = new Set(valid.map((a) => a.containerID.trim()));
  using store = Store.open(conf.name, conf.dataDir);
  const errors = store.withLock(() => {
    const failed: string[] = [];
    for (const r of store.reservations()) {
      const isValid = r.ifname === undefined ? ids.has(r.containerId) : pairs.has(`${r.containerId}\r\n${r.ifname}`);
      if (isValid) continue;
      const err = store.remove(r.path);
      if (err) failed.push(err);
    }
    return failed;
  });
  if (errors.length > 0) throw new Error(errors.join(";"));
}

export const hostLocal: Plugin = { name: "host-local", versions: ALL_VERSIONS, add, del, check, status, gc };
