// pkg/ip/go-mac.test.ts: parseGoMAC accepts and refuses exactly what Go's net.ParseMAC does (its own test table).
import { describe, expect, test } from "bun:test";
import { parseGoMAC } from "./go-mac.ts";
import { formatMAC } from "./link.ts";

describe("parseGoMAC", () => {
  test.each([
    ["00:00:5e:00:53:01", "00:00:5e:00:53:01"],
    ["00-00-5e-00-53-01", "00:00:5e:00:53:01"],
    ["0000.5e00.5301", "00:00:5e:00:53:01"],
    ["AB:CD:EF:01:23:45", "ab:cd:ef:01:23:45"],
    ["02:00:5e:10:00:00:00:01", "02:00:5e:10:00:00:00:01"],
    ["0200.5e10.0000.0001", "02:00:5e:10:00:00:00:01"],
    ["00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01", "00:00:00:00:fe:80:00:00:00:00:00:00:02:00:5e:10:00:00:00:01"],
  ])("%s", (text, want) => {
    expect(formatMAC(parseGoMAC(text))).toBe(want);
  });

  test.each([
    "", "01.02.03.04.05.06", "01:02:03:04:05:06:", "x1:02:03:04:05:06", "01002:03:04:05:06", "01:02003:04:05:06",
    "01:02:03:04:05:06:07", "01:02:03:04:05", "0123:4567:89AF", "0123-4567-89AF", "01:02-03:04:05:06", "0000.5e00.530", "zz:zz:zz:zz:zz:zz",
  ])("refuses %p with Go's words", (text) => {
    expect(() => parseGoMAC(text)).toThrow(`address ${text}: invalid MAC address`);
  });
});
