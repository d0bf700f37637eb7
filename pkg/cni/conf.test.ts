// pkg/cni/conf.test.ts: stdin parsing errors: JSON nested deeper than the parser's stack reads like Go's
// "exceeded max depth", never like the engine's stack overflow (found by test/fuzz).
import { expect, test } from "bun:test";
import { parseStdin } from "./conf.ts";

const nested = (depth: number, open = "[", close = "]") =>
  new TextEncoder().encode(`{"name":"x","foo":${open.repeat(depth)}1${close.repeat(depth)}}`);

test("nesting past Go's limit (10000 levels) gives Go's text, naming the bracket", () => {
  expect(() => parseStdin(nested(10000))).toThrow("error unmarshall network config: invalid character '[' exceeded max depth");
  expect(() => parseStdin(new TextEncoder().encode(`{"a":${'{"b":'.repeat(20000)}1${"}".repeat(20000)}}`)))
    .toThrow("error unmarshall network config: invalid character '{' exceeded max depth");
});

test("nesting the parser cannot follow but Go could is still refused with Go's words, not a stack overflow", () => {
  let message = "";
  try {
    parseStdin(nested(9000));
  } catch (e) {
    message = (e as Error).message;
  }
  // Bun's parser (with the reviver) gives up after a few thousand levels; Go would accept 9000.
  if (message !== "") expect(message).toBe("error unmarshall network config: exceeded max depth");
  expect(parseStdin(nested(1000))).toBeDefined();
});

test("brackets inside strings do not count", () => {
  const text = `{"name":"${"[".repeat(20000)}"}`;
  expect(parseStdin(new TextEncoder().encode(text))).toEqual({ name: "[".repeat(20000) });
});
