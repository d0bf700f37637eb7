// test/support/sweep.ts: the afterAll safety net of a test file: what it holds for the whole file is disposed, and
// every netns and /tmp directory it named `<RUN_PREFIX>-<tag>-…` is removed, even those a failed test left.
import { afterAll } from "bun:test";
import { RUN_PREFIX, sweepNetns } from "./netns.ts";
import { sweepTempDirs } from "./temp-dir.ts";

/** Registers the afterAll that disposes `held` (in order; undefined ones skipped) and sweeps the file's tag. */
export function cleanUpAfterAll(tag: string, ...held: (Disposable | undefined)[]): void {
  afterAll(() => {
    for (const d of held) d?.[Symbol.dispose]();
    sweepNetns(`${RUN_PREFIX}-${tag}-`);
    sweepTempDirs(`${RUN_PREFIX}-${tag}-`);
  });
}
