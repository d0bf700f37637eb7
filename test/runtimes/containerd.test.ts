// containerd 1.6 (Debian 12) with `ctr run --cni` on our bin/, end to end: a private containerd (its own config,
// root, state, sockets) and ctr find our conflist in /etc/cni/net.d and our plugins in /opt/cni/bin, which are bind
// mounts of a private mount view (so is /usr/lib/cni, the second entry of Debian's CNI_PATH). The conflist is a
// dual-stack bridge + host-local with ipMasq, portmap, firewall and tuning (a sysctl). Busybox containers (an image
// built here as an OCI archive, no registry) talk to each other and to the host over IPv4 and IPv6, the host reaches
// them; then ctr's DEL, which sends an EMPTY CNI_NETNS (SPEC-DIGEST §6), must clean every host-side rule,
// reservation and cache entry from prevResult alone, and the same container id runs again.
// ctr has no way to publish a port (go-cni's portMappings capability is only fed by the CRI plugin), so portmap runs
// here without mappings and passes the result through; podman.test.ts covers published ports.
//
// Everything runs in a sandbox (sandbox.ts): a throwaway host netns and a private mount namespace; the last test
// checks the real host is unchanged. When containerd cannot run a container here at all, the file is one skipped
// test saying why.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { backendRules, filterRules, filterTable } from "../support/firewall.ts";
import { addrsIn, linksIn } from "../support/link-state.ts";
import { EMPTY_NAT, natRules, natWith } from "../support/masquerade.ts";
import { RUN_PREFIX } from "../support/netns.ts";
import { OURS, unmetNeeds } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { waitFor, within } from "../support/wait.ts";
import { hostFootprint, type Footprint } from "./host-footprint.ts";
import { buildOciArchive, buildRootfsTar, IMAGE, whyNoBusybox } from "./image.ts";
import { running, Sandbox } from "./sandbox.ts";

const TAG = "containerd";
const NS = `${RUN_PREFIX}-ctr`; // the containerd namespace; CNI_CONTAINERID is `<namespace>-<id>`, the cgroup is /<namespace>/<id>
const NET = `${RUN_PREFIX}-ctrnet`;
const BRIDGE = `${RUN_PREFIX}br0`;
const SUBNET4 = "10.89.1.0/24";
const SUBNET6 = "fd00:89:1::/64";
const GW4 = "10.89.1.1";
const GW6 = "fd00:89:1::1";
const HOST_SERVER_PORT = 20000 + Math.floor(Math.random() * 20000); // busybox httpd in the host netns
const MARK = `served by ${NS}-srv`;
const SERVE = `trap "exit 0" TERM; echo "${MARK}" > /www/index.html; httpd -f -p 80 -h /www & wait`;

/** The network as a user would write it in /etc/cni/net.d (docs/runtimes.md shows it with plain names). */
const CONFLIST = {
  cniVersion: "1.0.0",
  name: NET,
  plugins: [
    {
      type: "bridge", bridge: BRIDGE, isGateway: true, ipMasq: true, hairpinMode: true,
      ipam: {
        type: "host-local",
        ranges: [[{ subnet: SUBNET4 }], [{ subnet: SUBNET6 }]],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
      },
    },
    { type: "portmap", capabilities: { portMappings: true } },
    { type: "firewall" },
    { type: "tuning", sysctl: { "net.ipv4.conf.eth0.log_martians": "1" } },
  ],
};

interface World {
  sb: Sandbox;
  sock: string;
  before: Footprint;
}

const needs = unmetNeeds({
  tools: ["containerd", "ctr", "runc", "curl", "nsenter", "unshare", "tar", "ip", "iptables-save", "ip6tables-save", "ss"],
  ours: ["bridge", "host-local", "portmap", "firewall", "tuning"],
});
const why = needs || whyNoBusybox();
let world: World | undefined;
let setUpError = "";
if (why === "") {
  try {
    world = setUp();
  } catch (e) {
    setUpError = `containerd cannot run a container here: ${(e as Error).message}`;
  }
}
cleanUpAfterAll(TAG, world?.sb);

