// pkg/dbus/connection.test.ts: the client against a scripted server on a throwaway unix socket (no root, no bus):
// what goes out first (credentials byte, AUTH EXTERNAL with our uid, BEGIN, Hello) and that a call needs no wait
// for Hello's reply; replies and errors matched by serial even when they arrive split or together; a refusal or a
// hang-up fails every pending call.
import { afterEach, expect, test } from "bun:test";
import { mkdtempSync, rmSync } from "node:fs";
import { golden, hex } from "../../test/support/golden.ts";
import { authUid, DBusConnectError, DBusConnection, DBusError } from "./connection.ts";
import { decodeMessage, encodeMessage, ERROR, messageLength, METHOD_RETURN, type Message } from "./message.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

type Peer = { write(b: Uint8Array): number; end(): void };

/** A server that hands each connection's bytes to `onData` together with everything received so far. */
function server(onData: (peer: Peer, all: Uint8Array) => void) {
  const dir = mkdtempSync("/tmp/dbus-conn-test-");
  dirs.push(dir);
  const path = `${dir}/bus`;
  let received = new Uint8Array(0);
  const listener = Bun.listen({
    unix: path,
    socket: {
      data(s, d) {
        const next = new Uint8Array(received.length + d.length);
        next.set(received);
        next.set(d, received.length);
        received = next;
        onData(s, received);
      },
    },
  });
  return { address: `unix:path=${path}`, received: () => received, stop: () => listener.stop(true) };
}

const PREFACE = new TextEncoder().encode(`\0AUTH EXTERNAL ${authUid(process.getuid!())}\r\nBEGIN\r\n`);

/** Returns the messages after the auth preface in what the client sent. */
function sentMessages(all: Uint8Array): Message[] {
  let rest = all.subarray(PREFACE.length);
  const out: Message[] = [];
  for (;;) {
    const n = messageLength(rest);
    if (n === undefined || rest.length < n) return out;
    out.push(decodeMessage(rest.subarray(0, n)));
    rest = rest.subarray(n);
  }
}

const reply = (serial: number, replySerial: number, signature: string, body: unknown[]) =>
  encodeMessage({ type: METHOD_RETURN, flags: 0, serial, replySerial, destination: ":1.7", sender: "org.freedesktop.DBus", signature, body });

test("the first bytes are the credentials byte, AUTH EXTERNAL <uid>, BEGIN and busctl's Hello; calls do not wait for it", async () => {
  let answered = false;
  const srv = server((peer, all) => {
    const msgs = sentMessages(all);
    if (answered || msgs.length < 2) return; // answer only once Hello and the call are both in: nothing waited
    answered = true;
    const ok = new TextEncoder().encode("OK 0123456789abcdef0123456789abcdef\r\n");
    const both = [...ok, ...reply(1, 1, "s", [":1.7"]), ...reply(2, 2, "s", [":1.3"])];
    peer.write(Uint8Array.from(both.slice(0, 50))); // split anywhere: the client must reassemble
    peer.write(Uint8Array.from(both.slice(50)));
  });
  const c = await DBusConnection.open(srv.address, { timeoutMs: 2000 });
  const owner = await c.callValue({
    destination: "org.freedesktop.DBus", path: "/org/freedesktop/DBus", interface: "org.freedesktop.DBus", member: "GetNameOwner",
    signature: "s", body: ["org.fedoraproject.FirewallD1"],
  });
  expect(owner).toBe(":1.3");
  expect(await c.ready()).toBe(":1.7");
  const all = srv.received();
  expect(hex(all.subarray(0, PREFACE.length))).toBe(hex(PREFACE));
  const helloLen = messageLength(all.subarray(PREFACE.length))!;
  expect(hex(all.subarray(PREFACE.length, PREFACE.length + helloLen))).toBe(golden("dbus-hello"));
  expect(hex(all.subarray(PREFACE.length + helloLen))).toBe(golden("dbus-get-name-owner-firewalld"));
  c.close();
  srv.stop();
});

test("an error reply rejects that call with its name and text; other calls are unaffected", async () => {
  const srv = server((peer, all) => {
    const msgs = sentMessages(all);
    if (msgs.length !== 3) return;
    const ok = new TextEncoder().encode("OK 0123456789abcdef0123456789abcdef\r\n");
    const err = encodeMessage({
      type: ERROR, flags: 0, serial: 3, replySerial: 2, errorName: "org.fedoraproject.FirewallD1.Exception", signature: "s",
      body: ["ZONE_ALREADY_SET: '10.1.1.2/32' already bound to 'trusted'"],
    });
    // Replies out of order: the third call's first.
    peer.write(Uint8Array.from([...ok, ...reply(1, 1, "s", [":1.7"]), ...reply(2, 3, "b", [true]), ...err]));
  });
  const c = await DBusConnection.open(srv.address, { timeoutMs: 2000 });
  const zone = { destination: "org.fedoraproject.FirewallD1", path: "/org/fedoraproject/FirewallD1", interface: "org.fedoraproject.FirewallD1.zone" };
  const a = c.call({ ...zone, member: "addSource", signature: "ss", body: ["trusted", "10.1.1.2/32"] });
  const q = c.callValue({ ...zone, member: "querySource", signature: "ss", body: ["trusted", "10.1.1.2/32"] });
  const e = await a.then(() => undefined, (x) => x);
  expect(e).toBeInstanceOf(DBusError);
  expect((e as DBusError).errorName).toBe("org.fedoraproject.FirewallD1.Exception");
  expect((e as DBusError).detail).toBe("ZONE_ALREADY_SET: '10.1.1.2/32' already bound to 'trusted'");
  expect(await q).toBe(true);
  c.close();
  srv.stop();
});

test("a refused authentication fails Hello and every call queued behind it", async () => {
  const srv = server((peer) => {
    peer.write(new TextEncoder().encode("REJECTED EXTERNAL\r\n"));
  });
  const c = await DBusConnection.open(srv.address, { timeoutMs: 2000 });
  const call = c.call({ destination: "x.y", path: "/", interface: "x.y", member: "Z" });
  await expect(call).rejects.toThrow('D-Bus refused authentication: "REJECTED EXTERNAL"');
  await expect(c.ready()).rejects.toBeInstanceOf(DBusConnectError);
  srv.stop();
});

test("a hang-up fails pending calls; no reply in time is a timeout; no socket is a connect error", async () => {
  const srv = server((peer) => peer.end());
  const c = await DBusConnection.open(srv.address, { timeoutMs: 2000 });
  await expect(c.call({ destination: "x.y", path: "/", interface: "x.y", member: "Z" })).rejects.toThrow("closed by the bus");
  srv.stop();

  const silent = server(() => {});
  const d = await DBusConnection.open(silent.address, { timeoutMs: 100 });
  await expect(d.call({ destination: "x.y", path: "/", interface: "x.y", member: "Z" })).rejects.toThrow("timed out waiting for x.y.Z");
  d.close();
  silent.stop();

  await expect(DBusConnection.open("unix:path=/nonexistent/bus", { timeoutMs: 500 })).rejects.toThrow(
    'failed to connect to D-Bus at "unix:path=/nonexistent/bus": /nonexistent/bus: Failed to connect (ENOENT)',
  );
});
