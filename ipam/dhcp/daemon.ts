// ipam/dhcp/daemon.ts: `dhcp daemon`, the one long-running program (DESIGN decision 7). It serves the plugin on a
// unix socket (`-socketpath`, default /run/cni/dhcp.sock, or the one socket systemd passes with LISTEN_FDS), takes
// leases for containers and keeps them alive (lease.ts), and keeps them on disk (store.ts) so a restarted daemon
// resumes renewing them. SIGTERM/SIGINT close the socket and remove it and the pidfile; leases stay on disk and are
// not released (a restart must not cost pods their addresses). Everything runs on the one JS thread: netns work is
// synchronous (withNetns), waiting for servers is polling with timers.
import { existsSync, mkdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createServer, type Server } from "node:net";
import { dirname, isAbsolute } from "node:path";
import { loadValidAttachments } from "../../pkg/cni/valid-attachments.ts";
import { StoppedError } from "./client.ts";
import { DEFAULT_SOCKET_PATH, loadConf } from "./config.ts";
import { DEFAULT_LEASE_DIR, FlagError, parseFlags, usage, type DaemonFlags } from "./flags.ts";
import { serveHttp, type Reply } from "./http-server.ts";
import { Lease, type LeaseContext } from "./lease.ts";
import { leaseResult } from "./lease-result.ts";
import { prepareOptions } from "./options.ts";
import type { CallArgs } from "./rpc.ts";
import { LeaseStore } from "./store.ts";

const LISTEN_FDS_START = 3;

/** Returns upstream's client id `<containerID>/<network>/<ifname>`, cut to 254 bytes (option 61's length limit). */
export function generateClientID(containerID: string, network: string, ifName: string): string {
  const id = new TextEncoder().encode(`${containerID}/${network}/${ifName}`);
  return id.length > 254 ? new TextDecoder().decode(id.subarray(0, 254)) : `${containerID}/${network}/${ifName}`;
}

/** The daemon's leases: held ones, and acquisitions under way (so a second ADD or a DEL finds them). */
class Leases {
  readonly held = new Map<string, Lease>();
  readonly pending = new Map<string, { promise: Promise<Lease>; stop: AbortController }>();
  readonly ctx: LeaseContext;

  constructor(private readonly flags: DaemonFlags, readonly store: LeaseStore) {
    this.ctx = {
      timing: { timeoutMs: flags.timeoutMs, resendMaxMs: flags.resendMaxMs, resendTimeoutMs: flags.resendTimeoutMs },
      broadcast: flags.broadcast,
      store,
      forget: (lease) => {
        if (this.held.get(lease.clientID) === lease) this.held.delete(lease.clientID);
        store.remove(lease.clientID);
      },
    };
  }

  /** Reads the store and resumes every lease whose netns and link are still there; drops the others. */
  resume(): void {
    for (const record of this.store.loadAll((file, why) => console.error(`dropping unreadable lease file ${file}: ${why}`))) {
      const lease = Lease.resume(record, this.ctx);
      if (lease.expired && lease.isGone()) {
        this.store.remove(record.clientID); // expired, and its pod is gone too: nothing left to answer for
        continue;
      }
      this.held.set(record.clientID, lease);
      console.error(`${record.clientID}: resuming lease, expiration is ${new Date(record.expireAt).toISOString()}${record.expired ? " (expired)" : ""}`);
      // The first maintenance step checks the link and forgets the lease when it is gone.
      lease.start();
    }
  }

  /** DHCP.Allocate: returns the 1.1.0 result of the client's lease, taking one when it has none. */
  async allocate(a: CallArgs): Promise<unknown> {
    const stdin = Buffer.from(a.stdinData ?? "", "base64");
    const conf = loadConf(stdin, "error parsing netconf"); // upstream text
    const extra = prepareOptions(a.args ?? "", conf.provide, conf.request);
    const clientID = generateClientID(a.containerID, conf.name, a.ifName);
    let lease = this.held.get(clientID);
    if (lease?.expired) {
      if (a.command === "CHECK") {
        throw new Error(`the DHCP lease of ${clientID} expired at ${new Date(lease.record.expireAt).toISOString()} and ${lease.record.ifName} was set down`);
      }
      // A new ADD for an expired lease starts over.
      this.held.delete(clientID);
      this.store.remove(clientID);
      lease = undefined;
    }
    if (lease) {
      lease.poke(); // upstream: l.Check()
    } else {
      lease = await this.acquireOnce(clientID, a, conf.name, extra);
    }
    try {
      return leaseResult(lease.record.ack, conf.priority);
    } catch (e) {
      // upstream: an ACK without a subnet mask gives no result; the lease is released.
      this.held.delete(clientID);
      this.store.remove(clientID);
      await lease.stop(true);
      throw e;
    }
  }

