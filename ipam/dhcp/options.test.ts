// ipam/dhcp/options.test.ts: the options a lease sends, from `provide`, `request` and CNI_ARGS, with upstream's texts.
import { expect, test } from "bun:test";
import { lenientArgs, parseOptionName, prepareOptions } from "./options.ts";

const text = (s: string) => new TextEncoder().encode(s);

test("option names and decimal codes", () => {
  expect(["dhcp-client-identifier", "subnet-mask", "routers", "host-name", "user-class", "vendor-class-identifier", "0", "121", "255"].map(parseOptionName))
    .toEqual([61, 1, 3, 12, 77, 60, 0, 121, 255]);
  expect(() => parseOptionName("Routers")).toThrow('Can not parse option: strconv.ParseUint: parsing "Routers": invalid syntax');
  expect(() => parseOptionName("-1")).toThrow('parsing "-1": invalid syntax');
  expect(() => parseOptionName("256")).toThrow('Can not parse option: strconv.ParseUint: parsing "256": value out of range');
});

test("default request list is routers then subnet mask", () => {
  expect(prepareOptions("", [], [])).toEqual([{ code: 55, value: Uint8Array.of(3, 1) }]);
});

test("requested options come first, deduplicated, then the defaults; skipDefault drops the defaults", () => {
  expect(prepareOptions("", [], [{ option: "121", skipDefault: false }, { option: "3", skipDefault: false }, { option: "121", skipDefault: false }]))
    .toEqual([{ code: 55, value: Uint8Array.of(121, 3, 1) }]);
  expect(prepareOptions("", [], [{ option: "", skipDefault: true }, { option: "33", skipDefault: false }])).toEqual([{ code: 55, value: Uint8Array.of(33) }]);
  // Nothing requested at all: no option 55 (the library's own list then stays).
  expect(prepareOptions("", [], [{ option: "", skipDefault: true }])).toEqual([]);
});

test("provide: the value, then the value of fromArg from CNI_ARGS (split on the first =, lenient)", () => {
  const opts = prepareOptions("IgnoreUnknown=1;K8S_POD_NAME=web=1;junk;HOST=h2", [
    { option: "host-name", value: "h1", fromArg: "HOST" },
    { option: "user-class", value: "", fromArg: "K8S_POD_NAME" },
    { option: "60", value: "vendor", fromArg: "MISSING" },
  ], [{ option: "", skipDefault: true }]);
  expect(opts).toEqual([
    { code: 12, value: text("h1") },
    { code: 12, value: text("h2") },
    { code: 77, value: text("web=1") },
    { code: 60, value: text("vendor") },
  ]);
  expect([...lenientArgs("A=1;B;=x;C=")]).toEqual([["A", "1"], ["", "x"], ["C", ""]]);
});

test("bad options fail with upstream's texts", () => {
  expect(() => prepareOptions("", [{ option: "hostname", value: "x", fromArg: "" }], [])).toThrow(
    'Can not parse option "hostname": Can not parse option: strconv.ParseUint: parsing "hostname": invalid syntax',
  );
  expect(() => prepareOptions("", [], [{ option: "999", skipDefault: false }])).toThrow('Can not parse option "999"');
  const long = "x".repeat(256);
  expect(() => prepareOptions("", [{ option: "12", value: long, fromArg: "" }], [])).toThrow(`value too long for option "12": "${long}"`);
  expect(() => prepareOptions(`H=${long}`, [{ option: "12", value: "", fromArg: "H" }], [])).toThrow('value too long for option "12" from CNI_ARGS "H": ""');
});
