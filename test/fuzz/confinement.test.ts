// Proof that what a plugin writes at a path derived from its input stays where it should: every file-changing
// syscall of the plugin and its children is traced (strace -f; test/support/write-trace.ts) and compared with the
// directories the input may name. host-local writes only below <dataDir>/<network>; tuning only
// <dataDir>/<containerID>_<ifname>.json and sysctls below /proc/sys/net; flannel only <dataDir>/<containerID> (and
// its delegate's store); portmap's nftables records only below <dataDir>/<network>. A traversal in the network name,
// container ID or ifname is refused by the skel before anything is written (code 7 or 4); a sysctl key that leaves
// /proc/sys/net is refused before any sysctl is written; a bridge name that is a path never reaches a sysctl path.
// A dataDir itself is the administrator's choice: with `..` in it, writes land below the cleaned path, nowhere else.
import { describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { tempNetns } from "../support/netns.ts";
import { ipIn, sysctlIn } from "../support/ns-exec.ts";
import { mustSkip } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";
import { outside, tracedRun, type Write } from "../support/write-trace.ts";

const TAG = "confine";
const skip = mustSkip("confinement", { tools: ["ip", "strace", "unshare", "nft"], ours: ["host-local", "tuning", "flannel", "portmap", "bridge"] });
cleanUpAfterAll(TAG);

const HOSTILE_NAMES = ["../../etc", "..", ".", "a/b", "../x", "net1/../../z", ".hidden", "/abs", "a\\b", "x y"];
const HOSTILE_IDS = ["../../etc", "..", "a/b", "../ctr", ".x", "/abs", "a b", "-x"];
const HOSTILE_IFNAMES = ["../x", "..", ".", "a/b", "/", "a b", "x".repeat(16), "a:b"];

interface World extends Disposable {
  host: string;
  ctrPath: string;
  ctr: string;
  root: string;
}

function world(role: string): World {
  const host = tempNetns(`${TAG}-${role}h`);
  const ctr = tempNetns(`${TAG}-${role}c`);
  const dir = tempDir(`${TAG}-${role}`);
  ipIn(host, ["link", "set", "lo", "up"]);
  ipIn(host, ["link", "add", "cfveth0", "type", "veth", "peer", "name", "eth0", "netns", ctr.name]);
  ipIn(ctr, ["addr", "add", "10.55.0.2/24", "dev", "eth0"]);
  ipIn(ctr, ["link", "set", "eth0", "up"]);
  return {
    host: host.name, ctr: ctr.name, ctrPath: ctr.path, root: dir.path,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      dir[Symbol.dispose]();
    },
  };
}

let traces = 0;
function run(w: World, plugin: string, verb: string, stdin: object, o: { id?: string; ifname?: string; cniArgs?: string } = {}) {
  const env: Record<string, string> = {
    CNI_COMMAND: verb, CNI_CONTAINERID: o.id ?? "ctr1", CNI_NETNS: w.ctrPath, CNI_IFNAME: o.ifname ?? "eth0",
    ...(o.cniArgs ? { CNI_ARGS: o.cniArgs } : {}),
  };
  return tracedRun(plugin, { hostNetns: w.host, env, stdin, traceFile: `${w.root}/strace-${++traces}` });
}

/** The writes that are not bookkeeping of the trace itself. */
const own = (writes: Write[], w: World) => writes.filter((x) => !x.path.startsWith(`${w.root}/strace-`));

const prev = (w: World) => ({
  cniVersion: "1.0.0",
  interfaces: [{ name: "cfveth0" }, { name: "eth0", sandbox: w.ctrPath }],
  ips: [{ address: "10.55.0.2/24", gateway: "10.55.0.1", interface: 1 }],
});

