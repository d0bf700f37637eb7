// pkg/netfilter/nft-chains.test.ts: the teardown transaction's messages (no root), and in-process teardown against
// rules iptables-nft made in a throwaway netns, read back with iptables-save (root, iptables-nft).
import { describe, expect, test } from "bun:test";
import { createNetns, removeNetns, withNetns } from "../ns/netns.ts";
import { chainInKernel, encodeGetChains, encodeTeardownBatch, iptablesIsNft, teardownChainsInKernel, type KernelChains } from "./nft-chains.ts";
import { execHere } from "../../test/support/ns-exec.ts";

const view = (m: Uint8Array) => new DataView(m.buffer, m.byteOffset, m.byteLength);
const typeOf = (m: Uint8Array) => view(m).getUint16(4, true);
const flagsOf = (m: Uint8Array) => view(m).getUint16(6, true);
const seqOf = (m: Uint8Array) => view(m).getUint32(8, true);

test("GETCHAIN dump: nf_tables subsystem, NLM_F_DUMP, the family's nfgenmsg, the table name", () => {
  const m = encodeGetChains(3, 6, "nat");
  expect(typeOf(m)).toBe((10 << 8) | 4);
  expect(flagsOf(m)).toBe(0x01 | 0x300);
  expect([...m.subarray(16, 20)]).toEqual([10, 0, 0, 0]); // NFPROTO_IPV6, version 0, res_id 0
  expect(new TextDecoder().decode(m.subarray(24, 28))).toBe("nat\0");
});

describe("the teardown transaction", () => {
  const state: KernelChains = {
    chains: new Set(["POSTROUTING", "CNI-A", "CNI-B", "OTHER"]),
    jumps: [
      { chain: "POSTROUTING", handle: 7n, target: "CNI-A" },
      { chain: "POSTROUTING", handle: 8n, target: "OTHER" },
      { chain: "CNI-A", handle: 9n, target: "CNI-B" }, // inside a doomed chain: goes with the flush
      { chain: "OTHER", handle: 300n, target: "CNI-A" },
    ],
  };

  test("begin, the jumping rules by handle, flush and delete of each existing chain, end; seqs in a row", () => {
    const b = encodeTeardownBatch(40, 4, "nat", state, ["CNI-A", "CNI-MISSING"]);
    expect(b.map(typeOf)).toEqual([0x10, (10 << 8) | 8, (10 << 8) | 8, (10 << 8) | 8, (10 << 8) | 5, 0x11]);
    expect(b.map(seqOf)).toEqual([40, 41, 42, 43, 44, 45]);
    expect(b.map((m) => flagsOf(m) & 0x04)).toEqual([0, 4, 4, 4, 4, 0]); // an ACK for every request, none for begin/end
    expect([...b[0]!.subarray(16, 20)]).toEqual([0, 0, 0, 10]); // AF_UNSPEC, res_id NFNL_SUBSYS_NFTABLES (be16)
    const handle = (m: Uint8Array) => {
      const i = m.length - 8; // NFTA_RULE_HANDLE, last attribute: be64
      return view(m).getBigUint64(i, false);
    };
    expect([handle(b[1]!), handle(b[2]!)]).toEqual([7n, 300n]);
    expect(new TextDecoder().decode(b[3]!)).toContain("CNI-A\0"); // the flush names the chain and no handle
    expect(b[3]!.length).toBeLessThan(b[1]!.length);
  });

  test("nothing to remove: no transaction at all", () => {
    expect(encodeTeardownBatch(1, 4, "nat", state, ["CNI-MISSING"])).toEqual([]);
    expect(encodeTeardownBatch(1, 4, "nat", { chains: new Set(), jumps: [] }, ["CNI-A"])).toEqual([]);
  });
});

const nftIptables = process.getuid?.() === 0 && iptablesIsNft(4) && iptablesIsNft(6);

describe.skipIf(!nftIptables)("against iptables-nft in a throwaway netns (root)", () => {
  const saved = (tool: string) => execHere([tool, "-t", "nat"]).split("\n").filter((l) => l !== "" && !l.startsWith("#"));

  test("the chains and every rule jumping or going to them go; everything else stays; twice is fine", () => {
    const name = `cnid${process.pid.toString(36)}-nftch`;
    const path = createNetns(name);
    try {
      withNetns(path, () => {
        expect(chainInKernel(4, "nat", "CNI-AAA")).toBe(false); // no nat table at all yet
        execHere(["iptables-restore", "--noflush"], [
          "*nat", ":CNI-AAA - [0:0]", ":CNI-BBB - [0:0]", ":KEEP - [0:0]",
          "-A POSTROUTING -s 10.1.0.2/32 -m comment --comment \"name: \\\"n\\\" id: \\\"x\\\"\" -j CNI-AAA",
          "-A POSTROUTING -s 10.1.0.3/32 -j KEEP",
          "-A PREROUTING -p tcp -m multiport --dports 80,81 -g CNI-AAA",
          "-A CNI-AAA -d 10.1.0.0/16 -j ACCEPT", "-A CNI-AAA -j CNI-BBB", "-A CNI-BBB ! -d 224.0.0.0/4 -j ACCEPT",
          "-A KEEP -j RETURN", "-A OUTPUT -j CNI-BBB", "COMMIT", "",
        ].join("\n"));
        execHere(["ip6tables-restore", "--noflush"], ["*nat", ":CNI-AAA - [0:0]", "-A POSTROUTING -s fd00::2/128 -j CNI-AAA", "COMMIT", ""].join("\n"));
        expect(["CNI-AAA", "CNI-BBB", "KEEP", "CNI-NEW"].map((c) => chainInKernel(4, "nat", c))).toEqual([true, true, true, false]);
        expect(teardownChainsInKernel(4, "nat", ["CNI-AAA", "CNI-BBB"])).toBe(true);
        expect(chainInKernel(4, "nat", "CNI-AAA")).toBe(false);
        execHere(["iptables-restore", "--noflush"], ["*nat", ":CNI-CCC - [0:0]", "COMMIT", ""].join("\n"));
        expect(chainInKernel(4, "nat", "CNI-CCC")).toBe(true); // an empty chain is known too
        expect(teardownChainsInKernel(4, "nat", ["CNI-CCC"])).toBe(true);
        expect(saved("iptables-save")).toEqual([
          "*nat", ":PREROUTING ACCEPT [0:0]", ":INPUT ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", ":POSTROUTING ACCEPT [0:0]", ":KEEP - [0:0]",
          "-A POSTROUTING -s 10.1.0.3/32 -j KEEP", "-A KEEP -j RETURN", "COMMIT",
        ]);
        expect(saved("ip6tables-save")).toContain(":CNI-AAA - [0:0]"); // the other family is its own table
        expect(teardownChainsInKernel(6, "nat", ["CNI-AAA"])).toBe(true);
        expect(saved("ip6tables-save").filter((l) => l.includes("CNI-AAA"))).toEqual([]);
        expect(teardownChainsInKernel(4, "nat", ["CNI-AAA", "CNI-BBB"])).toBe(true); // again: nothing left to do
        expect(teardownChainsInKernel(4, "mangle", ["CNI-AAA"])).toBe(true); // a table the kernel does not have
      });
    } finally {
      removeNetns(name);
    }
  });
});
