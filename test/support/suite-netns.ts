// test/support/suite-netns.ts: throwaway namespaces for one describe block of a root-only unit test, made with our
// own createNetns (pkg/ns/netns.ts) rather than `ip netns add`, as the code under test makes them.
import { afterAll, beforeAll } from "bun:test";
import { createNetns, removeNetns } from "../../pkg/ns/netns.ts";

export interface SuiteNetns {
  /** `cnits-<pid>-<suffix>`, under /run/netns. */
  name: string;
  /** Its path; set once the block's beforeAll has made it. */
  path: string;
}

/**
 * Returns a namespace per key, named `cnits-<pid>-<suffix>`, made before the tests of the describe block this is
 * called in and removed after them.
 */
export function suiteNetns<K extends string>(suffixes: Record<K, string>): Record<K, SuiteNetns> {
  const out = {} as Record<K, SuiteNetns>;
  for (const key in suffixes) out[key] = { name: `cnits-${process.pid}-${suffixes[key]}`, path: "" };
  beforeAll(() => {
    for (const key in out) out[key].path = createNetns(out[key].name);
  });
  afterAll(() => {
    for (const key in out) removeNetns(out[key].name);
  });
  return out;
}
