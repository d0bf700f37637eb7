import { expect, test } from "bun:test";
import { familyOf, parseVersion, versionAtLeast } from "./version.ts";

test("versions compare as up to three dotted integers", () => {
  expect(parseVersion("")).toEqual([0, 1, 0]);
  expect(parseVersion("1")).toEqual([1, 0, 0]);
  expect(parseVersion("0.4")).toEqual([0, 4, 0]);
  expect(versionAtLeast("0.4.0", "0.4.0")).toBe(true);
  expect(versionAtLeast("0.10.0", "0.4.0")).toBe(true);
  expect(versionAtLeast("0.3.1", "0.4.0")).toBe(false);
  expect(versionAtLeast("1.1.0", "1.0.0")).toBe(true);
});

test("a bad version is an error", () => {
  expect(() => parseVersion("1.2.3.4")).toThrow('invalid version "1.2.3.4": too many parts');
  expect(() => parseVersion("a.1")).toThrow('failed to convert major version part "a"');
  expect(() => parseVersion("1.x")).toThrow('failed to convert minor version part "x"');
});

test("result families", () => {
  expect(["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0", "1.1.0", "0.5.0"].map(familyOf))
    .toEqual(["020", "020", "040", "040", "040", "100", "100", undefined]);
});
