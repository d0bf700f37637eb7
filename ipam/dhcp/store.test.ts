// ipam/dhcp/store.test.ts: lease records on disk survive a round trip, are written atomically, and bad ones are dropped.
import { afterAll, expect, test } from "bun:test";
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from "node:fs";
import { leaseFileName, LeaseStore, type LeaseRecord } from "./store.ts";

const dir = mkdtempSync("/tmp/dhcp-store-test-");
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const record: LeaseRecord = {
  clientID: "c1/net1/eth0", containerID: "c1", network: "net1", ifName: "eth0", netns: "/run/netns/x", netnsId: "4:4026532000",
  extra: [{ code: 55, value: Uint8Array.of(3, 1) }], offerServerID: Uint8Array.of(10, 0, 0, 1),
  ack: {
    op: 2, htype: 1, hops: 0, xid: 42, secs: 0, flags: 0, ciaddr: new Uint8Array(4), yiaddr: Uint8Array.of(10, 0, 0, 9),
    siaddr: new Uint8Array(4), giaddr: new Uint8Array(4), chaddr: Uint8Array.of(1, 2, 3, 4, 5, 6), sname: "", file: "",
    options: new Map([[1, Uint8Array.of(255, 255, 255, 0)], [53, Uint8Array.of(5)]]),
  },
  renewAt: 1, rebindAt: 2, expireAt: 3,
};

test("save, load, remove", () => {
  const store = new LeaseStore(`${dir}/leases`);
  store.save(record);
  expect(statSync(`${dir}/leases`).mode & 0o777).toBe(0o700);
  expect(readdirSync(`${dir}/leases`)).toEqual([leaseFileName(record.clientID)]);
  expect(statSync(`${dir}/leases/${leaseFileName(record.clientID)}`).mode & 0o777).toBe(0o600);
  expect(store.loadAll(() => {})).toEqual([record]);
  store.save({ ...record, expired: true, renewAt: 10 });
  expect(store.loadAll(() => {}).map((r) => [r.renewAt, r.expired])).toEqual([[10, true]]);
  store.remove(record.clientID);
  store.remove(record.clientID);
  expect(store.loadAll(() => {})).toEqual([]);
});

test("unreadable files are reported and removed; unfinished writes are removed; no directory is no leases", () => {
  const store = new LeaseStore(`${dir}/bad`);
  expect(store.loadAll(() => {})).toEqual([]);
  store.save(record);
  writeFileSync(`${dir}/bad/x.json`, "{not json");
  writeFileSync(`${dir}/bad/y.json.tmp`, "{}");
  const bad: string[] = [];
  expect(store.loadAll((f) => bad.push(f)).map((r) => r.clientID)).toEqual([record.clientID]);
  expect(bad).toEqual([`${dir}/bad/x.json`]);
  expect(readdirSync(`${dir}/bad`)).toEqual([leaseFileName(record.clientID)]);
});
