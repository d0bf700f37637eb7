// pkg/netfilter/nft-netlink.test.ts: the NFT_MSG_GETTABLE request's bytes (no root), and the answer against tables
// made and deleted with nft in a throwaway netns (root, nft).
import { describe, expect, test } from "bun:test";
import { hex } from "../../test/support/golden.ts";
import { createNetns, removeNetns, withNetns } from "../ns/netns.ts";
import { encodeGetTable, nftTableExists } from "./nft-netlink.ts";
import { readNftTable } from "./nftables.ts";

test("GETTABLE: nfnetlink header for nf_tables, nfgenmsg of the family, the name NUL-terminated", () => {
  const msg = encodeGetTable(7, "inet", "cni_plugins_masquerade");
  const v = new DataView(msg.buffer, msg.byteOffset, msg.byteLength);
  expect(v.getUint32(0, true)).toBe(msg.length);
  expect(v.getUint16(4, true)).toBe((10 << 8) | 1); // NFNL_SUBSYS_NFTABLES, NFT_MSG_GETTABLE
  expect(v.getUint16(6, true)).toBe(0x01 | 0x04); // NLM_F_REQUEST | NLM_F_ACK
  expect(v.getUint32(8, true)).toBe(7);
  expect(hex(msg.subarray(16, 20))).toBe(hex(Uint8Array.of(1, 0, 0, 0))); // NFPROTO_INET, NFNETLINK_V0, res_id 0
  expect(v.getUint16(20, true)).toBe(4 + 23); // NFTA_TABLE_NAME: header + "cni_plugins_masquerade\0"
  expect(v.getUint16(22, true)).toBe(1);
  expect(new TextDecoder().decode(msg.subarray(24, 24 + 23))).toBe("cni_plugins_masquerade\0");
  expect(msg.length % 4).toBe(0);
  expect(() => encodeGetTable(1, "decnet", "x")).toThrow("unknown nftables family");
});

test("an unknown family cannot be asked: undefined, so callers ask nft", () => {
  expect(nftTableExists("decnet", "x")).toBeUndefined();
});

describe.skipIf(process.getuid?.() !== 0 || Bun.which("nft") === null)("in a throwaway netns (root)", () => {
  test("false before the table exists and after it is deleted, true while it does, in the netns asked from", () => {
    const name = `cnid${process.pid.toString(36)}-nftx`;
    const path = createNetns(name);
    const nft = (cmd: string) => expect(Bun.spawnSync(["nft", cmd], { stderr: "pipe" }).exitCode).toBe(0);
    try {
      withNetns(path, () => {
        expect(nftTableExists("inet", "cnid_probe")).toBe(false);
        expect(readNftTable("inet", "cnid_probe")).toBeUndefined();
        nft("add table inet cnid_probe");
        expect(nftTableExists("inet", "cnid_probe")).toBe(true);
        expect(nftTableExists("ip", "cnid_probe")).toBe(false); // another family's namespace of tables
        expect(readNftTable("inet", "cnid_probe")?.name).toBe("cnid_probe");
      });
      expect(nftTableExists("inet", "cnid_probe")).toBe(false); // not in this (the test's) netns
      withNetns(path, () => {
        nft("delete table inet cnid_probe");
        expect(nftTableExists("inet", "cnid_probe")).toBe(false);
      });
    } finally {
      removeNetns(name);
    }
  });
});
