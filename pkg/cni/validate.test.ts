import { expect, test } from "bun:test";
import { thrown } from "../../test/support/thrown.ts";
import { readEnv, validateContainerId, validateIfname } from "./validate.ts";
import { randomTexts } from "../../test/support/random-text.ts";
import { CniError } from "./errors.ts";

const errorOf = (f: () => unknown): object => (thrown(f) as CniError).toJSON();

const full = { CNI_COMMAND: "ADD", CNI_CONTAINERID: "c1", CNI_NETNS: "/run/netns/x", CNI_IFNAME: "eth0", CNI_PATH: "/opt/cni/bin" };

test("missing variables are collected in upstream's order", () => {
  expect(errorOf(() => readEnv({ CNI_COMMAND: "ADD" }))).toEqual({ code: 4, msg: "required env variables [CNI_CONTAINERID,CNI_NETNS,CNI_IFNAME,CNI_PATH] missing" });
  expect(errorOf(() => readEnv({ CNI_COMMAND: "DEL" }))).toEqual({ code: 4, msg: "required env variables [CNI_CONTAINERID,CNI_IFNAME,CNI_PATH] missing" });
  expect(errorOf(() => readEnv({ CNI_COMMAND: "GC" }))).toEqual({ code: 4, msg: "required env variables [CNI_PATH] missing" });
  expect(errorOf(() => readEnv({}))).toEqual({ code: 4, msg: "required env variables [CNI_COMMAND] missing" });
  expect(readEnv({ CNI_COMMAND: "VERSION" }).command).toBe("VERSION");
});

test("an empty container ID counts as missing; bad characters are code 4 with the ID", () => {
  expect(errorOf(() => readEnv({ ...full, CNI_CONTAINERID: "" }))).toEqual({ code: 4, msg: "required env variables [CNI_CONTAINERID] missing" });
  expect(errorOf(() => readEnv({ ...full, CNI_CONTAINERID: "-bad" }))).toEqual({ code: 4, msg: "invalid characters in containerID", details: "-bad" });
  expect(errorOf(() => readEnv({ ...full, CNI_CONTAINERID: "../x" }))).toEqual({ code: 4, msg: "invalid characters in containerID", details: "../x" });
});

test("a present invalid variable returns before later ones are reported missing", () => {
  expect(errorOf(() => readEnv({ CNI_COMMAND: "ADD", CNI_CONTAINERID: "a b" }))).toEqual({ code: 4, msg: "invalid characters in containerID", details: "a b" });
});

test("interface names", () => {
  expect(errorOf(() => validateIfname("a234567890123456"))).toEqual({ code: 4, msg: "interface name is too long", details: "interface name should be less than 16 characters" });
  expect(() => validateIfname("a23456789012345")).not.toThrow();
  expect(errorOf(() => validateIfname("."))).toEqual({ code: 4, msg: "interface name is . or .." });
  expect(errorOf(() => validateIfname(".."))).toEqual({ code: 4, msg: "interface name is . or .." });
  for (const bad of ["a/b", "a:b", "a b", "a\tb", "a\u00a0b"]) {
    expect(errorOf(() => validateIfname(bad))).toEqual({ code: 4, msg: "interface name contains / or : or whitespace characters" });
  }
  // 15 bytes is the limit, not 15 characters.
  expect(errorOf(() => validateIfname("ééééééééé"))).toMatchObject({ msg: "interface name is too long" });
  expect(errorOf(() => readEnv({ ...full, CNI_IFNAME: "eth0:1" }))).toMatchObject({ code: 4 });
});

test("name and interface checks accept and refuse exactly what upstream's patterns do", () => {
  for (const s of randomTexts(5000, ["a", "a.b-c_d", "-a", ".", "..", "eth0", "a b", "a\u0085b"])) {
    const fails = (fn: () => void) => { try { fn(); return false; } catch { return true; } };
    const badId = fails(() => validateContainerId(s));
    expect(badId).toBe(!/^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/.test(s));
    if (s === "" || s === "." || s === ".." || new TextEncoder().encode(s).length > 15) continue;
    const badIfname = fails(() => validateIfname(s));
    expect(badIfname).toBe(/[/:]/.test(s) || /[\s\u0085]/u.test(s));
  }
});
