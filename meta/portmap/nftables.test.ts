// meta/portmap/nftables.test.ts: the nftables backend's batch text (as knftables writes upstream's transaction),
// and DEL and CHECK decided from `nft -j list table` output (the JSON below is what nft 1.0.6 printed for the
// rules of the batch below). No root.
import { describe, expect, test } from "bun:test";
import { parseCIDR } from "../../pkg/ip/cidr.ts";
import { parseNftTable } from "../../pkg/netfilter/nftables.ts";
import { loadConf, type BackendProbe } from "./config.ts";
import { addBatch, checkRules, containerRules, deleteBatch } from "./nftables.ts";

const PROBE: BackendProbe = { iptablesUsable: () => true, nftablesUsable: () => true };
const v4 = parseCIDR("10.0.0.2/24")!;
const v6 = parseCIDR("fd00::2/64")!;

function conf(extra: object = {}) {
  const c = {
    cniVersion: "1.0.0", name: "test", type: "portmap", backend: "nftables",
    runtimeConfig: {
      portMappings: [
        { hostPort: 8080, containerPort: 80, protocol: "tcp", hostIP: "192.168.1.1" },
        { hostPort: 8080, containerPort: 80, protocol: "sctp" },
        { hostPort: 9090, containerPort: 90, protocol: "udp", hostIP: "fd00::1" },
        { hostPort: 7070, containerPort: 70, protocol: "tcp", hostIP: "0.0.0.0" },
      ],
    },
    ...extra,
  };
  return loadConf(new TextEncoder().encode(JSON.stringify(c)), "eth0", PROBE, "");
}

const HEAD4 = [
  'add table ip cni_hostport { comment "CNI portmap plugin" ; }',
  "add chain ip cni_hostport hostports",
  "add chain ip cni_hostport hostip_hostports",
  "add chain ip cni_hostport hostports_all",
  "flush chain ip cni_hostport hostports_all",
  "add rule ip cni_hostport hostports_all jump hostip_hostports",
  "add rule ip cni_hostport hostports_all jump hostports",
  "add chain ip cni_hostport prerouting { type nat hook prerouting priority -100 ; }",
  "flush chain ip cni_hostport prerouting",
  "add rule ip cni_hostport prerouting fib daddr type local jump hostports_all",
  "add chain ip cni_hostport output { type nat hook output priority -100 ; }",
  "flush chain ip cni_hostport output",
  "add rule ip cni_hostport output fib daddr type local jump hostports_all",
  "add chain ip cni_hostport masquerading { type nat hook postrouting priority 100 ; }",
];
const RULES4 = [
  'add rule ip cni_hostport hostports ip daddr 192.168.1.1 tcp dport 8080 dnat to 10.0.0.2:80 comment "ctr1"',
  'add rule ip cni_hostport hostports sctp dport 8080 dnat to 10.0.0.2:80 comment "ctr1"',
  'add rule ip cni_hostport hostports tcp dport 7070 dnat to 10.0.0.2:70 comment "ctr1"',
  'add rule ip cni_hostport masquerading ip saddr 10.0.0.2 ip daddr 10.0.0.2 masquerade comment "ctr1"',
  'add rule ip cni_hostport masquerading ip saddr 127.0.0.1 ip daddr 10.0.0.2 masquerade comment "ctr1"',
];

