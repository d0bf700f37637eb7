// test/fuzz/corpus.ts: the well-formed inputs the fuzzer starts from, one or more per plugin (a config that works
// against the lane's fixture, the env of a call, the key names the plugin knows), and the fixture itself: a
// throwaway host netns with a "host NIC" (veth fzeth0, for macvlan/ipvlan/vlan), a device to hand over (fzhd0, for
// host-device), and a container netns already wired to the host by a veth (eth0 in the container, fzhv0 on the
// host, addresses and a default route) for the chained plugins, whose prevResult describes it.
import { writeFileSync } from "node:fs";
import { tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";

/** Where one lane runs: its netns pair and temp dir (every path a plugin may write is below `root`). */
export interface Lane {
  host: TempNetns;
  ctr: TempNetns;
  root: string;
}

/** One well-formed starting point: a config, and which CNI_IFNAME its calls use. */
export interface Seed {
  conf: Record<string, unknown>;
  ifname: string;
}

/** What the fuzzer knows of a plugin. */
export interface Target {
  seeds(l: Lane): Seed[];
  /** Key names the plugin decodes (any depth), for insertions. */
  fields: readonly string[];
}

const V = "1.0.0";
export const CTR_ADDR = "10.77.1.2/24";
export const HOST_ADDR = "10.77.1.1";

/** Creates the lane's netns pair and links; returns the lane. */
export function makeLane(tag: string, root: string): Lane {
  const host = tempNetns(`${tag}-h`);
  const ctr = tempNetns(`${tag}-c`);
  try {
    const ip = (ns: TempNetns, args: string) => ipIn(ns, args.split(" "));
    ip(host, "link set lo up");
    ip(host, `link add fzhv0 type veth peer name eth0 netns ${ctr.name}`);
    ip(host, "link add fzeth0 type veth peer name fzeth0p");
    ip(host, "link add fzhd0 type veth peer name fzhd0p");
    ip(host, `addr add ${HOST_ADDR}/24 dev fzhv0`);
    ip(host, "addr add 192.168.77.1/24 dev fzeth0");
    for (const l of ["fzhv0", "fzeth0", "fzeth0p", "fzhd0p"]) ip(host, `link set ${l} up`);
    ip(ctr, "link set lo up");
    ip(ctr, `addr add ${CTR_ADDR} dev eth0`);
    ip(ctr, "link set eth0 up");
    ip(ctr, `route add default via ${HOST_ADDR}`);
  } catch (e) {
    ctr[Symbol.dispose]();
    host[Symbol.dispose]();
    throw e;
  }
  writeFileSync(`${root}/subnet.env`, "FLANNEL_NETWORK=10.244.0.0/16\nFLANNEL_SUBNET=10.244.7.1/24\nFLANNEL_MTU=1450\nFLANNEL_IPMASQ=true\n");
  return { host, ctr, root };
}

/** Returns the prevResult a main plugin would have printed for the lane's wired container. */
export function prevResult(l: Lane, version = V): Record<string, unknown> {
  return {
    cniVersion: version,
    interfaces: [{ name: "fzhv0", mac: "02:00:00:00:00:01" }, { name: "eth0", mac: "02:00:00:00:00:02", sandbox: l.ctr.path }],
    ips: [{ address: CTR_ADDR, gateway: HOST_ADDR, interface: 1 }],
    routes: [{ dst: "0.0.0.0/0", gw: HOST_ADDR }],
    dns: { nameservers: ["10.77.1.1"] },
  };
}

const hostLocal = (l: Lane, subnet = "10.66.0.0/24") => ({
  type: "host-local", dataDir: `${l.root}/dd/ipam`, ranges: [[{ subnet }]], routes: [{ dst: "0.0.0.0/0" }],
});

const NETCONF = ["cniVersion", "name", "type", "capabilities", "ipam", "dns", "args", "runtimeConfig", "prevResult"];
const IPAM = ["type", "dataDir", "ranges", "subnet", "rangeStart", "rangeEnd", "gateway", "routes", "resolvConf", "addresses", "address", "dst", "gw", "ips"];

const conf = (name: string, type: string, rest: Record<string, unknown> = {}) => ({ cniVersion: V, name, type, ...rest });

export const TARGETS: Record<string, Target> = {
  loopback: { fields: NETCONF, seeds: () => [{ conf: conf("fzlo", "loopback"), ifname: "lo" }] },
  bridge: {
    fields: [...NETCONF, ...IPAM, "bridge", "isGateway", "isDefaultGateway", "forceAddress", "ipMasq", "ipMasqBackend", "mtu", "hairpinMode", "promiscMode", "vlan", "vlanTrunk", "minID", "maxID", "id", "preserveDefaultVlan", "macspoofchk", "enabledad", "disableContainerInterface", "portIsolation", "mac"],
    seeds: (l) => [
      { conf: conf("fzbr", "bridge", { bridge: "fzbr0", isGateway: true, ipMasq: true, ipam: hostLocal(l) }), ifname: "net1" },
      { conf: conf("fzbr", "bridge", { bridge: "fzbr0", isDefaultGateway: true, ipMasq: true, ipMasqBackend: "nftables", macspoofchk: true, hairpinMode: true, mtu: 1400, ipam: hostLocal(l) }), ifname: "net1" },
    ],
  },
  ptp: {
    fields: [...NETCONF, ...IPAM, "ipMasq", "ipMasqBackend", "mtu"],
    seeds: (l) => [{ conf: conf("fzptp", "ptp", { ipMasq: true, mtu: 1400, ipam: hostLocal(l, "10.66.1.0/24") }), ifname: "net1" }],
  },
  macvlan: {
    fields: [...NETCONF, ...IPAM, "master", "mode", "mtu", "mac", "linkInContainer", "bcqueuelen"],
    seeds: (l) => [{ conf: conf("fzmv", "macvlan", { master: "fzeth0", mode: "bridge", ipam: hostLocal(l, "192.168.77.0/24") }), ifname: "net1" }],
  },
  ipvlan: {
    fields: [...NETCONF, ...IPAM, "master", "mode", "mtu", "linkInContainer"],
    seeds: (l) => [{ conf: conf("fziv", "ipvlan", { master: "fzeth0", mode: "l2", ipam: hostLocal(l, "192.168.77.0/24") }), ifname: "net1" }],
  },
  vlan: {
    fields: [...NETCONF, ...IPAM, "master", "vlanId", "mtu", "linkInContainer"],
    seeds: (l) => [{ conf: conf("fzvl", "vlan", { master: "fzeth0", vlanId: 100, ipam: hostLocal(l, "10.66.2.0/24") }), ifname: "net1" }],
  },
  "host-device": {
    fields: [...NETCONF, ...IPAM, "device", "hwaddr", "kernelpath", "pciBusID", "runtimeConfig", "deviceID"],
    seeds: () => [
      { conf: conf("fzhd", "host-device", { device: "fzhd0" }), ifname: "net1" },
      { conf: conf("fzhd", "host-device", { device: "fzhd0", ipam: { type: "static", addresses: [{ address: "10.66.3.5/24" }] } }), ifname: "net1" },
    ],
  },
  dummy: {
    fields: [...NETCONF, ...IPAM],
    seeds: (l) => [{ conf: conf("fzdm", "dummy", { ipam: hostLocal(l, "10.66.4.0/24") }), ifname: "net1" }],
  },
  tap: {
    fields: [...NETCONF, ...IPAM, "mac", "mtu", "selinuxcontext", "multiQueue", "owner", "group", "bridge"],
    seeds: (l) => [{ conf: conf("fztap", "tap", { mtu: 1400, ipam: hostLocal(l, "10.66.5.0/24") }), ifname: "net1" }],
  },
  portmap: {
    fields: [...NETCONF, "portMappings", "hostPort", "containerPort", "protocol", "hostIP", "snat", "markMasqBit", "externalSetMarkChain", "conditionsV4", "conditionsV6", "masqAll", "backend", "dataDir"],
    seeds: (l) => [
      { conf: conf("fzpm", "portmap", { snat: true, dataDir: `${l.root}/dd/portmap`, runtimeConfig: { portMappings: [{ hostPort: 18080, containerPort: 80, protocol: "tcp" }] }, prevResult: prevResult(l) }), ifname: "eth0" },
      { conf: conf("fzpm", "portmap", { backend: "nftables", dataDir: `${l.root}/dd/portmap`, runtimeConfig: { portMappings: [{ hostPort: 18081, containerPort: 81, protocol: "udp", hostIP: HOST_ADDR }] }, prevResult: prevResult(l) }), ifname: "eth0" },
    ],
  },
  bandwidth: {
    fields: [...NETCONF, "ingressRate", "ingressBurst", "egressRate", "egressBurst", "bandwidth", "unshapedSubnets", "shapedSubnets"],
    seeds: (l) => [{ conf: conf("fzbw", "bandwidth", { ingressRate: 8000000, ingressBurst: 80000, egressRate: 8000000, egressBurst: 80000, prevResult: prevResult(l) }), ifname: "eth0" }],
  },
  firewall: {
    fields: [...NETCONF, "backend", "iptablesAdminChainName", "firewalldZone", "ingressPolicy"],
    seeds: (l) => [{ conf: conf("fzfw", "firewall", { backend: "iptables", prevResult: prevResult(l) }), ifname: "eth0" }],
  },
  sbr: {
    fields: [...NETCONF, "table"],
    seeds: (l) => [{ conf: conf("fzsbr", "sbr", { prevResult: prevResult(l) }), ifname: "eth0" }],
  },
  vrf: {
    fields: [...NETCONF, "vrfname", "table"],
    seeds: (l) => [{ conf: conf("fzvrf", "vrf", { vrfname: "fzvrf0", prevResult: prevResult(l) }), ifname: "eth0" }],
  },
  flannel: {
    fields: [...NETCONF, ...IPAM, "subnetFile", "dataDir", "delegate", "isDefaultGateway", "hairpinMode", "bridge", "ipMasq", "mtu"],
    seeds: (l) => [{
      conf: conf("fzfl", "flannel", { subnetFile: `${l.root}/subnet.env`, dataDir: `${l.root}/dd/flannel`, ipam: { dataDir: `${l.root}/dd/ipam` }, delegate: { bridge: "fzcni0", hairpinMode: true } }),
      ifname: "net1",
    }],
  },
  "host-local": {
    fields: [...NETCONF, ...IPAM],
    seeds: (l) => [
      { conf: conf("fzhl", "host-local", { ipam: hostLocal(l, "10.66.6.0/24") }), ifname: "eth0" },
      { conf: conf("fzhl", "host-local", { ipam: { type: "host-local", dataDir: `${l.root}/dd/ipam`, ranges: [[{ subnet: "10.66.7.0/24", rangeStart: "10.66.7.10", rangeEnd: "10.66.7.20" }], [{ subnet: "fd66::/64" }]] } }), ifname: "eth0" },
    ],
  },
  dhcp: {
    fields: [...NETCONF, "daemonSocketPath", "provide", "request", "option", "skipDefault", "timeout", "resendMax"],
    seeds: (l) => [{ conf: conf("fzdh", "dhcp", { ipam: { type: "dhcp", daemonSocketPath: `${l.root}/dhcp.sock` } }), ifname: "eth0" }],
  },
  static: {
    fields: [...NETCONF, ...IPAM],
    seeds: () => [{ conf: conf("fzst", "static", { ipam: { type: "static", addresses: [{ address: "10.66.8.5/24", gateway: "10.66.8.1" }, { address: "fd68::5/64" }], routes: [{ dst: "0.0.0.0/0" }], dns: { nameservers: ["10.66.8.1"] } } }), ifname: "eth0" }],
  },
  tuning: {
    fields: [...NETCONF, "sysctl", "mac", "promisc", "mtu", "txQLen", "allmulti", "dataDir"],
    seeds: (l) => [{
      conf: conf("fztun", "tuning", { sysctl: { "net.ipv4.conf.IFNAME.log_martians": "1", "net.ipv4.conf.eth0.rp_filter": "2" }, mtu: 1400, promisc: true, mac: "02:00:00:00:aa:bb", dataDir: `${l.root}/dd/tuning`, prevResult: prevResult(l) }),
      ifname: "eth0",
    }],
  },
};
