// portmap, ours, run as a runtime runs it (env + stdin, prevResult of a main plugin) inside a throwaway host netns,
// for a container netns wired by hand (a veth, addresses, default routes), SPEC-DIGEST §3.1. For every spec
// version and both backends: the result text, the whole nat table (iptables-save) or the cni_hostport tables
// (`nft -j list ruleset`) line by line, route_localnet, CHECK, DEL, DEL again. Then real TCP and UDP from a client
// netns through the mapped ports to echo servers in the container, hairpin from the container to its own host port,
// localhost from the host, hostIP, the UDP conntrack entries flushed on ADD and on DEL, IPv6, SCTP rules, every
// option (conditions, masqAll, externalSetMarkChain, markMasqBit, snat off), multiport grouping, two containers
// where DEL removes exactly one, rollback of a half-done ADD, and bad input that leaves no state.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, readlinkSync, rmSync } from "node:fs";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import {
  askFrom, chainOf, makePod, markChainRules, natTable, nftPortmapLines, nftSkeleton, nftTable, podResult, portmapConf,
  sendUdp, startServer, sweepPortmapData, topLevelLines, udpFlowsTo, type Pod,
} from "../support/portmap.ts";
import { printed } from "../support/result.ts";
import { holdFlock } from "../support/flock-holder.ts";
import { waitForAsync } from "../support/wait.ts";
import { cniEnv, OURS, runPlugin, spawnPlugin, type Run } from "../support/run-plugin.ts";
import { iptablesIsNft, TEARDOWN_HELPER_SECONDS } from "../../pkg/netfilter/nft-chains.ts";
import { dnatChainName } from "../../meta/portmap/iptables.ts";

const TAG = "pmi";
const TIMEOUT_MS = 30_000;
const NET = "pmnet";
const missing = [
  ...["ip", "iptables-save", "ip6tables-save", "iptables-restore", "nft"].filter((t) => Bun.which(t) === null),
  ...["portmap"].filter((p) => !existsSync(`${OURS}/${p}`)).map((p) => `${OURS}/${p}`),
];
const skip = !canUseNetns() || missing.length > 0;
if (skip) console.warn(`portmap integration skipped: ${canUseNetns() ? `missing ${missing.join(", ")}` : "needs root and ip netns"}`);

afterAll(() => {
  sweepNetns(`${RUN_PREFIX}-${TAG}-`);
  sweepPortmapData();
});

function pm(verb: string, host: TempNetns, ctr: TempNetns | string, stdin: object, id = "ctr1"): Run {
  const netns = typeof ctr === "string" ? ctr : ctr.path;
  return runPlugin("portmap", { hostNetns: host.name, env: cniEnv(verb, netns, "eth0", id), stdin });
}

function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

function expectError(r: Run, code: number, msg: string | RegExp): void {
  expect({ exitCode: r.exitCode, json: r.json }).toEqual({ exitCode: 1, json: { code, msg: msg instanceof RegExp ? expect.stringMatching(msg) : msg } });
}

function natLines(ns: TempNetns, family: 4 | 6): string[] {
  const tool = family === 4 ? "iptables-save" : "ip6tables-save";
  const p = Bun.spawnSync(["ip", "netns", "exec", ns.name, tool, "-t", "nat"], { stdout: "pipe", stderr: "pipe" });
  return p.stdout.toString().split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

const EMPTY_NAT = natTable([], [], {});

/** A mapping as the runtime sends it. */
interface Mapping {
  hostPort: number;
  containerPort: number;
  protocol: string;
  hostIP?: string;
}

const bare = (addr: string) => addr.split("/")[0]!;
const masked = (addr: string) => {
  const [ip, len] = addr.split("/");
  if (ip!.includes(":")) return `${ip!.split("::")[0]}::/${len}`; // the test pods use fdN:M::2/64
  return `${ip!.split(".").slice(0, 3).join(".")}.0/${len}`;
};

/**
 * Returns the per-container chain's rules for one container address in iptables-save's form (upstream
 * fillDnatRules): hairpin mark, localhost mark (IPv4, without masqAll), DNAT, for each mapping of this family.
 */
function dnatRules(chain: string, addr: string, maps: Mapping[], opts: { snat?: boolean; masqAll?: boolean; setMark?: string } = {}): string[] {
  const v6 = addr.includes(":");
  const snat = opts.snat ?? true;
  const setMark = opts.setMark ?? "CNI-HOSTPORT-SETMARK";
  const out: string[] = [];
  for (const m of maps) {
    if (m.hostIP && m.hostIP.includes(":") !== v6) continue;
    const d = m.hostIP && m.hostIP !== "0.0.0.0" && m.hostIP !== "::" ? ` -d ${m.hostIP}/${v6 ? 128 : 32}` : "";
    const base = `-p ${m.protocol} -m ${m.protocol} --dport ${m.hostPort}`;
    if (snat) {
      out.push(`-A ${chain}${opts.masqAll ? "" : ` -s ${masked(addr)}`}${d} ${base} -j ${setMark}`);
      if (!v6 && !opts.masqAll) out.push(`-A ${chain} -s 127.0.0.1/32${d} ${base} -j ${setMark}`);
    }
    const to = v6 ? `[${bare(addr)}]` : bare(addr);
    out.push(`-A ${chain}${d} ${base} -j DNAT --to-destination ${to}:${m.containerPort}`);
  }
  return out;
}

/** Returns the entry rules into the container chain: one per protocol (sorted) per 15 ports, every mapping listed. */
function entryRules(chain: string, network: string, id: string, maps: Mapping[], conditions = ""): string[] {
  const protos = [...new Set(maps.map((m) => m.protocol))].sort();
  const cmt = `-m comment --comment "dnat name: \\"${network}\\" id: \\"${id}\\""`;
  return protos.flatMap((p) => {
    const ports = maps.filter((m) => m.protocol === p).map((m) => m.hostPort);
    const lists: string[] = [];
    for (let i = 0; i < ports.length; i += 15) lists.push(ports.slice(i, i + 15).join(","));
    return lists.map((l) => `-A CNI-HOSTPORT-DNAT ${conditions}-p ${p} ${cmt} -m multiport --dports ${l} -j ${chain}`);
  });
}

/** Returns the whole nat table of one family holding the given containers' chains (snat on, mark bit 13). */
function natWith(containers: { id: string; addr: string; maps: Mapping[] }[], network = NET): string[] {
  const top = topLevelLines();
  const chains = [...top.chains];
  const rules: Record<string, string[]> = { "CNI-HOSTPORT-DNAT": [], "CNI-HOSTPORT-MASQ": [markChainRules()[0]!], "CNI-HOSTPORT-SETMARK": [markChainRules()[1]!] };
  for (const c of containers) {
    const d = chainOf(network, c.id);
    chains.push(`:${d} - [0:0]`);
    rules[d] = dnatRules(d, c.addr, c.maps);
    rules["CNI-HOSTPORT-DNAT"]!.push(...entryRules(d, network, c.id, c.maps));
  }
  return natTable(chains, top.rules, rules);
}

/** The nat table an iptables ADD leaves behind once every container is deleted: the shared chains only. */
const NAT_SHARED = natWith([]);

const MAPS = (pod: Pod): Mapping[] => [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 8081, containerPort: 81, protocol: "udp" },
  { hostPort: 8082, containerPort: 82, protocol: "sctp", hostIP: pod.gw4 },
  { hostPort: 8083, containerPort: 83, protocol: "tcp", hostIP: "fd00::99" },
];

