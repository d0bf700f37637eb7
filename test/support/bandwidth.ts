// test/support/bandwidth.ts: what the bandwidth tests share: the config, the tc state of a throwaway netns read back
// with `tc -j -r` and `ip -j -d` (reduced to what the plugin decides, so whole objects compare with toEqual), the
// numbers upstream gives each tbf, and a bounded TCP transfer between two namespaces to measure the shaping.
import type { TempNetns } from "./netns.ts";

const nsName = (ns: TempNetns | string) => (typeof ns === "string" ? ns : ns.name);

function run(argv: string[]): string {
  const p = Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

function json(argv: string[]): any[] {
  const out = run(argv).trim();
  return out === "" ? [] : JSON.parse(out);
}

/** Returns a bandwidth network config (`extra` holds the limits, runtimeConfig and prevResult). */
export function bandwidthConf(version: string, network: string, extra: object = {}): Record<string, unknown> {
  return { cniVersion: version, name: network, type: "bandwidth", ...extra };
}

/** One qdisc as `tc -j -r qdisc show` prints it, without the refcnt (the kernel's business). */
export type QdiscState = Record<string, unknown>;

/** Returns the qdiscs of one device of the netns, in the kernel's order (root, then ingress). */
export function qdiscsOf(ns: TempNetns | string, dev: string): QdiscState[] {
  return json(["ip", "netns", "exec", nsName(ns), "tc", "-j", "-r", "qdisc", "show", "dev", dev]).map(({ refcnt, ...q }) => q);
}

/** Returns every qdisc of the netns (all devices), with `dev`. */
export function allQdiscs(ns: TempNetns | string): QdiscState[] {
  return json(["ip", "netns", "exec", nsName(ns), "tc", "-j", "-r", "qdisc", "show"]).map(({ refcnt, ...q }) => q);
}

/** A tbf root 1: as tc prints it for upstream's numbers: rate bytes/s, burst bytes, the bucket in ticks, 25 ms. */
export function tbfState(t: { rate: number; burst: number; bufferTicks: number; limit: number }): QdiscState {
  return {
    kind: "tbf",
    handle: "1:",
    root: true,
    options: { rate: t.rate, burst: t.burst, burst_raw: t.bufferTicks.toString(16), lat: 25000, limit: t.limit },
  };
}

/** The ingress qdisc ffff: as tc prints it. */
export const INGRESS_STATE: QdiscState = { kind: "ingress", handle: "ffff:", parent: "ffff:fff1", options: {} };

/** What a fresh veth has: no qdisc but the kernel's noqueue. */
export const NOQUEUE_STATE: QdiscState = { kind: "noqueue", handle: "0:", root: true, options: {} };

/**
 * Returns the u32 key nodes under the ingress qdisc of a device (the filters that match and act), reduced to the
 * match, the flow id and each action's kind, direction, target and control action.
 */
export function redirectFiltersOf(ns: TempNetns | string, dev: string): Record<string, unknown>[] {
  return json(["ip", "netns", "exec", nsName(ns), "tc", "-j", "filter", "show", "dev", dev, "parent", "ffff:"])
    .filter((f) => f.options?.match)
    .map((f) => ({
      protocol: f.protocol,
      pref: f.pref,
      kind: f.kind,
      flowid: f.options.flowid,
      match: f.options.match,
      actions: (f.options.actions ?? []).map((a: any) => ({
        order: a.order, kind: a.kind, mirred_action: a.mirred_action, direction: a.direction, to_dev: a.to_dev, control: a.control_action?.type,
      })),
    }));
}

/** The filter upstream's bandwidth puts on the host veth (vishvananda's two actions: stolen, then pass). */
export function redirectFilterState(ifb: string): Record<string, unknown> {
  const action = (order: number, control: string) => ({ order, kind: "mirred", mirred_action: "redirect", direction: "egress", to_dev: ifb, control });
  return {
    protocol: "all", pref: 1, kind: "u32", flowid: "1:1", match: { value: "0", mask: "0", offmask: "", off: 0 },
    actions: [action(1, "stolen"), action(2, "pass")],
  };
}

/** One ifb as `ip -j -d link` shows it, reduced to what the plugin decides. */
export interface IfbState {
  ifname: string;
  mac: string;
  mtu: number;
  up: boolean;
  txqlen: number;
  alias?: string;
}

/** Returns the ifb links of the netns. */
export function ifbsIn(ns: TempNetns | string): IfbState[] {
  return json(["ip", "-n", nsName(ns), "-j", "-d", "link", "show"])
    .filter((l) => l.linkinfo?.info_kind === "ifb")
    .map((l) => ({
      ifname: l.ifname,
      mac: l.address,
      mtu: l.mtu,
      up: (l.flags as string[]).includes("UP"),
      txqlen: l.txqlen ?? 0,
      ...(l.ifalias !== undefined ? { alias: l.ifalias } : {}),
    }));
}

/** Returns the name of the host end of the container's eth0 (its veth peer, by index). */
export function hostVethOf(host: TempNetns | string, ctr: TempNetns | string, ifname = "eth0"): string {
  const [k] = json(["ip", "-n", nsName(ctr), "-j", "link", "show", "dev", ifname]);
  const h = json(["ip", "-n", nsName(host), "-j", "link", "show"]).find((l) => l.ifindex === k.link_index);
  if (!h) throw new Error(`no host end of ${ifname} in ${nsName(host)}`);
  return h.ifname;
}

/** Runs `tc <args>` in the netns (test setup such as a qdisc that is in the way). */
export function tcIn(ns: TempNetns | string, args: string[]): void {
  run(["ip", "netns", "exec", nsName(ns), "tc", ...args]);
}

const FIXTURE = new URL("./bandwidth-transfer-fixture.ts", import.meta.url).pathname;

/**
 * Returns the throughput in bits per second of one TCP transfer of `bytes` from the sender netns to `ip` in the
 * receiver netns, measured by the receiver from its first byte to its last. Bounded: each end gives up after
 * deadlineMs, and the receiver is killed if it has not answered by then.
 */
export async function measureTransfer(receiver: TempNetns | string, ip: string, sender: TempNetns | string, bytes: number, deadlineMs = 15000): Promise<number> {
  const bun = process.execPath;
  const rx = Bun.spawn(["ip", "netns", "exec", nsName(receiver), bun, FIXTURE, "recv", ip, String(bytes), String(deadlineMs)], { stdout: "pipe", stderr: "pipe" });
  try {
    const reader = rx.stdout.getReader();
    let text = "";
    const nextLine = async (): Promise<any> => {
      for (;;) {
        const nl = text.indexOf("\n");
        if (nl >= 0) {
          const line = text.slice(0, nl);
          text = text.slice(nl + 1);
          return JSON.parse(line);
        }
        const { value, done } = await reader.read();
        if (done) throw new Error(`receiver exited early: ${await new Response(rx.stderr).text()}`);
        text += new TextDecoder().decode(value);
      }
    };
    const { port } = await nextLine();
    const tx = Bun.spawnSync(["ip", "netns", "exec", nsName(sender), bun, FIXTURE, "send", ip, String(port), String(bytes), String(deadlineMs)], {
      stdout: "pipe", stderr: "pipe", timeout: deadlineMs + 2000,
    });
    if (tx.exitCode !== 0) throw new Error(`sender failed: ${tx.stdout.toString()}${tx.stderr.toString()}`);
    const r = await nextLine();
    if (r.error) throw new Error(`receiver: ${r.error}`);
    return (r.bytes * 8) / (r.ms / 1000);
  } finally {
    rx.kill();
  }
}
