// loopback as a runtime runs it: ADD sets lo up and reports its addresses, CHECK sees it up, DEL sets it down,
// twice over, for every spec version; kernel state read back with `ip -j`.
import { afterAll, describe, expect, test } from "bun:test";
import { cniEnv, runPlugin } from "../support/run-plugin.ts";
import { ipJson, tempNetns } from "../support/netns.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const host = tempNetns("lohost");
afterAll(() => host[Symbol.dispose]());

const conf = (cniVersion: string, extra: object = {}) => ({ cniVersion, name: "lonet", type: "loopback", ...extra });
const call = (verb: string, netns: string, stdin: object) => runPlugin("loopback", { hostNetns: host.name, env: cniEnv(verb, netns, "eth0"), stdin });
const loUp = (ns: { name: string }) => ((ipJson(ns.name, ["link", "show", "lo"]) as { flags: string[] }[])[0]!.flags.includes("UP"));

describe.each(ALL_VERSIONS)("loopback %s", (version) => {
  test("ADD, CHECK, DEL, DEL again", () => {
    using ctr = tempNetns("lo");
    expect(loUp(ctr)).toBe(false);
    const add = call("ADD", ctr.path, conf(version));
    expect(add.stderr).toBe("");
    expect(add.exitCode).toBe(0);
    expect(loUp(ctr)).toBe(true);
    // upstream quirk: the result is built as the config's version and printed unconverted, in the 1.x shape.
    expect(add.json).toEqual({
      cniVersion: version,
      interfaces: [{ name: "lo", mac: "00:00:00:00:00:00", sandbox: ctr.path }],
      ips: [{ interface: 0, address: "127.0.0.1/8" }, { interface: 0, address: "::1/128" }],
    });
    if (versionAtLeast(version, "0.4.0")) expect(call("CHECK", ctr.path, conf(version)).exitCode).toBe(0);
    expect(call("DEL", ctr.path, conf(version)).exitCode).toBe(0);
    expect(loUp(ctr)).toBe(false);
    expect(call("DEL", ctr.path, conf(version)).exitCode).toBe(0);
  });
});

test("with no cniVersion the result is converted to 0.1.0", () => {
  using ctr = tempNetns("lo");
  const add = runPlugin("loopback", { hostNetns: host.name, env: cniEnv("ADD", ctr.path), stdin: { name: "lonet", type: "loopback" } });
  expect(add.json).toEqual({ cniVersion: "0.1.0", ip4: { ip: "127.0.0.1/8" }, ip6: { ip: "::1/128" }, dns: {} });
});

test("a prevResult passes through unchanged", () => {
  using ctr = tempNetns("lo");
  const prevResult = { cniVersion: "1.0.0", interfaces: [{ name: "eth0", sandbox: ctr.path }], ips: [{ interface: 0, address: "10.1.0.2/24", gateway: "10.1.0.1" }] };
  const add = call("ADD", ctr.path, conf("1.0.0", { prevResult }));
  expect(add.exitCode).toBe(0);
  expect(add.json).toEqual(prevResult);
  expect(loUp(ctr)).toBe(true);
});

test("a prevResult of another version family is refused", () => {
  using ctr = tempNetns("lo");
  const add = call("ADD", ctr.path, conf("1.0.0", { prevResult: { cniVersion: "0.4.0" } }));
  expect(add.exitCode).toBe(1);
  expect(add.json.msg).toStartWith("failed to parse prevResult: could not parse prevResult: result type supports [1.0.0 1.1.0]");
});

test("CHECK fails when lo is down", () => {
  using ctr = tempNetns("lo");
  const r = call("CHECK", ctr.path, conf("1.0.0"));
  expect([r.exitCode, r.json]).toEqual([1, { code: 999, msg: "loopback interface is down" }]);
});

test("ADD into a netns that does not exist is an error; DEL of it succeeds", () => {
  const missing = `/run/netns/${host.name}-gone`;
  const add = call("ADD", missing, conf("1.0.0"));
  expect(add.exitCode).toBe(1);
  expect(add.json.msg).toContain(missing);
  expect(call("DEL", missing, conf("1.0.0")).exitCode).toBe(0);
});

test("ADD refuses a path that is not a network namespace", () => {
  const add = call("ADD", "/etc/hostname", conf("1.0.0"));
  expect(add.exitCode).toBe(1);
  expect(add.json.msg).toContain("/etc/hostname");
});

test("DEL with an empty CNI_NETNS does nothing and succeeds", () => {
  const r = runPlugin("loopback", { hostNetns: host.name, env: { ...cniEnv("DEL", ""), CNI_NETNS: "" }, stdin: conf("1.0.0") });
  expect([r.exitCode, r.stdout]).toEqual([0, ""]);
});
