// pkg/dbus/address.ts: D-Bus server addresses (D-Bus specification, "Server Addresses"): `transport:key=value,…`,
// several separated by `;`, values percent-escaped. Only the unix transport (path= or abstract=) is spoken here,
// which is what every system bus listens on.

/** One unix socket to try: a filesystem path or a Linux abstract name. */
export interface UnixTarget {
  path?: string;
  abstract?: string;
}

// godbus's default (conn_other.go), which the Go firewall plugin connects to when the variable is unset.
export const DEFAULT_SYSTEM_BUS_ADDRESS = "unix:path=/var/run/dbus/system_bus_socket";

/** Returns the system bus address: $DBUS_SYSTEM_BUS_ADDRESS when set and non-empty, else the default socket. */
export function systemBusAddress(env: Record<string, string | undefined> = process.env): string {
  return env.DBUS_SYSTEM_BUS_ADDRESS || DEFAULT_SYSTEM_BUS_ADDRESS;
}

/**
 * Returns the unix sockets an address names, in order. Entries of other transports are skipped; throws when a
 * unix entry has neither path= nor abstract= (or both), or an escape is malformed.
 */
export function parseBusAddress(address: string): UnixTarget[] {
  const out: UnixTarget[] = [];
  for (const entry of address.split(";")) {
    if (entry === "") continue;
    const colon = entry.indexOf(":");
    if (colon < 0) throw new Error(`bad D-Bus address ${JSON.stringify(entry)}: no transport`);
    if (entry.slice(0, colon) !== "unix") continue;
    const kv = new Map<string, string>();
    for (const pair of entry.slice(colon + 1).split(",")) {
      if (pair === "") continue;
      const eq = pair.indexOf("=");
      if (eq < 0) throw new Error(`bad D-Bus address ${JSON.stringify(entry)}: ${JSON.stringify(pair)} has no "="`);
      kv.set(pair.slice(0, eq), unescapeValue(pair.slice(eq + 1)));
    }
    const path = kv.get("path");
    const abstract = kv.get("abstract");
    if ((path === undefined) === (abstract === undefined)) {
      throw new Error(`bad D-Bus address ${JSON.stringify(entry)}: want exactly one of path= and abstract=`);
    }
    out.push(path !== undefined ? { path } : { abstract });
  }
  return out;
}

function unescapeValue(v: string): string {
  return v.replace(/%(..)?/g, (m, hex: string | undefined) => {
    if (hex === undefined || !/^[0-9a-fA-F]{2}$/.test(hex)) throw new Error(`bad D-Bus address escape ${JSON.stringify(m)}`);
    return String.fromCharCode(parseInt(hex, 16));
  });
}
