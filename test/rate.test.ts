import assert from "node:assert/strict";
import { describe, it } from "node:test";
import fc from "fast-check";
import { ConfigurationError } from "../src/errors.js";
import { Rate } from "../src/index.js";

describe("Rate.parse", () => {
  const valid: [string, number, number][] = [
    ["100/m", 100, 60_000],
    ["5/10s", 5, 10_000],
    ["1000/500ms", 1000, 500],
    ["10000/d", 10_000, 86_400_000],
    ["2 per second", 2, 1_000],
    ["10/30 seconds", 10, 30_000],
    ["3/2hr", 3, 7_200_000],
    ["7/minute", 7, 60_000],
    ["1/30days", 1, 2_592_000_000],
    ["4/SEC", 4, 1_000],
  ];
  for (const [input, limit, windowMs] of valid) {
    it(`reads ${JSON.stringify(input)}`, () => {
      const rate = Rate.parse(input);
      assert.equal(rate.limit, limit);
      assert.equal(rate.windowMs, windowMs);
      assert.deepEqual(Rate.parse(rate.toString()), rate);
    });
  }

  const invalid = [
    "",
    "10",
    "0/s",
    "-1/s",
    "1.5/s",
    "10/0s",
    "10/fortnight",
    "abc/s",
    "10/1.5s",
    "9007199254740992/s",
    "1/9007199254740992d",
    "10 / s / s",
  ];
  for (const input of invalid) {
    it(`rejects ${JSON.stringify(input)} with a ConfigurationError quoting it`, () => {
      assert.throws(
        () => Rate.parse(input),
        (error: unknown) =>
          error instanceof ConfigurationError && error.message.includes(JSON.stringify(input)),
      );
    });
  }
});

describe("new Rate", () => {
  it("adds the parts of the window", () => {
    assert.equal(new Rate({ limit: 100, minutes: 5, seconds: 30 }).windowMs, 330_000);
    assert.equal(new Rate({ limit: 1, days: 1, hours: 1 }).windowMs, 90_000_000);
  });

  it("rejects impossible limits and windows", () => {
    for (const init of [
      { limit: 0, seconds: 1 },
      { limit: 1.5, seconds: 1 },
      { limit: 1 },
      { limit: 1, seconds: -1 },
      { limit: 1, milliseconds: 0.5 },
      { limit: 1, days: Number.MAX_SAFE_INTEGER },
      { limit: Number.MAX_SAFE_INTEGER + 1, seconds: 1 },
      { limit: 1, seconds: Number.NaN },
    ]) {
      assert.throws(() => new Rate(init), ConfigurationError, JSON.stringify(init));
    }
  });

  it("is immutable", () => {
    const rate = Rate.parse("1/s");
    assert.throws(() => {
      (rate as { limit: number }).limit = 5;
    }, TypeError);
  });
});

describe("Rate.parse against hostile input", () => {
  // The pattern the parser used to be: the oracle for what it accepts and what it reads.
  const OLD_PATTERN = /^\s*(\d+)\s*(?:\/|\s+per\s+)\s*(\d+)?\s*([a-z]+)\s*$/i;

  it("rejects input longer than 64 characters, naming the bound, before reading it", () => {
    for (const input of [
      " ".repeat(100_000),
      `1${" ".repeat(100_000)}/m`,
      `1 ${"per ".repeat(25_000)}m`,
      `${"1".repeat(100_000)}/m`,
      `1/${"\t".repeat(50_000)}x`,
      // Spaces where the old pattern could split them many ways, then a character it refuses.
      `1${" ".repeat(100_000)}x`,
      `1/${" ".repeat(100_000)}!`,
      `1 per${" ".repeat(100_000)}!`,
      `1/m${" ".repeat(63)}`,
    ]) {
      assert.throws(
        () => Rate.parse(input),
        (error: unknown) =>
          error instanceof ConfigurationError &&
          error.message.includes("longer than 64 characters") &&
          error.message.length < 200,
      );
    }
  });

  it("still reads a rate of 64 characters padded with spaces", () => {
    const input = `${" ".repeat(30)}5/m${" ".repeat(31)}`;
    assert.equal(input.length, 64);
    assert.deepEqual(Rate.parse(input), Rate.parse("5/m"));
  });

  it("accepts and reads exactly what the old pattern did", () => {
    const outcome = (read: () => Rate): Rate | "refused" => {
      try {
        return read();
      } catch (error) {
        assert.ok(error instanceof ConfigurationError);
        return "refused";
      }
    };
    // The old parser: the pattern, then the same checks on a plain "limit/count unit".
    const oldParse = (input: string): Rate => {
      const match = OLD_PATTERN.exec(input);
      if (match === null) throw new ConfigurationError("no match");
      const [, limit = "", count = "", unit = ""] = match;
      return Rate.parse(`${limit}/${count}${unit}`);
    };
    const pieces = [
      " ",
      "\t",
      "\u00a0",
      "/",
      "per",
      "PER",
      "pe",
      "1",
      "0",
      "5",
      "m",
      "s",
      "ms",
      "x",
      "Sec",
      "days",
    ];
    fc.assert(
      fc.property(fc.array(fc.constantFrom(...pieces), { maxLength: 10 }), (parts) => {
        const input = parts.join("");
        const now = outcome(() => Rate.parse(input));
        const before = outcome(() => oldParse(input));
        assert.deepEqual(now, before, JSON.stringify(input));
      }),
      { numRuns: 5000 },
    );
  });

  it("reads every form the old pattern matched", () => {
    for (const input of [
      "  5 per 10 seconds  ",
      "5per m",
      "5 /\t10 MS",
      "\u00a07/M",
      "5 per m",
      "1/ s",
    ]) {
      const match = OLD_PATTERN.exec(input);
      if (match === null) {
        assert.throws(() => Rate.parse(input), ConfigurationError, JSON.stringify(input));
      } else {
        assert.ok(Rate.parse(input) instanceof Rate, JSON.stringify(input));
      }
    }
  });
});
