// cnitool/cnitool.ts: upstream's cnitool (containernetworking/cni v1.3.0) over pkg/libcni: runs one network's
// plugins for a netns as a runtime would, with its environment: NETCONFPATH (where the network's config is, default
// /etc/cni/net.d), CNI_PATH (where the plugins are), CNI_ARGS, CAP_ARGS (capability arguments as JSON) and
// CNI_IFNAME (default eth0). The container ID is derived from the netns path, so add and del of one netns match.
// Ours adds `version` and CNI_CACHE_DIR (where attachments are cached, default /var/lib/cni).
import { resolve } from "node:path";
import { RELEASE } from "../pkg/cni/about.ts";
import { formatResult } from "../pkg/cni/result.ts";
import { CNIConfig, type RuntimeConf } from "../pkg/libcni/api.ts";
import { loadNetworkConf, type NetworkConfigList } from "../pkg/libcni/conf.ts";
import { goQuote } from "../pkg/cni/args.ts";
import { jsonKind } from "../pkg/libcni/go-json.ts";

type Env = Record<string, string | undefined>;

const DEFAULT_NET_DIR = "/etc/cni/net.d";
const VERBS = ["add", "check", "del", "gc", "status"];

/** Runs cnitool with its arguments (after the program name) and env; returns the exit status. */
export async function cnitool(argv: string[], env: Env): Promise<number> {
  let args: string[];
  let ifnameFlag: string | undefined;
  try {
    ({ args, ifname: ifnameFlag } = parseFlags(argv));
  } catch (e) {
    return fail(e);
  }
  const verb = args[0] ?? "";
  if (verb === "version" && args.length <= 2) return version(args[1], env);
  if (!VERBS.includes(verb) || args.length < 3) return usage();
  try {
    const list = loadNetworkConf(env.NETCONFPATH || DEFAULT_NET_DIR, args[1]!);
    const rt = runtimeConf(args[2]!, ifnameFlag, env);
    const cni = cniConfig(env);
    switch (verb) {
      case "add": {
        const result = await cni.addNetworkList(list, rt);
        if (result) await Bun.write(Bun.stdout, formatResult(result, result.cniVersion)); // printed as upstream: no newline
        break;
      }
      case "check":
        await cni.checkNetworkList(list, rt);
        break;
      case "del":
        await cni.delNetworkList(list, rt);
        break;
      case "gc":
        // As upstream: no valid attachments, so every cached attachment of the network is deleted.
        await cni.gcNetworkList(list);
        break;
      case "status":
        await cni.getStatusNetworkList(list);
        break;
    }
    return 0;
  } catch (e) {
    return fail(e);
  }
}

/** Returns the arguments without the `-i/--ifname NAME` flag (upstream's later cobra CLI has it), and the flag's value. */
function parseFlags(argv: string[]): { args: string[]; ifname?: string } {
  const args: string[] = [];
  let ifname: string | undefined;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === "-i" || a === "--ifname") {
      if (i + 1 >= argv.length) throw new Error(`flag needs an argument: ${a}`);
      ifname = argv[++i];
    } else if (a.startsWith("--ifname=")) {
      ifname = a.slice("--ifname=".length);
    } else {
      args.push(a);
    }
  }
  return { args, ifname };
}

/** Returns the attachment cnitool acts on: the netns made absolute, its hash as container ID, CNI_ARGS and CAP_ARGS. */
export function runtimeConf(netnsArg: string, ifnameFlag: string | undefined, env: Env): RuntimeConf {
  let capabilityArgs: Record<string, unknown> | undefined;
  const capArgs = env.CAP_ARGS ?? "";
  if (capArgs.length > 0) {
    const v: unknown = JSON.parse(capArgs);
    if (v !== null && (typeof v !== "object" || Array.isArray(v))) {
      throw new Error(`json: cannot unmarshal ${jsonKind(v)} into Go value of type map[string]interface {}`); // upstream text
    }
    capabilityArgs = (v ?? undefined) as Record<string, unknown> | undefined;
  }
  const cniArgs = env.CNI_ARGS ?? "";
  const args = cniArgs.length > 0 ? parseArgs(cniArgs) : undefined;
  // An empty CNI_IFNAME means the default too (upstream v1.3.0 took it as set; its later CLI does as we do).
  const ifname = ifnameFlag || env.CNI_IFNAME || "eth0";
  const netns = resolve(netnsArg);
  // upstream: "cnitool-" + hex of the first 10 bytes of SHA-512(absolute netns path).
  const containerId = `cnitool-${new Bun.CryptoHasher("sha512").update(netns).digest("hex").slice(0, 20)}`;
  return { containerId, netns, ifname, ...(args ? { args } : {}), ...(capabilityArgs ? { capabilityArgs } : {}) };
}

/** Returns CNI_ARGS as pairs; every `K=V` needs a key and a value (upstream's parseArgs). */
export function parseArgs(s: string): [string, string][] {
  return s.split(";").map((pair) => {
    const kv = pair.split("=");
    if (kv.length !== 2 || kv[0] === "" || kv[1] === "") throw new Error(`invalid CNI_ARGS pair ${goQuote(pair)}`); // upstream text
    return [kv[0]!, kv[1]!];
  });
}

function cniConfig(env: Env): CNIConfig {
  const path = (env.CNI_PATH ?? "").split(":").filter((d) => d !== "");
  return new CNIConfig({ path, cacheDir: env.CNI_CACHE_DIR || undefined, env });
}

/** `cnitool version`: our release; with a network, every plugin's VERSION answer keyed by type, as JSON. */
async function version(network: string | undefined, env: Env): Promise<number> {
  if (network === undefined) {
    await Bun.write(Bun.stdout, `cnitool ${RELEASE} (libcni as in containernetworking/cni v1.3.0, CNI spec 1.1.0)\n`);
    return 0;
  }
  try {
    const list: NetworkConfigList = loadNetworkConf(env.NETCONFPATH || DEFAULT_NET_DIR, network);
    const infos = await cniConfig(env).getVersionInfoList(list);
    // One plugin a line: still one JSON object, keyed by type (a type listed twice answers once).
    const seen = new Set<string>();
    const lines = infos.filter(({ type }) => !seen.has(type) && seen.add(type)).map(({ type, info }) => `  ${JSON.stringify(type)}: ${JSON.stringify(info)}`);
    await Bun.write(Bun.stdout, `{\n${lines.join(",\n")}\n}\n`);
    return 0;
  } catch (e) {
    return fail(e);
  }
}

function usage(): number {
  const lines = [
    "cnitool: Add, check, remove, gc or status network interfaces from a network namespace", // upstream text
    "  cnitool add    <net> <netns>",
    "  cnitool check  <net> <netns>",
    "  cnitool del    <net> <netns>",
    "  cnitool gc     <net> <netns>",
    "  cnitool status <net> <netns>",
    "  cnitool version [<net>]",
    "Flags: -i, --ifname NAME (default: CNI_IFNAME, else eth0)",
    "Environment: NETCONFPATH (default /etc/cni/net.d), CNI_PATH, CNI_ARGS, CAP_ARGS (JSON), CNI_IFNAME,",
    "             CNI_CACHE_DIR (default /var/lib/cni)",
  ];
  console.error(lines.join("\n"));
  return 1;
}

function fail(e: unknown): number {
  console.error(e instanceof Error ? e.message : String(e));
  return 1;
}
