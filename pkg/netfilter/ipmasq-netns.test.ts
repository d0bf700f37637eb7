// pkg/netfilter/ipmasq-netns.test.ts: root. ipMasq ADD/DEL/GC against the real kernel, each test in throwaway
// namespaces (netfilter state is per netns, so the host's firewall is never touched). State is read back with
// iptables-save / ip6tables-save (rule by rule) and `nft -j list ruleset`.
import { afterAll, describe, expect, test } from "bun:test";
import { parseCIDR, type IPNet } from "../ip/cidr.ts";
import { withNetns } from "../ns/netns.ts";
import { canUseNetns, sweepNetns, tempNetns, type TempNetns } from "../../test/support/netns.ts";
import { gcIPMasq, selectMasqBackend, setupIPMasq, teardownIPMasq, type MasqAttachment, type MasqBackend } from "./ipmasq.ts";
import { chainName, nftMasqComment } from "./names.ts";

const hasTools = ["iptables-save", "ip6tables-save", "iptables-restore", "nft"].every((t) => Bun.which(t) !== null);
const skip = !canUseNetns() || !hasTools;
afterAll(() => sweepNetns());

const cidrs = (...s: string[]): IPNet[] => s.map((x) => parseCIDR(x)!);
const att = (containerId: string, ...ips: string[]): MasqAttachment => ({ network: "nfnet", ifname: "eth0", containerId, ips: cidrs(...ips) });
const inNs = <T>(ns: TempNetns, fn: () => T): T => withNetns(ns.path, fn);

