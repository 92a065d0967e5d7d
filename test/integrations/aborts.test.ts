/**
 * A request admitted by the queueing leaky bucket waits for its turn. When its client goes away
 * during that wait, nothing may run for it: no route handler, no error handler, and no timer or
 * listener is left behind. Each framework is tried on a real server over loopback, on a route
 * with one throttle, a route with two (all or nothing) and an app-wide throttle.
 */
import "reflect-metadata";
import assert from "node:assert/strict";
import { getEventListeners } from "node:events";
import { after, before, describe, it } from "node:test";
import { serve } from "@hono/node-server";
import { Controller, Get, Module } from "@nestjs/common";
import { NestFactory } from "@nestjs/core";
import { FastifyAdapter } from "@nestjs/platform-fastify";
import express from "express";
import express4 from "express4";
import Fastify from "fastify";
import { Hono } from "hono";
import { tryHitAll } from "traffik";
import * as forExpress from "traffik/express";
import * as forFastify from "traffik/fastify";
import * as forHono from "traffik/hono";
import { Throttled, TraffikModule } from "traffik/nestjs";
import { pendingWaits, queueThrottles, until } from "./turn-support.js";

/** What ran on the server: route handlers and error handlers, per path. */
class Runs {
  readonly handled: string[] = [];
  readonly errors: string[] = [];
}

interface AbortApp {
  url: string;
  close(): Promise<void>;
}

/** Every app serves GET /one, /pair (all or nothing) and /app (an app-wide throttle). */
type StartApp = (throttles: ReturnType<typeof queueThrottles>, runs: Runs) => Promise<AbortApp>;

const PATHS = ["/one", "/pair", "/app"] as const;

function abortSuite(name: string, start: StartApp): void {
  describe(`${name}: a request aborted while it waits for its turn`, () => {
    const runs = new Runs();
    let app: AbortApp;
    before(async () => {
      app = await start(queueThrottles(), runs);
    });
    after(() => app.close());

    for (const path of PATHS) {
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
        assert.deepEqual(runs.handled, [path], "only the first request reached the handler");
        assert.deepEqual(runs.errors, [], "no error handler ran for the aborted request");
        runs.handled.length = 0;
      });
    }
  });
}

function listening(server: import("node:http").Server): Promise<AbortApp> {
  return new Promise((resolve) => {
    server.once("listening", () => {
      const { port } = server.address() as import("node:net").AddressInfo;
      resolve({
        url: `http://127.0.0.1:${port}`,
        close: () => {
          // Keep-alive sockets the test client left open would hold close() for seconds.
          server.closeAllConnections();
          return new Promise((done) => server.close(() => done()));
        },
      });
    });
  });
}

for (const [name, create] of [
  ["Express 5", express],
  ["Express 4", express4],
] as const) {
  abortSuite(name, async (t, runs) => {
    const app = create();
    app.use(
      forExpress.ThrottleMiddleware({
        middlewareThrottles: [forExpress.MiddlewareThrottle(t.app, { path: "/app" })],
      }),
    );
    const handler: express.RequestHandler = (req, res) => {
      runs.handled.push(req.path);
      res.send("ok");
    };
    app.get("/one", forExpress.throttled(t.one), handler);
    app.get("/pair", forExpress.throttled(t.pairA, t.pairB), handler);
    app.get("/app", handler);
    const onError: express.ErrorRequestHandler = (error, req, res, _next) => {
      runs.errors.push(`${req.path}: ${String(error)}`);
      res.status(500).end();
    };
    app.use(onError);
    return listening(app.listen(0, "127.0.0.1"));
  });
}

abortSuite("Fastify 5", async (t, runs) => {
  const app = Fastify({ forceCloseConnections: true });
  await app.register(forFastify.ThrottleMiddleware, {
    middlewareThrottles: [forFastify.MiddlewareThrottle(t.app, { path: "/app" })],
  });
  const handler = async (request: { url: string }) => {
    runs.handled.push(request.url);
    return "ok";
  };
  app.get("/one", { onRequest: forFastify.throttled(t.one) }, handler);
  app.get("/pair", { onRequest: forFastify.throttled(t.pairA, t.pairB) }, handler);
  app.get("/app", handler);
  app.setErrorHandler((error, request, reply) => {
    runs.errors.push(`${request.url}: ${String(error)}`);
    return reply.code(500).send();
  });
  const url = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url, close: () => app.close() };
});