/** The nft lines of one container address (hostports rules, masquerading rules) for MAPS. */
function nftRules(addr: string, maps: Mapping[], id = "ctr1", snat = true): { hostports: string[]; masq: string[] | undefined } {
  const v6 = addr.includes(":");
  const fam = v6 ? "ip6" : "ip";
  const ip = bare(addr);
  const hostports = maps
    .filter((m) => !m.hostIP || m.hostIP.includes(":") === v6)
    .map((m) => `${m.hostIP && m.hostIP !== "0.0.0.0" && m.hostIP !== "::" ? `${fam} daddr ${m.hostIP} ` : ""}${m.protocol} dport ${m.hostPort} dnat to ${v6 ? `[${ip}]` : ip}:${m.containerPort} comment "${id}"`);
  const masq = snat ? [`${fam} saddr ${ip} ${fam} daddr ${ip} masquerade comment "${id}"`, ...(v6 ? [] : [`${fam} saddr 127.0.0.1 ${fam} daddr ${ip} masquerade comment "${id}"`])] : undefined;
  return { hostports, masq };
}

describe.skipIf(skip)("portmap", () => {
  describe.each(ALL_VERSIONS)("%s", (version) => {
    test("iptables: ADD passes prevResult through and adds the chains; CHECK; DEL removes this container's chain; DEL again", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 71, hostOctet: 1 });
      const prev = podResult(version, pod);
      const maps = MAPS(pod);
      const c = portmapConf(version, NET, prev, maps);

      const add = pm("ADD", host, ctr, c);
      expect({ exitCode: add.exitCode, stderr: add.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(add.stdout).toBe(printed(prev));
      expect(natLines(host, 4)).toEqual(natWith([{ id: "ctr1", addr: pod.addrs[0]!, maps }]));
      expect(natLines(host, 6)).toEqual(EMPTY_NAT); // no IPv6 address: ip6tables untouched
      expect(sysctl(host, `net/ipv4/conf/${pod.hostVeth}/route_localnet`)).toBe("1");

      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(pm("CHECK", host, ctr, c));
      else expectError(pm("CHECK", host, ctr, c), 1, "config version does not allow CHECK");

      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(natLines(host, 4)).toEqual(NAT_SHARED);
      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(natLines(host, 4)).toEqual(NAT_SHARED);
      if (versionAtLeast(version, "0.4.0")) {
        expectError(pm("CHECK", host, ctr, c), 999, `could not check ipv4 dnat: chain ${chainOf(NET, "ctr1")} not found in iptables table nat`);
      }
    });

    test("nftables: ADD adds the cni_hostport table and this container's rules; CHECK; DEL; DEL again", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 71, hostOctet: 1 });
      const prev = podResult(version, pod);
      const maps = MAPS(pod);
      const c = portmapConf(version, NET, prev, maps, { backend: "nftables" });

      const add = pm("ADD", host, ctr, c);
      expect({ exitCode: add.exitCode, stderr: add.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(add.stdout).toBe(printed(prev));
      const r = nftRules(pod.addrs[0]!, maps);
      expect(nftPortmapLines(host)).toEqual(nftTable("ip", r.hostports, r.masq));
      expect(sysctl(host, `net/ipv4/conf/${pod.hostVeth}/route_localnet`)).toBe("1");

      if (versionAtLeast(version, "0.4.0")) expectSilentSuccess(pm("CHECK", host, ctr, c));

      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(nftPortmapLines(host)).toEqual(nftTable("ip", [], []));
      expectSilentSuccess(pm("DEL", host, ctr, c));
      if (versionAtLeast(version, "0.4.0")) expectError(pm("CHECK", host, ctr, c), 999, 'missing hostport rules in "hostports" chain');
    });
  });

  describe("traffic", () => {
    test("iptables: TCP and UDP from another netns, hairpin, localhost and hostIP reach the container; UDP conntrack flushed on DEL and ADD", async () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using client = tempNetns(`${TAG}-client`);
      const pod = makePod(host, ctr, { n: 72, hostOctet: 1 });
      const cl = makePod(host, client, { n: 72, hostOctet: 2 }); // the host is 10.72.2.1 on the client's side
      using _server = await startServer(ctr, "ctr1", 80, 53);
      const maps = [
        { hostPort: 8080, containerPort: 80, protocol: "tcp" },
        { hostPort: 5353, containerPort: 53, protocol: "udp" },
        { hostPort: 8090, containerPort: 80, protocol: "tcp", hostIP: cl.gw4 },
      ];
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), maps);
      expect(pm("ADD", host, ctr, c).exitCode).toBe(0);

      const clientIP = bare(cl.addrs[0]!);
      expect(askFrom(client, "tcp", cl.gw4, 8080)).toBe(`ctr1 ${clientIP}`); // DNAT only: the client's own address
      expect(askFrom(client, "udp", cl.gw4, 5353)).toBe(`ctr1 ${clientIP}`);
      expect(askFrom(client, "tcp", pod.gw4, 8080)).toBe(`ctr1 ${clientIP}`); // any local address of the host
      expect(askFrom(client, "tcp", cl.gw4, 8090)).toBe(`ctr1 ${clientIP}`); // hostIP given: only that address
      expect(askFrom(client, "tcp", pod.gw4, 8090)).toBe("");
      // Hairpin: the container reaches itself through the host port, masqueraded to the host's address.
      expect(askFrom(ctr, "tcp", pod.gw4, 8080)).toBe(`ctr1 ${pod.gw4}`);
      expect(askFrom(ctr, "udp", cl.gw4, 5353)).toBe(`ctr1 ${pod.gw4}`);
      // Localhost on the host: DNAT in OUTPUT, route_localnet, masqueraded.
      expect(askFrom(host, "tcp", "127.0.0.1", 8080)).toBe(`ctr1 ${pod.gw4}`);

      // The UDP flows to the mapped port go with the mapping (upstream leaves them: replies would blackhole).
      expect(udpFlowsTo(host, 5353).length).toBeGreaterThan(0);
      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(udpFlowsTo(host, 5353)).toEqual([]);
      expect(askFrom(client, "tcp", cl.gw4, 8080)).toBe("");

      // A flow to the port while nothing maps it is flushed by the next ADD, so the port's traffic is DNATed at once.
      sendUdp(client, cl.gw4, 5353, 40000);
      expect(udpFlowsTo(host, 5353)).toEqual([`${clientIP}>${cl.gw4}:5353`]);
      expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
      expect(udpFlowsTo(host, 5353)).toEqual([]);
      expect(askFrom(client, "udp", cl.gw4, 5353)).toBe(`ctr1 ${clientIP}`);
      expectSilentSuccess(pm("DEL", host, ctr, c));
    }, TIMEOUT_MS);

    test("nftables: TCP and UDP from another netns, hairpin and localhost; nothing routed through the host is DNATed", async () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using client = tempNetns(`${TAG}-client`);
      using other = tempNetns(`${TAG}-other`);
      const pod = makePod(host, ctr, { n: 73, hostOctet: 1 });
      const cl = makePod(host, client, { n: 73, hostOctet: 2 });
      const ot = makePod(host, other, { n: 73, hostOctet: 3 }); // a second "pod" with its own server on 8080
      using _server = await startServer(ctr, "ctr1", 80, 53);
      using _other = await startServer(other, "other", 8080, 5999);
      const maps = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }, { hostPort: 5353, containerPort: 53, protocol: "udp" }];
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), maps, { backend: "nftables" });
      expect(pm("ADD", host, ctr, c).exitCode).toBe(0);

      const clientIP = bare(cl.addrs[0]!);
      expect(askFrom(client, "tcp", cl.gw4, 8080)).toBe(`ctr1 ${clientIP}`);
      expect(askFrom(client, "udp", cl.gw4, 5353)).toBe(`ctr1 ${clientIP}`);
      expect(askFrom(ctr, "tcp", pod.gw4, 8080)).toBe(`ctr1 ${pod.gw4}`);
      expect(askFrom(host, "tcp", "127.0.0.1", 8080)).toBe(`ctr1 ${pod.gw4}`);
      // CVE-2025-67499: traffic routed through the node to another address keeps its destination.
      expect(askFrom(client, "tcp", bare(ot.addrs[0]!), 8080)).toBe(`other ${clientIP}`);

      expect(udpFlowsTo(host, 5353).length).toBeGreaterThan(0);
      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(udpFlowsTo(host, 5353)).toEqual([]);
      expect(askFrom(client, "tcp", cl.gw4, 8080)).toBe("");
    }, TIMEOUT_MS);

    test("IPv6: dual stack with iptables: both tables, TCP over IPv6 from another netns and hairpin", async () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using client = tempNetns(`${TAG}-client`);
      const pod = makePod(host, ctr, { n: 74, hostOctet: 1, v6: true });
      const cl = makePod(host, client, { n: 74, hostOctet: 2, v6: true });
      using _server = await startServer(ctr, "ctr1", 80, 53);
      const maps = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }, { hostPort: 5353, containerPort: 53, protocol: "udp" }];
      const c = portmapConf("1.0.0", NET, podResult("1.0.0", pod), maps);
      const add = pm("ADD", host, ctr, c);
      expect({ exitCode: add.exitCode, stderr: add.stderr }).toEqual({ exitCode: 0, stderr: "" });
      expect(natLines(host, 4)).toEqual(natWith([{ id: "ctr1", addr: pod.addrs[0]!, maps }]));
      expect(natLines(host, 6)).toEqual(natWith([{ id: "ctr1", addr: pod.addrs[1]!, maps }]));
      expectSilentSuccess(pm("CHECK", host, ctr, c));

      expect(askFrom(client, "tcp", cl.gw6!, 8080)).toBe(`ctr1 ${bare(cl.addrs[1]!)}`);
      expect(askFrom(client, "udp", cl.gw6!, 5353)).toBe(`ctr1 ${bare(cl.addrs[1]!)}`);
      expect(askFrom(ctr, "tcp", pod.gw6!, 8080)).toBe(`ctr1 ${pod.gw6}`);

      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(natLines(host, 4)).toEqual(NAT_SHARED);
      expect(natLines(host, 6)).toEqual(NAT_SHARED);
      expect(udpFlowsTo(host, 5353)).toEqual([]);
    }, TIMEOUT_MS);
  });

  describe("rules", () => {
    test("nftables dual stack: ip and ip6 tables; SCTP; DEL clears both", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 75, hostOctet: 1, v6: true });
      const maps = [...MAPS(pod), { hostPort: 9000, containerPort: 90, protocol: "sctp", hostIP: "::" }];
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), maps, { backend: "nftables" });
      expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
      const r4 = nftRules(pod.addrs[0]!, maps);
      const r6 = nftRules(pod.addrs[1]!, maps);
      expect(nftPortmapLines(host)).toEqual([...nftTable("ip", r4.hostports, r4.masq), ...nftTable("ip6", r6.hostports, r6.masq)]);
      expectSilentSuccess(pm("CHECK", host, ctr, c));
      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(nftPortmapLines(host)).toEqual([...nftTable("ip", [], []), ...nftTable("ip6", [], [])]);
    });

    test("iptables options: conditionsV4 before the jump, masqAll marks every source", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 76, hostOctet: 1 });
      const maps = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }];
      const prev = podResult("1.0.0", pod);
      const d = chainOf(NET, "ctr1");
      const run = (top: object) => {
        const c = portmapConf("1.0.0", NET, prev, maps, top);
        expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
        const lines = natLines(host, 4);
        expectSilentSuccess(pm("CHECK", host, ctr, c));
        expectSilentSuccess(pm("DEL", host, ctr, c));
        return lines;
      };
      const addr = pod.addrs[0]!;
      const top = topLevelLines();
      const withDnat = (rules: string[], entries: string[], chains = top.chains, builtin = top.rules, marks = markChainRules()) =>
        natTable([...chains, `:${d} - [0:0]`], builtin, { [d]: rules, "CNI-HOSTPORT-DNAT": entries, "CNI-HOSTPORT-MASQ": [marks[0]!], "CNI-HOSTPORT-SETMARK": [marks[1]!] });

      expect(run({ conditionsV4: ["!", "-s", "192.0.2.0/24", "-i", pod.hostVeth] }))
        .toEqual(withDnat(dnatRules(d, addr, maps), entryRules(d, NET, "ctr1", maps, `! -s 192.0.2.0/24 -i ${pod.hostVeth} `)));
      expect(run({ masqAll: true })).toEqual(withDnat(dnatRules(d, addr, maps, { masqAll: true }), entryRules(d, NET, "ctr1", maps)));
      // A match whose printed form ours does not predict: CHECK asks iptables (-C), a re-ADD replaces the entry rule.
      const ct = portmapConf("1.0.0", NET, prev, maps, { conditionsV4: ["-m", "conntrack", "--ctstate", "NEW"] });
      const ctEntry = entryRules(d, NET, "ctr1", maps).map((l) => l.replace(` -j ${d}`, ` -m conntrack --ctstate NEW -j ${d}`));
      expect(pm("ADD", host, ctr, ct).exitCode).toBe(0);
      expect(pm("ADD", host, ctr, ct).exitCode).toBe(0);
      expect(natLines(host, 4)).toEqual(withDnat(dnatRules(d, addr, maps), ctEntry));
      expectSilentSuccess(pm("CHECK", host, ctr, ct));
      expectError(pm("CHECK", host, ctr, portmapConf("1.0.0", NET, prev, maps, { conditionsV4: ["-m", "conntrack", "--ctstate", "INVALID"] })), 999,
        /^could not check ipv4 dnat: rule \[\[-m comment --comment dnat name: "pmnet" id: "ctr1" -m multiport -p tcp --destination-ports 8080 -m conntrack --ctstate INVALID\]\] in chain CNI-HOSTPORT-DNAT not found in table nat$/);
      expectSilentSuccess(pm("DEL", host, ctr, ct));
      expect(natLines(host, 4).filter((l) => l.includes("CNI-DN-"))).toEqual([]);
    });

    test("iptables: markMasqBit, snat off and externalSetMarkChain in a fresh netns each", () => {
      const maps = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }];
      const fresh = (top: object, before?: (host: TempNetns) => void) => {
        using host = tempNetns(`${TAG}-host`);
        using ctr = tempNetns(`${TAG}-ctr`);
        const pod = makePod(host, ctr, { n: 77, hostOctet: 1 });
        before?.(host);
        const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), maps, top);
        const add = pm("ADD", host, ctr, c);
        expect({ exitCode: add.exitCode, stderr: add.stderr }).toEqual({ exitCode: 0, stderr: "" });
        expectSilentSuccess(pm("CHECK", host, ctr, c));
        return { lines: natLines(host, 4), addr: pod.addrs[0]!, localnet: sysctl(host, `net/ipv4/conf/${pod.hostVeth}/route_localnet`) };
      };
      const d = chainOf(NET, "ctr1");
      const entries = entryRules(d, NET, "ctr1", maps);

      const bit5 = fresh({ markMasqBit: 5 });
      const t5 = topLevelLines();
      expect(bit5.lines).toEqual(natTable([...t5.chains, `:${d} - [0:0]`], t5.rules, {
        [d]: dnatRules(d, bit5.addr, maps), "CNI-HOSTPORT-DNAT": entries, "CNI-HOSTPORT-MASQ": [markChainRules(5)[0]!], "CNI-HOSTPORT-SETMARK": [markChainRules(5)[1]!],
      }));

      const nosnat = fresh({ snat: false });
      const t0 = topLevelLines(false);
      expect(nosnat.localnet).toBe("0"); // only SNAT needs 127.0.0.1 to cross to the container
      expect(nosnat.lines).toEqual(natTable([...t0.chains, `:${d} - [0:0]`], t0.rules, { [d]: dnatRules(d, nosnat.addr, maps, { snat: false }), "CNI-HOSTPORT-DNAT": entries }));

      const ext = fresh({ externalSetMarkChain: "PLZ-SET-MARK" }, (host) => {
        Bun.spawnSync(["ip", "netns", "exec", host.name, "iptables", "-t", "nat", "-N", "PLZ-SET-MARK"]);
      });
      expect(ext.lines).toEqual(natTable([...t0.chains, `:${d} - [0:0]`, ":PLZ-SET-MARK - [0:0]"], t0.rules, {
        [d]: dnatRules(d, ext.addr, maps, { setMark: "PLZ-SET-MARK" }), "CNI-HOSTPORT-DNAT": entries,
      }));
    });

    test("iptables: more than 15 ports of a protocol are split over several multiport rules", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 78, hostOctet: 1 });
      const maps = Array.from({ length: 17 }, (_, i) => ({ hostPort: 9000 + i, containerPort: 80, protocol: "udp" }));
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), maps);
      expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
      expect(natLines(host, 4)).toEqual(natWith([{ id: "ctr1", addr: pod.addrs[0]!, maps }]));
      expect(natLines(host, 4).filter((l) => l.includes("--dports")).length).toBe(2);
      expectSilentSuccess(pm("DEL", host, ctr, c));
      expect(natLines(host, 4)).toEqual(NAT_SHARED);
    });

    test("a second ADD of the same container changes nothing (both backends)", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 79, hostOctet: 1 });
      const maps = MAPS(pod);
      for (const top of [{}, { backend: "nftables" }]) {
        const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), maps, top);
        expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
        const nat = natLines(host, 4);
        const nft = nftPortmapLines(host);
        expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
        expect(natLines(host, 4)).toEqual(nat);
        expect(nftPortmapLines(host)).toEqual(nft);
      }
    });
  });

  describe("two containers", () => {
    test.each([["iptables", {}], ["nftables", { backend: "nftables" }]] as const)("%s: DEL of one leaves the other's rules and traffic", async (_b, top) => {
      using host = tempNetns(`${TAG}-host`);
      using ctrA = tempNetns(`${TAG}-ctr`);
      using ctrB = tempNetns(`${TAG}-ctr`);
      using client = tempNetns(`${TAG}-client`);
      const a = makePod(host, ctrA, { n: 80, hostOctet: 1 });
      const b = makePod(host, ctrB, { n: 80, hostOctet: 2 });
      const cl = makePod(host, client, { n: 80, hostOctet: 3 });
      using _sa = await startServer(ctrA, "A", 80, 53);
      using _sb = await startServer(ctrB, "B", 80, 53);
      const mapsA = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }];
      const mapsB = [{ hostPort: 8081, containerPort: 80, protocol: "tcp" }, { hostPort: 5353, containerPort: 53, protocol: "udp" }];
      const confA = portmapConf("1.1.0", NET, podResult("1.1.0", a), mapsA, top);
      const confB = portmapConf("1.1.0", NET, podResult("1.1.0", b), mapsB, top);
      expect(pm("ADD", host, ctrA, confA, "ctrA").exitCode).toBe(0);
      expect(pm("ADD", host, ctrB, confB, "ctrB").exitCode).toBe(0);
      expect(askFrom(client, "tcp", cl.gw4, 8080)).toBe(`A ${bare(cl.addrs[0]!)}`);
      expect(askFrom(client, "tcp", cl.gw4, 8081)).toBe(`B ${bare(cl.addrs[0]!)}`);

      // DEL of A needs neither its netns nor its prevResult (containerd sends an empty CNI_NETNS).
      const { prevResult: _p, ...delA } = confA;
      expectSilentSuccess(pm("DEL", host, "", delA, "ctrA"));
      if ("backend" in top) {
        const r = nftRules(b.addrs[0]!, mapsB, "ctrB");
        expect(nftPortmapLines(host)).toEqual(nftTable("ip", r.hostports, r.masq));
      } else {
        expect(natLines(host, 4)).toEqual(natWith([{ id: "ctrB", addr: b.addrs[0]!, maps: mapsB }]));
      }
      expect(askFrom(client, "tcp", cl.gw4, 8080)).toBe("");
      expect(askFrom(client, "tcp", cl.gw4, 8081)).toBe(`B ${bare(cl.addrs[0]!)}`);
      expectSilentSuccess(pm("CHECK", host, ctrB, confB, "ctrB"));
      expectSilentSuccess(pm("DEL", host, ctrB, confB, "ctrB"));
    }, TIMEOUT_MS);
  });

  describe("placement and cost", () => {
    test("PREROUTING and OUTPUT jumps are appended after existing rules; the MASQ jump goes first in POSTROUTING", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 85, hostOctet: 1 });
      const before = ["-A PREROUTING -s 203.0.113.0/24 -j RETURN", "-A OUTPUT -s 203.0.113.0/24 -j RETURN", "-A POSTROUTING -s 203.0.113.0/24 -j RETURN"];
      const p = Bun.spawnSync(["ip", "netns", "exec", host.name, "iptables-restore", "--noflush"], { stdin: new TextEncoder().encode(`*nat\n${before.join("\n")}\nCOMMIT\n`) });
      expect(p.exitCode).toBe(0);
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }]);
      expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
      const builtin = natLines(host, 4).filter((l) => /^-A (PREROUTING|OUTPUT|POSTROUTING) /.test(l));
      const [pre, out, post] = topLevelLines().rules;
      expect(builtin).toEqual([before[0], pre, before[1], out, post, before[2]]);
    });

    test.skipIf(Bun.which("strace") === null)("a first ADD: one iptables-restore batch per family; with iptables-nft, later ADDs and every DEL run no tool (dual stack; needs strace)", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 86, hostOctet: 1, v6: true });
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), MAPS(pod).slice(0, 2), { backend: "iptables" });
      const execs = (verb: string, id: string) => {
        const log = `/tmp/${RUN_PREFIX}-${TAG}-strace-${verb}`;
        const p = Bun.spawnSync(["ip", "netns", "exec", host.name, "strace", "-f", "-qq", "-e", "trace=execve", "-o", log, `${OURS}/portmap`], {
          env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin", CNI_PATH: OURS, ...cniEnv(verb, ctr.path, "eth0", id) },
          stdin: new TextEncoder().encode(JSON.stringify(c)),
        });
        expect(p.exitCode).toBe(0);
        const text = readFileSync(log, "utf8");
        rmSync(log);
        return [...text.matchAll(/execve\("[^"]*\/([^/"]+)"/g)].map((m) => m[1]).filter((n) => n !== "portmap");
      };
      // A fresh host has no ip6 nat table yet: with iptables-nft, the kernel says so and ip6tables-save is not run.
      expect(execs("ADD", "ctr1")).toEqual(["iptables-save", "iptables-restore", "ip6tables-restore"]);
      const afterFirst = [natLines(host, 4), natLines(host, 6)];
      // The shared chains are there now: the kernel shows them rule by rule, and the container's chain goes in one
      // nf_tables transaction per family (pkg/netfilter/nft-iptables-rules.ts), as iptables-restore would add it.
      const nft = iptablesIsNft(4);
      expect(execs("ADD", "ctr2")).toEqual(nft ? [] : ["iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore"]);
      const dn2 = dnatChainName(NET, "ctr2");
      for (const f of [4, 6] as const) {
        const added = natLines(host, f).filter((l) => !afterFirst[f === 4 ? 0 : 1]!.includes(l));
        expect(added.length).toBeGreaterThan(2);
        const dn1 = afterFirst[f === 4 ? 0 : 1]!.filter((l) => l.includes(dnatChainName(NET, "ctr1")));
        expect(added).toEqual(dn1.map((l) => l.replaceAll(dnatChainName(NET, "ctr1"), dn2).replaceAll('\\"ctr1\\"', '\\"ctr2\\"')));
      }
      // DEL with iptables-nft removes the chains in-process (pkg/netfilter/nft-chains.ts): no tool, only the `sleep`
      // that takes the netfilter socket's last reference so the plugin need not wait for the kernel's cleanup.
      for (const id of ["ctr2", "ctr1"]) {
        expect(execs("DEL", id)).toEqual(nft ? ["sleep"] : ["iptables-save", "iptables-restore", "ip6tables-save", "ip6tables-restore"]);
      }
    });

    test.skipIf(!iptablesIsNft(4))("DEL's socket helper holds nothing of the runtime's: its stdin, stdout and stderr are /dev/null", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 87, hostOctet: 1 });
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), MAPS(pod).slice(0, 1), { backend: "iptables" });
      expect(pm("ADD", host, ctr, c).exitCode).toBe(0);
      const before = new Set(sleepHelpers());
      expect(pm("DEL", host, ctr, c).exitCode).toBe(0); // returns with the runtime's pipes closed: the helper has none
      const fresh = sleepHelpers().filter((pid) => !before.has(pid));
      expect(fresh.length).toBe(1);
      const fds = (pid: string) => [0, 1, 2, 3].map((n) => { try { return readlinkSync(`/proc/${pid}/fd/${n}`); } catch { return "gone"; } });
      const [in0, out1, err2, sock3] = fds(fresh[0]!);
      if (sock3 !== "gone") {
        expect([in0, out1, err2]).toEqual(["/dev/null", "/dev/null", "/dev/null"]);
        expect(sock3).toStartWith("socket:");
      }
      expect(natLines(host, 4).filter((l) => l.includes("CNI-DN-"))).toEqual([]);
    });
  });

  describe("concurrency", () => {
    test.each([["iptables", {}], ["nftables", { backend: "nftables" }]] as const)("%s: ADDs at the same time on a fresh host all land, shared rules once", async (_b, top) => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 84, hostOctet: 1 });
      const ids = ["c1", "c2", "c3", "c4"];
      // Each "container" only needs its own address in prevResult: portmap never enters the container netns.
      const confs = ids.map((id, i) => {
        const prev = JSON.parse(JSON.stringify(podResult("1.1.0", pod)).replaceAll(bare(pod.addrs[0]!), `10.84.1.${10 + i}`));
        return portmapConf("1.1.0", NET, prev, [{ hostPort: 7000 + i, containerPort: 80, protocol: "tcp" }], top);
      });
      const runs = await Promise.all(ids.map((id, i) => spawnPlugin("portmap", { hostNetns: host.name, env: cniEnv("ADD", ctr.path, "eth0", id), stdin: confs[i] })));
      expect(runs.map((r) => [r.exitCode, r.stderr])).toEqual(ids.map(() => [0, ""]));
      if ("backend" in top) {
        const lines = nftPortmapLines(host);
        expect(lines.filter((l) => l.startsWith("rule ip hostports ")).sort()).toEqual(
          ids.map((id, i) => `rule ip hostports tcp dport ${7000 + i} dnat to 10.84.1.${10 + i}:80 comment "${id}"`).sort(),
        );
        expect(lines.filter((l) => l.startsWith("rule ip prerouting ") || l.startsWith("rule ip output "))).toEqual(nftSkeleton("ip").shared.slice(2));
      } else {
        const lines = natLines(host, 4);
        for (const id of ids) expect(lines).toContain(`:${chainOf(NET, id)} - [0:0]`);
        expect(lines.filter((l) => l.startsWith("-A PREROUTING") || l.startsWith("-A OUTPUT") || l.startsWith("-A POSTROUTING"))).toEqual(topLevelLines().rules);
        expect(lines.filter((l) => l.startsWith("-A CNI-HOSTPORT-SETMARK") || l.startsWith("-A CNI-HOSTPORT-MASQ")).length).toBe(2);
        expect(lines.filter((l) => l.startsWith("-A CNI-HOSTPORT-DNAT")).length).toBe(4);
      }
      for (const [i, id] of ids.entries()) expectSilentSuccess(pm("CHECK", host, ctr, confs[i]!, id));
    }, TIMEOUT_MS);

    // The race the lock closes (iptables-nft-restore skipping a `-N` whose chain appeared meanwhile, then adding the
    // jumps again) is too rare to show on demand; that the ADD waits for the lock from its read to its apply is not.
    test("iptables: an ADD waits while another process holds the host netns's shared-chains lock", async () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 88, hostOctet: 1 });
      const conf = portmapConf("1.1.0", NET, podResult("1.1.0", pod), [{ hostPort: 7100, containerPort: 80, protocol: "tcp" }]);
      await using holder = holdFlock(host.path);
      const pending = spawnPlugin("portmap", { hostNetns: host.name, env: cniEnv("ADD", ctr.path, "eth0", "c1"), stdin: conf });
      // async: the plugin's stdin is written from the event loop, which a synchronous wait would block
      await waitForAsync(() => holder.listed(true), "portmap ADD to wait for the lock");
      expect(natLines(host, 4).filter((l) => l.includes("CNI-"))).toEqual([]);
      await holder.release();
      const add = await pending;
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expectSilentSuccess(pm("CHECK", host, ctr, conf, "c1"));
    }, TIMEOUT_MS);
  });

  describe("failures leave no state", () => {
    test("bad mappings and options: the error code and field, nothing in iptables or nftables", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 81, hostOctet: 1 });
      const prev = podResult("1.1.0", pod);
      const ok = { hostPort: 8080, containerPort: 80, protocol: "tcp" };
      const cases: [object[], object, number, string | RegExp][] = [
        [[ok, { ...ok, hostPort: 0 }], {}, 7, "failed to parse config: Invalid host port number: 0"],
        [[{ ...ok, containerPort: -1 }], {}, 7, "failed to parse config: Invalid container port number: -1"],
        [[{ ...ok, hostPort: 70000 }], { backend: "nftables" }, 7, /runtimeConfig\.portMappings\[0\]\.hostPort must be at most 65535/],
        [[{ ...ok, protocol: "icmp" }], {}, 7, /Invalid protocol "icmp" in runtimeConfig\.portMappings\[0\]\.protocol/],
        [[{ ...ok, hostIP: "localhost" }], {}, 7, /Invalid host IP "localhost" in runtimeConfig\.portMappings\[0\]\.hostIP/],
        [[ok], { markMasqBit: 32 }, 7, "failed to parse config: MasqMarkBit must be between 0 and 31"],
        [[ok], { markMasqBit: 1, externalSetMarkChain: "X" }, 7, "failed to parse config: Cannot specify externalSetMarkChain and markMasqBit"],
        [[ok], { backend: "nftables", conditionsV4: ["-s", "1.2.3.4"] }, 7, "failed to parse config: nftables backend was requested but configuration contains iptables-specific options [conditionsV4]"],
        [[ok], { backend: "ebpf" }, 7, 'failed to parse config: unrecognized backend "ebpf"'],
        [[ok], { snat: 1 }, 999, /^failed to parse config: failed to parse network configuration: json: cannot unmarshal number into Go struct field PortMapConf\.snat of type bool$/],
        // Refused by iptables and by nft themselves: the batch is atomic, so nothing of it stays.
        [[ok], { conditionsV4: ["-m", "nosuchmatch"] }, 999, /^unable to setup DNAT: /],
        [[ok], { backend: "nftables", conditionsV4: ["ip nosuchfield 1"] }, 999, /^unable to set up nftables rules for port mappings: /],
      ];
      for (const [maps, top, code, msg] of cases) {
        const r = pm("ADD", host, ctr, portmapConf("1.1.0", NET, prev, maps, top));
        expectError(r, code, msg);
        expect(natLines(host, 4).filter((l) => l.includes("CNI-DN"))).toEqual([]);
        expect(nftPortmapLines(host).filter((l) => l.includes("comment"))).toEqual([]);
      }
      expect(sysctl(host, `net/ipv4/conf/${pod.hostVeth}/route_localnet`)).toBe("0");
    });

    test("a failure in the second family removes what the first one added", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 82, hostOctet: 1, v6: true });
      const c = portmapConf("1.1.0", NET, podResult("1.1.0", pod), [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }], {
        conditionsV6: ["-m", "nosuchmatch"],
      });
      expectError(pm("ADD", host, ctr, c), 999, /^unable to setup DNAT: /);
      expect(natLines(host, 4)).toEqual(NAT_SHARED);
      expect(natLines(host, 6).filter((l) => l.includes("CNI-DN"))).toEqual([]);
      expect(sysctl(host, `net/ipv4/conf/${pod.hostVeth}/route_localnet`)).toBe("0");
    });

    test("no prevResult: ADD and CHECK refuse, DEL works; no mappings: prevResult passed through untouched", () => {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 83, hostOctet: 1 });
      const maps = [{ hostPort: 8080, containerPort: 80, protocol: "tcp" }];
      expectError(pm("ADD", host, ctr, portmapConf("1.1.0", NET, undefined, maps)), 999, "must be called as chained plugin");
      expectError(pm("CHECK", host, ctr, portmapConf("1.1.0", NET, undefined, maps)), 999, "Required prevResult missing");
      expectSilentSuccess(pm("DEL", host, ctr, portmapConf("1.1.0", NET, undefined, maps)));
      const prev = podResult("0.4.0", pod);
      const add = pm("ADD", host, ctr, portmapConf("0.4.0", NET, prev, []));
      expect({ exitCode: add.exitCode, stdout: add.stdout }).toEqual({ exitCode: 0, stdout: printed(prev) });
      expect(natLines(host, 4)).toEqual(EMPTY_NAT);
      expectSilentSuccess(pm("CHECK", host, ctr, portmapConf("0.4.0", NET, prev, [])));
    });
  });
});

function sysctl(ns: TempNetns, path: string): string {
  const p = Bun.spawnSync(["ip", "netns", "exec", ns.name, "cat", `/proc/sys/${path}`], { stdout: "pipe", stderr: "pipe" });
  return p.stdout.toString().trim();
}

/** The pids of portmap DEL's socket helpers (`sleep TEARDOWN_HELPER_SECONDS`; pkg/netfilter/nft-chains.ts). */
function sleepHelpers(): string[] {
  return readdirSync("/proc").filter((d) => /^\d+$/.test(d)).filter((pid) => {
    try {
      return readFileSync(`/proc/${pid}/cmdline`, "utf8").split("\0").slice(1, 2).join() === TEARDOWN_HELPER_SECONDS && readlinkSync(`/proc/${pid}/exe`).endsWith("/sleep");
    } catch {
      return false;
    }
  });
}
