// pkg/ip/veth.test.ts: setupVeth on the real kernel (root only), in throwaway namespaces cnits-<pid>-veth*: both
// ends up by default, or the container end left down for a plugin that configures it first (bridge).
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createNetns, openNetns, removeNetns, withNetns } from "../ns/netns.ts";
import { getLinkByName, linkExists } from "./link.ts";
import { IFF_UP } from "./nl/consts.ts";
import { openRouteSocket } from "./nl/socket.ts";
import { setupVeth } from "./veth.ts";

const isRoot = process.getuid?.() === 0;

describe.skipIf(!isRoot)("setupVeth on the real kernel (root)", () => {
  const hostName = `cnits-${process.pid}-vethh`;
  const ctrName = `cnits-${process.pid}-vethc`;
  let hostPath = "";
  let ctrPath = "";
  beforeAll(() => {
    hostPath = createNetns(hostName);
    ctrPath = createNetns(ctrName);
  });
  afterAll(() => {
    removeNetns(ctrName);
    removeNetns(hostName);
  });

  /** Runs setupVeth from inside the throwaway host netns (its accept_ra write goes there) and returns both ends' UP flag. */
  function pair(ifname: string, containerUp?: boolean) {
    using hostSock = openRouteSocket(hostPath);
    using ctrSock = openRouteSocket(ctrPath);
    using hostNs = openNetns(hostPath);
    const veth = withNetns(hostPath, () => setupVeth(ctrSock, hostSock, hostNs, { ifname, containerUp }));
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
    using ctrSock = openRouteSocket(ctrPath);
    expect([linkExists(ctrSock, "lo"), linkExists(ctrSock, "nosuchlink0")]).toEqual([true, false]);
  });
});