if (world === undefined) {
  test.skip(`containerd (ctr run --cni) on our plugins: ${why || setUpError}`, () => {});
} else {
  const w = world;
  describe("containerd 1.6, ctr run --cni, on our plugins", () => {
    const cid = `${NS}-srv`;
    let srv: Subprocess | undefined;
    let srv4 = "";
    let srv6 = "";

    test("installing containerd started no service on the host (no containerd process, no /run/containerd)", () => {
      expect(w.before.processes.filter((p) => / containerd/.test(p))).toEqual([]);
      expect(w.before.paths).toContain("/run/containerd: absent");
    });

    test("ADD through bridge, portmap, firewall, tuning (dual stack): container to container, to the host and back", () => {
      srv = w.sb.spawn(ctrArgv(w, ["run", "--cni", "--rm", IMAGE, "srv", "sh", "-c", SERVE]), {}, join(w.sb.dir.path, "srv.log"));
      const cached = join(w.sb.written("/var/lib/cni/results"), `${NET}-${cid}-eth0`);
      waitFor(() => existsSync(cached) || !running(srv!), "ctr's ADD (libcni's cache entry)", 20_000);
      expect(running(srv)).toBe(true);
      const entry = JSON.parse(readFileSync(cached, "utf8"));
      const result = entry.result;
      srv4 = result.ips.find((i: { address: string }) => !i.address.includes(":")).address.split("/")[0];
      srv6 = result.ips.find((i: { address: string }) => i.address.includes(":")).address.split("/")[0];
      expect({ containerId: entry.containerId, ifName: entry.ifName, networkName: entry.networkName }).toEqual({ containerId: cid, ifName: "eth0", networkName: NET });
      expect({
        cniVersion: result.cniVersion,
        interfaces: result.interfaces.map((i: { name: string; sandbox?: string }) => i.name.replace(/^veth[0-9a-f]{8}$/, "veth…") + (i.sandbox ? ` in ${i.sandbox}` : "")),
        ips: result.ips.map((i: { address: string; gateway: string; interface: number }) => `${i.address} via ${i.gateway} on ${i.interface}`),
        routes: result.routes,
      }).toEqual({
        cniVersion: "1.0.0",
        interfaces: [BRIDGE, "veth…", `eth0 in /proc/${ctrPid(w, "srv")}/ns/net`], // ctr hands ADD /proc/<pid>/ns/net
        ips: [`${srv4}/24 via ${GW4} on 2`, `${srv6}/64 via ${GW6} on 2`],
        routes: [{ dst: "0.0.0.0/0" }, { dst: "::/0" }],
      });
      expect(srv4).toStartWith("10.89.1.");
      expect(srv6).toStartWith("fd00:89:1::");
      waitFor(() => curl(w, `http://${srv4}/`) === MARK, "httpd in the container", 10_000);

      // host side: the bridge with both gateways, the veth on it, ipMasq and firewall rules, the reservations
      expect(addrsIn(w.sb.host, BRIDGE).map((a) => `${a.local}/${a.prefixlen}`)).toEqual([`${GW4}/24`, `${GW6}/64`]);
      expect(linksIn(w.sb.host).filter((l) => l.kind === "veth" && l.master === BRIDGE)).toHaveLength(1);
      expect(natRules(w.sb.host, 4).map(noCounters)).toEqual(natWith(NET, cid, [{ address: `${srv4}/24`, subnet: SUBNET4 }]));
      expect(natRules(w.sb.host, 6).map(noCounters)).toEqual(natWith(NET, cid, [{ address: `${srv6}/64`, subnet: SUBNET6 }]));
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([srv4])));
      expect(filterRules(w.sb.host, 6)).toEqual(filterTable(backendRules([srv6])));
      expect(held(w)).toEqual({ [srv4]: `${cid}\r\neth0`, [srv6]: `${cid}\r\neth0` });

      // a second container: to the first (ping, HTTP) and to the host (gateways, a host server), both families;
      // tuning's sysctl is in place. The bridge's IPv6 gateway answers once the kernel's DAD is done with it.
      waitFor(() => addrsIn(w.sb.host, BRIDGE, { tentative: true }).every((a) => !a.tentative), "DAD of the bridge's IPv6 gateway", 5000);
      const script = [
        "set -e",
        `ping -c1 -W2 ${srv4} >/dev/null; echo ping ${srv4}`,
        `ping -c1 -W2 ${srv6} >/dev/null; echo ping ${srv6}`,
        `wget -qO- http://${srv4}/`,
        `wget -qO- http://[${srv6}]/`,
        `ping -c1 -W2 ${GW4} >/dev/null; echo ping ${GW4}`,
        `ping -c1 -W2 ${GW6} >/dev/null; echo ping ${GW6}`,
        `wget -qO- http://${GW4}:${HOST_SERVER_PORT}/`,
        `wget -qO- http://[${GW6}]:${HOST_SERVER_PORT}/`,
        "echo log_martians=$(cat /proc/sys/net/ipv4/conf/eth0/log_martians)",
      ].join("\n");
      const cli = w.sb.run(ctrArgv(w, ["run", "--cni", "--rm", IMAGE, "cli", "sh", "-c", script]));
      expect({ exitCode: cli.exitCode, stdout: cli.stdout.trim().split("\n"), stderr: cli.stderr }).toEqual({
        exitCode: 0,
        stdout: [`ping ${srv4}`, `ping ${srv6}`, MARK, MARK, `ping ${GW4}`, `ping ${GW6}`, "host", "host", "log_martians=1"],
        stderr: "",
      });
      // the client's DEL (empty CNI_NETNS) left only the server's reservations and cache entry
      expect(held(w)).toEqual({ [srv4]: `${cid}\r\neth0`, [srv6]: `${cid}\r\neth0` });
      expect(cacheFiles(w)).toEqual([`${NET}-${cid}-eth0`]);
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([srv4])));

      // the host reaches the container directly
      expect(curl(w, `http://[${srv6}]/`)).toBe(MARK);
    });

    test("killing the task: ctr's DEL has an empty CNI_NETNS, and prevResult alone cleans rules, reservations, cache", async () => {
      ctr(w, ["task", "kill", "srv"]);
      // ctr run returns once the task exited and its DEL is done
      expect(await within(srv!.exited, "ctr run to return after its task was killed", 20_000)).toBe(0);
      expect(linksIn(w.sb.host).filter((l) => l.kind === "veth")).toEqual([]);
      expect(linksIn(w.sb.host).map((l) => l.ifname).sort()).toEqual([BRIDGE, "lo"].sort()); // the bridge stays, as always
      expect(natRules(w.sb.host, 4).map(noCounters)).toEqual(EMPTY_NAT);
      expect(natRules(w.sb.host, 6).map(noCounters)).toEqual(EMPTY_NAT);
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([])));
      expect(filterRules(w.sb.host, 6)).toEqual(filterTable(backendRules([])));
      expect(held(w)).toEqual({});
      expect(storeFiles(w)).toEqual(["last_reserved_ip.0", "last_reserved_ip.1", "lock"]);
      expect(cacheFiles(w)).toEqual([]);
      expect(ctr(w, ["containers", "list", "--quiet"]).trim()).toBe("");
    });

    test("the same container id runs again: a fresh ADD, and its DEL again leaves nothing", () => {
      const again = w.sb.run(ctrArgv(w, ["run", "--cni", "--rm", IMAGE, "srv", "sh", "-c", `wget -qO- http://${GW4}:${HOST_SERVER_PORT}/`]));
      expect({ exitCode: again.exitCode, stdout: again.stdout, stderr: again.stderr }).toEqual({ exitCode: 0, stdout: "host\n", stderr: "" });
      expect(linksIn(w.sb.host).map((l) => l.ifname).sort()).toEqual([BRIDGE, "lo"].sort());
      expect(natRules(w.sb.host, 4).map(noCounters)).toEqual(EMPTY_NAT);
      expect(filterRules(w.sb.host, 4)).toEqual(filterTable(backendRules([])));
      expect(held(w)).toEqual({});
      expect(cacheFiles(w)).toEqual([]);
      expect(tree(w.sb.written("/run/cni"))).toEqual([]);
    });

    test("the real host is unchanged: links, rules, listeners, mounts, runtime directories, cgroups, processes", () => {
      w.sb[Symbol.dispose]();
      expect(hostFootprint()).toEqual(w.before);
    });
  });
}

