// podman 4.3 (Debian 12) with its CNI backend on our bin/, end to end: `podman network create` writes its own
// conflist (bridge + host-local, portmap, firewall, tuning; dual stack) into a private network_config_dir, and
// busybox containers (an image built here from busybox-static, no registry) run on it with a published port, a
// static IP and MAC. Container to container and container to host (ping and HTTP over IPv4 and IPv6, the host's
// published port hairpinned from a container), the published port reached from the host (its NIC's IPv4 and IPv6
// address, 127.0.0.1, the gateway), `podman network reload` after the firewall rules were flushed (same IP and MAC),
// stop (DEL) and start (ADD again), then removal leaving no link, rule, reservation or cache entry. The kernel state
// is read back whole: links, addresses, iptables-save of both families, host-local's files, libcni's cache.
//
// Everything runs in a sandbox (sandbox.ts): a throwaway host netns and a private mount namespace, podman with its own
// containers.conf (CONTAINERS_CONF), storage.conf and temp dirs; the last test checks the real host is unchanged.
// When podman cannot run a container here at all, the file is one skipped test saying why.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { backendRules, filterRules, filterTable } from "../support/firewall.ts";
import { addrsIn, linksIn } from "../support/link-state.ts";
import { masqLines, natRules } from "../support/masquerade.ts";
import { RUN_PREFIX } from "../support/netns.ts";
import { execIn, ipIn } from "../support/ns-exec.ts";
import { chainOf, markChainRules, natTable, topLevelLines } from "../support/portmap.ts";
import { OURS, unmetNeeds } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { waitFor } from "../support/wait.ts";
import { hostFootprint, type Footprint } from "./host-footprint.ts";
import { buildRootfsTar, IMAGE, whyNoBusybox } from "./image.ts";
import { Sandbox } from "./sandbox.ts";

const TAG = "podman";
const NET = `${RUN_PREFIX}-pmnet`;
const SUBNET4 = "10.89.0.0/24";
const SUBNET6 = "fd00:89::/64";
const GW4 = "10.89.0.1";
const GW6 = "fd00:89::1";
const SRV4 = "10.89.0.10"; // podman run --ip
const SRV_MAC = "02:42:0a:59:00:0a"; // podman run --mac-address
const NIC = `${RUN_PREFIX}n0`; // the host's "NIC": a veth in the throwaway host netns
const NIC4 = "192.0.2.1";
const NIC6 = "2001:db8::1";
const HOST_PORT = 20000 + Math.floor(Math.random() * 20000); // published: HOST_PORT → srv:80
const HOST_SERVER_PORT = HOST_PORT + 1; // busybox httpd in the host netns, for container → host
const CGROUP = `${RUN_PREFIX}-podman`;
const SRV = `${RUN_PREFIX}-srv`;
const MARK = `served by ${SRV}`;
const SERVE = `trap "exit 0" TERM; echo "${MARK}" > /www/index.html; httpd -f -p 80 -h /www & wait`;

interface World {
  sb: Sandbox;
  env: Record<string, string>;
  netDir: string;
  before: Footprint;
}

const needs = unmetNeeds({
  tools: ["podman", "runc", "curl", "nsenter", "unshare", "tar", "ip", "iptables-save", "ip6tables-save", "ss"],
  ours: ["bridge", "host-local", "portmap", "firewall", "tuning"],
});
const why = needs || whyNoBusybox();
let world: World | undefined;
let setUpError = "";
if (why === "") {
  try {
    world = setUp();
  } catch (e) {
    setUpError = `podman cannot run a container here: ${(e as Error).message}`;
  }
}
cleanUpAfterAll(TAG, world?.sb);

