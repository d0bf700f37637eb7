// ipam/dhcp/http-server.ts: the daemon's side of rpc.ts: a minimal HTTP/1.1 server on a node:net server (which,
// unlike Bun.serve, can take the listening socket systemd passes as fd 3). One request per connection, a JSON body
// with Content-Length, a JSON answer, then close. Nothing else speaks to this socket.
import type { Server, Socket } from "node:net";

const MAX_REQUEST_BYTES = 4 << 20; // a config with a prevResult is a few KB; refuse anything absurd

/** What a handler returns: the HTTP status and the JSON body. */
export interface Reply {
  status: number;
  body: unknown;
  /** The status line's reason phrase, when not the usual one (Go's RPC client shows only the status line). */
  reason?: string;
}

export type Handler = (method: string, path: string, body: unknown) => Promise<Reply>;

const REASONS: Record<number, string> = { 200: "OK", 400: "Bad Request", 404: "Not Found", 413: "Payload Too Large", 500: "Internal Server Error" };

/** Answers every connection the server accepts with `handler`. */
export function serveHttp(server: Server, handler: Handler): void {
  server.on("connection", (conn: Socket) => {
    let buf = Buffer.alloc(0);
    let handled = false;
    conn.on("error", () => conn.destroy());
    conn.on("data", (d: Buffer) => {
      if (handled) return;
      buf = Buffer.concat([buf, d]);
      if (buf.length > MAX_REQUEST_BYTES) {
        handled = true;
        respond(conn, { status: 413, body: { error: "request too large" } });
        return;
      }
      const req = parseRequest(buf);
      if (req === undefined) return; // wait for more
      handled = true;
      if (typeof req === "string") {
        respond(conn, { status: 400, body: { error: req } });
        return;
      }
      if (req.method === "CONNECT") {
        // Upstream's Go plugin (net/rpc over HTTP) dialing this daemon: it prints our status line, so say it there.
        respond(conn, { status: 400, reason: GO_RPC_REFUSAL, body: { error: GO_RPC_REFUSAL } });
        return;
      }
      handler(req.method, req.path, req.body).then(
        (reply) => respond(conn, reply),
        (e) => respond(conn, { status: 500, body: { error: (e as Error).message } }),
      );
    });
  });
}

export const GO_RPC_REFUSAL = "this dhcp daemon speaks JSON over HTTP, not Go RPC: use the dhcp plugin of its own release";

function respond(conn: Socket, reply: Reply): void {
  if (conn.destroyed) return; // the plugin gave up (its runtime timed out); nothing to tell
  const body = JSON.stringify(reply.body ?? {});
  conn.end(`HTTP/1.1 ${reply.status} ${reply.reason ?? REASONS[reply.status] ?? "Status"}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}

/** Returns the request in buf, undefined when more bytes are needed, or why it is not a request we take. */
export function parseRequest(buf: Buffer): { method: string; path: string; body: unknown } | string | undefined {
  // Go's RPC client ends its CONNECT with a bare "\n\n"; take either line ending.
  const crlf = buf.indexOf("\r\n\r\n");
  const lf = buf.indexOf("\n\n");
  const [end, sep] = crlf >= 0 && (lf < 0 || crlf < lf) ? [crlf, 4] : [lf, 2];
  if (end < 0) return undefined;
  const lines = buf.subarray(0, end).toString("latin1").split(/\r?\n/);
  const m = /^([A-Z]+) (\S+) HTTP\/1\.[01]$/.exec(lines[0] ?? "");
  if (!m) return `bad request line ${JSON.stringify(lines[0])}`;
  let length = 0;
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(":");
    if (colon > 0 && line.slice(0, colon).trim().toLowerCase() === "content-length") length = Number(line.slice(colon + 1).trim());
  }
  if (!Number.isSafeInteger(length) || length < 0) return "bad Content-Length";
  if (buf.length < end + sep + length) return undefined;
  const text = buf.subarray(end + sep, end + sep + length).toString("utf8");
  if (text === "") return { method: m[1]!, path: m[2]!, body: undefined };
  try {
    return { method: m[1]!, path: m[2]!, body: JSON.parse(text) };
  } catch (e) {
    return `body is not JSON: ${(e as Error).message}`;
  }
}
