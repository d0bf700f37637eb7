// plugins/loopback/loopback.ts: sets the container's `lo` up on ADD and down on DEL (SPEC-DIGEST §1.7).
// CNI_IFNAME is ignored: this plugin only ever touches lo.
import { loadBaseNetConf } from "../../pkg/cni/conf.ts";
import { PRINT_AS_BUILT } from "../../pkg/cni/skel.ts";
import { ALL_VERSIONS, type CmdArgs, type IPConfig, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { formatCIDR, formatIP } from "../../pkg/ip/cidr.ts";
import { listAddrs, type Addr } from "../../pkg/ip/address.ts";
import { getLinkByName, setLinkDown, setLinkUp } from "../../pkg/ip/link.ts";
import { IFF_UP } from "../../pkg/ip/nl/consts.ts";
import { openRouteSocket } from "../../pkg/ip/nl/socket.ts";
import { NetnsNotExistError, withNetns } from "../../pkg/ns/netns.ts";

const LO = "lo";

function loadConf(stdin: Uint8Array) {
  try {
    return loadBaseNetConf(stdin);
  } catch (e) {
    const msg = (e as Error).message;
    // upstream wording: decode errors and prevResult errors carry different prefixes.
    if (msg.startsWith("could not parse prevResult")) throw new Error(`failed to parse prevResult: ${msg}`);
    throw new Error(msg.replace(/^failed to load netconf/, "failed to parse network config"));
  }
}

function isLoopback(a: Addr): boolean {
  if (a.family === 4) return a.ip.value >> 24n === 127n;
  return a.ip.value === 1n;
}

/** Sets lo up inside the netns and returns its first IPv4 and IPv6 addresses (all must be loopback ones). */
function bringUpLo(netns: string): { v4?: Addr; v6?: Addr } {
  return withNetns(netns, () => {
    using sock = openRouteSocket();
    const link = getLinkByName(sock, LO);
    setLinkUp(sock, link.index);
    const found: { v4?: Addr; v6?: Addr } = {};
    for (const family of [4, 6] as const) {
      const addrs = listAddrs(sock, { index: link.index, family });
      const bad = addrs.find((a) => !isLoopback(a));
      if (bad) throw new Error(`loopback interface found with non-loopback address ${JSON.stringify(formatIP(bad.ip))}`); // upstream text
      if (addrs.length > 0) found[family === 4 ? "v4" : "v6"] = addrs[0];
    }
    return found;
  });
}

function add(args: CmdArgs): Result {
  const conf = loadConf(args.stdin);
  const { v4, v6 } = bringUpLo(args.netns);
  // A previous plugin's result passes through unchanged.
  if (conf.prevResult) return conf.prevResult;
  const ips: IPConfig[] = [];
  for (const a of [v4, v6]) if (a) ips.push({ interface: 0, address: formatCIDR({ ip: a.ip, prefix: a.prefix }) });
  const result: Result & { [PRINT_AS_BUILT]?: boolean } = {
    cniVersion: conf.cniVersion,
    interfaces: [{ name: LO, mac: "00:00:00:00:00:00", sandbox: args.netns }],
    ...(ips.length ? { ips } : {}),
    [PRINT_AS_BUILT]: true,
  };
  return result;
}

function del(args: CmdArgs): void {
  if (args.netns === "") return;
  try {
    withNetns(args.netns, () => {
      using sock = openRouteSocket();
      setLinkDown(sock, getLinkByName(sock, LO).index);
    });
  } catch (e) {
    // The runtime may call DEL after the netns is gone, or twice: nothing left to do then.
    if (e instanceof NetnsNotExistError) return;
    throw e;
  }
}

function check(args: CmdArgs): void {
  withNetns(args.netns, () => {
    using sock = openRouteSocket();
    const link = getLinkByName(sock, LO);
    if ((link.flags & IFF_UP) === 0) throw new Error("loopback interface is down"); // upstream text
  });
}

export const loopback: Plugin = { name: "loopback", versions: ALL_VERSIONS, add, del, check };
