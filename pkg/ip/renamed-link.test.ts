// pkg/ip/renamed-link.test.ts: goErrorText (no root), and createRenamedLink on the real kernel (root: throwaway
// namespaces cnirl<pid36>-<n>): made in the target netns under a temporary name and renamed there, a clash with the
// final name refused before anything is made, a taken temporary name retried, a kind the kernel lacks refused with
// its words, and nothing left behind by any failure.
import { afterAll, describe, expect, test } from "bun:test";
import { existsSync, readdirSync } from "node:fs";
import { createNetns, openNetns, removeNetns } from "../ns/netns.ts";
import { EEXIST, EOPNOTSUPP } from "../sys/libc.ts";
import { addLink, getLinkByName, LinkNotFoundError, listLinks } from "./link.ts";
import type { LinkSpec } from "./link-kinds.ts";
import { NetlinkError, openRouteSocket } from "./nl/socket.ts";
import { createRenamedLink, goErrorText, linkExists } from "./renamed-link.ts";

const RUN = `cnirl${process.pid.toString(36)}`;
const isRoot = process.getuid?.() === 0;
let counter = 0;

afterAll(() => {
  if (!existsSync("/run/netns")) return;
  for (const n of readdirSync("/run/netns")) if (n.startsWith(`${RUN}-`)) removeNetns(n);
});

describe("goErrorText", () => {
  test("Go's words: vishvananda's missing link, the lower-case errno and the kernel's ext-ack, else the message", () => {
    expect(goErrorText(new LinkNotFoundError('"eth9"'))).toBe("Link not found");
    expect(goErrorText(new NetlinkError("RTM_NEWLINK", EEXIST))).toBe("file exists");
    expect(goErrorText(new NetlinkError("RTM_NEWLINK", EOPNOTSUPP, "Unknown device type"))).toBe("operation not supported: Unknown device type");
    expect(goErrorText(new Error("something else"))).toBe("something else");
  });
});

/** A host netns with the veth m0 (peer m0p) and a container netns, both removed on dispose. */
function world() {
  const host = createNetns(`${RUN}-${++counter}`);
  const ctr = createNetns(`${RUN}-${++counter}`);
  const hostSock = openRouteSocket(host);
  const ctrSock = openRouteSocket(ctr);
  const ctrNs = openNetns(ctr);
  addLink(hostSock, { kind: "veth", name: "m0", peer: { name: "m0p" } });
  const m0 = getLinkByName(hostSock, "m0").index;
  return {
    hostSock, ctrSock, ctrNs, m0,
    ctrNames: () => listLinks(ctrSock).map((l) => l.name),
    [Symbol.dispose]() {
      ctrNs.close();
      hostSock.close();
      ctrSock.close();
      removeNetns(ctr);
      removeNetns(host);
    },
  };
}

describe.skipIf(!isRoot)("createRenamedLink (root)", () => {
  test("made straight into the container under veth<hex>, renamed there; the host keeps only its own links", () => {
    using w = world();
    const names: string[] = [];
    const link = createRenamedLink({
      createSock: w.hostSock, ctrSock: w.ctrSock, ifname: "eth0", what: "macvlan",
      spec: (name) => { names.push(name); return { kind: "macvlan", name, parentIndex: w.m0, mode: "bridge", netnsFd: w.ctrNs.fd }; },
    });
    expect(names).toEqual([expect.stringMatching(/^veth[0-9a-f]{8}$/)]);
    expect([link.name, link.kind, link.macvlanMode]).toEqual(["eth0", "macvlan", "bridge"]);
    expect(w.ctrNames()).toEqual(["lo", "eth0"]);
    expect(listLinks(w.hostSock).map((l) => l.name).sort()).toEqual(["lo", "m0", "m0p"]);
  });

  test("the final name taken in the container: refused before anything is made, in upstream's words", () => {
    using w = world();
    addLink(w.ctrSock, { kind: "veth", name: "eth0", peer: { name: "x0" } });
    let made = 0;
    expect(() => createRenamedLink({
      createSock: w.hostSock, ctrSock: w.ctrSock, ifname: "eth0", what: "macvlan",
      spec: (name) => { made++; return { kind: "macvlan", name, parentIndex: w.m0, mode: "bridge", netnsFd: w.ctrNs.fd }; },
    })).toThrow('failed to rename macvlan to "eth0": file exists');
    expect(made).toBe(0);
    expect(w.ctrNames().sort()).toEqual(["eth0", "lo", "x0"]);
  });

  test("a temporary name already taken in the container is retried with a new one", () => {
    using w = world();
    addLink(w.ctrSock, { kind: "veth", name: "taken0", peer: { name: "taken1" } });
    const names: string[] = [];
    createRenamedLink({
      createSock: w.hostSock, ctrSock: w.ctrSock, ifname: "eth0", what: "macvlan",
      spec: (name): LinkSpec => {
        names.push(names.length === 0 ? "taken0" : name);
        return { kind: "macvlan", name: names.at(-1)!, parentIndex: w.m0, mode: "bridge", netnsFd: w.ctrNs.fd };
      },
    });
    expect(names).toEqual(["taken0", expect.stringMatching(/^veth[0-9a-f]{8}$/)]);
    expect(w.ctrNames().sort()).toEqual(["eth0", "lo", "taken0", "taken1"]);
  });

  test("a create the kernel refuses: its words, and no temporary link anywhere", () => {
    using w = world();
    // A macvlan on a master that does not exist (ifindex 999): the kernel says ENODEV.
    expect(() => createRenamedLink({
      createSock: w.hostSock, ctrSock: w.ctrSock, ifname: "eth0", what: "macvlan",
      spec: (name) => ({ kind: "macvlan", name, parentIndex: 999, mode: "bridge", netnsFd: w.ctrNs.fd }),
    })).toThrow(/^failed to create macvlan: no such device/);
    expect(w.ctrNames()).toEqual(["lo"]);
    expect(linkExists(w.hostSock, "eth0")).toBe(false);
  });
});
