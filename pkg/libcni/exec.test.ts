import { expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { tempDir } from "../../test/support/temp-dir.ts";
import { cniEnv, decodeVersion, parsePluginResult, RawExec } from "./exec.ts";

const enc = (s: string) => new TextEncoder().encode(s);

test("a result takes its own cniVersion, else the config's", () => {
  expect(parsePluginResult(enc('{"cniVersion":"1.0.0"}'), enc('{"cniVersion":"0.4.0","ips":[{"version":"4","address":"10.0.0.2/24"}]}')))
    .toEqual({ cniVersion: "0.4.0", ips: [{ address: "10.0.0.2/24" }] });
  expect(parsePluginResult(enc('{"cniVersion":"1.0.0"}'), enc('{"ips":[{"address":"10.0.0.2/24"}]}'))).toEqual({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] });
  expect(parsePluginResult(enc("{}"), enc("null"))).toEqual({ cniVersion: "0.1.0" });
  expect(() => parsePluginResult(enc("{}"), enc("[]"))).toThrow("failed to unmarshal raw result: json: cannot unmarshal array into Go value of type map[string]interface {}");
  expect(() => parsePluginResult(enc("{}"), enc("{x"))).toThrow("failed to unmarshal raw result: ");
  expect(() => parsePluginResult(enc("{}"), enc('{"cniVersion":"9.0.0"}'))).toThrow('unsupported CNI result version "9.0.0"');
});

test("a config's version is its cniVersion or 0.1.0", () => {
  expect(decodeVersion(enc('{"cniVersion":"1.1.0"}'))).toBe("1.1.0");
  expect(decodeVersion(enc('{"cniVersion":""}'))).toBe("0.1.0");
  expect(() => decodeVersion(enc('{"cniVersion":1}'))).toThrow("decoding version from network config: json: cannot unmarshal number into Go struct field .cniVersion of type string");
});

test("the CNI_* variables go over the inherited env, every one of them even when empty", () => {
  expect(cniEnv({ PATH: "/bin", CNI_NETNS: "/stale", X: undefined }, { command: "GC", path: "/a:/b" })).toEqual({
    PATH: "/bin", CNI_COMMAND: "GC", CNI_CONTAINERID: "", CNI_NETNS: "", CNI_ARGS: "", CNI_IFNAME: "", CNI_PATH: "/a:/b",
  });
});

test("RawExec runs under a wrapper, passes stderr on, and maps a failure to upstream's error", async () => {
  using dir = tempDir("libcni-exec");
  const p = `${dir.path}/p`;
  writeFileSync(p, '#!/bin/sh\necho "warn: $1" >&2\ncat\n[ -z "$FAIL" ] || exit 3\n');
  chmodSync(p, 0o755);
  const errs: string[] = [];
  const exec = new RawExec({ wrapper: ["/usr/bin/env"], stderr: (t) => errs.push(t) });
  expect(new TextDecoder().decode(await exec.execPlugin(p, enc("in"), { PATH: "/usr/bin:/bin" }))).toBe("in");
  expect(errs).toEqual(["warn: "]);
  const err = await exec.execPlugin(p, enc("{}x"), { PATH: "/usr/bin:/bin", FAIL: "1" }).catch((e) => e);
  expect(err.code).toBe(0);
  expect(err.msg).toStartWith('netplugin failed but error parsing its diagnostic message "{}x": ');
  expect(() => exec.findInPath("p", ["/nope", dir.path])).not.toThrow();
});
