// test/bench/host-state.ts: what a pod can leave behind, read from one side's throwaway host netns and state
// directories, as comparable lines. After DEL the lines must equal the baseline taken before the pods were added.
import { readdirSync, statSync } from "node:fs";
import { withNetns } from "../../pkg/ns/netns.ts";
import type { Side } from "./runtime.ts";

function run(side: Side, argv: string[]): string {
  const p = withNetns(side.hostNs, () => Bun.spawnSync(argv, { stdout: "pipe", stderr: "pipe" }));
  if (p.exitCode !== 0) throw new Error(`${argv.join(" ")} in ${side.hostName}: ${p.stderr.toString().trim()}`);
  return p.stdout.toString();
}

function json(side: Side, argv: string[]): any[] {
  const out = run(side, argv).trim();
  return out === "" ? [] : JSON.parse(out);
}

function files(dir: string, keep: (name: string) => boolean): string[] {
  const out: string[] = [];
  let names: string[];
  try {
    names = readdirSync(dir);
  } catch {
    return out;
  }
  for (const n of names) {
    const p = `${dir}/${n}`;
    if (statSync(p).isDirectory()) out.push(...files(p, keep));
    else if (keep(n)) out.push(`file ${p}`);
  }
  return out;
}

/**
 * Returns every object a pod could leave on this side as one line each: links (name, kind, master), addresses and
 * routes of every table (IPv6 link-local and multicast ones aside), iptables and ip6tables rules and chains (counters
 * dropped), the nftables ruleset, qdiscs, and host-local's reservations and tuning's backups (host-local's lock and
 * last-reserved files are shared state).
 */
export function snapshot(side: Side): string[] {
  const lines: string[] = [];
  for (const l of json(side, ["ip", "-j", "-d", "link", "show"])) {
    lines.push(`link ${l.ifname} ${l.linkinfo?.info_kind ?? ""} ${l.master ?? ""}`);
  }
  for (const a of json(side, ["ip", "-j", "addr", "show"])) {
    for (const i of a.addr_info ?? []) {
      if (isKernelV6(i.local)) continue;
      lines.push(`addr ${a.ifname} ${i.local}/${i.prefixlen}`);
    }
  }
  for (const fam of ["-4", "-6"]) {
    for (const r of json(side, ["ip", fam, "-j", "route", "show", "table", "all"])) {
      if (isKernelV6(String(r.dst))) continue;
      lines.push(`route ${fam} ${r.type ?? ""} ${r.dst} ${r.dev ?? ""} ${r.gateway ?? ""} ${r.table ?? "main"}`);
    }
  }
  for (const tool of ["iptables-save", "ip6tables-save"]) {
    for (const l of run(side, [tool]).split("\n")) {
      if (l === "" || l.startsWith("#")) continue;
      lines.push(`${tool} ${l.replace(/ \[\d+:\d+\]$/, "")}`);
    }
  }
  for (const l of run(side, ["nft", "list", "ruleset"]).split("\n")) if (l.trim() !== "") lines.push(`nft ${l.trim()}`);
  for (const q of json(side, ["tc", "-j", "qdisc", "show"])) lines.push(`qdisc ${q.dev} ${q.kind} ${q.handle}`);
  lines.push(...files(side.stateDir, (n) => n !== "lock" && !n.startsWith("last_reserved_ip")));
  return lines.sort();
}

// IPv6 link-local addresses and their routes, and the multicast route, come and go with a link's carrier (the
// bridge gets one once its first port is up, at a moment of the kernel's choosing): kernel state, not a plugin's.
function isKernelV6(addr: string): boolean {
  return /^(fe80:|ff00::)/i.test(addr);
}

/** Returns the lines of `now` not in `base` (left behind) and of `base` not in `now` (removed), prefixed + and -. */
export function diff(base: string[], now: string[]): string[] {
  const b = new Set(base);
  const n = new Set(now);
  return [...now.filter((l) => !b.has(l)).map((l) => `+ ${l}`), ...base.filter((l) => !n.has(l)).map((l) => `- ${l}`)];
}

/** Returns the links left in a container netns other than lo (after DEL there must be none). */
export function containerLeftovers(netnsPath: string): string[] {
  const p = withNetns(netnsPath, () => Bun.spawnSync(["ip", "-j", "link", "show"], { stdout: "pipe", stderr: "pipe" }));
  const links = JSON.parse(p.stdout.toString() || "[]") as { ifname: string }[];
  return links.map((l) => l.ifname).filter((n) => n !== "lo");
}
