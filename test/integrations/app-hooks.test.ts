/**
 * The app's hooks and options on `ThrottleMiddleware`, on Express over real sockets: a real
 * Redis killed under the app reaches `onBackendError` for the middleware's throttle and the
 * route's; a hook that throws leaves the answer standing; apps do not see each other's
 * requests; the decision serializes; bad options fail at once.
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import express from "express";
import {
  type BackendErrorEvent,
  type DecisionEvent,
  HTTPThrottle,
  type ThrottledEvent,
} from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { RedisBackend } from "traffik/backends/redis";
import { BackendError, ConfigurationError } from "traffik/errors";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/express";
import { hasBinary, startRedis } from "../support/servers.js";

async function listen(app: express.Express): Promise<{ url: string; server: Server }> {
  const server = app.listen(0, "127.0.0.1");
  await new Promise((resolve) => server.once("listening", resolve));
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, server };
}

function closeServer(server: Server): Promise<void> {
  return new Promise((resolve) => server.close(() => resolve()));
}

describe("the app's hooks on ThrottleMiddleware", () => {
  it("onBackendError: a real Redis killed under the app, for its throttle and the route's", {
    skip: !hasBinary("redis-server"),
  }, async (t) => {
    const redis = await startRedis();
    const backend = new RedisBackend({
      connection: redis.url,
      namespace: "app-hooks",
      // Generous: on a loaded machine the first script load alone can take half a second.
      timeoutMs: 5000,
      degradedMode: false,
    });
    const errors: BackendErrorEvent[] = [];
    const throttledEvents: ThrottledEvent[] = [];
    const app = express();
    app.use(
      ThrottleMiddleware({
        backend,
        onBackendError: (event) => errors.push(event),
        onThrottled: (event) => throttledEvents.push(event),
        middlewareThrottles: [
          MiddlewareThrottle(
            new HTTPThrottle<express.Request>({ uid: "app-api", rate: "10/m", onError: "allow" }),
          ),
        ],
      }),
    );
    const route = new HTTPThrottle<express.Request>({
      uid: "app-route",
      rate: "10/m",
      onError: "throttle",
    });
    app.get("/", throttled(route), (_req, res) => {
      res.json({ ok: true });
    });
    const { url, server } = await listen(app);
    t.after(async () => {
      await closeServer(server);
      await backend.close().catch(() => {});
      await redis.stop();
    });
    await backend.ready();
    assert.equal((await fetch(url)).status, 200);
    assert.equal(errors.length, 0, "no failure while Redis answers");
    await redis.kill();
    const during = await fetch(url);
    assert.equal(during.status, 429, "the route's onError throttles during the outage");
    assert.deepEqual(
      errors.map((event) => [event.uid, event.action, event.error instanceof BackendError]),
      [
        ["app-api", "allow", true],
        ["app-route", "throttle", true],
      ],
    );
    assert.deepEqual(
      throttledEvents.map((event) => [event.uid, event.source]),
      [["app-route", "error"]],
    );
  });

  it("a hook that throws leaves the answer standing, reported as a warning", async (t) => {
    const backend = new InMemoryBackend({ namespace: "app-hooks-throws" });
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    const app = express();
    app.use(
      ThrottleMiddleware({
        backend,
        onThrottled: () => {
          throw new Error("hook exploded");
        },
      }),
    );
    app.get(
      "/",
      throttled(new HTTPThrottle<express.Request>({ uid: "throws", rate: "1/m" })),
      (req, res) => {
        // The decision as JSON, as a logger would write it.
        res.type("json").send(JSON.stringify(req.traffik));
      },
    );
    const { url, server } = await listen(app);
    t.after(async () => {
      process.off("warning", onWarning);
      await closeServer(server);
      await backend.close();
    });
    const admitted = await fetch(url);
    const json = (await admitted.json()) as Record<string, unknown>;
    assert.equal(json.allowed, true);
    assert.equal(json.remaining, 0);
    assert.deepEqual(json.policy, {
      uid: "throws",
      rate: { limit: 1, windowMs: 60_000 },
      strategy: "fixed-window",
    });
    assert.equal(typeof json.resetAt, "string");
    assert.equal((json.decisions as unknown[]).length, 1);
    assert.equal((await fetch(url)).status, 429, "still rejected");
    await new Promise((resolve) => setImmediate(resolve));
    assert.ok(
      warnings.some((w) =>
        /ThrottleMiddleware: its onThrottled hook threw: hook exploded/.test(w.message),
      ),
      "reported",
    );
  });

  it("hooks belong to their app: another app's requests are not seen", async (t) => {
    const backend = new InMemoryBackend({ namespace: "app-hooks-two" });
    const seen: DecisionEvent[] = [];
    const watched = express();
    watched.use(ThrottleMiddleware({ backend, onDecision: (event) => seen.push(event) }));
    const plain = express();
    plain.use(ThrottleMiddleware({ backend }));
    const route = (uid: string) =>
      throttled(new HTTPThrottle<express.Request>({ uid, rate: "5/m" }));
    watched.get("/", route("watched"), (_req, res) => {
      res.end();
    });
    plain.get("/", route("plain"), (_req, res) => {
      res.end();
    });
    const a = await listen(watched);
    const b = await listen(plain);
    t.after(async () => {
      await closeServer(a.server);
      await closeServer(b.server);
      await backend.close();
    });
    await fetch(b.url);
    await fetch(a.url);
    await fetch(b.url);
    assert.deepEqual(
      seen.map((event) => event.uid),
      ["watched"],
    );
  });

  it("rejects bad hooks, statusCode and message at once, naming them", () => {
    const bad: [object, RegExp][] = [
      [{ onDecision: "log" }, /onDecision must be a function/],
      [{ statusCode: 200 }, /statusCode must be a whole number from 400 to 599/],
      [{ statusCode: 600 }, /statusCode/],
      [{ message: 42 }, /message must be a string, a JSON-able object or a function/],
      [{ message: "x", respondWith: "error" }, /respondWith "error"/],
      [{ statuscode: 503 }, /statusCode/],
    ];
    for (const [options, message] of bad) {
      assert.throws(
        () => ThrottleMiddleware(options as never),
        (error: unknown) => {
          assert.ok(error instanceof ConfigurationError);
          assert.match(error.message, message);
          return true;
        },
      );
    }
    const one = new HTTPThrottle<express.Request>({ uid: "checked", rate: "1/m" });
    assert.throws(() => throttled({ statusCode: 99 }, one), ConfigurationError);
    assert.throws(
      () => throttled({ message: () => "x", respondWith: "error" }, one),
      ConfigurationError,
    );
  });
});
