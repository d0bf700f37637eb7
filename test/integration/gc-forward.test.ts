// The interface plugins that delegate to IPAM hand GC on to it (DESIGN decision 9): host-local then frees the
// reservations of attachments missing from cni.dev/valid-attachments and keeps the valid ones. GC creates no links,
// so this runs for the kinds this kernel lacks too.
import { afterAll, expect, test } from "bun:test";
import { existsSync } from "node:fs";
import { cniEnv, runPlugin } from "../support/run-plugin.ts";
import { tempNetns } from "../support/netns.ts";
import { tempDir } from "../support/temp-dir.ts";

const host = tempNetns("gcfwd");
afterAll(() => host[Symbol.dispose]());

const extraFields: Record<string, object> = {
  macvlan: { master: "eth9" },
  ipvlan: { master: "eth9" },
  vlan: { master: "eth9", vlanId: 100 },
  dummy: {},
  tap: {},
  "host-device": { device: "eth9" },
};

test.each(Object.keys(extraFields))("%s GC frees the reservations of gone attachments through its IPAM", (type) => {
  using ctr = tempNetns("gcfwdctr");
  using data = tempDir("gcfwd");
  const ipam = { type: "host-local", dataDir: data.path, subnet: "10.93.0.0/24" };
  const conf = { cniVersion: "1.1.0", name: "gcnet", type, ...extraFields[type], ipam };
  // Two reservations made by host-local itself, as the plugin's ADD would have made them.
  for (const id of ["kept", "gone"]) {
    const r = runPlugin("host-local", { hostNetns: host.name, env: cniEnv("ADD", ctr.path, "eth0", id), stdin: conf });
    expect(r.exitCode).toBe(0);
  }
  const gc = runPlugin(type, {
    hostNetns: host.name,
    env: { CNI_COMMAND: "GC" },
    stdin: { ...conf, "cni.dev/valid-attachments": [{ containerID: "kept", ifname: "eth0" }] },
  });
  expect([gc.exitCode, gc.stdout]).toEqual([0, ""]);
  expect(existsSync(`${data.path}/gcnet/10.93.0.2`)).toBe(true);
  expect(existsSync(`${data.path}/gcnet/10.93.0.3`)).toBe(false);
});
