// ipam/dhcp/lease.ts: one lease the daemon holds and keeps alive, as upstream's DHCPLease.maintain does
// (plugins/ipam/dhcp/lease.go): bound until T1, then RENEWING requests until T2, then full re-acquisitions until the
// lease expires, when the link is set down and maintenance ends. Before each step the link must still exist; when it
// is gone (or its netns is), maintenance ends and the lease is forgotten. Every change is written to the store.
// Unlike upstream, each renewal phase ends at its RFC 2131 deadline (T2, expiry) rather than only after
// `-resendtimeout`, so the link really goes down when the lease expires.
import { statSync } from "node:fs";
import { openContainerNetns, withNetns } from "../../pkg/ns/netns.ts";
import { getLinkByName, setLinkDown } from "../../pkg/ip/link.ts";
import { isNotFound, NetlinkSocket } from "../../pkg/ip/nl/socket.ts";
import { acquire, release, renew, sleep, StoppedError, type Acquired, type Place, type Timing } from "./client.ts";
import { leaseTimes } from "./lease-result.ts";
import type { LeaseOptions } from "./packet.ts";
import type { LeaseRecord, LeaseStore } from "./store.ts";

const LINK_CHECK_FIRST_MS = 1000;
const LINK_CHECK_MAX_MS = 10_000;

type State = "bound" | "renewing" | "rebinding";

/** What every lease shares: the daemon's timing, its `-broadcast`, where records go, and how to forget a lease. */
export interface LeaseContext {
  timing: Timing;
  broadcast: boolean;
  store: LeaseStore;
  /** Called when maintenance ended because the link or netns is gone: the daemon drops the lease. */
  forget: (lease: Lease) => void;
}

/** Returns `<dev>:<ino>` of a netns path; throws when it does not exist. */
export function netnsIdOf(path: string): string {
  const st = statSync(path);
  return `${st.dev}:${st.ino}`;
}

/** A lease held for one client id, with its maintenance loop. */
export class Lease {
  private readonly stopper = new AbortController();
  private waker = new AbortController();
  private loop: Promise<void> = Promise.resolve();

  private constructor(readonly record: LeaseRecord, private readonly ctx: LeaseContext) {}

  get clientID(): string {
    return this.record.clientID;
  }

  get expired(): boolean {
    return this.record.expired === true;
  }

  private get place(): Place {
    return { netns: this.record.netns, ifname: this.record.ifName };
  }

  private get options(): LeaseOptions {
    return { clientID: this.record.clientID, extra: this.record.extra };
  }

  /**
   * Returns a new lease acquired on the interface (brought up if down), saved and maintained from now on. Throws
   * the acquisition's failure (after `-resendtimeout`), or StoppedError when `stop` aborts first.
   */
  static async acquire(base: Omit<LeaseRecord, "ack" | "offerServerID" | "renewAt" | "rebindAt" | "expireAt" | "netnsId">, ctx: LeaseContext, stop: AbortSignal): Promise<Lease> {
    console.error(`${base.clientID}: acquiring lease`); // upstream log
    // A missing netns or link fails at once, as upstream's first lookup does; later failures are retried.
    let netnsId: string;
    {
      using ns = openContainerNetns(base.netns);
      netnsId = netnsIdOf(base.netns);
      withNetns(ns, () => {
        using nl = new NetlinkSocket();
        try {
          getLinkByName(nl, base.ifName);
        } catch (e) {
          throw new Error(`error looking up ${JSON.stringify(base.ifName)}: ${(e as Error).message}`, { cause: e }); // upstream text
        }
      });
    }
    const timing = ctx.timing;
    const got = await acquire({ netns: base.netns, ifname: base.ifName }, { clientID: base.clientID, extra: base.extra }, ctx.broadcast, timing, Date.now() + timing.resendTimeoutMs, stop);
    const record: LeaseRecord = { ...base, netnsId, ...got, ...leaseTimes(got.ack, Date.now()) };
    const lease = new Lease(record, ctx);
    lease.save();
    console.error(`${base.clientID}: lease acquired, expiration is ${new Date(record.expireAt).toISOString()}`); // upstream log
    return lease;
  }

  /** Returns a lease read back from the store (not yet maintained: call start). */
  static resume(record: LeaseRecord, ctx: LeaseContext): Lease {
    return new Lease(record, ctx);
  }

  /** Starts the maintenance loop (once). */
  start(): void {
    if (this.expired) return;
    this.loop = this.maintain().catch((e) => {
      if (!(e instanceof StoppedError)) console.error(`${this.clientID}: lease maintenance failed: ${(e as Error).message}`);
    });
  }

  /** Wakes the maintenance loop early (upstream Check: a CHECK or a repeated ADD for the lease). */
  poke(): void {
    this.waker.abort();
  }

  /** Ends maintenance (aborting any exchange) and waits for it; with `sendRelease`, sends a DHCPRELEASE after. */
  async stop(sendRelease: boolean): Promise<void> {
    this.stopper.abort();
    await this.loop;
    if (!sendRelease || this.expired) return;
    console.error(`${this.clientID}: releasing lease`); // upstream log
    try {
      release(this.place, this.clientID, this.record.ack);
    } catch (e) {
      console.error(`${this.clientID}: failed to release DHCP lease: ${(e as Error).message}`); // upstream log
    }
  }