if (world === undefined) {
  test.skip(`podman on our plugins: ${why || setUpError}`, () => {});
} else {
  const w = world;
  describe("podman 4.3, CNI backend, on our plugins", () => {
    let srvId = "";
    let srv6 = "";

    test("installing podman started no service on the host (no podman or conmon process, no /run/podman)", () => {
      expect(w.before.processes.filter((p) => / (podman|conmon)$/.test(p))).toEqual([]);
      expect(w.before.paths).toContain("/run/podman: absent");
    });

    test("podman network create writes a dual-stack conflist of bridge, portmap, firewall and tuning", () => {
      expect(podman(w, ["info", "--format", "{{.Host.NetworkBackend}}"]).trim()).toBe("cni");
      podman(w, ["network", "create", "--subnet", SUBNET4, "--subnet", SUBNET6, NET]);
      const conf = JSON.parse(readFileSync(join(w.netDir, `${NET}.conflist`), "utf8"));
      expect({ cniVersion: conf.cniVersion, name: conf.name, types: conf.plugins.map((p: { type: string }) => p.type) })
        .toEqual({ cniVersion: "0.4.0", name: NET, types: ["bridge", "portmap", "firewall", "tuning"] });
      expect(conf.plugins[0].ipam.ranges).toEqual([[{ subnet: SUBNET4, gateway: GW4 }], [{ subnet: SUBNET6, gateway: GW6 }]]);
    });

    test("a container with a published port, a static IP and MAC: host state, container to container and to host", () => {
      srvId = podman(w, ["run", "-d", "--pull", "never", "--name", SRV, "--network", NET, "--ip", SRV4, "--mac-address", SRV_MAC,
        "-p", `${HOST_PORT}:80`, "--cgroup-parent", `/${CGROUP}`, IMAGE, "sh", "-c", SERVE]).trim();
      const net = inspectNet(w, SRV);
      srv6 = net.GlobalIPv6Address;
      expect({ ip: net.IPAddress, len: net.IPPrefixLen, gw: net.Gateway, mac: net.MacAddress, gw6: net.IPv6Gateway, len6: net.GlobalIPv6PrefixLen })
        .toEqual({ ip: SRV4, len: 24, gw: GW4, mac: SRV_MAC, gw6: GW6, len6: 64 });
      expect(srv6).toStartWith("fd00:89::");
      waitFor(() => curl(w, `http://${SRV4}/`) === MARK, "httpd in the container", 10_000);

      // host side: the bridge with both gateways, the veth on it, every rule of the four plugins, the reservations
      const bridge = bridgeName(w);
      expect(addrsIn(w.sb.host, bridge).map((a) => `${a.local}/${a.prefixlen}`)).toEqual([`${GW4}/24`, `${GW6}/64`]);
      expect(linksIn(w.sb.host).filter((l) => l.kind === "veth" && l.master === bridge)).toHaveLength(1);
      expect(natRules(w.sb.host, 4).map(noCounters)).toEqual(natWithSrv(srvId, `${SRV4}/24`, SUBNET4));
      expect(natRules(w.sb.host, 6).map(noCounters)).toEqual(natWithSrv(srvId, `${srv6}/64`, SUBNET6));
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([SRV4])));
      expect(filterRules(w.sb.host, 6)).toEqual(filterTable(backendRules([srv6])));
      expect(held(w)).toEqual({ [SRV4]: `${srvId}\r\neth0`, [srv6]: `${srvId}\r\neth0` });
      expect(cacheFiles(w)).toEqual([`${NET}-${srvId}-eth0`]);

      // a second container: to the first by IPv4 and IPv6 (ping, HTTP), to the host (gateways, a host server, the
      // published port through the host's own address). The bridge's IPv6 gateway answers once the kernel's DAD is
      // done with it (about a second after the first port came up; like upstream's, our bridge does not wait for it).
      waitFor(() => addrsIn(w.sb.host, bridge, { tentative: true }).every((a) => !a.tentative), "DAD of the bridge's IPv6 gateway", 5000);
      const script = [
        "set -e",
        `ping -c1 -W2 ${SRV4} >/dev/null; echo ping ${SRV4}`,
        `ping -c1 -W2 ${srv6} >/dev/null; echo ping ${srv6}`,
        `wget -qO- http://${SRV4}/`,
        `wget -qO- http://[${srv6}]/`,
        `ping -c1 -W2 ${GW4} >/dev/null; echo ping ${GW4}`,
        `ping -c1 -W2 ${GW6} >/dev/null; echo ping ${GW6}`,
        `wget -qO- http://${GW4}:${HOST_SERVER_PORT}/`,
        `wget -qO- http://[${GW6}]:${HOST_SERVER_PORT}/`,
        `wget -qO- http://${NIC4}:${HOST_PORT}/`,
      ].join("\n");
      const cli = w.sb.run(["podman", "run", "--rm", "--pull", "never", "--network", NET, "--cap-add", "NET_RAW",
        "--cgroup-parent", `/${CGROUP}`, IMAGE, "sh", "-c", script], w.env);
      expect({ exitCode: cli.exitCode, stdout: cli.stdout.trim().split("\n"), stderr: cli.stderr }).toEqual({
        exitCode: 0,
        stdout: [`ping ${SRV4}`, `ping ${srv6}`, MARK, MARK, `ping ${GW4}`, `ping ${GW6}`, "host", "host", MARK],
        stderr: "",
      });
      // its DEL left only the server's reservations and cache entry
      expect(held(w)).toEqual({ [SRV4]: `${srvId}\r\neth0`, [srv6]: `${srvId}\r\neth0` });
      expect(cacheFiles(w)).toEqual([`${NET}-${srvId}-eth0`]);

      // the published port from the host: its NIC's addresses, the gateway, localhost; the container directly
      for (const url of [`http://${NIC4}:${HOST_PORT}/`, `http://[${NIC6}]:${HOST_PORT}/`, `http://${GW4}:${HOST_PORT}/`,
        `http://127.0.0.1:${HOST_PORT}/`, `http://${SRV4}/`, `http://[${srv6}]/`]) {
        expect(`${url} ${curl(w, url)}`).toBe(`${url} ${MARK}`);
      }
    });

    test("podman network reload puts back what a firewall reload flushed, with the same addresses and MAC", () => {
      const before = inspectNet(w, SRV);
      for (const t of ["iptables", "ip6tables"]) {
        execIn(w.sb.host, ["sh", "-c", `${t} -t nat -F && ${t} -t nat -X && ${t} -F && ${t} -X`]);
      }
      expect([...natRules(w.sb.host, 4), ...natRules(w.sb.host, 6)].filter((l) => l.includes("CNI-"))).toEqual([]);
      podman(w, ["network", "reload", SRV]);
      const after = inspectNet(w, SRV);
      expect([after.IPAddress, after.GlobalIPv6Address, after.MacAddress]).toEqual([before.IPAddress, before.GlobalIPv6Address, before.MacAddress]);
      expect(natRules(w.sb.host, 4).map(noCounters)).toEqual(natWithSrv(srvId, `${SRV4}/24`, SUBNET4));
      expect(natRules(w.sb.host, 6).map(noCounters)).toEqual(natWithSrv(srvId, `${srv6}/64`, SUBNET6));
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([SRV4])));
      expect(filterRules(w.sb.host, 6)).toEqual(filterTable(backendRules([srv6])));
      expect(curl(w, `http://${NIC4}:${HOST_PORT}/`)).toBe(MARK);
      expect(curl(w, `http://[${NIC6}]:${HOST_PORT}/`)).toBe(MARK);
    });

    test("stop runs DEL (veth, rules, reservations, cache gone); start runs ADD again", () => {
      podman(w, ["stop", "-t", "10", SRV]);
      expect(linksIn(w.sb.host).filter((l) => l.kind === "veth" && l.ifname !== NIC && l.ifname !== `${NIC}p`)).toEqual([]);
      expect(natRules(w.sb.host, 4).map(noCounters)).toEqual(NAT_SHARED);
      expect(natRules(w.sb.host, 6).map(noCounters)).toEqual(NAT_SHARED);
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([])));
      expect(filterRules(w.sb.host, 6)).toEqual(filterTable(backendRules([])));
      expect(held(w)).toEqual({});
      expect(cacheFiles(w)).toEqual([]);

      podman(w, ["start", SRV]);
      waitFor(() => curl(w, `http://${NIC4}:${HOST_PORT}/`) === MARK, "the published port after start", 10_000);
      const net = inspectNet(w, SRV);
      expect([net.IPAddress, net.MacAddress]).toEqual([SRV4, SRV_MAC]);
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([SRV4])));
      expect(Object.keys(held(w))).toContain(SRV4);
      expect(cacheFiles(w)).toEqual([`${NET}-${srvId}-eth0`]);
    });

    test("removing the container and the network leaves no link, rule, reservation, cache entry or netns", () => {
      podman(w, ["rm", "-f", "-t", "10", SRV]);
      podman(w, ["network", "rm", NET]);
      expect(linksIn(w.sb.host).map((l) => l.ifname).sort()).toEqual(["lo", NIC, `${NIC}p`].sort());
      expect(natRules(w.sb.host, 4).map(noCounters)).toEqual(NAT_SHARED);
      expect(natRules(w.sb.host, 6).map(noCounters)).toEqual(NAT_SHARED);
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([])));
      expect(filterRules(w.sb.host, 6)).toEqual(filterTable(backendRules([])));
      // host-local keeps its lock and last-reserved files, as upstream's does; every reservation is gone
      expect(storeFiles(w)).toEqual(["last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
      expect(cacheFiles(w)).toEqual([]);
      expect(tree(w.sb.written("/run/cni"))).toEqual([]);
      expect(w.sb.must(["ls", "-A", "/run/netns"])).toBe("");
      expect(readdirSync(w.netDir).filter((f) => f.endsWith(".conflist"))).toEqual([]);
    });

    test("the real host is unchanged: links, rules, listeners, mounts, runtime directories, cgroups, processes", () => {
      w.sb[Symbol.dispose]();
      expect(hostFootprint()).toEqual(w.before);
    });
  });
}

