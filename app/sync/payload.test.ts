import { describe, expect, it } from "vitest";
import { isSafeNumber, parse as losslessParse } from "lossless-json";
import { fixtureText, fixtureTopics } from "../../dev/fixtures";
import { parsedOnce, parseJson, unsafeNumbersQuoted } from "./payload";

/** What the sync read payloads with before: lossless-json, unsafe numbers kept as their digits. */
const lossless = (text: string) =>
  losslessParse(text, null, (digits) => (isSafeNumber(digits) ? Number(digits) : digits));

describe("webhook payloads keep Shopify's long ids exact", () => {
  it("an 18-digit id is kept as its digits, a safe one stays a number", () => {
    const value = parseJson(
      '{"id": 820982911946154508, "n": 9007199254740991, "small": 42, "price": "12.50", "neg": -820982911946154508}',
    );
    expect(value).toEqual({
      id: "820982911946154508",
      n: 9007199254740991,
      small: 42,
      price: "12.50",
      neg: "-820982911946154508",
    });
  });

  it("digits inside strings, escaped quotes and backslashes are left alone", () => {
    const text = String.raw`{"note": "order \"820982911946154508\" \\", "x": [1234567890123456789, "a\\\"b 1234567890123456789"], "t": "\\"}`;
    expect(parseJson(text)).toEqual(lossless(text));
    expect(parseJson(text)).toEqual({
      note: 'order "820982911946154508" \\',
      x: ["1234567890123456789", 'a\\"b 1234567890123456789'],
      t: "\\",
    });
  });

  it("in a payload with a long id, long decimals and exponents are read as lossless-json read them", () => {
    for (const text of [
      "[0.12345678901234567890, 1.5e300, 12345678901234567e3, 1e-7, -0.000000000000000001, 1e400]",
      '{"id": 820982911946154508, "a": 1234567890.123456789, "b": 0.5}',
      "123456789012345678901234567890",
    ])
      expect(parseJson(text), text).toEqual(lossless(text));
  });

  it("every Shopify sample payload reads exactly as lossless-json reads it", () => {
    const topics = fixtureTopics();
    expect(topics.length).toBeGreaterThan(10);
    for (const topic of topics) {
      const text = fixtureText(topic);
      expect(parseJson(text), topic).toEqual(lossless(text));
    }
  });

  it("text that is not JSON is still refused", () => {
    for (const text of ['{"id": 820982911946154508', '{"a": "unterminated 820982911946154508}', "{,}", ""])
      expect(() => parseJson(text), text).toThrow();
    expect(unsafeNumbersQuoted('"open')).toBe('"open');
  });
});

describe("a batch's payloads are parsed once for the apply and the after-apply", () => {
  it("the second read of a payload's text finds the first read's value; a new text is parsed", () => {
    const text = '{"id": 820982911946154508, "customer": {"id": 6200000000001}}';
    const first = parsedOnce(1, text);
    expect(first).toEqual({ id: "820982911946154508", customer: { id: 6200000000001 } });
    expect(parsedOnce(1, text)).toBe(first);
    expect(parsedOnce(2, text)).not.toBe(first);
    // Another text under a known id (an inbox reset): read afresh.
    expect(parsedOnce(1, `${text} `)).not.toBe(first);
    expect(parsedOnce(1, `${text} `)).toEqual(first);
  });

  it("keeps only the latest payloads, and refuses what is not JSON every time", () => {
    const first = parsedOnce(-1, '{"n": -1}');
    for (let i = 0; i < 600; i++) parsedOnce(100 + i, `{"n": ${i}}`);
    expect(parsedOnce(-1, '{"n": -1}')).not.toBe(first);
    expect(() => parsedOnce(7, "{not json")).toThrow();
    expect(() => parsedOnce(7, "{not json")).toThrow();
  });
});
