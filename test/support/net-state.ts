// test/support/net-state.ts: everything CNI can leave in a throwaway netns, read in ONE `ip netns exec` (links,
// addresses, routes, policy rules, the nftables ruleset, both iptables families) and reduced to sorted comparable
// lines without what the kernel makes up on its own (ifindexes, link-local addresses, counters, handles), plus the
// names of the files below some directories. Fault and fuzz tests compare a state with a baseline and report the
// lines that appeared (`newLines`), so a leak names itself.
import { existsSync, lstatSync, readdirSync } from "node:fs";
import { join } from "node:path";
import type { TempNetns } from "./netns.ts";
import { nsName } from "./ns-exec.ts";

/** One netns's CNI-relevant state, each part as sorted lines. */
export interface NetState {
  links: string[];
  addrs: string[];
  routes: string[];
  rules: string[];
  nft: string[];
  iptables: string[];
}

const SEP = "@@cni-state@@";
const SCRIPT = [
  "ip -j -d link show",
  "ip -j addr show",
  "ip -j route show table all",
  "ip -j -6 route show table all",
  "ip -j rule show",
  "ip -j -6 rule show",
  "nft -j list ruleset 2>/dev/null || echo '{\"nftables\":[]}'",
  "iptables-save 2>/dev/null",
  "ip6tables-save 2>/dev/null",
].join(`; echo ${SEP}; `);

/** Returns the state of the netns; throws when it cannot be read. */
export function netState(ns: TempNetns | string): NetState {
  const p = Bun.spawnSync(["ip", "netns", "exec", nsName(ns), "sh", "-c", SCRIPT], { stdout: "pipe", stderr: "pipe" });
  if (p.exitCode !== 0) throw new Error(`reading the state of ${nsName(ns)}: ${p.stderr.toString().trim()}`);
  const parts = p.stdout.toString().split(SEP).map((s) => s.trim());
  const json = (s: string | undefined): any[] => (s ? JSON.parse(s) : []);
  const [links, addrs, routes4, routes6, rules4, rules6, nft, ipt4, ipt6] = parts;
  return {
    links: json(links).map((l) => `${l.ifname} ${l.linkinfo?.info_kind ?? "-"}${l.master ? ` master ${l.master}` : ""}`).sort(),
    addrs: json(addrs)
      .flatMap((l) => (l.addr_info ?? []).map((a: any) => ({ dev: l.ifname, a })))
      .filter(({ a }) => a.scope !== "link" || a.family !== "inet6")
      .map(({ dev, a }) => `${dev} ${a.local}/${a.prefixlen}`)
      .sort(),
    routes: [...json(routes4), ...json(routes6)]
      .filter((r) => !/^(fe80::|ff00::|ff02::|multicast)/.test(r.dst ?? "") && r.type !== "multicast")
      .map((r) => `${r.table ?? "main"} ${r.type ?? "unicast"} ${r.dst}${r.gateway ? ` via ${r.gateway}` : ""}${r.dev ? ` dev ${r.dev}` : ""}`)
      .sort(),
    rules: [...json(rules4), ...json(rules6)].map((r) => JSON.stringify(r)).sort(),
    nft: nftLines(nft ?? ""),
    iptables: [...iptLines(ipt4 ?? "", "v4"), ...iptLines(ipt6 ?? "", "v6")].sort(),
  };
}

function nftLines(text: string): string[] {
  const doc = JSON.parse(text || '{"nftables":[]}') as { nftables: Record<string, any>[] };
  return doc.nftables
    .filter((o) => !("metainfo" in o))
    .map((o) => {
      const [kind, body] = Object.entries(o)[0]!;
      const { handle: _h, ...rest } = body as Record<string, unknown>;
      // Counters move with traffic (a neighbour solicitation is enough); their presence is what a plugin decides.
      return `${kind} ${JSON.stringify(rest).replace(/"counter":\{"packets":\d+,"bytes":\d+\}/g, '"counter":{}')}`;
    })
    .sort();
}

// Lines of iptables-save without comments, COMMIT and counters; each prefixed with family and table.
function iptLines(text: string, fam: string): string[] {
  let table = "";
  const out: string[] = [];
  for (const raw of text.split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line === "COMMIT") continue;
    if (line.startsWith("*")) {
      table = line.slice(1);
      continue;
    }
    out.push(`${fam} ${table} ${line.replace(/ \[\d+:\d+\]$/, "")}`);
  }
  return out;
}

/** Returns, part by part, the lines of `now` that `base` does not have (empty parts dropped): what was left. */
export function newLines(base: NetState, now: NetState): Partial<NetState> {
  const out: Partial<NetState> = {};
  for (const k of Object.keys(now) as (keyof NetState)[]) {
    const had = new Set(base[k]);
    const extra = now[k].filter((l) => !had.has(l));
    if (extra.length > 0) out[k] = extra;
  }
  return out;
}

/** Returns every path below dir (relative, sorted; a directory's ends with "/"); [] when dir does not exist. */
export function treeOf(dir: string): string[] {
  if (!existsSync(dir)) return [];
  const out: string[] = [];
  const visit = (rel: string) => {
    for (const name of readdirSync(join(dir, rel))) {
      const r = rel ? `${rel}/${name}` : name;
      const isDir = lstatSync(join(dir, r)).isDirectory();
      out.push(isDir ? `${r}/` : r);
      if (isDir) visit(r);
    }
  };
  visit("");
  return out.sort();
}
