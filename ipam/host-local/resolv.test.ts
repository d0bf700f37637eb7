// ipam/host-local/resolv.test.ts: resolv.conf text into the result's dns, as upstream's parseResolvConf reads it.
import { expect, test } from "bun:test";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { parseResolvConf, readResolvConf } from "./resolv.ts";

test("nameservers, the last domain, every search and options word; comments and bare keys skipped", () => {
  const text = [
    "# comment",
    "; also a comment",
    "nameserver 192.0.2.3",
    "  nameserver   2001:db8::53  extra\r",
    "nameserver",
    "domain example.com",
    "domain example.org",
    "search a.example b.example",
    "search c.example",
    "options ndots:5 rotate",
    "options timeout:1",
    "sortlist 10.0.0.0",
    "",
  ].join("\n");
  expect(parseResolvConf(text)).toEqual({
    nameservers: ["192.0.2.3", "2001:db8::53"],
    domain: "example.org",
    search: ["a.example", "b.example", "c.example"],
    options: ["ndots:5", "rotate", "timeout:1"],
  });
  expect(parseResolvConf("")).toEqual({});
});

test("reading a file; a missing one fails with Go's wording", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "host-local-resolv-"));
  try {
    fs.writeFileSync(path.join(dir, "resolv.conf"), "nameserver 192.0.2.3");
    expect(readResolvConf(path.join(dir, "resolv.conf"))).toEqual({ nameservers: ["192.0.2.3"] });
    expect(() => readResolvConf(path.join(dir, "nope"))).toThrow(`open ${path.join(dir, "nope")}: no such file or directory`);
    expect(() => readResolvConf(dir)).toThrow(`read ${dir}: is a directory`);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
