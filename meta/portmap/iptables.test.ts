// meta/portmap/iptables.test.ts: the iptables backend's chains and rules against upstream's own expectations
// (portmap_iptables_test.go, v1.9.1), the restore batch, and iptables-save's printed form predicted for every rule
// portmap writes (the forms below were printed by iptables-save 1.8.9 nf_tables for these exact rules). No root.
import { describe, expect, test } from "bun:test";
import { parseCIDR } from "../../pkg/ip/cidr.ts";
import { parseIptablesSave } from "../../pkg/netfilter/iptables.ts";
import { randomTexts } from "../../test/support/random-text.ts";
import { loadConf, type BackendProbe } from "./config.ts";
import {
  chainsForAdd, checkChain, dnatChain, dnatChainName, dnatComment, markDef, restoreArg, setupLines, splitPortList,
} from "./iptables.ts";
import { saveForm } from "./save-form.ts";

const PROBE: BackendProbe = { iptablesUsable: () => true, nftablesUsable: () => true };
// upstream's test IDs
const NET = "testNetName";
const CID = "icee6giejonei6sohng6ahngee7laquohquee9shiGo7fohferakah3Feiyoolu2pei7ciPhoh7shaoX6vai3vuf0ahfaeng8yohb9ceu0daez5hashee8ooYai5wa3y";

function conf(extra: object) {
  const c = { cniVersion: "1.0.0", name: "test", type: "portmap", ...extra };
  return loadConf(new TextEncoder().encode(JSON.stringify(c)), "eth0", PROBE, "");
}

const UPSTREAM_MAPS = [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 8081, containerPort: 80, protocol: "tcp" },
  { hostPort: 8080, containerPort: 81, protocol: "udp" },
  { hostPort: 8082, containerPort: 82, protocol: "udp" },
  { hostPort: 8083, containerPort: 83, protocol: "tcp", hostIP: "192.168.0.2" },
  { hostPort: 8084, containerPort: 84, protocol: "tcp", hostIP: "0.0.0.0" },
  { hostPort: 8085, containerPort: 85, protocol: "tcp", hostIP: "2001:db8:a::1" },
  { hostPort: 8086, containerPort: 86, protocol: "tcp", hostIP: "::" },
];
const v4 = parseCIDR("10.0.0.2/24")!;
const v6 = parseCIDR("2001:db8::2/64")!;

