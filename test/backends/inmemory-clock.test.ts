import assert from "node:assert/strict";
import { after, describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { Rate } from "../../src/index.js";
import { FixedWindowStrategy } from "../../src/strategies/index.js";

const DAY = 86_400_000;
const daily = {
  uid: "u",
  identity: "a",
  strategy: new FixedWindowStrategy(),
  rate: Rate.parse("2/d"),
  cost: 1,
};

describe("InMemoryBackend clock", () => {
  it("ends a /d fixed window at the UTC day boundary", () => {
    let now = Date.UTC(2026, 11, 2, 23, 59, 0);
    const backend = new InMemoryBackend({ namespace: "t", clock: () => now });
    after(() => backend.close());
    assert.equal(backend.decide(daily, "consume").resetAfterMs, 60_000);
    backend.decide(daily, "consume");
    assert.equal(backend.decide(daily, "consume").allowed, false);
    now = Date.UTC(2026, 11, 3) - 1;
    assert.equal(backend.decide(daily, "consume").allowed, false, "one ms before midnight UTC");
    now = Date.UTC(2026, 11, 3);
    assert.equal(backend.decide(daily, "consume").allowed, true, "a new day, a new window");
  });

  it("by default reads the wall clock's epoch in whole ms, never going back", () => {
    const backend = new InMemoryBackend({ namespace: "t" });
    after(() => backend.close());
    const before = Date.now();
    const first = backend.now();
    const afterwards = Date.now();
    // Not a timing assertion: the two clocks agree up to the wall clock's own adjustments.
    assert.ok(first >= before - 1_000 && first <= afterwards + 1_000, `${first} vs ${before}`);
    let previous = first;
    for (let i = 0; i < 100_000; i++) {
      const next = backend.now();
      assert.ok(Number.isInteger(next), `${next} is not whole ms`);
      assert.ok(next >= previous, `${next} after ${previous}`);
      previous = next;
    }
  });

  it("by default ends a /d window at the next UTC midnight", () => {
    const backend = new InMemoryBackend({ namespace: "t" });
    after(() => backend.close());
    const step = backend.decide(daily, "consume");
    const end = Date.now() + step.resetAfterMs;
    const nextMidnight = (Math.floor(Date.now() / DAY) + 1) * DAY;
    // Not a timing assertion: the two clocks agree up to the wall clock's own adjustments.
    assert.ok(Math.abs(end - nextMidnight) < 1_000, `ends ${nextMidnight - end} ms early`);
  });
});
