import { describe, expect, test } from "bun:test";
import { formatResult, parsePrevResult, parseResultAs, readResult, resultObject, roundTrip } from "./result.ts";
import { ALL_VERSIONS, type Result } from "./types.ts";

const dual: Result = {
  cniVersion: "1.1.0",
  interfaces: [
    { name: "cni0", mac: "0a:58:0a:01:00:01" },
    { name: "eth0", mac: "0a:58:0a:01:00:05", mtu: 1450, sandbox: "/var/run/netns/x", socketPath: "/s", pciID: "0000:00:01.0" },
  ],
  ips: [
    { interface: 1, address: "10.1.0.5/16", gateway: "10.1.0.1" },
    { interface: 1, address: "10.2.0.5/16" },
    { interface: 1, address: "2001:db8::5/64", gateway: "2001:db8::1" },
  ],
  routes: [
    { dst: "0.0.0.0/0", gw: "10.1.0.1", priority: 100, table: 0 },
    { dst: "::/0" },
  ],
  dns: { nameservers: ["10.1.0.1"], search: ["example.com"] },
};

describe("printing in each version's shape", () => {
  test("1.x: keys sorted at every level, every field kept", () => {
    expect(formatResult(dual, "1.0.0")).toBe(JSON.stringify({
      cniVersion: "1.0.0",
      dns: { nameservers: ["10.1.0.1"], search: ["example.com"] },
      interfaces: [
        { mac: "0a:58:0a:01:00:01", name: "cni0" },
        { mac: "0a:58:0a:01:00:05", mtu: 1450, name: "eth0", pciID: "0000:00:01.0", sandbox: "/var/run/netns/x", socketPath: "/s" },
      ],
      ips: [
        { address: "10.1.0.5/16", gateway: "10.1.0.1", interface: 1 },
        { address: "10.2.0.5/16", interface: 1 },
        { address: "2001:db8::5/64", gateway: "2001:db8::1", interface: 1 },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1", priority: 100, table: 0 }, { dst: "::/0" }],
    }, null, 4));
  });

  test("1.x: empty dns and empty arrays are omitted", () => {
    expect(formatResult({ cniVersion: "1.1.0", ips: [], dns: {} }, "1.1.0")).toBe('{\n    "cniVersion": "1.1.0"\n}');
  });

  test("0.4.0: upstream key order, version per address, 1.x-only interface fields dropped, dns always there", () => {
    const text = formatResult(dual, "0.4.0");
    expect(text).toBe(JSON.stringify({
      cniVersion: "0.4.0",
      interfaces: [{ name: "cni0", mac: "0a:58:0a:01:00:01" }, { name: "eth0", mac: "0a:58:0a:01:00:05", sandbox: "/var/run/netns/x" }],
      ips: [
        { version: "4", interface: 1, address: "10.1.0.5/16", gateway: "10.1.0.1" },
        { version: "4", interface: 1, address: "10.2.0.5/16" },
        { version: "6", interface: 1, address: "2001:db8::5/64", gateway: "2001:db8::1" },
      ],
      routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1", priority: 100, table: 0 }, { dst: "::/0" }],
      dns: { nameservers: ["10.1.0.1"], search: ["example.com"] },
    }, null, 4));
    expect(formatResult({ cniVersion: "0.3.1" }, "0.3.1")).toBe('{\n    "cniVersion": "0.3.1",\n    "dns": {}\n}');
  });

  test("0.2.0: first address of each family, routes filed by family with dst and gw only", () => {
    expect(resultObject(dual, "0.2.0")).toEqual({
      cniVersion: "0.2.0",
      ip4: { ip: "10.1.0.5/16", gateway: "10.1.0.1", routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }] },
      ip6: { ip: "2001:db8::5/64", gateway: "2001:db8::1", routes: [{ dst: "::/0" }] },
      dns: { nameservers: ["10.1.0.1"], search: ["example.com"] },
    });
    expect(Object.keys(resultObject(dual, "0.1.0"))).toEqual(["cniVersion", "ip4", "ip6", "dns"]);
  });

  test("0.1.0 and 0.2.0 cannot hold a result without addresses", () => {
    for (const v of ["0.1.0", "0.2.0"]) {
      expect(() => formatResult({ cniVersion: "1.1.0", interfaces: [{ name: "eth0" }] }, v)).toThrow("cannot convert: no valid IP addresses");
    }
  });

  test("an unknown version is refused", () => {
    expect(() => formatResult(dual, "0.5.0")).toThrow('unsupported CNI result version "0.5.0"');
  });
});

