// meta/flannel/go-marshal.test.ts: goMarshal against what Go's json.Marshal prints for the same values (Go 1.24,
// the toolchain of flannel v1.9.1-flannel1). No root.
import { expect, test } from "bun:test";
import { GoStruct, goMarshal } from "./go-marshal.ts";

test("maps: keys sorted by bytes (upper case first), compact, no trailing newline", () => {
  expect(goMarshal({ type: "bridge", name: "n", ipam: {}, ipMasq: false, isGateway: true, Zed: 1, cniVersion: "1.0.0" }))
    .toBe('{"Zed":1,"cniVersion":"1.0.0","ipMasq":false,"ipam":{},"isGateway":true,"name":"n","type":"bridge"}');
});

test("UTF-8 byte order, not UTF-16 order, above U+E000", () => {
  // U+FF21 is EF BC A1 in UTF-8; U+1F600 is F0 9F 98 80: Go puts U+FF21 first, UTF-16 order the other way.
  expect(goMarshal({ "\u{1F600}": 1, "\uFF21": 2 })).toBe('{"\uFF21":2,"\u{1F600}":1}');
});

test("structs keep their field order", () => {
  expect(goMarshal([new GoStruct({ dst: "10.0.0.0/8", gw: "10.1.1.1", mtu: 1400 })])).toBe('[{"dst":"10.0.0.0/8","gw":"10.1.1.1","mtu":1400}]');
});

test("strings: Go's escapes, HTML-safe", () => {
  expect(goMarshal('a"b\\c<d>e&f\u2028\u2029')).toBe('"a\\"b\\\\c\\u003cd\\u003ee\\u0026f\\u2028\\u2029"');
  expect(goMarshal("\b\f\n\r\t\u0001\u001f\u007f")).toBe('"\\b\\f\\n\\r\\t\\u0001\\u001f\u007f"');
  expect(goMarshal("é✓\u{1F600}")).toBe('"é✓\u{1F600}"');
  // Go's decoder had already turned a lone surrogate escape into U+FFFD.
  expect(goMarshal("x\uD800y")).toBe('"x\uFFFDy"');
  expect(goMarshal({ "<k>": 1 })).toBe('{"\\u003ck\\u003e":1}');
});

test("numbers print as float64 does", () => {
  const cases: [number, string][] = [
    [1472, "1472"], [1.5, "1.5"], [-2, "-2"], [0, "0"], [-0, "-0"], [1e20, "100000000000000000000"], [1e21, "1e+21"],
    [1.5e300, "1.5e+300"], [0.000001, "0.000001"], [1e-7, "1e-7"], [1.25e-7, "1.25e-7"], [12345678901234567890, "12345678901234567000"],
  ];
  for (const [n, text] of cases) expect(goMarshal(n)).toBe(text);
  expect(() => goMarshal(Infinity)).toThrow("json: unsupported value: +Inf");
});

test("null, booleans and nesting", () => {
  expect(goMarshal({ a: null, b: [true, false, null, [[]]], c: { d: { e: "f" } } })).toBe('{"a":null,"b":[true,false,null,[[]]],"c":{"d":{"e":"f"}}}');
});
