// meta/tuning/raw-sysctl.test.ts: duplicate sysctl keys are found in the raw text (JSON.parse would hide them), and
// the entries come out as Go's decoder sees them. Runs anywhere, no root.
import { expect, test } from "bun:test";
import { scanSysctl } from "./raw-sysctl.ts";

const entries = (text: string) => Object.fromEntries(scanSysctl(text).entries);

test("entries in the order written", () => {
  const r = scanSysctl('{"name":"n","sysctl":{"net.b":"2","net.a":"1"},"mtu":5}');
  expect(r.error).toBeUndefined();
  expect([...r.entries]).toEqual([["net.b", "2"], ["net.a", "1"]]);
});

test("a key written twice is refused, however far apart", () => {
  for (const text of [
    '{"sysctl":{"net.a":"1","net.a":"2"}}',
    '{"sysctl":{"net.a":"1","net.b":"x","net.a":"1"}}',
    '{"sysctl":{"net.a":"1"},"x":1,"Sysctl":{"net.a":"2"}}', // two fields that fold to "sysctl" share one check
    '{"sysctl":{"net.a":"1"},"sysctl":null,"sysctl":{"net.a":"2"}}', // a null does not reset upstream's global set
    '{"sysctl":{"net.\\u0061":"1","net.a":"2"}}', // compared after unescaping
  ]) {
    expect(scanSysctl(text).error?.message).toBe("duplicated sysctl keys are not allowed");
  }
});

test("equal keys elsewhere are not sysctl duplicates", () => {
  const text = '{"args":{"cni":{"sysctl":{"net.a":"1","net.a":"2"}}},"sysctl":{"net.a":"1"},"other":{"net.a":1,"net.a":2}}';
  expect(scanSysctl(text)).toEqual({ entries: new Map([["net.a", "1"]]) });
});

test("several sysctl fields merge, as Go decodes into the same map; null empties it", () => {
  expect(entries('{"sysctl":{"net.a":"1"},"SYSCTL":{"net.b":"2"}}')).toEqual({ "net.a": "1", "net.b": "2" });
  expect(entries('{"sysctl":{"net.a":"1"},"sysctl":null,"sysctl":{"net.b":"2"}}')).toEqual({ "net.b": "2" });
  expect(entries('{"sysctl":null}')).toEqual({});
});

test("a null value is an empty string, as Go stores the zero value", () => {
  expect(entries('{"sysctl":{"net.a":null}}')).toEqual({ "net.a": "" });
});

test("type errors read like Go's, and a later duplicate still wins", () => {
  expect(scanSysctl('{"sysctl":{"net.a":1}}').error?.message).toBe(
    "json: cannot unmarshal number into Go struct field sysctlCheck.sysctl of type string",
  );
  expect(scanSysctl('{"sysctl":"x"}').error?.message).toBe(
    "json: cannot unmarshal string into Go struct field sysctlCheck.sysctl of type map[main.sysctlKey]string",
  );
  expect(scanSysctl('{"sysctl":{"net.a":[1],"net.b":true}}').error?.message).toBe(
    "json: cannot unmarshal array into Go struct field sysctlCheck.sysctl of type string",
  );
  expect(scanSysctl('{"sysctl":{"net.a":1,"net.b":"x","net.b":"y"}}').error?.message).toBe("duplicated sysctl keys are not allowed");
});

test("nested values of every kind are skipped correctly", () => {
  const text = ` { "a" : [1, -2.5e3, "x\\"}", {"b": [true, false, null]}, []] , "c": {} ,
    "sysctl" : { "net.ipv4.conf.IFNAME.arp_notify" : "1" } } `;
  expect(scanSysctl(text)).toEqual({ entries: new Map([["net.ipv4.conf.IFNAME.arp_notify", "1"]]) });
});

test("text that is not a JSON object gives nothing (the skel refuses it first)", () => {
  expect(scanSysctl("[1]")).toEqual({ entries: new Map() });
  expect(scanSysctl('{"sysctl":{"a":')).toEqual({ entries: new Map() });
});
