/**
 * A migration runs both limiters side by side: Traffik's decision in the handler is named
 * `traffik`, so express-rate-limit's `req.rateLimit` and hono-rate-limiter's
 * `c.get("rateLimit")` stay as they were, and each limiter enforces its own limit.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { serve } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import express from "express";
import { rateLimit as expressRateLimit } from "express-rate-limit";
import { Hono } from "hono";
import { rateLimiter as honoRateLimiter } from "hono-rate-limiter";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import * as traffikExpress from "traffik/express";
import * as traffikHono from "traffik/hono";
import { SlidingWindowLogStrategy } from "traffik/strategies";

const strategy = new SlidingWindowLogStrategy();

async function statusesAndBodies(url: string, n: number) {
  const seen: [number, unknown][] = [];
  for (let i = 0; i < n; i++) {
    const response = await fetch(url);
    seen.push([
      response.status,
      response.status === 200 ? await response.json() : await response.text(),
    ]);
  }
  return seen;
}

describe("beside the peers, during a migration", () => {
  it("Express: req.rateLimit (express-rate-limit) and req.traffik side by side", async (t) => {
    const backend = new InMemoryBackend({ namespace: "migration-express" });
    const app = express();
    // The old limiter, app-wide: 3 a minute.
    app.use(expressRateLimit({ windowMs: 60_000, limit: 3, standardHeaders: "draft-6" }));
    const traffik = new HTTPThrottle({ uid: "new", rate: "2/m", strategy, backend });
    app.get("/", traffikExpress.throttled(traffik), (req, res) => {
      // express-rate-limit documents `req.rateLimit` without adding it to Express's types.
      const old = (req as typeof req & { rateLimit?: { remaining: number } }).rateLimit;
      res.json({
        old: old?.remaining,
        new: req.traffik?.remaining,
      });
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    t.after(async () => {
      await new Promise((resolve) => server.close(resolve));
      await backend.close();
    });
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    const first = await fetch(url);
    // Both limiters' headers: express-rate-limit's draft-6 fields, Traffik's draft-11 ones.
    assert.equal(first.headers.get("ratelimit-remaining"), "2");
    assert.match(first.headers.get("ratelimit") ?? "", /^"new";r=1;t=\d+$/);
    assert.deepEqual(await first.json(), { old: 2, new: 1 });
    const rest = await statusesAndBodies(url, 3);
    assert.deepEqual(
      rest.map(([status]) => status),
      [200, 429, 429],
      "Traffik's tighter limit rejects the third; the old one the fourth as well",
    );
    assert.deepEqual(rest[0]?.[1], { old: 1, new: 0 });
  });

  it('Hono: c.get("rateLimit") (hono-rate-limiter) and c.get("traffik") side by side', async (t) => {
    const backend = new InMemoryBackend({ namespace: "migration-hono" });
    // hono-rate-limiter's variable, typed as its README says; Traffik's needs nothing.
    const app = new Hono<{ Variables: { rateLimit: { remaining: number } } }>();
    app.use(
      honoRateLimiter({
        windowMs: 60_000,
        limit: 3,
        standardHeaders: "draft-6",
        keyGenerator: (c) => getConnInfo(c).remote.address ?? "",
      }),
    );
    const traffik = new HTTPThrottle<traffikHono.HonoConnection>({
      uid: "new",
      rate: "2/m",
      strategy,
      backend,
    });
    app.get("/", traffikHono.throttled(traffik), (c) =>
      c.json({
        old: c.get("rateLimit").remaining,
        new: c.get("traffik")?.remaining,
      }),
    );
    const { url, close } = await new Promise<{ url: string; close: () => Promise<void> }>(
      (resolve) => {
        const server = serve(
          { fetch: app.fetch, port: 0, hostname: "127.0.0.1" },
          (info: AddressInfo) =>
            resolve({
              url: `http://127.0.0.1:${info.port}/`,
              close: () => new Promise((done) => server.close(() => done())),
            }),
        );
      },
    );
    t.after(async () => {
      await close();
      await backend.close();
    });
    const seen = await statusesAndBodies(url, 3);
    assert.deepEqual(seen.slice(0, 2), [
      [200, { old: 2, new: 1 }],
      [200, { old: 1, new: 0 }],
    ]);
    assert.equal(seen[2]?.[0], 429);
  });
});
