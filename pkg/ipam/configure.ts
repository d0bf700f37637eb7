// pkg/ipam/configure.ts: apply an IPAM result to the container's interface (SPEC-DIGEST §0.8, upstream
// ipam.ConfigureIface): addresses, link up, IPv6 DAD settled, then routes (ECMP siblings allowed).
// Call it inside withNetns(container): the sysctls it writes are the calling thread's netns's.
import type { Result, Route } from "../cni/types.ts";
import { parseCIDR, parseIP, formatIP, lastOf, type IP, type IPNet } from "../ip/cidr.ts";
import { addAddr, listAddrs } from "../ip/address.ts";
import { getLinkByName, setLinkUp } from "../ip/link.ts";
import { IFA_F_DADFAILED, IFA_F_TENTATIVE } from "../ip/nl/consts.ts";
import type { NetlinkSocket } from "../ip/nl/socket.ts";
import { addRoute, type RouteSpec } from "../ip/route.ts";
import { readSysctl, writeSysctl } from "../ip/sysctl.ts";

const DAD_POLL_MS = 50;
const DAD_TIMEOUT_MS = 5000;

/** Configures `ifname` (looked up through sock, which lives in the same netns) from result; throws upstream's texts. */
export function configureIface(sock: NetlinkSocket, ifname: string, result: Result): void {
  if (!result.interfaces?.length) throw new Error("no interfaces to configure"); // upstream text
  let link;
  try {
    link = getLinkByName(sock, ifname);
  } catch (e) {
    throw new Error(`failed to lookup ${JSON.stringify(ifname)}: ${(e as Error).message}`, { cause: e });
  }
  let v4gw: IP | undefined;
  let v6gw: IP | undefined;
  let ipv6Enabled = false;
  for (const ipc of result.ips ?? []) {
    if (ipc.interface === undefined) continue;
    if (ipc.interface < 0 || ipc.interface >= result.interfaces.length || result.interfaces[ipc.interface]!.name !== ifname) {
      throw new Error(`failed to add IP addr ${ipc.address} to ${JSON.stringify(ifname)}: invalid interface index`);
    }
    const addr = parseCIDR(ipc.address)!;
    if (addr.ip.family === 6 && !ipv6Enabled) {
      enableIPv6(ifname);
      ipv6Enabled = true;
    }
    try {
      addAddr(sock, {
        index: link.index,
        ip: addr.ip,
        prefix: addr.prefix,
        // Go's netlink.AddrAdd fills in the IPv4 broadcast address; so do we, for identical kernel state.
        broadcast: addr.ip.family === 4 && addr.prefix < 31 ? lastOf(addr) : undefined,
      });
    } catch (e) {
      throw new Error(`failed to add IP addr ${ipc.address} to ${JSON.stringify(ifname)}: ${(e as Error).message}`, { cause: e });
    }
    const gw = ipc.gateway ? parseIP(ipc.gateway) : undefined;
    if (gw?.family === 4) v4gw ??= gw;
    else if (gw?.family === 6) v6gw ??= gw;
  }
  try {
    setLinkUp(sock, link.index);
  } catch (e) {
    throw new Error(`failed to set ${JSON.stringify(ifname)} UP: ${(e as Error).message}`, { cause: e });
  }
  // A route via an IPv6 gateway fails while our address is still tentative: wait for DAD to finish.
  if (v6gw) settleIPv6(sock, link.index, ifname);
  for (const r of result.routes ?? []) addResultRoute(sock, link.index, ifname, r, v4gw, v6gw);
}

/** Turns IPv6 on for lo and the interface when disabled, and keeps addresses across link down (upstream). */
function enableIPv6(ifname: string): void {
  for (const iface of ["lo", ifname]) {
    const name = `net/ipv6/conf/${iface}/disable_ipv6`;
    let value: string;
    try {
      value = readSysctl(name);
    } catch (e) {
      console.error(`ipam_linux: failed to read sysctl ${JSON.stringify(name)}: ${(e as Error).message}`);
      continue;
    }
    if (value === "0") continue;
    try {
      writeSysctl(name, "0");
    } catch (e) {
      throw new Error(`failed to enable IPv6 for interface ${JSON.stringify(iface)} (${name}=${value}): ${(e as Error).message}`, { cause: e });
    }
  }
  try {
    writeSysctl(`net/ipv6/conf/${ifname}/keep_addr_on_down`, "1");
  } catch {
    // older kernels lack it
  }
}

function settleIPv6(sock: NetlinkSocket, index: number, ifname: string): void {
  const deadline = Date.now() + DAD_TIMEOUT_MS;
  for (;;) {
    const addrs = listAddrs(sock, { index, family: 6 });
    const failed = addrs.find((a) => a.flags & IFA_F_DADFAILED);
    if (failed) throw new Error(`failed to settle addresses on ${JSON.stringify(ifname)}: ${formatIP(failed.ip)} failed duplicate address detection`);
    if (!addrs.some((a) => a.flags & IFA_F_TENTATIVE)) return;
    if (Date.now() >= deadline) {
      // Tentative forever is normal on a link that is not really up yet (no carrier): only an up link is an error.
      if (getLinkByName(sock, ifname).operState === "up") {
        throw new Error(`failed to settle addresses on ${JSON.stringify(ifname)}: addresses still tentative after ${DAD_TIMEOUT_MS / 1000}s`);
      }
      return;
    }
    Bun.sleepSync(DAD_POLL_MS);
  }
}

/** Returns a RouteSpec for a result route: the default route has no dst; gw falls back to the family's gateway. */
export function routeSpecOf(r: Route, oif: number, v4gw?: IP, v6gw?: IP): RouteSpec {
  const dst: IPNet = parseCIDR(r.dst)!;
  const gw = r.gw ? parseIP(r.gw) : dst.ip.family === 4 ? v4gw : v6gw;
  const spec: RouteSpec = { family: dst.ip.family, oif };
  if (dst.prefix > 0) spec.dst = dst;
  if (gw) spec.gw = gw;
  if (r.priority) spec.priority = r.priority;
  if (r.table !== undefined) spec.table = r.table;
  if (r.scope !== undefined) spec.scope = r.scope;
  if (r.mtu) spec.mtu = r.mtu;
  if (r.advmss) spec.advmss = r.advmss;
  return spec;
}

function addResultRoute(sock: NetlinkSocket, oif: number, ifname: string, r: Route, v4gw?: IP, v6gw?: IP): void {
  const spec = routeSpecOf(r, oif, v4gw, v6gw);
  try {
    // Create without exclusive: several routes to one prefix with different gateways (ECMP) must all succeed.
    addRoute(sock, spec, "create");
  } catch (e) {
    const via = spec.gw ? formatIP(spec.gw) : "<nil>";
    throw new Error(`failed to add route '${r.dst} via ${via} dev ${ifname}': ${(e as Error).message}`, { cause: e }); // upstream text
  }
}
