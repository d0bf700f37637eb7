// ipam/dhcp/dhcp.ts: the dhcp IPAM plugin (SPEC-DIGEST §2.3). It holds no state of its own: ADD and CHECK ask the
// daemon (`dhcp daemon`, daemon.ts) for the container's lease (DHCP.Allocate), DEL ends it (DHCP.Release), GC hands
// the daemon the valid attachments, and STATUS answers 50 when the daemon's socket does not answer.
import { CniError, ERR_PLUGIN_NOT_AVAILABLE } from "../../pkg/cni/errors.ts";
import { parseResultAs } from "../../pkg/cni/result.ts";
import { ALL_VERSIONS, type CmdArgs, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { absPath } from "../../pkg/sys/path.ts";
import { loadConf, type DhcpConf } from "./config.ts";
import { callDaemon, DialError, type CallArgs } from "./rpc.ts";

// upstream text: the socket path comes from the config before anything else is read
const CONF_PREFIX = "error obtaining socketPath: error parsing socket path conf";

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin, CONF_PREFIX);
  const reply = await call(conf, "DHCP.Allocate", args);
  const result = parseResultAs(reply, "1.1.0");
  result.cniVersion = conf.cniVersion;
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, CONF_PREFIX);
  await call(conf, "DHCP.Release", args);
}

async function check(args: CmdArgs): Promise<void> {
  // upstream: CHECK is an Allocate, which answers with the lease the daemon holds (and takes one when it holds none).
  const conf = loadConf(args.stdin, CONF_PREFIX);
  await call(conf, "DHCP.Allocate", args);
}

async function gc(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, CONF_PREFIX);
  await call(conf, "DHCP.GC", args);
}

async function status(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin, CONF_PREFIX);
  try {
    const r = await callDaemon(conf.socketPath, "GET", "DHCP.Status");
    if (r.status !== 200) throw new DialError(`DHCP daemon on ${conf.socketPath} answered status ${r.status}`);
  } catch (e) {
    if (!(e instanceof DialError)) throw e;
    throw new CniError(ERR_PLUGIN_NOT_AVAILABLE, `error dialing DHCP daemon: ${e.message}`);
  }
}

/** Returns the daemon's answer to one method; throws upstream's texts (`error dialing DHCP daemon: …`, `error calling …`). */
async function call(conf: DhcpConf, method: string, args: CmdArgs): Promise<any> {
  const body: CallArgs = {
    command: args.command,
    containerID: args.containerId,
    // The daemon may run under another working directory (upstream makes the path absolute too).
    netns: absPath(args.netns),
    ifName: args.ifname,
    args: args.args,
    path: args.path,
    netnsOverride: args.netnsOverride,
    stdinData: Buffer.from(args.stdin).toString("base64"),
  };
  let r;
  try {
    r = await callDaemon(conf.socketPath, "POST", method, body);
  } catch (e) {
    if (e instanceof DialError) throw new Error(`error dialing DHCP daemon: ${e.message}`); // upstream text
    throw e;
  }
  if (r.status === 200) return r.json;
  // The daemon words its errors as upstream's client does: `error calling DHCP.Allocate: <why>`.
  throw new Error(typeof r.json?.error === "string" ? r.json.error : `error calling ${method}: daemon answered status ${r.status}`);
}

export const dhcp: Plugin = { name: "dhcp", versions: ALL_VERSIONS, add, del, check, status, gc };
