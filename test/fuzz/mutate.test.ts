// The fuzzer's own logic, no root: cases are a pure function of (seed, plugin, index); whatever the mutations do,
// every data dir and socket path a plugin could decode stays below the lane root and no netns path is a real one;
// the output contract and the scaffolding filters judge known outputs as intended.
import { describe, expect, test } from "bun:test";
import { Prng } from "../support/prng.ts";
import { TARGETS, type Lane } from "./corpus.ts";
import { confine, mutateConfig, resolvePosix } from "./mutate.ts";
import { _internals, contractProblems, makeCase, type Outcome } from "./runner.ts";

const fake = (name: string) => ({ name, path: `/run/netns/${name}`, [Symbol.dispose]() {} });
const lane: Lane = { host: fake("H"), ctr: fake("C"), root: "/tmp/fuzz-unit-root" };

/** Every value of a key that folds to a path key, down to the depth confine looks (plugins read them at 1 or 2). */
function pathValues(v: unknown, out: unknown[] = [], depth = 0): unknown[] {
  if (v && typeof v === "object" && depth <= 64) {
    for (const [k, x] of Object.entries(v)) {
      if (/^(datadir|daemonsocketpath|socketpath|subnetfile)$/.test(k.toLowerCase().replaceAll("\u017f", "s"))) out.push(x);
      else pathValues(x, out, depth + 1);
    }
  }
  return out;
}

describe("fuzz cases", () => {
  test("the same seed, plugin and index give the same bytes; another index or seed does not", () => {
    for (const plugin of Object.keys(TARGETS)) {
      const a = makeCase(7, plugin, 3, TARGETS[plugin]!, lane);
      const b = makeCase(7, plugin, 3, TARGETS[plugin]!, lane);
      expect(b).toEqual(a);
    }
    const differ = Array.from({ length: 20 }, (_, i) => makeCase(7, "bridge", i, TARGETS.bridge!, lane).stdin.join(","));
    expect(new Set(differ).size).toBeGreaterThan(10);
    expect(makeCase(8, "bridge", 3, TARGETS.bridge!, lane).stdin).not.toEqual(makeCase(7, "bridge", 3, TARGETS.bridge!, lane).stdin);
  });

  test("whatever is mutated, every path key a plugin could decode resolves below the lane root (5,000 cases)", () => {
    let decoded = 0;
    for (let i = 0; i < 5000; i++) {
      const plugin = Object.keys(TARGETS)[i % Object.keys(TARGETS).length]!;
      const c = makeCase(0x5a5a, plugin, i, TARGETS[plugin]!, lane);
      let v: unknown;
      try {
        v = JSON.parse(new TextDecoder().decode(c.stdin));
      } catch {
        continue;
      }
      decoded++;
      for (const p of pathValues(v)) {
        if (typeof p !== "string" || p === "") continue; // not a path the plugin will use (a decode error, or the default)
        expect({ i, plugin, p, under: resolvePosix(p).startsWith(`${lane.root}/`) }).toEqual({ i, plugin, p, under: true });
      }
      // And none names another netns than the lane's: CNI_NETNS is the container's, nothing, or no netns at all.
      const ns = c.env.CNI_NETNS;
      if (ns?.startsWith("/proc/")) expect(["/proc/self/ns/net", "/proc/thread-self/ns/net"]).toContain(ns);
      if (ns && resolvePosix(ns).startsWith("/run/netns/")) expect([lane.ctr.path, "/run/netns/cnifz-no-such-netns"]).toContain(resolvePosix(ns));
    }
    expect(decoded).toBeGreaterThan(3000);
  });

  test("confine moves a data dir that escapes, keeps one that stays inside, in any key case and depth", () => {
    const conf = {
      dataDir: "/etc", ipam: { DATADIR: "/tmp/fuzz-unit-root/a/../../../etc", dataDir: "/tmp/fuzz-unit-root/a/../b" },
      x: [{ daemonſocketPath: "/run/docker.sock" }], subnetFile: "/tmp/fuzz-unit-root/s",
    };
    expect(confine(structuredClone(conf), "/tmp/fuzz-unit-root")).toEqual({
      dataDir: "/tmp/fuzz-unit-root/forced-datadir",
      ipam: { DATADIR: "/tmp/fuzz-unit-root/forced-datadir", dataDir: "/tmp/fuzz-unit-root/a/../b" },
      x: [{ daemonſocketPath: "/tmp/fuzz-unit-root/forced-daemonsocketpath" }], subnetFile: "/tmp/fuzz-unit-root/s",
    });
  });

  test("mutations stay bounded: no input over a few MB", () => {
    const rng = new Prng(99);
    for (let i = 0; i < 300; i++) {
      const { conf } = mutateConfig(rng, { a: { b: [1, "x"] }, c: "d" }, ["a", "b"], 4);
      expect(JSON.stringify(conf)?.length ?? 0).toBeLessThan(8 << 20);
    }
  });
});

