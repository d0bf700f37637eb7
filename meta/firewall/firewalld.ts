// meta/firewall/firewalld.ts: the firewalld backend (upstream firewalld.go): each address, as /32 or /128, becomes a
// source of the configured zone through firewalld's D-Bus API on the system bus (pkg/dbus). The system bus is
// $DBUS_SYSTEM_BUS_ADDRESS when set, else /var/run/dbus/system_bus_socket, as with godbus in the Go plugin.
import { DBusConnection, DBusError, type MethodCall } from "../../pkg/dbus/connection.ts";
import type { IPNet } from "../../pkg/ip/cidr.ts";
import { hostCIDR } from "./rules.ts";

export const FIREWALLD_NAME = "org.fedoraproject.FirewallD1";
export const FIREWALLD_PATH = "/org/fedoraproject/FirewallD1";
export const ZONE_INTERFACE = "org.fedoraproject.FirewallD1.zone";
const BUS_NAME = "org.freedesktop.DBus";
const BUS_PATH = "/org/freedesktop/DBus";
const ZONE_ALREADY_SET = "ZONE_ALREADY_SET";

/** Returns the bus call asking who owns a name (upstream's isFirewalldRunning). */
export function getNameOwnerCall(name: string): MethodCall {
  return { destination: BUS_NAME, path: BUS_PATH, interface: BUS_NAME, member: "GetNameOwner", signature: "s", body: [name] };
}

function zoneCall(member: string, signature: string, body: string[]): MethodCall {
  return { destination: FIREWALLD_NAME, path: FIREWALLD_PATH, interface: ZONE_INTERFACE, member, signature, body };
}

/** zone.addSource(s zone, s source) → s: binds the source to the zone (runtime configuration only). */
export const addSourceCall = (zone: string, source: string) => zoneCall("addSource", "ss", [zone, source]);
/** zone.removeSource(s zone, s source) → s. */
export const removeSourceCall = (zone: string, source: string) => zoneCall("removeSource", "ss", [zone, source]);
/** zone.querySource(s zone, s source) → b. */
export const querySourceCall = (zone: string, source: string) => zoneCall("querySource", "ss", [zone, source]);
/** zone.getZoneOfSource(s source) → s: the zone the source is bound to, "" for none. */
export const getZoneOfSourceCall = (source: string) => zoneCall("getZoneOfSource", "s", [source]);

/** Returns whether the firewalld name has an owner on the bus; any failure (no bus, no owner) is "no". */
export async function isFirewalldRunning(conn: DBusConnection | undefined): Promise<boolean> {
  if (!conn) return false;
  try {
    await conn.call(getNameOwnerCall(FIREWALLD_NAME));
    return true;
  } catch {
    return false;
  }
}

/** Returns the text Go's godbus prints for an error reply: its message, else its name (dbus.Error.Error). */
export function goDBusErrorText(e: unknown): string {
  if (e instanceof DBusError) return e.detail || e.errorName;
  return (e as Error).message;
}

/**
 * Binds every address to the zone, in order; returns the sources this call bound (not those already there), so a
 * failed ADD can unbind them. Throws upstream's error for the first refusal other than ZONE_ALREADY_SET, after
 * unbinding what it bound.
 */
export async function addSources(conn: DBusConnection, zone: string, ips: IPNet[]): Promise<string[]> {
  const bound: string[] = [];
  for (const n of ips) {
    const source = hostCIDR(n);
    try {
      await conn.call(addSourceCall(zone, source));
      bound.push(source);
    } catch (e) {
      const text = goDBusErrorText(e);
      if (text.includes(ZONE_ALREADY_SET)) continue; // upstream: already in this zone is fine
      await removeSources(conn, zone, bound);
      throw new Error(`failed to add the address ${source} to ${zone} zone: ${text}`, { cause: e }); // upstream text
    }
  }
  return bound;
}

/** Unbinds each source from the zone; errors (not bound, bound elsewhere) are ignored, as upstream does. */
export async function removeSources(conn: DBusConnection, zone: string, sources: string[]): Promise<void> {
  for (const source of sources) {
    try {
      await conn.call(removeSourceCall(zone, source));
    } catch {
      // upstream ignores every removeSource error
    }
  }
}

/**
 * Throws upstream's error for the first address that is not a source of the zone. Unlike upstream, a querySource
 * answer of false fails too (upstream only looks at whether the call itself failed).
 */
export async function checkSources(conn: DBusConnection, zone: string, ips: IPNet[]): Promise<void> {
  for (const n of ips) {
    const source = hostCIDR(n);
    let bound = false;
    try {
      bound = (await conn.callValue(querySourceCall(zone, source))) === true;
    } catch {
      bound = false;
    }
    if (!bound) throw new Error(`failed to find the address ${source} in ${zone} zone`); // upstream text
  }
}
