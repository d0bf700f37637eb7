// test/support/bridge.ts: what the bridge tests share beyond the common support files: the result text each spec
// version prints for a bridge ADD, the ports' VLANs (`bridge -j`), the nftables ruleset and the MAC spoof check
// (`nft -j`), and a probe for bridge VLAN filtering. Everything runs inside the namespace given, never in the
// caller's own netns.
import type { DNS, Route } from "../../pkg/cni/types.ts";
import { addrsIn, type AddrState } from "./link-state.ts";
import { masqLines as masqParts } from "./masquerade.ts";
import { RUN_PREFIX, type TempNetns } from "./netns.ts";
import { execIn } from "./ns-exec.ts";
import { attachmentResult, type Ip } from "./result.ts";

// Moved to the support file of their one job; still exported here for the tests that import them from this file.
export {
  linkIn, linkNames, linksIn, routesIn, vethsIn, type AddrState, type LinkState,
} from "./link-state.ts";
export { cniNatLines, masqChain, natRules } from "./masquerade.ts";
export { execIn, ipIn, succeedsIn, sysctlIn, sysfsIn } from "./ns-exec.ts";
export { MAC, sortKeys, VETH_NAME } from "./result.ts";
export { waitFor } from "./wait.ts";

// ---------- results ----------

/** The random parts of one bridge attachment, as its ADD reported them (or as read from the kernel for 0.1/0.2). */
export interface BridgeLinks {
  bridge: string;
  bridgeMac: string;
  hostVeth: string;
  hostMac: string;
  ctrMac: string;
  /** CNI_NETNS of the ADD. */
  sandbox: string;
  ifname?: string;
}

/**
 * Returns the result object of a bridge ADD as `version` prints it, keys in the printed order, so
 * `JSON.stringify(x, null, 4)` is the exact stdout: interfaces [bridge, host veth, container] and `interface: 2` on
 * every IP where the version has them; 0.1/0.2 are IPAM's shape. `ips` empty is the layer-2 result.
 */
export function bridgeResult(version: string, links: BridgeLinks, ips: Ip[], routes: Route[] = [], dns: DNS = {}): object {
  const interfaces = [
    { name: links.bridge, mac: links.bridgeMac },
    { name: links.hostVeth, mac: links.hostMac },
    { name: links.ifname ?? "eth0", mac: links.ctrMac, sandbox: links.sandbox },
  ];
  return attachmentResult(version, interfaces, 2, ips, routes, dns);
}

// ---------- kernel state ----------

/** Returns the non-link-local addresses of one link, with an IPv4 address's broadcast. */
export function addrsOf(ns: TempNetns | string, dev: string): AddrState[] {
  return addrsIn(ns, dev, { broadcast: true });
}

/** Returns `bridge -j vlan show` of the netns: each port's VLANs (empty when the kernel keeps none). */
export function vlansIn(ns: TempNetns | string): Array<{ ifname: string; vlans: Array<{ vlan: number; flags?: string[] }> }> {
  const out = execIn(ns, ["bridge", "-j", "vlan", "show"]).trim();
  return out === "" ? [] : JSON.parse(out);
}

// ---------- netfilter ----------

/** Returns the nat lines of one attachment's masquerade of one address, in iptables-save's form (SPEC-DIGEST §0.9). */
export function masqLines(network: string, containerId: string, address: string, subnet: string): string[] {
  const m = masqParts(network, containerId, address, subnet);
  return [m.chain, m.jump, ...m.rules];
}

/** Returns every object of `nft -j list ruleset` in the netns, handles dropped (they differ between runs). */
export function nftRuleset(ns: TempNetns | string): Record<string, any>[] {
  const doc = JSON.parse(execIn(ns, ["nft", "-j", "list", "ruleset"])) as { nftables: Record<string, Record<string, unknown>>[] };
  return doc.nftables.slice(1).map((o) => {
    const [kind, body] = Object.entries(o)[0]!;
    const { handle: _h, ...rest } = body;
    return { [kind]: rest };
  });
}

/** Returns the `nft list ruleset` text of the netns. */
export function nftText(ns: TempNetns | string): string {
  return execIn(ns, ["nft", "list", "ruleset"]);
}

/** Returns the spoof-check objects of `table bridge nat` (chains and rules), or [] when there is no such table. */
export function spoofCheckObjects(ns: TempNetns | string): Record<string, any>[] {
  return nftRuleset(ns).filter((o) => {
    const body = Object.values(o)[0] as { family?: string; table?: string; name?: string };
    return body.family === "bridge" && (body.table === "nat" || body.name === "nat");
  });
}

/** The nft objects of one attachment's spoof check, in `nft -j list ruleset` order (SPEC-DIGEST §1.1.1). */
export function spoofCheckFor(id: string, hostVeth: string, mac: string): Record<string, any>[] {
  const T = { family: "bridge", table: "nat" };
  const iface = `cni-br-iface-${id}`;
  const comment = `macspoofchk-${id}`;
  return [
    { chain: { ...T, name: iface } },
    { chain: { ...T, name: `${iface}-mac` } },
    { rule: { ...T, chain: "PREROUTING", comment, expr: [{ match: { op: "==", left: { meta: { key: "iifname" } }, right: hostVeth } }, { jump: { target: iface } }] } },
    { rule: { ...T, chain: iface, comment, expr: [{ jump: { target: `${iface}-mac` } }] } },
    { rule: { ...T, chain: `${iface}-mac`, comment, expr: [{ match: { op: "==", left: { payload: { protocol: "ether", field: "saddr" } }, right: mac } }, { return: null }] } },
    { rule: { ...T, chain: `${iface}-mac`, comment, expr: [{ drop: null }] } },
  ];
}

/** What stays of `table bridge nat` once every spoof check is gone: the table and its base chain. */
export const SPOOFCHK_BASE = [
  { table: { family: "bridge", name: "nat" } },
  { chain: { family: "bridge", table: "nat", name: "PREROUTING", type: "filter", hook: "prerouting", prio: -300, policy: "accept" } },
];

// ---------- kernel capabilities and waiting ----------

let vlanProbe: { ok: boolean; reason: string } | undefined;

/**
 * Returns whether this kernel does bridge VLAN filtering, asking it: a bridge with vlan_filtering 1 in a throwaway
 * netns. `reason` is the kernel's own refusal (e.g. "Operation not supported") for skip names.
 */
export function bridgeVlanFiltering(): { ok: boolean; reason: string } {
  if (vlanProbe) return vlanProbe;
  if (process.getuid?.() !== 0 || Bun.which("ip") === null) return (vlanProbe = { ok: false, reason: "needs root and ip netns" });
  const name = `${RUN_PREFIX}-vlanprobe`;
  Bun.spawnSync(["ip", "netns", "add", name]);
  try {
    const p = Bun.spawnSync(["ip", "-n", name, "link", "add", "cnitvlanprobe", "type", "bridge", "vlan_filtering", "1"], { stdout: "pipe", stderr: "pipe" });
    const err = p.stderr.toString().trim().replace(/^RTNETLINK answers: /, "");
    vlanProbe = p.exitCode === 0 ? { ok: true, reason: "" } : { ok: false, reason: `the kernel refuses bridge vlan_filtering: ${err}` };
  } finally {
    Bun.spawnSync(["ip", "netns", "delete", name]);
  }
  return vlanProbe;
}
