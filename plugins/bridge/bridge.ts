// plugins/bridge/bridge.ts: a veth per container on a Linux bridge (SPEC-DIGEST §1.1). The host end is a port of
// the bridge (hairpin, isolation, VLANs, MAC spoof check); with IPAM the container end gets its addresses and routes,
// the bridge (or `<bridge>.<vlan>`) gets the gateway, and masquerade covers the container's addresses. A failed ADD
// undoes its veth, spoof check, reservation and masquerade; the bridge stays, as it is shared (upstream never
// deletes it).
import { isDnsSet } from "../../pkg/cni/dns.ts";
import { ALL_VERSIONS, type CmdArgs, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { formatCIDR, parseCIDR } from "../../pkg/ip/cidr.ts";
import { enableForward } from "../../pkg/ip/forward.ts";
import { delLink, getLinkByName, setLinkUp, type Link } from "../../pkg/ip/link.ts";
import { openRouteSocket, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { writeSysctlIfPossible } from "../../pkg/ip/sysctl.ts";
import { setupVeth } from "../../pkg/ip/veth.ts";
import { configureIface } from "../../pkg/ipam/configure.ts";
import { ipamAdd, ipamRun } from "../../pkg/ipam/ipam.ts";
import { configuredMasqBackend, setupIPMasq, teardownIPMasq, type MasqBackend } from "../../pkg/netfilter/ipmasq.ts";
import { delLinkAndMasq } from "../../pkg/netfilter/ipmasq-del.ts";
import { checkIPMasqAvailable, gcIPMasqOfConf, runAllSteps } from "../../pkg/netfilter/ipmasq-gc-status.ts";
import { setupSpoofCheck, spoofCheckId, teardownSpoofCheck } from "../../pkg/netfilter/mac-spoofchk.ts";
import { openContainerNetns, openNetns, withNetns, type NetNS } from "../../pkg/ns/netns.ts";
import { checkAttachment } from "./check.ts";
import { loadConf, validateForAdd, type BridgeConf } from "./config.ts";
import { calcGateways, ensureAddr, ensureVlanInterface } from "./gateway.ts";
import { ensureBridge, setupPort, waitPortUp, bridgeByName } from "./port.ts";

const q = JSON.stringify;
const msg = (e: unknown) => (e as Error).message;

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin, args.args);
  validateForAdd(conf);
  const backend = configuredMasqBackend(conf.ipMasq && conf.isLayer3, conf.ipMasqBackend);
  // Upstream opens the netns after it made the bridge; first, so a bad path leaves no bridge behind.
  using ctrNs = openContainerNetns(args.netns);
  // Sockets live in the netns they were opened in: one per side, opened up front, usable from the host thread.
  using hostSock = openRouteSocket();
  using ctrSock = openRouteSocket(ctrNs);
  using hostNs = openNetns("/proc/thread-self/ns/net");

  const br = ensureBridge(hostSock, {
    name: conf.bridge,
    mtu: conf.mtu,
    promisc: conf.promiscMode,
    vlanFiltering: conf.vlan !== 0 || conf.hasVlanTrunk,
  });
  const undo = new Undo();
  try {
    // The container end stays down until it is configured (as upstream's), so IPv6 starts (and runs DAD) only once
    // accept_dad is set, and a disabled container interface never comes up.
    const veth = setupVeth(ctrSock, hostSock, hostNs, {
      ifname: args.ifname, mtu: conf.mtu > 0 ? conf.mtu : undefined, mac: conf.mac, containerUp: false,
    });
    // Deleting one end of a veth deletes both (and so the bridge port).
    undo.push("veth", () => delLink(ctrSock, veth.container.index));
    setupPort(hostSock, br, veth.host, {
      hairpin: conf.hairpinMode,
      isolated: conf.portIsolation,
      vlan: conf.vlan,
      vlans: conf.vlans,
      preserveDefaultVlan: conf.preserveDefaultVlan,
    });

    const result: Result = {
      cniVersion: conf.cniVersion,
      interfaces: [
        { name: br.name, mac: br.mac },
        { name: veth.host.name, mac: veth.host.mac },
        { name: veth.container.name, mac: veth.container.mac, sandbox: args.netns },
      ],
    };

    if (conf.macspoofchk) {
      const id = spoofCheckId(args.containerId, args.ifname);
      setupSpoofCheck({ iface: veth.host.name, mac: veth.container.mac, id });
      undo.push("spoof check", () => teardownSpoofCheck(id));
    }

    if (conf.isLayer3) {
      await addLayer3(args, conf, result, { hostSock, ctrSock, ctrNs, hostNs, br, backend, undo });
    } else if (!conf.disableContainerInterface) {
      // Layer 2 only: nothing configures the container end, so bring it up here.
      try {
        setLinkUp(ctrSock, veth.container.index);
      } catch (e) {
        throw new Error(`failed to set ${q(args.ifname)} up: ${msg(e)}`, { cause: e }); // upstream text
      }
    }

    // A disabled container end never comes up, so its peer never will either.
    const host = conf.disableContainerInterface ? getLinkByName(hostSock, veth.host.name) : await waitPortUp(hostSock, veth.host.name);
    // The host end's MAC may have changed meanwhile, and the bridge's changes when its first port joins.
    result.interfaces![1]!.mac = host.mac;
    result.interfaces![0]!.mac = bridgeByName(hostSock, conf.bridge).mac;
    if (isDnsSet(conf.dns)) result.dns = conf.dns;
    return result;
  } catch (e) {
    await undo.run();
    throw e;
  }
}