describe("portmap iptables rules (upstream's expectations)", () => {
  const c = conf({ runtimeConfig: { portMappings: UPSTREAM_MAPS }, snat: true, conditionsV4: ["-a", "b"], conditionsV6: ["-c", "d"] });

  test("chain names", () => {
    expect(dnatChainName(NET, CID)).toBe("CNI-DN-bfd599665540dd91d5d28");
    expect(dnatChainName("test", CID)).toBe("CNI-DN-67e92b96e692a494b6b85");
  });

  test("IPv4: entry rules per protocol with every port and the v4 conditions; marks and DNAT per v4 mapping", () => {
    const ch = dnatChain(c, CID, v4);
    const cmt = `dnat name: "test" id: "${CID}"`;
    expect(ch.entryRules).toEqual([
      ["-m", "comment", "--comment", cmt, "-m", "multiport", "-p", "tcp", "--destination-ports", "8080,8081,8083,8084,8085,8086", "-a", "b"],
      ["-m", "comment", "--comment", cmt, "-m", "multiport", "-p", "udp", "--destination-ports", "8080,8082", "-a", "b"],
    ]);
    expect(ch.entryChains).toEqual(["CNI-HOSTPORT-DNAT"]);
    expect(ch.rules).toEqual([
      ["-p", "tcp", "--dport", "8080", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8080", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
      ["-p", "tcp", "--dport", "8081", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8081", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8081", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
      ["-p", "udp", "--dport", "8080", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "udp", "--dport", "8080", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "udp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:81"],
      ["-p", "udp", "--dport", "8082", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "udp", "--dport", "8082", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "udp", "--dport", "8082", "-j", "DNAT", "--to-destination", "10.0.0.2:82"],
      ["-p", "tcp", "--dport", "8083", "-d", "192.168.0.2", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8083", "-d", "192.168.0.2", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8083", "-d", "192.168.0.2", "-j", "DNAT", "--to-destination", "10.0.0.2:83"],
      ["-p", "tcp", "--dport", "8084", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8084", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8084", "-j", "DNAT", "--to-destination", "10.0.0.2:84"],
    ]);
  });

  test("IPv6: no localhost mark, bracketed DNAT, v6 hostIPs only", () => {
    expect(dnatChain(c, CID, v6).rules).toEqual([
      ["-p", "tcp", "--dport", "8080", "-s", "2001:db8::2/64", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "[2001:db8::2]:80"],
      ["-p", "tcp", "--dport", "8081", "-s", "2001:db8::2/64", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8081", "-j", "DNAT", "--to-destination", "[2001:db8::2]:80"],
      ["-p", "udp", "--dport", "8080", "-s", "2001:db8::2/64", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "udp", "--dport", "8080", "-j", "DNAT", "--to-destination", "[2001:db8::2]:81"],
      ["-p", "udp", "--dport", "8082", "-s", "2001:db8::2/64", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "udp", "--dport", "8082", "-j", "DNAT", "--to-destination", "[2001:db8::2]:82"],
      ["-p", "tcp", "--dport", "8085", "-d", "2001:db8:a::1", "-s", "2001:db8::2/64", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8085", "-d", "2001:db8:a::1", "-j", "DNAT", "--to-destination", "[2001:db8::2]:85"],
      ["-p", "tcp", "--dport", "8086", "-s", "2001:db8::2/64", "-j", "CNI-HOSTPORT-SETMARK"],
      ["-p", "tcp", "--dport", "8086", "-j", "DNAT", "--to-destination", "[2001:db8::2]:86"],
    ]);
    expect(dnatChain(c, CID, v6).entryRules[0]!.slice(-2)).toEqual(["-c", "d"]);
  });

  test("snat off: DNAT rules only", () => {
    expect(dnatChain({ ...c, snat: false }, CID, v4).rules.map((r) => r.join(" "))).toEqual([
      "-p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80",
      "-p tcp --dport 8081 -j DNAT --to-destination 10.0.0.2:80",
      "-p udp --dport 8080 -j DNAT --to-destination 10.0.0.2:81",
      "-p udp --dport 8082 -j DNAT --to-destination 10.0.0.2:82",
      "-p tcp --dport 8083 -d 192.168.0.2 -j DNAT --to-destination 10.0.0.2:83",
      "-p tcp --dport 8084 -j DNAT --to-destination 10.0.0.2:84",
    ]);
  });

  test("externalSetMarkChain replaces the mark chain; masqAll marks every source and drops the localhost mark", () => {
    const ext = conf({ runtimeConfig: { portMappings: [UPSTREAM_MAPS[0]] }, externalSetMarkChain: "PLZ-SET-MARK" });
    expect(dnatChain(ext, CID, v4).rules).toEqual([
      ["-p", "tcp", "--dport", "8080", "-s", "10.0.0.2/24", "-j", "PLZ-SET-MARK"],
      ["-p", "tcp", "--dport", "8080", "-s", "127.0.0.1", "-j", "PLZ-SET-MARK"],
      ["-p", "tcp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
    ]);
    expect(chainsForAdd(ext, CID, v4).map((ch) => ch.name)).toEqual(["CNI-HOSTPORT-DNAT", dnatChainName("test", CID)]);
    const all = conf({ runtimeConfig: { portMappings: [UPSTREAM_MAPS[0]] }, masqAll: true });
    expect(dnatChain(all, CID, v4).rules[0]).toEqual(["-p", "tcp", "--dport", "8080", "-s", "0.0.0.0/0", "-j", "CNI-HOSTPORT-SETMARK"]);
    expect(dnatChain(all, CID, v4).rules.length).toBe(2);
    expect(dnatChain(all, CID, v6).rules[0]).toEqual(["-p", "tcp", "--dport", "8080", "-s", "::/0", "-j", "CNI-HOSTPORT-SETMARK"]);
  });

  test("multiport lists hold at most 15 ports", () => {
    const ports = Array.from({ length: 32 }, (_, i) => 9000 + i);
    expect(splitPortList(ports)).toEqual([ports.slice(0, 15).join(","), ports.slice(15, 30).join(","), ports.slice(30).join(",")]);
    const many = conf({ runtimeConfig: { portMappings: ports.map((p) => ({ hostPort: p, containerPort: 80, protocol: "sctp" })) } });
    expect(dnatChain(many, "c", v4).entryRules.length).toBe(3);
  });

  test("mark values and the comment limit", () => {
    expect(markDef(13)).toBe("0x2000/0x2000");
    expect(markDef(0)).toBe("0x1/0x1");
    expect(markDef(31)).toBe("0x80000000/0x80000000");
    expect(dnatComment("net", "id")).toBe('dnat name: "net" id: "id"');
    const long = dnatComment("n".repeat(100), "c".repeat(200));
    expect(long.length).toBe(256);
    expect(long.endsWith("...")).toBe(true);
    expect(dnatComment("n".repeat(100), "c".repeat(135)).length).toBe(255); // exactly 255: kept whole
  });
});

// What iptables-save printed for rules restored from these arguments (see the file comment).
const PRINTED: [4 | 6, string, string[], string][] = [
  [4, "PREROUTING", ["-m", "addrtype", "--dst-type", "LOCAL", "-j", "CNI-HOSTPORT-DNAT"], "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT"],
  [4, "POSTROUTING", ["-m", "comment", "--comment", "CNI portfwd requiring masquerade", "-j", "CNI-HOSTPORT-MASQ"],
    '-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ'],
  [4, "CNI-HOSTPORT-MASQ", ["-m", "mark", "--mark", "0x2000/0x2000", "-j", "MASQUERADE"], "-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE"],
  [4, "CNI-HOSTPORT-SETMARK", ["-m", "comment", "--comment", "CNI portfwd masquerade mark", "-j", "MARK", "--set-xmark", "0x2000/0x2000"],
    '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000'],
  [4, "D", ["-p", "tcp", "--dport", "8080", "-d", "192.168.1.1", "-s", "10.0.0.2/24", "-j", "CNI-HOSTPORT-SETMARK"],
    "-A D -s 10.0.0.0/24 -d 192.168.1.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK"],
  [4, "D", ["-p", "tcp", "--dport", "8080", "-d", "192.168.1.1", "-s", "127.0.0.1", "-j", "CNI-HOSTPORT-SETMARK"],
    "-A D -s 127.0.0.1/32 -d 192.168.1.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK"],
  [4, "D", ["-p", "tcp", "--dport", "8080", "-d", "192.168.1.1", "-j", "DNAT", "--to-destination", "10.0.0.2:80"],
    "-A D -d 192.168.1.1/32 -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80"],
  [4, "D", ["-p", "sctp", "--dport", "8080", "-j", "DNAT", "--to-destination", "10.0.0.2:80"], "-A D -p sctp -m sctp --dport 8080 -j DNAT --to-destination 10.0.0.2:80"],
  [4, "D", ["-p", "udp", "--dport", "8080", "-s", "0.0.0.0/0", "-j", "CNI-HOSTPORT-SETMARK"], "-A D -p udp -m udp --dport 8080 -j CNI-HOSTPORT-SETMARK"],
  [4, "CNI-HOSTPORT-DNAT", ["-m", "comment", "--comment", 'dnat name: "test" id: "abc"', "-m", "multiport", "-p", "tcp", "--destination-ports", "8080,8081",
    "-d", "1.2.3.4", "!", "-s", "5.6.7.8/8", "-i", "eth0", "-m", "mark", "!", "--mark", "0x1", "-j", "D"],
    '-A CNI-HOSTPORT-DNAT ! -s 5.0.0.0/8 -d 1.2.3.4/32 -i eth0 -p tcp -m comment --comment "dnat name: \\"test\\" id: \\"abc\\"" -m multiport --dports 8080,8081 -m mark ! --mark 0x1 -j D'],
  [6, "D", ["-p", "tcp", "--dport", "8080", "-s", "fd00::2/64", "-j", "CNI-HOSTPORT-SETMARK"], "-A D -s fd00::/64 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK"],
  [6, "D", ["-p", "tcp", "--dport", "8080", "-d", "fd00::1", "-s", "::/0", "-j", "DNAT", "--to-destination", "[fd00::2]:80"],
    "-A D -d fd00::1/128 -p tcp -m tcp --dport 8080 -j DNAT --to-destination [fd00::2]:80"],
];

describe("iptables-save's form", () => {
  test.each(PRINTED)("IPv%d %s %j", (family, chain, args, printed) => {
    expect(saveForm(family, chain, args)).toBe(printed);
  });

  test("anything outside the known vocabulary is not guessed", () => {
    expect(saveForm(4, "X", ["-m", "set", "--match-set", "s", "dst", "-j", "D"])).toBeUndefined();
    expect(saveForm(4, "X", ["-d", "example.com", "-j", "D"])).toBeUndefined();
    expect(saveForm(4, "X", ["-a", "b", "-j", "D"])).toBeUndefined();
    expect(saveForm(4, "X", ["-j", "D", "--weird", "1"])).toBeUndefined();
    expect(saveForm(6, "X", ["-s", "10.0.0.1", "-j", "D"])).toBeUndefined();
  });
});

describe("the restore batch", () => {
  const c = conf({ runtimeConfig: { portMappings: [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }, { hostPort: 53, containerPort: 53, protocol: "udp" }] } });
  const D = dnatChainName("test", "ctr1");
  const empty = parseIptablesSave("*nat\n:PREROUTING ACCEPT [0:0]\n:INPUT ACCEPT [0:0]\n:OUTPUT ACCEPT [0:0]\n:POSTROUTING ACCEPT [0:0]\nCOMMIT\n", "nat");
  const FULL = [
    "-N CNI-HOSTPORT-SETMARK",
    '-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000',
    "-N CNI-HOSTPORT-MASQ",
    "-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE",
    '-I POSTROUTING 1 -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ',
    "-N CNI-HOSTPORT-DNAT",
    "-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
    "-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT",
    `-N ${D}`,
    `-A ${D} -p tcp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK`,
    `-A ${D} -p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
    `-A ${D} -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80`,
    `-A ${D} -p udp --dport 53 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK`,
    `-A ${D} -p udp --dport 53 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK`,
    `-A ${D} -p udp --dport 53 -j DNAT --to-destination 10.0.0.2:53`,
    `-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport -p tcp --destination-ports 8080 -j ${D}`,
    `-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport -p udp --destination-ports 53 -j ${D}`,
  ];
  // The same rules as iptables-save prints them once applied.
  const SAVED = `*nat
:PREROUTING ACCEPT [0:0]
:INPUT ACCEPT [0:0]
:OUTPUT ACCEPT [0:0]
:POSTROUTING ACCEPT [0:0]
:${D} - [0:0]
:CNI-HOSTPORT-DNAT - [0:0]
:CNI-HOSTPORT-MASQ - [0:0]
:CNI-HOSTPORT-SETMARK - [0:0]
-A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A OUTPUT -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT
-A POSTROUTING -m comment --comment "CNI portfwd requiring masquerade" -j CNI-HOSTPORT-MASQ
-A ${D} -s 10.0.0.0/24 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A ${D} -s 127.0.0.1/32 -p tcp -m tcp --dport 8080 -j CNI-HOSTPORT-SETMARK
-A ${D} -p tcp -m tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80
-A ${D} -s 10.0.0.0/24 -p udp -m udp --dport 53 -j CNI-HOSTPORT-SETMARK
-A ${D} -s 127.0.0.1/32 -p udp -m udp --dport 53 -j CNI-HOSTPORT-SETMARK
-A ${D} -p udp -m udp --dport 53 -j DNAT --to-destination 10.0.0.2:53
-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport --dports 8080 -j ${D}
-A CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport --dports 53 -j ${D}
-A CNI-HOSTPORT-MASQ -m mark --mark 0x2000/0x2000 -j MASQUERADE
-A CNI-HOSTPORT-SETMARK -m comment --comment "CNI portfwd masquerade mark" -j MARK --set-xmark 0x2000/0x2000
COMMIT
`;

  test("on an empty nat table: every chain with -N, rules in upstream's order, MASQ inserted at 1", () => {
    expect(setupLines(empty, 4, chainsForAdd(c, "ctr1", v4))).toEqual(FULL);
  });

  test("once applied, a second ADD changes nothing; CHECK finds everything", () => {
    const state = parseIptablesSave(SAVED, "nat");
    expect(setupLines(state, 4, chainsForAdd(c, "ctr1", v4))).toEqual([]);
    for (const ch of chainsForAdd(c, "ctr1", v4)) expect(checkChain(state, 4, ch)).toEqual({ ask: [] });
  });

  test("a missing rule is appended alone, and CHECK names the chain's rules as upstream prints them", () => {
    const state = parseIptablesSave(SAVED.replace(/^-A \S+ -p tcp -m tcp --dport 8080 -j DNAT.*\n/m, ""), "nat");
    expect(setupLines(state, 4, chainsForAdd(c, "ctr1", v4))).toEqual([`-A ${D} -p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80`]);
    expect(checkChain(state, 4, dnatChain(c, "ctr1", v4)).error).toBe(
      `rule [[-p tcp --dport 8080 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK] [-p tcp --dport 8080 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK] ` +
        `[-p tcp --dport 8080 -j DNAT --to-destination 10.0.0.2:80] [-p udp --dport 53 -s 10.0.0.2/24 -j CNI-HOSTPORT-SETMARK] ` +
        `[-p udp --dport 53 -s 127.0.0.1 -j CNI-HOSTPORT-SETMARK] [-p udp --dport 53 -j DNAT --to-destination 10.0.0.2:53]] in chain ${D} not found in table nat`,
    );
    expect(checkChain(empty, 4, dnatChain(c, "ctr1", v4)).error).toBe(`chain ${D} not found in iptables table nat`);
  });

  test("entry rules with conditions it cannot predict replace the container's old entry rules", () => {
    const odd = { ...c, conditionsV4: ["-m", "set", "--match-set", "allowed", "src"] };
    const lines = setupLines(parseIptablesSave(SAVED, "nat"), 4, chainsForAdd(odd, "ctr1", v4));
    expect(lines).toEqual([
      `-D CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport --dports 8080 -j ${D}`,
      `-D CNI-HOSTPORT-DNAT -p udp -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport --dports 53 -j ${D}`,
      `-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport -p tcp --destination-ports 8080 -m set --match-set allowed src -j ${D}`,
      `-A CNI-HOSTPORT-DNAT -m comment --comment "dnat name: \\"test\\" id: \\"ctr1\\"" -m multiport -p udp --destination-ports 53 -m set --match-set allowed src -j ${D}`,
    ]);
    expect(checkChain(parseIptablesSave(SAVED, "nat"), 4, dnatChain(odd, "ctr1", v4)).ask.length).toBe(2);
  });

  test("arguments are quoted for iptables-restore only when they must be", () => {
    expect(restoreArg("0x2000/0x2000")).toBe("0x2000/0x2000");
    expect(restoreArg("!")).toBe("!");
    const byPattern = (a: string) => (a !== "" && !/[\s"'\\]/.test(a) ? a : `"${a.replace(/["\\]/g, (c) => "\\" + c)}"`);
    for (const a of randomTexts(5000)) expect(restoreArg(a)).toBe(byPattern(a));
    expect(restoreArg('a "b" \\c')).toBe('"a \\"b\\" \\\\c"');
    expect(restoreArg("")).toBe('""');
  });
});
