// test/support/dhcp.ts: what the dhcp tests run against: a throwaway "network" netns with a bridge and a real DHCP
// server on it (dnsmasq; busybox udhcpd where a lease must be shorter than dnsmasq's 2-minute minimum), pods joined
// to it by a veth each, and `dhcp daemon` processes. Every process is started under `timeout -s KILL`, so none can
// outlive a crashed test run by more than that bound, and is killed (its whole process group) on dispose.
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { ipIn, nsName } from "./ns-exec.ts";
import { ipJson, RUN_PREFIX, tempNetns, type TempNetns } from "./netns.ts";
import { isAlive } from "./process.ts";
import { OURS } from "./run-plugin.ts";
import { tempDir, type TempDir } from "./temp-dir.ts";
import { waitFor } from "./wait.ts";

/** No helper process may live longer than this, whatever happens to the test run. */
const PROCESS_BOUND_S = 120;
export const SERVER_IP = "10.77.0.1";
export const BRIDGE = "br0";
let vethCounter = 0;

/** A process started in a netns under `timeout`: its pid is timeout's, the leader of the process group. */
export interface Proc extends Disposable {
  pid: number;
  /** Sends sig to the whole group and waits (up to 5 s, then SIGKILL) until the process is gone. */
  stop(sig?: NodeJS.Signals): void;
  alive(): boolean;
}