  private acquireOnce(clientID: string, a: CallArgs, network: string, extra: ReturnType<typeof prepareOptions>): Promise<Lease> {
    const running = this.pending.get(clientID);
    if (running) return running.promise;
    const stop = new AbortController();
    const base = { clientID, containerID: a.containerID, network, ifName: a.ifName, netns: this.flags.hostprefix + a.netns, extra };
    const promise = Lease.acquire(base, this.ctx, stop.signal).then(async (lease) => {
      if (stop.signal.aborted) {
        // A DEL (or shutdown) came while the last reply was on its way: that DEL has answered already, so undo here.
        this.store.remove(clientID);
        await lease.stop(true);
        throw new StoppedError();
      }
      this.held.set(clientID, lease);
      lease.start();
      return lease;
    }).catch((e) => {
      if (e instanceof StoppedError) throw new Error(`the lease of ${clientID} was released while it was being acquired`);
      throw e;
    }).finally(() => this.pending.delete(clientID));
    this.pending.set(clientID, { promise, stop });
    return promise;
  }

  /** DHCP.Release: ends the client's lease with a DHCPRELEASE; an unknown one is fine. */
  async release(a: CallArgs): Promise<void> {
    const stdin = Buffer.from(a.stdinData ?? "", "base64");
    const conf = loadConf(stdin, "error parsing netconf"); // upstream text
    await this.releaseID(generateClientID(a.containerID, conf.name, a.ifName));
  }

  private async releaseID(clientID: string): Promise<void> {
    this.pending.get(clientID)?.stop.abort();
    const lease = this.held.get(clientID);
    if (!lease) return;
    this.held.delete(clientID);
    await lease.stop(true);
    this.store.remove(clientID);
  }

  /** DHCP.GC (ours): releases the leases of the config's network whose attachment is not in the valid list. */
  async gc(a: CallArgs): Promise<{ released: string[] }> {
    const stdin = Buffer.from(a.stdinData ?? "", "base64");
    const conf = loadConf(stdin, "error parsing netconf");
    const valid = loadValidAttachments(stdin);
    // Without the list a runtime has told us nothing; releasing everything then would be a disaster.
    if (!valid) return { released: [] };
    const keep = new Set(valid.map((v) => generateClientID(v.containerID, conf.name, v.ifname)));
    const released: string[] = [];
    for (const lease of [...this.held.values()]) {
      if (lease.record.network !== conf.name || keep.has(lease.clientID)) continue;
      await this.releaseID(lease.clientID);
      released.push(lease.clientID);
    }
    return { released };
  }

  /** Ends every maintenance loop and acquisition without releasing anything (the records stay on disk). */
  async shutdown(): Promise<void> {
    for (const p of this.pending.values()) p.stop.abort();
    await Promise.all([...this.held.values()].map((l) => l.stop(false)));
  }
}

/** Returns the daemon's HTTP handler over the lease table. */
function handler(leases: Leases): (method: string, path: string, body: unknown) => Promise<Reply> {
  return async (method, path, body) => {
    const call = body as CallArgs;
    const fail = (name: string, e: unknown): Reply => ({ status: 500, body: { error: `error calling ${name}: ${(e as Error).message}` } });
    switch (`${method} ${path}`) {
      case "GET /DHCP.Status":
        return { status: 200, body: { leases: leases.held.size, pending: leases.pending.size } };
      case "POST /DHCP.Allocate":
        try {
          return { status: 200, body: await leases.allocate(call) };
        } catch (e) {
          return fail("DHCP.Allocate", e);
        }
      case "POST /DHCP.Release":
        try {
          await leases.release(call);
          return { status: 200, body: {} };
        } catch (e) {
          return fail("DHCP.Release", e);
        }
      case "POST /DHCP.GC":
        try {
          return { status: 200, body: await leases.gc(call) };
        } catch (e) {
          return fail("DHCP.GC", e);
        }
      default:
        return { status: 404, body: { error: `no method ${method} ${path}` } };
    }
  };
}

