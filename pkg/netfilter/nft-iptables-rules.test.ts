// pkg/netfilter/nft-iptables-rules.test.ts: iptables rules as nf_tables expressions. No root: which shapes are known
// (every rule bridge/ptp ipMasq and portmap plan), which are not. Root with iptables-nft: the rules the planners
// write, added by iptables-restore in one throwaway netns and in-process in another, are the same bytes in the
// kernel and print the same with iptables-save; and portmap plans the same lines from the kernel as from iptables-save.
import { describe, expect, test } from "bun:test";
import { parseCIDR } from "../ip/cidr.ts";
import { createNetns, removeNetns, withNetns } from "../ns/netns.ts";
import { loadConf, type BackendProbe } from "../../meta/portmap/config.ts";
import { chainsForAdd, dnatChainName, kernelPlanState, setupLines } from "../../meta/portmap/iptables.ts";
import { appendLine, iptablesRuleExprs, sameExprs } from "./iptables-nft-exprs.ts";
import { readIptablesTable, type IpFamily, type IptablesTable } from "./iptables.ts";
import { iptablesSetupLines } from "./ipmasq.ts";
import { chainName, ipMasqComment } from "./names.ts";
import { iptablesIsNft } from "./nft-chains.ts";
import { applyIptablesLinesInKernel, chainRulesInKernel, decodeExprs, ruleInKernel } from "./nft-iptables-rules.ts";
import { execHere } from "../../test/support/ns-exec.ts";

const PROBE: BackendProbe = { iptablesUsable: () => true, nftablesUsable: () => true };
const empty = (): IptablesTable => ({ name: "nat", chains: new Map(), rules: [] });
const NET = "bench";
const MAPS = [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 8081, containerPort: 81, protocol: "udp" },
  { hostPort: 8083, containerPort: 83, protocol: "tcp", hostIP: "192.168.0.2" },
  { hostPort: 8085, containerPort: 85, protocol: "tcp", hostIP: "2001:db8:a::1" },
];
const ADDR = { 4: parseCIDR("10.22.0.5/16")!, 6: parseCIDR("fd00:22::5/64")! };

function portmapConf(extra: object = {}) {
  const c = { cniVersion: "1.0.0", name: NET, type: "portmap", runtimeConfig: { portMappings: MAPS }, ...extra };
  return loadConf(new TextEncoder().encode(JSON.stringify(c)), "eth0", PROBE, "");
}

// A first ADD's lines: bridge's masquerade chain and jump, portmap's shared and container chains (its one `-I` as
// `-A`, which the in-process path does not do: a first ADD runs the tools).
function plannedLines(family: IpFamily, cid: string): string[] {
  const masq = iptablesSetupLines(empty(), chainName(NET, cid), ipMasqComment(NET, cid), [ADDR[family]]);
  const pm = setupLines(empty(), family, chainsForAdd(portmapConf(), cid, ADDR[family])).map((l) => l.replace(/^-I (\S+) 1 /, "-A $1 "));
  return [...masq, ...pm];
}

describe("known shapes (no root)", () => {
  test.each([4, 6] as const)("IPv%d: every rule bridge ipMasq and portmap plan has its expressions", (family) => {
    const rules = plannedLines(family, "c1").map(appendLine).filter((r) => r !== undefined);
    expect(rules.length).toBeGreaterThan(8);
    for (const [, args] of rules) expect([args, iptablesRuleExprs(family, args) !== undefined]).toEqual([args, true]);
  });

  test("anything else is unknown, so the tools write it", () => {
    const unknown = [
      ["-j", "LOG"], ["-m", "conntrack", "--ctstate", "NEW", "-j", "ACCEPT"], ["-p", "sctp", "--dport", "80", "-j", "CNI-X"],
      ["!", "-p", "tcp", "-j", "ACCEPT"], ["-g", "CNI-X"], ["-j", "KUBE-MARK-MASQ"], ["-p", "tcp", "-m", "multiport", "--dports", "80:90", "-j", "CNI-X"],
      ["-m", "comment", "--comment", "x".repeat(256), "-j", "ACCEPT"], ["-j", "DNAT"], ["-s", "fd00::1", "-j", "ACCEPT"],
      ["!", "-s", "0.0.0.0/0", "-j", "ACCEPT"], ["-d", "10.0.0.0/8"], ["-j", "ACCEPT", "-j", "ACCEPT"], ["-m", "mark", "--mark", "0x1", "-j", "ACCEPT"],
    ];
    for (const args of unknown) expect([args, iptablesRuleExprs(4, args)]).toEqual([args, undefined]);
  });

  test("a /16 compares two bytes; a prefix inside a byte masks the whole address; /0 compares nothing", () => {
    const names = (args: string[]) => iptablesRuleExprs(4, args)!.map((e) => e.name);
    expect(names(["-d", "10.22.0.0/16", "-j", "ACCEPT"])).toEqual(["payload", "cmp", "counter", "immediate"]);
    expect(iptablesRuleExprs(4, ["-d", "10.22.0.0/16", "-j", "ACCEPT"])![0]!.data[3]).toEqual([4, Uint8Array.of(0, 0, 0, 2)]);
    expect(names(["!", "-d", "224.0.0.0/4", "-j", "MASQUERADE"])).toEqual(["payload", "bitwise", "cmp", "counter", "target"]);
    expect(names(["-s", "0.0.0.0/0", "-j", "ACCEPT"])).toEqual(["counter", "immediate"]);
    expect(sameExprs(iptablesRuleExprs(4, ["-d", "10.22.0.9/16", "-j", "ACCEPT"])!, iptablesRuleExprs(4, ["-d", "10.22.0.0/16", "-j", "ACCEPT"])!)).toBe(true);
  });
});

