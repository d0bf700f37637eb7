// ipam/dhcp/flags.test.ts: `dhcp daemon` flags as Go's flag package reads them, and Go durations.
import { expect, test } from "bun:test";
import { FlagError, parseFlags, parseGoDuration } from "./flags.ts";

test("defaults are upstream's", () => {
  expect(parseFlags([])).toEqual({
    pidfile: "", hostprefix: "", socketpath: "", broadcast: false, timeoutMs: 10_000, resendMaxMs: 62_000, resendTimeoutMs: 208_000, leasedir: "",
  });
});

test("-name value, -name=value, --name, bools, and the first non-flag ends parsing", () => {
  const f = parseFlags(["-socketpath", "/tmp/d.sock", "--pidfile=/run/d.pid", "-broadcast", "-timeout", "1500ms", "-resendmax=2s", "-resendtimeout", "1m", "-hostprefix", "/host", "extra", "-leasedir", "x"]);
  expect(f).toEqual({
    pidfile: "/run/d.pid", hostprefix: "/host", socketpath: "/tmp/d.sock", broadcast: true, timeoutMs: 1500, resendMaxMs: 2000, resendTimeoutMs: 60_000, leasedir: "",
  });
  expect(parseFlags(["-broadcast=false", "--", "-timeout", "x"]).broadcast).toBe(false);
});

test("errors carry Go's texts and exit codes", () => {
  const err = (argv: string[]) => {
    try {
      parseFlags(argv);
    } catch (e) {
      return [(e as FlagError).message, (e as FlagError).exit];
    }
    return undefined;
  };
  expect(err(["-nope"])).toEqual(["flag provided but not defined: -nope", 2]);
  expect(err(["-timeout"])).toEqual(["flag needs an argument: -timeout", 2]);
  expect(err(["-timeout", "10"])).toEqual(['invalid value "10" for flag -timeout: parse error', 2]);
  expect(err(["-broadcast=maybe"])).toEqual(['invalid boolean value "maybe" for -broadcast: parse error', 2]);
  expect(err(["-h"])).toEqual(["", 0]);
});

test("Go durations", () => {
  expect(["10s", "1m2s", "3m28s", "1.5s", "250ms", "1h", "0", "-2s", ".5s"].map(parseGoDuration)).toEqual([10_000, 62_000, 208_000, 1500, 250, 3_600_000, 0, -2000, 500]);
  expect(["", "10", "s", "1x", "1s2"].map(parseGoDuration)).toEqual([undefined, undefined, undefined, undefined, undefined]);
});
