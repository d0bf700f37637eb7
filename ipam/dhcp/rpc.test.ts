// ipam/dhcp/rpc.test.ts: both ends of the plugin-daemon protocol over a real unix socket (no root): the daemon's
// HTTP parser and replies, the plugin's client and its Go-worded dial errors.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { parseRequest, serveHttp } from "./http-server.ts";
import { callDaemon, DialError, parseResponse } from "./rpc.ts";
import { generateClientID } from "./daemon.ts";

const dir = mkdtempSync("/tmp/dhcp-rpc-test-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

test("request parsing waits for the whole body and refuses what is not ours", () => {
  expect(parseRequest(Buffer.from("POST /DHCP.Allocate HTTP/1.1\r\nContent-Length: 7\r\n\r\n{\"a\":"))).toBeUndefined();
  expect(parseRequest(Buffer.from("POST /DHCP.Allocate HTTP/1.1\r\ncontent-length: 7\r\n\r\n{\"a\":1}"))).toEqual({ method: "POST", path: "/DHCP.Allocate", body: { a: 1 } });
  expect(parseRequest(Buffer.from("GET /DHCP.Status HTTP/1.0\r\n\r\n"))).toEqual({ method: "GET", path: "/DHCP.Status", body: undefined });
  // Go's RPC client ends its CONNECT with bare newlines; it is parsed (and then refused by the server).
  expect(parseRequest(Buffer.from("CONNECT /_goRPC_ HTTP/1.0\n\n"))).toEqual({ method: "CONNECT", path: "/_goRPC_", body: undefined });
  expect(parseRequest(Buffer.from("CONNECT /_goRPC_ HTTP/1.0\n"))).toBeUndefined();
  expect(parseRequest(Buffer.from("hello\r\n\r\n"))).toBe('bad request line "hello"');
  expect(parseResponse("HTTP/1.1 500 x\r\n\r\n{\"error\":\"e\"}", "/s")).toEqual({ status: 500, json: { error: "e" } });
  expect(() => parseResponse("HTTP/1.0 200 Connected to Go RPC\n\n", "/s")).toThrow("unexpected reply from /s");
  expect(() => parseResponse("HTTP/1.1 405 Method Not Allowed\r\nContent-Type: text/plain\r\n\r\n405 must CONNECT\n", "/s")).toThrow(
    'the daemon on /s does not speak this plugin\'s protocol (it answered "HTTP/1.1 405 Method Not Allowed"); run "dhcp daemon" from the same release as the plugin',
  );
});

test("a call round-trips through the server; dial failures read as Go's net.Dial errors", async () => {
  const path = `${dir}/d.sock`;
  const server = createServer();
  serveHttp(server, async (method, p, body) => (p === "/boom" ? Promise.reject(new Error("kaput")) : { status: 200, body: { method, p, body } }));
  await new Promise<void>((r) => server.listen(path, r));
  try {
    expect(await callDaemon(path, "POST", "DHCP.Allocate", { x: "é" })).toEqual({ status: 200, json: { method: "POST", p: "/DHCP.Allocate", body: { x: "é" } } });
    expect(await callDaemon(path, "POST", "boom", {})).toEqual({ status: 500, json: { error: "kaput" } });
  } finally {
    server.close();
  }
  const dialErr = async (p: string) => {
    try {
      await callDaemon(p, "GET", "DHCP.Status");
    } catch (e) {
      return [e instanceof DialError, (e as Error).message];
    }
    return undefined;
  };
  expect(await dialErr(`${dir}/missing.sock`)).toEqual([true, `dial unix ${dir}/missing.sock: connect: no such file or directory`]);
  writeFileSync(`${dir}/plain`, "");
  expect(await dialErr(`${dir}/plain`)).toEqual([true, `dial unix ${dir}/plain: connect: connection refused`]);
});

test("client id: <containerID>/<network>/<ifname>, cut to 254 bytes", () => {
  expect(generateClientID("c1", "net", "eth0")).toBe("c1/net/eth0");
  expect(generateClientID("c".repeat(300), "net", "eth0")).toBe("c".repeat(254));
});
