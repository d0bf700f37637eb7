// meta/portmap/gc.test.ts: what GC decides is this network's and stale, from iptables-save text and `nft -j` output
// (the shapes nft 1.0.6 prints for portmap's rules) and the records; no root.
import { describe, expect, test } from "bun:test";
import { parseIptablesSave, saveQuote } from "../../pkg/netfilter/iptables.ts";
import { parseNftTable, type NftTable } from "../../pkg/netfilter/nftables.ts";
import { gcBatch, ownAddresses, ruleAddress, staleIptablesChains } from "./gc.ts";
import { dnatChainName, dnatComment, oldSnatChainName } from "./iptables.ts";
import type { NftFamily } from "./nftables.ts";

/** A nat table holding, per [network, containerID], the chain and its jump as the ADD leaves them. */
function nat(containers: [string, string][], extra: string[] = [], chains: string[] = []): ReturnType<typeof parseIptablesSave> {
  const lines = ["*nat", ":PREROUTING ACCEPT [0:0]", ":CNI-HOSTPORT-DNAT - [0:0]"];
  for (const [net, id] of containers) lines.push(`:${dnatChainName(net, id)} - [0:0]`);
  for (const c of chains) lines.push(`:${c} - [0:0]`);
  lines.push("-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT");
  for (const [net, id] of containers) {
    const d = dnatChainName(net, id);
    lines.push(`-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment ${saveQuote(dnatComment(net, id))} -m multiport --dports 8080 -j ${d}`);
    lines.push(`-A ${d} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80`);
  }
  lines.push(...extra, "COMMIT");
  return parseIptablesSave(lines.join("\n") + "\n", "nat");
}