abortSuite("Hono 4 on @hono/node-server", async (t, runs) => {
  const app = new Hono();
  app.use(
    forHono.ThrottleMiddleware({
      middlewareThrottles: [forHono.MiddlewareThrottle(t.app, { path: "/app" })],
    }),
  );
  const handler = (c: import("hono").Context) => {
    runs.handled.push(c.req.path);
    return c.text("ok");
  };
  app.get("/one", forHono.throttled(t.one), handler);
  app.get("/pair", forHono.throttled(t.pairA, t.pairB), handler);
  app.get("/app", handler);
  app.onError((error, c) => {
    runs.errors.push(`${c.req.path}: ${String(error)}`);
    return c.text("error", 500);
  });
  const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" });
  return listening(server as import("node:http").Server);
});

for (const platform of ["express", "fastify"] as const) {
  abortSuite(`NestJS on ${platform}`, async (t, runs) => {
    class QueueController {
      one() {
        runs.handled.push("/one");
        return "ok";
      }
      pair() {
        runs.handled.push("/pair");
        return "ok";
      }
      app() {
        runs.handled.push("/app");
        return "ok";
      }
    }
    const proto = QueueController.prototype;
    const on = (method: "one" | "pair" | "app", ...decorators: MethodDecorator[]) =>
      Reflect.decorate(decorators, proto, method, Object.getOwnPropertyDescriptor(proto, method));
    Reflect.decorate([Controller() as ClassDecorator], QueueController);
    on("one", Get("one"), Throttled(t.one) as MethodDecorator);
    on("pair", Get("pair"), Throttled(t.pairA, t.pairB) as MethodDecorator);
    // The module's throttles are Nest's app-wide throttles; only /app may use this one.
    on("app", Get("app"), Throttled(t.app) as MethodDecorator);
    class AppModule {}
    Reflect.decorate(
      [
        Module({
          imports: [TraffikModule.forRoot({})],
          controllers: [QueueController],
        }) as ClassDecorator,
      ],
      AppModule,
    );
    const app =
      platform === "fastify"
        ? await NestFactory.create(AppModule, new FastifyAdapter(), { logger: false })
        : await NestFactory.create(AppModule, { logger: false });
    // Nest's exception layer is its error handling: note what reaches it.
    app.useGlobalFilters({
      catch(error: unknown, host: import("@nestjs/common").ArgumentsHost) {
        const request = host.switchToHttp().getRequest<{ url: string }>();
        runs.errors.push(`${request.url}: ${String(error)}`);
      },
    });
    await app.listen(0, "127.0.0.1");
    const url = (await app.getUrl()).replace("[::1]", "127.0.0.1");
    const server = app.getHttpServer() as import("node:http").Server;
    return {
      url,
      close: () => {
        server.closeAllConnections();
        return app.close();
      },
    };
  });
}

describe("hit(), tryHit() and tryHitAll() given a signal", () => {
  const t = queueThrottles();
  const client = { ip: "192.0.2.1", headers: {}, socket: { remoteAddress: "192.0.2.1" } };
  const calls = {
    "hit()": (signal: AbortSignal) => t.one.hit(client as never, { signal }),
    "tryHit()": (signal: AbortSignal) => t.app.tryHit(client as never, { signal }),
    "tryHitAll()": (signal: AbortSignal) =>
      tryHitAll([t.pairA, t.pairB], client as never, { signal }),
  };
  for (const [name, call] of Object.entries(calls)) {
    it(`${name}: an abort mid-wait rejects with the signal's reason, leaving no timer or listener`, async () => {
      await until(() => pendingWaits.size === 0, "nothing waits before the test");
      await call(new AbortController().signal);
      const controller = new AbortController();
      const waiting = call(controller.signal);
      await until(() => pendingWaits.size === 1, "the second call waits for its turn");
      assert.equal(getEventListeners(controller.signal, "abort").length, 1);
      const reason = new Error("client went away");
      controller.abort(reason);
      await assert.rejects(waiting, (error) => error === reason);
      await until(() => pendingWaits.size === 0, "no timer is left");
      assert.equal(getEventListeners(controller.signal, "abort").length, 0, "no listener is left");
    });
  }

  it("an already aborted signal rejects at once, before any wait", async () => {
    const fresh = queueThrottles();
    await fresh.one.hit(client as never);
    const reason = new Error("gone before");
    const signal = AbortSignal.abort(reason);
    const waiting = fresh.one.hit(client as never, { signal });
    await assert.rejects(waiting, (error) => error === reason);
    await until(() => pendingWaits.size === 0, "no timer");
  });
});
