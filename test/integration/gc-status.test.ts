// GC and STATUS of our plugins for real (DESIGN decision 9; upstream declares both and implements no GC). GC: a
// container vanished without DEL (its netns deleted, its cache entry lost), then libcni's GC with the other container
// as the one valid attachment reaches ptp (or bridge), which forwards GC to host-local and removes the vanished
// attachment's masquerade, and tuning, which drops its backup: exactly the valid attachment's state stays, and a second
// network's in the same host netns and data directories is not touched; with either ipMasq backend. STATUS: 50 when
// the plugin cannot serve ADD (host-local's store not writable, ipMasq without a usable iptables or nft: run in a mount
// namespace where /usr/sbin is empty), silence otherwise.
import { describe, expect, test } from "bun:test";
import { readdirSync, rmSync, writeFileSync } from "node:fs";
import { loadNetworkConf } from "../../pkg/libcni/conf.ts";
import { expectError, expectSilentSuccess } from "../support/expect-run.ts";
import { cacheEntries, hostCniState, libcniIn, reservations, writeConfs } from "../support/libcni.ts";
import { linkIn, vethsIn } from "../support/link-state.ts";
import { masqChain, nftMasqPrefix } from "../support/masquerade.ts";
import { tempNetns } from "../support/netns.ts";
import { ipIn } from "../support/ns-exec.ts";
import { mustSkip, OURS, runPlugin, type Run } from "../support/run-plugin.ts";
import { cleanUpAfterAll } from "../support/sweep.ts";
import { tempDir } from "../support/temp-dir.ts";
import { waitFor } from "../support/wait.ts";

const TAG = "gcst";
const skip = mustSkip("gc-status integration", { tools: ["ip", "iptables-save", "ip6tables-save", "nft", "unshare"], ours: ["ptp", "bridge", "tuning", "host-local"] });
cleanUpAfterAll(TAG);

type Main = "ptp" | "bridge";
type Backend = "iptables" | "nftables";

function mainPlugin(main: Main, backend: Backend, dataDir: string, subnet: string, bridge = `${TAG}br0`): Record<string, unknown> & { type: string; ipam: object } {
  const ipam = { type: "host-local", dataDir, ranges: [[{ subnet }]] };
  return main === "ptp"
    ? { type: "ptp", ipMasq: true, ipMasqBackend: backend, ipam }
    : { type: "bridge", bridge, isGateway: true, ipMasq: true, ipMasqBackend: backend, ipam };
}

/** The CNI state of one network's attachment as the host holds it. */
function attachmentLines(state: ReturnType<typeof hostCniState>, network: string, id: string, ifname = "eth0") {
  return {
    nat: state.nat.filter((l) => l.includes(masqChain(network, id))),
    nft: state.nft.filter((c) => c.startsWith(nftMasqPrefix(network, ifname, id))),
  };
}

const CASES: [Main, Backend][] = [["ptp", "iptables"], ["ptp", "nftables"], ["bridge", "iptables"], ["bridge", "nftables"]];

