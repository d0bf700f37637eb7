// meta/portmap/portmap.ts: forwards host ports to the container addresses of the previous result (SPEC-DIGEST
// §3.1), with iptables (one iptables-restore batch per family) or nftables (one nft transaction per family). Host
// side only: nothing here enters the container netns.
//
// Unlike upstream: a mapping iptables or nft would refuse fails before any rule exists, and a failed ADD removes
// what it already set up; re-ADD does not duplicate nftables rules; and DEL, not only ADD, deletes the UDP conntrack
// entries of the mapped ports, so replies stop going to a container that is gone (upstream leaves that blackhole).
// And GC (gc.ts; upstream declares none) removes the rules of containers the runtime no longer lists; for that the
// nftables backend keeps a record per network and container under `dataDir` (record.ts).
import { Undo } from "../../pkg/cni/undo.ts";
import type { CmdArgs, Plugin, Result } from "../../pkg/cni/types.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { formatIP, type IP, type IPNet } from "../../pkg/ip/cidr.ts";
import { getLinkByIndex } from "../../pkg/ip/link.ts";
import { hasErrno, openRouteSocket } from "../../pkg/ip/nl/socket.ts";
import { getRoute } from "../../pkg/ip/route-get.ts";
import { readSysctl, writeSysctl } from "../../pkg/ip/sysctl.ts";
import { EOPNOTSUPP } from "../../pkg/sys/libc.ts";
import { deleteConntrackByDstPort, IPPROTO_UDP, openConntrackSocket } from "../../pkg/netfilter/conntrack.ts";
import { NetfilterUnavailableError, runTool } from "../../pkg/netfilter/exec.ts";
import { isIptablesUsable, readIptablesTable, type IpFamily, type IptablesTable } from "../../pkg/netfilter/iptables.ts";
import { iptablesTeardownLines } from "../../pkg/netfilter/ipmasq.ts";
import { handOffTeardownSocket, teardownChainsInKernel } from "../../pkg/netfilter/nft-chains.ts";
import { applyNftBatch, isNftUsable, type NftTable } from "../../pkg/netfilter/nftables.ts";
import { loadConf, type BackendProbe, type PortMapConf, type PortMapping } from "./config.ts";
import { gc } from "./gc.ts";
import {
  applyWithRetry, chainsForAdd, kernelPlanState, checkChain, dnatChainName, goList, oldSnatChainName, restoreArg, setupLines,
} from "./iptables.ts";
import {
  addBatch, checkRules, containerRules, deleteBatch, NFT_TABLE, nftFamily, readPortmapTables, type NftFamily,
} from "./nftables.ts";
import { removeRecord, writeRecord } from "./record.ts";
import { filtered } from "../../pkg/sys/lists.ts";
import { withSharedChainsLock } from "../../pkg/netfilter/shared-chains-lock.ts";

const PREFIX = "failed to parse config: "; // upstream text (ADD and DEL; CHECK reports parse errors bare)

function add(args: CmdArgs): Promise<Result> | Result {
  const conf = loadConf(args.stdin, args.ifname, hostProbe(), PREFIX);
  if (!conf.prevResult) throw new Error("must be called as chained plugin"); // upstream text
  if (conf.portMappings.length === 0) return conf.prevResult;
  return addMappings(conf, args.containerId);
}

async function addMappings(conf: PortMapConf, containerId: string): Promise<Result> {
  const undo = new Undo();
  try {
    const nets = filtered([conf.contIPv4, conf.contIPv6], (n) => n !== undefined);
    // Before the rules, so no rule of ours is ever without the record that lets GC attribute it (record.ts).
    if (conf.backend === "nftables" && nets.length > 0) {
      writeRecord(conf.dataDir, { network: conf.name, containerID: containerId, addresses: nets.map((n) => formatIP(n.ip)) }, undo);
    }
    for (const net of nets) {
      if (conf.backend === "iptables") forwardIptables(conf, containerId, net, undo);
      else forwardNftables(conf, containerId, net, undo);
      // After the rules, so the next packet of a stale flow goes through them. Failures are only logged (upstream).
      flushUdpConntrack(conf.portMappings, [net.ip.family], (e) => `failed to delete stale UDP conntrack entries for ${formatIP(net.ip)}: ${e}`);
      if (net.ip.family === 4 && conf.snat) enableLocalnetRouting(net.ip, undo);
    }
  } catch (e) {
    await undo.run();
    throw e;
  }
  return conf.prevResult!;
}

