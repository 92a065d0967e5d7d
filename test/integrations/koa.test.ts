import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import Router from "@koa/router";
import Koa, { type Context } from "koa";
import Koa2 from "koa2";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, type TraffikState, throttled } from "traffik/koa";
import {
  appThrottledAnswer,
  describeDecision,
  httpSuite,
  type SuiteContext,
  serviceLimits,
} from "./http-suite.js";
import { pendingWaits, queueThrottles, until } from "./turn-support.js";

function buildApp(
  Framework: typeof Koa,
  { throttles: t, options: o, backend, tenants, appHooks }: SuiteContext<Context>,
): Koa {
  const app = new Framework();
  // The app's error handling, as Koa apps write it: the first middleware catches.
  app.use(async (ctx, next) => {
    try {
      await next();
    } catch (error) {
      const answer = appThrottledAnswer(error);
      if (answer) {
        ctx.status = answer.status;
        ctx.set(answer.headers);
        ctx.body = answer.body;
        return;
      }
      ctx.status = (error as { status?: number }).status ?? 500;
      ctx.body = { error: String(error) };
    }
  });
  app.use(
    ThrottleMiddleware<Context>({
      backend,
      ...appHooks,
      middlewareThrottles: [
        MiddlewareThrottle(t.prefix, { path: "/mw/prefix/" }),
        MiddlewareThrottle(t.pattern, { path: /^\/mw\/re\/\d+$/g }),
        MiddlewareThrottle(t.methods, { path: "/mw/methods", methods: ["post", "Put"] }),
        MiddlewareThrottle(t.hooked, {
          path: "/mw/hooked",
          hook: async (ctx) => ctx.get("x-hooked") === "yes",
        }),
        MiddlewareThrottle(t.orderFirst, { path: "/mw/order" }),
        MiddlewareThrottle(t.orderSecond, { path: "/mw/order" }),
        MiddlewareThrottle(t.decisionApp, { path: "/decision" }),
      ],
    }),
  );
  const router = new Router();
  const readDecision = (ctx: Context) => {
    ctx.body = describeDecision((ctx.state as TraffikState).traffik);
  };
  router.get("/decision", throttled(t.decisionRoute), readDecision);
  router.get("/undecided", readDecision);
  router.all(/^\/mw\//, (ctx) => {
    ctx.body = "ok";
  });
  const ok = (ctx: Context) => {
    ctx.body = { ok: true };
  };
  router.get("/single", throttled(t.single), ok);
  router.get("/pair", throttled(t.pairShort, t.pairLong), ok);
  router.get("/draft7", throttled({ headers: "draft-7" }, t.draft7), ok);
  router.get("/draft6", throttled({ headers: "draft-6" }, t.draft6), ok);
  router.get("/legacy", throttled({ headers: "legacy" }, t.legacy), ok);
  router.get("/none", throttled({ headers: false }, t.none), ok);
  router.get("/error-mode", throttled({ respondWith: "error" }, t.errorMode), ok);
  router.get("/native", throttled(t.native), ok);
  router.get("/shadow", throttled(t.shadow), ok);
  router.get("/watch", throttled(t.watch), ok);
  router.get("/watch-pair", throttled(t.watchGate, t.watchTight), ok);
  router.get("/denied", throttled(t.denied), ok);
  router.get("/allowed", throttled(t.allowed), ok);
  router.get("/broken", throttled(t.broken), ok);
  router.get("/manual", async (ctx) => {
    await t.manual.hit(ctx);
    ctx.body = { ok: true };
  });
  router.get("/spoof", throttled(t.spoof), ok);
  router.get("/message-text", throttled(o.messageText, t.messageText), ok);
  router.get("/message-object", throttled(o.messageObject, t.messageObject), ok);
  router.get("/message-fn", throttled(o.messageFn, t.messageFn), ok);
  router.get("/message-throws", throttled(o.messageThrows, t.messageThrows), ok);
  router.get("/error-status", throttled(o.errorStatus, t.errorStatus), ok);
  router.get(
    "/tenant",
    (ctx, next) => (tenants[ctx.get("x-tenant")] as InMemoryBackend).run(next),
    throttled(t.tenant),
    ok,
  );
  app.use(router.routes());
  return app;
}

