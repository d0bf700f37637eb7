// meta/portmap/config.test.ts: decoding and judging the portmap config (SPEC-DIGEST §3.1) without root: upstream's
// checks in upstream's order and words, the backend auto-selection, and the container addresses taken.
import { describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { formatCIDR } from "../../pkg/ip/cidr.ts";
import { backendOfConditions, loadConf, loadGcConf, type BackendProbe } from "./config.ts";

const IPT: BackendProbe = { iptablesUsable: () => true, nftablesUsable: () => true };
const NFT_ONLY: BackendProbe = { iptablesUsable: () => false, nftablesUsable: () => true };
const NOTHING: BackendProbe = { iptablesUsable: () => false, nftablesUsable: () => false };
const NO_PROBE: BackendProbe = {
  iptablesUsable: () => { throw new Error("probed"); },
  nftablesUsable: () => { throw new Error("probed"); },
};
const PREV = {
  cniVersion: "1.0.0",
  interfaces: [{ name: "veth1" }, { name: "eth0", sandbox: "/run/netns/x" }],
  ips: [{ address: "10.0.0.2/24", interface: 1 }, { address: "fd00::2/64", interface: 1 }],
};
const MAPS = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }];

function conf(extra: object = {}, probe = IPT) {
  const c = { cniVersion: "1.0.0", name: "test", type: "portmap", runtimeConfig: { portMappings: MAPS }, prevResult: PREV, ...extra };
  return loadConf(new TextEncoder().encode(JSON.stringify(c)), "eth0", probe, "failed to parse config: ");
}

function failure(extra: object, probe = IPT): { code: number; msg: string } {
  try {
    conf(extra, probe);
  } catch (e) {
    return e instanceof CniError ? { code: e.code, msg: e.msg } : { code: 999, msg: (e as Error).message };
  }
  throw new Error("did not throw");
}