  private async maintain(): Promise<void> {
    const signal = this.stopper.signal;
    let state: State = "bound";
    for (;;) {
      if (signal.aborted) return;
      if (!(await this.linkExists(signal))) {
        console.error(`${this.clientID}: interface ${this.record.ifName} no longer exists or link check failed, terminating lease maintenance`); // upstream log
        this.ctx.forget(this);
        return;
      }
      let sleepMs = 0;
      const now = Date.now();
      const r = this.record;
      if (state === "bound") {
        sleepMs = r.renewAt - now;
        if (sleepMs <= 0) {
          console.error(`${this.clientID}: renewing lease`); // upstream log
          state = "renewing";
          continue;
        }
      } else if (state === "renewing") {
        if (now < r.rebindAt) {
          try {
            const ack = await renew(this.place, this.options, this.acquired, this.ctx.timing, Math.min(now + this.ctx.timing.resendTimeoutMs, r.rebindAt), signal);
            this.commit({ offerServerID: r.offerServerID, ack });
            console.error(`${this.clientID}: lease renewed, expiration is ${new Date(r.expireAt).toISOString()}`); // upstream log
            state = "bound";
            continue;
          } catch (e) {
            if (e instanceof StoppedError) return;
            console.error(`${this.clientID}: ${(e as Error).message}`);
          }
        }
        if (Date.now() >= r.rebindAt) {
          console.error(`${this.clientID}: renewal time expired, rebinding`); // upstream log
          state = "rebinding";
        }
      } else {
        if (now < r.expireAt) {
          try {
            const got = await acquire(this.place, this.options, this.ctx.broadcast, this.ctx.timing, Math.min(now + this.ctx.timing.resendTimeoutMs, r.expireAt), signal);
            this.commit(got);
            console.error(`${this.clientID}: lease rebound, expiration is ${new Date(r.expireAt).toISOString()}`); // upstream log
            state = "bound";
            continue;
          } catch (e) {
            if (e instanceof StoppedError) return;
            console.error(`${this.clientID}: ${(e as Error).message}`);
          }
        }
        if (Date.now() >= r.expireAt) {
          console.error(`${this.clientID}: lease expired, bringing interface DOWN`); // upstream log
          this.expire();
          return;
        }
      }
      await sleep(sleepMs, signal, this.waker.signal).catch((e) => {
        if (!(e instanceof StoppedError)) throw e;
      });
      if (this.waker.signal.aborted) {
        console.error(`${this.clientID}: Checking lease`); // upstream log
        this.waker = new AbortController();
      }
    }
  }

  private get acquired(): Acquired {
    return { offerServerID: this.record.offerServerID, ack: this.record.ack };
  }

  private commit(got: Acquired): void {
    Object.assign(this.record, { offerServerID: got.offerServerID, ack: got.ack }, leaseTimes(got.ack, Date.now()));
    this.save();
  }

  private save(): void {
    try {
      this.ctx.store.save(this.record);
    } catch (e) {
      // The lease itself is fine; only a restart would lose it.
      console.error(`${this.clientID}: failed to save lease: ${(e as Error).message}`);
    }
  }

  /** Sets the link down and marks the lease expired (kept, so CHECK can say so). */
  private expire(): void {
    try {
      withNetns(this.record.netns, () => {
        using nl = new NetlinkSocket();
        setLinkDown(nl, getLinkByName(nl, this.record.ifName).index);
      });
    } catch (e) {
      console.error(`${this.clientID}: failed to bring ${this.record.ifName} interface DOWN: ${(e as Error).message}`); // upstream log
    }
    this.record.expired = true;
    this.save();
  }

  /**
   * Returns whether the lease's netns (the same one: same device and inode) still holds its link. Other failures
   * are retried after 1 s, doubling to 10 s, for up to `-resendtimeout`, then count as gone (upstream).
   */
  private async linkExists(signal: AbortSignal): Promise<boolean> {
    const deadline = Date.now() + this.ctx.timing.resendTimeoutMs;
    let delay = LINK_CHECK_FIRST_MS;
    for (;;) {
      try {
        return this.checkLink();
      } catch (e) {
        console.error(`${this.clientID}: link check failed: ${(e as Error).message}`);
      }
      if (Date.now() + delay > deadline) return false;
      await sleep(delay, signal);
      if (delay < LINK_CHECK_MAX_MS) delay *= 2;
    }
  }

  /** Returns whether the lease's netns or link is certainly gone (a failing check counts as not gone). */
  isGone(): boolean {
    try {
      return !this.checkLink();
    } catch {
      return false;
    }
  }

  private checkLink(): boolean {
    let id: string;
    try {
      id = netnsIdOf(this.record.netns);
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "ENOENT") return false;
      throw e;
    }
    if (id !== this.record.netnsId) return false; // the path now names another netns
    return withNetns(this.record.netns, () => {
      using nl = new NetlinkSocket();
      try {
        getLinkByName(nl, this.record.ifName);
        return true;
      } catch (e) {
        if (isNotFound(e)) return false;
        throw e;
      }
    });
  }
}
