// The executable's own help, as an operator meets it: under its own name (or with --help) it lists every plugin and
// cnitool with its one-line summary and its doc page, which exists; --version prints our release, the spec versions
// and the upstream releases we match; an unknown argument is an error; a link with a name it does not serve prints
// the list and exits 1. The compiled binary is run directly (it touches nothing).
import { describe, expect, test } from "bun:test";
import { existsSync, symlinkSync } from "node:fs";
import { resolve } from "node:path";
import { RELEASE, UPSTREAM } from "../../pkg/cni/about.ts";
import { ALL_VERSIONS } from "../../pkg/cni/types.ts";
import { PLUGINS, TOOLS } from "../../registry.ts";
import { mustSkip, OURS } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";

const TAG = "help";
const ROOT = resolve(import.meta.dir, "../..");
const skip = !existsSync(`${OURS}/cni-plugins`);
if (skip) mustSkip("help", { ours: ["cni-plugins"] });
cleanUpAfterAll(TAG);

function run(argv: string[], env: Record<string, string> = {}) {
  const p = Bun.spawnSync(argv, { env: { PATH: process.env.PATH ?? "/usr/bin:/bin", ...env }, stdout: "pipe", stderr: "pipe" });
  return { exitCode: p.exitCode, stdout: p.stdout.toString(), stderr: p.stderr.toString() };
}

/** The help's row of a program: its name, its summary and its doc page on one line. */
function rowOf(out: string, name: string): string | undefined {
  return out.split("\n").find((l) => l.trimStart().startsWith(`${name} `));
}

describe.skipIf(skip)("help and version", () => {
  const self = `${OURS}/cni-plugins`;

  test.each([[[]], [["--help"]], [["-h"]]] as string[][][])("cni-plugins %p lists every program with its summary and doc page", (args) => {
    const r = run([self, ...args]);
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toStartWith(`cni-plugins ${RELEASE}: `);
    const docs = [
      ...Object.entries(PLUGINS).map(([n, e]) => [n, e.summary, `docs/plugins/${n}.md`] as const),
      ...Object.entries(TOOLS).map(([n, e]) => [n, e.summary, `docs/${n}.md`] as const),
    ];
    for (const [name, summary, doc] of docs) {
      const row = rowOf(r.stdout, name);
      expect(row).toBeDefined();
      expect(row).toContain(summary);
      expect(row!.trimEnd()).toEndWith(doc);
      expect(existsSync(`${ROOT}/${doc}`)).toBe(true);
    }
    expect(r.stdout).toContain("Options: --help, --version.");
  });

  test.each([["--version"], ["-v"]])("cni-plugins %s: our release, the spec versions, the upstream releases", (flag) => {
    const r = run([self, flag]);
    expect([r.exitCode, r.stderr]).toEqual([0, ""]);
    expect(r.stdout).toBe(
      `cni-plugins ${RELEASE}\nCNI spec versions: ${ALL_VERSIONS.join(", ")}\n` +
        `matches: ${UPSTREAM}; libcni and cnitool: containernetworking/cni v1.3.0; flannel: flannel-io/cni-plugin v1.9.1-flannel1\n`,
    );
  });

  test("an unknown argument: the error and the help on stderr, exit 2", () => {
    const r = run([self, "--frobnicate"]);
    expect(r.exitCode).toBe(2);
    expect(r.stdout).toBe("");
    expect(r.stderr).toStartWith('cni-plugins: unknown argument "--frobnicate"\n');
    expect(rowOf(r.stderr, "bridge")).toContain("docs/plugins/bridge.md");
  });

  test("under a name it does not serve (a misnamed link): the list, exit 1", () => {
    using dir = tempDir(TAG);
    symlinkSync(self, `${dir.path}/not-a-plugin`);
    const r = run([`${dir.path}/not-a-plugin`]);
    expect(r.exitCode).toBe(1);
    expect(rowOf(r.stdout, "loopback")).toContain("docs/plugins/loopback.md");
  });

  test("plugins keep their own answers: --help is not theirs, VERSION and the banner are unchanged", () => {
    const v = run([`${OURS}/bridge`, "--help"], { CNI_COMMAND: "VERSION" });
    expect([v.exitCode, v.stdout]).toEqual([0, `{"cniVersion":"1.1.0","supportedVersions":${JSON.stringify(ALL_VERSIONS)}}\n`]);
    const b = run([`${OURS}/bridge`, "--help"]);
    expect([b.exitCode, b.stdout]).toEqual([0, ""]);
    expect(b.stderr).toStartWith(`CNI bridge plugin ${RELEASE}\n`);
  });
});