const nftIptables = process.getuid?.() === 0 && iptablesIsNft(4) && iptablesIsNft(6);

describe.skipIf(!nftIptables)("against iptables-restore in throwaway netns (root, iptables-nft)", () => {
  const tools = (f: IpFamily) => (f === 4 ? "iptables" : "ip6tables");
  const saved = (f: IpFamily) => execHere([`${tools(f)}-save`, "-t", "nat"]).split("\n").filter((l) => !l.startsWith("#"));
  // iptables-nft makes a base chain only when a rule first goes into it; in-process appends need them there.
  const baseChains = (f: IpFamily) => {
    for (const c of ["PREROUTING", "OUTPUT", "POSTROUTING"]) {
      execHere([tools(f), "-t", "nat", "-A", c, "-j", "ACCEPT"]);
      execHere([tools(f), "-t", "nat", "-D", c, "-j", "ACCEPT"]);
    }
  };
  const withTwoNetns = (fn: (byTool: string, inProcess: string) => void) => {
    const names = ["tool", "kern"].map((k) => `cnid${process.pid.toString(36)}-nftr${k}`);
    const [a, b] = names.map((n) => createNetns(n));
    try {
      fn(a!, b!);
    } finally {
      for (const n of names) removeNetns(n);
    }
  };

  test.each([4, 6] as const)("IPv%d: the same bytes in the kernel and the same iptables-save text as iptables-restore's", (family) => {
    withTwoNetns((byTool, inProcess) => {
      const lines = plannedLines(family, "c1");
      withNetns(inProcess, () => {
        expect(applyIptablesLinesInKernel(family, "nat", lines)).toBe(false); // no base chain yet: nothing done
        expect(saved(family).filter((l) => l.startsWith(":CNI") || l.startsWith("-A"))).toEqual([]);
      });
      for (const ns of [byTool, inProcess]) withNetns(ns, () => baseChains(family));
      withNetns(byTool, () => execHere([`${tools(family)}-restore`, "--noflush", "-w"], ["*nat", ...lines, "COMMIT", ""].join("\n")));
      withNetns(inProcess, () => expect(applyIptablesLinesInKernel(family, "nat", lines)).toBe(true));
      expect(withNetns(inProcess, () => saved(family))).toEqual(withNetns(byTool, () => saved(family)));
      const rules = lines.map(appendLine).filter((r) => r !== undefined);
      for (const chain of new Set(rules.map(([c]) => c))) {
        const [a, b] = [byTool, inProcess].map((ns) => withNetns(ns, () => chainRulesInKernel(family, "nat", chain))!);
        expect([chain, a.length]).toEqual([chain, b.length]);
        a.forEach((r, i) => expect([chain, i, sameExprs(decodeExprs(r), decodeExprs(b[i]!))]).toEqual([chain, i, true]));
        for (const [c, args] of rules.filter(([c]) => c === chain)) expect([c, args, ruleInKernel(family, a, args)]).toEqual([c, args, true]);
      }
      // Chains that exist already: the kernel refuses, nothing changes, and the tools decide.
      withNetns(inProcess, () => {
        const before = saved(family);
        expect(applyIptablesLinesInKernel(family, "nat", lines)).toBe(false);
        expect(saved(family)).toEqual(before);
      });
    });
  });

  test.each([4, 6] as const)("IPv%d: portmap plans a second container's lines alike from the kernel and from iptables-save", (family) => {
    withTwoNetns((ns) => {
      withNetns(ns, () => {
        const conf = portmapConf();
        const chains1 = chainsForAdd(conf, "c1", ADDR[family]);
        expect(kernelPlanState(family, chains1, dnatChainName(NET, "c1"))).toBeUndefined(); // nothing shared there yet
        execHere([`${tools(family)}-restore`, "--noflush", "-w"], ["*nat", ...setupLines(empty(), family, chains1), "COMMIT", ""].join("\n"));
        const chains2 = chainsForAdd(conf, "c2", ADDR[family]);
        const fromKernel = kernelPlanState(family, chains2, dnatChainName(NET, "c2"));
        expect(fromKernel).toBeDefined();
        const lines = setupLines(fromKernel!, family, chains2);
        expect(lines).toEqual(setupLines(readIptablesTable(family, "nat"), family, chains2));
        expect(lines.filter((l) => !l.includes(dnatChainName(NET, "c2")))).toEqual([]); // nothing shared again
        expect(kernelPlanState(family, chains1, dnatChainName(NET, "c1"))).toBeUndefined(); // its chain is there
        // A shared rule gone (here: the masquerade jump): the kernel cannot vouch for the plan; iptables-save it is.
        execHere([tools(family), "-t", "nat", "-D", "POSTROUTING", "-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"]);
        expect(kernelPlanState(family, chains2, dnatChainName(NET, "c2"))).toBeUndefined();
      });
    });
  });
});
