// ipam/static/base64.test.ts: a net.IPMask written as text decodes as Go's base64.StdEncoding does; each error offset
// here was checked against Go's static (v1.1.1) with the mask in `"Address": {"Mask": …}`.
import { expect, test } from "bun:test";
import { decodeStdBase64 } from "./base64.ts";

test("padded standard base64, CR and LF ignored", () => {
  expect([...decodeStdBase64("////AA==")]).toEqual([255, 255, 255, 0]);
  expect([...decodeStdBase64("//8=")]).toEqual([255, 255]);
  expect([...decodeStdBase64("////")]).toEqual([255, 255, 255]);
  expect([...decodeStdBase64("////\r\nAA==")]).toEqual([255, 255, 255, 0]);
  expect([...decodeStdBase64("AAAAAAAAAAA=")]).toEqual([0, 0, 0, 0, 0, 0, 0, 0]);
  expect([...decodeStdBase64("")]).toEqual([]);
  expect([...decodeStdBase64("+/+/")]).toEqual([0xfb, 0xff, 0xbf]);
});

test.each([
  ["//", 0], // a quantum cut short: the offset of its first character
  ["/w=", 3], // "==" wanted, input ended
  ["/=", 1], // padding after one character
  ["/w==x", 4], // trailing garbage after padding
  ["é", 0], // not in the alphabet (offsets count UTF-8 bytes)
  ["////AA==////", 8],
  ["///-", 3],
  ["//=x", 2], // a single "=" after two characters
  ["AAA=AAA=", 4], // nothing may follow padding
  ["=", 0],
  ["////=", 4],
])("%p fails at byte %d", (text, offset) => {
  expect(() => decodeStdBase64(text)).toThrow(`illegal base64 data at input byte ${offset}`);
});
