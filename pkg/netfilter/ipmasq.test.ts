// pkg/netfilter/ipmasq.test.ts: the batches an ipMasq ADD, DEL and GC send, as exact text (no root). The states they
// start from are real iptables-save / nft -j output (test/golden/netfilter-*).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { CniError } from "../cni/errors.ts";
import { parseCIDR, type IPNet } from "../ip/cidr.ts";
import { iptablesRestoreText, parseIptablesSave } from "./iptables.ts";
import {
  configuredMasqBackend, iptablesSetupLines, iptablesTeardownLines, nftSetupBatch, nftTeardownBatch, selectMasqBackend,
  staleMasqChains,
} from "./ipmasq.ts";
import { parseNftTable } from "./nftables.ts";

const golden = (name: string) => readFileSync(new URL(`../../test/golden/${name}`, import.meta.url), "utf8");
const cidrs = (...s: string[]): IPNet[] => s.map((x) => parseCIDR(x)!);
const C = "CNI-2bbe0c48b91a7d1b8a6753a8";
const CMT = 'name: "test" id: "1234"';
const Q = '"name: \\"test\\" id: \\"1234\\""';
const EMPTY_NAT = parseIptablesSave("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n", "nat");

test("iptables ADD on an empty nat table: chain, ACCEPT, MASQUERADE, bare-address jump", () => {
  const lines = iptablesSetupLines(EMPTY_NAT, C, CMT, cidrs("10.1.1.2/24"));
  expect(iptablesRestoreText("nat", lines)).toBe(
    "*nat\n" +
    `:${C} - [0:0]\n` +
    `-A ${C} -d 10.1.1.0/24 -m comment --comment ${Q} -j ACCEPT\n` +
    `-A ${C} ! -d 224.0.0.0/4 -m comment --comment ${Q} -j MASQUERADE\n` +
    `-A POSTROUTING -s 10.1.1.2/32 -m comment --comment ${Q} -j ${C}\n` +
    "COMMIT\n",
  );
});

test("iptables ADD, IPv6 and two addresses of one family: upstream's per-address order, MASQUERADE once", () => {
  expect(iptablesSetupLines(EMPTY_NAT, C, CMT, cidrs("fd00::2/64", "fd01::9/128"))).toEqual([
    `:${C} - [0:0]`,
    `-A ${C} -d fd00::/64 -m comment --comment ${Q} -j ACCEPT`,
    `-A ${C} ! -d ff00::/8 -m comment --comment ${Q} -j MASQUERADE`,
    `-A POSTROUTING -s fd00::2/128 -m comment --comment ${Q} -j ${C}`,
    `-A ${C} -d fd01::9/128 -m comment --comment ${Q} -j ACCEPT`,
    `-A POSTROUTING -s fd01::9/128 -m comment --comment ${Q} -j ${C}`,
  ]);
  // a /0 address: iptables-save prints no -d for it, so neither do we
  expect(iptablesSetupLines(EMPTY_NAT, C, CMT, cidrs("10.0.0.5/0"))[1]).toBe(`-A ${C} -m comment --comment ${Q} -j ACCEPT`);
});

test("iptables ADD appends only what is missing and never redeclares an existing chain", () => {
  const state = parseIptablesSave(golden("netfilter-nat-save.txt"), "nat");
  expect(iptablesSetupLines(state, C, CMT, cidrs("10.1.1.2/24"))).toEqual([]);
  expect(iptablesSetupLines(state, C, CMT, cidrs("10.1.1.2/24", "10.2.0.7/16"))).toEqual([
    `-A ${C} -d 10.2.0.0/16 -m comment --comment ${Q} -j ACCEPT`,
    `-A POSTROUTING -s 10.2.0.7/32 -m comment --comment ${Q} -j ${C}`,
  ]);
  expect(iptablesSetupLines(state, C, CMT, [])).toEqual([]);
});

test("iptables DEL deletes both jump forms, then flushes and deletes the chain; other rules stay", () => {
  const state = parseIptablesSave(golden("netfilter-nat-save.txt"), "nat");
  expect(iptablesRestoreText("nat", iptablesTeardownLines(state, [C]))).toBe(
    "*nat\n" +
    `-D POSTROUTING -s 10.1.1.2/32 -m comment --comment ${Q} -j ${C}\n` +
    `-D POSTROUTING -s 10.1.1.0/24 -m comment --comment ${Q} -j ${C}\n` +
    `-F ${C}\n` +
    `-X ${C}\n` +
    "COMMIT\n",
  );
  expect(iptablesTeardownLines(state, ["CNI-000000000000000000000000"])).toEqual([]);
  expect(iptablesTeardownLines(EMPTY_NAT, [C])).toEqual([]);
});