/** The nat table with only the shared chains portmap leaves (as upstream, they stay once made). */
const NAT_SHARED = natTable(topLevelLines().chains, topLevelLines().rules, {
  "CNI-HOSTPORT-MASQ": [markChainRules()[0]!],
  "CNI-HOSTPORT-SETMARK": [markChainRules()[1]!],
});

/** Returns the nat table of one family with the server's masquerade (bridge ipMasq) and its published port (portmap). */
function natWithSrv(cid: string, address: string, subnet: string): string[] {
  const ip = address.split("/")[0]!;
  const v6 = ip.includes(":");
  const masq = masqLines(NET, cid, address, subnet);
  const masqName = masq.chain.slice(1).split(" ")[0]!;
  const dn = chainOf(NET, cid);
  const top = topLevelLines();
  return natTable([...top.chains, masq.chain, `:${dn} - [0:0]`], [...top.rules, masq.jump], {
    [masqName]: masq.rules,
    [dn]: [
      `-A ${dn} -s ${subnet} -p tcp -m tcp --dport ${HOST_PORT} -j CNI-HOSTPORT-SETMARK`,
      ...(v6 ? [] : [`-A ${dn} -s 127.0.0.1/32 -p tcp -m tcp --dport ${HOST_PORT} -j CNI-HOSTPORT-SETMARK`]),
      `-A ${dn} -p tcp -m tcp --dport ${HOST_PORT} -j DNAT --to-destination ${v6 ? `[${ip}]` : ip}:80`,
    ],
    "CNI-HOSTPORT-DNAT": [
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"${NET}\\" id: \\"${cid}\\"" -m multiport --dports ${HOST_PORT} -j ${dn}`,
    ],
    "CNI-HOSTPORT-MASQ": [markChainRules()[0]!],
    "CNI-HOSTPORT-SETMARK": [markChainRules()[1]!],
  });
}

