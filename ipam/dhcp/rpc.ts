// ipam/dhcp/rpc.ts: how the dhcp plugin talks to `dhcp daemon`: JSON over HTTP/1.1 on the daemon's unix socket, one
// request per connection. Upstream speaks Go net/rpc with gob here; both halves of ours ship in one binary, so they
// always match (DESIGN decision 7). The methods keep upstream's names: POST /DHCP.Allocate, /DHCP.Release,
// /DHCP.GC, and GET /DHCP.Status. A failed call answers 500 with {"error": "<text>"}.

/** The call's arguments: upstream's skel.CmdArgs (stdin as base64, as Go marshals []byte), plus the verb. */
export interface CallArgs {
  command: string;
  containerID: string;
  netns: string;
  ifName: string;
  args: string;
  path: string;
  netnsOverride: string;
  stdinData: string;
}

/** A connection or protocol failure: the daemon was not reached, or did not answer as ours does. */
export class DialError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "DialError";
  }
}

// Go prints syscall errors with these texts (syscall.Errno.Error); the rest fall back to the code.
const ERRNO_TEXT: Record<string, string> = {
  ENOENT: "no such file or directory",
  ECONNREFUSED: "connection refused",
  EACCES: "permission denied",
  ENOTDIR: "not a directory",
  ENOTSOCK: "socket operation on non-socket",
  EPROTOTYPE: "protocol wrong type for socket",
  ECONNRESET: "connection reset by peer",
  EPIPE: "broken pipe",
  ENAMETOOLONG: "file name too long",
};

/**
 * Returns the status and JSON body of one HTTP request to the daemon's socket. Throws DialError
 * `dial unix <path>: connect: <why>` (Go's net.Dial text) when the socket does not answer, or a DialError naming
 * what went wrong when the reply is not HTTP with a JSON body.
 */
export async function callDaemon(socketPath: string, method: "GET" | "POST", name: string, body?: unknown): Promise<{ status: number; json: any }> {
  const payload = body === undefined ? "" : JSON.stringify(body);
  const request = `${method} /${name} HTTP/1.1\r\nHost: dhcp\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(payload)}\r\nConnection: close\r\n\r\n${payload}`;
  const chunks: Uint8Array[] = [];
  let finish!: () => void;
  let fail!: (e: Error) => void;
  const done = new Promise<void>((resolve, reject) => {
    finish = resolve;
    fail = reject;
  });
  done.catch(() => {}); // a failed connect may report both through connectError and by rejecting Bun.connect
  try {
    await Bun.connect({
      unix: socketPath,
      socket: {
        open(s) {
          s.write(request);
        },
        data(_s, d) {
          chunks.push(new Uint8Array(d));
        },
        close() {
          finish();
        },
        end(s) {
          s.end();
        },
        error(_s, e) {
          fail(new DialError(`read unix ${socketPath}: ${goErrno(e)}`));
        },
        connectError(_s, e) {
          fail(new DialError(`dial unix ${socketPath}: connect: ${goErrno(e)}`));
        },
      },
    });
  } catch (e) {
    throw new DialError(`dial unix ${socketPath}: connect: ${goErrno(e as Error)}`);
  }
  await done;
  return parseResponse(Buffer.concat(chunks).toString("utf8"), socketPath);
}

function goErrno(e: Error): string {
  const code = (e as NodeJS.ErrnoException).code ?? "";
  return ERRNO_TEXT[code] ?? (code || e.message);
}

/** Returns the status and JSON body of an HTTP/1.x response; throws DialError when it is not one. */
export function parseResponse(text: string, socketPath: string): { status: number; json: any } {
  const head = text.indexOf("\r\n\r\n");
  const m = /^HTTP\/1\.[01] (\d{3})/.exec(text);
  if (head < 0 || !m) throw new DialError(`unexpected reply from ${socketPath}: ${JSON.stringify(text.slice(0, 80))} (is it a cni dhcp daemon of this release?)`);
  const body = text.slice(head + 4);
  try {
    return { status: Number(m[1]), json: body === "" ? undefined : JSON.parse(body) };
  } catch {
    // Upstream's Go daemon answers 404 (or 405 "must CONNECT" on its RPC path): plugin and daemon are of different releases.
    throw new DialError(`the daemon on ${socketPath} does not speak this plugin's protocol (it answered ${JSON.stringify(text.split("\r\n", 1)[0]!.slice(0, 80))}); run "dhcp daemon" from the same release as the plugin`);
  }
}