/** Sets up the iptables chains and rules of one container address in one batch; undo removes the container's chain. */
function forwardIptables(conf: PortMapConf, containerId: string, net: IPNet, undo: Undo): void {
  const family = net.ip.family;
  const chains = chainsForAdd(conf, containerId, net);
  const dn = dnatChainName(conf.name, containerId);
  let before: IptablesTable;
  try {
    // Locked from the read to the apply: the shared chains and their jumps are planned from what is there.
    before = withSharedChainsLock(() => applyWithRetry(family, (state) => setupLines(state, family, chains), kernelPlanState(family, chains, dn)));
  } catch (e) {
    if (e instanceof NetfilterUnavailableError) throw new Error(`failed to open iptables: ${e.message}`, { cause: e }); // upstream text
    throw new Error(`unable to setup DNAT: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  // A re-ADD found the chain there already: it was not ours to remove.
  if (!before.chains.has(dn)) undo.push(`iptables chain ${dn}`, () => applyWithRetry(family, (s) => iptablesTeardownLines(s, [dn])));
}

/** Adds the nftables rules of one container address in one transaction; undo deletes the rules it added. */
function forwardNftables(conf: PortMapConf, containerId: string, net: IPNet, undo: Undo): void {
  const fam = nftFamily(net.ip.family);
  try {
    const before = readPortmapTables([fam]).get(fam);
    applyNftBatch(addBatch(before, conf, containerId, net));
    const old = new Set((before?.rules ?? []).map((r) => r.handle));
    undo.push(`nftables rules of ${containerId} in ${fam} ${NFT_TABLE}`, () => {
      const now = readPortmapTables([fam]).get(fam);
      applyNftBatch(deleteBatch(fam, filtered(containerRules(now, containerId), (r) => !old.has(r.handle))));
    });
  } catch (e) {
    throw new Error(`unable to set up nftables rules for port mappings: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

/**
 * Sets route_localnet=1 on the host interface that routes to the container, so 127.0.0.1 may be DNATed across it
 * (upstream enableLocalnetRouting). No route: nothing to do, as upstream. Undo puts the old value back.
 */
function enableLocalnetRouting(ip: IP, undo: Undo): void {
  let ifname: string;
  try {
    using sock = openRouteSocket();
    ifname = getLinkByIndex(sock, getRoute(sock, ip).oif!).name;
  } catch {
    return;
  }
  const name = `net/ipv4/conf/${ifname}/route_localnet`;
  try {
    const old = readSysctl(name);
    if (old === "1") return;
    writeSysctl(name, "1");
    undo.push(`sysctl ${name}`, () => writeSysctl(name, old));
  } catch (e) {
    throw new Error(`unable to enable route_localnet: ${(e as Error).message}`, { cause: e }); // upstream text
  }
}

/** Deletes the UDP conntrack entries to the mapped host ports in each family; logs failures (message from `what`). */
function flushUdpConntrack(mappings: PortMapping[], families: (4 | 6)[], what: (err: string) => string): void {
  const ports = [...new Set(filtered(mappings, (m) => m.protocol === "udp").map((m) => m.hostPort))];
  if (ports.length === 0) return;
  let sock;
  try {
    sock = openConntrackSocket();
  } catch (e) {
    console.error(what((e as Error).message));
    return;
  }
  try {
    for (const family of families) {
      try {
        deleteConntrackByDstPort(sock, family, IPPROTO_UDP, ports);
      } catch (e) {
        // No conntrack in this kernel (ctnetlink answers EOPNOTSUPP): no entries, nothing to flush.
        if (!hasErrno(e, EOPNOTSUPP)) console.error(what((e as Error).message));
      }
    }
  } finally {
    sock.close();
  }
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, args.ifname, hostProbe(), PREFIX);
  if (conf.portMappings.length === 0) return;
  // Our addition: stale UDP flows would keep sending to the gone container's address. Flushed before the rules go:
  // its netfilter socket must close before an in-process teardown commits (pkg/netfilter/nft-chains.ts).
  flushUdpConntrack(conf.portMappings, [4, 6], (e) => `failed to delete stale UDP conntrack entries: ${e}`);
  // No prevResult needed: the chain and rule names come from the network and container ID alone.
  if (conf.backend === "iptables") {
    unforwardIptables(conf, args.containerId);
    handOffTeardownSocket(); // the teardown was the last step: do not wait at exit for the kernel's cleanup of it
  }
  else {
    unforwardNftables(args.containerId);
    removeRecord(conf.dataDir, conf.name, args.containerId); // after the rules: a failed DEL keeps it for GC
  }
}

/**
 * Removes this container's DNAT chain (and the legacy SNAT one) and every jump to them, per usable family. Both
 * families are tried; IPv4's error is the one reported when both fail, as upstream reports it.
 */
function unforwardIptables(conf: PortMapConf, containerId: string): void {
  const chains = [dnatChainName(conf.name, containerId), oldSnatChainName(conf.name, containerId)];
  const unusable: string[] = [];
  let failure: Error | undefined;
  for (const family of [4, 6] as IpFamily[]) {
    try {
      if (teardownChainsInKernel(family, "nat", chains)) continue; // iptables-nft: in-process, no tools
      applyWithRetry(family, (state) => iptablesTeardownLines(state, chains));
    } catch (e) {
      if (e instanceof NetfilterUnavailableError) unusable.push(`(${family === 4 ? "iptables" : "ip6tables"}) ${e.message}`);
      else failure ??= new Error(`could not teardown ipv${family} dnat: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
  if (failure) throw failure;
  if (unusable.length === 2) throw new Error(`neither iptables nor ip6tables is usable, ${unusable.join(", ")}`); // upstream text
}

/** Deletes the rules commented with the container ID from both cni_hostport tables; a missing table is fine. */
function unforwardNftables(containerId: string): void {
  let tables: Map<NftFamily, NftTable | undefined>;
  try {
    tables = readPortmapTables(["ip", "ip6"]);
  } catch (e) {
    if (e instanceof NetfilterUnavailableError) return; // upstream: no nftables, nothing of ours in it
    throw new Error(`could not list rules in table cni_hostport: ${(e as Error).message}`, { cause: e }); // upstream text
  }
  for (const [fam, table] of tables) {
    try {
      applyNftBatch(deleteBatch(fam, containerRules(table, containerId)));
    } catch (e) {
      throw new Error(`error deleting nftables rules: ${(e as Error).message}`, { cause: e }); // upstream text
    }
  }
}

function check(args: CmdArgs): void {
  const conf = loadConf(args.stdin, args.ifname, hostProbe(), "");
  if (!conf.prevResult) throw new Error("Required prevResult missing"); // upstream text
  if (conf.portMappings.length === 0) return;
  for (const net of [conf.contIPv4, conf.contIPv6]) {
    if (!net) continue;
    if (conf.backend === "iptables") checkIptables(conf, args.containerId, net);
    else {
      const fam = nftFamily(net.ip.family);
      const err = checkRules(readPortmapTables([fam]).get(fam), conf, args.containerId, net);
      if (err) throw new Error(err);
    }
  }
}

/** Throws unless every chain and rule an ADD makes for this address is there (upstream checks the DNAT chain only). */
function checkIptables(conf: PortMapConf, containerId: string, net: IPNet): void {
  const family = net.ip.family;
  let state: IptablesTable;
  try {
    state = readIptablesTable(family, "nat");
  } catch (e) {
    const tool = family === 4 ? "iptables" : "ip6tables";
    throw new Error(`neither iptables nor ip6tables is usable, (${tool}) ${(e as Error).message}`, { cause: e }); // upstream text
  }
  for (const c of chainsForAdd(conf, containerId, net)) {
    const outcome = checkChain(state, family, c);
    for (const [chain, ruleArgs] of outcome.ask) {
      if (!outcome.error && !iptablesHasRule(family, chain, ruleArgs)) {
        outcome.error = `rule ${goList(c.entryRules)} in chain ${chain} not found in table nat`; // upstream text
      }
    }
    if (outcome.error) throw new Error(`could not check ipv${family} dnat: ${outcome.error}`); // upstream text
  }
}

/** Returns whether `iptables -C` finds the rule (exit 1: it does not); throws when iptables fails otherwise. */
function iptablesHasRule(family: IpFamily, chain: string, ruleArgs: string[]): boolean {
  const tool = family === 4 ? "iptables" : "ip6tables";
  const p = runTool(tool, ["-w", "-t", "nat", "-C", chain, ...ruleArgs]);
  if (p.exitCode === 0) return true;
  if (p.exitCode === 1) return false;
  throw new Error(`failed to check rule [${ruleArgs.map(restoreArg).join(" ")}] in ${chain}: ${tool}: ${p.stderr.trim()}`);
}

/** Upstream's backend probes: iptables works when it can read the nat table; nftables when nft accepts a table. */
function hostProbe(): BackendProbe {
  return {
    iptablesUsable: () => isIptablesUsable(4, "nat"),
    nftablesUsable: isNftUsable,
  };
}

export const portmap: Plugin = { name: "portmap", versions: ALL_VERSIONS, add, del, check, gc };
