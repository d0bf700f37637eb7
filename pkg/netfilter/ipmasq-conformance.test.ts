// pkg/netfilter/ipmasq-conformance.test.ts: root. Our iptables ipMasq rules against the ones Debian's Go ptp plugin
// (/usr/lib/cni, v1.1.1: iptables only) makes for the same network, container ID and addresses: byte-identical as
// iptables-save prints them, and each implementation's DEL removes what the other made. The Go plugin runs as a
// runtime runs it (env + stdin), inside a throwaway host netns with host-local IPAM on a temporary dataDir.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { parseCIDR, type IPNet } from "../ip/cidr.ts";
import { withNetns } from "../ns/netns.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../../test/support/netns.ts";
import { cniEnv, GO, runPlugin, type Run } from "../../test/support/run-plugin.ts";
import { setupIPMasq, teardownIPMasq, type MasqAttachment } from "./ipmasq.ts";
import { chainName } from "./names.ts";

const hasTools = ["iptables-save", "ip6tables-save", "iptables-restore", "ip6tables-restore", "nft"].every((t) => Bun.which(t) !== null);
const skip = !canUseNetns() || !hasTools || !existsSync(`${GO}/ptp`) || !existsSync(`${GO}/host-local`);

const dataDir = mkdtempSync(`/tmp/${RUN_PREFIX}-ipam-`);
afterAll(() => {
  sweepNetns();
  rmSync(dataDir, { recursive: true, force: true });
});

const NETWORK = "nfconf";
const ptpConf = (subnets: string[]) => ({
  cniVersion: "0.4.0",
  name: NETWORK,
  type: "ptp",
  ipMasq: true,
  ipam: { type: "host-local", dataDir, ranges: subnets.map((subnet) => [{ subnet }]) },
});

function goPtp(verb: string, host: TempNetns, ctr: TempNetns, containerId: string, subnets: string[]): Run {
  return runPlugin("ptp", { dir: GO, hostNetns: host.name, env: cniEnv(verb, ctr.path, "eth0", containerId), stdin: ptpConf(subnets) });
}

/** Runs Go ptp ADD and returns the attachment it reports (addresses with prefixes, as the plugins pass them on). */
function goAdd(host: TempNetns, ctr: TempNetns, containerId: string, subnets: string[]): MasqAttachment {
  const add = goPtp("ADD", host, ctr, containerId, subnets);
  expect(add.stderr).toBe("");
  expect(add.exitCode).toBe(0);
  const ips: IPNet[] = (add.json.ips as { address: string }[]).map((i) => parseCIDR(i.address)!);
  expect(ips).toHaveLength(subnets.length);
  return { network: NETWORK, ifname: "eth0", containerId, ips };
}

function nat(ns: TempNetns, family: 4 | 6): string[] {
  const p = Bun.spawnSync(["ip", "netns", "exec", ns.name, family === 4 ? "iptables-save" : "ip6tables-save", "-t", "nat"], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(p.stderr.toString());
  return p.stdout.toString().split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

const EMPTY_NAT = [
  "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", "COMMIT",
];
const DUAL = ["10.88.1.0/24", "fd88:1::/64"];

describe.skipIf(skip)("ipMasq vs Go ptp (iptables)", () => {
  test("our rules are byte-identical to Go's; our DEL removes Go's; Go's DEL removes ours", () => {
    using goHost = tempNetns("gohost");
    using ourHost = tempNetns("ourhost");
    using ctr = tempNetns("goctr");
    const a = goAdd(goHost, ctr, `${RUN_PREFIX}-c1`, DUAL);
    const go4 = nat(goHost, 4);
    const go6 = nat(goHost, 6);
    expect(go4.length).toBe(EMPTY_NAT.length + 4); // the chain, its ACCEPT and MASQUERADE rules, the POSTROUTING jump
    expect(go6.length).toBe(EMPTY_NAT.length + 4);

    // The same attachment in a clean netns: the same text, line for line.
    withNetns(ourHost.path, () => setupIPMasq("iptables", a));
    expect(nat(ourHost, 4)).toEqual(go4);
    expect(nat(ourHost, 6)).toEqual(go6);

    // Our DEL (with the addresses, as ptp passes them) removes what Go made.
    withNetns(goHost.path, () => teardownIPMasq(a));
    expect(nat(goHost, 4)).toEqual(EMPTY_NAT);
    expect(nat(goHost, 6)).toEqual(EMPTY_NAT);

    // Ours in Go's place, then Go's DEL (it reads the addresses off the container link) removes ours. POSTROUTING is
    // in the kernel now, so with iptables-nft these rules go in one nf_tables transaction, no iptables-restore
    // (nft-iptables-rules.ts): the same text, and Go's DEL finds them.
    withNetns(goHost.path, () => setupIPMasq("iptables", a));
    expect(nat(goHost, 4)).toEqual(go4);
    expect(nat(goHost, 6)).toEqual(go6);
    const del = goPtp("DEL", goHost, ctr, a.containerId, DUAL);
    expect(del.stderr).toBe("");
    expect(del.exitCode).toBe(0);
    expect(nat(goHost, 4)).toEqual(EMPTY_NAT);
    expect(nat(goHost, 6)).toEqual(EMPTY_NAT);
  });

  test("our DEL with no addresses (netns gone) removes Go's chains and jumps, and only that container's", () => {
    using goHost = tempNetns("gohost");
    using ctr1 = tempNetns("goctr");
    using ctr2 = tempNetns("goctr");
    const a = goAdd(goHost, ctr1, `${RUN_PREFIX}-c2`, DUAL);
    const b = goAdd(goHost, ctr2, `${RUN_PREFIX}-c3`, DUAL);
    const both4 = nat(goHost, 4);
    const both6 = nat(goHost, 6);
    withNetns(goHost.path, () => teardownIPMasq({ ...a, ips: [] }));
    // Exactly the lines naming a's chain are gone; b's are untouched.
    const aChain = chainName(NETWORK, a.containerId);
    expect(both4.filter((l) => l.includes(aChain))).toHaveLength(4);
    expect(nat(goHost, 4)).toEqual(both4.filter((l) => !l.includes(aChain)));
    expect(nat(goHost, 6)).toEqual(both6.filter((l) => !l.includes(aChain)));

    // upstream quirk (Go v1.1.1 on iptables 1.8.9 nf_tables): Go's DEL fails once when the chain is already gone
    // while the container link still has its addresses ("Chain '…' does not exist" is not go-iptables' not-exist
    // text); it fails the same way after a plain `iptables -X`. It deletes the link first, so the retry succeeds.
    const delA = goPtp("DEL", goHost, ctr1, a.containerId, DUAL);
    if (delA.exitCode !== 0) expect(delA.stdout).toContain(`Chain '${aChain}' does not exist`);
    expect(goPtp("DEL", goHost, ctr1, a.containerId, DUAL).exitCode).toBe(0);
    expect(goPtp("DEL", goHost, ctr2, b.containerId, DUAL).exitCode).toBe(0);
    expect(nat(goHost, 4)).toEqual(EMPTY_NAT);
    expect(nat(goHost, 6)).toEqual(EMPTY_NAT);
  });
});
