// test/support/thrown.ts: what a call throws, for unit tests that compare an error's fields rather than its text alone.
import { CniError } from "../../pkg/cni/errors.ts";

/** Returns what fn throws; throws "did not throw" when fn returns. */
export function thrown(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  throw new Error("did not throw");
}

/** Returns the error fn throws as the skel would report it: {code, msg} (code 999 for a plain Error). */
export function cniErrorOf(fn: () => unknown): { code: number; msg: string } {
  const e = thrown(fn);
  return e instanceof CniError ? { code: e.code, msg: e.msg } : { code: 999, msg: (e as Error).message };
}
