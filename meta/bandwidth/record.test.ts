// meta/bandwidth/record.test.ts: the ifb owner record GC relies on. No root.
import { expect, test } from "bun:test";
import { ifbName } from "../../pkg/netfilter/names.ts";
import { ifbAlias, ifbOwner } from "./record.ts";

test("the ifb name is upstream's (the Go plugin named it bwp80b290fa52c6 for capnet/cap1)", () => {
  expect(ifbName("capnet", "cap1")).toBe("bwp80b290fa52c6");
});

test("an alias names its owner, and only when it matches the ifb's own name", () => {
  const owner = { network: "capnet", containerId: "cap1" };
  const alias = ifbAlias(owner)!;
  expect(alias).toBe("cni-bandwidth network=capnet containerID=cap1");
  expect(ifbOwner("bwp80b290fa52c6", alias)).toEqual(owner);
  expect(ifbOwner("bwp000000000000", alias)).toBeUndefined(); // copied onto another link
  expect(ifbOwner("bwp80b290fa52c6", undefined)).toBeUndefined(); // made by the Go plugin
  expect(ifbOwner("bwp80b290fa52c6", "something else")).toBeUndefined();
});

test("an alias the kernel would refuse (256 bytes or more) is not written", () => {
  expect(ifbAlias({ network: "n".repeat(100), containerId: "c".repeat(120) })).toBeDefined(); // 255 bytes
  expect(ifbAlias({ network: "n".repeat(100), containerId: "c".repeat(121) })).toBeUndefined();
});
