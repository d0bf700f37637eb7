// meta/portmap/record.test.ts: the nftables backend's record files (record.ts) in a directory under /tmp: text,
// decoding, write/undo, listing and the other networks' view; no root.
import { afterEach, describe, expect, test } from "bun:test";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { Undo } from "../../pkg/cni/undo.ts";
import {
  decodeRecord, encodeRecord, listRecords, otherNetworksRecords, recordPath, removeRecord, writeRecord,
} from "./record.ts";

const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});
function dataDir(): string {
  const d = mkdtempSync("/tmp/portmap-record-test-");
  dirs.push(d);
  return `${d}/data/`; // missing, with a trailing slash
}

describe("portmap records", () => {
  test("one line of JSON; decoding refuses what does not match its path or is not a record", () => {
    const r = { network: "A", containerID: "c1", addresses: ["10.0.0.2", "fd00::2"] };
    expect(encodeRecord(r)).toBe('{"network":"A","containerID":"c1","addresses":["10.0.0.2","fd00::2"]}\n');
    expect(decodeRecord(encodeRecord(r), "A", "c1")).toEqual(r);
    expect(decodeRecord('{"network":"A","containerID":"c1","addresses":["FD00:0::2"]}', "A", "c1")?.addresses).toEqual(["fd00::2"]);
    expect(decodeRecord(encodeRecord(r), "B", "c1")).toBeUndefined();
    expect(decodeRecord(encodeRecord(r), "A", "c2")).toBeUndefined();
    for (const bad of ["", "null", "[]", '{"network":"A","containerID":"c1"}', '{"network":"A","containerID":"c1","addresses":["x"]}']) {
      expect(decodeRecord(bad, "A", "c1")).toBeUndefined();
    }
  });

  test("write makes the directories, widens an existing record, and undo puts back what was there", async () => {
    const d = dataDir();
    const path = recordPath(d, "A", "c1");
    expect(path).toBe(`${d}A/c1`);
    const u1 = new Undo();
    writeRecord(d, { network: "A", containerID: "c1", addresses: ["10.0.0.2"] }, u1);
    expect(readFileSync(path, "utf8")).toBe('{"network":"A","containerID":"c1","addresses":["10.0.0.2"]}\n');
    const u2 = new Undo();
    writeRecord(d, { network: "A", containerID: "c1", addresses: ["10.0.0.3"] }, u2);
    expect(readFileSync(path, "utf8")).toBe('{"network":"A","containerID":"c1","addresses":["10.0.0.3","10.0.0.2"]}\n');
    await u2.run();
    expect(readFileSync(path, "utf8")).toBe('{"network":"A","containerID":"c1","addresses":["10.0.0.2"]}\n');
    await u1.run();
    expect(existsSync(path)).toBe(false);
    expect(readdirSync(`${d}A`)).toEqual([]); // no temporary file left
  });

  test("listing: only names a container ID can have; unreadable records listed as such; removal is idempotent", () => {
    const d = dataDir();
    expect(listRecords(d, "A")).toEqual([]);
    const u = new Undo();
    writeRecord(d, { network: "A", containerID: "c1", addresses: ["10.0.0.2"] }, u);
    writeFileSync(`${d}A/c2`, "garbage");
    writeFileSync(`${d}A/.c3.1.tmp`, "{}");
    mkdirSync(`${d}A/sub`);
    expect(listRecords(d, "A")).toEqual([
      { containerID: "c1", record: { network: "A", containerID: "c1", addresses: ["10.0.0.2"] } },
      { containerID: "c2", record: undefined },
    ]);
    removeRecord(d, "A", "c1");
    removeRecord(d, "A", "c1");
    expect(listRecords(d, "A").map((e) => e.containerID)).toEqual(["c2"]);
  });

  test("removal also takes the temporary file an ADD killed mid-write left, and only that container's", () => {
    const d = dataDir();
    mkdirSync(`${d}A`, { recursive: true });
    for (const n of [".c1.123.tmp", ".c1.9.tmp", ".c1.x.tmp", ".c1.2.3.tmp", ".c1.2.tmp.x", "c1", "c1.2"]) writeFileSync(`${d}A/${n}`, "");
    removeRecord(d, "A", "c1");
    expect(readdirSync(`${d}A`).sort()).toEqual([".c1.2.3.tmp", ".c1.2.tmp.x", ".c1.x.tmp", "c1.2"]);
    removeRecord(d, "A", "c1.2");
    expect(readdirSync(`${d}A`).sort()).toEqual([".c1.2.tmp.x", ".c1.x.tmp"]);
  });

  test("other networks' records of a container ID", () => {
    const d = dataDir();
    const u = new Undo();
    for (const network of ["A", "B", "C"]) writeRecord(d, { network, containerID: "c1", addresses: [`10.0.${network.charCodeAt(0)}.2`] }, u);
    writeFileSync(`${d}C/c1`, "{");
    expect(otherNetworksRecords(d, "A", "c1")).toEqual([{ network: "B", containerID: "c1", addresses: ["10.0.66.2"] }, undefined]);
    expect(otherNetworksRecords(d, "A", "c2")).toEqual([]);
    expect(otherNetworksRecords(`${d}none`, "A", "c1")).toEqual([]);
  });
});
