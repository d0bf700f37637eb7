// pkg/netfilter/iptables.test.ts: iptables-save parsing and restore text (no root). The golden is real
// iptables-save 1.8.9 output (test/golden/netfilter-nat-save.txt; its header says how it was made).
import { expect, test } from "bun:test";
import { readFileSync } from "node:fs";
import { deleteLine, iptablesRestoreText, parseIptablesSave, ruleTarget, saveQuote, splitRestoreArgs } from "./iptables.ts";
import { randomTexts } from "../../test/support/random-text.ts";

const NAT_SAVE = readFileSync(new URL("../../test/golden/netfilter-nat-save.txt", import.meta.url), "utf8");
const C = "CNI-2bbe0c48b91a7d1b8a6753a8";
const CMT = '"name: \\"test\\" id: \\"1234\\""';

test("iptables-save output parses into chains and rules, lines kept as printed", () => {
  const t = parseIptablesSave(NAT_SAVE, "nat");
  expect([...t.chains]).toEqual([
    ["PREROUTING", "ACCEPT"], ["INPUT", "ACCEPT"], ["OUTPUT", "ACCEPT"], ["POSTROUTING", "ACCEPT"], [C, "-"], ["DOCKER", "-"],
  ]);
  expect(t.rules.map((r) => r.line)).toEqual([
    "-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER",
    `-A POSTROUTING -s 10.1.1.2/32 -m comment --comment ${CMT} -j ${C}`,
    `-A POSTROUTING -s 10.1.1.0/24 -m comment --comment ${CMT} -j ${C}`,
    "-A POSTROUTING -s 172.17.0.0/16 ! -o docker0 -j MASQUERADE",
    `-A ${C} -d 10.1.1.0/24 -m comment --comment ${CMT} -j ACCEPT`,
    `-A ${C} ! -d 224.0.0.0/4 -m comment --comment ${CMT} -j MASQUERADE`,
    `-A DOCKER -i docker0 -m comment --comment "it\\'s \\"quoted\\" \\\\ here" -j RETURN`,
  ]);
  expect(t.rules.map((r) => r.chain)).toEqual(["PREROUTING", "POSTROUTING", "POSTROUTING", "POSTROUTING", C, C, "DOCKER"]);
  expect(t.rules[1]!.args).toEqual(["-A", "POSTROUTING", "-s", "10.1.1.2/32", "-m", "comment", "--comment", 'name: "test" id: "1234"', "-j", C]);
  expect(t.rules[6]!.args[7]).toBe('it\'s "quoted" \\ here');
  expect(t.rules.map(ruleTarget)).toEqual(["DOCKER", C, C, "MASQUERADE", "ACCEPT", "MASQUERADE", "RETURN"]);
});

test("only the asked table is kept; a missing table has no chains; junk throws", () => {
  const two = "*filter\n:INPUT ACCEPT [0:0]\n-A INPUT -j ACCEPT\nCOMMIT\n*nat\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n";
  expect([...parseIptablesSave(two, "nat").chains.keys()]).toEqual(["POSTROUTING"]);
  expect(parseIptablesSave(two, "nat").rules).toEqual([]);
  expect(parseIptablesSave("", "nat")).toEqual({ name: "nat", chains: new Map(), rules: [] });
  expect(() => parseIptablesSave("-A X -j ACCEPT\n", "nat")).toThrow("outside a table");
  expect(() => parseIptablesSave("*nat\n-I X -j ACCEPT\nCOMMIT\n", "nat")).toThrow("unexpected");
});

test("a comment's `-j` is not the target", () => {
  const t = parseIptablesSave('*nat\n-A POSTROUTING -m comment --comment "x -j CNI-y" -j ACCEPT\nCOMMIT\n', "nat");
  expect(ruleTarget(t.rules[0]!)).toBe("ACCEPT");
  const g = parseIptablesSave("*nat\n-A POSTROUTING -g CNI-y\nCOMMIT\n", "nat");
  expect(ruleTarget(g.rules[0]!)).toBe("CNI-y");
});

test("saveQuote prints what iptables-save prints, and splitRestoreArgs reads it back", () => {
  expect(saveQuote("ACCEPT")).toBe("ACCEPT");
  expect(saveQuote("a_b-9")).toBe("a_b-9");
  expect(saveQuote("")).toBe('""');
  expect(saveQuote('name: "test" id: "1234"')).toBe(CMT);
  expect(saveQuote("it's \\")).toBe('"it\\\'s \\\\"');
  for (const s of ['name: "a\\\\b" id: "c"', "it's", "tab\there", ""]) {
    expect(splitRestoreArgs(`-A X --comment ${saveQuote(s)} -j Y`)).toEqual(["-A", "X", "--comment", s, "-j", "Y"]);
  }
  expect(() => splitRestoreArgs('-A X --comment "open')).toThrow("unterminated");
});

test("restore text and -D lines", () => {
  expect(iptablesRestoreText("nat", [":C - [0:0]", "-A C -j ACCEPT"])).toBe("*nat\n:C - [0:0]\n-A C -j ACCEPT\nCOMMIT\n");
  const t = parseIptablesSave(NAT_SAVE, "nat");
  expect(deleteLine(t.rules[1]!)).toBe(`-D POSTROUTING -s 10.1.1.2/32 -m comment --comment ${CMT} -j ${C}`);
});

test("saveQuote quotes exactly as the pattern it replaced did", () => {
  const byPattern = (s: string) => (/^[-_0-9A-Za-z]+$/.test(s) ? s : '"' + s.replace(/["\\']/g, (c) => "\\" + c) + '"');
  for (const s of randomTexts(5000)) expect(saveQuote(s)).toBe(byPattern(s));
});
