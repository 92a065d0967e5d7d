/**
 * `ThrottleMiddleware`'s `mode`, `skip`, `allowList` and `denyList` in every HTTP framework, on
 * a real server on loopback with a real client: the options apply to the middleware's own
 * throttles, whatever those throttles' own settings.
 */
import assert from "node:assert/strict";
import type { AddressInfo } from "node:net";
import { describe, it } from "node:test";
import { serve } from "@hono/node-server";
import Router from "@koa/router";
import express from "express";
import Fastify, { type FastifyRequest } from "fastify";
import { Hono } from "hono";
import Koa, { type Context } from "koa";
import { CHANNELS, type DecisionEvent, HTTPThrottle, type ThrottledEvent } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import * as forExpress from "traffik/express";
import * as forFastify from "traffik/fastify";
import * as forHono from "traffik/hono";
import * as forKoa from "traffik/koa";
import { record } from "../events/support.js";

/** What each case asks of the middleware; `skip` exempts requests with `x-skip: yes`. */
interface Case {
  mode?: "enforce" | "shadow";
  allowList?: string[];
  denyList?: string[];
  skip?: true;
}

interface Served {
  url: string;
  close(): Promise<void>;
}

const LOOPBACK = ["127.0.0.0/8", "::1"];

/** A server of each framework with one app-wide throttle of 1/m on every path. */
const frameworks: Record<string, (uid: string, options: Case) => Promise<Served>> = {
  async Express(uid, { skip, ...options }) {
    const backend = new InMemoryBackend();
    const app = express();
    app.use(
      forExpress.ThrottleMiddleware({
        backend,
        middlewareThrottles: [
          forExpress.MiddlewareThrottle(new HTTPThrottle({ uid, rate: "1/m" })),
        ],
        ...options,
        ...(skip && { skip: (req) => req.headers["x-skip"] === "yes" }),
      }),
    );
    app.get("/", (_req, res) => {
      res.send("ok");
    });
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        await new Promise((done) => server.close(done));
        await backend.close();
      },
    };
  },
  async Fastify(uid, { skip, ...options }) {
    const backend = new InMemoryBackend();
    const app = Fastify();
    await app.register(forFastify.ThrottleMiddleware, {
      backend,
      middlewareThrottles: [
        forFastify.MiddlewareThrottle(new HTTPThrottle<FastifyRequest>({ uid, rate: "1/m" })),
      ],
      ...options,
      ...(skip && { skip: (request) => request.headers["x-skip"] === "yes" }),
    });
    app.get("/", async () => "ok");
    const url = await app.listen({ port: 0, host: "127.0.0.1" });
    return {
      url,
      close: async () => {
        await app.close();
        await backend.close();
      },
    };
  },
  async Hono(uid, { skip, ...options }) {
    const backend = new InMemoryBackend();
    const app = new Hono();
    app.use(
      forHono.ThrottleMiddleware({
        backend,
        middlewareThrottles: [forHono.MiddlewareThrottle(new HTTPThrottle({ uid, rate: "1/m" }))],
        ...options,
        ...(skip && { skip: (c) => c.req.header("x-skip") === "yes" }),
      }),
    );
    app.get("/", (c) => c.text("ok"));
    return new Promise((resolve) => {
      const server = serve({ fetch: app.fetch, port: 0, hostname: "127.0.0.1" }, (info) => {
        resolve({
          url: `http://127.0.0.1:${info.port}`,
          close: async () => {
            await new Promise((done) => server.close(done));
            await backend.close();
          },
        });
      });
    });
  },
  async Koa(uid, { skip, ...options }) {
    const backend = new InMemoryBackend();
    const app = new Koa();
    const router = new Router();
    app.use(
      forKoa.ThrottleMiddleware<Context>({
        backend,
        middlewareThrottles: [
          forKoa.MiddlewareThrottle(new HTTPThrottle<Context>({ uid, rate: "1/m" })),
        ],
        ...options,
        ...(skip && { skip: (ctx) => ctx.get("x-skip") === "yes" }),
      }),
    );
    router.get("/", (ctx) => {
      ctx.body = "ok";
    });
    app.use(router.routes());
    const server = app.listen(0, "127.0.0.1");
    await new Promise((resolve) => server.once("listening", resolve));
    return {
      url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`,
      close: async () => {
        await new Promise((done) => server.close(done));
        await backend.close();
      },
    };
  },
};

async function withServer(
  start: (uid: string, options: Case) => Promise<Served>,
  uid: string,
  options: Case,
  run: (get: (headers?: Record<string, string>) => Promise<Response>) => Promise<void>,
): Promise<void> {
  const served = await start(uid, options);
  try {
    await run((headers) => fetch(served.url, { headers }));
  } finally {
    await served.close();
  }
}

for (const [name, start] of Object.entries(frameworks)) {
  describe(`${name}: ThrottleMiddleware's mode, skip, allowList and denyList`, () => {
    it("mode shadow: its throttles never reject nor show headers, and publish enforced: false", async () => {
      const decisions = record<DecisionEvent>(CHANNELS.decision);
      const rejections = record<ThrottledEvent>(CHANNELS.throttled);
      try {
        await withServer(start, `mw-shadow-${name}`, { mode: "shadow" }, async (get) => {
          for (let n = 0; n < 3; n++) {
            const response = await get();
            assert.equal(response.status, 200);
            assert.equal(response.headers.get("ratelimit"), null);
            await response.text();
          }
        });
        const mine = decisions.events.filter((e) => e.uid === `mw-shadow-${name}`);
        assert.deepEqual(
          mine.map((e) => [e.allowed, e.enforced]),
          [
            [true, false],
            [false, false],
            [false, false],
          ],
        );
        assert.equal(rejections.events.filter((e) => e.uid === `mw-shadow-${name}`).length, 2);
      } finally {
        decisions.stop();
        rejections.stop();
      }
    });

    it("denyList: 403 with a JSON detail, no Retry-After", async () => {
      await withServer(start, "mw-deny", { denyList: LOOPBACK }, async (get) => {
        const response = await get();
        assert.equal(response.status, 403);
        assert.equal(response.headers.get("retry-after"), null);
        assert.deepEqual(await response.json(), {
          detail: "Forbidden: requests from this address are refused.",
        });
      });
    });

    it("allowList exempts; skip exempts what it picks and nothing else", async () => {
      await withServer(start, "mw-allow", { allowList: LOOPBACK }, async (get) => {
        for (let n = 0; n < 3; n++) {
          const response = await get();
          assert.equal(response.status, 200);
          assert.equal(response.headers.get("ratelimit"), null);
          await response.text();
        }
      });
      await withServer(start, "mw-skip", { skip: true }, async (get) => {
        for (let n = 0; n < 3; n++) {
          assert.equal((await get({ "x-skip": "yes" })).status, 200);
        }
        assert.equal((await get()).status, 200);
        assert.equal((await get({ "x-skip": "no" })).status, 429);
      });
    });

    it("rejects bad options at startup, naming them", async () => {
      await assert.rejects(
        start("mw-bad", { denyList: ["10.0.0.0/8", "300.1.1.1"] }),
        /ThrottleMiddleware: denyList: "300\.1\.1\.1"/,
      );
      await assert.rejects(start("mw-bad", { mode: "log" as "shadow" }), /mode must be/);
    });
  });
}
