// meta/firewall/firewall.ts: lets the traffic of a container's addresses through the host firewall (SPEC-DIGEST
// §3.3), chained after a main plugin (prevResult). Two backends, as upstream: iptables (filter table: CNI-FORWARD
// with ACCEPT rules per address, jumped to from FORWARD, with an admin chain jumped to first) and firewalld (each
// address a source of a zone, over D-Bus; `DBUS_SYSTEM_BUS_ADDRESS` is honoured, as godbus does). Without `backend`
// firewalld is used when it owns its name on the system bus, else iptables. `ingressPolicy` same-bridge or isolated
// adds Docker-style isolation chains for the bridge (always iptables; never removed: other containers may use it).
//
// Unlike upstream, every config error is found before anything changes (an unknown backend or ingress policy, a
// bad admin chain name, a missing bridge name), and a failing ADD takes back what it already did. Each call reads
// each family's filter table once and writes one iptables-restore batch per family.
import { CniError, ERR_INVALID_NETWORK_CONFIG, ERR_PLUGIN_NOT_AVAILABLE } from "../../pkg/cni/errors.ts";
import { Undo } from "../../pkg/cni/undo.ts";
import { ALL_VERSIONS, type CmdArgs, type Plugin, type Result } from "../../pkg/cni/types.ts";
import { DBusConnection } from "../../pkg/dbus/connection.ts";
import { parseCIDR, type IPNet } from "../../pkg/ip/cidr.ts";
import { NetfilterUnavailableError } from "../../pkg/netfilter/exec.ts";
import { readIptablesTable, type IpFamily } from "../../pkg/netfilter/iptables.ts";
import { goQuote } from "../../pkg/netfilter/names.ts";
import {
  configuredBackend, ingressPolicyOf, loadConf, validateAdminChain, type Backend, type FirewallConf, type IngressPolicy,
} from "./config.ts";
import { addSources, checkSources, isFirewalldRunning, removeSources } from "./firewalld.ts";
import { applySetup, checkBackend, deleteAddressRules, requireIptables, undoSetup, type FamilySetup } from "./iptables.ts";
import { hostCIDR } from "./rules.ts";

const FAMILIES: IpFamily[] = [4, 6];

async function add(args: CmdArgs): Promise<Result> {
  const conf = loadConf(args.stdin);
  const explicit = configuredBackend(conf);
  const policy = ingressPolicyOf(conf);
  const result = requirePrevResult(conf);
  const ips = addressesOf(result);
  const bridge = policy === "open" ? undefined : bridgeOf(result, conf.ingressPolicy);

  await using sel = await selectBackend(explicit);
  if (sel.backend === "iptables") {
    validateAdminChain(conf.adminChainName);
    requireIptables();
  }
  if (bridge !== undefined) requireIptables(familiesOf(ips));

  const undo = new Undo();
  try {
    if (sel.backend === "firewalld") {
      const bound = await addSources(sel.conn!, conf.firewalldZone, ips);
      undo.push(`firewalld sources ${bound.join(", ")}`, () => removeSources(sel.conn!, conf.firewalldZone, bound));
    }
    for (const family of familiesOf(ips)) {
      const setup: FamilySetup = {};
      if (sel.backend === "iptables") setup.backend = { adminChain: conf.adminChainName, ips: ips.filter((n) => n.ip.family === family) };
      if (bridge !== undefined) setup.isolation = { bridge, policy: policy as Exclude<IngressPolicy, "open"> };
      if (!setup.backend && !setup.isolation) continue;
      const added = applySetup(family, setup);
      undo.push(`IPv${family} filter rules`, () => undoSetup(family, added));
    }
  } catch (e) {
    await undo.run();
    throw e;
  }
  return result;
}

async function del(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  // upstream quirk kept for DEL: an unknown backend auto-detects, so a DEL cleans what a Go ADD made with it.
  const explicit = conf.backend === "iptables" || conf.backend === "firewalld" ? conf.backend : undefined;
  const ips = addressesOf(conf.prevResult); // no prevResult (a DEL after a failed ADD): nothing to remove
  if (ips.length > 0) {
    await using sel = await selectBackend(explicit);
    if (sel.backend === "firewalld") {
      await removeSources(sel.conn!, conf.firewalldZone, ips.map(hostCIDR));
    }
    // Auto-detection picked firewalld now, but ADD may have run before firewalld started: clean iptables too.
    if (sel.backend === "iptables" || explicit === undefined) deleteIptablesRules(ips);
  }
  ingressPolicyOf(conf); // upstream teardownIngressPolicy: an unknown policy fails DEL, after the rules are gone
}

async function check(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  const explicit = configuredBackend(conf);
  ingressPolicyOf(conf);
  const result = requirePrevResult(conf);
  const ips = addressesOf(result);
  await using sel = await selectBackend(explicit);
  if (sel.backend === "firewalld") {
    await checkSources(sel.conn!, conf.firewalldZone, ips);
    return;
  }
  validateAdminChain(conf.adminChainName);
  requireIptables();
  for (const family of familiesOf(ips)) {
    const missing = checkBackend(family, conf.adminChainName, ips.filter((n) => n.ip.family === family));
    if (missing) throw new Error(missing);
  }
}

