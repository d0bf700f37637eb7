// test/support/firewall.ts: what the firewall tests share: the filter tables of a throwaway netns as iptables-save
// prints them and the lines the plugin must leave there (upstream's rules, SPEC-DIGEST §3.3), a private D-Bus system
// bus (dbus-daemon on a throwaway socket) with a fake firewalld on it (fake-firewalld-fixture.ts), and a prevResult.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import type { TempNetns } from "./netns.ts";
import { attachmentResult } from "./result.ts";
import { execIn } from "./ns-exec.ts";
import { tempDir, type TempDir } from "./temp-dir.ts";
import { waitFor } from "./wait.ts";

// ---------- iptables ----------

/** Returns the `iptables-save -t filter` lines (`ip6tables-save` for 6) of the netns, without comments. */
export function filterRules(ns: TempNetns | string, family: 4 | 6): string[] {
  const tool = family === 4 ? "iptables-save" : "ip6tables-save";
  return execIn(ns, [tool, "-t", "filter"]).split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** The filter table of a netns nothing has touched. */
export const FRESH_FILTER = ["*filter", ":INPUT ACCEPT [0:0]", ":FORWARD ACCEPT [0:0]", ":OUTPUT ACCEPT [0:0]", "COMMIT"];

const q = (s: string) => `"${s}"`;
export const RULES_COMMENT = q("CNI firewall plugin rules");
export const ADMIN_COMMENT = q("CNI firewall plugin admin overrides");
export const DEFAULT_POLICY_COMMENT = q("CNI firewall plugin rules (ingressPolicy: same-bridge|isolated)");
export const policyComment = (p: string) => q(`CNI firewall plugin rules (ingressPolicy: ${p})`);

/** FORWARD's jump to CNI-FORWARD, as printed. */
export const FORWARD_JUMP = `-A FORWARD -m comment --comment ${RULES_COMMENT} -j CNI-FORWARD`;
/** CNI-FORWARD's jump to the admin chain, as printed. */
export const adminJumpLine = (admin = "CNI-ADMIN") => `-A CNI-FORWARD -m comment --comment ${ADMIN_COMMENT} -j ${admin}`;

/** Returns the two CNI-FORWARD lines of one address (`10.1.2.3` or `fd00::3`), as printed. */
export function addressLines(ip: string): string[] {
  const p = ip.includes(":") ? 128 : 32;
  return [`-A CNI-FORWARD -d ${ip}/${p} -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT`, `-A CNI-FORWARD -s ${ip}/${p} -j ACCEPT`];
}

/**
 * Returns a filter table as iptables-save prints it: the built-in chains, then the user chains sorted by name, then
 * every chain's rules (`-A …` lines) in that same chain order.
 */
export function filterTable(rules: Record<string, string[]>): string[] {
  const builtin = ["INPUT", "FORWARD", "OUTPUT"];
  const user = Object.keys(rules).filter((c) => !builtin.includes(c)).sort();
  return [
    "*filter", ...builtin.map((c) => `:${c} ACCEPT [0:0]`), ...user.map((c) => `:${c} - [0:0]`),
    ...[...builtin, ...user].flatMap((c) => rules[c] ?? []), "COMMIT",
  ];
}

/** Returns the chains and rules of the iptables backend for these addresses (in ADD order), for filterTable. */
export function backendRules(ips: string[], admin = "CNI-ADMIN"): Record<string, string[]> {
  return { FORWARD: [FORWARD_JUMP], "CNI-FORWARD": [adminJumpLine(admin), ...ips.flatMap(addressLines)], [admin]: [] };
}

/** Returns the isolation lines for the bridges (in ADD order) as iptables-save prints the chains' rules. */
export function isolationLines(bridges: { name: string; policy: "same-bridge" | "isolated" }[]): { forward: string; stage1: string[]; stage2: string[] } {
  const stage1: string[] = [];
  const stage2: string[] = [];
  for (const b of bridges) {
    const p = policyComment(b.policy);
    stage1.unshift(`-A CNI-ISOLATION-STAGE-1 -i ${b.name} ! -o ${b.name} -m comment --comment ${p} -j CNI-ISOLATION-STAGE-2`);
    if (b.policy === "isolated") stage1.unshift(`-A CNI-ISOLATION-STAGE-1 -i ${b.name} -o ${b.name} -m comment --comment ${p} -j DROP`);
    stage2.unshift(`-A CNI-ISOLATION-STAGE-2 -o ${b.name} -m comment --comment ${DEFAULT_POLICY_COMMENT} -j DROP`);
  }
  return {
    forward: `-A FORWARD -m comment --comment ${DEFAULT_POLICY_COMMENT} -j CNI-ISOLATION-STAGE-1`,
    stage1: [...stage1, `-A CNI-ISOLATION-STAGE-1 -m comment --comment ${DEFAULT_POLICY_COMMENT} -j RETURN`],
    stage2: [...stage2, `-A CNI-ISOLATION-STAGE-2 -m comment --comment ${DEFAULT_POLICY_COMMENT} -j RETURN`],
  };
}

// ---------- results ----------

/**
 * Returns a prevResult as a bridge ADD of that version prints it (bridge, host veth, container interface; these
 * addresses on the container interface), keys in printed order: it is also the exact stdout of firewall's ADD.
 */
export function bridgePrevResult(version: string, bridge: string, addresses: string[], sandbox = "/var/run/netns/x"): Record<string, unknown> {
  const interfaces = [
    { name: bridge, mac: "02:00:00:00:00:01" }, { name: "veth0123abcd", mac: "02:00:00:00:00:02" }, { name: "eth0", mac: "02:00:00:00:00:03", sandbox },
  ];
  return attachmentResult(version, interfaces, 2, addresses.map((address) => ({ address }))) as Record<string, unknown>;
}

/** Returns a firewall network config of that version. */
export function firewallConf(version: string, extra: object = {}): Record<string, unknown> {
  return { cniVersion: version, name: "fwnet", type: "firewall", ...extra };
}

// ---------- D-Bus ----------

/** A private system bus: dbus-daemon listening on `address`; disposing stops it and removes its directory. */
export interface PrivateBus {
  address: string;
  dir: TempDir;
  [Symbol.dispose](): void;
}

/**
 * Returns why no private bus can run here ("" when it can). dbus-daemon is Debian's `dbus-daemon` package; when it is
 * missing it is installed (only the binary package: no bus is started on the host).
 */
export function privateBusUnavailable(): string {
  if (Bun.which("dbus-daemon") !== null) return "";
  const p = Bun.spawnSync(["apt-get", "install", "-y", "--no-install-recommends", "dbus-daemon"], {
    env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" },
    stdout: "pipe",
    stderr: "pipe",
  });
  if (p.exitCode === 0 && Bun.which("dbus-daemon") !== null) return "";
  return `dbus-daemon is missing and could not be installed: ${p.stderr.toString().trim().split("\n").pop()}`;
}

/** Starts dbus-daemon on a throwaway unix socket with a policy that lets root own and call anything. */
export function startPrivateBus(role: string): PrivateBus {
  const dir = tempDir(role);
  const socket = `${dir.path}/system_bus_socket`;
  writeFileSync(
    `${dir.path}/bus.conf`,
    `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN" "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=${socket}</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <allow own="*"/>
    <allow send_destination="*"/>
    <allow receive_sender="*"/>
  </policy>
</busconfig>
`,
  );
  const p = Bun.spawn(["dbus-daemon", `--config-file=${dir.path}/bus.conf`, "--nofork", "--nopidfile", "--nosyslog"], { stdout: "ignore", stderr: "ignore" });
  const stop = () => {
    p.kill();
    dir[Symbol.dispose]();
  };
  try {
    waitFor(() => existsSync(socket), `dbus-daemon to listen on ${socket}`);
  } catch (e) {
    stop();
    throw e;
  }
  return { address: `unix:path=${socket}`, dir, [Symbol.dispose]: stop };
}

/** What the fake firewalld holds: sources per zone, and every zone call in order. */
export interface FirewalldState {
  sources: Record<string, string[]>;
  calls: { member: string; args: unknown[] }[];
}

/** A running fake firewalld; disposing stops it. */
export interface FakeFirewalld {
  state(): FirewalldState;
  [Symbol.dispose](): void;
}

const FIXTURE = new URL("./fake-firewalld-fixture.ts", import.meta.url).pathname;

/** Starts the fake firewalld on the bus and waits until it owns its name; `refuse` sources make addSource fail. */
export function startFakeFirewalld(bus: PrivateBus, refuse: string[] = []): FakeFirewalld {
  const stateFile = `${bus.dir.path}/firewalld-${Date.now()}-${Math.random().toString(36).slice(2)}.json`;
  const p = Bun.spawn([process.execPath, FIXTURE, bus.address, stateFile, ...refuse.map((s) => `--refuse=${s}`)], { stdout: "ignore", stderr: "pipe" });
  try {
    waitFor(() => existsSync(stateFile) || p.exitCode !== null, "the fake firewalld to own its name");
    if (p.exitCode !== null) throw new Error(`fake firewalld exited with ${p.exitCode}`);
  } catch (e) {
    p.kill();
    throw e;
  }
  return {
    state: () => JSON.parse(readFileSync(stateFile, "utf8")) as FirewalldState,
    [Symbol.dispose]: () => p.kill(),
  };
}
