import { expect, test } from "bun:test";
import { array, bool, decodeRoot, int, map, parseJSON, str, struct, uint32, anyObject, float, needsNoReviver, GoNumber } from "./decode.ts";
import { Prng } from "../../test/support/prng.ts";
import { loadNetConf, netConfFields } from "./conf.ts";

const conf = struct("NetConf", {
  name: str,
  mtu: int,
  isGateway: bool,
  bridge: str,
  txQLen: uint32,
  ratio: float,
  tags: array(str, "[]string"),
  caps: map(bool, "map[string]bool"),
  ipam: struct("IPAMConfig", { type: str, subnet: str }),
  args: anyObject,
});
const decode = (text: string) => decodeRoot(parseJSON(text), conf, "NetConf");

test("keys match exactly first, then case-insensitively", () => {
  expect(decode('{"Bridge":"br0","MTU":1400,"isgateway":true}')).toEqual({ bridge: "br0", mtu: 1400, isGateway: true });
});

test("the later of two keys for one field wins", () => {
  expect(decode('{"mtu":1400,"MTU":1500}').mtu).toBe(1500);
  expect(decode('{"MTU":1500,"mtu":1400}').mtu).toBe(1400);
});

test("unknown keys are ignored and null keeps the default", () => {
  expect(decode('{"whatever":{"x":1},"mtu":null,"bridge":null}')).toEqual({});
});

test("a wrong type is an error naming the field as Go does", () => {
  expect(() => decode('{"mtu":"1500"}')).toThrow("json: cannot unmarshal string into Go struct field NetConf.mtu of type int");
  expect(() => decode('{"isGateway":1}')).toThrow("json: cannot unmarshal number into Go struct field NetConf.isGateway of type bool");
  expect(() => decode('{"tags":"a"}')).toThrow("json: cannot unmarshal string into Go struct field NetConf.tags of type []string");
  expect(() => decode('{"tags":[1]}')).toThrow("json: cannot unmarshal number into Go struct field NetConf.tags of type string");
  expect(() => decode('{"ipam":{"subnet":5}}')).toThrow("json: cannot unmarshal number into Go struct field IPAMConfig.ipam.subnet of type string");
  expect(() => decode('{"args":[]}')).toThrow("json: cannot unmarshal array into Go struct field NetConf.args of type map[string]interface {}");
  expect(() => decode("[]")).toThrow("json: cannot unmarshal array into Go value of type NetConf");
});

test("integers must be integer literals that fit", () => {
  expect(() => decode('{"mtu":1.5}')).toThrow("json: cannot unmarshal number 1.5 into Go struct field NetConf.mtu of type int");
  expect(() => decode('{"mtu":1.0}')).toThrow("cannot unmarshal number 1.0 into");
  expect(() => decode('{"mtu":1e3}')).toThrow("cannot unmarshal number 1e3 into");
  expect(() => decode('{"mtu":99999999999999999999}')).toThrow("cannot unmarshal number 99999999999999999999 into");
  expect(() => decode('{"txQLen":-1}')).toThrow("cannot unmarshal number -1 into Go struct field NetConf.txQLen of type uint32");
  expect(() => decode('{"txQLen":4294967296}')).toThrow("of type uint32");
  expect(decode('{"txQLen":4294967295,"ratio":1e3}')).toEqual({ txQLen: 4294967295, ratio: 1000 });
});

test("interface{} fields get plain numbers", () => {
  expect(decode('{"args":{"a":1.5,"b":[2.0]}}').args).toEqual({ a: 1.5, b: [2] });
});

test("loadNetConf reports decode errors with its prefix and parses prevResult", () => {
  const d = struct("NetConf", netConfFields);
  const enc = (o: unknown) => new TextEncoder().encode(JSON.stringify(o));
  expect(() => loadNetConf(enc({ name: "n", type: 5 }), d)).toThrow("failed to load netconf: json: cannot unmarshal number into Go struct field NetConf.type of type string");
  const c = loadNetConf(enc({ cniVersion: "0.4.0", name: "n", prevResult: { ips: [{ version: "4", address: "10.0.0.2/24" }] } }), d);
  expect(c.prevResult).toEqual({ cniVersion: "0.4.0", ips: [{ address: "10.0.0.2/24" }] });
  expect(c.raw.name).toBe("n");
});

// Random JSON texts: numbers in many literal forms, strings holding digits, dots, exponents and escaped quotes.
const NUMBERS = ["0", "-0", "7", "-12", "123456789012345", "-999999999999999", "1234567890123456", "9007199254740993", "1.5", "1.0", "-0.25", "1e3", "2E-2", "10e1"];
const STRINGS = ["", "1.5", "10.0.0.1/24", "1e3", 'a"2.5', "\\", "1\\\"", "123456789012345678", "e.E"];
function randomJSON(prng: Prng, depth: number, numbers: string[]): string {
  const kind = prng.int(depth > 2 ? 3 : 5);
  if (kind === 0) {
    const n = prng.pick(NUMBERS);
    numbers.push(n);
    return n;
  }
  if (kind === 1) return JSON.stringify(prng.pick(STRINGS));
  if (kind === 2) return prng.pick(["true", "false", "null"]);
  const items = Array.from({ length: prng.int(4) }, () => randomJSON(prng, depth + 1, numbers));
  return kind === 3 ? `[${items.join(", ")}]` : `{${items.map((v, i) => `"k${i}.5e": ${v}`).join(",")}}`;
}

test("needsNoReviver says yes exactly when every number literal is an integer of at most 15 digits (and nesting is shallow)", () => {
  const prng = new Prng(5);
  for (let i = 0; i < 5000; i++) {
    const numbers: string[] = [];
    const text = randomJSON(prng, 0, numbers);
    const expected = numbers.every((n) => /^-?[0-9]{1,15}$/.test(n));
    expect([text, needsNoReviver(text)]).toEqual([text, expected]);
    // Either way parseJSON gives the same values: GoNumbers exactly where a literal is not a short integer.
    const wrapped: string[] = [];
    const walk = (v: unknown): void => {
      if (v instanceof GoNumber) wrapped.push(v.source);
      else if (v !== null && typeof v === "object") Object.values(v).forEach(walk);
    };
    walk(parseJSON(text));
    expect(wrapped.sort()).toEqual(numbers.filter((n) => !(/^-?[0-9]+$/.test(n) && Number.isSafeInteger(Number(n)))).sort());
  }
});

test("needsNoReviver says no past Go's nesting limit, so conf.ts can give Go's error", () => {
  const nested = (n: number) => `${"[".repeat(n)}${"]".repeat(n)}`;
  expect([needsNoReviver(nested(10000)), needsNoReviver(nested(10001)), needsNoReviver(`["${"[".repeat(20000)}"]`)]).toEqual([true, false, true]);
});
