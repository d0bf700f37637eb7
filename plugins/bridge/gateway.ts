// plugins/bridge/gateway.ts: the layer-3 half of the bridge plugin on the host side: which gateways an IPAM result
// implies (and the default routes isDefaultGateway adds), the gateway address on the bridge or on the VLAN gateway
// interface `<bridge>.<vlan>`, and the MAC pinning that keeps the bridge's address stable (upstream calcGateways,
// ensureAddr, ensureVlanInterface).
import type { Result } from "../../pkg/cni/types.ts";
import { addToIP, contains, formatCIDR, formatIP, lastOf, networkOf, parseCIDR, parseIP, type IPNet } from "../../pkg/ip/cidr.ts";
import { addAddr, delAddr, listAddrs } from "../../pkg/ip/address.ts";
import { getLinkByName, setLinkMAC, setLinkUp, type Link } from "../../pkg/ip/link.ts";
import { hasErrno, isNotFound, type NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { setupVeth } from "../../pkg/ip/veth.ts";
import type { NetNS } from "../../pkg/ns/netns.ts";
import { EEXIST } from "../../pkg/sys/libc.ts";
import { setupPort } from "./port.ts";
import { anyOf } from "../../pkg/sys/lists.ts";

const q = JSON.stringify;
const msg = (e: unknown) => (e as Error).message;

/** One family's gateways: the addresses to put on the bridge, each with the prefix of its container address. */
export interface GwInfo {
  family: 4 | 6;
  gws: IPNet[];
  defaultRouteFound: boolean;
}

/**
 * Fills in an IPAM result the way upstream's calcGateways does, and returns each family's gateways: every IP gets
 * `interface: 2` (the container), a missing gateway becomes network+1 with isGateway, and with isDefaultGateway the
 * first IP of a family adds a default route via its gateway unless IPAM already gave one with a gateway.
 */
export function calcGateways(result: Result, isGW: boolean, isDefaultGW: boolean): { v4: GwInfo; v6: GwInfo } {
  const out = { v4: { family: 4, gws: [], defaultRouteFound: false } as GwInfo, v6: { family: 6, gws: [], defaultRouteFound: false } as GwInfo };
  for (const ipc of result.ips ?? []) {
    const addr = parseCIDR(ipc.address)!;
    const gws = addr.ip.family === 4 ? out.v4 : out.v6;
    ipc.interface = 2;
    if (!ipc.gateway && isGW) ipc.gateway = formatIP(addToIP(networkOf(addr), 1n));
    if (isDefaultGW && !gws.defaultRouteFound) {
      gws.defaultRouteFound = anyOf(result.routes ?? [], (r) => {
        const dst = parseCIDR(r.dst);
        return r.gw !== undefined && dst !== undefined && dst.ip.family === addr.ip.family && dst.prefix === 0 && dst.ip.value === 0n;
      });
      if (!gws.defaultRouteFound) {
        result.routes = [...(result.routes ?? []), { dst: addr.ip.family === 4 ? "0.0.0.0/0" : "::/0", ...(ipc.gateway ? { gw: ipc.gateway } : {}) }];
        gws.defaultRouteFound = true;
      }
    }
    if (isGW) gws.gws.push({ ip: parseIP(ipc.gateway!)!, prefix: addr.prefix });
  }
  return out;
}

/**
 * Puts gw on dev unless it is there. Another IPv4 address, or an IPv6 address of an overlapping subnet, is an error,
 * or with forceAddress is removed first. Then sets dev's MAC to `dev.mac` (the MAC it had when it was looked up,
 * before this ADD's port joined), so a bridge keeps that MAC as ports come and go. Throws upstream's texts.
 */
export function ensureAddr(sock: NetlinkSocket, dev: Link, gw: IPNet, forceAddress: boolean): void {
  const family = gw.ip.family;
  let addrs;
  try {
    addrs = listAddrs(sock, { index: dev.index, family });
  } catch (e) {
    throw new Error(`could not get list of IP addresses: ${msg(e)}`, { cause: e }); // upstream text
  }
  const want = formatCIDR(gw);
  for (const a of addrs) {
    const have: IPNet = { ip: a.ip, prefix: a.prefix };
    if (formatCIDR(have) === want) return;
    // Several IPv6 addresses may share the bridge when their subnets do not overlap; IPv4 gets exactly one.
    if (family === 4 || contains(have, gw.ip) || contains(gw, have.ip)) {
      if (!forceAddress) throw new Error(`${q(dev.name)} already has an IP address different from ${want}`); // upstream text
      try {
        delAddr(sock, { index: dev.index, ip: a.ip, prefix: a.prefix });
      } catch (e) {
        throw new Error(`could not remove IP address from ${q(dev.name)}: ${msg(e)}`, { cause: e }); // upstream text
      }
    }
  }
  try {
    // Go's netlink.AddrAdd fills in the IPv4 broadcast address; so do we, for identical kernel state.
    addAddr(sock, { index: dev.index, ip: gw.ip, prefix: gw.prefix, broadcast: family === 4 && gw.prefix < 31 ? lastOf(gw) : undefined });
  } catch (e) {
    if (!hasErrno(e, EEXIST)) throw new Error(`could not add IP address ${want} to ${q(dev.name)}: ${msg(e)}`, { cause: e }); // upstream text
  }
  // A bridge without an address of its own takes the lowest MAC of its ports, which changes as containers come
  // and go; setting it (even to the same value) makes the kernel keep it. A bridge whose ports all left before it
  // was pinned has 00:00:00:00:00:00, which the kernel refuses (upstream then fails the ADD, "could not set bridge's
  // mac"); our rollback removes ports, so this happens more often here: pin the MAC it has now, with this port.
  const mac = isUsableMac(dev.mac) ? dev.mac : getLinkByName(sock, dev.name).mac;
  try {
    setLinkMAC(sock, dev.index, mac);
  } catch (e) {
    throw new Error(`could not set bridge's mac: ${msg(e)}`, { cause: e }); // upstream text
  }
}

/**
 * Returns the VLAN gateway interface `<bridge>.<vlan>`, creating it when missing: a veth in the host netns whose end
 * of that name will carry the gateway address, while its random-named peer joins the bridge as an access port of the
 * VLAN. It is shared by every container of that VLAN and never deleted, as upstream. Throws upstream's texts.
 */
export function ensureVlanInterface(sock: NetlinkSocket, hostNs: NetNS, br: Link, vlan: number, preserveDefaultVlan: boolean): Link {
  const name = `${br.name}.${vlan}`;
  try {
    return getLinkByName(sock, name);
  } catch (e) {
    if (!isNotFound(e)) throw new Error(`failed to find interface ${q(name)}: ${msg(e)}`, { cause: e }); // upstream text
  }
  let veth;
  try {
    veth = setupVeth(sock, sock, hostNs, { ifname: name, mtu: br.mtu });
    setupPort(sock, br, veth.host, { hairpin: false, isolated: false, vlan, vlans: [], preserveDefaultVlan });
  } catch (e) {
    throw new Error(`faild to create vlan gateway ${q(name)}: ${msg(e)}`, { cause: e }); // upstream text (sic)
  }
  try {
    setLinkUp(sock, veth.container.index);
  } catch (e) {
    throw new Error(`failed to up ${q(name)}: ${msg(e)}`, { cause: e }); // upstream text
  }
  return getLinkByName(sock, name);
}

// is_valid_ether_addr(): not all zeros and not multicast (the low bit of the first octet).
function isUsableMac(mac: string): boolean {
  return mac !== "" && mac !== "00:00:00:00:00:00" && (parseInt(mac.slice(0, 2), 16) & 1) === 0;
}
