import { afterAll, expect, test } from "bun:test";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import {
  confListFromConf, loadNetworkConf, networkConfFromBytes, networkPluginConfFromBytes, NoConfigsFoundError, NotFoundError,
} from "./conf.ts";

const root = mkdtempSync(`${tmpdir()}/cnit-libcni-conf-`);
afterAll(() => rmSync(root, { recursive: true, force: true }));
let n = 0;
const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

/** Returns a new directory holding `files` (name → content; objects are written as JSON). */
function confDir(files: Record<string, string | object>): string {
  const dir = `${root}/d${++n}`;
  for (const [name, content] of Object.entries(files)) {
    mkdirSync(`${dir}/${name}`.replace(/\/[^/]*$/, ""), { recursive: true });
    writeFileSync(`${dir}/${name}`, typeof content === "string" ? content : JSON.stringify(content));
  }
  mkdirSync(dir, { recursive: true });
  return dir;
}

const list = (o: object) => networkConfFromBytes(enc(JSON.stringify(o)));
const errorOf = (f: () => unknown) => {
  try { f(); } catch (e) { return (e as Error).message; }
  throw new Error("no error");
};

test("a conflist's plugins are re-marshalled as Go marshals a map: keys sorted, compact, HTML-safe", () => {
  const l = list({ name: "n", cniVersion: "1.0.0", plugins: [{ type: "ptp", b: "<&>", a: { z: 1, y: [0.5, 1e21] } }] });
  expect(l.plugins.map((p) => dec(p.bytes))).toEqual(['{"a":{"y":[0.5,1e+21],"z":1},"b":"\\u003c\\u0026\\u003e","type":"ptp"}']);
  expect(l.plugins[0]!.network).toEqual({ cniVersion: "", name: "", type: "ptp", capabilities: {} });
});

test("cniVersions: the highest version up to 1.1.0 of the list and cniVersion wins; newer ones are skipped", () => {
  const v = (o: object) => list({ name: "n", plugins: [{ type: "x" }], ...o }).cniVersion;
  expect(v({ cniVersion: "0.4.0", cniVersions: ["1.0.0", "0.3.1"] })).toBe("1.0.0");
  expect(v({ cniVersion: "1.1.0", cniVersions: ["1.0.0"] })).toBe("1.1.0");
  expect(v({ cniVersions: ["1.0.0", "2.0.0", "1.1.0"] })).toBe("1.1.0");
  expect(v({ cniVersion: "9.9.9", cniVersions: ["1.0.0"] })).toBe("1.0.0");
  expect(v({ cniVersion: "9.9.9", cniVersions: ["3.0.0"] })).toBe("9.9.9"); // nothing usable: cniVersion stays
  expect(v({ cniVersion: "0.3.1" })).toBe("0.3.1");
  expect(v({})).toBe("");
});

test("cniVersions errors use upstream's words", () => {
  const e = (o: object) => errorOf(() => list({ name: "n", plugins: [{ type: "x" }], ...o }));
  expect(e({ cniVersions: "1.0.0" })).toBe("error parsing configuration list: invalid type for cniVersions: []interface {}");
  expect(e({ cniVersions: ["1.0.0", 1] })).toBe("error parsing configuration list: invalid type for cniVersions index 1: float64");
  expect(e({ cniVersions: ["1.x"] })).toBe('error parsing configuration list: invalid cniVersions entry 1.x at index 0: failed to convert minor version part "x": strconv.Atoi: parsing "x": invalid syntax');
  expect(e({ cniVersion: "a", cniVersions: [] })).toBe('error parsing configuration list: invalid cniVersion a: failed to convert major version part "a": strconv.Atoi: parsing "a": invalid syntax');
  expect(e({ cniVersion: 1 })).toBe("error parsing configuration list: invalid cniVersion type float64");
});

test("disableCheck, disableGC and loadOnlyInlinedPlugins take a bool or the strings true/false in any case", () => {
  for (const [v, want] of [[true, true], [false, false], ["true", true], ["FALSE", false], ["True", true]] as const) {
    const l = list({ name: "n", plugins: [{ type: "x" }], disableCheck: v, disableGC: v, loadOnlyInlinedPlugins: v });
    expect([l.disableCheck, l.disableGC, l.loadOnlyInlinedPlugins]).toEqual([want, want, want]);
  }
  expect(errorOf(() => list({ name: "n", plugins: [{ type: "x" }], disableCheck: "yes" })))
    .toBe('error parsing configuration list: invalid value "yes" for disableCheck');
  expect(errorOf(() => list({ name: "n", plugins: [{ type: "x" }], disableGC: 1 })))
    .toBe("error parsing configuration list: invalid type float64 for disableGC");
  // The list's own keys are a map's: exact case only ("DisableCheck" is just another key).
  expect(list({ name: "n", plugins: [{ type: "x" }], DisableCheck: true }).disableCheck).toBe(false);
});