function setUp(): World {
  const before = hostFootprint();
  // Containers go below --cgroup-parent; podman falls back to libpod_parent for a conmon whose container failed.
  const cgroups = [CGROUP, ...(before.cgroups.some((c) => c.endsWith("/libpod_parent")) ? [] : ["libpod_parent"])];
  const sb = new Sandbox({ tag: TAG, cgroups });
  try {
    const dir = sb.dir.path;
    const netDir = join(dir, "net.d");
    for (const d of ["net.d", "tmp", "www"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "containers.conf"), containersConf(dir));
    writeFileSync(join(dir, "storage.conf"), `[storage]\ndriver = "overlay"\ngraphroot = "${dir}/storage"\nrunroot = "${dir}/storage-run"\n`);
    const env = { CONTAINERS_CONF: join(dir, "containers.conf"), CONTAINERS_STORAGE_CONF: join(dir, "storage.conf") };
    const w: World = { sb, env, netDir, before };

    // the host's NIC (both families) and a server on the host for the containers to reach
    ipIn(sb.host, ["link", "add", NIC, "type", "veth", "peer", "name", `${NIC}p`]);
    ipIn(sb.host, ["addr", "add", `${NIC4}/24`, "dev", NIC]);
    ipIn(sb.host, ["addr", "add", `${NIC6}/64`, "dev", NIC, "nodad"]);
    for (const l of [NIC, `${NIC}p`]) ipIn(sb.host, ["link", "set", l, "up"]);
    writeFileSync(join(dir, "www/index.html"), "host\n");
    sb.spawn(["busybox", "httpd", "-f", "-p", String(HOST_SERVER_PORT), "-h", join(dir, "www")], {}, join(dir, "host-httpd.log"));
    waitFor(() => curl(w, `http://127.0.0.1:${HOST_SERVER_PORT}/`) === "host", "the host's httpd");

    podman(w, ["import", buildRootfsTar(dir), IMAGE]);
    // One container without a network proves podman, runc and the storage work here before any test relies on them.
    podman(w, ["run", "--rm", "--pull", "never", "--network", "none", "--cgroup-parent", `/${CGROUP}`, IMAGE, "true"]);
    return w;
  } catch (e) {
    sb[Symbol.dispose]();
    throw e;
  }
}

