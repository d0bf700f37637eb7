// test/support/bandwidth-transfer-fixture.ts: one end of a bounded TCP transfer, run inside a netns (`ip netns exec`)
// by the bandwidth tests to measure the shaping. Whole process lives in one netns, so async I/O is fine here.
//   recv <ip> <bytes> <deadlineMs>        listens on <ip>:0, prints {"port":N}, then {"bytes":B,"ms":T} once B bytes
//                                         arrived (T: first byte to last byte), or {"error":...} at the deadline
//   send <ip> <port> <bytes> <deadlineMs> connects and writes <bytes> zero bytes, then closes
export {};

const [mode, ...rest] = process.argv.slice(2);
const CHUNK = new Uint8Array(64 * 1024);

function finish(o: object, code = 0): never {
  console.log(JSON.stringify(o));
  process.exit(code);
}

if (mode === "recv") {
  const [ip, total, deadline] = [rest[0]!, Number(rest[1]), Number(rest[2])];
  let got = 0;
  let first = 0;
  setTimeout(() => finish({ error: `timed out after ${deadline} ms with ${got} of ${total} bytes` }, 1), deadline);
  const server = Bun.listen({
    hostname: ip,
    port: 0,
    socket: {
      data(_s, d) {
        if (got === 0) first = performance.now();
        got += d.length;
        if (got >= total) finish({ bytes: got, ms: performance.now() - first });
      },
    },
  });
  console.log(JSON.stringify({ port: server.port }));
} else if (mode === "send") {
  const [ip, port, total, deadline] = [rest[0]!, Number(rest[1]), Number(rest[2]), Number(rest[3])];
  setTimeout(() => finish({ error: `timed out after ${deadline} ms` }, 1), deadline);
  let sent = 0;
  const pump = (s: { write(b: Uint8Array): number; end(): void }) => {
    while (sent < total) {
      const n = s.write(CHUNK.subarray(0, Math.min(CHUNK.length, total - sent)));
      sent += n;
      if (n === 0) return; // the kernel's buffer is full: drain() calls back
    }
    s.end();
  };
  await Bun.connect({
    hostname: ip,
    port,
    socket: {
      open: pump,
      drain: pump,
      close() {
        finish({ sent }, sent >= total ? 0 : 1);
      },
      error(_s, e) {
        finish({ error: String(e) }, 1);
      },
    },
  });
} else {
  finish({ error: `unknown mode ${JSON.stringify(mode)}` }, 2);
}
