import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { rateLimitHeaders } from "../../src/integrations/shared/rate-limit-headers.js";
import { GCRAStrategy, TokenBucketStrategy } from "../../src/strategies/index.js";
import { HTTPThrottle } from "../../src/throttles/http.js";

const req = { socket: { remoteAddress: "192.0.2.9" }, headers: {} };

describe("limit, remaining and the policy when a strategy holds more than the rate's limit", () => {
  it("a token bucket of 300 at 60/m reports limit 300, remaining below it, and q=300;w=300", async () => {
    const backend = new InMemoryBackend({ namespace: "h", clock: () => 1_764_633_600_000 });
    const throttle = new HTTPThrottle({
      uid: "bursty",
      rate: "60/m",
      strategy: new TokenBucketStrategy({ burstSize: 300 }),
      backend,
    });
    const decision = await throttle.hit(req);
    assert.equal(decision.limit, 300);
    assert.equal(decision.remaining, 299);
    const headers = new Map(rateLimitHeaders([decision], "draft-11"));
    assert.equal(headers.get("RateLimit-Policy"), '"bursty";q=300;w=300');
    assert.equal(headers.get("RateLimit"), '"bursty";r=299;t=1');
    const draft7 = new Map(rateLimitHeaders([decision], "draft-7"));
    assert.equal(draft7.get("RateLimit"), "limit=300, remaining=299, reset=1");
    assert.equal(draft7.get("RateLimit-Policy"), "300;w=300");
  });

  it("GCRA with burst 1 at 6/s reports limit 1 and the rate scaled to a whole second", async () => {
    const backend = new InMemoryBackend({ namespace: "h", clock: () => 1_764_633_600_000 });
    const strategy = new GCRAStrategy({ burst: 1 });
    const throttle = new HTTPThrottle({ uid: "g", rate: "6/s", strategy, backend });
    const decision = await throttle.hit(req);
    assert.deepEqual([decision.limit, decision.remaining], [1, 0]);
    assert.equal(
      new Map(rateLimitHeaders([decision], "draft-11")).get("RateLimit-Policy"),
      '"g";q=6;w=1',
    );
  });
});