describe.skipIf(skip).each(CASES)("GC of %s with %s masquerade", (main, backend) => {
  test("a vanished container's masquerade, reservation and tuning backup go; the valid one and the other network stay", async () => {
    using host = tempNetns(`${TAG}-host`);
    using a1 = tempNetns(`${TAG}-a1`);
    using b1 = tempNetns(`${TAG}-b1`);
    using dirs = tempDir(`${TAG}-gc`);
    ipIn(host, ["link", "set", "lo", "up"]);
    const ipam = `${dirs.path}/ipam`;
    const tuning = `${dirs.path}/tuning`;
    const netconf = `${dirs.path}/net.d`;
    Bun.spawnSync(["mkdir", "-p", netconf]);
    const conflist = (name: string, subnet: string) => ({
      cniVersion: "1.1.0", name, plugins: [mainPlugin(main, backend, ipam, subnet, `${TAG}${name}`), { type: "tuning", mtu: 1450, dataDir: tuning }],
    });
    writeConfs(netconf, { "10-neta.conflist": conflist("neta", "10.61.0.0/24"), "20-netb.conflist": conflist("netb", "10.62.0.0/24") });
    const netA = loadNetworkConf(netconf, "neta");
    const netB = loadNetworkConf(netconf, "netb");
    const lib = libcniIn(host, [OURS], `${dirs.path}/cache`);
    const rt = (id: string, netns: string) => ({ containerId: id, netns, ifname: "eth0" });

    await lib.addNetworkList(netA, rt("a1", a1.path));
    {
      using a2 = tempNetns(`${TAG}-a2`);
      await lib.addNetworkList(netA, rt("a2", a2.path));
    } // a2's netns is gone (and with it its veth): the runtime never ran DEL
    // The kernel destroys a netns (and the veth with it) asynchronously once the last reference is gone.
    waitFor(() => vethsIn(host).length === 1, "a2's veth to go with its netns");
    await lib.addNetworkList(netB, rt("b1", b1.path));
    rmSync(`${dirs.path}/cache/results/neta-a2-eth0`); // ...and lost its cache entry, so only the plugins' GC can help

    const before = hostCniState(host);
    expect(attachmentLines(before, "neta", "a2")).not.toEqual({ nat: [], nft: [] });
    expect(reservations(ipam, "neta")).toEqual(["10.61.0.2", "10.61.0.3"]);
    expect(readdirSync(tuning).sort()).toEqual(["a1_eth0.json", "a2_eth0.json", "b1_eth0.json"]);

    await lib.gcNetworkList(netA, { validAttachments: [{ containerID: "a1", ifname: "eth0" }] });
    const after = hostCniState(host);
    expect(attachmentLines(after, "neta", "a2")).toEqual({ nat: [], nft: [] });
    expect(attachmentLines(after, "neta", "a1")).toEqual(attachmentLines(before, "neta", "a1"));
    expect(attachmentLines(after, "netb", "b1")).toEqual(attachmentLines(before, "netb", "b1"));
    expect(after.veths).toEqual(before.veths);
    expect(reservations(ipam, "neta")).toEqual(["10.61.0.2"]);
    expect(reservations(ipam, "netb")).toEqual(["10.62.0.2"]);
    expect(readdirSync(tuning).sort()).toEqual(["a1_eth0.json", "b1_eth0.json"]);
    expect(cacheEntries(`${dirs.path}/cache`)).toEqual(["neta-a1-eth0", "netb-b1-eth0"]);

    // GC again changes nothing; the valid attachment still checks out and DELs cleanly.
    await lib.gcNetworkList(netA, { validAttachments: [{ containerID: "a1", ifname: "eth0" }] });
    expect(hostCniState(host)).toEqual(after);
    await lib.checkNetworkList(netA, rt("a1", a1.path));
    await lib.delNetworkList(netA, rt("a1", a1.path));
    await lib.delNetworkList(netB, rt("b1", b1.path));
    expect(hostCniState(host)).toEqual({ veths: [], nat: [], nft: [] });
    expect([linkIn(a1, "eth0"), reservations(ipam, "neta"), reservations(ipam, "netb"), readdirSync(tuning)]).toEqual([undefined, [], [], []]);
  });
});

describe.skipIf(skip)("GC without a valid list", () => {
  test("the runtime told nothing, so nothing goes", () => {
    using host = tempNetns(`${TAG}-nolist`);
    using ctr = tempNetns(`${TAG}-nolistctr`);
    using data = tempDir(`${TAG}-nolist`);
    const conf = { cniVersion: "1.1.0", name: "neta", ...mainPlugin("ptp", "iptables", data.path, "10.63.0.0/24") };
    const env = (verb: string) => ({ CNI_COMMAND: verb, CNI_CONTAINERID: "c1", CNI_NETNS: ctr.path, CNI_IFNAME: "eth0" });
    expect(runPlugin("ptp", { hostNetns: host.name, env: env("ADD"), stdin: conf }).exitCode).toBe(0);
    const before = hostCniState(host);
    expectSilentSuccess(runPlugin("ptp", { hostNetns: host.name, env: { CNI_COMMAND: "GC" }, stdin: conf }));
    expectSilentSuccess(runPlugin("ptp", { hostNetns: host.name, env: { CNI_COMMAND: "GC" }, stdin: { ...conf, "cni.dev/valid-attachments": null } }));
    expect(hostCniState(host)).toEqual(before);
    expect(reservations(data.path, "neta")).toEqual(["10.63.0.2"]);
    expectSilentSuccess(runPlugin("ptp", { hostNetns: host.name, env: env("DEL"), stdin: conf }));
  });
});