// `nft -j list table ip cni_hostport` after HEAD4 + RULES4 (handles as nft gave them).
const M = (l: object, r: unknown) => ({ match: { op: "==", left: l, right: r } });
const P = (protocol: string, field: string) => ({ payload: { protocol, field } });
const FIB = M({ fib: { result: "type", flags: ["daddr"] } }, "local");
const rule = (chain: string, handle: number, expr: unknown[], comment?: string) => ({
  rule: { family: "ip", table: "cni_hostport", chain, handle, ...(comment ? { comment } : {}), expr },
});
const chain = (name: string, handle: number, base?: object) => ({ chain: { family: "ip", table: "cni_hostport", name, handle, ...base } });
const OBJECTS: any[] = [
    { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } },
    { table: { family: "ip", name: "cni_hostport", handle: 1 } },
    chain("hostports", 1), chain("hostip_hostports", 2), chain("hostports_all", 3),
    chain("prerouting", 6, { type: "nat", hook: "prerouting", prio: -100, policy: "accept" }),
    chain("output", 8, { type: "nat", hook: "output", prio: -100, policy: "accept" }),
    chain("masquerading", 10, { type: "nat", hook: "postrouting", prio: 100, policy: "accept" }),
    rule("hostports", 11, [M(P("ip", "daddr"), "192.168.1.1"), M(P("tcp", "dport"), 8080), { dnat: { addr: "10.0.0.2", port: 80 } }], "ctr1"),
    rule("hostports", 12, [M(P("sctp", "dport"), 8080), { dnat: { addr: "10.0.0.2", port: 80 } }], "ctr1"),
    rule("hostports", 13, [M(P("tcp", "dport"), 7070), { dnat: { addr: "10.0.0.2", port: 70 } }], "ctr1"),
    rule("hostports", 20, [M(P("tcp", "dport"), 6060), { dnat: { addr: "10.0.0.3", port: 60 } }], "ctr2"),
    rule("hostports_all", 4, [{ jump: { target: "hostip_hostports" } }]),
    rule("hostports_all", 5, [{ jump: { target: "hostports" } }]),
    rule("prerouting", 7, [FIB, { jump: { target: "hostports_all" } }]),
    rule("output", 9, [FIB, { jump: { target: "hostports_all" } }]),
    rule("masquerading", 14, [M(P("ip", "saddr"), "10.0.0.2"), M(P("ip", "daddr"), "10.0.0.2"), { masquerade: null }], "ctr1"),
    rule("masquerading", 15, [M(P("ip", "saddr"), "127.0.0.1"), M(P("ip", "daddr"), "10.0.0.2"), { masquerade: null }], "ctr1"),
];
const listed = (keep: (o: any) => boolean = () => true) => parseNftTable(JSON.stringify({ nftables: OBJECTS.filter(keep) }), "ip", "cni_hostport");
const state = () => listed()!;

describe("portmap nftables", () => {
  test("ADD on a fresh table: table, chains, the fib-guarded jumps, then this container's rules", () => {
    expect(addBatch(undefined, conf(), "ctr1", v4)).toBe([...HEAD4, ...RULES4].join("\n") + "\n");
  });

  test("conditions go before the local-destination guard; snat off means no masquerading chain", () => {
    const b = addBatch(undefined, conf({ conditionsV4: ["ip saddr 1.2.3.0/24", "iifname eth0"], snat: false }), "ctr1", v4);
    expect(b).toContain("add rule ip cni_hostport prerouting ip saddr 1.2.3.0/24 iifname eth0 fib daddr type local jump hostports_all\n");
    expect(b).toContain("add rule ip cni_hostport output ip saddr 1.2.3.0/24 iifname eth0 fib daddr type local jump hostports_all\n");
    expect(b).not.toContain("masquerad");
  });

  test("IPv6: ip6 table, bracketed DNAT, v6 hostIPs, one masquerade rule (masqAll ignored, as upstream v1.9.1)", () => {
    const b = addBatch(undefined, conf({ masqAll: true }), "ctr1", v6).split("\n");
    expect(b.filter((l) => l.includes(" rule ip6 cni_hostport hostports ") || l.includes("masquerading ip6"))).toEqual([
      'add rule ip6 cni_hostport hostports sctp dport 8080 dnat to [fd00::2]:80 comment "ctr1"',
      'add rule ip6 cni_hostport hostports ip6 daddr fd00::1 udp dport 9090 dnat to [fd00::2]:90 comment "ctr1"',
      'add rule ip6 cni_hostport masquerading ip6 saddr fd00::2 ip6 daddr fd00::2 masquerade comment "ctr1"',
    ]);
  });

  test("a re-ADD adds no rule that is already there", () => {
    expect(addBatch(state(), conf(), "ctr1", v4)).toBe(HEAD4.join("\n") + "\n");
  });

  test("DEL deletes this container's rules by handle, nobody else's", () => {
    expect(deleteBatch("ip", containerRules(state(), "ctr1"))).toBe(
      [11, 12, 13].map((h) => `delete rule ip cni_hostport hostports handle ${h}\n`).join("") +
        [14, 15].map((h) => `delete rule ip cni_hostport masquerading handle ${h}\n`).join(""),
    );
    expect(deleteBatch("ip", containerRules(state(), "ctr3"))).toBe("");
    expect(deleteBatch("ip", containerRules(undefined, "ctr1"))).toBe("");
  });

  test("CHECK wants every rule, and the jumps that lead to them", () => {
    expect(checkRules(state(), conf(), "ctr1", v4)).toBeUndefined();
    expect(checkRules(undefined, conf(), "ctr1", v4)).toBe("table ip cni_hostport not found");
    expect(checkRules(state(), conf(), "ctr2", v4)).toBe('missing hostport rules in "hostports" chain');
    expect(checkRules(listed((o) => o.rule?.handle !== 15), conf(), "ctr1", v4)).toBe('missing hostport rules in "masquerading" chain');
    expect(checkRules(listed((o) => o.rule?.chain !== "output"), conf(), "ctr1", v4)).toBe('chain "output" of table ip cni_hostport does not jump to "hostports_all"');
  });
});
