/**
 * One hello-world server for bench/http.ts: `tsx bench/http-server.ts <framework> <variant>`,
 * framework express | fastify | hono, variant bare | noop (an empty app-wide middleware, the floor
 * for any limiter) | traffik-fixed | traffik-token | peer | traffik-channel (fixed window, with a
 * `traffik:decision` subscriber) | traffik-otel (fixed window, with traffik/otel metrics into the
 * OpenTelemetry SDK).
 * Prints its port, then serves until SIGINT; prints its counters on SIGUSR2. Limits are far above the load: this measures what
 * admitting a request costs.
 */
import { subscribe } from "node:diagnostics_channel";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import rateLimitFastify from "@fastify/rate-limit";
import { getRequestListener } from "@hono/node-server";
import { getConnInfo } from "@hono/node-server/conninfo";
import { PrometheusExporter } from "@opentelemetry/exporter-prometheus";
import { MeterProvider } from "@opentelemetry/sdk-metrics";
import express from "express";
import { rateLimit as expressRateLimit } from "express-rate-limit";
import Fastify from "fastify";
import { Hono } from "hono";
import { rateLimiter as honoRateLimiter } from "hono-rate-limiter";
import { CHANNELS, HTTPThrottle } from "traffik";
import { InMemoryBackend } from "traffik/backends/inmemory";
import * as traffikExpress from "traffik/express";
import * as traffikFastify from "traffik/fastify";
import * as traffikHono from "traffik/hono";
import { instrumentTraffik } from "traffik/otel";
import { FixedWindowStrategy, TokenBucketStrategy } from "traffik/strategies";
import { reportCounters } from "./server-counters.js";

const [framework, variant] = process.argv.slice(2);
const LIMIT = 1_000_000_000;
const WINDOW_MS = 60_000;
const backend = new InMemoryBackend({ namespace: "bench" });
const throttle = new HTTPThrottle({
  uid: "bench",
  rate: `${LIMIT}/m`,
  strategy: variant === "traffik-token" ? new TokenBucketStrategy() : new FixedWindowStrategy(),
});
const useTraffik = variant?.startsWith("traffik-") === true;
if (variant === "traffik-channel") subscribe(CHANNELS.decision, () => {});
if (variant === "traffik-otel") {
  // Recorded into the SDK, held for a Prometheus scrape (none comes: this measures recording).
  const exporter = new PrometheusExporter({ preventServerStart: true });
  await instrumentTraffik({ meterProvider: new MeterProvider({ readers: [exporter] }) });
}
const hello = { hello: "world" };

/** Listens on a free loopback port and returns it. */
let requests = 0;
const countRequests = (server: Server) => server.on("request", () => requests++);

function listen(server: Server): Promise<number> {
  countRequests(server);
  return new Promise((resolve) =>
    server.listen(0, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)),
  );
}

async function startExpress(): Promise<number> {
  const app = express();
  if (variant === "noop") app.use((_req, _res, next) => next());
  if (useTraffik) {
    const { ThrottleMiddleware, MiddlewareThrottle } = traffikExpress;
    app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(throttle)] }));
  } else if (variant === "peer") {
    app.use(
      expressRateLimit({
        windowMs: WINDOW_MS,
        limit: LIMIT,
        standardHeaders: "draft-8",
        legacyHeaders: false,
      }),
    );
  }
  app.get("/", (_req, res) => {
    res.json(hello);
  });
  return listen(createServer(app));
}

async function startFastify(): Promise<number> {
  const app = Fastify();
  if (variant === "noop") app.addHook("onRequest", (_request, _reply, done) => done());
  if (useTraffik) {
    const { ThrottleMiddleware, MiddlewareThrottle } = traffikFastify;
    await app.register(ThrottleMiddleware, {
      backend,
      middlewareThrottles: [MiddlewareThrottle(throttle)],
    });
  } else if (variant === "peer") {
    await app.register(rateLimitFastify, { max: LIMIT, timeWindow: WINDOW_MS });
  }
  app.get("/", async () => hello);
  countRequests(app.server);
  await app.listen({ port: 0, host: "127.0.0.1" });
  return (app.server.address() as AddressInfo).port;
}

async function startHono(): Promise<number> {
  const app = new Hono();
  if (variant === "noop") app.use((_c, next) => next());
  if (useTraffik) {
    const { ThrottleMiddleware, MiddlewareThrottle } = traffikHono;
    app.use(ThrottleMiddleware({ backend, middlewareThrottles: [MiddlewareThrottle(throttle)] }));
  } else if (variant === "peer") {
    app.use(
      honoRateLimiter({
        windowMs: WINDOW_MS,
        limit: LIMIT,
        standardHeaders: "draft-6",
        keyGenerator: (c) => getConnInfo(c).remote.address ?? "",
      }),
    );
  }
  app.get("/", (c) => c.json(hello));
  return listen(createServer(getRequestListener(app.fetch)));
}

const start = { express: startExpress, fastify: startFastify, hono: startHono }[framework ?? ""];
if (start === undefined) throw new Error(`unknown framework ${framework}`);
const port = await start();
reportCounters(() => requests);
console.log(JSON.stringify({ port }));
