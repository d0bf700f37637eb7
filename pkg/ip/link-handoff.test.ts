// pkg/ip/link-handoff.test.ts: delLinkHandedOff on the real kernel (root only), in throwaway namespaces
// cnits-<pid>-hoff*: a veth and its peer are unlisted by the time it returns, the helper ends on its own, and the
// kernel's refusal comes back as delLink's NetlinkError.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { readdirSync, readFileSync } from "node:fs";
import { createNetns, openNetns, removeNetns, withNetns } from "../ns/netns.ts";
import { addLink, getLinkByName, linkExists } from "./link.ts";
import { delLinkHandedOff } from "./link-handoff.ts";
import { isNotFound, openRouteSocket } from "./nl/socket.ts";

const isRoot = process.getuid?.() === 0;

/**
 * Returns the pids of this process's children still running `comm` (a spawned child hangs off the thread that forked
 * it; one that has ended but is not reaped yet, a zombie, does not count).
 */
function runningChildren(comm: string): number[] {
  const pids: number[] = [];
  for (const tid of readdirSync("/proc/self/task")) {
    const kids = readFileSync(`/proc/self/task/${tid}/children`, "utf8").trim();
    for (const pid of kids ? kids.split(" ").map(Number) : []) {
      try {
        const stat = readFileSync(`/proc/${pid}/stat`, "utf8"); // pid (comm) state ...
        const state = stat.slice(stat.lastIndexOf(")") + 2, stat.lastIndexOf(")") + 3);
        if (stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")")) === comm && state !== "Z") pids.push(pid);
      } catch {
        // gone meanwhile
      }
    }
  }
  return pids;
}

describe.skipIf(!isRoot)("delLinkHandedOff on the real kernel (root)", () => {
  const aName = `cnits-${process.pid}-hoffa`;
  const bName = `cnits-${process.pid}-hoffb`;
  let aPath = "";
  let bPath = "";
  beforeAll(() => {
    aPath = createNetns(aName);
    bPath = createNetns(bName);
  });
  afterAll(() => {
    removeNetns(aName);
    removeNetns(bName);
  });

  test("a veth across two netns: both ends are unlisted when it returns; the helper then ends on its own", () => {
    using aSock = openRouteSocket(aPath);
    using bSock = openRouteSocket(bPath);
    {
      using b = openNetns(bPath); // the peer in b, as a container's veth has its host end elsewhere
      addLink(aSock, { kind: "veth", name: "ho0", peer: { name: "ho1", netnsFd: b.fd } });
    }
    const index = getLinkByName(aSock, "ho0").index;
    expect([linkExists(aSock, "ho0"), linkExists(bSock, "ho1")]).toEqual([true, true]);

    withNetns(aPath, () => delLinkHandedOff(index));
    expect([linkExists(aSock, "ho0"), linkExists(bSock, "ho1")]).toEqual([false, false]);

    const deadline = Date.now() + 10_000;
    while (runningChildren("cat").length > 0 && Date.now() < deadline) Bun.sleepSync(10);
    expect(runningChildren("cat")).toEqual([]);
  });

  test("a link that is not there: the kernel's ENODEV, as delLink throws it", () => {
    let caught: unknown;
    try {
      withNetns(aPath, () => delLinkHandedOff(0x7ffffff0));
    } catch (e) {
      caught = e;
    }
    expect(isNotFound(caught)).toBe(true);
  });
});
