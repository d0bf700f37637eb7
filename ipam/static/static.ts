// ipam/static/static.ts: IPAM from addresses written in the config (or passed by the runtime), with nothing kept
// anywhere (SPEC-DIGEST §2.2). ADD returns them with the configured routes and dns; DEL has nothing to free; CHECK
// compares them with prevResult.
import { loadNetConf } from "../../pkg/cni/conf.ts";
import { ALL_VERSIONS, type CmdArgs, type IPConfig, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { formatIP, ipEqual, parseCIDR, parseIP } from "../../pkg/ip/cidr.ts";
import { loadConf, netConfDecoder } from "./config.ts";
import { formatGoIPNet } from "./ip-net.ts";

function add(args: CmdArgs): Result {
  const conf = loadConf(args.stdin, args.args);
  const ips = conf.addresses.map((a): IPConfig => {
    const ip: IPConfig = { address: formatGoIPNet(a.net) };
    if (a.gateway) ip.gateway = formatIP(a.gateway);
    return ip;
  });
  const result: Result = { cniVersion: conf.cniVersion };
  if (ips.length > 0) result.ips = ips;
  if (conf.routes.length > 0) result.routes = conf.routes;
  result.dns = conf.dns; // the printer leaves out what is empty
  return result;
}

function del(_args: CmdArgs): void {
  // Nothing was allocated, so nothing is freed; upstream does not even read the config here.
}

function check(args: CmdArgs): void {
  const conf = loadConf(args.stdin, args.args);
  // upstream decodes stdin a second time as a types.NetConf to reach prevResult, with that decoder's errors.
  const prev = loadNetConf(args.stdin, netConfDecoder).prevResult;
  if (!prev) throw new Error("Required prevResult missing"); // upstream text
  // Each configured address found in prevResult must carry the configured gateway, if there is one; an address
  // missing from prevResult is not an error upstream.
  for (const want of conf.addresses) {
    for (const got of prev.ips ?? []) {
      const ip = parseCIDR(got.address)!.ip; // prevResult parsing already refused a bad address
      if (!ipEqual(want.net.ip, ip)) continue;
      const gw = got.gateway === undefined ? undefined : parseIP(got.gateway);
      if (!want.gateway || (gw && ipEqual(want.gateway, gw))) break;
      throw new Error(`static: Failed to match addr ${formatIP(ip)} on interface ${args.ifname}`); // upstream text
    }
  }
}

function status(_args: CmdArgs): void {
  // Always available: there is no daemon, store or file behind static (upstream has no STATUS handler, which its
  // skel also answers with success).
}

export const staticIpam: Plugin = { name: "static", versions: ALL_VERSIONS, add, del, check, status };
