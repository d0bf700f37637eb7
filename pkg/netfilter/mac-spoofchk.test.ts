// pkg/netfilter/mac-spoofchk.test.ts: the spoof check's nft JSON (no root): names, rule expressions and comments as
// upstream's go-nft config writes them, and a teardown built from a listed table; then the real nft in a throwaway
// netns (root only): setup twice, the ruleset read back, teardown twice, another attachment's rules untouched.
import { afterAll, describe, expect, test } from "bun:test";
import { canUseNetns, sweepNetns, tempNetns, type TempNetns } from "../../test/support/netns.ts";
import { withNetns } from "../ns/netns.ts";
import {
  setupSpoofCheck, spoofCheckChains, spoofCheckComment, spoofCheckId, spoofCheckSetupDoc, spoofCheckTeardownDoc,
  teardownSpoofCheck,
} from "./mac-spoofchk.ts";
import { parseNftTable } from "./nftables.ts";

const SC = { iface: "veth1234abcd", mac: "02:00:00:00:00:01", id: spoofCheckId("ctr1", "eth0") };
const T = { family: "bridge", table: "nat" };
const COMMENT = "macspoofchk-ctr1-eth0";

test("names: the ID is <containerID>-<ifname>, chains cni-br-iface-<id>[-mac], comment macspoofchk-<id>", () => {
  expect(SC.id).toBe("ctr1-eth0");
  expect(spoofCheckChains(SC.id)).toEqual({ iface: "cni-br-iface-ctr1-eth0", mac: "cni-br-iface-ctr1-eth0-mac" });
  expect(spoofCheckComment(SC.id)).toBe(COMMENT);
});

test("setup: table, base chain, per-attachment chains flushed, then the four rules (one transaction)", () => {
  expect(JSON.parse(spoofCheckSetupDoc(SC))).toEqual({
    nftables: [
      { add: { table: { family: "bridge", name: "nat" } } },
      { add: { chain: { ...T, name: "PREROUTING", type: "filter", hook: "prerouting", prio: -300, policy: "accept" } } },
      { add: { chain: { ...T, name: "cni-br-iface-ctr1-eth0" } } },
      { add: { chain: { ...T, name: "cni-br-iface-ctr1-eth0-mac" } } },
      { flush: { chain: { ...T, name: "cni-br-iface-ctr1-eth0" } } },
      { flush: { chain: { ...T, name: "cni-br-iface-ctr1-eth0-mac" } } },
      {
        add: {
          rule: {
            ...T, chain: "PREROUTING", comment: COMMENT,
            expr: [{ match: { op: "==", left: { meta: { key: "iifname" } }, right: "veth1234abcd" } }, { jump: { target: "cni-br-iface-ctr1-eth0" } }],
          },
        },
      },
      { add: { rule: { ...T, chain: "cni-br-iface-ctr1-eth0", comment: COMMENT, expr: [{ jump: { target: "cni-br-iface-ctr1-eth0-mac" } }] } } },
      {
        add: {
          rule: {
            ...T, chain: "cni-br-iface-ctr1-eth0-mac", comment: COMMENT,
            expr: [{ match: { op: "==", left: { payload: { protocol: "ether", field: "saddr" } }, right: "02:00:00:00:00:01" } }, { return: null }],
          },
        },
      },
      { add: { rule: { ...T, chain: "cni-br-iface-ctr1-eth0-mac", comment: COMMENT, expr: [{ drop: null }] } } },
    ],
  });
});

/** A listed `table bridge nat` holding two attachments' spoof checks (what `nft -j list table bridge nat` prints). */
const LISTED = JSON.stringify({
  nftables: [
    { metainfo: { version: "1.0.6", release_name: "Lester Gooch #5", json_schema_version: 1 } },
    { table: { family: "bridge", name: "nat", handle: 1 } },
    { chain: { ...T, name: "PREROUTING", handle: 1, type: "filter", hook: "prerouting", prio: -300, policy: "accept" } },
    { chain: { ...T, name: "cni-br-iface-ctr1-eth0", handle: 2 } },
    { chain: { ...T, name: "cni-br-iface-ctr1-eth0-mac", handle: 3 } },
    { chain: { ...T, name: "cni-br-iface-ctr2-eth0", handle: 8 } },
    { rule: { ...T, chain: "PREROUTING", handle: 4, comment: COMMENT, expr: [] } },
    { rule: { ...T, chain: "PREROUTING", handle: 9, comment: "macspoofchk-ctr2-eth0", expr: [] } },
    { rule: { ...T, chain: "PREROUTING", handle: 10, expr: [] } },
    { rule: { ...T, chain: "cni-br-iface-ctr1-eth0", handle: 5, comment: COMMENT, expr: [] } },
  ],
});

