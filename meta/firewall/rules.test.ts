// meta/firewall/rules.test.ts: upstream's rules in iptables-save's form, and the restore lines a plan writes against
// a table read once: created chains with -N (never `:chain`, which flushes under --noflush), position-1 inserts in
// upstream's order, nothing twice, one copy deleted, and the undo of a plan (no root).
import { describe, expect, test } from "bun:test";
import { parseCIDR } from "../../pkg/ip/cidr.ts";
import { parseIptablesSave } from "../../pkg/netfilter/iptables.ts";
import { planSetup } from "./iptables.ts";
import { addressRules, FilterPlan, goRuleText, hostCIDR, isolationRules, undoLines } from "./rules.ts";

const net = (s: string) => parseCIDR(s)!;
const FRESH = parseIptablesSave("*filter\n:INPUT ACCEPT [0:0]\n:FORWARD ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\nCOMMIT\n", "filter");
const RULES = '-m comment --comment "CNI firewall plugin rules"';
const ADMIN = '-m comment --comment "CNI firewall plugin admin overrides"';
const DEF = '-m comment --comment "CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)"';

/** A filter table as iptables-save prints it after one ADD of 10.1.1.2 (what the Go plugin leaves too). */
const AFTER_ADD = parseIptablesSave(
  [
    "*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [5:300]", ":OUTPUT ACCEPT [0:0]", ":CNI-ADMIN - [0:0]", ":CNI-FORWARD - [0:0]",
    `-A FORWARD ${RULES} -j CNI-FORWARD`,
    `-A CNI-FORWARD ${ADMIN} -j CNI-ADMIN`,
    "-A CNI-FORWARD -d 10.1.1.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
    "-A CNI-FORWARD -s 10.1.1.2/32 -j ACCEPT",
    "COMMIT", "",
  ].join("\n"),
  "filter",
);

test("addresses are /32 or /128 whatever the result's prefix (upstream ipString)", () => {
  expect(hostCIDR(net("10.1.1.2/24"))).toBe("10.1.1.2/32");
  expect(hostCIDR(net("fd00:0:0::0002/64"))).toBe("fd00::2/128");
  expect(hostCIDR(net("::ffff:10.1.1.2/120"))).toBe("10.1.1.2/32"); // Go's To4: an IPv4-mapped address is IPv4
  expect(addressRules(net("fd00::2/64")).map(goRuleText)).toEqual([
    "[-d fd00::2/128 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT]", "[-s fd00::2/128 -j ACCEPT]",
  ]);
});

describe("ADD's plan", () => {
  test("on a fresh table: chains with -N, FORWARD's and the admin jump at 1, the address rules appended", () => {
    const plan = new FilterPlan(FRESH);
    planSetup(plan, { backend: { adminChain: "CNI-ADMIN", ips: [net("10.1.1.2/24"), net("10.1.1.3/24")] } });
    expect(plan.lines()).toEqual([
      "-N CNI-FORWARD",
      "-N CNI-ADMIN",
      `-I FORWARD 1 ${RULES} -j CNI-FORWARD`,
      `-I CNI-FORWARD 1 ${ADMIN} -j CNI-ADMIN`,
      "-A CNI-FORWARD -d 10.1.1.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A CNI-FORWARD -s 10.1.1.2/32 -j ACCEPT",
      "-A CNI-FORWARD -d 10.1.1.3/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A CNI-FORWARD -s 10.1.1.3/32 -j ACCEPT",
    ]);
  });

  test("on the table an earlier ADD left: only what is missing; the same address twice is once", () => {
    const plan = new FilterPlan(AFTER_ADD);
    planSetup(plan, { backend: { adminChain: "CNI-ADMIN", ips: [net("10.1.1.2/24"), net("10.1.1.9/24"), net("10.1.1.9/24")] } });
    expect(plan.lines()).toEqual([
      "-A CNI-FORWARD -d 10.1.1.9/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-A CNI-FORWARD -s 10.1.1.9/32 -j ACCEPT",
    ]);
    const again = new FilterPlan(AFTER_ADD);
    planSetup(again, { backend: { adminChain: "CNI-ADMIN", ips: [net("10.1.1.2/24")] } });
    expect(again.lines()).toEqual([]);
  });

  test("isolated after same-bridge on another bridge: upstream's inserts at 1 and appends, in its order", () => {
    const plan = new FilterPlan(AFTER_ADD);
    planSetup(plan, { isolation: { bridge: "br0", policy: "same-bridge" } });
    planSetup(plan, { isolation: { bridge: "br1", policy: "isolated" } });
    const pol = (p: string) => `-m comment --comment "CNI firewall plugin rules (ingressPolicy: ${p})"`;
    expect(plan.lines()).toEqual([
      "-N CNI-ISOLATION-STAGE-1",
      "-N CNI-ISOLATION-STAGE-2",
      `-I FORWARD 1 ${DEF} -j CNI-ISOLATION-STAGE-1`,
      `-I CNI-ISOLATION-STAGE-1 1 -i br0 ! -o br0 ${pol("same-bridge")} -j CNI-ISOLATION-STAGE-2`,
      `-A CNI-ISOLATION-STAGE-1 ${DEF} -j RETURN`,
      `-I CNI-ISOLATION-STAGE-2 1 -o br0 ${DEF} -j DROP`,
      `-A CNI-ISOLATION-STAGE-2 ${DEF} -j RETURN`,
      `-I CNI-ISOLATION-STAGE-1 1 -i br1 ! -o br1 ${pol("isolated")} -j CNI-ISOLATION-STAGE-2`,
      `-I CNI-ISOLATION-STAGE-1 1 -i br1 -o br1 ${pol("isolated")} -j DROP`,
      `-I CNI-ISOLATION-STAGE-2 1 -o br1 ${DEF} -j DROP`,
    ]);
    expect(isolationRules("br0", "same-bridge").map((r) => r.at)).toEqual(["first", "first", "last", "first", "last"]);
  });

  test("a step on a chain nobody ensured is a bug, not a silent no-op", () => {
    const plan = new FilterPlan(FRESH);
    expect(() => plan.appendUnique({ chain: "CNI-NOPE", spec: "-j ACCEPT" })).toThrow("chain CNI-NOPE is missing from the plan");
  });
});

