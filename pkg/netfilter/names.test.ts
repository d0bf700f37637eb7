// pkg/netfilter/names.test.ts: upstream's names against the known vectors of SPEC-DIGEST §0.7 (no root).
import { expect, test } from "bun:test";
import {
  chainName, formatHashWithPrefix, goQuote, ifbName, ipMasqComment, nftMasqComment, nftMasqCommentPrefix,
  nftMasqNetworkPrefix, sha512Hex,
} from "./names.ts";

test("sha512Hex is the lowercase hex of SHA-512 over UTF-8", () => {
  expect(sha512Hex("")).toBe(
    "cf83e1357eefb8bdf1542850d66d8007d620e4050b5715dc83f4a921d36ce9ce47d0d13c5d85f2b0ff8318d2877eec2f63b931bd47417a81a538327af927da3e",
  );
  expect(sha512Hex("test1234").slice(0, 24)).toBe("2bbe0c48b91a7d1b8a6753a8");
  expect(sha512Hex("é")).toBe(sha512Hex("\u00e9"));
  expect(sha512Hex("é")).toHaveLength(128);
});

test("iptables chain names: CNI-<24hex>, CNI-DN-<21hex>", () => {
  expect(chainName("test", "1234")).toBe("CNI-2bbe0c48b91a7d1b8a6753a8");
  expect(chainName("test", "1234", "DN-")).toBe("CNI-DN-2bbe0c48b91a7d1b8a675");
  expect(chainName("test", "1234", "SN-")).toBe("CNI-SN-2bbe0c48b91a7d1b8a675");
  // network + containerID with no separator: the same concatenation gives the same chain
  expect(chainName("tes", "t1234")).toBe(chainName("test", "1234"));
  expect(chainName("a-very-long-network-name", "0123456789abcdef0123456789abcdef")).toHaveLength(28);
});

test("formatHashWithPrefix refuses lengths upstream panics on", () => {
  expect(() => formatHashWithPrefix(4, "CNI-", "x")).toThrow("invalid length");
  expect(() => formatHashWithPrefix(129, "", "x")).toThrow("invalid length");
  expect(formatHashWithPrefix(128, "", "test1234")).toBe(sha512Hex("test1234"));
  expect(() => chainName("n", "c", "A-VERY-LONG-PREFIX-OF-24-CH")).toThrow("invalid length");
});

test("bandwidth ifb name: bwp + 12 hex", () => {
  expect(ifbName("test", "1234")).toBe("bwp2bbe0c48b91a");
});

test("iptables ipMasq comment quotes like Go %q", () => {
  expect(ipMasqComment("test", "1234")).toBe('name: "test" id: "1234"');
  expect(ipMasqComment('my"net', "a\\b")).toBe('name: "my\\"net" id: "a\\\\b"');
});

test("goQuote follows strconv.Quote", () => {
  expect(goQuote("")).toBe('""');
  expect(goQuote("plain ASCII ~!@#$%^&*()")).toBe('"plain ASCII ~!@#$%^&*()"');
  expect(goQuote("\x07\b\f\n\r\t\v")).toBe('"\\a\\b\\f\\n\\r\\t\\v"');
  expect(goQuote("\x00\x1b\x7f")).toBe('"\\x00\\x1b\\x7f"');
  expect(goQuote("é日本😀")).toBe('"é日本😀"'); // printable runes stay
  expect(goQuote("\u00a0\u200b\u2028\u0085")).toBe('"\\u00a0\\u200b\\u2028\\u0085"'); // spaces other than ' ', format and control runes
  expect(goQuote("\u{e0001}")).toBe('"\\U000e0001"');
  expect(goQuote("\ud800")).toBe('"\ufffd"');
});

test("nftables comment: instance hash, readable tail, quotes stripped, 128 bytes at most", () => {
  expect(nftMasqNetworkPrefix("mynet")).toBe("d23676b4f2d9fe04");
  expect(nftMasqCommentPrefix("mynet", "eth0", "abc123")).toBe("d23676b4f2d9fe04-ebce0e3dd4dafae3");
  expect(nftMasqComment("mynet", "eth0", "abc123")).toBe("d23676b4f2d9fe04-ebce0e3dd4dafae3, net: mynet, if: eth0, id: abc123");
  // the hash covers the name with its quotes; only the readable part loses them
  const quoted = nftMasqComment('my"net', "eth0", 'a"b');
  expect(quoted.endsWith(", net: mynet, if: eth0, id: ab")).toBe(true);
  expect(quoted.startsWith(nftMasqCommentPrefix('my"net', "eth0", 'a"b'))).toBe(true);
  const long = nftMasqComment("mynet", "eth0", "c".repeat(200));
  expect(long).toHaveLength(128);
  expect(long).toBe(`d23676b4f2d9fe04-${long.slice(17, 33)}, net: mynet, if: eth0, id: ${"c".repeat(128 - 61)}`);
  // a cut is in bytes; a character that does not fit whole is dropped
  // (61 bytes of head leave 67: 33 two-byte characters fit, the 34th would be cut in half)
  expect(new TextEncoder().encode(nftMasqComment("mynet", "eth0", "é".repeat(100))).length).toBe(127);
  expect(new TextEncoder().encode(nftMasqComment("mynet", "eth0", "x" + "é".repeat(100))).length).toBe(128);
});
