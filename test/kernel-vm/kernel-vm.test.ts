// test/kernel-vm/kernel-vm.test.ts: the in-guest suite as bun tests. At load it boots Debian's cloud kernel under
// qemu ONCE (run.sh builds the initramfs from our bin/ and cases/*.sh), then declares one test per PASS/FAIL line
// the guest printed, plus one for the T_END sentinel. When qemu cannot be installed or the kernel cannot be fetched,
// it declares one skipped test whose name carries the reason. README.md beside this file has the layout and API.
//
// What each guest case covers that the host kernel cannot do; a host-side test that skips for a missing kernel kind
// can name the case here ("covered in the kernel VM: kinds/ipvlan l2"):
//   boot/modprobe …        veth ipvlan 8021q dummy vrf bridge load (plus every module a case names)
//   boot/our executable …  the compiled Bun executable runs on the guest kernel (-cpu max)
//   kinds/ipvlan l2|l3|l3s ipvlan links on a veth master, mode read back with `ip -d -j`   (host: no ipvlan)
//   kinds/vlan id 100      802.1Q vlan on a veth                                          (host: no 8021q)
//   kinds/dummy            dummy links                                                     (host: no dummy)
//   kinds/vrf …            vrf table 10, a member, `ip route show vrf`                     (host: no vrf)
//   kinds/bridge …         bridge vlan_filtering 1 (netlink and sysfs), `bridge vlan add … pvid untagged`
//                                                                         (host: vlan_filtering is ignored)
//   sanity/…               loopback, ptp + host-local ADD/CHECK/DEL/DEL and a ping, in the guest kernel
//                          (the host runs these too: this case proves the harness, not a missing kind)
//   ipvlan/…               our ipvlan plugin: l2 slave for every spec version, l2/l3/l3s pings between two containers,
//                          chained prevResult reuse, linkInContainer, MTU set/refused, CHECK/DEL/DEL again (host: no ipvlan)
//   vlan/…                 our vlan plugin: ids 0/100/4094, MTU explicit/inherited/too large/negative, linkInContainer,
//                          ping across VLAN 100 over a veth pair (none across 100/200), CHECK, name clash and failed
//                          route rolled back, DEL/DEL again, DEL with the master or the netns gone    (host: no 8021q)
//   dummy/…                our dummy plugin: IPv4+IPv6 from host-local, routes passed through, CHECK (and link down),
//                          name clash left alone, failed route rolled back, DEL/DEL again/netns gone  (host: no dummy)
//   bridge-vlan/…          our bridge + host-local on a filtering bridge: vlan 100 access ports, vlanTrunk ranges
//                          + ids with native VLAN 1, preserveDefaultVlan true/false, isGateway with vlan (gateway
//                          on cnivl0.100, once in results), pings within a VLAN and across a trunk, none across
//                          VLANs, ADD/CHECK/DEL/DEL again        (host: vlan_filtering is ignored)
//   vrf/…                  our vrf plugin after bridge + host-local and after hand-made veths: new VRF (first free
//                          table), existing VRF, tables 0/explicit, routes moved into the VRF table, IPv6 addresses
//                          re-added, pings through the VRF, CHECK, bad input leaves no VRF, 0.3.1-1.1.0, last member's
//                          DEL removes the VRF, DEL again / netns gone                       (host: no vrf)
// Cases that run our ipvlan/vlan/dummy/vrf/bridge-vlan plugins add their files to cases/ and their lines here.
import { describe, test } from "bun:test";
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { OURS } from "../support/run-plugin.ts";

const ROOT = resolve(import.meta.dir, "../..");
const OUT = process.env.KERNEL_VM_OUT ?? `${ROOT}/.test-out/kernel-vm`;
// run.sh limits qemu to 480 s (TCG under a loaded CI machine is slow: ~130 s idle, ~220 s loaded); this bounds the whole run (install, download, build, boot) for `make test`.
const HARD_LIMIT_S = 600;

interface GuestCheck {
  name: string;
  passed: boolean;
  /** The `| ` lines after a FAIL: the failed command's output. */
  detail: string[];
}