/** Returns the fd systemd passed (LISTEN_FDS=1 for this pid), undefined when none; throws upstream's texts. */
function activationFd(env: Record<string, string | undefined>): number | undefined {
  // go-systemd activation.Files: the variables are for us only when LISTEN_PID is our pid; they are then unset.
  if (env.LISTEN_PID === undefined || Number(env.LISTEN_PID) !== process.pid) return undefined;
  const n = Number(env.LISTEN_FDS ?? "0");
  delete process.env.LISTEN_PID;
  delete process.env.LISTEN_FDS;
  delete process.env.LISTEN_FDNAMES;
  if (!Number.isInteger(n) || n <= 0) return undefined;
  if (n > 1) throw new Error(`Too many (${n}) FDs passed through socket activation`); // upstream text
  return LISTEN_FDS_START;
}

/** Returns a server listening on `path` (or the passed fd): a stale socket file from a crash is replaced. */
async function listen(path: string, fd: number | undefined): Promise<Server> {
  const server = createServer({ allowHalfOpen: false });
  if (fd === undefined) {
    mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
    if (existsSync(path)) {
      if (await isLive(path)) throw new Error(`listen unix ${path}: bind: address already in use (another dhcp daemon is serving it)`);
      rmSync(path, { force: true }); // left by a daemon that did not exit cleanly
    }
  }
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    const done = () => {
      server.off("error", reject);
      resolve();
    };
    if (fd === undefined) server.listen(path, done);
    else server.listen({ fd }, done);
  });
  return server;
}

/** Returns whether something accepts connections on the unix socket at path. */
async function isLive(path: string): Promise<boolean> {
  try {
    const s = await Bun.connect({ unix: path, socket: { data() {} } });
    s.end();
    return true;
  } catch {
    return false;
  }
}

/** Runs `dhcp daemon <argv…>` until SIGTERM/SIGINT; returns the exit status (1 on a startup error, 2 on bad flags). */
export async function runDaemon(argv: string[]): Promise<number> {
  let flags: DaemonFlags;
  try {
    flags = parseFlags(argv);
  } catch (e) {
    if (!(e instanceof FlagError)) throw e;
    if (e.message) console.error(e.message);
    console.error(usage());
    return e.exit;
  }
  const socketPath = flags.hostprefix + (flags.socketpath || DEFAULT_SOCKET_PATH);
  const leaseDir = flags.hostprefix + (flags.leasedir || DEFAULT_LEASE_DIR);

  if (flags.pidfile !== "") {
    if (!isAbsolute(flags.pidfile)) {
      console.error(`Error writing pidfile ${JSON.stringify(flags.pidfile)}: path not absolute`); // upstream text
      return 1;
    }
    try {
      writeFileSync(flags.pidfile, String(process.pid), { mode: 0o644 });
    } catch (e) {
      console.error(`Error writing pidfile ${JSON.stringify(flags.pidfile)}: ${(e as Error).message}`); // upstream text
      return 1;
    }
  }
  const removePidfile = () => {
    if (flags.pidfile !== "") rmSync(flags.pidfile, { force: true });
  };

  let server: Server;
  let activated: number | undefined;
  try {
    activated = activationFd(process.env);
    server = await listen(socketPath, activated);
  } catch (e) {
    console.error(`Error getting listener: ${(e as Error).message}`); // upstream text
    removePidfile();
    return 1;
  }

  const leases = new Leases(flags, new LeaseStore(leaseDir));
  try {
    if (existsSync(leaseDir) && !statSync(leaseDir).isDirectory()) throw new Error(`${leaseDir} is not a directory`);
    leases.resume();
  } catch (e) {
    console.error(`Error reading leases: ${(e as Error).message}`);
    server.close();
    if (activated === undefined) rmSync(socketPath, { force: true });
    removePidfile();
    return 1;
  }
  serveHttp(server, handler(leases));
  console.error(`dhcp daemon listening on ${activated === undefined ? socketPath : `fd ${activated} (socket activation)`}, leases in ${leaseDir}`);

  return await new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      console.error(`dhcp daemon: ${signal}, shutting down (leases are kept in ${leaseDir})`);
      server.close();
      // upstream removes the socket path even under socket activation (systemd's RemoveOnStop does too).
      rmSync(socketPath, { force: true });
      removePidfile();
      leases.shutdown().finally(() => resolve(0));
    };
    process.on("SIGTERM", () => stop("SIGTERM"));
    process.on("SIGINT", () => stop("SIGINT"));
  });
}

export default runDaemon;
