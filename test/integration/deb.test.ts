// The Debian package (`make deb`, packaging/deb/build-deb.sh: dpkg-deb alone), built once from our bin/ into a temp
// dir: its control fields and relations, installed into a throwaway root with `dpkg --root` (maintainer scripts run
// chrootless with DPKG_ROOT set, which makes ours leave systemd alone), where ptp + host-local run from /usr/lib/cni
// as a runtime runs them and cnitool answers; it replaces a stand-in containernetworking-plugins package and gives way
// to it again; removal leaves nothing behind; and lintian, when installed, reports no error or warning.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, readlinkSync, statSync, writeFileSync } from "node:fs";
import { resolve } from "node:path";
import { PLUGINS } from "../../registry.ts";
import { RELEASE, UPSTREAM } from "../../pkg/cni/about.ts";
import { linkNames } from "../support/link-state.ts";
import { canUseNetns, tempNetns } from "../support/netns.ts";
import { OURS, runPlugin } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir, type TempDir } from "../support/temp-dir.ts";

const TAG = "deb";
const ROOT = resolve(import.meta.dir, "../..");
const PKG = "cni-plugins-ts";
const missing = [
  ...["dpkg-deb", "dpkg", "objdump"].filter((t) => Bun.which(t) === null),
  ...(existsSync(`${OURS}/cni-plugins`) ? [] : [`${OURS}/cni-plugins`]),
];
const skip = missing.length > 0 || process.getuid?.() !== 0;
if (skip) console.warn(`deb package tests skipped: ${missing.length > 0 ? `missing ${missing.join(", ")}` : "needs root (dpkg --root)"}`);

const out: TempDir | undefined = skip ? undefined : tempDir(`${TAG}-out`);
cleanUpAfterAll(TAG, out);

/** Returns stdout of a command; throws with its stderr when it fails. */
function run(argv: string[], env?: Record<string, string>): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe", env: { ...process.env, ...env } });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: exit ${p.exitCode}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

// Built once for the file (the build compresses 110 MB: several seconds).
const deb = out ? run(["bash", `${ROOT}/packaging/deb/build-deb.sh`, OURS, out.path]).trim() : "";
const plugins = Object.keys(PLUGINS).sort();

/** A throwaway dpkg root: an empty database that knows libc6 and iptables (our dependencies) as installed. */
function dpkgRoot(): TempDir & { dpkg: (...args: string[]) => string; status: (name: string) => string; files: () => string[] } {
  const r = tempDir(`${TAG}-root`);
  mkdirSync(`${r.path}/var/lib/dpkg/info`, { recursive: true });
  mkdirSync(`${r.path}/var/lib/dpkg/updates`);
  writeFileSync(`${r.path}/var/lib/dpkg/available`, "");
  const stub = (name: string, version: string) =>
    `Package: ${name}\nStatus: install ok installed\nPriority: optional\nMaintainer: stub <stub@example.org>\nArchitecture: ${run(["dpkg", "--print-architecture"]).trim()}\nVersion: ${version}\nDescription: stand-in\n\n`;
  writeFileSync(`${r.path}/var/lib/dpkg/status`, stub("libc6", "2.36-9") + stub("iptables", "1.8.9-2"));
  for (const p of ["libc6", "iptables"]) writeFileSync(`${r.path}/var/lib/dpkg/info/${p}.list`, "");
  return Object.assign(r, {
    dpkg: (...args: string[]) => run(["dpkg", `--root=${r.path}`, "--force-script-chrootless", "--log=/dev/null", ...args]),
    /** dpkg's `${Status}` of a package in this root ("" when it never heard of it). */
    status: (name: string) =>
      Bun.spawnSync(["dpkg-query", `--admindir=${r.path}/var/lib/dpkg`, "-W", "-f=${Status}", name], { stdout: "pipe", stderr: "pipe" }).stdout.toString(),
    /** Every file and link below the root but dpkg's own database, relative. */
    files: () => listFiles(r.path, "").filter((p) => !p.startsWith("var/lib/dpkg/")),
  });
}

