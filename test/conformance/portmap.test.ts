// portmap, Go reference (/usr/lib/cni/portmap, Debian's plugins v1.1.1, iptables only: it predates the nftables
// backend) against ours: the same prevResult and port mappings to both, each in its own throwaway host netns with
// a container netns wired by hand, compared on the printed result and the whole nat tables (iptables-save, both
// families); CHECK of each on the other's rules; then each one's DEL undoing the other's ADD on one host netns, as
// on a node that switches implementations, leaving only the shared chains (SPEC-DIGEST §3.1).
//
// Masked, and nothing else: Go v1.1.1 prints `"dns": {}` in 1.0.0 results (maskGoResult); Go v1.1.1's CHECK looks
// for each family's rules in both iptables and ip6tables, so it fails on its own ADD too: its verdict on our rules is
// compared with its verdict on its own, and our CHECK must pass on Go's. Options v1.1.1 does not have (masqAll,
// backend) and the UDP conntrack flush on DEL are tested on ours alone (test/integration/portmap.test.ts).
import { afterAll, describe, expect, test } from "bun:test";
import { GO_VERSIONS, goPlugins, maskGoResult } from "../support/conformance.ts";
import { canUseNetns, RUN_PREFIX, sweepNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { makePod, podResult, portmapConf, type Pod } from "../support/portmap.ts";
import { cniEnv, GO, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { versionAtLeast } from "../../pkg/cni/version.ts";

const TAG = "pmc";
const NET = "pmnet";
const { hasGo, skipReason } = goPlugins("portmap");
const tools = ["ip", "iptables-save", "ip6tables-save"].filter((t) => Bun.which(t) === null);
const skip = !hasGo || !canUseNetns() || tools.length > 0;
if (skip) console.warn(`portmap conformance skipped: ${tools.length ? `missing ${tools.join(", ")}` : !canUseNetns() ? "needs root and ip netns" : skipReason.trim()}`);
afterAll(() => sweepNetns(`${RUN_PREFIX}-${TAG}-`));

type Impl = "go" | "ours";
const DIR: Record<Impl, string> = { go: GO, ours: OURS };

function call(impl: Impl, verb: string, host: TempNetns, ctr: TempNetns, stdin: object, id = "ctr1"): Run {
  return runPlugin("portmap", { dir: DIR[impl], hostNetns: host.name, env: cniEnv(verb, ctr.path, "eth0", id), stdin });
}

function natLines(ns: TempNetns, family: 4 | 6): string[] {
  const tool = family === 4 ? "iptables-save" : "ip6tables-save";
  const p = Bun.spawnSync(["ip", "netns", "exec", ns.name, tool, "-t", "nat"], { stdout: "pipe", stderr: "pipe" });
  return p.stdout.toString().split("\n").filter((l) => l !== "" && !l.startsWith("#"));
}

/** One implementation's world: a host netns and a wired container, the same addresses on both sides. */
function world(impl: Impl, v6: boolean): { host: TempNetns; ctr: TempNetns; pod: Pod; [Symbol.dispose](): void } {
  const host = tempNetns(`${TAG}-${impl}host`);
  const ctr = tempNetns(`${TAG}-${impl}ctr`);
  const pod = makePod(host, ctr, { n: 90, hostOctet: 1, v6 });
  return { host, ctr, pod, [Symbol.dispose]: () => { ctr[Symbol.dispose](); host[Symbol.dispose](); } };
}

const MAPPINGS = [
  { hostPort: 8080, containerPort: 80, protocol: "tcp" },
  { hostPort: 8081, containerPort: 81, protocol: "udp" },
  { hostPort: 8082, containerPort: 82, protocol: "tcp", hostIP: "10.90.1.1" },
  { hostPort: 8083, containerPort: 83, protocol: "sctp", hostIP: "0.0.0.0" },
  { hostPort: 8084, containerPort: 84, protocol: "tcp", hostIP: "fd90:1::1" },
];

// Configurations v1.1.1 understands, each compared whole.
const OPTIONS: [string, object][] = [
  ["defaults", {}],
  ["snat off", { snat: false }],
  ["markMasqBit 7", { markMasqBit: 7 }],
  ["conditions", { conditionsV4: ["!", "-s", "192.0.2.0/24"], conditionsV6: ["-i", "eth9"] }],
];

/** Returns the outcome of an ADD and everything it left in both nat tables. */
function addIn(impl: Impl, w: ReturnType<typeof world>, c: object) {
  const add = call(impl, "ADD", w.host, w.ctr, c);
  return { exitCode: add.exitCode, result: maskGoResult(add.json), stderr: add.stderr, nat4: natLines(w.host, 4), nat6: natLines(w.host, 6) };
}

describe.skipIf(skip)(`portmap conformance${skip ? skipReason : ""}`, () => {
  describe.each(GO_VERSIONS)("%s", (version) => {
    test("the same result and the same nat rules for the same input; each CHECKs and DELs the other's", () => {
      for (const impl of ["go", "ours"] as Impl[]) {
        // Go's ADD, our CHECK and DEL; then our ADD, Go's CHECK and DEL.
        using w = world(impl, false);
        const other: Impl = impl === "go" ? "ours" : "go";
        const c = portmapConf(version, NET, podResult(version, w.pod), MAPPINGS);
        const added = addIn(impl, w, c);
        expect(added.exitCode).toBe(0);
        using mirror = world(other, false);
        expect(addIn(other, mirror, c)).toEqual(added);

        if (versionAtLeast(version, "0.4.0")) {
          // Each CHECK judges the other's rules as it judges its own. (Go v1.1.1's own CHECK fails for an
          // IPv4-only container: it looks for the chain in ip6tables too, fixed upstream since; ours passes.)
          const outcome = (r: Run) => ({ exitCode: r.exitCode, stdout: r.stdout });
          const check = outcome(call(other, "CHECK", w.host, w.ctr, c));
          expect(check).toEqual(outcome(call(other, "CHECK", mirror.host, mirror.ctr, c)));
          if (other === "ours") expect(check).toEqual({ exitCode: 0, stdout: "" });
        }
        const del = call(other, "DEL", w.host, w.ctr, c);
        expect({ exitCode: del.exitCode, stdout: del.stdout }).toEqual({ exitCode: 0, stdout: "" });
        expect(natLines(w.host, 4).filter((l) => l.includes("CNI-DN-") || l.includes("dnat name"))).toEqual([]);
        // What is left is what both leave after their own DEL: the shared chains.
        expect(call(other, "DEL", mirror.host, mirror.ctr, c).exitCode).toBe(0);
        expect(natLines(w.host, 4)).toEqual(natLines(mirror.host, 4));
      }
    });
  });

  describe.each(OPTIONS)("%s", (_name, top) => {
    test("dual stack: the same rules in both families", () => {
      using go = world("go", true);
      using ours = world("ours", true);
      const c = portmapConf("1.0.0", NET, podResult("1.0.0", go.pod), MAPPINGS, top);
      const g = addIn("go", go, c);
      expect(g.exitCode).toBe(0);
      expect(addIn("ours", ours, c)).toEqual(g);
      // Our CHECK passes on Go's rules; Go v1.1.1's CHECK judges ours as it judges its own (it fails on both: it
      // looks for each family's rules in both tables, fixed upstream since).
      const outcome = (r: Run) => ({ exitCode: r.exitCode, stdout: r.stdout });
      expect(outcome(call("ours", "CHECK", go.host, go.ctr, c))).toEqual({ exitCode: 0, stdout: "" });
      expect(outcome(call("go", "CHECK", ours.host, ours.ctr, c))).toEqual(outcome(call("go", "CHECK", go.host, go.ctr, c)));
      // Our DEL of Go's rules and Go's DEL of ours leave the same shared chains.
      expect(call("ours", "DEL", go.host, go.ctr, c).exitCode).toBe(0);
      expect(call("go", "DEL", ours.host, ours.ctr, c).exitCode).toBe(0);
      for (const f of [4, 6] as const) {
        expect(natLines(go.host, f)).toEqual(natLines(ours.host, f));
        expect(natLines(go.host, f).filter((l) => l.includes("CNI-DN-"))).toEqual([]);
      }
    });
  });

  test("externalSetMarkChain: the same rules, the user's chain left alone by both DELs", () => {
    const prep = (w: ReturnType<typeof world>) => Bun.spawnSync(["ip", "netns", "exec", w.host.name, "iptables", "-t", "nat", "-N", "PLZ-SET-MARK"]);
    using go = world("go", false);
    using ours = world("ours", false);
    prep(go);
    prep(ours);
    const conf = (w: ReturnType<typeof world>) => portmapConf("1.0.0", NET, podResult("1.0.0", w.pod), MAPPINGS, { externalSetMarkChain: "PLZ-SET-MARK" });
    const g = addIn("go", go, conf(go));
    const o = addIn("ours", ours, conf(ours));
    expect(o.nat4).toEqual(g.nat4);
    expect(call("go", "DEL", ours.host, ours.ctr, conf(ours)).exitCode).toBe(0);
    expect(call("ours", "DEL", go.host, go.ctr, conf(go)).exitCode).toBe(0);
    expect(natLines(go.host, 4)).toEqual(natLines(ours.host, 4));
    expect(natLines(go.host, 4)).toContain(":PLZ-SET-MARK - [0:0]");
  });

  test("bad ports: the same error text (ours adds code 7 where Go says 999)", () => {
    using go = world("go", false);
    using ours = world("ours", false);
    for (const m of [{ hostPort: 0, containerPort: 80, protocol: "tcp" }, { hostPort: 80, containerPort: -1, protocol: "tcp" }]) {
      const g = call("go", "ADD", go.host, go.ctr, portmapConf("1.0.0", NET, podResult("1.0.0", go.pod), [m]));
      const o = call("ours", "ADD", ours.host, ours.ctr, portmapConf("1.0.0", NET, podResult("1.0.0", ours.pod), [m]));
      expect([g.exitCode, o.exitCode]).toEqual([1, 1]);
      expect(o.json.msg).toBe(g.json.msg);
      expect(o.json.code).toBe(7);
    }
  });
});
