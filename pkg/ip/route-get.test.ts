// pkg/ip/route-get.test.ts: the RTM_GETROUTE request of `ip route get` (test/golden/route-get-v4.hex), as upstream's
// vishvananda RouteGet sends it: the same bytes but for rtm_flags, which iproute2 sets to RTM_F_LOOKUP_TABLE.
import { expect, test } from "bun:test";
import { golden, hex } from "../../test/support/golden.ts";
import { parseIP } from "./cidr.ts";
import { encodeGetRoute } from "./route-get.ts";

test("RTM_GETROUTE for one address matches iproute2's but for RTM_F_LOOKUP_TABLE", () => {
  const want = golden("route-get-v4");
  const withoutLookupTable = want.slice(0, 2 * 24) + "00000000" + want.slice(2 * 28); // rtm_flags: bytes 24-27
  expect(hex(encodeGetRoute(0, parseIP("127.0.0.2")!))).toBe(withoutLookupTable);
});
