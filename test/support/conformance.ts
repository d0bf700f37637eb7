// test/support/conformance.ts: what the tests comparing Debian's Go plugins (v1.1.1) with ours share: the two
// implementations and their directories, whether the Go plugins are there, the versions v1.1.1 speaks, one throwaway
// world per implementation, and the masks of the differences every plugin shows (each test file's header lists
// its own).
import { expect } from "bun:test";
import { existsSync } from "node:fs";
import { versionAtLeast } from "../../pkg/cni/version.ts";
import { tempNetns, type TempNetns } from "./netns.ts";
import { MAC, VETH_NAME } from "./result.ts";
import { GO, OURS } from "./run-plugin.ts";
import { tempDir, type TempDir } from "./temp-dir.ts";

export type Impl = "go" | "ours";
export const IMPLS: Impl[] = ["go", "ours"];
/** Each implementation's plugin directory, also its CNI_PATH (so Go's main plugins find Go's IPAM). */
export const DIR: Record<Impl, string> = { go: GO, ours: OURS };

/** Returns the other implementation. */
export function otherImpl(impl: Impl): Impl {
  return impl === "go" ? "ours" : "go";
}

/** The spec versions v1.1.1 speaks (it predates 1.1.0). */
export const GO_VERSIONS = ["0.1.0", "0.2.0", "0.3.0", "0.3.1", "0.4.0", "1.0.0"];

/** Returns whether every named Go plugin is installed, and the text a skipped describe's name ends with otherwise. */
export function goPlugins(...names: string[]): { hasGo: boolean; skipReason: string } {
  const absent = names.filter((n) => !existsSync(`${GO}/${n}`));
  if (absent.length === 0) return { hasGo: true, skipReason: "" };
  return { hasGo: false, skipReason: ` (skipped: ${absent.map((n) => `${GO}/${n}`).join(", ")} absent; make test installs the Go plugins)` };
}

/** Masks a difference of every plugin: v1.1.1 prints an empty `dns` in 1.x results, v1.9.1 (and ours) leave it out. */
export function maskGoResult(json: any): any {
  if (!json || typeof json !== "object" || typeof json.cniVersion !== "string" || !json.cniVersion) return json;
  if (!versionAtLeast(json.cniVersion, "1.0.0")) return json;
  const { dns, ...rest } = json;
  return dns && typeof dns === "object" && Object.keys(dns).length === 0 ? rest : json;
}

/**
 * Returns a main plugin's result with Go's empty dns dropped and its random parts masked, after checking their form:
 * the host veth's name (interface `vethIndex`), every MAC, and the sandbox path (each side has its own netns).
 */
export function maskAttachmentResult(json: any, vethIndex: number): any {
  const out = structuredClone(maskGoResult(json));
  for (const [i, itf] of (out?.interfaces ?? []).entries()) {
    if (i === vethIndex) {
      expect(itf.name).toMatch(VETH_NAME);
      itf.name = "<veth>";
    }
    expect(itf.mac).toMatch(MAC);
    itf.mac = "<mac>";
    if (itf.sandbox !== undefined) itf.sandbox = "<sandbox>";
  }
  return out;
}

/** One implementation's own throwaway world: a host netns, a container netns and a dataDir. */
export interface Side {
  host: TempNetns;
  ctr: TempNetns;
  data: TempDir;
  [Symbol.dispose](): void;
}

/** Returns a fresh world for impl, named `<RUN_PREFIX>-<tag>-<impl>host` and so on; disposing removes all three. */
export function side(tag: string, impl: Impl): Side {
  const host = tempNetns(`${tag}-${impl}host`);
  const ctr = tempNetns(`${tag}-${impl}ctr`);
  const data = tempDir(`${tag}-${impl}data`);
  return {
    host, ctr, data,
    [Symbol.dispose]() {
      ctr[Symbol.dispose]();
      host[Symbol.dispose]();
      data[Symbol.dispose]();
    },
  };
}
