// test/support/fake-plugins.ts: a directory of stand-in plugins (fake-plugin.sh linked under each type name) for
// libcni and cnitool tests: what each call got (stdin, CNI_* env) in order, and what each answers (result, error,
// VERSION). No root needed; nothing but the directory is touched.
import { existsSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { tempDir, type TempDir } from "./temp-dir.ts";

const SCRIPT = resolve(import.meta.dir, "fake-plugin.sh");

/** One recorded plugin call. */
export interface FakeCall {
  type: string;
  command: string;
  /** stdin as received. */
  text: string;
  /** stdin parsed (undefined when not JSON). */
  stdin: any;
  /** The CNI_* and trace variables that were set. */
  env: Record<string, string>;
}

export interface FakePlugins extends Disposable {
  /** The plugin directory (CNI_PATH). */
  bin: string;
  /** The state directory (FAKE_DIR; pass it in the env of whatever runs the plugins). */
  state: string;
  /** Sets what `type` prints for ADD. */
  result(type: string, result: object | string): void;
  /** Makes `type` fail `command` with this CNI error object (exit status 1). */
  fail(type: string, command: string, error: object): void;
  /** Sets what `type` answers to VERSION. */
  versions(type: string, answer: object): void;
  /** Returns every call since the last clear, in order. */
  calls(): FakeCall[];
  /** Forgets the recorded calls. */
  clear(): void;
}

/** Returns fake plugins named `types` in a new directory (removed on dispose). */
export function fakePlugins(tag: string, types: string[]): FakePlugins {
  const dir: TempDir = tempDir(`${tag}-fake`);
  const bin = `${dir.path}/bin`;
  const state = `${dir.path}/state`;
  Bun.spawnSync(["mkdir", "-p", bin, `${state}/log`]);
  for (const t of types) symlinkSync(SCRIPT, `${bin}/${t}`);
  return {
    bin,
    state,
    result: (type, r) => writeFileSync(`${state}/result-${type}.json`, typeof r === "string" ? r : JSON.stringify(r)),
    fail: (type, command, e) => writeFileSync(`${state}/fail-${type}-${command}.json`, JSON.stringify(e)),
    versions: (type, v) => writeFileSync(`${state}/versions-${type}.json`, JSON.stringify(v)),
    calls: () => {
      if (!existsSync(`${state}/log`)) return [];
      return readdirSync(`${state}/log`).filter((f) => f.endsWith(".stdin")).sort().map((f) => {
        const base = f.slice(0, -".stdin".length);
        const [, type, command] = /^\d+-(.+)-([A-Z]*)$/.exec(base)!;
        const text = readFileSync(`${state}/log/${f}`, "utf8");
        let stdin: unknown;
        try {
          stdin = JSON.parse(text);
        } catch {
          stdin = undefined;
        }
        const env = Object.fromEntries(readFileSync(`${state}/log/${base}.env`, "utf8").split("\n").filter((l) => l).map((l) => {
          const i = l.indexOf("=");
          return [l.slice(0, i), l.slice(i + 1)];
        }));
        return { type: type!, command: command!, text, stdin, env };
      });
    },
    clear: () => rmSync(`${state}/log`, { recursive: true, force: true }),
    [Symbol.dispose]: () => dir[Symbol.dispose](),
  };
}
