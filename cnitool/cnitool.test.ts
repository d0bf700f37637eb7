import { expect, test } from "bun:test";
import { parseArgs, runtimeConf } from "./cnitool.ts";

test("CNI_ARGS: every pair needs a key and a value (upstream's parseArgs)", () => {
  expect(parseArgs("IgnoreUnknown=1;K8S_POD_NAME=web")).toEqual([["IgnoreUnknown", "1"], ["K8S_POD_NAME", "web"]]);
  for (const bad of ["A", "A=", "=1", "A=1=2", "A=1;"]) expect(() => parseArgs(bad)).toThrow("invalid CNI_ARGS pair");
  expect(() => parseArgs("A=1;B")).toThrow('invalid CNI_ARGS pair "B"');
});

test("the container ID is cnitool- and 20 hex of SHA-512 of the absolute netns path; the ifname flag beats CNI_IFNAME", () => {
  // upstream: fmt.Sprintf("cnitool-%x", sha512.Sum512([]byte("/run/netns/fixture-ns"))[:10]), as in the Go capture.
  expect(runtimeConf("/run/netns/fixture-ns", undefined, {})).toEqual({ containerId: "cnitool-a5b65bf04dbf3d610a1b", netns: "/run/netns/fixture-ns", ifname: "eth0" });
  expect(runtimeConf("/run/netns/../netns/fixture-ns", "net1", { CNI_IFNAME: "net2" }).containerId).toBe("cnitool-a5b65bf04dbf3d610a1b");
  expect(runtimeConf("/x", "net1", { CNI_IFNAME: "net2" }).ifname).toBe("net1");
  expect(runtimeConf("/x", undefined, { CNI_IFNAME: "net2" }).ifname).toBe("net2");
  expect(runtimeConf("x", undefined, {}).netns).toBe(`${process.cwd()}/x`);
});

test("CAP_ARGS is a JSON object (null is none); CNI_ARGS become pairs", () => {
  expect(runtimeConf("/x", undefined, { CAP_ARGS: '{"mac":"m"}', CNI_ARGS: "A=1" })).toMatchObject({ capabilityArgs: { mac: "m" }, args: [["A", "1"]] });
  expect(runtimeConf("/x", undefined, { CAP_ARGS: "null" }).capabilityArgs).toBeUndefined();
  expect(() => runtimeConf("/x", undefined, { CAP_ARGS: "[]" })).toThrow("json: cannot unmarshal array into Go value of type map[string]interface {}");
  expect(() => runtimeConf("/x", undefined, { CAP_ARGS: "{" })).toThrow();
});
