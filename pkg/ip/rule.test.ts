// pkg/ip/rule.test.ts: rule encoders against iproute2's bytes and parsing (no root), then add/list/delete on the real
// kernel in a throwaway netns cnid<pid36>-rule (root only), read back through `ip -j rule` as well.
import { describe, expect, test } from "bun:test";
import { golden, goldenBytes, hex } from "../../test/support/golden.ts";
import { thrown } from "../../test/support/thrown.ts";
import { createNetns, removeNetns } from "../ns/netns.ts";
import { EEXIST } from "../sys/libc.ts";
import { parseCIDR, type IPNet } from "./cidr.ts";
import { parseMessages } from "./nl/reader.ts";
import { hasErrno, isNotFound, openRouteSocket } from "./nl/socket.ts";
import { FR_ACT_TO_TBL, RT_TABLE_DEFAULT, RT_TABLE_LOCAL, RT_TABLE_MAIN } from "./nl/consts.ts";
import { addRule, delRule, encodeDelRule, encodeListRules, encodeNewRule, listRules, parseRule, type RuleSpec } from "./rule.ts";

const net = (s: string): IPNet => parseCIDR(s)!;
const FROM_TABLE_PRIO: RuleSpec & { priority: number } = { family: 4, src: net("10.0.0.5/32"), table: 100, priority: 1000 };
const ALL: RuleSpec & { priority: number } = {
  family: 4, src: net("10.0.0.0/24"), dst: net("10.2.0.0/16"), iifname: "cnitsv0", oifname: "cnitsv1", mark: 0x10, mask: 0xff,
  priority: 2000, table: 1000,
};

describe("encoders match iproute2 byte for byte", () => {
  test("ip rule add from 10.0.0.5/32 table 100 priority 1000; ip rule del the same", () => {
    expect(hex(encodeNewRule(0, FROM_TABLE_PRIO))).toBe(golden("rule-add-v4-from-table-prio"));
    expect(hex(encodeDelRule(0, FROM_TABLE_PRIO))).toBe(golden("rule-del-v4-from-table-prio"));
  });

  test("every selector, and table 1000 in FRA_TABLE", () => {
    expect(hex(encodeNewRule(0, ALL))).toBe(golden("rule-add-v4-all"));
  });

  test("fwmark without mask or priority; IPv6", () => {
    expect(hex(encodeNewRule(0, { family: 4, mark: 0x10, table: 100 }))).toBe(golden("rule-add-v4-fwmark"));
    expect(hex(encodeNewRule(0, { family: 6, src: net("2001:db8::/64"), table: 100, priority: 1000 }))).toBe(golden("rule-add-v6-from"));
  });

  test("dumps: ip -4 / -6 rule show", () => {
    expect(hex(encodeListRules(0, 4))).toBe(golden("rule-dump-v4"));
    expect(hex(encodeListRules(0, 6))).toBe(golden("rule-dump-v6"));
  });

  test("a prefix of the wrong family is refused", () => {
    expect(() => encodeNewRule(0, { family: 6, src: net("10.0.0.0/8"), table: 100 })).toThrow("rule src IPv4 prefix in an IPv6 rule");
  });
});

describe("parseRule (requests share the reply layout)", () => {
  test("reads every field back", () => {
    const parse = (name: string) => parseRule(parseMessages(goldenBytes(name))[0]!.payload);
    expect(parse("rule-add-v4-all")).toEqual({ ...ALL, action: FR_ACT_TO_TBL });
    expect(parse("rule-add-v6-from")).toEqual({ family: 6, src: net("2001:db8::/64"), table: 100, priority: 1000, action: FR_ACT_TO_TBL });
    expect(parse("rule-add-v4-fwmark")).toEqual({ family: 4, mark: 0x10, table: 100, priority: 0, action: FR_ACT_TO_TBL });
  });

  test("a short header is malformed", () => {
    expect(() => parseRule(new Uint8Array(8))).toThrow("fib_rule_hdr: 8 bytes, want 12");
  });
});

const isRoot = process.getuid?.() === 0;

interface IpRule { priority: number; src?: string; srclen?: number; dst?: string; table: string; iif?: string; oif?: string; fwmark?: string; fwmask?: string }
function ipRules(ns: string, family: "-4" | "-6"): IpRule[] {
  const r = Bun.spawnSync(["ip", "-j", family, "-n", ns, "rule", "show"]);
  if (r.exitCode !== 0) throw new Error(`ip rule show: ${r.stderr.toString()}`);
  return JSON.parse(r.stdout.toString()) as IpRule[];
}

describe.skipIf(!isRoot)("real kernel (root)", () => {
  test("add, list back, delete, delete again; both families", () => {
    const name = `cnid${process.pid.toString(36)}-rule`;
    const path = createNetns(name);
    try {
      using sock = openRouteSocket(path);
      const defaults = listRules(sock, 4);
      expect(defaults.map((r) => [r.priority, r.table])).toEqual([[0, RT_TABLE_LOCAL], [32766, RT_TABLE_MAIN], [32767, RT_TABLE_DEFAULT]]);

      addRule(sock, FROM_TABLE_PRIO);
      addRule(sock, ALL);
      addRule(sock, { family: 4, mark: 0x20, table: 101 }); // no priority: the kernel picks one
      addRule(sock, { family: 6, src: net("2001:db8::/64"), table: 100, priority: 1000 });
      expect(hasErrno(thrown(() => addRule(sock, FROM_TABLE_PRIO)), EEXIST)).toBe(true);

      const v4 = listRules(sock, 4);
      expect(v4.find((r) => r.priority === 1000)).toEqual({ ...FROM_TABLE_PRIO, action: FR_ACT_TO_TBL });
      expect(v4.find((r) => r.priority === 2000)).toEqual({ ...ALL, action: FR_ACT_TO_TBL });
      const marked = v4.find((r) => r.table === 101)!;
      expect([marked.mark, marked.mask]).toEqual([0x20, 0xffffffff]);
      expect(marked.priority).toBeGreaterThan(0);
      expect(listRules(sock, 6).find((r) => r.priority === 1000)).toMatchObject({ family: 6, src: net("2001:db8::/64"), table: 100 });

      const seen = ipRules(name, "-4");
      expect(seen.find((r) => r.priority === 1000)).toMatchObject({ src: "10.0.0.5", table: "100" });
      expect(seen.find((r) => r.priority === 2000)).toMatchObject({ src: "10.0.0.0", srclen: 24, dst: "10.2.0.0", iif: "cnitsv0", oif: "cnitsv1", table: "1000", fwmark: "0x10", fwmask: "0xff" });

      delRule(sock, FROM_TABLE_PRIO);
      delRule(sock, ALL);
      delRule(sock, marked);
      delRule(sock, { family: 6, src: net("2001:db8::/64"), table: 100, priority: 1000 });
      expect(listRules(sock, 4)).toEqual(defaults);
      expect(listRules(sock, 6).some((r) => r.priority === 1000)).toBe(false);
      expect(isNotFound(thrown(() => delRule(sock, FROM_TABLE_PRIO)))).toBe(true);
    } finally {
      removeNetns(name);
    }
  });
});
