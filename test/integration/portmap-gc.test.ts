// portmap GC (ours: upstream declares GC and implements none), run as a runtime runs it (CNI_COMMAND=GC, stdin with
// `cni.dev/valid-attachments`, cniVersion 1.1.0) inside a throwaway host netns, for both backends: two containers on
// network A and two on network B, one of B's with the same container ID as a stale one of A. GC of A with one
// valid container removes exactly the stale one's chain or rules (both families) and its record, leaves B and the
// kept container as they were, and their traffic still flows; GC without a list removes nothing. nftables: rules
// without a record (as the Go plugin makes them) stay, records whose rules a record-less DEL removed (as Go's
// DEL) go, and rules two networks' records claim for the same ID and address stay until the last claim goes.
// iptables: chains the Go plugin (Debian's v1.1.1) made for a gone container are attributable by their comment, and
// GC removes them too. Bad input and cost: the skel's version gate, a decode error, one iptables-save per family.
import { describe, expect, test } from "bun:test";
import { existsSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { expectError, expectSilentSuccess } from "../support/expect-run.ts";
import { RUN_PREFIX, tempNetns, type TempNetns } from "../support/netns.ts";
import { askFrom, chainOf, makePod, nftPortmapLines, podResult, portmapConf, startServer, type Pod } from "../support/portmap.ts";
import { cniEnv, GO, mustSkip, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";

const TAG = "pmg";
const TIMEOUT_MS = 40_000;
const skip = mustSkip("portmap GC integration", { tools: ["ip", "iptables-save", "ip6tables-save", "iptables-restore", "nft"], ours: ["portmap"] });
const hasGo = existsSync(`${GO}/portmap`);
cleanUpAfterAll(TAG);

type Backend = "iptables" | "nftables";
const BACKENDS: [Backend, object][] = [["iptables", { backend: "iptables" }], ["nftables", { backend: "nftables" }]];

function pm(verb: string, host: TempNetns, ctr: TempNetns | string, stdin: object, id: string, dir = OURS): Run {
  const netns = typeof ctr === "string" ? ctr : ctr.path;
  return runPlugin("portmap", { dir, hostNetns: host.name, env: cniEnv(verb, netns, "eth0", id), stdin });
}

/** GC as a runtime sends it: only CNI_COMMAND (and CNI_PATH); `valid` undefined leaves the key out. */
function gc(host: TempNetns, network: string, dataDir: string, top: object, valid?: string[]): Run {
  const list = valid === undefined ? {} : { "cni.dev/valid-attachments": valid.map((containerID) => ({ containerID, ifname: "eth0" })) };
  return runPlugin("portmap", { hostNetns: host.name, env: { CNI_COMMAND: "GC" }, stdin: { cniVersion: "1.1.0", name: network, type: "portmap", dataDir, ...top, ...list } });
}

function natLines(ns: TempNetns, family: 4 | 6): string[] {
  const tool = family === 4 ? "iptables-save" : "ip6tables-save";
  const p = Bun.spawnSync(["ip", "netns", "exec", ns.name, tool, "-t", "nat"], { stdout: "pipe", stderr: "pipe" });
  return p.stdout.toString().split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** Everything of portmap's on the host: both nat tables, the cni_hostport tables, the records ("net/cid": text). */
function stateOf(host: TempNetns, dataDir: string): { nat4: string[]; nat6: string[]; nft: string[]; records: Record<string, string> } {
  return { nat4: natLines(host, 4), nat6: natLines(host, 6), nft: nftPortmapLines(host), records: recordsIn(dataDir) };
}

function recordsIn(dataDir: string): Record<string, string> {
  const out: Record<string, string> = {};
  if (!existsSync(dataDir)) return out;
  for (const net of readdirSync(dataDir).sort()) {
    for (const id of readdirSync(`${dataDir}/${net}`).sort()) out[`${net}/${id}`] = readFileSync(`${dataDir}/${net}/${id}`, "utf8");
  }
  return out;
}

const record = (network: string, id: string, pod: Pod) =>
  `${JSON.stringify({ network, containerID: id, addresses: pod.addrs.map((a) => a.split("/")[0]) })}\n`;
const bare = (addr: string) => addr.split("/")[0]!;

/** One attachment of the scenario: network, container ID, its pod, its host port. */
interface Att {
  net: string;
  id: string;
  pod: Pod;
  port: number;
}

/** Returns whether a state line belongs to an attachment: its iptables chain, or an nft rule with its ID and address. */
function isOf(line: string, a: Att): boolean {
  if (line.includes(chainOf(a.net, a.id))) return true;
  return line.includes(`comment "${a.id}"`) && a.pod.addrs.some((addr) => new RegExp(`[ \\[]${bare(addr).replaceAll(".", "\\.")}[\\]: ]|${bare(addr).replaceAll(".", "\\.")}$`).test(line.split(" comment ")[0]!));
}

function without(s: ReturnType<typeof stateOf>, gone: Att[], goneRecords: string[]): ReturnType<typeof stateOf> {
  const keep = (l: string) => !gone.some((a) => isOf(l, a));
  const records = Object.fromEntries(Object.entries(s.records).filter(([k]) => !goneRecords.includes(k)));
  return { nat4: s.nat4.filter(keep), nat6: s.nat6.filter(keep), nft: s.nft.filter(keep), records };
}

describe.skipIf(skip)("portmap GC", () => {
  describe.each(BACKENDS)("%s", (backend, top) => {
    test("GC of A with one valid container removes exactly A's stale one; B and the kept one untouched, their traffic flows", async () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      using c1 = tempNetns(`${TAG}-ctr`);
      using c2 = tempNetns(`${TAG}-ctr`);
      using b2 = tempNetns(`${TAG}-ctr`);
      using b3 = tempNetns(`${TAG}-ctr`);
      using client = tempNetns(`${TAG}-client`);
      const pod = (ns: TempNetns, octet: number) => makePod(host, ns, { n: 91, hostOctet: octet, v6: true });
      const atts: Att[] = [
        { net: "A", id: "c1", pod: pod(c1, 1), port: 8081 },
        { net: "A", id: "c2", pod: pod(c2, 2), port: 8082 }, // the stale one
        { net: "B", id: "c2", pod: pod(b2, 3), port: 8083 }, // the same container ID on B
        { net: "B", id: "c3", pod: pod(b3, 4), port: 8084 },
      ];
      const cl = makePod(host, client, { n: 91, hostOctet: 5 });
      const [a1, a2, bb2, bb3] = atts as [Att, Att, Att, Att];
      using _s1 = await startServer(c1, "A-c1", 80, 53);
      using _s2 = await startServer(b2, "B-c2", 80, 53);
      using _s3 = await startServer(b3, "B-c3", 80, 53);
      const conf = (a: Att) => portmapConf("1.1.0", a.net, podResult("1.1.0", a.pod), [{ hostPort: a.port, containerPort: 80, protocol: "tcp" }], { ...top, dataDir: data.path });
      for (const a of atts) expect(pm("ADD", host, a.pod.ctr, conf(a), a.id).exitCode).toBe(0);

      const before = stateOf(host, data.path);
      // Each attachment has its state, in both families.
      for (const a of atts) {
        if (backend === "iptables") {
          expect(before.nat4.filter((l) => isOf(l, a)).length).toBe(5); // the chain, its jump, hairpin and localhost marks, DNAT
          expect(before.nat6.filter((l) => isOf(l, a)).length).toBe(4); // no localhost mark in IPv6
        } else {
          expect(before.nft.filter((l) => isOf(l, a) && l.startsWith("rule ip ")).length).toBe(3); // DNAT, two masquerades
          expect(before.nft.filter((l) => isOf(l, a) && l.startsWith("rule ip6 ")).length).toBe(2);
        }
      }
      expect(before.records).toEqual(backend === "iptables" ? {} : Object.fromEntries(atts.map((a) => [`${a.net}/${a.id}`, record(a.net, a.id, a.pod)])));

      // No list: the runtime has told us nothing.
      expectSilentSuccess(gc(host, "A", data.path, top));
      expect(stateOf(host, data.path)).toEqual(before);

      expectSilentSuccess(gc(host, "A", data.path, top, ["c1"]));
      const after = stateOf(host, data.path);
      expect(after).toEqual(without(before, [a2], ["A/c2"]));
      expect(after.nat4.length + after.nft.length).toBeLessThan(before.nat4.length + before.nft.length);
      for (const a of [a1, bb2, bb3]) expectSilentSuccess(pm("CHECK", host, a.pod.ctr, conf(a), a.id));
      const clientIP = bare(cl.addrs[0]!);
      expect(askFrom(client, "tcp", cl.gw4, 8081)).toBe(`A-c1 ${clientIP}`);
      expect(askFrom(client, "tcp", cl.gw4, 8083)).toBe(`B-c2 ${clientIP}`);
      expect(askFrom(client, "tcp", cl.gw4, 8084)).toBe(`B-c3 ${clientIP}`);

      // Again: nothing more goes. Then B with none valid: B's go, A's kept one stays.
      expectSilentSuccess(gc(host, "A", data.path, top, ["c1"]));
      expect(stateOf(host, data.path)).toEqual(after);
      expectSilentSuccess(gc(host, "B", data.path, top, []));
      expect(stateOf(host, data.path)).toEqual(without(before, [a2, bb2, bb3], ["A/c2", "B/c2", "B/c3"]));
      expect(askFrom(client, "tcp", cl.gw4, 8081)).toBe(`A-c1 ${clientIP}`);

      // The kept one's DEL still removes what is left of it, record included.
      expectSilentSuccess(pm("DEL", host, "", conf(a1), "c1"));
      expect(stateOf(host, data.path)).toEqual(without(before, atts, Object.keys(before.records)));
    }, TIMEOUT_MS);
  });

  describe("nftables records", () => {
    const NFT = { backend: "nftables" };
    const maps = (port: number) => [{ hostPort: port, containerPort: 80, protocol: "tcp" }];

    test("rules without a record (as the Go plugin makes them) stay; a record whose rules a record-less DEL removed goes", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      using elsewhere = tempDir(`${TAG}-data`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 92, hostOctet: 1 });
      const prev = podResult("1.1.0", pod);
      // The same kernel rules the Go plugin makes, with the record somewhere this GC does not look.
      const goLike = portmapConf("1.1.0", "A", prev, maps(9001), { ...NFT, dataDir: elsewhere.path });
      expect(pm("ADD", host, ctr, goLike, "gone1").exitCode).toBe(0);
      // Ours, then a DEL that knows nothing of the record (as Go's: by comment only).
      const ours = portmapConf("1.1.0", "A", prev, maps(9002), { ...NFT, dataDir: data.path });
      expect(pm("ADD", host, ctr, ours, "gone2").exitCode).toBe(0);
      expectSilentSuccess(pm("DEL", host, ctr, { ...ours, dataDir: elsewhere.path }, "gone2"));
      const before = stateOf(host, data.path);
      expect(before.nft.filter((l) => l.includes("comment")).map((l) => l.split(" comment ")[1])).toEqual(['"gone1"', '"gone1"', '"gone1"']);
      expect(Object.keys(before.records)).toEqual(["A/gone2"]);

      expectSilentSuccess(gc(host, "A", data.path, NFT, []));
      expect(stateOf(host, data.path)).toEqual({ ...before, records: {} });
    });

    test("the same container ID and address recorded by two networks: the rules stay until the last record goes", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 93, hostOctet: 1 });
      const prev = podResult("1.1.0", pod);
      const confA = portmapConf("1.1.0", "A", prev, maps(9001), { ...NFT, dataDir: data.path });
      const confB = portmapConf("1.1.0", "B", prev, maps(9002), { ...NFT, dataDir: data.path });
      expect(pm("ADD", host, ctr, confA, "c5").exitCode).toBe(0);
      expect(pm("ADD", host, ctr, confB, "c5").exitCode).toBe(0);
      const before = stateOf(host, data.path);
      expect(Object.keys(before.records)).toEqual(["A/c5", "B/c5"]);

      expectSilentSuccess(gc(host, "A", data.path, NFT, []));
      expect(stateOf(host, data.path)).toEqual({ ...before, records: { "B/c5": before.records["B/c5"]! } });
      expectSilentSuccess(gc(host, "B", data.path, NFT, []));
      const after = stateOf(host, data.path);
      expect(after.nft.filter((l) => l.includes("comment"))).toEqual([]);
      expect(after.records).toEqual({});
    });

    test("ADD writes the record before the rules and a failed ADD leaves neither; DEL removes it", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 94, hostOctet: 1, v6: true });
      const prev = podResult("1.1.0", pod);
      const bad = portmapConf("1.1.0", "A", prev, maps(9001), { ...NFT, dataDir: data.path, conditionsV6: ["ip6 nosuchfield 1"] });
      expectError(pm("ADD", host, ctr, bad, "c1"), { code: 999, msg: /^unable to set up nftables rules for port mappings: / });
      expect(stateOf(host, data.path).nft.filter((l) => l.includes("comment"))).toEqual([]);
      expect(recordsIn(data.path)).toEqual({});

      const ok = portmapConf("1.1.0", "A", prev, maps(9001), { ...NFT, dataDir: data.path });
      expect(pm("ADD", host, ctr, ok, "c1").exitCode).toBe(0);
      expect(recordsIn(data.path)).toEqual({ "A/c1": record("A", "c1", pod) });
      expectSilentSuccess(pm("DEL", host, ctr, ok, "c1"));
      expect(recordsIn(data.path)).toEqual({});
      expectSilentSuccess(pm("DEL", host, ctr, ok, "c1"));
    });
  });

  test.skipIf(!hasGo)("iptables: chains the Go plugin (v1.1.1) made for a gone container are this network's by their comment, and go", () => {
    using host = tempNetns(`${TAG}-host`);
    using data = tempDir(`${TAG}-data`);
    using ctr = tempNetns(`${TAG}-ctr`);
    using ctrB = tempNetns(`${TAG}-ctr`);
    const a = makePod(host, ctr, { n: 95, hostOctet: 1 });
    const b = makePod(host, ctrB, { n: 95, hostOctet: 2 });
    const m = (port: number) => [{ hostPort: port, containerPort: 80, protocol: "tcp" }];
    // Go v1.1.1 speaks up to 1.0.0; the same container ID on A and B, and a live one on A.
    expect(pm("ADD", host, ctr, portmapConf("1.0.0", "A", podResult("1.0.0", a), m(9001)), "goctr", GO).exitCode).toBe(0);
    expect(pm("ADD", host, ctrB, portmapConf("1.0.0", "B", podResult("1.0.0", b), m(9002)), "goctr", GO).exitCode).toBe(0);
    expect(pm("ADD", host, ctr, portmapConf("1.0.0", "A", podResult("1.0.0", a), m(9003)), "live", GO).exitCode).toBe(0);
    const before = stateOf(host, data.path);
    const goA = chainOf("A", "goctr");
    expect(before.nat4.filter((l) => l.includes(goA))).toEqual([
      `:${goA} - [0:0]`,
      `-A ${goA} -s 10.95.1.0/24 -p tcp -m tcp --dport 9001 -j CNI-HOSTPORT-SETMARK`,
      `-A ${goA} -s 127.0.0.1/32 -p tcp -m tcp --dport 9001 -j CNI-HOSTPORT-SETMARK`,
      `-A ${goA} -p tcp -m tcp --dport 9001 -j DNAT --to-destination 10.95.1.2:80`,
      `-A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"A\\" id: \\"goctr\\"" -m multiport --dports 9001 -j ${goA}`,
    ]);

    expectSilentSuccess(gc(host, "A", data.path, {}, ["live"]));
    const after = stateOf(host, data.path);
    expect(after).toEqual({ ...before, nat4: before.nat4.filter((l) => !l.includes(goA)) });
    expect(after.nat4.filter((l) => l.includes(chainOf("B", "goctr"))).length).toBe(5);
    expect(after.nat4.filter((l) => l.includes(chainOf("A", "live"))).length).toBe(5);
    // Go's DEL of the live one still works on what our GC left.
    expect(pm("DEL", host, ctr, portmapConf("1.0.0", "A", podResult("1.0.0", a), m(9003)), "live", GO).exitCode).toBe(0);
  });

  describe("input and cost", () => {
    test("GC needs cniVersion 1.1.0; a wrong type in the config or the list fails decoding", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      expectError(gc(host, "A", data.path, { cniVersion: "1.0.0" }, []), { code: 1, msg: "config version does not allow GC" });
      expectError(gc(host, "A", data.path, { dataDir: 5 }, []), {
        code: 999,
        msg: "failed to parse network configuration: json: cannot unmarshal number into Go struct field PortMapConf.dataDir of type string",
      });
      expectError(gc(host, "A", data.path, { "cni.dev/valid-attachments": {} }), {
        code: 999,
        msg: /cni\.dev\/valid-attachments/,
      });
    });

    test.skipIf(Bun.which("strace") === null)("at most one iptables-save per family (none where the kernel has no nat table), a restore only where something goes, no nft without records (needs strace)", () => {
      using host = tempNetns(`${TAG}-host`);
      using data = tempDir(`${TAG}-data`);
      using ctr = tempNetns(`${TAG}-ctr`);
      const pod = makePod(host, ctr, { n: 96, hostOctet: 1 });
      expect(pm("ADD", host, ctr, portmapConf("1.1.0", "A", podResult("1.1.0", pod), [{ hostPort: 9001, containerPort: 80, protocol: "tcp" }]), "c1").exitCode).toBe(0);
      const log = `/tmp/${RUN_PREFIX}-${TAG}-strace`;
      const stdin = { cniVersion: "1.1.0", name: "A", type: "portmap", dataDir: data.path, "cni.dev/valid-attachments": [] };
      const p = Bun.spawnSync(["ip", "netns", "exec", host.name, "strace", "-f", "-qq", "-e", "trace=execve", "-o", log, `${OURS}/portmap`], {
        env: { PATH: process.env.PATH ?? "/usr/sbin:/usr/bin", CNI_PATH: OURS, CNI_COMMAND: "GC" },
        stdin: new TextEncoder().encode(JSON.stringify(stdin)),
      });
      expect(p.exitCode).toBe(0);
      const text = readFileSync(log, "utf8");
      rmSync(log);
      expect([...text.matchAll(/execve\("[^"]*\/([^/"]+)"/g)].map((m) => m[1]).filter((n) => n !== "portmap")).toEqual(["iptables-save", "iptables-restore"]); // no ip6 nat table: no ip6tables-save (iptables-nft)
      expect(natLines(host, 4).filter((l) => l.includes("CNI-DN-"))).toEqual([]);
    });
  });
});
