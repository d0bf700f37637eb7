// pkg/ip/default-route.test.ts: which link defaultRouteLinkName picks (root: throwaway namespaces cnidr<pid36>-<n>,
// set up with iproute2, removed even when a test fails). Its one request, the AF_UNSPEC route dump, is byte-tested
// against iproute2 in plugins/macvlan/macvlan.test.ts (golden route-dump-all).
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { createNetns, removeNetns } from "../ns/netns.ts";
import { defaultRouteLinkName } from "./default-route.ts";
import { openRouteSocket } from "./nl/socket.ts";

const RUN = `cnidr${process.pid.toString(36)}`;
const isRoot = process.getuid?.() === 0 && Bun.which("ip") !== null;
let counter = 0;

afterAll(() => {
  if (!existsSync("/run/netns")) return;
  for (const n of readdirSync("/run/netns")) if (n.startsWith(`${RUN}-`)) removeNetns(n);
});

/** A throwaway netns with veths d0, d1 (peers d0p, d1p, all up, 192.168.{0,1}.2/24 and 2001:db8:{0,1}::2/64). */
function netnsWithLinks(): { name: string; path: string; ip: (...args: string[]) => void; [Symbol.dispose](): void } {
  const name = `${RUN}-${++counter}`;
  const path = createNetns(name);
  const ip = (...args: string[]) => {
    const p = Bun.spawnSync(["ip", "-n", name, ...args], { stdout: "pipe", stderr: "pipe" });
    if (p.exitCode !== 0) throw new Error(`ip ${args.join(" ")}: ${p.stderr.toString()}`);
  };
  for (const i of [0, 1]) {
    ip("link", "add", `d${i}`, "type", "veth", "peer", "name", `d${i}p`);
    ip("link", "set", `d${i}`, "up");
    ip("link", "set", `d${i}p`, "up");
    ip("addr", "add", `192.168.${i}.2/24`, "dev", `d${i}`);
    ip("-6", "addr", "add", `2001:db8:${i}::2/64`, "dev", `d${i}`, "nodad");
  }
  return { name, path, ip, [Symbol.dispose]: () => removeNetns(name) };
}

function pick(path: string): string {
  using sock = openRouteSocket(path);
  return defaultRouteLinkName(sock);
}

describe.skipIf(!isRoot)("defaultRouteLinkName (root)", () => {
  test("no default route, or one in another table only: upstream's error", () => {
    using ns = netnsWithLinks();
    expect(() => pick(ns.path)).toThrow("no default route interface found");
    ns.ip("route", "add", "default", "via", "192.168.0.1", "dev", "d0", "table", "100");
    expect(() => pick(ns.path)).toThrow("no default route interface found");
  });

  test("IPv4's comes before IPv6's, whatever was added first; IPv6 alone counts too", () => {
    using ns = netnsWithLinks();
    ns.ip("-6", "route", "add", "default", "via", "2001:db8:1::1", "dev", "d1");
    expect(pick(ns.path)).toBe("d1");
    ns.ip("route", "add", "default", "via", "192.168.0.1", "dev", "d0");
    expect(pick(ns.path)).toBe("d0");
  });

  test("the lowest metric first (the kernel's order), and a multipath default's first hop", () => {
    using ns = netnsWithLinks();
    ns.ip("route", "add", "default", "via", "192.168.1.1", "dev", "d1", "metric", "10");
    ns.ip("route", "add", "default", "via", "192.168.0.1", "dev", "d0", "metric", "20");
    expect(pick(ns.path)).toBe("d1");
    using mp = netnsWithLinks();
    mp.ip("route", "add", "default", "nexthop", "via", "192.168.1.1", "dev", "d1", "nexthop", "via", "192.168.0.1", "dev", "d0");
    expect(pick(mp.path)).toBe("d1");
  });

  test("a blackhole default has no link: upstream's error", () => {
    using ns = netnsWithLinks();
    ns.ip("route", "add", "blackhole", "default");
    expect(() => pick(ns.path)).toThrow("no default route interface found");
  });
});
