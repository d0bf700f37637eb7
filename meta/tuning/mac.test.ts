// meta/tuning/mac.test.ts: MAC text as Go's net.ParseMAC accepts it. Runs anywhere, no root.
import { expect, test } from "bun:test";
import { formatMAC } from "../../pkg/ip/link.ts";
import { parseHardwareAddr } from "./mac.ts";

const fmt = (s: string) => formatMAC(parseHardwareAddr(s));

test("the three spellings and three sizes Go accepts", () => {
  expect(fmt("AA:bb:0c:dd:ee:01")).toBe("aa:bb:0c:dd:ee:01");
  expect(fmt("aa-bb-0c-dd-ee-01")).toBe("aa:bb:0c:dd:ee:01");
  expect(fmt("aabb.0cdd.ee01")).toBe("aa:bb:0c:dd:ee:01");
  expect(fmt("00:00:00:00:fe:80:00:00")).toBe("00:00:00:00:fe:80:00:00");
  expect(parseHardwareAddr("00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01").length).toBe(20);
  expect(parseHardwareAddr("0000.0000.fe80.0000").length).toBe(8);
});

test("everything else is refused with Go's text", () => {
  for (const bad of ["", "zz", "aa:bb:cc:dd:ee", "aa:bb:cc:dd:ee:f", "aa:bb:cc:dd:ee:fg", "aa:bb-cc:dd:ee:ff", "aa:bb:cc:dd:ee:ff:00",
    "aabb.ccdd.eeff.", "aabb:ccdd.eeff", "a:bb:cc:dd:ee:ff0", " aa:bb:cc:dd:ee:f"]) {
    expect(() => parseHardwareAddr(bad)).toThrow(`address ${bad}: invalid MAC address`);
  }
});