describe.skipIf(skip)("confinement of paths derived from input", () => {
  test("host-local writes only below <dataDir>/<network>, with `..` in dataDir cleaned; hostile names, IDs and ifnames write nothing", () => {
    using w = world("hl");
    const dataDir = `${w.root}/data/x/../store`; // cleaned: <root>/data/store
    const conf = (name: string) => ({ cniVersion: "1.0.0", name, type: "host-local", ipam: { type: "host-local", dataDir, ranges: [[{ subnet: "10.55.1.0/24" }]] } });
    const add = run(w, "host-local", "ADD", conf("net1"));
    expect(add.exitCode).toBe(0);
    const writes = own(add.writes, w);
    expect(outside(writes, [`${w.root}/data/store/net1`, `${w.root}/data/store`, `${w.root}/data`])).toEqual([]);
    // The only files: the store's lock, the reservation and the bookmark, all in <dataDir>/<network>.
    const files = writes.filter((x) => x.syscall === "openat").map((x) => x.path.replace(`${w.root}/data/x/../store/`, "<store>/").replace(`${w.root}/data/store/`, "<store>/"));
    expect([...new Set(files)].sort()).toEqual(["<store>/net1/10.55.1.2", "<store>/net1/last_reserved_ip.0", "<store>/net1/lock"]);
    expect(run(w, "host-local", "DEL", conf("net1")).exitCode).toBe(0);

    for (const name of HOSTILE_NAMES) {
      const r = run(w, "host-local", "ADD", conf(name));
      expect({ name, code: r.json?.code, writes: own(r.writes, w) }).toEqual({ name, code: 7, writes: [] });
    }
    for (const id of HOSTILE_IDS) {
      const r = run(w, "host-local", "ADD", conf("net1"), { id });
      expect({ id, code: r.json?.code, writes: own(r.writes, w) }).toEqual({ id, code: 4, writes: [] });
    }
    for (const ifname of HOSTILE_IFNAMES) {
      const r = run(w, "host-local", "ADD", conf("net1"), { ifname });
      expect({ ifname, code: r.json?.code, writes: own(r.writes, w) }).toEqual({ ifname, code: 4, writes: [] });
    }
  });

  test("tuning writes only <dataDir>/<containerID>_<ifname>.json and sysctls below /proc/sys/net; hostile keys, IDs and ifnames write nothing", () => {
    using w = world("tun");
    const dataDir = `${w.root}/tuning`;
    const conf = (sysctl: Record<string, string>, extra: object = {}) => ({ cniVersion: "1.0.0", name: "tunnet", type: "tuning", dataDir, sysctl, prevResult: prev(w), ...extra });
    const good = { "net.ipv4.conf.IFNAME.log_martians": "1" };
    const add = run(w, "tuning", "ADD", conf(good, { mtu: 1400 }));
    expect(add.exitCode).toBe(0);
    expect(outside(own(add.writes, w), [])).toEqual(own(add.writes, w).filter((x) => x.path.startsWith(dataDir)));
    expect(own(add.writes, w).filter((x) => x.path.startsWith(dataDir)).map((x) => `${x.syscall} ${x.path}`)).toEqual([`mkdir ${dataDir}`, `openat ${dataDir}/ctr1_eth0.json`]);
    expect(own(add.writes, w).filter((x) => x.path.startsWith("/proc/")).map((x) => x.path)).toEqual(["/proc/sys/net/ipv4/conf/eth0/log_martians"]);
    expect(run(w, "tuning", "DEL", conf(good, { mtu: 1400 })).exitCode).toBe(0);

    // Each hostile key comes after a good one: validation is up front, so not even the good one is written.
    const hostileKeys = [
      "kernel.hostname", "kernel/hostname", "../../kernel/hostname", "net/../kernel/hostname", "net/./../kernel/hostname",
      "net.ipv4.conf.IFNAME/../../../../kernel/hostname", "net/ipv4/../../kernel/hostname", "/proc/sys/kernel/hostname",
      "net/..", "net/../../../../../../etc/hostname",
    ];
    const before = sysctlIn(w.ctr, "net/ipv4/conf/eth0/log_martians");
    for (const key of hostileKeys) {
      const r = run(w, "tuning", "ADD", conf({ ...good, [key]: "pwned" }));
      expect({ key, exit: r.exitCode, msg: r.json?.msg?.startsWith("invalid net sysctl key"), writes: own(r.writes, w) }).toEqual({ key, exit: 1, msg: true, writes: [] });
    }
    expect(sysctlIn(w.ctr, "net/ipv4/conf/eth0/log_martians")).toBe(before);
    for (const id of HOSTILE_IDS) {
      const r = run(w, "tuning", "ADD", conf(good, { mtu: 1400 }), { id });
      expect({ id, code: r.json?.code, writes: own(r.writes, w) }).toEqual({ id, code: 4, writes: [] });
    }
    for (const ifname of HOSTILE_IFNAMES) {
      const r = run(w, "tuning", "ADD", conf({ "net.ipv4.conf.IFNAME.log_martians": "1" }, { mtu: 1400 }), { ifname });
      expect({ ifname, code: r.json?.code, writes: own(r.writes, w) }).toEqual({ ifname, code: 4, writes: [] });
    }
  });

  test("flannel writes only <dataDir>/<containerID> and its delegate's store; hostile IDs write nothing", () => {
    using w = world("fl");
    mkdirSync(`${w.root}/run`, { recursive: true });
    writeFileSync(`${w.root}/run/subnet.env`, "FLANNEL_NETWORK=10.56.0.0/16\nFLANNEL_SUBNET=10.56.3.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=false\n");
    const conf = { cniVersion: "1.0.0", name: "flnet", type: "flannel", subnetFile: `${w.root}/run/subnet.env`, dataDir: `${w.root}/flannel`, ipam: { dataDir: `${w.root}/ipam` }, delegate: { bridge: "cfbr0" } };
    const add = run(w, "flannel", "ADD", conf, { ifname: "net1" });
    expect(add.exitCode).toBe(0);
    expect(outside(own(add.writes, w), [`${w.root}/flannel`, `${w.root}/ipam/flnet`, `${w.root}/ipam`])).toEqual([]);
    expect(own(add.writes, w).filter((x) => x.path.startsWith(`${w.root}/flannel/`) && x.syscall === "openat").map((x) => x.path)).toEqual([`${w.root}/flannel/ctr1`]);
    const del = run(w, "flannel", "DEL", conf, { ifname: "net1" });
    expect(del.exitCode).toBe(0);
    expect(outside(own(del.writes, w), [`${w.root}/flannel`, `${w.root}/ipam/flnet`, `${w.root}/ipam`])).toEqual([]);
    for (const id of HOSTILE_IDS) {
      const r = run(w, "flannel", "ADD", conf, { id, ifname: "net1" });
      expect({ id, code: r.json?.code, writes: own(r.writes, w) }).toEqual({ id, code: 4, writes: [] });
    }
  });

  test("portmap's nftables records stay below <dataDir>/<network>", () => {
    using w = world("pm");
    const conf = {
      cniVersion: "1.0.0", name: "pmnet", type: "portmap", backend: "nftables", dataDir: `${w.root}/pm`,
      runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }] }, prevResult: prev(w),
    };
    for (const verb of ["ADD", "DEL"]) {
      const r = run(w, "portmap", verb, conf);
      expect(r.exitCode).toBe(0);
      expect(outside(own(r.writes, w), [`${w.root}/pm/pmnet`, `${w.root}/pm`])).toEqual([]);
    }
    for (const name of HOSTILE_NAMES) {
      const r = run(w, "portmap", "ADD", { ...conf, name });
      expect({ name, code: r.json?.code, writes: own(r.writes, w) }).toEqual({ name, code: 7, writes: [] });
    }
  });

  test("a bridge name that is a path never becomes a sysctl path", () => {
    using w = world("br");
    for (const bridge of ["../../../kernel/hostname", "a/../../../../kernel/hostname", "..", "br/x"]) {
      const conf = { cniVersion: "1.0.0", name: "brnet", type: "bridge", bridge, ipam: { type: "host-local", dataDir: `${w.root}/ipam`, ranges: [[{ subnet: "10.55.9.0/24" }]] } };
      const r = run(w, "bridge", "ADD", conf, { ifname: "net1" });
      expect({ bridge, exit: r.exitCode }).toEqual({ bridge, exit: 1 });
      expect({ bridge, outside: outside(own(r.writes, w), [`${w.root}/ipam`]) }).toEqual({ bridge, outside: [] });
    }
  });
});