function listFiles(base: string, rel: string): string[] {
  const outList: string[] = [];
  for (const e of readdirSync(rel ? `${base}/${rel}` : base, { withFileTypes: true })) {
    const p = rel ? `${rel}/${e.name}` : e.name;
    if (e.isDirectory()) outList.push(...listFiles(base, p));
    else outList.push(p);
  }
  return outList.sort();
}

/** Builds a stand-in for Debian's containernetworking-plugins: a bridge that is a script, and the dhcp unit. */
function fakeDebianPackage(dir: string): string {
  const d = `${dir}/fake`;
  mkdirSync(`${d}/DEBIAN`, { recursive: true });
  mkdirSync(`${d}/usr/lib/cni`, { recursive: true });
  mkdirSync(`${d}/lib/systemd/system`, { recursive: true });
  writeFileSync(`${d}/usr/lib/cni/bridge`, "#!/bin/sh\necho go-bridge\n", { mode: 0o755 });
  writeFileSync(`${d}/lib/systemd/system/cni-dhcp.service`, "[Service]\nExecStart=/usr/lib/cni/dhcp daemon\n");
  writeFileSync(`${d}/DEBIAN/control`, [
    "Package: containernetworking-plugins", "Version: 1.1.1+ds1-3+b5", `Architecture: ${run(["dpkg", "--print-architecture"]).trim()}`,
    "Maintainer: stub <stub@example.org>", "Provides: container-network-stack (= 1)", "Description: stand-in", " stand-in", "",
  ].join("\n"));
  run(["dpkg-deb", "--root-owner-group", "-b", d, `${dir}/containernetworking-plugins.deb`]);
  return `${dir}/containernetworking-plugins.deb`;
}