/**
 * Returns the containers.conf of the sandbox. The [network] table is what a user writes to run podman on our
 * plugins; the rest keeps podman's state in the sandbox and fits this machine (docs/runtimes.md says which is which).
 */
function containersConf(dir: string): string {
  const nofile = hardLimit("Max open files", 1048576);
  const nproc = hardLimit("Max processes", 32768);
  return [
    "[containers]",
    // Without CAP_SYS_RESOURCE (some sandboxes), runc cannot raise a limit: podman's root default (1048576 for
    // both) is refused, and so is any nproc above conmon's own, 32768 as observed here.
    `default_ulimits = ["nofile=${nofile}:${nofile}", "nproc=${nproc}:${nproc}"]`,
    "",
    "[network]",
    'network_backend = "cni"',
    `cni_plugin_dirs = ["${OURS}"]`,
    `network_config_dir = "${dir}/net.d"`,
    "",
    "[engine]",
    'cgroup_manager = "cgroupfs"',
    'events_logger = "none"',
    // crun 1.8 refuses hosts with cgroup v1 controllers next to cgroup v2 ("hybrid mode"); runc runs on both.
    'runtime = "runc"',
    `tmp_dir = "${dir}/tmp"`,
    "",
  ].join("\n");
}

/** Returns this process's hard limit from /proc/self/limits, capped at `cap`. */
function hardLimit(label: string, cap: number): number {
  const line = readFileSync("/proc/self/limits", "utf8").split("\n").find((l) => l.startsWith(label));
  const hard = line?.slice(26).trim().split(/\s+/)[1];
  return hard === undefined || hard === "unlimited" ? cap : Math.min(cap, Number(hard));
}

/** Returns podman's stdout; throws with its stderr when it fails. */
function podman(w: World, args: string[]): string {
  return w.sb.must(["podman", ...args], w.env);
}

interface NetStatus {
  IPAddress: string;
  IPPrefixLen: number;
  Gateway: string;
  GlobalIPv6Address: string;
  GlobalIPv6PrefixLen: number;
  IPv6Gateway: string;
  MacAddress: string;
}

function inspectNet(w: World, name: string): NetStatus {
  return JSON.parse(podman(w, ["inspect", name, "--format", "{{json .NetworkSettings.Networks}}"]))[NET];
}

function bridgeName(w: World): string {
  return JSON.parse(readFileSync(join(w.netDir, `${NET}.conflist`), "utf8")).plugins[0].bridge;
}

/** Returns the body curl fetched from inside the host netns (trimmed), or "" when it failed. */
function curl(w: World, url: string): string {
  const p = Bun.spawnSync(["ip", "netns", "exec", w.sb.host.name, "curl", "-sS", "-g", "-m", "2", url], { stdout: "pipe", stderr: "pipe" });
  return p.exitCode === 0 ? p.stdout.toString().trim() : "";
}

/** Returns host-local's files of the network, sorted. */
function storeFiles(w: World): string[] {
  const dir = w.sb.written(`/var/lib/cni/networks/${NET}`);
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Returns host-local's reservations of the network (address → `<container id>\r\n<ifname>`). */
function held(w: World): Record<string, string> {
  const dir = w.sb.written(`/var/lib/cni/networks/${NET}`);
  const reserved = storeFiles(w).filter((f) => f !== "lock" && !f.startsWith("last_reserved_ip."));
  return Object.fromEntries(reserved.map((f) => [f, readFileSync(join(dir, f), "utf8")]));
}

/** Returns libcni's cached results (file names). */
function cacheFiles(w: World): string[] {
  const dir = w.sb.written("/var/lib/cni/results");
  return existsSync(dir) ? readdirSync(dir).sort() : [];
}

/** Returns every file below dir (paths below it); directories alone do not count. */
function tree(dir: string, rel = ""): string[] {
  if (!existsSync(join(dir, rel))) return [];
  return readdirSync(join(dir, rel), { withFileTypes: true })
    .flatMap((e) => (e.isDirectory() ? tree(dir, join(rel, e.name)) : [join(rel, e.name)]));
}

function noCounters(line: string): string {
  return line.replace(/ \[\d+:\d+\]$/, " [0:0]");
}
