// What the fuzzer and the fault tests found, each as the smallest input that showed it, run as a runtime runs the
// plugin: an IPAM result the main plugin cannot read (a route without dst) no longer leaves the reservation; an ADD
// whose result cannot be printed in the config's version (a 1.x prevResult under 0.2.0) is undone; an ipam.type
// naming the plugin itself is refused instead of looping forever; an empty tuning backup (an ADD killed between
// creating and writing it) goes with the DEL.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, writeFileSync } from "node:fs";
import { tempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { cniEnv, mustSkip, runPlugin } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";
import { linkState, OLD_MAC } from "../support/tuning.ts";

const TAG = "fzreg";
const skip = mustSkip("fuzz regressions", { tools: ["ip"], ours: ["bridge", "host-local", "tuning", "macvlan"] });
cleanUpAfterAll(TAG);

const reservations = (dir: string) => (existsSync(dir) ? readdirSync(dir).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip")) : []);

describe.skipIf(skip)("fuzz regressions", () => {
  test("bridge: host-local's result has a route without dst: ADD fails and the reservation is freed", () => {
    using host = tempNetns(`${TAG}-h`);
    using ctr = tempNetns(`${TAG}-c`);
    using data = tempDir(`${TAG}-hl`);
    const conf = { cniVersion: "1.0.0", name: "regnet", type: "bridge", bridge: "regbr0", ipam: { type: "host-local", dataDir: data.path, ranges: [[{ subnet: "10.54.0.0/24" }]], routes: [{}] } };
    const r = runPlugin("bridge", { hostNetns: host.name, env: cniEnv("ADD", ctr.path, "eth0"), stdin: conf });
    expect([r.exitCode, r.json?.msg]).toEqual([1, "invalid CIDR address: \u003cnil\u003e"]);
    expect(reservations(`${data.path}/regnet`)).toEqual([]);
  });

  test("tuning: an ADD that cannot be printed as 0.2.0 is undone (link settings back, no backup)", () => {
    using host = tempNetns(`${TAG}-h`);
    using ctr = tempNetns(`${TAG}-c`);
    using data = tempDir(`${TAG}-tun`);
    ipIn(ctr, ["link", "add", "eth0", "address", OLD_MAC, "type", "veth", "peer", "name", "peer0"]);
    const before = linkState(ctr);
    const prevResult = { cniVersion: "0.2.0", interfaces: [{ name: "eth0", sandbox: ctr.path }], ips: [{ address: "10.1.2.3/24", interface: 0 }] };
    const conf = { cniVersion: "0.2.0", name: "regnet", type: "tuning", mtu: 1400, promisc: true, mac: "02:54:00:00:ab:cd", dataDir: data.path, prevResult };
    const r = runPlugin("tuning", { hostNetns: host.name, env: cniEnv("ADD", ctr.path, "eth0"), stdin: conf });
    expect([r.exitCode, r.json?.msg]).toEqual([1, "cannot convert: no valid IP addresses"]);
    expect(linkState(ctr)).toEqual(before);
    expect(readdirSync(data.path)).toEqual([]);
  });

  test("an ipam.type that names the plugin itself is refused, not followed forever", () => {
    using host = tempNetns(`${TAG}-h`);
    using ctr = tempNetns(`${TAG}-c`);
    for (const [plugin, extra] of [["bridge", { bridge: "regbr1" }], ["macvlan", { master: "lo" }]] as const) {
      const conf = { cniVersion: "1.0.0", name: "regnet", type: plugin, ...extra, ipam: { type: plugin } };
      const r = runPlugin(plugin, { hostNetns: host.name, env: cniEnv("DEL", ctr.path, "eth0"), stdin: conf });
      expect([plugin, r.exitCode, r.json?.code, r.json?.msg]).toEqual([plugin, 1, 7, `delegation loop: "${plugin}" is already running as a delegate of this call (check the ipam or delegate "type")`]);
    }
  });

  test("tuning: DEL removes an empty backup (an ADD killed between creating and writing it)", () => {
    using host = tempNetns(`${TAG}-h`);
    using ctr = tempNetns(`${TAG}-c`);
    using data = tempDir(`${TAG}-tun`);
    ipIn(ctr, ["link", "add", "eth0", "type", "veth", "peer", "name", "peer0"]);
    mkdirSync(data.path, { recursive: true });
    writeFileSync(`${data.path}/ctr1_eth0.json`, "");
    const conf = { cniVersion: "1.0.0", name: "regnet", type: "tuning", mtu: 1400, dataDir: data.path };
    const r = runPlugin("tuning", { hostNetns: host.name, env: cniEnv("DEL", ctr.path, "eth0"), stdin: conf });
    expect([r.exitCode, r.stdout]).toEqual([0, ""]);
    expect(readdirSync(data.path)).toEqual([]);
  });
});
