/**
 * Refunds on real servers with a real client, in every framework: `skipFailedRequests` gives a
 * failed request's cost back (a status of 400 or more, or a client gone before the response
 * finished), `skipSuccessfulRequests` a successful one's, `requestWasSuccessful` decides which
 * is which; an app's middleware throttles that admitted a request a later one rejected are
 * given back (its 429 failed), a group rejected all or nothing is not (it counted nothing).
 */
import assert from "node:assert/strict";
import type { Server } from "node:http";
import type { AddressInfo } from "node:net";
import { after, before, describe, it } from "node:test";
import { serve } from "@hono/node-server";
import Router from "@koa/router";
import express from "express";
import Fastify from "fastify";
import { Hono } from "hono";
import Koa from "koa";
import { HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import * as traffikExpress from "traffik/express";
import * as traffikFastify from "traffik/fastify";
import * as traffikHono from "traffik/hono";
import * as traffikKoa from "traffik/koa";

interface Throttles {
  failed: HTTPThrottle<never>;
  succeeded: HTTPThrottle<never>;
  judged: HTTPThrottle<never>;
  aborted: HTTPThrottle<never>;
  wide: HTTPThrottle<never>;
  narrow: HTTPThrottle<never>;
  groupWide: HTTPThrottle<never>;
  groupNarrow: HTTPThrottle<never>;
}

/** The throttles as a framework's routes take them: they read no connection at all. */
type ThrottlesOf<C> = { [K in keyof Throttles]: HTTPThrottle<C> };

/** Every throttle names one client, whatever the address: the counts are the test's. */
function makeThrottles(backend: InMemoryBackend): Throttles {
  const make = (uid: string, rate: string) =>
    new HTTPThrottle<never>({ uid, rate, backend, identifier: () => "client" });
  return {
    failed: make("failed", "3/h"),
    succeeded: make("succeeded", "3/h"),
    judged: make("judged", "3/h"),
    aborted: make("aborted", "3/h"),
    wide: make("wide", "5/h"),
    narrow: make("narrow", "1/h"),
    groupWide: make("group-wide", "5/h"),
    groupNarrow: make("group-narrow", "1/h"),
  };
}

const SKIP_FAILED = { skipFailedRequests: true } as const;
const SKIP_SUCCEEDED = { skipSuccessfulRequests: true } as const;
const JUDGED = { skipFailedRequests: true, requestWasSuccessful: (status: number) => status < 500 };

interface Running {
  url: string;
  /** Resolves once the server has begun a `/slow` request, which it never answers. */
  slowStarted: () => Promise<void>;
  close: () => Promise<void>;
}

/** A latch the `/slow` handlers open. */
function latch() {
  let open: () => void = () => {};
  let opened = new Promise<void>((resolve) => {
    open = resolve;
  });
  return {
    open: () => open(),
    wait: async () => {
      await opened;
      opened = new Promise<void>((resolve) => {
        open = resolve;
      });
    },
  };
}

const statusOf = (query: string | undefined) => Number(query ?? "200");

async function expressApp(throttles: Throttles): Promise<Running> {
  const t = throttles as unknown as ThrottlesOf<express.Request>;
  const { ThrottleMiddleware, MiddlewareThrottle, throttled } = traffikExpress;
  const slow = latch();
  const app = express();
  app.use(
    ThrottleMiddleware({
      ...SKIP_FAILED,
      middlewareThrottles: [
        MiddlewareThrottle(t.wide, { path: "/mw/" }),
        MiddlewareThrottle(t.narrow, { path: "/mw/" }),
      ],
    }),
  );
  const reply = (req: express.Request, res: express.Response) => {
    res.status(statusOf(req.query.status as string | undefined)).send("done");
  };
  app.get("/mw/x", reply);
  app.get("/failed", throttled(SKIP_FAILED, t.failed), reply);
  app.get("/succeeded", throttled(SKIP_SUCCEEDED, t.succeeded), reply);
  app.get("/judged", throttled(JUDGED, t.judged), reply);
  app.get("/group", throttled(SKIP_FAILED, t.groupWide, t.groupNarrow), reply);
  app.get("/slow", throttled(SKIP_FAILED, t.aborted), () => slow.open());
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return running(server, slow.wait);
}

async function fastifyApp(throttles: Throttles): Promise<Running> {
  const t = throttles as unknown as ThrottlesOf<import("fastify").FastifyRequest>;
  const { ThrottleMiddleware, MiddlewareThrottle, throttled } = traffikFastify;
  const slow = latch();
  const app = Fastify();
  await app.register(ThrottleMiddleware, {
    ...SKIP_FAILED,
    middlewareThrottles: [
      MiddlewareThrottle(t.wide, { path: "/mw/" }),
      MiddlewareThrottle(t.narrow, { path: "/mw/" }),
    ],
  });
  const reply = async (
    req: import("fastify").FastifyRequest,
    res: import("fastify").FastifyReply,
  ) => {
    res.code(statusOf((req.query as { status?: string }).status));
    return "done";
  };
  app.get("/mw/x", reply);
  app.get("/failed", { onRequest: throttled(SKIP_FAILED, t.failed) }, reply);
  app.get("/succeeded", { onRequest: throttled(SKIP_SUCCEEDED, t.succeeded) }, reply);
  app.get("/judged", { onRequest: throttled(JUDGED, t.judged) }, reply);
  app.get("/group", { onRequest: throttled(SKIP_FAILED, t.groupWide, t.groupNarrow) }, reply);
  app.get("/slow", { onRequest: throttled(SKIP_FAILED, t.aborted) }, (_req, res) => {
    slow.open();
    return new Promise(() => {
      res.raw.on("close", () => {});
    });
  });
  const address = await app.listen({ port: 0, host: "127.0.0.1" });
  return { url: address, slowStarted: slow.wait, close: () => app.close() };
}

async function honoApp(throttles: Throttles): Promise<Running> {
  const t = throttles as unknown as ThrottlesOf<import("hono").Context>;
  const { ThrottleMiddleware, MiddlewareThrottle, throttled } = traffikHono;
  const slow = latch();
  const app = new Hono();
  app.use(
    ThrottleMiddleware({
      ...SKIP_FAILED,
      middlewareThrottles: [
        MiddlewareThrottle(t.wide, { path: "/mw/" }),
        MiddlewareThrottle(t.narrow, { path: "/mw/" }),
      ],
    }),
  );
  const reply = (c: import("hono").Context) =>
    c.text("done", statusOf(c.req.query("status")) as 200);
  app.get("/mw/x", reply);
  app.get("/failed", throttled(SKIP_FAILED, t.failed), reply);
  app.get("/succeeded", throttled(SKIP_SUCCEEDED, t.succeeded), reply);
  app.get("/judged", throttled(JUDGED, t.judged), reply);
  app.get("/group", throttled(SKIP_FAILED, t.groupWide, t.groupNarrow), reply);
  app.get("/slow", throttled(SKIP_FAILED, t.aborted), async (c) => {
    slow.open();
    await new Promise((resolve) => c.req.raw.signal.addEventListener("abort", resolve));
    return c.text("gone");
  });
  const { server, url } = await new Promise<{ server: Server; url: string }>((resolve) => {
    const listening = serve(
      { fetch: app.fetch, port: 0, hostname: "127.0.0.1" },
      (info: AddressInfo) =>
        resolve({ server: listening as Server, url: `http://127.0.0.1:${info.port}` }),
    );
  });
  return { url, slowStarted: slow.wait, close: () => closeServer(server) };
}

async function koaApp(throttles: Throttles): Promise<Running> {
  const t = throttles as unknown as ThrottlesOf<Koa.Context>;
  const { ThrottleMiddleware, MiddlewareThrottle, throttled } = traffikKoa;
  const slow = latch();
  const app = new Koa();
  app.use(
    ThrottleMiddleware({
      ...SKIP_FAILED,
      middlewareThrottles: [
        MiddlewareThrottle(t.wide, { path: "/mw/" }),
        MiddlewareThrottle(t.narrow, { path: "/mw/" }),
      ],
    }),
  );
  const router = new Router();
  const reply = (ctx: Koa.Context) => {
    ctx.status = statusOf(ctx.query.status as string | undefined);
    ctx.body = "done";
  };
  router.get("/mw/x", reply);
  router.get("/failed", throttled(SKIP_FAILED, t.failed), reply);
  router.get("/succeeded", throttled(SKIP_SUCCEEDED, t.succeeded), reply);
  router.get("/judged", throttled(JUDGED, t.judged), reply);
  router.get("/group", throttled(SKIP_FAILED, t.groupWide, t.groupNarrow), reply);
  router.get("/slow", throttled(SKIP_FAILED, t.aborted), async (ctx) => {
    slow.open();
    await new Promise((resolve) => ctx.req.on("close", resolve));
  });
  app.use(router.routes());
  const server = await new Promise<Server>((resolve) => {
    const listening = app.listen(0, "127.0.0.1", () => resolve(listening));
  });
  return running(server, slow.wait);
}

function running(server: Server, slowStarted: () => Promise<void>): Running {
  const { port } = server.address() as AddressInfo;
  return { url: `http://127.0.0.1:${port}`, slowStarted, close: () => closeServer(server) };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve) => server.close(() => resolve()));
}

