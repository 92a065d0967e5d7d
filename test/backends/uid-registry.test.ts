import assert from "node:assert/strict";
import { describe, it } from "node:test";
import { InMemoryBackend } from "../../src/backends/inmemory/index.js";
import { ConfigurationError } from "../../src/errors.js";
import { MiddlewareThrottle, ThrottleMiddleware } from "../../src/integrations/express/index.js";
import { HTTPThrottle } from "../../src/throttles/http.js";

describe("throttle uids on an app-wide backend", () => {
  it("are claimed when the middleware is made: a duplicate fails at startup", () => {
    const backend = new InMemoryBackend({ namespace: "uids" });
    const first = new HTTPThrottle({ uid: "api", rate: "5/m" });
    const second = new HTTPThrottle({ uid: "api", rate: "50/h" });
    assert.throws(
      () =>
        ThrottleMiddleware({
          backend,
          middlewareThrottles: [MiddlewareThrottle(first), MiddlewareThrottle(second)],
        }),
      (error: Error) => error instanceof ConfigurationError && /uid "api"/.test(error.message),
    );
  });

  it("leave a throttle with its own backend, or a dynamic one, to that backend", () => {
    const app = new InMemoryBackend({ namespace: "app" });
    const own = new InMemoryBackend({ namespace: "own" });
    const mine = new HTTPThrottle({ uid: "api", rate: "5/m", backend: own });
    const dynamic = new HTTPThrottle({ uid: "api", rate: "5/m", dynamicBackend: true });
    const shared = new HTTPThrottle({ uid: "api", rate: "5/m" });
    ThrottleMiddleware({
      backend: app,
      middlewareThrottles: [mine, dynamic, shared].map((throttle) => MiddlewareThrottle(throttle)),
    });
    assert.equal(mine.resolveBackend(), own);
    assert.throws(() => shared.resolveBackend(), /has no backend/, "made, not bound for ever");
  });
});