test("GC finds a network's chains by their comments and keeps the valid ones", () => {
  const state = parseIptablesSave(golden("netfilter-nat-save.txt"), "nat");
  expect(staleMasqChains(state, "test", new Set())).toEqual([C]);
  expect(staleMasqChains(state, "test", new Set([C]))).toEqual([]);
  expect(staleMasqChains(state, "other", new Set())).toEqual([]);
});

const TABLE = "inet cni_plugins_masquerade";
const HEAD =
  `add table ${TABLE} { comment "Masquerading for plugins from github.com/containernetworking/plugins" ; }\n` +
  `add chain ${TABLE} masq_checks { comment "Masquerade traffic from certain IPs to any (non-multicast) IP outside their subnet" ; }\n` +
  `add chain ${TABLE} postrouting { type nat hook postrouting priority 100 ; }\n` +
  `flush chain ${TABLE} postrouting\n` +
  `add rule ${TABLE} postrouting ip daddr == 224.0.0.0/4  return\n` +
  `add rule ${TABLE} postrouting ip6 daddr == ff00::/8  return\n` +
  `add rule ${TABLE} postrouting goto masq_checks\n`;
const NCMT = '"d23676b4f2d9fe04-ebce0e3dd4dafae3, net: mynet, if: eth0, id: abc123"';

test("nftables ADD on a host without the table: knftables' batch, one rule per address", () => {
  const a = { network: "mynet", ifname: "eth0", containerId: "abc123", ips: cidrs("10.1.1.2/24", "fd00::2/64") };
  expect(nftSetupBatch(undefined, a)).toBe(
    HEAD +
    `add rule ${TABLE} masq_checks ip saddr == 10.1.1.2 ip daddr != 10.1.1.0/24 masquerade comment ${NCMT}\n` +
    `add rule ${TABLE} masq_checks ip6 saddr == fd00::2 ip6 daddr != fd00::/64 masquerade comment ${NCMT}\n`,
  );
});

test("nftables ADD again deletes this attachment's old rules first, by handle; others stay", () => {
  const state = parseNftTable(golden("netfilter-masq-table.json"), "inet", "cni_plugins_masquerade");
  const a = { network: "mynet", ifname: "eth0", containerId: "abc123", ips: cidrs("10.1.1.2/24") };
  expect(nftSetupBatch(state, a)).toBe(
    HEAD +
    `delete rule ${TABLE} masq_checks handle 6\n` +
    `delete rule ${TABLE} masq_checks handle 7\n` +
    `add rule ${TABLE} masq_checks ip saddr == 10.1.1.2 ip daddr != 10.1.1.0/24 masquerade comment ${NCMT}\n`,
  );
});

test("nftables DEL deletes only rules with this attachment's prefix; nothing to do is empty", () => {
  const state = parseNftTable(golden("netfilter-masq-table.json"), "inet", "cni_plugins_masquerade");
  expect(nftTeardownBatch(state, { network: "mynet", ifname: "eth0", containerId: "abc123" })).toBe(
    `delete rule ${TABLE} masq_checks handle 6\ndelete rule ${TABLE} masq_checks handle 7\n`,
  );
  expect(nftTeardownBatch(state, { network: "mynet", ifname: "eth1", containerId: "abc123" })).toBe("");
  expect(nftTeardownBatch(undefined, { network: "mynet", ifname: "eth0", containerId: "abc123" })).toBe("");
});

test("selectMasqBackend: explicit values pass, others fail with upstream's text", () => {
  expect(selectMasqBackend("iptables")).toBe("iptables");
  expect(selectMasqBackend("nftables")).toBe("nftables");
  expect(() => selectMasqBackend("ebtables")).toThrow('unknown ipmasq backend "ebtables"');
  expect(() => selectMasqBackend("")).toThrow('unknown ipmasq backend ""');
  expect(() => selectMasqBackend("NFTables")).toThrow('unknown ipmasq backend "NFTables"');
});

test("configuredMasqBackend: nothing when ipMasq is off, a bad name is an invalid network config (code 7)", () => {
  expect(configuredMasqBackend(false, "ebtables")).toBeUndefined();
  expect(configuredMasqBackend(true, "nftables")).toBe("nftables");
  let err: unknown;
  try {
    configuredMasqBackend(true, "ebtables");
  } catch (e) {
    err = e;
  }
  expect(err).toBeInstanceOf(CniError);
  expect({ code: (err as CniError).code, msg: (err as CniError).msg }).toEqual({ code: 7, msg: 'unknown ipmasq backend "ebtables"' });
});