/** What a request of cost 1 would leave, now. */
const left = async (throttle: HTTPThrottle<never>) =>
  (await throttle.peek(undefined as never)).remaining;

/** Polls until the throttle reports `remaining` (a refund lands after the response). */
async function settlesAt(throttle: HTTPThrottle<never>, remaining: number): Promise<void> {
  for (let i = 0; i < 2000 && (await left(throttle)) !== remaining; i++) {
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  assert.equal(await left(throttle), remaining, throttle.uid);
}

const frameworks: [string, (t: Throttles) => Promise<Running>][] = [
  ["Express", expressApp],
  ["Fastify", fastifyApp],
  ["Hono", honoApp],
  ["Koa", koaApp],
];

for (const [name, start] of frameworks) {
  describe(`refunds in ${name}, on a real server`, () => {
    let backend: InMemoryBackend;
    let t: Throttles;
    let app: Running;
    const get = async (path: string) => {
      const response = await fetch(`${app.url}${path}`);
      await response.text();
      return response.status;
    };
    before(async () => {
      backend = new InMemoryBackend({ namespace: `refunds-${name}` });
      t = makeThrottles(backend);
      app = await start(t);
    });
    after(async () => {
      await app?.close();
      await backend?.close();
    });

    it("skipFailedRequests gives failed requests back, and counts the rest", async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal(await get("/failed?status=500"), 500);
        await settlesAt(t.failed, 2);
      }
      for (let i = 0; i < 3; i++) assert.equal(await get("/failed?status=200"), 200);
      assert.equal(await get("/failed?status=200"), 429);
      // The 429 counted nothing, and is given nothing back.
      assert.equal(await left(t.failed), 0);
    });

    it("skipSuccessfulRequests gives successful requests back", async () => {
      for (let i = 0; i < 5; i++) {
        assert.equal(await get("/succeeded?status=201"), 201);
        await settlesAt(t.succeeded, 2);
      }
      assert.equal(await get("/succeeded?status=404"), 404);
      assert.equal(await left(t.succeeded), 1);
    });

    it("requestWasSuccessful decides what failed", async () => {
      assert.equal(await get("/judged?status=404"), 404);
      assert.equal(await left(t.judged), 1, "a 404 succeeded here: counted");
      assert.equal(await get("/judged?status=503"), 503);
      await settlesAt(t.judged, 1);
    });

    it("a request whose client went away is given back", async () => {
      const controller = new AbortController();
      const request = fetch(`${app.url}/slow`, { signal: controller.signal }).catch(() => {});
      await app.slowStarted();
      assert.equal(await left(t.aborted), 1);
      controller.abort();
      await request;
      await settlesAt(t.aborted, 2);
    });

    it("middleware throttles that admitted a request a later one rejected are given it back", async () => {
      assert.equal(await get("/mw/x"), 200);
      assert.equal(await left(t.wide), 3);
      assert.equal(await get("/mw/x"), 429);
      // The narrow throttle rejected it; the wide one had counted it, and the 429 failed.
      await settlesAt(t.wide, 3);
    });

    it("a group rejected all or nothing counted nothing and is given nothing", async () => {
      assert.equal(await get("/group"), 200);
      assert.equal(await get("/group"), 429);
      assert.equal(await get("/group?status=500"), 429);
      // Let any refund that should not happen land before looking.
      await get("/failed?status=418");
      assert.equal(await left(t.groupWide), 3);
    });
  });
}
