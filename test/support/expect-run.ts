// test/support/expect-run.ts: what a plugin call must have printed: nothing at all (CHECK, DEL, GC, STATUS), or
// exactly one error object with the right code and text.
import { expect } from "bun:test";
import type { Run } from "./run-plugin.ts";

/** Expects exit 0 with nothing on stdout or stderr. */
export function expectSilentSuccess(r: Run): void {
  expect({ exitCode: r.exitCode, stdout: r.stdout, stderr: r.stderr }).toEqual({ exitCode: 0, stdout: "", stderr: "" });
}

/** Expects exit 1 and an error object of exactly this code and msg (a RegExp matches msg); no details. */
export function expectError(r: Run, want: { code: number; msg: string | RegExp }): void {
  const msg = want.msg instanceof RegExp ? expect.stringMatching(want.msg) : want.msg;
  expect({ exitCode: r.exitCode, json: r.json }).toEqual({ exitCode: 1, json: { code: want.code, msg } });
}
