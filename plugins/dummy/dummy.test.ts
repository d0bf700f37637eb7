// plugins/dummy/dummy.test.ts: runs anywhere, no root. The dummy plugin's config rule (IPAM is required) and the
// RTM_NEWLINK it sends, byte for byte against iproute2 (the build kernel lacks dummy; the kernel VM case
// test/kernel-vm/cases/dummy.sh shows the kernel taking this same request).
import { describe, expect, test } from "bun:test";
import { CniError } from "../../pkg/cni/errors.ts";
import { encodeNewLink } from "../../pkg/ip/link.ts";
import { golden, hex } from "../../test/support/golden.ts";
import { dummyLinkSpec, loadConf, requireIpam } from "./dummy.ts";

const enc = (o: object) => new TextEncoder().encode(JSON.stringify(o));
const base = { cniVersion: "1.1.0", name: "dnet", type: "dummy" };

function thrown(fn: () => unknown): { code: number; msg: string } {
  try {
    fn();
  } catch (e) {
    return e instanceof CniError ? { code: e.code, msg: e.msg } : { code: 999, msg: (e as Error).message };
  }
  throw new Error("did not throw");
}

describe("config", () => {
  const noIpam = 'dummy interface requires an IPAM configuration: the config has no "ipam" with a "type"';
  test.each([
    ["no ipam", {}],
    ["ipam without a type", { ipam: { subnet: "10.1.2.0/24" } }],
    ["an empty ipam type", { ipam: { type: "" } }],
  ])("%s: code 7, naming ipam", (_label, top) => {
    expect(thrown(() => requireIpam(loadConf(enc({ ...base, ...top }))))).toEqual({ code: 7, msg: noIpam });
  });

  test("an ipam type is enough (the IPAM plugin judges the rest); keys match case-insensitively", () => {
    expect(() => requireIpam(loadConf(enc({ ...base, IPAM: { type: "static" } })))).not.toThrow();
  });

  test("a wrong type: code 999 with upstream's prefix and Go's decode error", () => {
    expect(thrown(() => loadConf(enc({ ...base, ipam: "host-local" })))).toEqual({
      code: 999,
      msg: expect.stringMatching(/^failed to parse network config: json: cannot unmarshal string into Go struct field NetConf\.ipam/),
    });
  });
});

describe("netlink requests match iproute2 byte for byte", () => {
  test("ip link add N type dummy, sent from inside the container netns (no netns attribute)", () => {
    expect(hex(encodeNewLink(0, dummyLinkSpec("cnitsd0")))).toBe(golden("link-add-dummy"));
  });
});
