import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { fixedWindowStep } from "../../../src/backends/redis/replies.js";
import { Rate } from "../../../src/rate.js";
import { FixedWindowStrategy } from "../../../src/strategies/fixed-window.js";

describe("fixedWindowStep", () => {
  const rate = Rate.parse("10/m");
  const strategy = new FixedWindowStrategy();
  const expected = (prior: number, now: number, cost: number, limit = rate) => {
    const windowEnd = (Math.floor(now / limit.windowMs) + 1) * limit.windowMs;
    return strategy.apply([windowEnd, prior], now, cost, limit);
  };

  it("reads the count and the server's clock, seconds and microseconds", () => {
    // 1764300000 s and 123456 µs: 1764300000123.456 ms.
    assert.deepEqual(
      fixedWindowStep("4,1764300000,123456", undefined, 1, rate),
      expected(4, 1764300000123.456, 1),
    );
    assert.deepEqual(
      fixedWindowStep("10,1764300059,999999", undefined, 1, rate),
      expected(10, 1764300059999.999, 1),
    );
  });

  it("reads a bare count under a test clock", () => {
    assert.deepEqual(fixedWindowStep("3", 125_000, 2, rate), expected(3, 125_000, 2));
  });

  it("leaves anything but digits to Number, as Lua may write a huge count", () => {
    const huge = new Rate({ limit: 2 ** 53 - 1, minutes: 1 });
    assert.deepEqual(
      fixedWindowStep("1e+15,1764300000,5", undefined, 1, huge),
      expected(1e15, 1764300000000.005, 1, huge),
    );
  });
});