test("a bad list or plugin is rejected with upstream's words", () => {
  expect(errorOf(() => networkConfFromBytes(enc("[]")))).toBe("error parsing configuration list: json: cannot unmarshal array into Go value of type map[string]interface {}");
  expect(errorOf(() => list({ plugins: [] }))).toBe("error parsing configuration list: no name");
  expect(errorOf(() => list({ name: 5 }))).toBe("error parsing configuration list: invalid name type float64");
  expect(errorOf(() => list({ name: "n", plugins: {} }))).toBe("error parsing configuration list: invalid 'plugins' type map[string]interface {}");
  expect(errorOf(() => list({ name: "n", plugins: [] }))).toBe("error parsing configuration list: no plugins in list");
  expect(errorOf(() => list({ name: "n", loadOnlyInlinedPlugins: true })))
    .toBe("error parsing configuration list: `loadOnlyInlinedPlugins` is true, and no 'plugins' key");
  expect(errorOf(() => list({ name: "n", plugins: [{ name: "x" }] }))).toBe("failed to parse plugin config 0: error parsing configuration: missing 'type'");
  expect(errorOf(() => list({ name: "n", plugins: [{ type: "x" }, { type: "y", capabilities: { a: 1 } }] })))
    .toBe("failed to parse plugin config 1: error parsing configuration: json: cannot unmarshal number into Go struct field PluginConf.capabilities of type bool");
  expect(errorOf(() => list({ name: "n", plugins: ["x"] })))
    .toBe("failed to parse plugin config 0: error parsing configuration: json: cannot unmarshal string into Go value of type types.PluginConf");
  // A plugin config's keys are a struct's: case-insensitive.
  expect(networkPluginConfFromBytes(enc('{"Type":"ptp","CAPABILITIES":{"mac":true}}')).network).toEqual({ cniVersion: "", name: "", type: "ptp", capabilities: { mac: true } });
});

test("loadNetworkConf takes the first .conflist by file name, appending <dir>/<network>/*.conf plugins", () => {
  const dir = confDir({
    "20-b.conflist": { name: "net", cniVersion: "1.0.0", plugins: [{ type: "second-file" }] },
    "10-a.conflist": { name: "net", cniVersion: "1.0.0", plugins: [{ type: "first-file" }] },
    "05-other.conflist": { name: "other", cniVersion: "1.0.0", plugins: [{ type: "other" }] },
    "net/20-y.conf": { type: "from-dir-2" },
    "net/10-x.conf": { type: "from-dir-1" },
    "net/ignored.json": { type: "not-a-conf" },
  });
  const l = loadNetworkConf(dir, "net");
  expect(l.plugins.map((p) => p.network.type)).toEqual(["first-file", "from-dir-1", "from-dir-2"]);
  expect(dec(l.bytes)).toBe(JSON.stringify({ name: "net", cniVersion: "1.0.0", plugins: [{ type: "first-file" }] }));
  expect(dec(l.plugins[1]!.bytes)).toBe(JSON.stringify({ type: "from-dir-1" })); // files are sent as they are
});

test("loadOnlyInlinedPlugins ignores the network's directory; a list of none at all is an error", () => {
  const dir = confDir({
    "a.conflist": { name: "net", loadOnlyInlinedPlugins: "true", plugins: [{ type: "inline" }] },
    "net/x.conf": { type: "from-dir" },
    "b.conflist": { name: "empty" },
  });
  expect(loadNetworkConf(dir, "net").plugins.map((p) => p.network.type)).toEqual(["inline"]);
  expect(errorOf(() => loadNetworkConf(dir, "empty"))).toBe("no plugin configs found");
});

test("a list without plugins takes them all from its directory", () => {
  const dir = confDir({ "a.conflist": { name: "net", cniVersion: "1.1.0" }, "net/x.conf": { type: "from-dir" } });
  expect(loadNetworkConf(dir, "net").plugins.map((p) => p.network.type)).toEqual(["from-dir"]);
});

test("a .conf or .json network is upconverted to a list of one, with its own name and version", () => {
  const dir = confDir({
    "10-x.json": { cniVersion: "0.3.1", name: "single", type: "bridge", bridge: "br0" },
    "20-y.conf": { cniVersion: "1.0.0", name: "single", type: "ptp" },
  });
  const l = loadNetworkConf(dir, "single");
  expect([l.name, l.cniVersion, l.plugins.map((p) => p.network.type)]).toEqual(["single", "0.3.1", ["bridge"]]);
  expect(dec(l.bytes)).toBe('{"cniVersion":"0.3.1","name":"single","plugins":[{"bridge":"br0","cniVersion":"0.3.1","name":"single","type":"bridge"}]}');
  expect(dec(confListFromConf(l.plugins[0]!).bytes)).toBe(dec(l.bytes)); // the plugin carries its name and version
});

test("not found: which error depends on what the directory holds", () => {
  const withList = confDir({ "a.conflist": { name: "net", plugins: [{ type: "x" }] } });
  expect(() => loadNetworkConf(withList, "nope")).toThrow(NotFoundError);
  expect(errorOf(() => loadNetworkConf(withList, "nope"))).toBe(`no net configuration with name "nope" in ${withList}`);
  const withConf = confDir({ "a.conf": { name: "net", type: "x" } });
  expect(errorOf(() => loadNetworkConf(withConf, "nope"))).toBe(`no net configuration with name "nope" in ${withConf}`);
  const empty = confDir({});
  expect(() => loadNetworkConf(empty, "nope")).toThrow(NoConfigsFoundError);
  expect(errorOf(() => loadNetworkConf(`${root}/missing`, "x"))).toBe(`no net configurations found in ${root}/missing`);
});

test("a broken file met on the way fails the lookup, as upstream's", () => {
  const dir = confDir({ "a.conflist": "{not json", "b.conflist": { name: "net", plugins: [{ type: "x" }] } });
  expect(errorOf(() => loadNetworkConf(dir, "net"))).toStartWith("error parsing configuration list: ");
});
