// meta/bandwidth/config.test.ts: the config as upstream decodes and validates it. The decode texts are what
// /usr/lib/cni/bandwidth (v1.1.1) printed for the same input. No root.
import { describe, expect, test } from "bun:test";
import { CniError, ERR_INVALID_NETWORK_CONFIG } from "../../pkg/cni/errors.ts";
import { isZero, loadConf, validateEntry, type BandwidthEntry } from "./config.ts";

const base = { cniVersion: "1.0.0", name: "n", type: "bandwidth" };
const stdin = (o: object | string) => new TextEncoder().encode(typeof o === "string" ? o : JSON.stringify(o));
const strict = (o: object | string) => loadConf(stdin(o), { strict: true });
const entry = (e: Partial<BandwidthEntry>): BandwidthEntry => ({ ingressRate: 0n, ingressBurst: 0n, egressRate: 0n, egressBurst: 0n, ...e });

describe("decoding, with upstream's texts", () => {
  test.each([
    [`{"name":"n","ingressRate":-1}`, "json: cannot unmarshal number -1 into Go struct field PluginConf.ingressRate of type uint64"],
    [`{"name":"n","ingressRate":18446744073709551616}`, "json: cannot unmarshal number 18446744073709551616 into Go struct field PluginConf.ingressRate of type uint64"],
    [`{"name":"n","ingressRate":"5"}`, "json: cannot unmarshal string into Go struct field PluginConf.ingressRate of type uint64"],
    [`{"name":"n","ingressRate":1e3}`, "json: cannot unmarshal number 1e3 into Go struct field PluginConf.ingressRate of type uint64"],
    [`{"name":"n","runtimeConfig":{"bandwidth":{"egressRate":1.5}}}`,
      "json: cannot unmarshal number 1.5 into Go struct field BandwidthEntry.runtimeConfig.bandwidth.egressRate of type uint64"],
    [`{"name":"n","runtimeConfig":{"bandwidth":5}}`, "json: cannot unmarshal number into Go struct field .runtimeConfig.bandwidth of type main.BandwidthEntry"],
    [`{"name":"n","runtimeConfig":5}`,
      `json: cannot unmarshal number into Go struct field PluginConf.runtimeConfig of type struct { Bandwidth *main.BandwidthEntry "json:\\"bandwidth,omitempty\\"" }`],
    [`{"name":"n","prevResult":5}`, "json: cannot unmarshal number into Go struct field PluginConf.prevResult of type map[string]interface {}"],
  ])("%s", (text, message) => {
    expect(() => strict(text)).toThrow(`failed to parse network configuration: ${message}`);
    expect(() => loadConf(stdin(text), { strict: false })).toThrow(`failed to parse network configuration: ${message}`);
  });

  test("uint64 values are kept exact, up to 2^64 - 1", () => {
    const c = loadConf(stdin(`{"name":"n","egressRate":18446744073709551615,"egressBurst":9007199254740993}`), { strict: false });
    expect(c.bandwidth).toEqual(entry({ egressRate: 18446744073709551615n, egressBurst: 9007199254740993n }));
  });
});

describe("which limits are in force", () => {
  test("the top level wins as soon as any of its keys is written, even null, in any case", () => {
    const rc = { runtimeConfig: { bandwidth: { egressRate: 800, egressBurst: 800 } } };
    expect(strict({ ...base, ...rc }).bandwidth).toEqual(entry({ egressRate: 800n, egressBurst: 800n }));
    expect(strict({ ...base, ...rc, ingressRate: 16, ingressBurst: 16 }).bandwidth).toEqual(entry({ ingressRate: 16n, ingressBurst: 16n }));
    // upstream: the embedded *BandwidthEntry is allocated before the null is seen, so the (zero) top level wins
    expect(strict({ ...base, ...rc, ingressRate: null }).bandwidth).toEqual(entry({}));
    expect(strict({ ...base, ...rc, EGRESSRATE: 8, egressburst: 8 }).bandwidth).toEqual(entry({ egressRate: 8n, egressBurst: 8n }));
  });

  test("neither: no limits; isZero", () => {
    expect(strict(base).bandwidth).toBeUndefined();
    expect(strict({ ...base, runtimeConfig: {} }).bandwidth).toBeUndefined();
    expect(isZero(entry({}))).toBe(true);
    expect(isZero(entry({ egressBurst: 1n }))).toBe(false);
  });
});

describe("validation (ADD and CHECK only)", () => {
  const codeMsgDetails = (e: BandwidthEntry) => {
    try {
      validateEntry(e);
    } catch (err) {
      expect(err).toBeInstanceOf(CniError);
      const c = err as CniError;
      return [c.code, c.msg, c.details];
    }
    return undefined;
  };

  test("upstream's rules and texts, ingress first, the fields named in the details", () => {
    expect(codeMsgDetails(entry({ ingressRate: 8000n }))).toEqual([ERR_INVALID_NETWORK_CONFIG, "if rate is set, burst must also be set", `"ingressRate" is 8000, "ingressBurst" is 0`]);
    expect(codeMsgDetails(entry({ egressBurst: 8000n }))).toEqual([ERR_INVALID_NETWORK_CONFIG, "if burst is set, rate must also be set", `"egressBurst" is 8000, "egressRate" is 0`]);
    expect(codeMsgDetails(entry({ ingressRate: 8n, ingressBurst: 34359738360n }))).toEqual([
      ERR_INVALID_NETWORK_CONFIG, "burst cannot be more than 4GB", `"ingressBurst" is 34359738360 bits, the most is 34359738359`,
    ]);
    expect(codeMsgDetails(entry({ ingressRate: 8n, ingressBurst: 34359738359n }))).toBeUndefined();
    expect(codeMsgDetails(entry({ ingressRate: 1n, ingressBurst: 8n, egressRate: 8n }))?.[1]).toBe(`"ingressRate" is 1: a rate must be at least 8 bits per second`);
  });

  test("ours: under 8 bits is 0 bytes, which the kernel refuses (EINVAL) after upstream has started", () => {
    expect(codeMsgDetails(entry({ egressRate: 7n, egressBurst: 800n }))?.[1]).toBe(`"egressRate" is 7: a rate must be at least 8 bits per second`);
    expect(codeMsgDetails(entry({ egressRate: 800n, egressBurst: 7n }))?.[1]).toBe(`"egressBurst" is 7: a burst must be at least 8 bits`);
    expect(codeMsgDetails(entry({ egressRate: 8n, egressBurst: 8n }))).toBeUndefined();
  });

  test("loadConf: strict validates and parses prevResult (upstream's doubled prefix); DEL's lenient load does neither", () => {
    expect(() => strict({ ...base, ingressRate: 5 })).toThrow("if rate is set, burst must also be set");
    expect(loadConf(stdin({ ...base, ingressRate: 5 }), { strict: false }).bandwidth).toEqual(entry({ ingressRate: 5n }));
    const badPrev = { ...base, prevResult: { cniVersion: "0.4.0" } };
    expect(() => strict(badPrev)).toThrow('could not parse prevResult: could not parse prevResult: result type supports');
    expect(loadConf(stdin(badPrev), { strict: false }).prevResult).toBeUndefined();
    const ok = strict({ ...base, prevResult: { cniVersion: "1.0.0", interfaces: [{ name: "veth0" }] } });
    expect(ok.prevResult?.interfaces).toEqual([{ name: "veth0" }]);
  });
});
