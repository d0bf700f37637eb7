// meta/tuning/config.test.ts: the tuning config decoded as upstream's parseConf does: Go's errors, defaults, and
// each setting's sources in upstream's precedence. Runs anywhere, no root.
import { describe, expect, test } from "bun:test";
import { changesLink, DEFAULT_DATA_DIR, loadConf } from "./config.ts";

const bytes = (o: object | string) => new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));
const base = { cniVersion: "1.0.0", name: "tnet", type: "tuning" };
const load = (o: object | string, cniArgs = "", checkDuplicates = true) => loadConf(bytes(o), cniArgs, { checkDuplicates });

test("defaults: nothing to change", () => {
  const c = load(base);
  expect(c).toMatchObject({ dataDir: DEFAULT_DATA_DIR, mac: "", promisc: false, mtu: 0, txQLen: undefined, allmulti: undefined });
  expect([...c.sysctl]).toEqual([]);
  expect(c.rawPrevResult).toBeUndefined();
  expect(changesLink(c)).toBe(false);
  expect(load({ ...base, dataDir: "" }).dataDir).toBe(DEFAULT_DATA_DIR);
});

test("every field, Go's case-insensitive keys included", () => {
  const c = load({ ...base, DataDir: "/d", SYSCTL: { "net.a": "1" }, MAC: "aa:bb:cc:dd:ee:ff", Promisc: true, MTU: 1400, txqlen: 0, AllMulti: false });
  expect(c).toMatchObject({ dataDir: "/d", mac: "aa:bb:cc:dd:ee:ff", promisc: true, mtu: 1400, txQLen: 0, allmulti: false });
  expect([...c.sysctl]).toEqual([["net.a", "1"]]);
});

test("each link setting alone makes ADD change the link (and write a backup)", () => {
  for (const extra of [{ mac: "aa:bb:cc:dd:ee:ff" }, { mtu: 1400 }, { promisc: true }, { allmulti: false }, { txQLen: 0 }]) {
    expect(changesLink(load({ ...base, ...extra }))).toBe(true);
  }
  expect(changesLink(load({ ...base, promisc: false, mtu: 0, mac: "" }))).toBe(false);
});

describe("decode errors read like upstream's", () => {
  const cases: [object, string][] = [
    [{ mtu: "x" }, "failed to load netconf: json: cannot unmarshal string into Go struct field TuningConf.mtu of type int"],
    [{ mtu: 1.5 }, "failed to load netconf: json: cannot unmarshal number 1.5 into Go struct field TuningConf.mtu of type int"],
    [{ promisc: "yes" }, "failed to load netconf: json: cannot unmarshal string into Go struct field TuningConf.promisc of type bool"],
    [{ txQLen: true }, "failed to load netconf: json: cannot unmarshal bool into Go struct field TuningConf.txQLen of type int"],
    [{ args: { cni: { mac: 5 } } }, "failed to load netconf: json: cannot unmarshal number into Go struct field IPAMArgs.args.cni.mac of type string"],
    [{ runtimeConfig: { mac: 5 } }, "failed to load netconf: json: cannot unmarshal number into Go struct field .runtimeConfig.mac of type string"],
    [{ runtimeConfig: 5 }, 'failed to load netconf: json: cannot unmarshal number into Go struct field TuningConf.runtimeConfig of type struct { Mac string "json:\\"mac,omitempty\\"" }'],
    [{ args: { cni: 5 } }, "failed to load netconf: json: cannot unmarshal number into Go struct field .args.cni of type main.IPAMArgs"],
    [{ args: 5 }, 'failed to load netconf: json: cannot unmarshal number into Go struct field TuningConf.args of type struct { A *main.IPAMArgs "json:\\"cni\\"" }'],
  ];
  test.each(cases)("%j", (extra, msg) => {
    expect(() => load({ ...base, ...extra })).toThrow(msg);
  });

  test("a sysctl value of the wrong type: the duplicate check's text on ADD/CHECK, parseConf's on DEL", () => {
    const conf = { ...base, sysctl: { "net.a": 1 } };
    expect(() => load(conf)).toThrow("json: cannot unmarshal number into Go struct field sysctlCheck.sysctl of type string");
    expect(() => load(conf, "", false)).toThrow("failed to load netconf: json: cannot unmarshal number into Go struct field TuningConf.sysctl of type string");
  });
});