describe("conversion in both directions across all seven versions", () => {
  const v4only: Result = {
    cniVersion: "1.1.0",
    ips: [{ address: "10.1.0.5/24", gateway: "10.1.0.1" }],
    routes: [{ dst: "0.0.0.0/0", gw: "10.1.0.1" }],
    dns: { nameservers: ["8.8.8.8"] },
  };
  for (const from of ALL_VERSIONS) {
    for (const to of ALL_VERSIONS) {
      test(`${from} -> ${to}`, () => {
        // Print as `from`, read that back, then print as `to`: what a runtime sees when a plugin of one version
        // chains into a plugin configured with another.
        const asFrom = readResult(resultObject(v4only, from), from);
        const printed = resultObject(asFrom, to);
        expect(printed.cniVersion).toBe(to);
        const back = readResult(printed, to);
        expect(back.ips).toEqual([{ address: "10.1.0.5/24", gateway: "10.1.0.1" }]);
        expect(back.routes).toEqual([{ dst: "0.0.0.0/0", gw: "10.1.0.1" }]);
        expect(back.dns).toEqual({ nameservers: ["8.8.8.8"] });
      });
    }
  }

  test("1.1.0 -> 0.2.0 -> 1.1.0 keeps the first address of each family only", () => {
    const back = roundTrip(dual, "0.2.0");
    expect(back.ips).toEqual([
      { address: "10.1.0.5/16", gateway: "10.1.0.1" },
      { address: "2001:db8::5/64", gateway: "2001:db8::1" },
    ]);
    expect(back.interfaces).toBeUndefined();
  });

  test("0.4.0 -> 1.1.0 drops version and keeps interface indexes", () => {
    const r = readResult({ cniVersion: "0.4.0", interfaces: [{ name: "eth0", mac: "aa:bb:cc:dd:ee:ff" }], ips: [{ version: "4", interface: 0, address: "10.0.0.2/24" }] }, "0.4.0");
    expect(r).toEqual({ cniVersion: "0.4.0", interfaces: [{ name: "eth0", mac: "aa:bb:cc:dd:ee:ff" }], ips: [{ interface: 0, address: "10.0.0.2/24" }] });
  });
});

describe("prevResult", () => {
  test("parsed with the config's version when it names none", () => {
    expect(parsePrevResult({ ips: [{ version: "4", address: "10.0.0.2/24" }] }, "0.4.0").ips).toEqual([{ address: "10.0.0.2/24" }]);
  });
  test("a result of another family than the config is refused", () => {
    expect(() => parsePrevResult({ cniVersion: "0.4.0", ips: [] }, "1.0.0"))
      .toThrow('could not parse prevResult: result type supports [1.0.0 1.1.0] but unmarshalled CNIVersion is "0.4.0"');
    expect(() => parsePrevResult({ cniVersion: "1.0.0" }, "0.3.1"))
      .toThrow('could not parse prevResult: result type supports [0.3.0 0.3.1 0.4.0] but unmarshalled CNIVersion is "1.0.0"');
  });
  test("a different version of the same family is fine", () => {
    expect(parsePrevResult({ cniVersion: "1.0.0", ips: [{ address: "10.0.0.2/24" }] }, "1.1.0").cniVersion).toBe("1.0.0");
  });
  test("bad addresses give Go's parse errors", () => {
    expect(() => parsePrevResult({ ips: [{ address: "10.0.0.300/24" }] }, "1.0.0")).toThrow("could not parse prevResult: invalid CIDR address: 10.0.0.300/24");
    expect(() => parsePrevResult({ ips: [{ address: "10.0.0.3/24", gateway: "x" }] }, "1.0.0")).toThrow("invalid IP address: x");
    expect(() => parseResultAs({ routes: [{ dst: "nope" }] }, "1.0.0")).toThrow("invalid CIDR address: nope");
  });
  test("IPv6 text comes back canonical and host bits stay", () => {
    const r = parsePrevResult({ ips: [{ address: "2001:DB8:0:0:0:0:0:5/64" }, { address: "::ffff:10.0.0.7/120" }] }, "1.0.0");
    expect(r.ips!.map((i) => i.address)).toEqual(["2001:db8::5/64", "10.0.0.7/24"]);
  });
});

test("text is escaped as Go's encoding/json escapes it", () => {
  expect(formatResult({ cniVersion: "1.0.0", dns: { domain: "a<b>&c\u2028" } }, "1.0.0")).toContain('"domain": "a\\u003cb\\u003e\\u0026c\\u2028"');
});