describe("output contract", () => {
  const o = (exitCode: number, stdout: string, stderr = ""): Outcome => ({ exitCode, signal: null, stdout, stderr, timedOut: false });
  test("a result, an error object, or a silent success pass", () => {
    expect(contractProblems("ADD", o(0, '{"cniVersion":"1.0.0"}'))).toEqual([]);
    expect(contractProblems("ADD", o(1, '{\n    "code": 7,\n    "msg": "x"\n}'))).toEqual([]);
    expect(contractProblems("DEL", o(0, ""))).toEqual([]);
    expect(contractProblems(undefined, o(0, "", "CNI bridge plugin v1"))).toEqual([]);
  });
  test("a crash, two objects, no object, a stack trace or another exit status fail", () => {
    expect(contractProblems("ADD", o(1, '{"code":7,"msg":"x"}{"code":7,"msg":"y"}'))[0]).toStartWith("stdout is not one JSON value");
    expect(contractProblems("ADD", o(0, ""))).toEqual(["nothing on stdout"]);
    expect(contractProblems("ADD", o(1, "[1]"))).toEqual(["stdout is not a JSON object"]);
    expect(contractProblems("ADD", o(1, '{"msg":"x"}'))).toEqual(["error object without an integer code and a string msg"]);
    expect(contractProblems("DEL", o(1, '{"code":999,"msg":"x"}', "TypeError: x\n    at foo (bar.ts:1:2)"))).toEqual(["stack trace or crash text on stderr"]);
    expect(contractProblems("DEL", o(2, '{"code":999,"msg":"x"}'))).toEqual(["exit status 2"]);
  });
});

describe("what may stay after DEL", () => {
  const { isIptScaffolding, isNftScaffolding, isFileScaffolding } = _internals;
  test("shared chains and their jumps stay; anything naming an attachment does not", () => {
    expect(isIptScaffolding("v4 nat :CNI-HOSTPORT-DNAT -")).toBe(true);
    expect(isIptScaffolding("v4 nat -A PREROUTING -m addrtype --dst-type LOCAL -j CNI-HOSTPORT-DNAT")).toBe(true);
    expect(isIptScaffolding("v4 nat :CNI-2bbe0c48b91a7d1b8a6753a8 -")).toBe(false);
    expect(isIptScaffolding('v4 nat -A CNI-HOSTPORT-DNAT -p tcp -m comment --comment "dnat name: \\"n\\" id: \\"c\\"" -j CNI-DN-2bbe0c48b91a7d1b8a675')).toBe(false);
    expect(isIptScaffolding("v4 filter -A CNI-FORWARD -s 10.1.2.3/32 -j ACCEPT")).toBe(false);
    expect(isNftScaffolding('table {"family":"inet","name":"cni_plugins_masquerade"}')).toBe(true);
    expect(isNftScaffolding('chain {"family":"bridge","table":"nat","name":"cni-br-iface-x"}')).toBe(false);
    expect(isNftScaffolding('rule {"family":"inet","chain":"masq_checks","comment":"abc","expr":[]}')).toBe(false);
  });
  test("directories, locks and bookmarks stay; reservations, backups and anything in a default dir do not", () => {
    expect(isFileScaffolding("dd/ipam/net/")).toBe(true);
    expect(isFileScaffolding("dd/ipam/net/lock")).toBe(true);
    expect(isFileScaffolding("dd/ipam/net/last_reserved_ip.0")).toBe(true);
    expect(isFileScaffolding("dd/ipam/net/10.1.2.3")).toBe(false);
    expect(isFileScaffolding("dd/tuning/c_eth0.json")).toBe(false);
    expect(isFileScaffolding("var-lib/cni/")).toBe(false);
  });
});