describe("DEL and undo", () => {
  test("DEL deletes one copy of each address rule that is there, nothing else", () => {
    const withCopy = parseIptablesSave(
      AFTER_ADD.rules.map((r) => r.line).concat("-A CNI-FORWARD -s 10.1.1.2/32 -j ACCEPT").reduce((t, l) => `${t}${l}\n`, "*filter\n:CNI-FORWARD - [0:0]\n:CNI-ADMIN - [0:0]\n") + "COMMIT\n",
      "filter",
    );
    const plan = new FilterPlan(withCopy);
    for (const r of [...addressRules(net("10.1.1.2/24")), ...addressRules(net("10.9.9.9/24"))]) plan.deleteOne(r);
    expect(plan.lines()).toEqual([
      "-D CNI-FORWARD -d 10.1.1.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      "-D CNI-FORWARD -s 10.1.1.2/32 -j ACCEPT",
    ]);
  });

  test("undo takes back rules newest first, then the chains it created once empty and unreferenced", () => {
    const plan = new FilterPlan(FRESH);
    planSetup(plan, { backend: { adminChain: "CNI-ADMIN", ips: [net("10.1.1.2/24")] } });
    expect(undoLines(AFTER_ADD, plan.added)).toEqual([
      "-D CNI-FORWARD -s 10.1.1.2/32 -j ACCEPT",
      "-D CNI-FORWARD -d 10.1.1.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      `-D CNI-FORWARD ${ADMIN} -j CNI-ADMIN`,
      `-D FORWARD ${RULES} -j CNI-FORWARD`,
      "-X CNI-ADMIN",
      "-X CNI-FORWARD",
    ]);
  });

  test("undo keeps a created chain that another container's rule now uses", () => {
    const plan = new FilterPlan(FRESH);
    planSetup(plan, { backend: { adminChain: "CNI-ADMIN", ips: [net("10.1.1.2/24")] } });
    const withOther = parseIptablesSave(
      AFTER_ADD.rules.map((r) => r.line).concat("-A CNI-FORWARD -s 10.1.1.7/32 -j ACCEPT").reduce((t, l) => `${t}${l}\n`, "*filter\n:CNI-FORWARD - [0:0]\n:CNI-ADMIN - [0:0]\n") + "COMMIT\n",
      "filter",
    );
    expect(undoLines(withOther, plan.added)).toEqual([
      "-D CNI-FORWARD -s 10.1.1.2/32 -j ACCEPT",
      "-D CNI-FORWARD -d 10.1.1.2/32 -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT",
      `-D CNI-FORWARD ${ADMIN} -j CNI-ADMIN`,
      `-D FORWARD ${RULES} -j CNI-FORWARD`,
      "-X CNI-ADMIN",
    ]);
  });
});
