import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { serve } from "@hono/node-server";
import { type Context, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/hono";
import {
  appThrottledAnswer,
  describeDecision,
  httpSuite,
  type SuiteContext,
} from "./http-suite.js";

function buildApp({ throttles: t, options: o, backend, tenants, appHooks }: SuiteContext<Context>) {
  const app = new Hono();
  app.use(
    ThrottleMiddleware({
      backend,
      ...appHooks,
      middlewareThrottles: [
        MiddlewareThrottle(t.prefix, { path: "/mw/prefix/" }),
        MiddlewareThrottle(t.pattern, { path: /^\/mw\/re\/\d+$/g }),
        MiddlewareThrottle(t.methods, { path: "/mw/methods", methods: ["post", "Put"] }),
        MiddlewareThrottle(t.hooked, {
          path: "/mw/hooked",
          hook: async (c) => c.req.header("x-hooked") === "yes",
        }),
        MiddlewareThrottle(t.orderFirst, { path: "/mw/order" }),
        MiddlewareThrottle(t.orderSecond, { path: "/mw/order" }),
        MiddlewareThrottle(t.decisionApp, { path: "/decision" }),
      ],
    }),
  );
  app.get("/decision", throttled(t.decisionRoute), (c) =>
    c.json(describeDecision(c.get("traffik"))),
  );
  app.get("/undecided", (c) => c.json(describeDecision(c.var.traffik)));
  app.all("/mw/*", (c) => c.text("ok"));
  const ok = (c: Context) => c.json({ ok: true });
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
  app.get("/manual", async (c) => {
    await t.manual.hit(c);
    return c.json({ ok: true });
  });
  app.get("/spoof", throttled(t.spoof), ok);
  app.get("/message-text", throttled(o.messageText, t.messageText), ok);
  app.get("/message-object", throttled(o.messageObject, t.messageObject), ok);
  app.get("/message-fn", throttled(o.messageFn, t.messageFn), ok);
  app.get("/message-throws", throttled(o.messageThrows, t.messageThrows), ok);
  app.get("/error-status", throttled(o.errorStatus, t.errorStatus), ok);
  app.get(
    "/tenant",
    (c, next) => (tenants[c.req.header("x-tenant") ?? ""] as InMemoryBackend).run(next),
    throttled(t.tenant),
    ok,
  );
  app.onError((error, c) => {
    const answer = appThrottledAnswer(error);
    if (answer) return c.json(answer.body, answer.status as 429, answer.headers);
    if (error instanceof HTTPException) return error.getResponse();
    return c.json({ error: String(error) }, 500);
  });
  return app;
}

function listen(app: Hono) {
  return new Promise<{ url: string; close: () => Promise<void> }>((resolve) => {
    const server = serve(
      { fetch: app.fetch, port: 0, hostname: "127.0.0.1" },
      (info: AddressInfo) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: () => new Promise((done) => server.close(() => done())),
        });
      },
    );
  });
}

httpSuite<Context>(
  "Hono 4",
  () => {
    throw new HTTPException(503, { message: "busy" });
  },
  (context) => listen(buildApp(context)),
);

describe("Hono: responses the handler builds itself", () => {
  it("adds RateLimit headers to a raw Response returned by the handler", async () => {
    const backend = new InMemoryBackend({ namespace: "raw" });
    const perClient = new HTTPThrottle<Context>({ uid: "raw", rate: "2/m", backend });
    const app = new Hono();
    app.get("/", throttled(perClient), () => new Response("raw", { headers: { "x-own": "1" } }));
    const { url, close } = await listen(app);
    try {
      const response = await fetch(url);
      assert.equal(response.headers.get("x-own"), "1");
      assert.match(response.headers.get("ratelimit") ?? "", /^"raw";r=1;t=\d+$/);
    } finally {
      await close();
    }
  });
});

describe("Hono without a Node response (app.request, other runtimes)", () => {
  it("puts the RateLimit headers in the Responses the handlers build, and answers 429", async () => {
    const backend = new InMemoryBackend({ namespace: "fetch-only" });
    const perClient = new HTTPThrottle<Context>({
      uid: "fetch-only",
      rate: "2/m",
      identifier: () => "one-client",
    });
    const app = new Hono();
    app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(perClient)] }));
    app.get("/context", (c) => c.json({ ok: true }));
    app.get("/raw", () => new Response("raw", { headers: { "x-own": "1" } }));
    try {
      const built = await app.request("/context");
      assert.equal(built.status, 200);
      assert.match(built.headers.get("ratelimit") ?? "", /^"fetch-only";r=1;t=\d+$/);
      const raw = await app.request("/raw");
      assert.equal(raw.headers.get("x-own"), "1");
      assert.match(raw.headers.get("ratelimit") ?? "", /^"fetch-only";r=0;t=\d+$/);
      const throttled = await app.request("/context");
      assert.equal(throttled.status, 429);
      assert.ok(Number(throttled.headers.get("retry-after")) > 0);
      assert.match(throttled.headers.get("ratelimit") ?? "", /^"fetch-only";r=0;t=\d+$/);
    } finally {
      await backend.close();
    }
  });
});
