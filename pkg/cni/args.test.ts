import { expect, test } from "bun:test";
import { argBool, argIP, argString, goQuote, parseCniArgs } from "./args.ts";
import { formatIP } from "../ip/cidr.ts";

const known = { IP: argIP, MAC: argString };

test("empty CNI_ARGS means nothing", () => {
  expect(parseCniArgs("", known)).toEqual({});
});

test("known keys are parsed, case-sensitively", () => {
  const a = parseCniArgs("IP=10.1.2.3;MAC=0a:00:00:00:00:01", known);
  expect(formatIP(a.IP!)).toBe("10.1.2.3");
  expect(a.MAC).toBe("0a:00:00:00:00:01");
  expect(() => parseCniArgs("ip=10.1.2.3", known)).toThrow('ARGS: unknown args ["ip=10.1.2.3"]');
});

test("IP also accepts ip/prefix", () => {
  expect(formatIP(parseCniArgs("IP=10.1.2.3/24", known).IP!)).toBe("10.1.2.3");
});

test("a pair without exactly one '=' is invalid, including a trailing ';'", () => {
  expect(() => parseCniArgs("IP=10.1.2.3;", known)).toThrow('ARGS: invalid pair ""');
  expect(() => parseCniArgs("IP", known)).toThrow('ARGS: invalid pair "IP"');
  expect(() => parseCniArgs("IP=a=b", known)).toThrow('ARGS: invalid pair "IP=a=b"');
});

test("unknown keys fail unless the last IgnoreUnknown says true", () => {
  expect(() => parseCniArgs("K8S_POD_NAME=a;FOO=b", known)).toThrow('ARGS: unknown args ["K8S_POD_NAME=a" "FOO=b"]');
  expect(parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=a", known)).toEqual({});
  expect(parseCniArgs("K8S_POD_NAME=a;IgnoreUnknown=TRUE", known)).toEqual({});
  expect(() => parseCniArgs("IgnoreUnknown=1;K8S_POD_NAME=a;IgnoreUnknown=false", known)).toThrow("ARGS: unknown args");
});

test("a bad value names the pair", () => {
  expect(() => parseCniArgs("IP=10.1.2", known)).toThrow('ARGS: error parsing value of pair "IP=10.1.2": invalid IP address 10.1.2');
  expect(parseCniArgs("IP=", known).IP).toBeUndefined();
  expect(() => parseCniArgs("IgnoreUnknown=yes", known)).toThrow('ARGS: error parsing value of pair "IgnoreUnknown=yes": boolean unmarshal error: invalid input yes');
});

test("booleans accept 1, 0, true, false in any case", () => {
  expect([argBool("1"), argBool("TRUE"), argBool("0"), argBool("False")]).toEqual([true, true, false, false]);
});

test("goQuote escapes like Go's %q", () => {
  expect(goQuote('a"b\\c\n')).toBe('"a\\"b\\\\c\\n"');
});
