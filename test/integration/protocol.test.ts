// The process protocol of the compiled executable: dispatch by name, VERSION, the about banner, env and config
// checks, version gates and the own-netns check, as a runtime sees them.
import { afterAll, describe, expect, test } from "bun:test";
import { OURS, runPlugin as run, type RunOptions } from "../support/run-plugin.ts";
import { tempNetns } from "../support/netns.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";

// Every call runs inside a throwaway host netns: "/proc/self/ns/net" and lo are then that namespace's, never the host's.
const host = tempNetns("proto");
afterAll(() => host[Symbol.dispose]());
const runPlugin = (name: string, opts: RunOptions) => run(name, { ...opts, hostNetns: host.name });

const full = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: "/run/netns/none", CNI_IFNAME: "eth0" };
const conf = (o: object = {}) => ({ cniVersion: "1.1.0", name: "n", type: "loopback", ...o });

describe("dispatch", () => {
  test("under its own name it lists the plugins it serves", () => {
    const r = runPlugin("cni-plugins", { env: {} });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toContain("loopback");
    expect(r.stdout).toContain("host-local");
  });

  test.each(["loopback", "host-local"])("%s answers VERSION without reading stdin", (name) => {
    const r = runPlugin(name, { env: { CNI_COMMAND: "VERSION" }, stdin: "not json at all" });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe(`{"cniVersion":"1.1.0","supportedVersions":${JSON.stringify(ALL_VERSIONS)}}\n`);
  });

  test("with CNI_COMMAND unset it prints the about banner to stderr and exits 0", () => {
    const r = runPlugin("loopback", { env: {} });
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toBe("");
    expect(r.stderr).toMatch(/^CNI loopback plugin v\S+\nCNI protocol versions supported: 0\.1\.0, 0\.2\.0, 0\.3\.0, 0\.3\.1, 0\.4\.0, 1\.0\.0, 1\.1\.0\n$/);
  });

  test("the binaries in bin/ are links to one executable", () => {
    const p = Bun.spawnSync(["readlink", `${OURS}/loopback`, `${OURS}/host-local`]);
    expect(p.stdout.toString()).toBe("cni-plugins\ncni-plugins\n");
  });
});

describe("errors: a JSON object on stdout with 4-space indent, no trailing newline, exit status 1", () => {
  const cases: [string, Record<string, string>, unknown, object][] = [
    ["missing env (the runner always sets CNI_PATH)", { CNI_COMMAND: "ADD" }, conf(), { code: 4, msg: "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME] missing" }],
    ["bad container ID", { ...full, CNI_CONTAINERID: "a/b" }, conf(), { code: 4, msg: "invalid characters in containerID", details: "a/b" }],
    ["ifname too long", { ...full, CNI_IFNAME: "abcdefghijklmnop" }, conf(), { code: 4, msg: "interface name is too long", details: "interface name should be less than 16 characters" }],
    ["ifname with /", { ...full, CNI_IFNAME: "a/b" }, conf(), { code: 4, msg: "interface name contains / or : or whitespace characters" }],
    ["malformed JSON", full, "{", { code: 6 }],
    ["not an object", full, "[1]", { code: 6 }],
    ["missing name", full, { cniVersion: "1.0.0" }, { code: 7, msg: "missing network name" }],
    ["bad name", full, conf({ name: "a b" }), { code: 7, msg: "invalid characters found in network name", details: "a b" }],
    ["unknown cniVersion", full, conf({ cniVersion: "9.9.9" }), { code: 1, msg: "incompatible CNI versions", details: `config is "9.9.9", plugin supports [${ALL_VERSIONS.map((v) => `"${v}"`).join(" ")}]` }],
    ["cniVersion of the wrong type", full, conf({ cniVersion: 1 }), { code: 6 }],
    ["unknown command", { ...full, CNI_COMMAND: "FROB" }, conf(), { code: 4, msg: "unknown CNI_COMMAND: FROB" }],
    ["CHECK below 0.4.0", { ...full, CNI_COMMAND: "CHECK" }, conf({ cniVersion: "0.3.1" }), { code: 1, msg: "config version does not allow CHECK" }],
    ["GC below 1.1.0", { CNI_COMMAND: "GC" }, conf({ cniVersion: "1.0.0" }), { code: 1, msg: "config version does not allow GC" }],
    ["STATUS below 1.1.0", { CNI_COMMAND: "STATUS" }, conf({ cniVersion: "0.4.0" }), { code: 1, msg: "config version does not allow STATUS" }],
    ["STATUS with a bad version", { CNI_COMMAND: "STATUS" }, conf({ cniVersion: "1.x" }), { code: 6 }],
    ["the plugin's own netns", { ...full, CNI_NETNS: "/proc/self/ns/net" }, conf(), { code: 8, msg: "plugin's netns and netns from CNI_NETNS should not be the same" }],
  ];
  test.each(cases)("%s", (_label, env, stdin, want) => {
    const r = runPlugin("loopback", { env, stdin: stdin as object });
    expect(r.exitCode).toBe(1);
    expect(r.json).toMatchObject(want);
    expect(r.stdout).toBe(JSON.stringify(r.json, null, 4));
  });

  test.each(["true", "TRUE", "1"])("CNI_NETNS_OVERRIDE=%s skips the own-netns check", (override) => {
    const r = runPlugin("loopback", { env: { ...full, CNI_COMMAND: "DEL", CNI_NETNS: "/proc/self/ns/net", CNI_NETNS_OVERRIDE: override }, stdin: conf() });
    expect([r.exitCode, r.stdout]).toEqual([0, ""]);
  });
});

describe("GC and STATUS", () => {
  test("loopback has no STATUS or GC handler: silent success", () => {
    for (const verb of ["STATUS", "GC"]) {
      const r = runPlugin("loopback", { env: { CNI_COMMAND: verb }, stdin: conf() });
      expect([r.exitCode, r.stdout]).toEqual([0, ""]);
    }
  });
});

describe("stdin", () => {
  test("a config much bigger than the first read buffer is read whole", () => {
    // 200 KB of padding in an ignored field: the plugin must read past every doubling of its stdin buffer.
    const big = conf({ padding: "p".repeat(200_000), cniVersion: "9.9.9" });
    const r = runPlugin("loopback", { env: full, stdin: big });
    expect([r.exitCode, r.json?.code, r.json?.msg]).toEqual([1, 1, "incompatible CNI versions"]);
  });
});