describe("portmap config", () => {
  test("defaults: snat on, mark bit 13, iptables, container addresses from prevResult", () => {
    const c = conf();
    expect({ snat: c.snat, masqAll: c.masqAll, bit: c.markMasqBit, backend: c.backend }).toEqual({ snat: true, masqAll: false, bit: 13, backend: "iptables" });
    expect([formatCIDR(c.contIPv4!), formatCIDR(c.contIPv6!)]).toEqual(["10.0.0.2/24", "fd00::2/64"]);
    expect(c.portMappings).toEqual([{ hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
  });

  test("dataDir (ours): absent or empty is /var/lib/cni/portmap; GC's view decodes it without judging the rest", () => {
    expect([conf().dataDir, conf({ dataDir: "" }).dataDir, conf({ dataDir: "/tmp/pm" }).dataDir]).toEqual(["/var/lib/cni/portmap", "/var/lib/cni/portmap", "/tmp/pm"]);
    const gcView = (o: object) => loadGcConf(new TextEncoder().encode(JSON.stringify({ cniVersion: "1.1.0", name: "n", type: "portmap", ...o })));
    expect(gcView({ markMasqBit: 99, backend: "ebpf" })).toEqual({ name: "n", dataDir: "/var/lib/cni/portmap" });
    expect(() => gcView({ dataDir: 1 })).toThrow("failed to parse network configuration: json: cannot unmarshal number into Go struct field PortMapConf.dataDir of type string");
  });

  test("keys match case-insensitively, as Go's encoding/json does", () => {
    const c = conf({ SNAT: false, MasqAll: true, markmasqbit: 3 });
    expect([c.snat, c.masqAll, c.markMasqBit]).toEqual([false, true, 3]);
  });

  test("backend: absent picks iptables unless only nftables works; given, no probing", () => {
    expect(conf({}, NFT_ONLY).backend).toBe("nftables");
    expect(conf({}, NOTHING).backend).toBe("iptables");
    expect(conf({ backend: "nftables" }, NO_PROBE).backend).toBe("nftables");
    expect(conf({ backend: "iptables" }, NO_PROBE).backend).toBe("iptables");
  });

  test("conditions and externalSetMarkChain tie the config to a backend", () => {
    expect(backendOfConditions(["-d", "1.2.3.4"])).toBe("iptables");
    expect(backendOfConditions(["!", "-s", "x"])).toBe("iptables");
    expect(backendOfConditions(["ip saddr 1.2.3.4"])).toBe("nftables");
    expect(backendOfConditions([""])).toBeUndefined();
    expect(backendOfConditions([])).toBeUndefined();
    expect(conf({ conditionsV4: ["ip saddr 1.2.3.4"] }, NFT_ONLY).backend).toBe("nftables");
    // upstream quirk: nft conditions do not pick nftables; the default backend then refuses them.
    expect(failure({ conditionsV4: ["ip saddr 1.2.3.4"] }).msg).toBe(
      "failed to parse config: iptables backend was requested but configuration contains nftables-specific options [conditionsV4]",
    );
    expect(failure({ backend: "iptables", conditionsV4: ["ip saddr 1.2.3.4"], conditionsV6: ["ip6 saddr ::1"] })).toEqual({
      code: 7, msg: "failed to parse config: iptables backend was requested but configuration contains nftables-specific options [conditionsV4 conditionsV6]",
    });
    expect(failure({ backend: "nftables", externalSetMarkChain: "X", conditionsV6: ["-s", "::1"] })).toEqual({
      code: 7, msg: "failed to parse config: nftables backend was requested but configuration contains iptables-specific options [externalSetMarkChain conditionsV6]",
    });
    // The auto-selected backend is judged the same way.
    expect(failure({ externalSetMarkChain: "X" }, NFT_ONLY).msg).toBe(
      "failed to parse config: nftables backend was requested but configuration contains iptables-specific options [externalSetMarkChain]",
    );
    expect(failure({ backend: "pf" })).toEqual({ code: 7, msg: 'failed to parse config: unrecognized backend "pf"' });
  });

  test("mark bit: range and the conflict with externalSetMarkChain, in upstream's words and order", () => {
    expect(failure({ markMasqBit: 32 })).toEqual({ code: 7, msg: "failed to parse config: MasqMarkBit must be between 0 and 31" });
    expect(failure({ markMasqBit: -1 })).toEqual({ code: 7, msg: "failed to parse config: MasqMarkBit must be between 0 and 31" });
    expect(failure({ markMasqBit: 40, externalSetMarkChain: "X" })).toEqual({
      code: 7, msg: "failed to parse config: Cannot specify externalSetMarkChain and markMasqBit",
    });
    expect(conf({ markMasqBit: 0 }).markMasqBit).toBe(0);
    expect(conf({ markMasqBit: 31 }).markMasqBit).toBe(31);
  });

  test("port mappings: upstream's port checks, then range, protocol and hostIP, each naming the field", () => {
    const maps = (m: object) => ({ runtimeConfig: { portMappings: [{ hostPort: 1, containerPort: 1, protocol: "tcp", ...m }] } });
    expect(failure(maps({ containerPort: 0 }))).toEqual({ code: 7, msg: "failed to parse config: Invalid container port number: 0" });
    expect(failure(maps({ hostPort: -5 }))).toEqual({ code: 7, msg: "failed to parse config: Invalid host port number: -5" });
    expect(failure(maps({ hostPort: 65536 })).msg).toBe(
      "failed to parse config: Invalid host port number: 65536 (runtimeConfig.portMappings[0].hostPort must be at most 65535)",
    );
    expect(failure(maps({ containerPort: 70000 })).msg).toContain("runtimeConfig.portMappings[0].containerPort");
    expect(failure(maps({ protocol: "icmp" }))).toEqual({
      code: 7, msg: 'failed to parse config: Invalid protocol "icmp" in runtimeConfig.portMappings[0].protocol: must be tcp, udp or sctp',
    });
    expect(failure(maps({ protocol: "" })).msg).toContain('Invalid protocol ""');
    expect(failure(maps({ hostIP: "1.2.3" })).msg).toBe(
      'failed to parse config: Invalid host IP "1.2.3" in runtimeConfig.portMappings[0].hostIP: not an IP address',
    );
    const c = conf(maps({ protocol: "UDP", hostIP: "::ffff:192.0.2.1" }));
    expect(c.portMappings).toEqual([{ hostPort: 1, containerPort: 1, protocol: "udp", hostIP: "192.0.2.1" }]);
    expect(conf(maps({ hostIP: "" })).portMappings[0]!.hostIP).toBeUndefined();
  });

  test("decode errors are plain errors prefixed as upstream", () => {
    expect(failure({ snat: "yes" })).toEqual({
      code: 999, msg: "failed to parse config: failed to parse network configuration: json: cannot unmarshal string into Go struct field PortMapConf.snat of type bool",
    });
    expect(failure({ runtimeConfig: { portMappings: [{ hostPort: "80" }] } }).msg).toBe(
      "failed to parse config: failed to parse network configuration: json: cannot unmarshal string into Go struct field PortMapEntry.runtimeConfig.portMappings.hostPort of type int",
    );
    expect(failure({ prevResult: { cniVersion: "0.4.0", ips: [] } }).msg).toMatch(/^failed to parse config: could not parse prevResult: /);
  });

  test("container addresses: the first of each family on CNI_IFNAME with a sandbox", () => {
    const pick = (prevResult: object) => {
      const c = conf({ prevResult });
      return [c.contIPv4 && formatCIDR(c.contIPv4), c.contIPv6 && formatCIDR(c.contIPv6)];
    };
    const ifaces = [{ name: "veth1" }, { name: "eth0", sandbox: "/x" }, { name: "eth1", sandbox: "/x" }];
    expect(pick({ cniVersion: "1.0.0", interfaces: ifaces, ips: [{ address: "10.0.0.9/24", interface: 0 }, { address: "10.0.0.2/24", interface: 1 }] }))
      .toEqual(["10.0.0.2/24", undefined]);
    expect(pick({ cniVersion: "1.0.0", interfaces: ifaces, ips: [{ address: "10.0.0.9/24", interface: 2 }] })).toEqual([undefined, undefined]);
    // No interface index, or one out of range: taken.
    expect(pick({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.3/24" }, { address: "10.0.0.4/24" }] })).toEqual(["10.0.0.3/24", undefined]);
    expect(pick({ cniVersion: "1.0.0", interfaces: ifaces, ips: [{ address: "fd00::5/64", interface: 7 }] })).toEqual([undefined, "fd00::5/64"]);
  });

  test("no prevResult is not a config error (ADD and CHECK say so themselves)", () => {
    expect(conf({ prevResult: undefined }).prevResult).toBeUndefined();
  });
});
