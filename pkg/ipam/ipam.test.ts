// pkg/ipam/ipam.test.ts: ipamStatusAndGc's decisions, none of which reaches a delegate (no root, no CNI_PATH).
import { expect, test } from "bun:test";
import type { CmdArgs, NetConf } from "../cni/types.ts";
import { ipamStatusAndGc } from "./ipam.ts";

const argsWith = (stdin: string): CmdArgs => ({
  command: "STATUS", containerId: "", netns: "", ifname: "", args: "", path: "", netnsOverride: "", stdin: new TextEncoder().encode(stdin),
});
const parse = (stdin: Uint8Array): NetConf => JSON.parse(new TextDecoder().decode(stdin));

test("a config without IPAM (as the plugin judges it): STATUS and GC succeed without running anything", async () => {
  const seen: string[] = [];
  const { status, gc } = ipamStatusAndGc(parse, (conf) => (seen.push(conf.name), false));
  const stdin = '{"cniVersion":"1.1.0","name":"n","type":"macvlan"}';
  await status(argsWith(stdin));
  await gc(argsWith(stdin));
  expect(seen).toEqual(["n", "n"]);
});

test("the plugin's loader runs first: its error is the verb's", async () => {
  const { status, gc } = ipamStatusAndGc(() => { throw new Error("failed to load netconf: bad"); }, () => true);
  await expect(Promise.resolve(status(argsWith("{}")))).rejects.toThrow("failed to load netconf: bad");
  await expect(Promise.resolve(gc(argsWith("{}")))).rejects.toThrow("failed to load netconf: bad");
});

test("IPAM wanted but no ipam.type: upstream's words, naming the missing field", async () => {
  const { status, gc } = ipamStatusAndGc(parse, () => true);
  const stdin = '{"cniVersion":"1.1.0","name":"n","type":"vlan"}';
  await expect(Promise.resolve(status(argsWith(stdin)))).rejects.toThrow('no plugin name provided: the config has no "ipam" with a "type"');
  await expect(Promise.resolve(gc(argsWith(stdin)))).rejects.toThrow("no plugin name provided");
});
