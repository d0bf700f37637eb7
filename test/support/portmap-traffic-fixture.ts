// test/support/portmap-traffic-fixture.ts: the small servers and clients the portmap tests run inside throwaway
// namespaces (`ip netns exec <ns> bun portmap-traffic-fixture.ts …`), so real TCP and UDP cross the mapped ports.
// Every mode ends by itself: servers after `lifeMs`, clients after 3 s without an answer.
//   serve <tag> <tcpPort> <udpPort> <lifeMs>   echo "<tag> <peer address>" to every TCP connection and UDP datagram
//   tcp <host> <port>                          print the first line the server sends back, exit 0 (exit 2: no answer)
//   udp <host> <port> [srcPort]                the same over UDP (from srcPort when given)
//   send-udp <host> <port> <srcPort>           one datagram, no answer awaited (to leave a conntrack entry)
const [mode, ...rest] = process.argv.slice(2);
const CLIENT_TIMEOUT_MS = 3000;

function peer(addr: string): string {
  return addr.startsWith("::ffff:") ? addr.slice(7) : addr;
}

if (mode === "serve") {
  const [tag, tcpPort, udpPort, lifeMs] = rest;
  Bun.listen({
    hostname: "::",
    port: Number(tcpPort),
    socket: {
      open(s) {
        s.write(`${tag} ${peer(s.remoteAddress)}\n`);
        s.end();
      },
      data() {},
    },
  });
  const udp = await Bun.udpSocket({
    hostname: "::",
    port: Number(udpPort),
    socket: {
      data(sock, _buf, port, addr) {
        sock.send(`${tag} ${peer(addr)}\n`, port, addr);
      },
    },
  });
  void udp;
  console.log("ready");
  setTimeout(() => process.exit(0), Number(lifeMs));
} else if (mode === "tcp") {
  const [host, port] = rest;
  const timer = setTimeout(() => process.exit(2), CLIENT_TIMEOUT_MS);
  let got = "";
  await Bun.connect({
    hostname: host!,
    port: Number(port),
    socket: {
      data(_s, d) {
        got += d.toString();
        if (got.includes("\n")) {
          console.log(got.trim());
          clearTimeout(timer);
          process.exit(0);
        }
      },
      connectError() {
        process.exit(3);
      },
    },
  }).catch(() => process.exit(3));
} else if (mode === "udp" || mode === "send-udp") {
  const [host, port, srcPort] = rest;
  const sock = await Bun.udpSocket({
    hostname: host!.includes(":") ? "::" : "0.0.0.0",
    port: srcPort ? Number(srcPort) : 0,
    socket: {
      data(_s, buf) {
        console.log(buf.toString().trim());
        process.exit(0);
      },
    },
  });
  sock.send("ping\n", Number(port), host!);
  if (mode === "send-udp") setTimeout(() => process.exit(0), 50);
  else {
    // A datagram can be dropped while a neighbour is resolved: ask again until the deadline.
    const again = setInterval(() => sock.send("ping\n", Number(port), host!), 400);
    setTimeout(() => { clearInterval(again); process.exit(2); }, CLIENT_TIMEOUT_MS);
  }
} else {
  console.error(`unknown mode ${mode}`);
  process.exit(64);
}

export {}; // a module, so top-level await is allowed