// Ours (upstream has none): 50 when the backend that ADD would use cannot work here.
async function status(args: CmdArgs): Promise<void> {
  const conf = loadConf(args.stdin);
  const explicit = configuredBackend(conf);
  const policy = ingressPolicyOf(conf);
  let sel: Selected;
  try {
    sel = await selectBackend(explicit);
  } catch (e) {
    throw new CniError(ERR_PLUGIN_NOT_AVAILABLE, `firewalld backend unavailable: ${(e as Error).message}`);
  }
  await using _ = sel;
  if (sel.backend === "firewalld" && !(await isFirewalldRunning(sel.conn))) {
    throw new CniError(ERR_PLUGIN_NOT_AVAILABLE, "firewalld backend unavailable: org.fedoraproject.FirewallD1 has no owner on the system bus");
  }
  if (sel.backend === "iptables" || policy !== "open") {
    for (const family of FAMILIES) {
      try {
        readIptablesTable(family, "filter");
      } catch (e) {
        if (e instanceof NetfilterUnavailableError) throw new CniError(ERR_PLUGIN_NOT_AVAILABLE, `iptables backend unavailable: ${e.message}`);
        throw e;
      }
    }
  }
}

export const firewall: Plugin = { name: "firewall", versions: ALL_VERSIONS.slice(4), add, del, check, status };

// ---------- helpers ----------

function requirePrevResult(conf: FirewallConf): Result {
  if (!conf.prevResult) throw new CniError(ERR_INVALID_NETWORK_CONFIG, "missing prevResult from earlier plugin"); // upstream text
  return conf.prevResult;
}

/** Returns the addresses of a result, in order (they were validated when the result was parsed). */
function addressesOf(result: Result | undefined): IPNet[] {
  const out: IPNet[] = [];
  for (const ip of result?.ips ?? []) {
    const n = parseCIDR(ip.address);
    if (n) out.push(n);
  }
  return out;
}

/** Returns the families that have addresses, IPv4 first. */
function familiesOf(ips: IPNet[]): IpFamily[] {
  return FAMILIES.filter((f) => ips.some((n) => n.ip.family === f));
}

/**
 * Returns the bridge the isolation rules name: the first interface of prevResult, as upstream. Throws CniError 7 with
 * upstream's texts when there is none or its name is empty, and ours when iptables could not take the name.
 */
function bridgeOf(result: Result, policyText: string): string {
  const first = result.interfaces?.[0];
  if (!first) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `interface needs to be set for ingress policy ${goQuote(policyText)}, make sure to chain "firewall" plugin with "bridge"`); // upstream text
  }
  const name = first.name;
  if (name === "") throw new CniError(ERR_INVALID_NETWORK_CONFIG, "got empty bridge name"); // upstream text
  if (name.length > 15 || /[\s"'\\]/u.test(name) || name.startsWith("!") || name.startsWith("-")) {
    throw new CniError(ERR_INVALID_NETWORK_CONFIG, `invalid bridge name ${goQuote(name)} in prevResult.interfaces[0] for ingress policy ${goQuote(policyText)}`);
  }
  return name;
}

/** The backend a call uses, and the bus connection when it is firewalld (closed on dispose). */
interface Selected extends AsyncDisposable {
  backend: Backend;
  conn?: DBusConnection;
}

/**
 * Returns the configured backend, or firewalld when it owns its name on the system bus and iptables otherwise (no bus,
 * no owner). Throws when firewalld is configured and the bus cannot be reached (upstream: dbus.SystemBus's error).
 */
async function selectBackend(explicit: Backend | undefined): Promise<Selected> {
  const selected = (backend: Backend, conn?: DBusConnection): Selected => ({
    backend,
    conn,
    async [Symbol.asyncDispose]() {
      conn?.close();
    },
  });
  if (explicit === "iptables") return selected("iptables");
  if (explicit === "firewalld") return selected("firewalld", await DBusConnection.openSystemBus());
  let conn: DBusConnection | undefined;
  try {
    conn = await DBusConnection.openSystemBus();
  } catch {
    return selected("iptables"); // no system bus: firewalld cannot be running
  }
  if (await isFirewalldRunning(conn)) return selected("firewalld", conn);
  conn.close();
  return selected("iptables");
}

/** DEL's iptables part: one copy of each address's rules goes; missing tools mean there is nothing to remove. */
function deleteIptablesRules(ips: IPNet[]): void {
  const errors: string[] = [];
  for (const family of familiesOf(ips)) {
    try {
      deleteAddressRules(family, ips.filter((n) => n.ip.family === family));
    } catch (e) {
      if (e instanceof NetfilterUnavailableError) continue;
      errors.push((e as Error).message);
    }
  }
  if (errors.length > 0) throw new Error(errors.join("; "));
}
