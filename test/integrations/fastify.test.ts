import assert from "node:assert/strict";
import { describe, it } from "node:test";
import Fastify, { type FastifyRequest } from "fastify";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import { MiddlewareThrottle, ThrottleMiddleware, throttled } from "traffik/fastify";
import {
  appThrottledAnswer,
  describeDecision,
  httpSuite,
  type SuiteContext,
  serviceLimits,
} from "./http-suite.js";

async function buildApp({
  throttles: t,
  options: o,
  backend,
  tenants,
  appHooks,
}: SuiteContext<FastifyRequest>) {
  const app = Fastify();
  await app.register(ThrottleMiddleware, {
    backend,
    ...appHooks,
    middlewareThrottles: [
      MiddlewareThrottle(t.prefix, { path: "/mw/prefix/" }),
      MiddlewareThrottle(t.pattern, { path: /^\/mw\/re\/\d+$/g }),
      MiddlewareThrottle(t.methods, { path: "/mw/methods", methods: ["post", "Put"] }),
      MiddlewareThrottle(t.hooked, {
        path: "/mw/hooked",
        hook: async (request) => request.headers["x-hooked"] === "yes",
      }),
      MiddlewareThrottle(t.orderFirst, { path: "/mw/order" }),
      MiddlewareThrottle(t.orderSecond, { path: "/mw/order" }),
      MiddlewareThrottle(t.decisionApp, { path: "/decision" }),
    ],
  });
  app.get("/decision", { onRequest: throttled(t.decisionRoute) }, async (request) =>
    describeDecision(request.traffik),
  );
  app.get("/undecided", async (request) => describeDecision(request.traffik));
  app.all("/mw/*", async () => "ok");
  const ok = async () => ({ ok: true });
  app.get("/single", { onRequest: throttled(t.single) }, ok);
  app.get("/pair", { onRequest: throttled(t.pairShort, t.pairLong) }, ok);
  app.get("/draft7", { onRequest: throttled({ headers: "draft-7" }, t.draft7) }, ok);
  app.get("/draft6", { onRequest: throttled({ headers: "draft-6" }, t.draft6) }, ok);
  app.get("/legacy", { onRequest: throttled({ headers: "legacy" }, t.legacy) }, ok);
  app.get("/none", { onRequest: throttled({ headers: false }, t.none) }, ok);
  app.get("/error-mode", { onRequest: throttled({ respondWith: "error" }, t.errorMode) }, ok);
  app.get("/native", { preHandler: throttled(t.native) }, ok);
  app.get("/shadow", { onRequest: throttled(t.shadow) }, ok);
  app.get("/watch", { onRequest: throttled(t.watch) }, ok);
  app.get("/watch-pair", { onRequest: throttled(t.watchGate, t.watchTight) }, ok);
  app.get("/denied", { onRequest: throttled(t.denied) }, ok);
  app.get("/allowed", { onRequest: throttled(t.allowed) }, ok);
  app.get("/broken", { onRequest: throttled(t.broken) }, ok);
  app.get("/manual", async (request) => {
    await t.manual.hit(request);
    return { ok: true };
  });
  app.get("/spoof", { onRequest: throttled(t.spoof) }, ok);
  app.get("/message-text", { onRequest: throttled(o.messageText, t.messageText) }, ok);
  app.get("/message-object", { onRequest: throttled(o.messageObject, t.messageObject) }, ok);
  app.get("/message-fn", { onRequest: throttled(o.messageFn, t.messageFn) }, ok);
  app.get("/message-throws", { onRequest: throttled(o.messageThrows, t.messageThrows) }, ok);
  app.get("/error-status", { onRequest: throttled(o.errorStatus, t.errorStatus) }, ok);
  app.get(
    "/tenant",
    {
      onRequest: [
        (request, _reply, done) =>
          (tenants[String(request.headers["x-tenant"])] as InMemoryBackend).run(done),
        throttled(t.tenant),
      ],
    },
    ok,
  );
  app.setErrorHandler((error, _request, reply) => {
    const answer = appThrottledAnswer(error);
    if (answer) return reply.code(answer.status).headers(answer.headers).send(answer.body);
    return reply
      .code((error as { statusCode?: number }).statusCode ?? 500)
      .send({ error: String(error) });
  });
  return app;
}

async function listen(app: Awaited<ReturnType<typeof buildApp>>) {
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: address, close: () => app.close() };
}

httpSuite<FastifyRequest>(
  "Fastify 5",
  () => {
    throw Object.assign(new Error("busy"), { statusCode: 503 });
  },
  async (context) => listen(await buildApp(context)),
);

class WatchedBackend extends InMemoryBackend {
  events: string[] = [];
  override async initialize(): Promise<void> {
    this.events.push("initialize");
  }
  override async close(): Promise<void> {
    this.events.push("close");
    await super.close();
  }
}

describe("Fastify: the app's backend and its own client address", () => {
  it("initializes the backend when the app is ready and closes it with the app", async () => {
    const backend = new WatchedBackend({ namespace: "watched" });
    const app = Fastify();
    await app.register(ThrottleMiddleware, { backend });
    app.get("/", async () => "ok");
    assert.deepEqual(backend.events, []);
    await app.ready();
    assert.deepEqual(backend.events, ["initialize"]);
    await app.close();
    assert.deepEqual(backend.events, ["initialize", "close"]);
  });

  it("follows `trustProxy`: behind a trusted proxy, clients are told apart by X-Forwarded-For", async () => {
    const backend = new InMemoryBackend({ namespace: "trust" });
    const perClient = new HTTPThrottle<FastifyRequest>({ uid: "per-client", rate: "1/m", backend });
    const app = Fastify({ trustProxy: "127.0.0.1" });
    app.get("/", { onRequest: throttled(perClient) }, async () => "ok");
    const { url, close } = await listen(app as never);
    try {
      const from = (ip: string) => fetch(url, { headers: { "x-forwarded-for": ip } });
      assert.equal((await from("198.51.100.1")).status, 200);
      const again = await from("198.51.100.1");
      assert.equal(again.status, 429);
      assert.equal(serviceLimits(again)["per-client"]?.r, 0);
      assert.equal((await from("198.51.100.2")).status, 200);
    } finally {
      await close();
    }
  });

  it("rejects a bad plugin option when registered", async () => {
    const app = Fastify();
    await assert.rejects(async () => {
      await app.register(ThrottleMiddleware, { respondWith: "html" as "json" });
    }, /respondWith must be/);
  });
});
