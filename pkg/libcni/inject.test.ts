import { expect, test } from "bun:test";
import { networkPluginConfFromBytes } from "./conf.ts";
import { buildOneConfig, injectConf } from "./inject.ts";

const plugin = (o: object) => networkPluginConfFromBytes(new TextEncoder().encode(JSON.stringify(o)));
const text = (b: Uint8Array) => new TextDecoder().decode(b);
const PREV_040 = { cniVersion: "0.4.0", interfaces: [{ name: "eth0", sandbox: "/ns" }], ips: [{ address: "10.0.0.2/24", gateway: "10.0.0.1", interface: 0 }] };

test("prevResult is marshalled as its Go type does (0.4.0: struct order, `version`, an empty dns) until a second injection re-sorts it", () => {
  const noCaps = buildOneConfig("net", "0.4.0", plugin({ type: "x" }), PREV_040, { containerId: "c", netns: "", ifname: "eth0" });
  expect(text(noCaps.bytes)).toBe(
    '{"cniVersion":"0.4.0","name":"net","prevResult":{"cniVersion":"0.4.0","interfaces":[{"name":"eth0","sandbox":"/ns"}],' +
      '"ips":[{"version":"4","interface":0,"address":"10.0.0.2/24","gateway":"10.0.0.1"}],"dns":{}},"type":"x"}',
  );
  // runtimeConfig goes in through a second InjectConf, which re-reads prevResult as a map: now sorted.
  const withCaps = buildOneConfig("net", "0.4.0", plugin({ type: "x", capabilities: { mac: true } }), PREV_040, { containerId: "c", netns: "", ifname: "eth0", capabilityArgs: { mac: "m" } });
  expect(text(withCaps.bytes)).toContain('"prevResult":{"cniVersion":"0.4.0","dns":{},"interfaces":[{"name":"eth0","sandbox":"/ns"}],"ips":[{"address":"10.0.0.2/24","gateway":"10.0.0.1","interface":0,"version":"4"}]}');
  expect(text(withCaps.bytes)).toContain('"runtimeConfig":{"mac":"m"}');
});

test("only capabilities the plugin enables reach runtimeConfig; none leaves the file's own runtimeConfig alone", () => {
  const rt = { containerId: "c", netns: "", ifname: "eth0", capabilityArgs: { portMappings: [], mac: "m", bandwidth: null } };
  const conf = (caps: object) => JSON.parse(text(buildOneConfig("n", "1.0.0", plugin({ type: "x", capabilities: caps, runtimeConfig: { own: 1 } }), undefined, rt).bytes));
  expect(conf({ mac: false, ips: true }).runtimeConfig).toEqual({ own: 1 });
  expect(conf({ mac: true, portMappings: true, bandwidth: true }).runtimeConfig).toEqual({ bandwidth: null, mac: "m", portMappings: [] });
});

test("InjectConf refuses an empty key and a nil value, as upstream's", () => {
  expect(() => injectConf(plugin({ type: "x" }), { "": 1 })).toThrow("keys cannot be empty");
  expect(() => injectConf(plugin({ type: "x" }), { k: null })).toThrow("key 'k' value must not be nil");
  expect(text(injectConf(plugin({ type: "x", name: "old" }), { name: "new", z: "<" }).bytes)).toBe('{"name":"new","type":"x","z":"\\u003c"}');
});