function setUp(): World {
  const before = hostFootprint();
  // /opt/cni/bin and /etc/cni/net.d are go-cni's defaults, which ctr uses; Debian's CNI_PATH adds /usr/lib/cni.
  const sb = new Sandbox({ tag: TAG, cgroups: [NS] });
  try {
    const dir = sb.dir.path;
    for (const d of ["net.d", "containerd", "www"]) mkdirSync(join(dir, d));
    writeFileSync(join(dir, "net.d", "10-ctrnet.conflist"), JSON.stringify(CONFLIST, null, 2));
    sb.bind("/etc/cni/net.d", join(dir, "net.d"));
    sb.bind("/opt/cni/bin", OURS);
    if (existsSync("/usr/lib/cni")) sb.bind("/usr/lib/cni", OURS); // no fallback to Debian's Go plugins
    const c = join(dir, "containerd");
    const sock = join(c, "containerd.sock");
    writeFileSync(join(c, "config.toml"), [
      "version = 2",
      `root = "${c}/root"`,
      `state = "${c}/state"`,
      // the CRI plugin would read /etc/cni/net.d on its own; ctr needs none of it
      `disabled_plugins = ["io.containerd.grpc.v1.cri"]`,
      "[grpc]", `  address = "${sock}"`,
      "[ttrpc]", `  address = "${sock}.ttrpc"`,
      `[plugins."io.containerd.internal.v1.opt"]`, `  path = "${c}/opt"`,
      "",
    ].join("\n"));
    const w: World = { sb, sock, before };
    const daemon = sb.spawn(["containerd", "--config", join(c, "config.toml")], {}, join(c, "containerd.log"));
    waitFor(() => !running(daemon) || sb.run(["ctr", "--address", sock, "version"]).exitCode === 0, "containerd to serve", 20_000);
    if (!running(daemon)) throw new Error(`containerd exited: ${tail(join(c, "containerd.log.err"))}`);

    // the host's server the containers reach
    writeFileSync(join(dir, "www/index.html"), "host\n");
    sb.spawn(["busybox", "httpd", "-f", "-p", String(HOST_SERVER_PORT), "-h", join(dir, "www")], {}, join(dir, "host-httpd.log"));
    waitFor(() => curl(w, `http://127.0.0.1:${HOST_SERVER_PORT}/`) === "host", "the host's httpd");

    ctr(w, ["images", "import", buildOciArchive(dir, buildRootfsTar(dir))]);
    // One container without CNI proves containerd, the shim, runc and the snapshotter work here first.
    ctr(w, ["run", "--rm", IMAGE, "probe", "true"]);
    return w;
  } catch (e) {
    sb[Symbol.dispose]();
    throw e;
  }
}

function ctrArgv(w: World, args: string[]): string[] {
  return ["ctr", "--address", w.sock, "--namespace", NS, ...args];
}

/** Returns ctr's stdout; throws with its stderr when it fails. */
function ctr(w: World, args: string[]): string {
  return w.sb.must(ctrArgv(w, args));
}

/** Returns the host pid of a running task. */
function ctrPid(w: World, id: string): number {
  const line = ctr(w, ["tasks", "list"]).split("\n").find((l) => l.split(/\s+/)[0] === id);
  return Number(line?.split(/\s+/)[1]);
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

function tail(path: string): string {
  return existsSync(path) ? readFileSync(path, "utf8").trim().split("\n").slice(-3).join(" | ") : "";
}

function noCounters(line: string): string {
  return line.replace(/ \[\d+:\d+\]$/, " [0:0]");
}