describe("portmap GC, iptables", () => {
  test("stale: this network's chains whose container is not kept; other networks' and kept ones stay", () => {
    const state = nat([["A", "c1"], ["A", "c2"], ["B", "c2"], ["B", "c3"], ["AB", "c4"]]);
    expect(staleIptablesChains(state, "A", new Set(["c1"]))).toEqual([dnatChainName("A", "c2")]);
    expect(staleIptablesChains(state, "A", new Set(["c1", "c2"]))).toEqual([]);
    expect(staleIptablesChains(state, "B", new Set())).toEqual([dnatChainName("B", "c2"), dnatChainName("B", "c3")]);
    // "A" is a prefix of "AB", but the comment quotes the name whole
    expect(staleIptablesChains(state, "AB", new Set())).toEqual([dnatChainName("AB", "c4")]);
  });

  test("a comment that does not match its chain, or a jump elsewhere than CNI-HOSTPORT-DNAT, proves nothing", () => {
    const d = dnatChainName("A", "c9");
    const forged = [
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment ${saveQuote(dnatComment("A", "c8"))} -m multiport --dports 1 -j ${d}`,
      `-A PREROUTING -p tcp -m comment --comment ${saveQuote(dnatComment("A", "c9"))} -j ${d}`,
    ];
    expect(staleIptablesChains(nat([], forged, [d]), "A", new Set())).toEqual([]);
  });

  test("a comment cut at 255 bytes still names the network: the chain goes unless a kept container's", () => {
    const net = "n".repeat(120);
    const id = "c".repeat(130);
    expect(dnatComment(net, id).endsWith("...")).toBe(true);
    const state = nat([[net, id]]);
    expect(staleIptablesChains(state, net, new Set())).toEqual([dnatChainName(net, id)]);
    expect(staleIptablesChains(state, net, new Set([id]))).toEqual([]);
    expect(staleIptablesChains(state, "n".repeat(119), new Set())).toEqual([]);
  });

  test("the legacy CNI-SN chain of a stale container goes with it", () => {
    const sn = oldSnatChainName("A", "c2");
    const state = nat([["A", "c2"]], [], [sn]);
    expect(staleIptablesChains(state, "A", new Set())).toEqual([dnatChainName("A", "c2"), sn]);
  });
});

// `nft -j list table ip|ip6 cni_hostport` objects for containers c1 (10.0.1.2 on A, 10.0.2.2 on B: the same ID on two
// networks) and c3 (10.0.3.2), with the masquerade rules snat adds; c9 has rules nobody recorded (Go's).
const M = (l: object, r: unknown) => ({ match: { op: "==", left: l, right: r } });
const P = (protocol: string, field: string) => ({ payload: { protocol, field } });
let handle = 100;
function rulesOf(fam: NftFamily, id: string, ip: string, port: number): object[] {
  const r = (chain: string, expr: unknown[]) => ({ rule: { family: fam, table: "cni_hostport", chain, handle: handle++, comment: id, expr } });
  const out = [
    r("hostports", [M(P("tcp", "dport"), port), { dnat: { addr: ip, port: 80 } }]),
    r("hostports", [M(P(fam, "daddr"), fam === "ip" ? "192.0.2.1" : "fd00::1"), M(P("udp", "dport"), port), { dnat: { addr: ip, port: 53 } }]),
    r("masquerading", [M(P(fam, "saddr"), ip), M(P(fam, "daddr"), ip), { masquerade: null }]),
  ];
  if (fam === "ip") out.push(r("masquerading", [M(P(fam, "saddr"), "127.0.0.1"), M(P(fam, "daddr"), ip), { masquerade: null }]));
  return out;
}
function table(fam: NftFamily, rules: object[]): NftTable {
  const objects = [
    { metainfo: { version: "1.0.6", json_schema_version: 1 } },
    { table: { family: fam, name: "cni_hostport", handle: 1 } },
    ...["hostports", "hostip_hostports", "hostports_all", "masquerading"].map((name, i) => ({ chain: { family: fam, table: "cni_hostport", name, handle: i + 2 } })),
    { rule: { family: fam, table: "cni_hostport", chain: "hostports_all", handle: 9, expr: [{ jump: { target: "hostports" } }] } },
    ...rules,
  ];
  return parseNftTable(JSON.stringify({ nftables: objects }), fam, "cni_hostport")!;
}
const IP4 = table("ip", [...rulesOf("ip", "c1", "10.0.1.2", 8080), ...rulesOf("ip", "c1", "10.0.2.2", 8081), ...rulesOf("ip", "c3", "10.0.3.2", 8082), ...rulesOf("ip", "c9", "10.0.9.2", 8089)]);
const IP6 = table("ip6", rulesOf("ip6", "c1", "fd00:1::2", 8080));
const TABLES = new Map<NftFamily, NftTable | undefined>([["ip", IP4], ["ip6", IP6]]);
const handlesOf = (batch: string) => [...batch.matchAll(/^delete rule (ip6?) cni_hostport (\w+) handle (\d+)$/gm)].map((m) => `${m[1]} ${m[2]} ${m[3]}`);
const handlesFor = (t: NftTable, id: string, ip: string) => t.rules.filter((r) => r.comment === id && ruleAddress(r) === ip).map((r) => `${t.family} ${r.chain} ${r.handle}`);

describe("portmap GC, nftables", () => {
  test("the container address of each portmap rule: DNAT target, masquerade destination (not the hostIP match)", () => {
    expect(IP4.rules.filter((r) => r.comment === "c3").map(ruleAddress)).toEqual(["10.0.3.2", "10.0.3.2", "10.0.3.2", "10.0.3.2"]);
    expect(IP6.rules.filter((r) => r.comment === "c1").map(ruleAddress)).toEqual(["fd00:1::2", "fd00:1::2", "fd00:1::2"]);
    expect(ruleAddress(IP4.rules.find((r) => r.chain === "hostports_all")!)).toBeUndefined();
  });

  test("a stale record's rules are its container's that point at its addresses, in both families", () => {
    const batch = gcBatch(TABLES, "c1", ["10.0.1.2", "fd00:1::2"]);
    expect(handlesOf(batch)).toEqual([...handlesFor(IP4, "c1", "10.0.1.2"), ...handlesFor(IP6, "c1", "fd00:1::2")]);
    expect(handlesOf(batch).length).toBe(7);
    // the same ID on network B (10.0.2.2) and the unrecorded c9 stay
    expect(batch).not.toMatch(new RegExp(`handle (${[...handlesFor(IP4, "c1", "10.0.2.2"), ...handlesFor(IP4, "c9", "10.0.9.2")].map((h) => h.split(" ")[2]).join("|")})\n`));
    expect(gcBatch(TABLES, "c1", [])).toBe("");
    expect(gcBatch(new Map([["ip", undefined], ["ip6", undefined]]), "c1", ["10.0.1.2"])).toBe("");
  });

  test("addresses another network's record of the same container also names are not ours to delete", () => {
    const rec = (network: string, addresses: string[]) => ({ network, containerID: "c1", addresses });
    const entry = { containerID: "c1", record: rec("A", ["10.0.1.2", "fd00:1::2"]) };
    expect(ownAddresses(entry, [])).toEqual(["10.0.1.2", "fd00:1::2"]);
    expect(ownAddresses(entry, [rec("B", ["10.0.2.2"])])).toEqual(["10.0.1.2", "fd00:1::2"]);
    expect(ownAddresses(entry, [rec("B", ["10.0.1.2"])])).toEqual(["fd00:1::2"]);
    expect(ownAddresses(entry, [undefined])).toEqual([]); // unreadable: it may claim anything
    expect(ownAddresses({ containerID: "c1", record: undefined }, [])).toEqual([]);
  });
});
