import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import express, { type ErrorRequestHandler, type Request } from "express";
import express4 from "express4";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/express";
import {
  appThrottledAnswer,
  describeDecision,
  httpSuite,
  type SuiteContext,
  serviceLimits,
} from "./http-suite.js";

class ServiceUnavailable extends Error {
  status = 503;
}

function buildApp(
  create: () => express.Express,
  { throttles: t, options: o, backend, tenants, appHooks }: SuiteContext<Request>,
) {
  const app = create();
  app.use(
    ThrottleMiddleware<Request>({
      backend,
      ...appHooks,
      middlewareThrottles: [
        MiddlewareThrottle(t.prefix, { path: "/mw/prefix/" }),
        MiddlewareThrottle(t.pattern, { path: /^\/mw\/re\/\d+$/g }),
        MiddlewareThrottle(t.methods, { path: "/mw/methods", methods: ["post", "Put"] }),
        MiddlewareThrottle(t.hooked, {
          path: "/mw/hooked",
          hook: async (req) => req.headers["x-hooked"] === "yes",
        }),
        MiddlewareThrottle(t.orderFirst, { path: "/mw/order" }),
        MiddlewareThrottle(t.orderSecond, { path: "/mw/order" }),
        MiddlewareThrottle(t.decisionApp, { path: "/decision" }),
      ],
    }),
  );
  app.get("/decision", throttled(t.decisionRoute), (req, res) => {
    res.json(describeDecision(req.traffik));
  });
  app.get("/undecided", (req, res) => {
    res.json(describeDecision(req.traffik));
  });
  app.get("/message-text", throttled(o.messageText, t.messageText), (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/message-object", throttled(o.messageObject, t.messageObject), (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/message-fn", throttled(o.messageFn, t.messageFn), (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/message-throws", throttled(o.messageThrows, t.messageThrows), (_req, res) => {
    res.json({ ok: true });
  });
  app.get("/error-status", throttled(o.errorStatus, t.errorStatus), (_req, res) => {
    res.json({ ok: true });
  });
  app.all(/^\/mw\//, (_req, res) => {
    res.send("ok");
  });
  const ok: express.RequestHandler = (_req, res) => {
    res.json({ ok: true });
  };
  app.get("/single", throttled(t.single), ok);
  app.get("/pair", throttled(t.pairShort, t.pairLong), ok);
  app.get("/draft7", throttled({ headers: "draft-7" }, t.draft7), ok);
  app.get("/draft6", throttled({ headers: "draft-6" }, t.draft6), ok);
  app.get("/legacy", throttled({ headers: "legacy" }, t.legacy), ok);
  app.get("/none", throttled({ headers: false }, t.none), ok);
  app.get("/error-mode", throttled({ respondWith: "error" }, t.errorMode), ok);
  app.get("/native", throttled(t.native), ok);
  app.get("/shadow", throttled(t.shadow), ok);
  app.get("/watch", throttled(t.watch), ok);
  app.get("/watch-pair", throttled(t.watchGate, t.watchTight), ok);
  app.get("/denied", throttled(t.denied), ok);
  app.get("/allowed", throttled(t.allowed), ok);
  app.get("/broken", throttled(t.broken), ok);
  app.get("/manual", async (req, res, next) => {
    try {
      await t.manual.hit(req);
      res.json({ ok: true });
    } catch (error) {
      next(error);
    }
  });
  app.get("/spoof", throttled(t.spoof), ok);
  app.get(
    "/tenant",
    (req, _res, next) => {
      const tenant = tenants[String(req.headers["x-tenant"])] as InMemoryBackend;
      tenant.run(next);
    },
    throttled(t.tenant),
    ok,
  );
  const onError: ErrorRequestHandler = (error, _req, res, _next) => {
    const answer = appThrottledAnswer(error);
    if (answer) return void res.status(answer.status).set(answer.headers).json(answer.body);
    res.status((error as { status?: number }).status ?? 500).json({ error: String(error) });
  };
  app.use(onError);
  return app;
}

function listen(app: express.Express) {
  return new Promise<{ url: string; close: () => Promise<void> }>((resolve) => {
    const server = app.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => new Promise((done) => server.close(() => done())),
      });
    });
  });
}

const nativeError = () => {
  throw new ServiceUnavailable("busy");
};
httpSuite<Request>("Express 5", nativeError, (context) => listen(buildApp(express, context)));
httpSuite<Request>("Express 4", nativeError, (context) => listen(buildApp(express4, context)));

describe("Express: its own client address", () => {
  it("follows `trust proxy`: behind a trusted proxy, clients are told apart by X-Forwarded-For", async () => {
    const backend = new InMemoryBackend({ namespace: "trust" });
    const perClient = new HTTPThrottle<Request>({ uid: "per-client", rate: "1/m", backend });
    const app = express();
    app.set("trust proxy", "loopback");
    app.get("/", throttled(perClient), (_req, res) => {
      res.send("ok");
    });
    const { url, close } = await listen(app);
    try {
      const from = (ip: string) => fetch(url, { headers: { "x-forwarded-for": ip } });
      assert.equal((await from("198.51.100.1")).status, 200);
      assert.equal((await from("198.51.100.1")).status, 429);
      assert.equal((await from("198.51.100.2")).status, 200);
      // One subscriber rotating through its IPv6 /56 is one client.
      assert.equal((await from("2001:db8:0:1::1")).status, 200);
      const rotated = await from("2001:db8:0:2::99");
      assert.equal(rotated.status, 429);
      assert.equal(serviceLimits(rotated)["per-client"]?.r, 0);
    } finally {
      await close();
    }
  });

  it("rejects anything but throttles at startup", () => {
    assert.throws(() => throttled(), /at least one throttle/);
    assert.throws(() => throttled({ headers: "draft-99" as "draft-7" }), /headers must be/);
    assert.throws(
      () => ThrottleMiddleware({ middlewareThrottles: [{} as never] }),
      /MiddlewareThrottle/,
    );
  });
});