interface Boot {
  skipReason?: string;
  exitCode: number;
  log: string;
  checks: GuestCheck[];
  sentinel?: { pass: number; fail: number };
}

const boot = bootOnce();

if (boot.skipReason !== undefined) {
  test.skip(`kernel VM suite skipped: ${boot.skipReason}`, () => {});
} else {
  describe("kernel-vm", () => {
    for (const check of boot.checks) {
      test(check.name, () => {
        if (!check.passed) throw new Error(`failed in the guest:\n${check.detail.join("\n")}`);
      });
    }
    test("the guest ran to T_END with fail=0 and no kernel panic", () => {
      const passed = boot.checks.filter((c) => c.passed).length;
      const panicked = /Kernel panic/.test(boot.log);
      let problem = "";
      if (panicked) problem = "kernel panic";
      else if (boot.sentinel === undefined) problem = "no T_END line (the boot failed, a case hung, or qemu was killed)";
      else if (boot.sentinel.fail !== 0) problem = `T_END reports fail=${boot.sentinel.fail}; the failed checks are the tests above`;
      else if (boot.sentinel.pass !== passed) problem = `T_END reports pass=${boot.sentinel.pass} but the log has ${passed} PASS lines`;
      else if (boot.exitCode !== 0) problem = `run.sh exited ${boot.exitCode}; its messages are above`;
      // The log tail only helps when the guest did not get to report by itself.
      if (problem && (panicked || boot.sentinel === undefined)) {
        problem += `\n---- last 50 lines of ${OUT}/serial.log ----\n${boot.log.split("\n").slice(-50).join("\n")}`;
      }
      if (problem) throw new Error(problem);
    });
  });
}

/** Returns the outcome of one run.sh: a skip reason, or the serial log and the checks it reports. */
function bootOnce(): Boot {
  const p = Bun.spawnSync(["timeout", "--kill-after=10", String(HARD_LIMIT_S), "bash", `${import.meta.dir}/run.sh`, OURS], {
    env: { ...process.env, KERNEL_VM_OUT: OUT },
    stdout: "pipe",
    stderr: "inherit", // progress lines, and the live console under KERNEL_VM_VERBOSE=1
  });
  const exitCode = p.exitCode ?? -1;
  const skip = p.stdout.toString().match(/^SKIP (.*)$/m);
  if (exitCode === 77 && skip) return { skipReason: skip[1]!, exitCode, log: "", checks: [] };
  const logPath = `${OUT}/serial.log`;
  let log = existsSync(logPath) ? readFileSync(logPath, "latin1") : "";
  if (exitCode === 124 || exitCode === 137) log += `\n(run.sh killed after ${HARD_LIMIT_S} s)`;
  else if (log === "") log = `(no serial log: run.sh exited ${exitCode}; its messages are above)`;
  return { exitCode, ...parseSerialLog(log) };
}

/** Returns the checks and the sentinel of a serial log; SeaBIOS escapes and kernel lines in between are ignored. */
function parseSerialLog(raw: string): { log: string; checks: GuestCheck[]; sentinel?: { pass: number; fail: number } } {
  const log = raw.replace(/\r/g, "").replace(/\x1b\[[0-9;?]*[A-Za-z]|\x1bc/g, "");
  const checks: GuestCheck[] = [];
  let sentinel: { pass: number; fail: number } | undefined;
  for (const line of log.split("\n")) {
    let m: RegExpMatchArray | null;
    if ((m = line.match(/^PASS (.+)$/))) checks.push({ name: m[1]!, passed: true, detail: [] });
    else if ((m = line.match(/^FAIL (.+) \(exit (\d+)\)$/))) checks.push({ name: m[1]!, passed: false, detail: [`exit ${m[2]}`] });
    else if (line.startsWith("| ") && checks.at(-1)?.passed === false) checks.at(-1)!.detail.push(line.slice(2));
    else if ((m = line.match(/^T_END pass=(\d+) fail=(\d+)$/))) sentinel = { pass: Number(m[1]), fail: Number(m[2]) };
  }
  return { log, checks, sentinel };
}