function run(ns: TempNetns, argv: string[]): string {
  const p = Bun.spawnSync(["ip", "netns", "exec", ns.name, ...argv], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString()}`);
  return p.stdout.toString();
}

/** The nat table of one family as iptables-save prints it, without the `#` lines. */
function nat(ns: TempNetns, family: 4 | 6): string[] {
  return run(ns, [family === 4 ? "iptables-save" : "ip6tables-save", "-t", "nat"]).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** Every object of `nft -j list ruleset`, with handles dropped (they change on every re-add). */
function ruleset(ns: TempNetns): object[] {
  const doc = JSON.parse(run(ns, ["nft", "-j", "list", "ruleset"])) as { nftables: Record<string, Record<string, unknown>>[] };
  return doc.nftables.slice(1).map((o) => {
    const [kind, body] = Object.entries(o)[0]!;
    const { handle: _h, ...rest } = body;
    return { [kind]: rest };
  });
}

const EMPTY_NAT = [
  "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", "COMMIT",
];
const q = (cid: string) => `"name: \\"nfnet\\" id: \\"${cid}\\""`;

/**
 * The nat table an iptables ADD of these attachments (one family) leaves, in iptables-save's order: built-in chains,
 * then user chains sorted by name (declarations, and later their rules); POSTROUTING's jumps in the order added.
 */
function natWith(family: 4 | 6, ...as: MasqAttachment[]): string[] {
  const byChain = [...as].sort((x, y) => (chainName(x.network, x.containerId) < chainName(y.network, y.containerId) ? -1 : 1));
  const chains = byChain.map((a) => `:${chainName(a.network, a.containerId)} - [0:0]`);
  const jumps: string[] = [];
  const body: string[] = [];
  for (const a of as) {
    const c = chainName(a.network, a.containerId);
    for (const n of a.ips.filter((n) => n.ip.family === family)) {
      jumps.push(`-A POSTROUTING -s ${(n.ip.family === 4 ? formatV4(n) : formatV6(n)).host} -m comment --comment ${q(a.containerId)} -j ${c}`);
    }
  }
  for (const a of byChain) {
    const c = chainName(a.network, a.containerId);
    for (const [i, n] of a.ips.filter((n) => n.ip.family === family).entries()) {
      const text = n.ip.family === 4 ? formatV4(n) : formatV6(n);
      body.push(`-A ${c} -d ${text.net} -m comment --comment ${q(a.containerId)} -j ACCEPT`);
      if (i === 0) body.push(`-A ${c} ! -d ${family === 4 ? "224.0.0.0/4" : "ff00::/8"} -m comment --comment ${q(a.containerId)} -j MASQUERADE`);
    }
  }
  return [...EMPTY_NAT.slice(0, 5), ...chains, ...jumps, ...body, "COMMIT"];
}
// Only the addresses these tests use: 10.1.1.x/24 and fd00::x/64.
const formatV4 = (n: IPNet) => ({ net: "10.1.1.0/24", host: `10.1.1.${Number(n.ip.value & 0xffn)}/32` });
const formatV6 = (n: IPNet) => ({ net: "fd00::/64", host: `fd00::${(n.ip.value & 0xffffn).toString(16)}/128` });

const TABLE = { family: "inet", name: "cni_plugins_masquerade" };
const NFT_BASE = [
  { table: TABLE },
  { chain: { family: "inet", table: TABLE.name, name: "masq_checks" } },
  { chain: { family: "inet", table: TABLE.name, name: "postrouting", type: "nat", hook: "postrouting", prio: 100, policy: "accept" } },
];
const matchAddr = (op: string, proto: string, field: string, right: unknown) => ({ match: { op, left: { payload: { protocol: proto, field } }, right } });
const POSTROUTING_RULES = [
  { rule: { family: "inet", table: TABLE.name, chain: "postrouting", expr: [matchAddr("==", "ip", "daddr", { prefix: { addr: "224.0.0.0", len: 4 } }), { return: null }] } },
  { rule: { family: "inet", table: TABLE.name, chain: "postrouting", expr: [matchAddr("==", "ip6", "daddr", { prefix: { addr: "ff00::", len: 8 } }), { return: null }] } },
  { rule: { family: "inet", table: TABLE.name, chain: "postrouting", expr: [{ goto: { target: "masq_checks" } }] } },
];
function masqRule(a: MasqAttachment, addr: string) {
  const v6 = addr.includes(":");
  const [proto, net] = v6 ? ["ip6", { prefix: { addr: "fd00::", len: 64 } }] : ["ip", { prefix: { addr: "10.1.1.0", len: 24 } }];
  return {
    rule: {
      family: "inet", table: TABLE.name, chain: "masq_checks", comment: nftMasqComment(a.network, a.ifname, a.containerId),
      expr: [matchAddr("==", proto, "saddr", addr), matchAddr("!=", proto, "daddr", net), { masquerade: null }],
    },
  };
}
/** The ruleset an nftables ADD of these attachments leaves (nft lists a table's chains, then the rules chain by chain). */
function nftWith(...as: MasqAttachment[]): object[] {
  const masq = as.flatMap((a) => a.ips.map((n) => masqRule(a, n.ip.family === 4 ? formatV4(n).host.split("/")[0]! : formatV6(n).host.split("/")[0]!)));
  return [...NFT_BASE, ...masq, ...POSTROUTING_RULES];
}

const STACKS: [string, string[]][] = [["IPv4", ["10.1.1.2/24"]], ["IPv6", ["fd00::2/64"]], ["dual stack", ["10.1.1.2/24", "fd00::2/64"]]];

describe.skipIf(skip)("iptables backend", () => {
  test.each(STACKS)("ADD %s writes upstream's chain and rules, twice over without duplicates", (_name, ips) => {
    using host = tempNetns("ipt");
    const a = att("ctr-a", ...ips);
    inNs(host, () => setupIPMasq("iptables", a));
    const want4 = a.ips.some((n) => n.ip.family === 4) ? natWith(4, a) : EMPTY_NAT;
    const want6 = a.ips.some((n) => n.ip.family === 6) ? natWith(6, a) : EMPTY_NAT;
    expect(nat(host, 4)).toEqual(want4);
    expect(nat(host, 6)).toEqual(want6);
    inNs(host, () => setupIPMasq("iptables", a));
    expect(nat(host, 4)).toEqual(want4);
    expect(nat(host, 6)).toEqual(want6);
    expect(ruleset(host).some((o) => "table" in o && (o.table as { name: string }).name === TABLE.name)).toBe(false);
  });

  test("the golden shape, spelled out once", () => {
    using host = tempNetns("ipt");
    inNs(host, () => setupIPMasq("iptables", { network: "test", ifname: "eth0", containerId: "1234", ips: cidrs("10.1.1.2/24") }));
    const c = "CNI-2bbe0c48b91a7d1b8a6753a8";
    const cmt = '"name: \\"test\\" id: \\"1234\\""';
    expect(nat(host, 4)).toEqual([
      ...EMPTY_NAT.slice(0, 5),
      `:${c} - [0:0]`,
      `-A POSTROUTING -s 10.1.1.2/32 -m comment --comment ${cmt} -j ${c}`,
      `-A ${c} -d 10.1.1.0/24 -m comment --comment ${cmt} -j ACCEPT`,
      `-A ${c} ! -d 224.0.0.0/4 -m comment --comment ${cmt} -j MASQUERADE`,
      "COMMIT",
    ]);
  });

  test("DEL removes this container's chain and jumps and nothing of another container's", () => {
    using host = tempNetns("ipt");
    using only = tempNetns("ipt");
    const a = att("ctr-a", "10.1.1.2/24", "fd00::2/64");
    const b = att("ctr-b", "10.1.1.3/24", "fd00::3/64");
    inNs(host, () => { setupIPMasq("iptables", a); setupIPMasq("iptables", b); });
    expect(nat(host, 4)).toEqual(natWith(4, a, b));
    inNs(host, () => teardownIPMasq(a));
    inNs(only, () => setupIPMasq("iptables", b));
    expect(nat(host, 4)).toEqual(nat(only, 4));
    expect(nat(host, 6)).toEqual(nat(only, 6));
    expect(nat(host, 4)).toEqual(natWith(4, b));
    inNs(host, () => teardownIPMasq(a)); // twice
    inNs(host, () => teardownIPMasq(b));
    expect(nat(host, 4)).toEqual(EMPTY_NAT);
    expect(nat(host, 6)).toEqual(EMPTY_NAT);
  });

  test("DEL with no addresses (netns gone) still removes the chain and its jumps in both families", () => {
    using host = tempNetns("ipt");
    const a = att("ctr-a", "10.1.1.2/24", "fd00::2/64");
    const b = att("ctr-b", "10.1.1.3/24");
    inNs(host, () => { setupIPMasq("iptables", a); setupIPMasq("iptables", b); });
    inNs(host, () => teardownIPMasq({ ...a, ips: [] }));
    expect(nat(host, 4)).toEqual(natWith(4, b));
    expect(nat(host, 6)).toEqual(EMPTY_NAT);
  });

  test("DEL removes the old addr/prefix jump form too", () => {
    using host = tempNetns("ipt");
    const a = att("ctr-a", "10.1.1.2/24");
    const c = chainName(a.network, a.containerId);
    inNs(host, () => setupIPMasq("iptables", a));
    run(host, ["iptables", "-t", "nat", "-A", "POSTROUTING", "-s", "10.1.1.2/24", "-j", c, "-m", "comment", "--comment", 'name: "nfnet" id: "ctr-a"']);
    expect(nat(host, 4)).toContain(`-A POSTROUTING -s 10.1.1.0/24 -m comment --comment ${q("ctr-a")} -j ${c}`);
    inNs(host, () => teardownIPMasq(a));
    expect(nat(host, 4)).toEqual(EMPTY_NAT);
  });
});

describe.skipIf(skip)("nftables backend", () => {
  test.each(STACKS)("ADD %s writes upstream's table, chains and rules; ADD again replaces, not duplicates", (_name, ips) => {
    using host = tempNetns("nft");
    const a = att("ctr-a", ...ips);
    inNs(host, () => setupIPMasq("nftables", a));
    expect(ruleset(host)).toEqual(nftWith(a));
    inNs(host, () => setupIPMasq("nftables", a));
    expect(ruleset(host)).toEqual(nftWith(a));
    expect(nat(host, 4)).toEqual(EMPTY_NAT);
  });

  test("table and chain comments are upstream's", () => {
    using host = tempNetns("nft");
    inNs(host, () => setupIPMasq("nftables", att("ctr-a", "10.1.1.2/24")));
    const text = run(host, ["nft", "list", "ruleset"]);
    expect(text).toContain('comment "Masquerading for plugins from github.com/containernetworking/plugins"');
    expect(text).toContain('comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet"');
    expect(text).toContain("type nat hook postrouting priority srcnat; policy accept;");
  });

  test("DEL removes this attachment's rules only; with no addresses too", () => {
    using host = tempNetns("nft");
    const a = att("ctr-a", "10.1.1.2/24", "fd00::2/64");
    const b = att("ctr-b", "10.1.1.3/24", "fd00::3/64");
    inNs(host, () => { setupIPMasq("nftables", a); setupIPMasq("nftables", b); });
    expect(ruleset(host)).toEqual(nftWith(a, b));
    inNs(host, () => teardownIPMasq(a));
    expect(ruleset(host)).toEqual(nftWith(b));
    inNs(host, () => teardownIPMasq({ ...b, ips: [] }));
    expect(ruleset(host)).toEqual(nftWith());
  });

  test("the same container on another interface is another attachment", () => {
    using host = tempNetns("nft");
    const a = att("ctr-a", "10.1.1.2/24");
    const a1 = { ...att("ctr-a", "10.1.1.3/24"), ifname: "eth1" };
    inNs(host, () => { setupIPMasq("nftables", a); setupIPMasq("nftables", a1); });
    inNs(host, () => teardownIPMasq(a1));
    expect(ruleset(host)).toEqual(nftWith(a));
  });
});

describe.skipIf(skip)("both backends", () => {
  test("DEL cleans both, whichever made the rules", () => {
    using host = tempNetns("both");
    const a = att("ctr-a", "10.1.1.2/24", "fd00::2/64");
    inNs(host, () => { setupIPMasq("iptables", a); setupIPMasq("nftables", a); });
    inNs(host, () => teardownIPMasq({ ...a, ips: [] }));
    expect(nat(host, 4)).toEqual(EMPTY_NAT);
    expect(nat(host, 6)).toEqual(EMPTY_NAT);
    expect(ruleset(host).filter((o) => "rule" in o && (o.rule as { chain: string }).chain === "masq_checks")).toEqual([]);
  });

  test("DEL when nothing exists succeeds and creates nothing", () => {
    using host = tempNetns("none");
    inNs(host, () => teardownIPMasq(att("ctr-a", "10.1.1.2/24", "fd00::2/64")));
    inNs(host, () => teardownIPMasq(att("ctr-a")));
    expect(ruleset(host)).toEqual([]);
  });

  test("GC removes the attachments of this network that are not valid, on both backends", () => {
    using host = tempNetns("gc");
    using want = tempNetns("gc");
    const a = att("ctr-a", "10.1.1.2/24", "fd00::2/64");
    const b = att("ctr-b", "10.1.1.3/24", "fd00::3/64");
    const other = { ...att("ctr-c", "10.1.1.4/24"), network: "othernet" };
    for (const ns of [host, want]) inNs(ns, () => { for (const backend of ["iptables", "nftables"] as MasqBackend[]) setupIPMasq(backend, other); });
    inNs(host, () => { for (const backend of ["iptables", "nftables"] as MasqBackend[]) { setupIPMasq(backend, a); setupIPMasq(backend, b); } });
    inNs(want, () => { for (const backend of ["iptables", "nftables"] as MasqBackend[]) setupIPMasq(backend, b); });
    inNs(host, () => gcIPMasq("nfnet", [{ containerId: "ctr-b", ifname: "eth0" }]));
    expect(nat(host, 4)).toEqual(nat(want, 4));
    expect(nat(host, 6)).toEqual(nat(want, 6));
    const masq = (ns: TempNetns) => ruleset(ns).filter((o) => "rule" in o && (o.rule as { chain: string }).chain === "masq_checks");
    expect(masq(host)).toEqual(masq(want));
  });

  test("no ipMasqBackend means iptables where iptables works", () => {
    using host = tempNetns("sel");
    expect(inNs(host, () => selectMasqBackend(undefined))).toBe("iptables");
  });
});