test("duplicate sysctl keys in the raw text: refused on ADD/CHECK, ignored on DEL", () => {
  const text = '{"cniVersion":"1.0.0","name":"tnet","type":"tuning","sysctl":{"net.a":"1","net.a":"2"}}';
  expect(() => load(text)).toThrow("duplicated sysctl keys are not allowed");
  expect(() => load(text, "", false)).not.toThrow();
});

describe("MAC precedence, lowest to highest: mac, CNI_ARGS MAC, runtimeConfig.mac, args.cni.mac", () => {
  const M = (n: number) => `02:00:00:00:00:0${n}`;
  const cases: [string, object, string, string][] = [
    ["mac alone", { mac: M(1) }, "", M(1)],
    ["CNI_ARGS over mac", { mac: M(1) }, `MAC=${M(2)}`, M(2)],
    ["runtimeConfig over CNI_ARGS", { mac: M(1), runtimeConfig: { mac: M(3) } }, `MAC=${M(2)}`, M(3)],
    ["args.cni over runtimeConfig", { mac: M(1), runtimeConfig: { mac: M(3) }, args: { cni: { mac: M(4) } } }, `MAC=${M(2)}`, M(4)],
    ["an empty CNI_ARGS MAC leaves mac", { mac: M(1) }, "MAC=", M(1)],
    ["an empty runtimeConfig.mac leaves CNI_ARGS", { runtimeConfig: { mac: "" } }, `MAC=${M(2)}`, M(2)],
    ["an empty args.cni.mac clears everything (a pointer upstream)", { mac: M(1), args: { cni: { mac: "" } } }, `MAC=${M(2)}`, ""],
    ["runtimeConfig alone", { runtimeConfig: { mac: M(3) } }, "", M(3)],
  ];
  test.each(cases)("%s", (_name, extra, cniArgs, want) => {
    expect(load({ ...base, ...extra }, cniArgs).mac).toBe(want);
  });

  test("CNI_ARGS is parsed as upstream's LoadArgs", () => {
    expect(load(base, `IgnoreUnknown=1;K8S_POD_NAME=x;MAC=${M(5)}`).mac).toBe(M(5));
    expect(() => load(base, "FOO=1")).toThrow('ARGS: unknown args ["FOO=1"]');
    expect(() => load(base, "MAC")).toThrow('ARGS: invalid pair "MAC"');
    expect(() => load(base, "mac=x")).toThrow('ARGS: unknown args ["mac=x"]'); // keys are case-sensitive
  });
});

test("args.cni overrides every other setting; its sysctls merge over the top-level ones", () => {
  const c = load({
    ...base,
    sysctl: { "net.a": "1", "net.b": "2" },
    promisc: true, mtu: 1400, allmulti: true, txQLen: 100,
    args: { cni: { sysctl: { "net.b": "20", "net.c": "30" }, promisc: false, mtu: 1300, allmulti: false, txQLen: 0 } },
  });
  expect(Object.fromEntries(c.sysctl)).toEqual({ "net.a": "1", "net.b": "20", "net.c": "30" });
  expect(c).toMatchObject({ promisc: false, mtu: 1300, allmulti: false, txQLen: 0 });
});

test("args.cni.sysctl without a top-level sysctl (upstream panics) is merged into an empty map", () => {
  expect(Object.fromEntries(load({ ...base, args: { cni: { sysctl: { "net.a": "1" } } } }).sysctl)).toEqual({ "net.a": "1" });
});

test("args without cni, and a null cni, change nothing", () => {
  expect(load({ ...base, mtu: 1400, args: { other: 1 } }).mtu).toBe(1400);
  expect(load({ ...base, mtu: 1400, args: { cni: null } }).mtu).toBe(1400);
});

test("prevResult is kept as written, unparsed (DEL must not fail on it)", () => {
  expect(load({ ...base, prevResult: { cniVersion: "0.4.0", bogus: true } }, "", false).rawPrevResult).toEqual({ cniVersion: "0.4.0", bogus: true });
  expect(load({ ...base, prevResult: null }).rawPrevResult).toBeUndefined();
});
