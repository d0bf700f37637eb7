// The character tests stand in for regular expressions on hot paths: each is checked against the pattern it
// replaced, over edge cases and many random short strings of the characters that matter.
import { describe, expect, test } from "bun:test";
import { hasNoSpace, isDigits, isHexDigits, isHexLiteral, isUintLiteral, splitHostPort } from "./ascii.ts";
import { randomTexts } from "../../test/support/random-text.ts";

const TEXTS = randomTexts(20000);

describe("character tests agree with the regular expressions they replace", () => {
  test("isDigits", () => {
    for (const s of TEXTS) {
      expect(isDigits(s)).toBe(/^[0-9]+$/.test(s));
      expect(isDigits(s, 1, 3)).toBe(/^[0-9]{1,3}$/.test(s));
    }
  });
  test("isHexDigits", () => {
    for (const s of TEXTS) expect(isHexDigits(s, 1, 4)).toBe(/^[0-9a-fA-F]{1,4}$/.test(s));
  });
  test("isHexLiteral and isUintLiteral", () => {
    for (const s of TEXTS) {
      expect(isHexLiteral(s)).toBe(/^0x[0-9a-fA-F]+$/.test(s));
      expect(isUintLiteral(s)).toBe(/^(0x[0-9a-fA-F]+|[0-9]+)$/.test(s));
    }
  });
  test("hasNoSpace", () => {
    for (const s of TEXTS) expect(hasNoSpace(s)).toBe(!/\s/.test(s));
  });
  test("splitHostPort", () => {
    for (const s of TEXTS) {
      const m4 = /^([0-9.]+)(?::(\d+))?$/.exec(s);
      expect(splitHostPort(4, s)).toEqual(m4 ? { addr: m4[1]!, ...(m4[2] !== undefined ? { port: m4[2] } : {}) } : undefined);
      const m6 = /^\[([0-9a-fA-F:.]+)\](?::(\d+))?$/.exec(s);
      expect(splitHostPort(6, s)).toEqual(m6 ? { addr: m6[1]!, ...(m6[2] !== undefined ? { port: m6[2] } : {}) } : undefined);
    }
  });
});
