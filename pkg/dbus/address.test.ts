// pkg/dbus/address.test.ts: D-Bus server addresses and the system bus default (no root, no bus).
import { expect, test } from "bun:test";
import { DEFAULT_SYSTEM_BUS_ADDRESS, parseBusAddress, systemBusAddress } from "./address.ts";
import { authUid } from "./connection.ts";

test("unix addresses: path, abstract, escapes, several in order; other transports skipped", () => {
  expect(parseBusAddress("unix:path=/run/dbus/system_bus_socket")).toEqual([{ path: "/run/dbus/system_bus_socket" }]);
  expect(parseBusAddress("unix:path=/tmp/a%20b,guid=0123")).toEqual([{ path: "/tmp/a b" }]);
  expect(parseBusAddress("tcp:host=x,port=1;unix:abstract=/tmp/dbus-X;unix:path=/p")).toEqual([{ abstract: "/tmp/dbus-X" }, { path: "/p" }]);
  expect(parseBusAddress("")).toEqual([]);
});

test("malformed addresses throw, naming the entry", () => {
  expect(() => parseBusAddress("nocolon")).toThrow('bad D-Bus address "nocolon": no transport');
  expect(() => parseBusAddress("unix:guid=1")).toThrow("want exactly one of path= and abstract=");
  expect(() => parseBusAddress("unix:path=/a,abstract=b")).toThrow("want exactly one of path= and abstract=");
  expect(() => parseBusAddress("unix:path")).toThrow('has no "="');
  expect(() => parseBusAddress("unix:path=/a%2")).toThrow("bad D-Bus address escape");
});

test("the system bus: $DBUS_SYSTEM_BUS_ADDRESS, else godbus's default socket", () => {
  expect(systemBusAddress({})).toBe(DEFAULT_SYSTEM_BUS_ADDRESS);
  expect(systemBusAddress({ DBUS_SYSTEM_BUS_ADDRESS: "" })).toBe(DEFAULT_SYSTEM_BUS_ADDRESS);
  expect(systemBusAddress({ DBUS_SYSTEM_BUS_ADDRESS: "unix:path=/x" })).toBe("unix:path=/x");
  expect(DEFAULT_SYSTEM_BUS_ADDRESS).toBe("unix:path=/var/run/dbus/system_bus_socket");
});

test("AUTH EXTERNAL sends the uid as hex of its decimal text, as libdbus does", () => {
  expect(authUid(0)).toBe("30");
  expect(authUid(1000)).toBe("31303030");
});
