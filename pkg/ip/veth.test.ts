// pkg/ip/veth.test.ts: setupVeth on the real kernel (root only), in throwaway namespaces cnits-<pid>-veth*: both
// ends up by default, or the container end left down for a plugin that configures it first (bridge).
import { describe, expect, test } from "bun:test";
import { openNetns, withNetns } from "../ns/netns.ts";
import { getLinkByName, linkExists } from "./link.ts";
import { IFF_UP } from "./nl/consts.ts";
import { openRouteSocket } from "./nl/socket.ts";
import { setupVeth } from "./veth.ts";
import { suiteNetns } from "../../test/support/suite-netns.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("setupVeth on the real kernel (root)", () => {
  const ns = suiteNetns({ host: "vethh", ctr: "vethc" });

  /** Runs setupVeth from inside the throwaway host netns (its accept_ra write goes there) and returns both ends' UP flag. */
  function pair(ifname: string, containerUp?: boolean) {
    using hostSock = openRouteSocket(ns.host.path);
    using ctrSock = openRouteSocket(ns.ctr.path);
    using hostNs = openNetns(ns.host.path);
    const veth = withNetns(ns.host.path, () => setupVeth(ctrSock, hostSock, hostNs, { ifname, containerUp }));
    return {
      host: (getLinkByName(hostSock, veth.host.name).flags & IFF_UP) !== 0,
      container: (getLinkByName(ctrSock, ifname).flags & IFF_UP) !== 0,
      hostNamed: /^veth[0-9a-f]{8}$/.test(veth.host.name),
    };
  }

  test("both ends up by default; with containerUp false the container end stays down", () => {
    expect(pair("eth0")).toEqual({ host: true, container: true, hostNamed: true });
    expect(pair("eth1", false)).toEqual({ host: true, container: false, hostNamed: true });
  });

  test("linkExists tells a link from none", () => {
    using ctrSock = openRouteSocket(ns.ctr.path);
    expect([linkExists(ctrSock, "lo"), linkExists(ctrSock, "nosuchlink0")]).toEqual([true, false]);
  });
});
