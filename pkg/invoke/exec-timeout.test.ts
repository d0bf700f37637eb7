import { expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { tempDir } from "../../test/support/temp-dir.ts";
import { execPlugin } from "./exec.ts";

test("execPlugin kills a delegate that runs past timeoutMs; without one it waits", () => {
  using dir = tempDir("invoke-timeout");
  const p = `${dir.path}/slow`;
  writeFileSync(p, "#!/bin/sh\nsleep \"$DELAY\"\necho done\n");
  chmodSync(p, 0o755);
  const started = Date.now();
  expect(() => execPlugin(p, new Uint8Array([1]), { DELAY: "20" }, 200)).toThrow(`plugin ${p} did not finish within 200 ms and was killed`);
  expect(Date.now() - started).toBeLessThan(10_000);
  expect(new TextDecoder().decode(execPlugin(p, new Uint8Array([1]), { DELAY: "0.3" }))).toBe("done\n");
});