test("teardown: this ID's PREROUTING rules by handle, then its chains that exist; nothing when nothing is left", () => {
  const state = parseNftTable(LISTED, "bridge", "nat");
  expect(JSON.parse(spoofCheckTeardownDoc(state, "ctr1-eth0"))).toEqual({
    nftables: [
      { delete: { rule: { ...T, chain: "PREROUTING", handle: 4 } } },
      { delete: { chain: { ...T, name: "cni-br-iface-ctr1-eth0" } } },
      { delete: { chain: { ...T, name: "cni-br-iface-ctr1-eth0-mac" } } },
    ],
  });
  // ctr2's mac chain is already gone: only what exists is deleted, so the transaction cannot fail on it.
  expect(JSON.parse(spoofCheckTeardownDoc(state, "ctr2-eth0"))).toEqual({
    nftables: [{ delete: { rule: { ...T, chain: "PREROUTING", handle: 9 } } }, { delete: { chain: { ...T, name: "cni-br-iface-ctr2-eth0" } } }],
  });
  expect(spoofCheckTeardownDoc(state, "ctr3-eth0")).toBe("");
  expect(spoofCheckTeardownDoc(undefined, "ctr1-eth0")).toBe("");
});

afterAll(() => sweepNetns());

const EMPTY = "table bridge nat {\n\tchain PREROUTING {\n\t\ttype filter hook prerouting priority dstnat; policy accept;\n\t}\n}\n";

function ruleset(ns: TempNetns): string {
  const p = Bun.spawnSync(["ip", "netns", "exec", ns.name, "nft", "list", "ruleset"], { stdout: "pipe", stderr: "pipe" });
  return p.stdout.toString();
}

describe.skipIf(!canUseNetns() || Bun.which("nft") === null)("nft (root, throwaway netns)", () => {
  test("setup makes upstream's ruleset; teardown leaves the table, base chain and other attachments", () => {
    using ns = tempNetns("spoofchk");
    withNetns(ns.path, () => {
      setupSpoofCheck(SC);
      setupSpoofCheck({ iface: "veth2", mac: "02:00:00:00:00:02", id: "ctr2-eth0" });
    });
    expect(ruleset(ns)).toBe(`table bridge nat {
\tchain PREROUTING {
\t\ttype filter hook prerouting priority dstnat; policy accept;
\t\tiifname "veth1234abcd" jump cni-br-iface-ctr1-eth0 comment "macspoofchk-ctr1-eth0"
\t\tiifname "veth2" jump cni-br-iface-ctr2-eth0 comment "macspoofchk-ctr2-eth0"
\t}

\tchain cni-br-iface-ctr1-eth0 {
\t\tjump cni-br-iface-ctr1-eth0-mac comment "macspoofchk-ctr1-eth0"
\t}

\tchain cni-br-iface-ctr1-eth0-mac {
\t\tether saddr 02:00:00:00:00:01 return comment "macspoofchk-ctr1-eth0"
\t\tdrop comment "macspoofchk-ctr1-eth0"
\t}

\tchain cni-br-iface-ctr2-eth0 {
\t\tjump cni-br-iface-ctr2-eth0-mac comment "macspoofchk-ctr2-eth0"
\t}

\tchain cni-br-iface-ctr2-eth0-mac {
\t\tether saddr 02:00:00:00:00:02 return comment "macspoofchk-ctr2-eth0"
\t\tdrop comment "macspoofchk-ctr2-eth0"
\t}
}
`);
    withNetns(ns.path, () => {
      teardownSpoofCheck("ctr1-eth0");
      teardownSpoofCheck("ctr1-eth0");
    });
    expect(ruleset(ns)).not.toContain("ctr1");
    expect(ruleset(ns)).toContain('iifname "veth2" jump cni-br-iface-ctr2-eth0');
    withNetns(ns.path, () => teardownSpoofCheck("ctr2-eth0"));
    expect(ruleset(ns)).toBe(EMPTY);
  });

  test("setup twice adds the PREROUTING jump twice, as upstream's does; teardown removes both", () => {
    using ns = tempNetns("spoofchk2");
    withNetns(ns.path, () => {
      setupSpoofCheck(SC);
      setupSpoofCheck(SC);
    });
    expect(ruleset(ns).match(/iifname "veth1234abcd"/g)?.length).toBe(2);
    expect(ruleset(ns).match(/ether saddr/g)?.length).toBe(1); // the per-attachment chains were flushed first
    withNetns(ns.path, () => teardownSpoofCheck(SC.id));
    expect(ruleset(ns)).toBe(EMPTY);
  });

  test("odd characters of an ID stay data (JSON, not nft's text syntax)", () => {
    using ns = tempNetns("spoofodd");
    const id = spoofCheckId("c.1_x", 'e"t;h{0}');
    withNetns(ns.path, () => setupSpoofCheck({ iface: "veth1", mac: "02:00:00:00:00:03", id }));
    // nft prints a comment as stored, without escaping.
    expect(ruleset(ns)).toContain(`jump cni-br-iface-c.1_x-e"t;h{0} comment "macspoofchk-c.1_x-e"t;h{0}"`);
    withNetns(ns.path, () => teardownSpoofCheck(id));
    expect(ruleset(ns)).toBe(EMPTY);
  });
});