/** Runs a plugin inside the host netns as runPlugin does, but where /usr/sbin is empty: no iptables, no nft. */
function withoutNetfilterTools(plugin: string, host: string, env: Record<string, string>, stdin: object): Run {
  const p = Bun.spawnSync(
    ["ip", "netns", "exec", host, "unshare", "-m", "--propagation", "private", "sh", "-c", 'mount -t tmpfs tmpfs /usr/sbin && exec "$0"', `${OURS}/${plugin}`],
    { env: { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", CNI_PATH: OURS, ...env }, stdin: new TextEncoder().encode(JSON.stringify(stdin)), stdout: "pipe", stderr: "pipe" },
  );
  const stdout = p.stdout.toString();
  return { exitCode: p.exitCode ?? -1, stdout, stderr: p.stderr.toString(), json: stdout ? JSON.parse(stdout) : undefined };
}

describe.skipIf(skip)("STATUS", () => {
  test("50 when host-local cannot write its store, forwarded by ptp and bridge", () => {
    using host = tempNetns(`${TAG}-store`);
    using data = tempDir(`${TAG}-store`);
    writeFileSync(`${data.path}/file`, "");
    const dataDir = `${data.path}/file/sub`;
    for (const plugin of ["ptp", "bridge", "host-local"]) {
      const conf = { cniVersion: "1.1.0", name: "neta", ...mainPlugin("ptp", "iptables", dataDir, "10.64.0.0/24"), type: plugin };
      const r = runPlugin(plugin, { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: plugin === "host-local" ? { ...conf, ...conf.ipam } : conf });
      expect(r.exitCode).toBe(1);
      expect(r.json).toEqual({ code: 50, msg: `host-local: cannot store reservations in "${dataDir}/neta"`, details: `${data.path}/file is not a directory` });
    }
    for (const plugin of ["ptp", "bridge"]) {
      const conf = { cniVersion: "1.1.0", name: "neta", ...mainPlugin(plugin as Main, "iptables", data.path, "10.64.0.0/24") };
      expectSilentSuccess(runPlugin(plugin, { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf }));
    }
  });

  test("50 when ipMasq has no usable netfilter tool; without ipMasq (or bridge without IPAM) the tools are not needed", () => {
    using host = tempNetns(`${TAG}-tools`);
    using data = tempDir(`${TAG}-tools`);
    const status = { CNI_COMMAND: "STATUS" };
    const cases: [Main, string | undefined, string][] = [
      ["ptp", undefined, "ipMasq is on but neither iptables nor nft can be used here"],
      ["ptp", "iptables", 'ipMasqBackend "iptables" is configured but iptables cannot be used here'],
      ["bridge", "nftables", 'ipMasqBackend "nftables" is configured but nft cannot be used here'],
      ["bridge", undefined, "ipMasq is on but neither iptables nor nft can be used here"],
    ];
    for (const [main, backend, details] of cases) {
      const conf: Record<string, unknown> = { cniVersion: "1.1.0", name: "neta", ...mainPlugin(main, "iptables", data.path, "10.65.0.0/24") };
      if (backend) conf.ipMasqBackend = backend;
      else delete conf.ipMasqBackend;
      const r = withoutNetfilterTools(main, host.name, status, conf);
      expect({ plugin: main, backend, exitCode: r.exitCode, json: r.json }).toEqual({ plugin: main, backend, exitCode: 1, json: { code: 50, msg: "cannot set up IP masquerade", details } });
    }
    for (const conf of [
      { cniVersion: "1.1.0", name: "neta", ...mainPlugin("ptp", "iptables", data.path, "10.65.0.0/24"), ipMasq: false },
      { cniVersion: "1.1.0", name: "neta", type: "bridge", bridge: `${TAG}br1`, ipMasq: true },
    ]) {
      expectSilentSuccess(withoutNetfilterTools(conf.type, host.name, status, conf));
    }
  });

  test("before 1.1.0 STATUS is refused by the version gate, as upstream's skel does", () => {
    using host = tempNetns(`${TAG}-gate`);
    using data = tempDir(`${TAG}-gate`);
    const conf = { cniVersion: "1.0.0", name: "neta", ...mainPlugin("ptp", "iptables", data.path, "10.66.0.0/24") };
    expectError(runPlugin("ptp", { hostNetns: host.name, env: { CNI_COMMAND: "STATUS" }, stdin: conf }), { code: 1, msg: "config version does not allow STATUS" });
  });
});
