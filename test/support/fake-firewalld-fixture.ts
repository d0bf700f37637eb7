// test/support/fake-firewalld-fixture.ts: a stand-in for firewalld on a private bus, built on our own D-Bus client:
// it owns org.fedoraproject.FirewallD1 and answers the zone methods the firewall plugin calls (addSource,
// removeSource, querySource, getZoneOfSource) with firewalld's semantics and error texts (fw_zone.py:
// ZONE_ALREADY_SET, ZONE_CONFLICT, UNKNOWN_SOURCE, INVALID_ZONE, INVALID_ADDR as "<CODE>: <text>" in an
// org.fedoraproject.FirewallD1.Exception). After each call it rewrites `<state file>` (JSON: the sources per zone
// and every zone call in order), which the test reads back.
//
// Usage: bun fake-firewalld-fixture.ts <bus address> <state file> [--refuse=<source>]…
// (a refused source gets an INVALID_ADDR error from addSource, to make an ADD fail half way).
import { renameSync, writeFileSync } from "node:fs";
import { DBusConnection } from "../../pkg/dbus/connection.ts";
import { METHOD_CALL, type Message } from "../../pkg/dbus/message.ts";

const [address, stateFile, ...rest] = process.argv.slice(2);
if (!address || !stateFile) throw new Error("usage: fake-firewalld-fixture.ts <bus address> <state file> [--refuse=<source>]…");
const refused = new Set(rest.filter((a) => a.startsWith("--refuse=")).map((a) => a.slice("--refuse=".length)));

const NAME = "org.fedoraproject.FirewallD1";
const PATH = "/org/fedoraproject/FirewallD1";
const ZONE = "org.fedoraproject.FirewallD1.zone";
const EXCEPTION = "org.fedoraproject.FirewallD1.Exception";
const ZONES = ["block", "dmz", "drop", "external", "home", "internal", "public", "trusted", "work"];

/** source → zone, and the log of zone calls. */
const bound = new Map<string, string>();
const calls: { member: string; args: unknown[] }[] = [];

function save(): void {
  const sources: Record<string, string[]> = {};
  for (const [src, zone] of bound) (sources[zone] ??= []).push(src);
  writeFileSync(`${stateFile}.tmp`, JSON.stringify({ sources, calls }));
  renameSync(`${stateFile}.tmp`, stateFile);
}

class FirewallError extends Error {}
const fail = (code: string, text: string) => new FirewallError(`${code}: ${text}`);

function checkZone(zone: string): string {
  if (!ZONES.includes(zone)) throw fail("INVALID_ZONE", zone);
  return zone;
}

function checkSource(source: string): void {
  if (!/^[0-9.]+\/[0-9]+$/.test(source) && !/^[0-9a-fA-F:]+\/[0-9]+$/.test(source)) throw fail("INVALID_ADDR", source);
}

const handlers: Record<string, (args: string[]) => [string, unknown]> = {
  addSource([zone, source]) {
    const z = checkZone(zone!);
    checkSource(source!);
    if (refused.has(source!)) throw fail("INVALID_ADDR", `${source} (refused by the test)`);
    if (bound.get(source!) === z) throw fail("ZONE_ALREADY_SET", `'${source}' already bound to '${z}'`);
    if (bound.has(source!)) throw fail("ZONE_CONFLICT", `'${source}' already bound to a zone`);
    bound.set(source!, z);
    return ["s", z];
  },
  removeSource([zone, source]) {
    const zos = bound.get(source!);
    if (zos === undefined) throw fail("UNKNOWN_SOURCE", `'${source}' is not in any zone`);
    const z = zone === "" ? zos : checkZone(zone!);
    if (zos !== z) throw fail("ZONE_CONFLICT", `remove_source(${zone}, ${source}): zos='${zos}'`);
    bound.delete(source!);
    return ["s", z];
  },
  querySource([zone, source]) {
    const z = checkZone(zone!);
    checkSource(source!);
    return ["b", bound.get(source!) === z];
  },
  getZoneOfSource([source]) {
    return ["s", bound.get(source!) ?? ""];
  },
};

const SIGNATURES: Record<string, string> = { addSource: "ss", removeSource: "ss", querySource: "ss", getZoneOfSource: "s" };

const conn = await DBusConnection.open(address);
await conn.ready();
conn.onMessage = (m: Message) => {
  if (m.type !== METHOD_CALL) return;
  const handler = m.interface === ZONE && m.path === PATH ? handlers[m.member ?? ""] : undefined;
  if (!handler || (m.signature ?? "") !== SIGNATURES[m.member!]) {
    conn.replyError(m, "org.freedesktop.DBus.Error.UnknownMethod", `no method ${m.interface}.${m.member}(${m.signature ?? ""}) at ${m.path}`);
    return;
  }
  calls.push({ member: m.member!, args: m.body });
  let answer: [string, unknown] | FirewallError;
  try {
    answer = handler(m.body as string[]);
  } catch (e) {
    if (!(e instanceof FirewallError)) throw e;
    answer = e;
  }
  // The state file is written before the reply leaves: whoever got the reply reads the state it caused.
  save();
  if (answer instanceof FirewallError) conn.replyError(m, EXCEPTION, answer.message);
  else conn.reply(m, answer[0], [answer[1]]);
};
// DBUS_NAME_FLAG_DO_NOT_QUEUE (4): reply 1 means we are the primary owner.
const owner = await conn.callValue({
  destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "RequestName",
  signature: "su", body: [NAME, 4],
});
if (owner !== 1) throw new Error(`fake firewalld: RequestName(${NAME}) answered ${owner}, want 1 (primary owner)`);
save(); // the state file appearing says: ready
