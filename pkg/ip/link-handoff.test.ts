// pkg/ip/link-handoff.test.ts: delLinkHandedOff on the real kernel (root only), in throwaway namespaces
// cnits-<pid>-hoff*: a veth and its peer are unlisted by the time it returns, the helper ends on its own, and the
// kernel's refusal comes back as delLink's NetlinkError.
import { describe, expect, test } from "bun:test";
import { openNetns, withNetns } from "../ns/netns.ts";
import { addLink, getLinkByName, linkExists } from "./link.ts";
import { delLinkHandedOff } from "./link-handoff.ts";
import { isNotFound, openRouteSocket } from "./nl/socket.ts";
import { runningChildren } from "../../test/support/process.ts";
import { suiteNetns } from "../../test/support/suite-netns.ts";
import { waitFor } from "../../test/support/wait.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("delLinkHandedOff on the real kernel (root)", () => {
  const ns = suiteNetns({ a: "hoffa", b: "hoffb" });

  test("a veth across two netns: both ends are unlisted when it returns; the helper then ends on its own", () => {
    using aSock = openRouteSocket(ns.a.path);
    using bSock = openRouteSocket(ns.b.path);
    {
      using b = openNetns(ns.b.path); // the peer in b, as a container's veth has its host end elsewhere
      addLink(aSock, { kind: "veth", name: "ho0", peer: { name: "ho1", netnsFd: b.fd } });
    }
    const index = getLinkByName(aSock, "ho0").index;
    expect([linkExists(aSock, "ho0"), linkExists(bSock, "ho1")]).toEqual([true, true]);

    withNetns(ns.a.path, () => delLinkHandedOff(index));
    expect([linkExists(aSock, "ho0"), linkExists(bSock, "ho1")]).toEqual([false, false]);

    waitFor(() => runningChildren("cat").length === 0, "the cat helper to end", 10_000);
    expect(runningChildren("cat")).toEqual([]);
  });

  test("a link that is not there: the kernel's ENODEV, as delLink throws it", () => {
    let caught: unknown;
    try {
      withNetns(ns.a.path, () => delLinkHandedOff(0x7ffffff0));
    } catch (e) {
      caught = e;
    }
    expect(isNotFound(caught)).toBe(true);
  });
});