describe.skipIf(skip)("deb package", () => {
  test("control: our version, conflicts with, replaces and provides containernetworking-plugins", () => {
    const field = (f: string) => run(["dpkg-deb", "-f", deb, f]).trim();
    expect(deb.endsWith(`${PKG}_${RELEASE.slice(1)}_${run(["dpkg", "--print-architecture"]).trim()}.deb`)).toBe(true);
    expect(field("Package")).toBe(PKG);
    expect(field("Version")).toBe(RELEASE.slice(1));
    expect(field("Conflicts")).toBe("containernetworking-plugins");
    expect(field("Replaces")).toBe("containernetworking-plugins");
    expect(field("Provides")).toBe(`containernetworking-plugins (= ${UPSTREAM.split(" v")[1]}), container-network-stack (= 1)`);
    expect(field("Depends")).toMatch(/^libc6 \(>= 2\.\d+\), iptables \| nftables$/);
    for (const p of plugins) expect(field("Description")).toContain(p);
  });

  test("installs into a throwaway root; ptp + host-local run from /usr/lib/cni; cnitool answers; removal leaves nothing", () => {
    using root = dpkgRoot();
    root.dpkg("-i", deb);
    expect(root.status(PKG)).toBe("install ok installed");
    const r = root.path;
    // The executable, a link per program beside it, a link per plugin where Debian's runtimes look, and cnitool.
    expect(statSync(`${r}/usr/lib/${PKG}/cni-plugins`).mode & 0o777).toBe(0o755);
    expect(readdirSync(`${r}/usr/lib/cni`).sort()).toEqual(plugins);
    for (const p of plugins) expect(readlinkSync(`${r}/usr/lib/cni/${p}`)).toBe(`../${PKG}/cni-plugins`);
    for (const p of [...plugins, "cnitool"]) expect(readlinkSync(`${r}/usr/lib/${PKG}/${p}`)).toBe("cni-plugins");
    expect(readlinkSync(`${r}/usr/bin/cnitool`)).toBe(`../lib/${PKG}/cni-plugins`);
    expect(run([`${r}/usr/bin/cnitool`, "version"])).toContain(`cnitool ${RELEASE}`);
    // The dhcp daemon's units start the daemon through the package's own link.
    if (existsSync(`${ROOT}/ipam/dhcp/systemd/cni-dhcp.service`)) {
      expect(readFileSync(`${r}/lib/systemd/system/cni-dhcp.service`, "utf8")).toContain("ExecStart=/usr/lib/cni/dhcp daemon");
      expect(readFileSync(`${r}/lib/systemd/system/cni-dhcp.socket`, "utf8")).toContain("ListenStream=/run/cni/dhcp.sock");
    }
    expect(existsSync(`${r}/usr/share/doc/${PKG}/copyright`)).toBe(true);
    expect(existsSync(`${r}/usr/share/man/man1/cnitool.1.gz`)).toBe(true);

    if (canUseNetns()) {
      using host = tempNetns(`${TAG}-host`);
      using ctr = tempNetns(`${TAG}-ctr`);
      using data = tempDir(`${TAG}-data`);
      const conf = { cniVersion: "1.0.0", name: "debnet", type: "ptp", ipam: { type: "host-local", subnet: "10.131.0.0/24", dataDir: data.path } };
      const env = (verb: string) => ({ CNI_COMMAND: verb, CNI_CONTAINERID: "debctr", CNI_NETNS: ctr.path, CNI_IFNAME: "eth0" });
      const dir = `${r}/usr/lib/cni`;
      const add = runPlugin("ptp", { dir, hostNetns: host.name, env: env("ADD"), stdin: conf });
      expect([add.exitCode, add.stderr]).toEqual([0, ""]);
      expect(add.json.ips[0].address).toBe("10.131.0.2/24");
      expect(linkNames(ctr)).toContain("eth0");
      const prev = { ...conf, prevResult: add.json };
      expect(runPlugin("ptp", { dir, hostNetns: host.name, env: env("CHECK"), stdin: prev }).exitCode).toBe(0);
      for (let i = 0; i < 2; i++) expect(runPlugin("ptp", { dir, hostNetns: host.name, env: env("DEL"), stdin: prev }).exitCode).toBe(0);
      expect(linkNames(ctr)).toEqual(["lo"]);
    }

    root.dpkg("-r", PKG);
    root.dpkg("--purge", PKG);
    expect(root.files()).toEqual([]);
  }, 60_000);

  test("switching: it replaces containernetworking-plugins, and gives way to it again", () => {
    using root = dpkgRoot();
    const debian = fakeDebianPackage(root.path);
    const bridge = `${root.path}/usr/lib/cni/bridge`;
    root.dpkg("-i", debian);
    expect(run([bridge])).toBe("go-bridge\n");

    // Conflicts + Replaces: dpkg removes Debian's package in favour of ours (apt does the same).
    root.dpkg("-i", deb);
    expect(readlinkSync(bridge)).toBe(`../${PKG}/cni-plugins`);
    expect(root.status("containernetworking-plugins")).not.toBe("install ok installed");
    expect(JSON.parse(run([bridge], { CNI_COMMAND: "VERSION" })).cniVersion).toBe("1.1.0");

    // Back: Debian's package cannot go in while ours conflicts with it; apt removes ours first, as dpkg -r does here.
    expect(() => root.dpkg("-i", debian)).toThrow(/conflict/);
    root.dpkg("-r", PKG);
    root.dpkg("-i", debian);
    expect(run([bridge])).toBe("go-bridge\n");
    expect(root.status("containernetworking-plugins")).toBe("install ok installed");
    expect(root.status(PKG)).not.toBe("install ok installed");
  }, 60_000);

  test.skipIf(Bun.which("lintian") === null)(
    `lintian: no error and no warning${Bun.which("lintian") === null ? " (skipped: lintian is not installed)" : ""}`,
    () => {
      const p = Bun.spawnSync(["lintian", "--fail-on", "error,warning", deb], { stdout: "pipe", stderr: "pipe" });
      const tags = p.stdout.toString().split("\n").filter((l) => /^[EW]: /.test(l));
      expect(tags).toEqual([]);
      expect(p.exitCode).toBe(0);
    },
    60_000,
  );
});