/** Starts argv inside netns `ns` (or the caller's when undefined) with stderr to `logFile` (stdout discarded). */
export function startProcess(ns: TempNetns | string | undefined, argv: string[], logFile: string, env: Record<string, string> = {}): Proc {
  const wrapped = ["timeout", "-s", "KILL", String(PROCESS_BOUND_S), ...argv];
  const full = ns === undefined ? wrapped : ["ip", "netns", "exec", nsName(ns), ...wrapped];
  const p = Bun.spawn(full, { stdin: "ignore", stdout: "ignore", stderr: Bun.file(logFile), env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin:/sbin:/bin", ...env } });
  const pid = p.pid;
  const proc: Proc = {
    pid,
    alive: () => isAlive(pid),
    stop(sig: NodeJS.Signals = "SIGTERM") {
      if (!isAlive(pid)) return;
      try {
        process.kill(-pid, sig); // timeout leads its own process group: this reaches the program too
      } catch {
        return;
      }
      try {
        waitFor(() => !isAlive(pid), `pid ${pid} to exit after ${sig}`, 5000);
      } catch {
        try {
          process.kill(-pid, "SIGKILL");
        } catch {
          // already gone
        }
      }
    },
    [Symbol.dispose]() {
      // SIGTERM first: timeout passes it on and waits for its child, so nothing is left for init to reap.
      proc.stop("SIGTERM");
    },
  };
  return proc;
}

/** A bridge in its own netns with a DHCP server on it; pods join with attach(). */
export interface DhcpNetwork extends Disposable {
  ns: TempNetns;
  dir: TempDir;
  server: Proc;
  logFile: string;
  leaseFile: string;
  /** Joins a pod: a veth with `ifname` in the pod's netns (left down: dhcp brings it up) and its peer on the bridge. */
  attach(ctr: TempNetns, ifname?: string): { mac: string };
}

function bridgeNetwork(tag: string): { ns: TempNetns; dir: TempDir } {
  const ns = tempNetns(`${tag}-net`);
  const dir = tempDir(`${tag}-net`);
  ipIn(ns, ["link", "add", BRIDGE, "type", "bridge"]);
  ipIn(ns, ["addr", "add", `${SERVER_IP}/24`, "dev", BRIDGE]);
  ipIn(ns, ["link", "set", BRIDGE, "up"]);
  return { ns, dir };
}

function network(ns: TempNetns, dir: TempDir, server: Proc, logFile: string, leaseFile: string): DhcpNetwork {
  return {
    ns, dir, server, logFile, leaseFile,
    attach(ctr: TempNetns, ifname = "eth0") {
      const host = `${RUN_PREFIX.slice(0, 8)}v${++vethCounter}`.slice(0, 15);
      ipIn(ns, ["link", "add", host, "type", "veth", "peer", "name", ifname, "netns", ctr.name]);
      ipIn(ns, ["link", "set", host, "master", BRIDGE, "up"]);
      return { mac: linkOf(ctr, ifname).address };
    },
    [Symbol.dispose]() {
      server.stop("SIGTERM");
      ns[Symbol.dispose]();
      dir[Symbol.dispose]();
    },
  };
}

/**
 * Returns a network served by dnsmasq: 10.77.0.0/24, router 10.77.0.1, 2-minute leases (dnsmasq's minimum) with
 * T1 3 s and T2 5 s, no ping before offering; `extra` adds dnsmasq options. Waits until dnsmasq has bound its socket.
 */
export function dnsmasqNetwork(tag: string, extra: string[] = []): DhcpNetwork {
  const { ns, dir } = bridgeNetwork(tag);
  const logFile = `${dir.path}/dnsmasq.log`;
  const leaseFile = `${dir.path}/dnsmasq.leases`;
  const server = startProcess(ns, [
    "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", `--interface=${BRIDGE}`, "--bind-interfaces", "--no-ping",
    "--dhcp-authoritative", "--dhcp-range=10.77.0.10,10.77.0.200,255.255.255.0,2m", "--dhcp-option=option:router,10.77.0.1",
    "--dhcp-option=option:T1,3", "--dhcp-option=option:T2,5", `--dhcp-leasefile=${leaseFile}`, "--log-dhcp",
    `--log-facility=${logFile}`, ...extra,
  ], `${dir.path}/dnsmasq.out`);
  const net = network(ns, dir, server, logFile, leaseFile);
  try {
    waitFor(() => existsSync(logFile) && readFileSync(logFile, "utf8").includes("DHCP, sockets bound"), "dnsmasq to bind its DHCP socket");
  } catch (e) {
    net[Symbol.dispose]();
    throw new Error(`${(e as Error).message}: ${readFileSync(`${dir.path}/dnsmasq.out`, "utf8")}`);
  }
  return net;
}

/** Returns the busybox that has udhcpd, or undefined. */
export function udhcpd(): string | undefined {
  for (const b of ["/bin/busybox", "/usr/bin/busybox"]) {
    if (existsSync(b) && Bun.spawnSync([b, "udhcpd", "--help"], { stderr: "pipe" }).stderr.toString().includes("udhcpd")) return b;
  }
  return undefined;
}

/** Returns a network served by busybox udhcpd with `leaseSeconds` leases (no minimum), router 10.77.0.1. */
export function udhcpdNetwork(tag: string, busybox: string, leaseSeconds: number): DhcpNetwork {
  const { ns, dir } = bridgeNetwork(tag);
  const leaseFile = `${dir.path}/udhcpd.leases`;
  const logFile = `${dir.path}/udhcpd.log`;
  writeFileSync(leaseFile, "");
  writeFileSync(`${dir.path}/udhcpd.conf`, [
    "start 10.77.0.60", "end 10.77.0.70", `interface ${BRIDGE}`, `lease_file ${leaseFile}`, `pidfile ${dir.path}/udhcpd.pid`,
    "option subnet 255.255.255.0", "option router 10.77.0.1", `option lease ${leaseSeconds}`, "min_lease 1", "max_leases 11",
  ].join("\n") + "\n");
  const server = startProcess(ns, [busybox, "udhcpd", "-f", `${dir.path}/udhcpd.conf`], logFile);
  const net = network(ns, dir, server, logFile, leaseFile);
  try {
    waitFor(() => existsSync(`${dir.path}/udhcpd.pid`), "udhcpd to start");
  } catch (e) {
    net[Symbol.dispose]();
    throw new Error(`${(e as Error).message}: ${readFileSync(logFile, "utf8")}`);
  }
  return net;
}

/** One line of dnsmasq's lease file. */
export interface DnsmasqLease {
  expiry: number;
  mac: string;
  ip: string;
  hostname: string;
  clientId: string;
}

/** Returns dnsmasq's current leases. */
export function dnsmasqLeases(net: DhcpNetwork): DnsmasqLease[] {
  if (!existsSync(net.leaseFile)) return [];
  return readFileSync(net.leaseFile, "utf8").split("\n").filter((l) => l.trim() !== "").map((l) => {
    const [expiry, mac, ip, hostname, clientId] = l.split(" ");
    return { expiry: Number(expiry), mac: mac!, ip: ip!, hostname: hostname!, clientId: clientId! };
  });
}

/** Returns how many times dnsmasq logged `<what>(br0) … <mac>` (DHCPDISCOVER, DHCPACK, DHCPRELEASE …). */
export function logCount(net: DhcpNetwork, what: string, mac: string): number {
  if (!existsSync(net.logFile)) return 0;
  return readFileSync(net.logFile, "utf8").split("\n").filter((l) => l.includes(` ${what}(${BRIDGE}) `) && l.includes(mac)).length;
}

/** Returns dnsmasq's text form of option 61 as dhcp sends it: type 0, then the id's bytes, colon-separated hex. */
export function dnsmasqClientId(clientID: string): string {
  return ["00", ...Array.from(new TextEncoder().encode(clientID), (b) => b.toString(16).padStart(2, "0"))].join(":");
}

/** A running `dhcp daemon`. */
export interface Daemon extends Disposable {
  proc: Proc;
  socket: string;
  leaseDir: string;
  logFile: string;
  log(): string;
}

/**
 * Starts `dhcp daemon` from `binDir` (ours unless told) in netns `host` with its socket (and, for ours, its lease
 * directory) in `dir`, plus `args`; waits until the socket is there. Throws with the daemon's log when it does not come up.
 */
export function startDaemon(host: TempNetns, dir: string, args: string[] = [], name = "dhcp", binDir = OURS): Daemon {
  const socket = `${dir}/${name}.sock`;
  const leaseDir = `${dir}/${name}-leases`;
  const logFile = `${dir}/${name}-daemon.log`;
  const ours = binDir === OURS ? ["-leasedir", leaseDir] : []; // the Go daemon keeps leases in memory only
  const proc = startProcess(host, [`${binDir}/dhcp`, "daemon", "-socketpath", socket, ...ours, ...args], logFile);
  const d: Daemon = {
    proc, socket, leaseDir, logFile,
    log: () => (existsSync(logFile) ? readFileSync(logFile, "utf8") : ""),
    [Symbol.dispose]() {
      proc.stop("SIGTERM");
    },
  };
  try {
    // Ours says when it listens (its socket may be given again by -socketpath in args); Go's is silent till then.
    const up = () => (binDir === OURS ? d.log().includes("dhcp daemon listening") : existsSync(socket));
    waitFor(() => up() || !proc.alive(), "dhcp daemon to listen");
    if (!proc.alive()) throw new Error("dhcp daemon exited");
  } catch (e) {
    d[Symbol.dispose]();
    throw new Error(`${(e as Error).message}: ${d.log()}`);
  }
  return d;
}

/** Returns the link `name` in netns ns as `ip -j -d link show` reports it. */
export function linkOf(ns: TempNetns, name: string): { ifname: string; address: string; flags: string[]; operstate: string } {
  return (ipJson(ns, ["-d", "link", "show", name]) as { ifname: string; address: string; flags: string[]; operstate: string }[])[0]!;
}

/** Returns the IPv4 addresses on a link of ns as `a.b.c.d/n`. */
export function addrsOf(ns: TempNetns, name: string): string[] {
  const links = ipJson(ns, ["-4", "addr", "show", "dev", name]) as { addr_info: { local: string; prefixlen: number }[] }[];
  return links.flatMap((l) => l.addr_info.map((a) => `${a.local}/${a.prefixlen}`));
}
