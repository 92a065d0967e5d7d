import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { HTTPThrottle, Rate, tryHitAll } from "../../src/index.js";
import { allStrategies } from "../strategies/harness.js";
import { MapBackend } from "../support/map-backend.js";

describe("a custom backend built from the primitives alone", () => {
  // An hour-long window: nothing refills while the test runs, so capacity is exact.
  const rate = Rate.parse("6/h");
  for (const strategy of allStrategies()) {
    it(`${strategy.name}: 60 concurrent requests admit exactly the capacity`, async () => {
      const backend = new MapBackend({ namespace: "custom" });
      const request = { uid: "api", identity: "client", strategy, rate, cost: 1 };
      const steps = await Promise.all(
        Array.from({ length: 60 }, () => backend.decide(request, "consume")),
      );
      assert.equal(steps.filter((s) => s.allowed).length, strategy.capacity(rate));
    });
  }

  it("serves throttles, all-or-nothing groups and client resets", async () => {
    const backend = new MapBackend({ namespace: "custom" });
    const perSecond = new HTTPThrottle<string>({
      uid: "s",
      rate: "5/h",
      backend,
      identifier: (c) => c,
    });
    const perHour = new HTTPThrottle<string>({
      uid: "h",
      rate: "3/h",
      backend,
      identifier: (c) => c,
    });
    const groups = await Promise.all(
      Array.from({ length: 10 }, () => tryHitAll([perSecond, perHour], "x")),
    );
    assert.equal(groups.filter((g) => g.every((d) => d.allowed)).length, 3);
    // 5 - 3 admitted - 1 for the peeked request itself: the rejected groups consumed nothing.
    assert.equal((await perSecond.peek("x")).remaining, 1);
    await perHour.reset("x");
    assert.equal((await perHour.tryHit("x")).allowed, true);
  });
});
