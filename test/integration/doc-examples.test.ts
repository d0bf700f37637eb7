// Every example conflist in docs/**/*.md runs, so the docs cannot rot: each ```json block marked `<!-- example … -->`
// goes through our compiled plugins as libcni runs a network list (test/support/doc-examples.ts): STATUS (1.1.0),
// ADD in order with prevResult chaining, CHECK (0.4.0 and later), GC with the attachment still valid and CHECK again
// (1.1.0), DEL in reverse order, DEL again, GC with no valid attachment (1.1.0), all inside a throwaway host netns
// with a throwaway container netns; on-disk state (dataDir) goes to a temp dir. Afterwards nothing of the attachment
// is left: no new link in either netns but a bridge (shared, never deleted, as upstream), every host link the example
// started with still there (host-device gives its device back), no host-local reservation, tuning backup or portmap
// record, and no iptables or nft rule naming the container.
// Examples that need a link kind this kernel lacks (ipvlan, vlan, dummy, vrf) are skipped with the kernel's own
// refusal and the kernel-VM case that covers the plugin; those for a plugin not written yet, with that reason.
import { describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { startDaemon, startProcess } from "../support/dhcp.ts";
import { asNetList, ChainRunner, makeLinks, scanDocs, type DhcpServerSetup, type DocExample } from "../support/doc-examples.ts";
import { bridgeVlanFiltering } from "../support/bridge.ts";
import { linkKindSupport } from "../support/link-kind.ts";
import { linksIn } from "../support/link-state.ts";
import { canUseNetns, tempNetns, type TempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { OURS, runPlugin } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";
import { waitFor } from "../support/wait.ts";
import { PLUGINS, TOOLS } from "../../registry.ts";

const TAG = "docx"; // every netns and /tmp directory of this file starts with `<RUN_PREFIX>-docx-`
const ROOT = resolve(import.meta.dir, "../..");
const scan = scanDocs(ROOT, `${ROOT}/docs`);
const canRun = canUseNetns() && existsSync(`${OURS}/cni-plugins`);
if (!canRun) console.warn(`doc examples skipped: ${canUseNetns() ? `missing ${OURS}/cni-plugins` : "needs root and ip netns"}`);
cleanUpAfterAll(TAG);

// The kernel-VM case that runs each plugin whose link kind this kernel lacks (test/kernel-vm/kernel-vm.test.ts).
const VM_CASE: Record<string, string> = { ipvlan: "ipvlan/…", vlan: "vlan/…", dummy: "dummy/…", vrf: "vrf/…", "bridge-vlan": "bridge-vlan/…" };

const notImplemented = new Map<string, boolean>();
/** Returns whether our executable serves `type` only as a placeholder (every verb answers 50 "not implemented yet"). */
function isPlaceholder(type: string): boolean {
  if (!notImplemented.has(type)) {
    const r = runPlugin(type, { env: { CNI_COMMAND: "STATUS" }, stdin: { cniVersion: "1.1.0", name: "probe", type } });
    notImplemented.set(type, r.exitCode !== 0 && r.json?.code === 50 && /not implemented yet/.test(r.json?.msg ?? ""));
  }
  return notImplemented.get(type)!;
}

/** Returns why the example cannot run here, or "". */
function skipReason(ex: DocExample): string {
  if (!canRun) return "needs root, ip netns and bin/";
  if (ex.setup.skip) return ex.setup.skip;
  const types = asNetList(ex.conf).plugins.map((p) => String(p.type));
  const ipamTypes = asNetList(ex.conf).plugins.map((p) => (p.ipam as { type?: string } | undefined)?.type).filter((t): t is string => !!t);
  for (const t of [...types, ...ipamTypes]) {
    if (!existsSync(`${OURS}/${t}`)) return `${t} is not a program of our executable`;
    if (isPlaceholder(t)) return `${t} is not implemented yet (its doc is a stub)`;
  }
  if (ex.setup.dhcpServer && Bun.which("dnsmasq") === null) return "needs dnsmasq as the DHCP server";
  const kind = ex.setup.kernelKind;
  if (kind) {
    const support = kind === "bridge-vlan" ? bridgeVlanFiltering() : linkKindSupport(kind);
    if (!support.ok) return `${support.reason}; covered in the kernel VM: ${VM_CASE[kind]}`;
  }
  return "";
}

describe("docs", () => {
  test("every json block holding a network list is marked as an example, or says why it is not", () => {
    expect(scan.unmarked).toEqual([]);
    expect(scan.broken).toEqual([]);
  });

  test("every plugin and tool of the executable has its doc, and each plugin doc has a runnable or skipped example", () => {
    const missing: string[] = [];
    for (const name of [...Object.keys(PLUGINS), ...Object.keys(TOOLS)]) {
      const doc = name === "cnitool" ? "docs/cnitool.md" : `docs/plugins/${name}.md`;
      if (!existsSync(`${ROOT}/${doc}`)) missing.push(doc);
      else if (name !== "cnitool" && !scan.examples.some((e) => e.file === doc)) missing.push(`${doc} (no example)`);
    }
    expect(missing).toEqual([]);
  });
});

describe.each(scan.examples.map((ex) => [`${ex.file}:${ex.line} (${ex.heading})`, ex] as const))("%s", (_name, ex) => {
  const why = skipReason(ex);
  test.skipIf(why !== "")(why === "" ? "ADD, CHECK, DEL, DEL again; nothing left" : `skipped: ${why}`, () => runExample(ex), 60_000);
});

function runExample(ex: DocExample): void {
  using host = tempNetns(`${TAG}-host`);
  using ctr = tempNetns(`${TAG}-ctr`);
  using state = tempDir(`${TAG}-state`);
  makeLinks(host, ex.setup.hostLinks ?? []);
  makeLinks(ctr, ex.setup.containerLinks ?? []);
  const files: Record<string, string> = {};
  for (const [path, content] of Object.entries(ex.setup.files ?? {})) {
    const copy = `${state.path}/files${path}`;
    mkdirSync(dirname(copy), { recursive: true });
    writeFileSync(copy, content);
    files[path] = copy;
  }
  using _dhcp = ex.setup.dhcpServer ? startDhcp(host, state.path, ex.setup.dhcpServer) : undefined;
  const hostBefore = linksIn(host).map((l) => l.ifname).sort();
  const ctrBefore = linksIn(ctr).map((l) => l.ifname).sort();
  const ifname = ex.setup.ifname ?? "eth0";
  const containerId = "docexample";
  const list = asNetList(ex.conf);
  const chain = new ChainRunner(list, {
    hostNetns: host.name, netns: ctr.path, ifname, containerId, cniArgs: ex.setup.cniArgs ?? "",
    capabilityArgs: ex.setup.capabilityArgs ?? {}, stateDir: state.path, files, dhcpSocket: _dhcp?.socket,
  });

  chain.status();
  const result = chain.add();
  expect(result?.cniVersion).toBe(list.cniVersion || "0.1.0");
  if (chain.check(result) && chain.gc([{ containerID: containerId, ifname }])) chain.check(result);
  chain.del(result);
  chain.del(result);
  chain.gc([]);

  const ctrAfter = linksIn(ctr).map((l) => l.ifname).sort();
  expect(ctrAfter).toEqual(ctrBefore);
  const hostAfter = linksIn(host);
  const added = hostAfter.filter((l) => !hostBefore.includes(l.ifname) && l.kind !== "bridge").map((l) => l.ifname);
  const lost = hostBefore.filter((n) => !hostAfter.some((l) => l.ifname === n));
  expect({ added, lost }).toEqual({ added: [], lost: [] });
  expect(leftoverFiles(state.path)).toEqual([]);
  // Masquerade, port-forwarding and firewall rules name the container (comments) or its addresses; none may be left.
  const addrs = ((result?.ips ?? []) as { address: string }[]).map((i) => i.address.split("/")[0]!);
  expect(netfilterLinesNaming(host.name, [containerId, ...addrs])).toEqual([]);
}

/** Returns the lines of the netns's iptables, ip6tables and nft rulesets that mention one of `words` (as a whole token). */
function netfilterLinesNaming(netns: string, words: string[]): string[] {
  const escaped = words.map((w) => w.replace(/[.*+?^${}()|[\]\\]/g, "\\$&"));
  const re = new RegExp(`(^|[^0-9a-fA-F:.])(${escaped.join("|")})($|[^0-9a-fA-F.])`);
  const out: string[] = [];
  for (const argv of [["iptables-save"], ["ip6tables-save"], ["nft", "list", "ruleset"]]) {
    if (Bun.which(argv[0]!) === null) continue;
    const p = Bun.spawnSync(["ip", "netns", "exec", netns, ...argv], { stdout: "pipe", stderr: "pipe" });
    out.push(...p.stdout.toString().split("\n").filter((l) => re.test(l)).map((l) => `${argv[0]}: ${l.trim()}`));
  }
  return out;
}

/** Starts dnsmasq on a host link and our dhcp daemon in the host netns; disposing stops both. */
function startDhcp(host: TempNetns, dir: string, s: DhcpServerSetup): Disposable & { socket: string } {
  ipIn(host, ["addr", "add", s.address, "dev", s.link]);
  const log = `${dir}/dnsmasq.log`;
  const server = startProcess(host, [
    "dnsmasq", "--no-daemon", "--conf-file=/dev/null", "--port=0", `--interface=${s.link}`, "--bind-interfaces", "--no-ping",
    "--dhcp-authoritative", `--dhcp-range=${s.range}`, ...(s.options ?? []).map((o) => `--dhcp-option=${o}`),
    `--dhcp-leasefile=${dir}/dnsmasq.leases`, "--log-dhcp", `--log-facility=${log}`,
  ], `${dir}/dnsmasq.out`);
  try {
    waitFor(() => existsSync(log) && readFileSync(log, "utf8").includes("DHCP, sockets bound"), "dnsmasq to bind its DHCP socket");
    const daemon = startDaemon(host, dir);
    return {
      socket: daemon.socket,
      [Symbol.dispose]() {
        daemon[Symbol.dispose]();
        server[Symbol.dispose]();
      },
    };
  } catch (e) {
    server[Symbol.dispose]();
    throw e;
  }
}

/** Returns the state files an attachment leaves when DEL forgets it: host-local reservations, tuning backups, portmap records. */
function leftoverFiles(stateDir: string): string[] {
  const out: string[] = [];
  const walk = (dir: string, rel: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      if (e.isDirectory()) walk(`${dir}/${e.name}`, `${rel}/${e.name}`);
      else if (e.name !== "lock" && !e.name.startsWith("last_reserved_ip.")) out.push(`${rel}/${e.name}`);
    }
  };
  for (const d of ["networks", "tuning", "portmap", "flannel"]) walk(`${stateDir}/${d}`, d);
  return out;
}