function listen(app: Koa): Promise<{ url: string; server: Server; close: () => Promise<void> }> {
  return new Promise((resolve) => {
    const server = app.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        server,
        close: () => {
          // Keep-alive sockets the test client left open would hold close() for seconds.
          server.closeAllConnections();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}

for (const [name, Framework] of [
  ["Koa 3", Koa],
  ["Koa 2", Koa2],
] as const) {
  httpSuite<Context>(
    name,
    (ctx) => ctx.throw(503, "busy"),
    (context) => listen(buildApp(Framework, context)),
  );
}

describe("Koa: its own client address and error handling", () => {
  it("follows app.proxy with maxIpsCount: behind a trusted proxy, clients are told apart by X-Forwarded-For", async () => {
    const backend = new InMemoryBackend({ namespace: "koa-proxy" });
    const perClient = new HTTPThrottle<Context>({ uid: "per-client", rate: "1/m", backend });
    const app = new Koa({ proxy: true, maxIpsCount: 1 });
    app.use(throttled(perClient));
    app.use((ctx) => {
      ctx.body = "ok";
    });
    const { url, close } = await listen(app);
    try {
      const from = (ip: string) => fetch(url, { headers: { "x-forwarded-for": ip } });
      assert.equal((await from("198.51.100.1")).status, 200);
      assert.equal((await from("198.51.100.1")).status, 429);
      // Only the right-most entry counts: what the proxy wrote, not what the client prepended.
      assert.equal((await from("203.0.113.9, 198.51.100.1")).status, 429);
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

  it("warns once per app when app.proxy believes every X-Forwarded-For entry", async () => {
    const warnings: Error[] = [];
    const onWarning = (warning: Error) => warnings.push(warning);
    process.on("warning", onWarning);
    const backend = new InMemoryBackend({ namespace: "koa-permissive" });
    const perClient = new HTTPThrottle<Context>({ uid: "permissive", rate: "5/m", backend });
    const app = new Koa({ proxy: true });
    app.use(ThrottleMiddleware());
    app.use(throttled(perClient));
    app.use((ctx) => {
      ctx.body = "ok";
    });
    const { url, close } = await listen(app);
    try {
      for (let n = 0; n < 3; n++) assert.equal((await fetch(url)).status, 200);
      await new Promise((resolve) => setImmediate(resolve));
      const ours = warnings.filter(
        (w) => (w as { code?: string }).code === "TRAFFIK_PERMISSIVE_TRUST_PROXY",
      );
      assert.equal(ours.length, 1, "one warning for the app, not one per middleware or request");
      assert.match(ours[0]?.message ?? "", /maxIpsCount/);
    } finally {
      process.off("warning", onWarning);
      await close();
    }
  });

  it("respondWith error meets Koa's own error handling: a 429 with its headers, not logged as a fault", async () => {
    const backend = new InMemoryBackend({ namespace: "koa-default-errors" });
    const once = new HTTPThrottle<Context>({ uid: "once", rate: "1/m", backend });
    const app = new Koa();
    const logged: unknown[] = [];
    // Koa logs an error it handles itself unless the error is exposed (a client error).
    app.on("error", (error: { expose?: boolean }) => {
      if (!error.expose) logged.push(error);
    });
    app.use(throttled({ respondWith: "error" }, once));
    app.use((ctx) => {
      ctx.body = "ok";
    });
    const { url, close } = await listen(app);
    try {
      assert.equal((await fetch(url)).status, 200);
      const throttledResponse = await fetch(url);
      assert.equal(throttledResponse.status, 429);
      const retryAfter = Number(throttledResponse.headers.get("retry-after"));
      assert.ok(retryAfter >= 1 && retryAfter <= 60);
      assert.equal(serviceLimits(throttledResponse).once?.r, 0);
      assert.equal(
        await throttledResponse.text(),
        `Too many requests. Retry in ${retryAfter} second${retryAfter === 1 ? "" : "s"}.`,
      );
      assert.deepEqual(logged, []);
    } finally {
      await close();
    }
  });

  it("rejects anything but throttles at startup", () => {
    assert.throws(() => throttled(), /at least one throttle/);
    assert.throws(() => throttled({ headers: "draft-99" as "draft-7" }), /headers must be/);
    const backend = new InMemoryBackend({ namespace: "koa-startup" });
    const throttle = new HTTPThrottle<Context>({ uid: "startup", rate: "1/m", backend });
    assert.throws(
      () => throttled({ respondwith: "json" } as never, throttle),
      /did you mean "respondWith"/,
    );
    assert.throws(
      () => ThrottleMiddleware({ middlewareThrottles: [{} as never] }),
      /MiddlewareThrottle/,
    );
  });
});

for (const [name, Framework] of [
  ["Koa 3", Koa],
  ["Koa 2", Koa2],
] as const) {
  describe(`${name}: a request aborted while it waits for its turn`, () => {
    const handled: string[] = [];
    const errors: string[] = [];
    let app: Awaited<ReturnType<typeof listen>>;
    before(async () => {
      const t = queueThrottles();
      const koa = new Framework();
      koa.use(async (ctx, next) => {
        try {
          await next();
        } catch (error) {
          errors.push(`${ctx.path}: ${String(error)}`);
          ctx.status = 500;
        }
      });
      koa.use(
        ThrottleMiddleware({ middlewareThrottles: [MiddlewareThrottle(t.app, { path: "/app" })] }),
      );
      const router = new Router();
      const handler = (ctx: Context) => {
        handled.push(ctx.path);
        ctx.body = "ok";
      };
      router.get("/one", throttled(t.one), handler);
      router.get("/pair", throttled(t.pairA, t.pairB), handler);
      router.get("/app", handler);
      koa.use(router.routes());
      app = await listen(koa);
    });
    after(() => app.close());

    for (const path of ["/one", "/pair", "/app"]) {
      it(`${path}: runs nothing and leaves no timer`, async () => {
        await until(() => pendingWaits.size === 0, "nothing waits before the test");
        const first = await fetch(`${app.url}${path}`);
        assert.equal(first.status, 200, "the first request starts at once");
        await first.text();
        const client = new AbortController();
        const second = fetch(`${app.url}${path}`, { signal: client.signal }).then(
          () => "answered",
          (error: Error) => error.name,
        );
        await until(() => pendingWaits.size === 1, "the second request waits for its turn");
        client.abort();
        assert.equal(await second, "AbortError");
        await until(() => pendingWaits.size === 0, "its wait ended with its client");
        assert.deepEqual(handled, [path], "only the first request reached the handler");
        assert.deepEqual(errors, [], "no error handler ran for the aborted request");
        handled.length = 0;
      });
    }
  });
}