interface L3Context {
  hostSock: NetlinkSocket;
  ctrSock: NetlinkSocket;
  ctrNs: NetNS;
  hostNs: NetNS;
  br: Link;
  backend?: MasqBackend;
  undo: Undo;
}

/** IPAM, the container's addresses and routes, the gateway on the host side, forwarding and masquerade. */
async function addLayer3(args: CmdArgs, conf: BridgeConf, result: Result, ctx: L3Context): Promise<void> {
  const ipam = await ipamAdd(conf, args.stdin);
  ctx.undo.push("IPAM ADD", () => ipamRun("DEL", conf, args.stdin));
  result.ips = ipam.ips;
  result.routes = ipam.routes;
  result.dns = ipam.dns;
  if (!result.ips?.length) throw new Error("IPAM plugin returned missing IP config"); // upstream text
  const { v4, v6 } = calcGateways(result, conf.isGateway, conf.isDefaultGateway);

  withNetns(ctx.ctrNs, () => {
    if (conf.enabledad) {
      writeSysctlIfPossible(`/net/ipv6/conf/${args.ifname}/enhanced_dad`, "1");
      writeSysctlIfPossible(`net/ipv6/conf/${args.ifname}/accept_dad`, "1");
    } else {
      writeSysctlIfPossible(`net/ipv6/conf/${args.ifname}/accept_dad`, "0");
    }
    writeSysctlIfPossible(`net/ipv4/conf/${args.ifname}/arp_notify`, "1");
    configureIface(ctx.ctrSock, args.ifname, result);
  });

  if (conf.isGateway) {
    let vlanIfaceAdded = false;
    for (const gws of [v4, v6]) {
      for (const gw of gws.gws) {
        if (conf.vlan !== 0) {
          let dev: Link;
          try {
            dev = ensureVlanInterface(ctx.hostSock, ctx.hostNs, ctx.br, conf.vlan, conf.preserveDefaultVlan);
          } catch (e) {
            throw new Error(`failed to create vlan interface: ${msg(e)}`, { cause: e }); // upstream text
          }
          if (!vlanIfaceAdded) {
            result.interfaces!.push({ name: dev.name, mac: dev.mac });
            vlanIfaceAdded = true;
          }
          try {
            ensureAddr(ctx.hostSock, dev, gw, conf.forceAddress);
          } catch (e) {
            throw new Error(`failed to set vlan interface for bridge with addr: ${msg(e)}`, { cause: e }); // upstream text
          }
        } else {
          try {
            ensureAddr(ctx.hostSock, ctx.br, gw, conf.forceAddress);
          } catch (e) {
            throw new Error(`failed to set bridge addr: ${msg(e)}`, { cause: e }); // upstream text
          }
        }
      }
      if (gws.gws.length > 0) {
        try {
          enableForward(gws.gws.map((g) => ({ address: formatCIDR(g) })));
        } catch (e) {
          throw new Error(`failed to enable forwarding: ${msg(e)}`, { cause: e }); // upstream text
        }
      }
    }
  }

  if (ctx.backend) {
    const masq = { network: conf.name, ifname: args.ifname, containerId: args.containerId, ips: result.ips.map((i) => parseCIDR(i.address)!) };
    ctx.undo.push("ipMasq", () => teardownIPMasq(masq));
    setupIPMasq(ctx.backend, masq);
  }
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, args.args);
  // When the netns or the link is already gone (or CNI_NETNS is empty) upstream stops after IPAM DEL and leaks the
  // spoof check and the masquerade; we carry on (ipmasq-del.ts). Deleting the container end takes the host end and
  // the bridge port with it. A failure of any other step is reported before the masquerade's.
  const masq = conf.isLayer3 && conf.ipMasq ? { network: conf.name, ifname: args.ifname, containerId: args.containerId } : undefined;
  const masqError = delLinkAndMasq(args.netns, args.ifname, masq, conf.prevResult);
  if (conf.isLayer3) await ipamRun("DEL", conf, args.stdin);
  if (conf.macspoofchk) {
    try {
      teardownSpoofCheck(spoofCheckId(args.containerId, args.ifname));
    } catch (e) {
      console.error(msg(e)); // upstream only logs it
    }
  }
  if (masqError) throw masqError;
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, args.args);
  using ctrNs = openContainerNetns(args.netns);
  // upstream quirk: IPAM CHECK runs even without an IPAM type, and then fails ("no plugin name provided").
  await ipamRun("CHECK", conf, args.stdin);
  const prev = conf.prevResult;
  if (!prev) throw new Error("Required prevResult missing"); // upstream text
  using hostSock = openRouteSocket();
  using ctrSock = openRouteSocket(ctrNs);
  checkAttachment({ hostSock, ctrSock, ctrNs, netns: args.netns, ifname: args.ifname, bridge: conf.bridge, promiscMode: conf.promiscMode, prev });
}

/** STATUS: with IPAM, its answer (host-local: 50 when its store is not writable), then 50 when ipMasq has no netfilter tool. */
async function status(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, args.args, true);
  if (!conf.isLayer3) return;
  await ipamRun("STATUS", conf, args.stdin);
  checkIPMasqAvailable(conf.ipMasq, conf.ipMasqBackend);
}

/**
 * Our addition (upstream declares no GC): with IPAM, GC forwarded to it (the spec has delegating plugins pass it
 * on), then the masquerade rules of this network's attachments missing from `cni.dev/valid-attachments` removed.
 */
async function gc(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, args.args, true);
  if (!conf.isLayer3) return;
  await runAllSteps([() => ipamRun("GC", conf, args.stdin), () => gcIPMasqOfConf(conf.name, args.stdin)]);
}

export const bridge: Plugin = { name: "bridge", versions: ALL_VERSIONS, add, del, check, status, gc };
